"""Every diagnostic code kspec can emit, with a one-line title.

docs/errors.md has an entry (cause, example, fix) for each, and tests/test_errors_doc.py keeps
the two in step. Codes are stable: a code is never reused for a different problem.
"""

from __future__ import annotations

CODES: dict[str, str] = {
    # files and YAML
    "KS000": "file cannot be read",
    "KS001": "invalid YAML",
    "KS002": "nesting too deep",
    "KS003": "file too large",
    "KS004": "not UTF-8 text (or a byte-order mark)",
    "KS005": "YAML tag not allowed",
    "KS006": "YAML anchor or alias not allowed",
    "KS007": "duplicate key",
    "KS008": "mapping key is not a string",
    "KS009": "number kspec cannot accept (ambiguous, too large or not finite)",
    "KS010": "too many problems to report",
    # schema
    "KS101": "unknown key",
    "KS102": "wrong type",
    "KS103": "missing required key",
    "KS104": "value not allowed",
    "KS105": "number out of range",
    "KS106": "unknown layer type",
    "KS107": "unsupported kspec version",
    "KS108": "layer type refused",
    "KS109": "wrong number of items",
    # meaning: names, references, graph
    "KS201": "duplicate name",
    "KS202": "unknown reference",
    "KS203": "cycle in the layer graph",
    "KS204": "implicit input is ambiguous",
    "KS205": "invalid share target",
    "KS206": "unknown block",
    "KS207": "recursive block",
    "KS208": "output index out of range",
    "KS209": "reserved param name",
    "KS210": "wrong number of inputs for the layer",
    "KS211": "unknown call argument",
    "KS212": "repeat needs as many block outputs as inputs",
    "KS213": "unknown block param",
    "KS214": "node not used by any output",
    "KS215": "unknown param override",
    # shapes (static inference, no TensorFlow)
    "KS401": "incompatible input shapes",
    "KS402": "input has the wrong rank for the layer",
    "KS403": "size must be known statically",
    "KS404": "output size would be zero or negative",
    "KS405": "sizes along the merge axes differ",
    "KS406": "axis out of range",
    "KS407": "reshape changes the number of elements",
    "KS408": "channels not divisible by groups",
    "KS409": "shared layer called on an incompatible shape",
    # expressions
    "KS301": "invalid expression syntax",
    "KS302": "construct not allowed in expressions",
    "KS303": "unknown name in expression",
    "KS304": "expression cannot be evaluated",
    "KS305": "expression result has the wrong type",
    "KS306": "expression not allowed here",
    # environment
    "KS901": "TensorFlow is not installed",
    "KS902": "Keras rejected the model",
    "KS903": "custom layer module not allowed",
    "KS904": "training data missing or unreadable",
    "KS905": "Graphviz cannot render the plot",
    "KS906": "model cannot be imported",
    "KS907": "part of the model kspec cannot express",
    "KS908": "stub file unreadable",
}
