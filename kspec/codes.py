"""Every diagnostic code kspec can emit: its title, what causes it, examples, and the fix.

One entry per code, used by the reporter (the titles and help of SARIF rules), by
``kspec explain CODE``, and by ``tools/gen_errors_doc.py``, which runs every example through the
real kspec and writes docs/errors.md (tests/test_errors_doc.py keeps the two in step). Codes are
stable: a code is never reused for a different problem. Each example is a spec (or raw bytes)
saved as ``spec.yaml`` and the kspec arguments run on it, or a Python snippet.
"""

# ruff: noqa: E501  (explanations are prose, wrapped as written)

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Example:
    intro: str
    spec: str | bytes | None = None
    args: list[str] = field(default_factory=list)
    python: str | None = None


@dataclass(frozen=True)
class Code:
    title: str
    cause: str
    examples: list[Example]
    fix: str


#: What every shape code (KS401-KS409) shares, said before its own cause.
SHAPE_INTRO = """kspec infers every node's output shape from the inputs' shapes and the layers' arguments,
without TensorFlow, and reports a problem only when it is certain (an unknown size never gives
an error). The diagnostic points at the node that receives the tensors; inside a block, a note
names the block instance."""

ENTRIES: dict[str, Code] = {
    "KS000": Code(
        "file cannot be read",
        cause="""kspec could not open or read the file: it does not exist, it is a folder, or it cannot
be read (permissions). The Python API (`kspec.check`, `kspec.load`, ...) reports it as KS000.
On the command line a path that does not exist is a usage error instead (exit status 2:
`kspec: error: no such file: spec.yaml`); KS000 is what remains, a file that exists but cannot
be read.""",
        examples=[
            Example(
                intro="`kspec.check('spec.yaml')` in a folder without that file:",
                python="""import kspec
diags = kspec.check('spec.yaml')
for d in diags:
    print(f'{d.path}:{d.line}:{d.column}: {d.severity}[{d.code}]: {d.message}')
raise SystemExit(1 if diags else 0)""",
            )
        ],
        fix="Check the path and the file's permissions.",
    ),
    "KS001": Code(
        "invalid YAML",
        cause="""The file is not valid YAML, or not a single YAML document. The message is the YAML
parser's, at the place where it noticed the problem, which can be after the real mistake
(an unclosed `{` is noticed on the next line). kspec adds a hint for the common cases: a tab used
for indentation, an unquoted `${...}` expression or `node[i]` reference inside `[...]` or
`{...}`. An empty file and a file with several documents (`---`) are KS001 too.""",
        examples=[
            Example(
                intro="An expression inside a flow mapping without quotes:",
                spec="""kspec: 1
name: demo
params: {units: 64}
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: ${units // 4}}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            ),
            Example(
                intro="A `node[i]` reference inside a flow list without quotes:",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [null, 8]}
layers:
  - {name: enc, type: LSTM, units: 4, return_state: true}
  - {name: states, type: Concatenate, inputs: [enc[1], enc[2]]}
outputs: states
""",
                args=["check", "spec.yaml"],
            ),
            Example(
                intro="An unclosed `{` (reported on the next line):",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]
layers:
  - {name: hidden, type: Dense, units: 4}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            ),
        ],
        fix="""Quote expressions and `node[i]` references inside `[...]` and `{...}`
(`units: "${units // 4}"`, `inputs: ["enc[1]", "enc[2]"]`), or write the mapping in block style,
one key per line. Indent with spaces only. Keep one document per file. For other messages, look
at the reported line and the one before it.""",
    ),
    "KS002": Code(
        "nesting too deep",
        cause="""Mappings and lists are nested more than 50 levels deep. kspec checks this before the
YAML parser runs, by counting `[` and `{` brackets and indentation (more than 400 columns of
indentation also counts as too deep), so that a hostile file cannot make the parser crash or
hang. No real spec comes close.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
params:
  deep: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Flatten the structure; a spec needs only a few levels of nesting.",
    ),
    "KS003": Code(
        "file too large",
        cause="""The file is larger than the limit: 4,194,304 bytes (4 MiB) by default, or the value
of `kspec check --max-bytes N`. A file with more than 150,000 YAML nodes is also KS003
(`more than 150,000 YAML nodes`).""",
        examples=[
            Example(
                intro="A 101-byte spec checked with `kspec check spec.yaml --max-bytes 100`:",
                spec="""kspec: 1
name: demo
description: this line makes the file longer than the small limit given
inputs:
  x: {shape: [8]}
layers:
  - {name: d, type: Dense, units: 4}
outputs: d
""",
                args=["check", "spec.yaml", "--max-bytes", "100"],
            )
        ],
        fix="""Split the model into smaller specs (blocks help), or, for `kspec check`, raise the
limit with `--max-bytes`.""",
    ),
    "KS004": Code(
        "not UTF-8 text (or a byte-order mark)",
        cause="""The file is not UTF-8 text, or it starts with a byte-order mark (some Windows
editors add one). The message gives the offset of the first byte that is not UTF-8.""",
        examples=[
            Example(
                intro="A file saved with a byte-order mark (invisible in most editors):",
                spec=b"\xef\xbb\xbfkspec: 1\nname: demo\ninputs:\n  x: {shape: [8]}\nlayers:\n  - {name: d, type: Dense, units: 4}\noutputs: d\n",
                args=["check", "spec.yaml"],
            ),
            Example(
                intro="A file saved as Latin-1 (`name: démo`, where `é` is the single byte 0xe9):",
                spec=b"kspec: 1\nname: d\xe9mo\n",
                args=["check", "spec.yaml"],
            ),
        ],
        fix="Save the file as UTF-8 without a byte-order mark.",
    ),
    "KS005": Code(
        "YAML tag not allowed",
        cause="""The file uses a YAML tag (`!!python/object/apply:...`, `!!str`, `!custom`, ...).
Some YAML loaders build arbitrary Python objects from tags, which is how YAML files have been
used to run code; kspec never builds anything from a tag and refuses all of them.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
description: !!python/object/apply:os.system ["echo pwned"]
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 4}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix='Remove the tag. To make a value a string, quote it (`"yes"`) instead of writing `!!str`.',
    ),
    "KS006": Code(
        "YAML anchor or alias not allowed",
        cause="""The file uses a YAML anchor (`&name`) or alias (`*name`). Aliases let a tiny file
expand into an enormous document ("billion laughs"), so kspec refuses both.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - &dense {name: hidden, type: Dense, units: 4}
  - *dense
outputs: hidden
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="""Repeat the value. To reuse a group of layers, define a block and use it several times
(see language.md, Blocks); to reuse a layer's weights, use a `share:` node.""",
    ),
    "KS007": Code(
        "duplicate key",
        cause="""The same key appears twice in one mapping. Most YAML loaders silently keep the last
value, so one of the two is ignored without notice; kspec reports it, with the line of the first
one.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - name: hidden
    type: Dense
    units: 16
    units: 8
outputs: hidden
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Remove one of the two keys.",
    ),
    "KS008": Code(
        "mapping key is not a string",
        cause="""A mapping key is not a string: an unquoted number, boolean or null (`1:`, `true:`,
`null:`), or a list or mapping used as a key. kspec's keys (params, inputs, output names, layer
arguments) are all names.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
params:
  1: 64
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 4}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix='Use a name as the key, or quote it if it really is meant as a string (`"1": 64`).',
    ),
    "KS009": Code(
        "number kspec cannot accept (ambiguous, too large or not finite)",
        cause="""An unquoted number kspec will not guess about:
- an integer with a leading zero (`0777`): YAML 1.1 reads it as octal (511), YAML 1.2 as
  decimal (777);
- an integer with more than 19 digits;
- `.inf`, `-.inf` or `.nan`: kspec accepts only finite numbers.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 0777}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            ),
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 4}
  - {name: act, type: LeakyReLU, negative_slope: .nan}
outputs: act
""",
                args=["check", "spec.yaml"],
            ),
        ],
        fix="""Write the number without the leading zero (or `0o777` for octal), use a smaller finite
value, or `null` where the argument accepts `None`. Quote the value if you mean a string.""",
    ),
    "KS010": Code(
        "too many problems to report",
        cause="""A file has more than 500 problems. kspec shows the first 500 (in file order) and
this one, which says how many more there are: the rest are usually the same mistake repeated,
and a hostile file could otherwise make millions of lines of output.""",
        examples=[],
        fix="Fix the problems reported, then check again.",
    ),
    "KS101": Code(
        "unknown key",
        cause="""A key that kspec does not know: a misspelt constructor argument, an argument the
layer does not have, or an unknown top-level, input, block or `compile:` key. The help suggests
the closest known key, or lists the allowed ones.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - name: hidden
    type: Dense
    units: 64
    activaton: relu
outputs: hidden
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="""Correct the key. `kspec schema` prints every layer's arguments; the Keras documentation
of the layer gives their meaning.""",
    ),
    "KS102": Code(
        "wrong type",
        cause="""A value has the wrong type: a string where an integer is expected, a float where
Keras requires an integer (`units: 64.0`), a quoted number, or a YAML 1.1 boolean such as `no`,
`yes`, `on` or `off`, which YAML 1.2 (and kspec) reads as a string. A spec that is not a mapping
at all is KS102 too.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - name: hidden
    type: Dense
    units: 64
    use_bias: no
outputs: hidden
""",
                args=["check", "spec.yaml"],
            ),
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: "64"}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            ),
        ],
        fix="""Write the value with the expected type: `true`/`false` for booleans, numbers without
quotes, integers without a decimal point.""",
    ),
    "KS103": Code(
        "missing required key",
        cause="""A required key is missing: a constructor argument without a Keras default (`units`
of `Dense`, `filters` and `kernel_size` of `Conv2D`, `rate` of `Dropout`, ...), a top-level key
(`kspec`, `name`, `inputs`, `layers`, `outputs`), an input's `shape`, a node's `name`, or a
node's `type`/`share`/`block`.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, activation: relu}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="""Add the key. If it is there but misspelt (`unit:` for `units:`), the KS101 reported
at the misspelt key names the key that is needed.""",
    ),
    "KS104": Code(
        "value not allowed",
        cause="""A value is not one of those allowed: an activation, padding, initializer, dtype or
other name that Keras does not accept, or a name or reference that is not an identifier
(letters, digits and `_`, not starting with a digit). A node with more than one of `type`,
`share` and `block` is KS104 too.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  image: {shape: [28, 28, 1]}
layers:
  - {name: conv, type: Conv2D, filters: 8, kernel_size: 3, padding: smae}
outputs: conv
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Use one of the values listed in the message (the help suggests the closest one).",
    ),
    "KS105": Code(
        "number out of range",
        cause="""A number is outside the range Keras accepts: a size or count below 1 (`units: 0`,
`filters: 0`), a rate outside 0..1, a negative value where only positive ones make sense. This
also catches values computed by expressions, for instance `${units // 4}` when `units` is 2.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 4}
  - {name: drop, type: Dropout, rate: 1.5}
outputs: drop
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Use a value in the stated range.",
    ),
    "KS106": Code(
        "unknown layer type",
        cause="""`type:` names a layer class kspec does not know (see language.md, "The layer types
kspec knows"), or a custom layer (`module.Class`) whose module is not listed under
`imports:`.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dence, units: 4}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            ),
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: mylayers.Gated, units: 4}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            ),
        ],
        fix="""Correct the type name (it is case-sensitive, as in Keras). For a custom layer, add its
module to `imports:` (building the model then needs `--allow-import`, see KS903).""",
    ),
    "KS107": Code(
        "unsupported kspec version",
        cause="The `kspec:` key is not the integer `1`, the only format version this kspec reads.",
        examples=[
            Example(
                intro="",
                spec="""kspec: 2
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 4}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix='Write `kspec: 1` (an integer, not `"1"` or `1.0`).',
    ),
    "KS108": Code(
        "layer type refused",
        cause="""`type:` names a layer that kspec refuses because it carries or loads code:
`Lambda`, `TFSMLayer`, `JaxLayer`, `FlaxLayer`, `TorchModuleWrapper`. A spec must not be able
to run code when a model is built or loaded.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: double, type: Lambda, function: "lambda t: t * 2"}
outputs: double
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="""Use a built-in layer that does the same (`Rescaling` multiplies, `Activation` applies an
activation, `Reshape`, `Permute`, the merge layers ...), or write the computation as a layer
class in a module you trust (see language.md, Custom layers).""",
    ),
    "KS109": Code(
        "wrong number of items",
        cause="""A list has too few or too many items: `kernel_size` of `Conv2D` with three entries,
an empty `layers:` list, an input `shape` with more than 16 entries, ...""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  image: {shape: [28, 28, 1]}
layers:
  - {name: conv, type: Conv2D, filters: 8, kernel_size: [3, 3, 3]}
outputs: conv
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Give as many items as the message asks for.",
    ),
    "KS110": Code(
        "unknown op",
        cause="""An op node's `op:` is not one of the tensor ops kspec knows: a closed list of
`keras.ops` functions that are pure tensor functions (arithmetic and comparisons, activations,
reductions, reshaping, joining, indexing, matrix products; docs/layers.md lists them). A
misspelt name gets a suggestion.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: half, op: multipy, x2: 0.5}
outputs: half
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="""Use an op from the list, or a layer (`type:`) that does the computation; code that is
not a tensor op belongs in a custom layer (`imports:`).""",
    ),
    "KS201": Code(
        "duplicate name",
        cause="""Two nodes, or a node and an input, have the same name. Names are unique among the
model's inputs and nodes (inside a block, among the block's own). The instance names of a
repeated block node (`stage_1` .. `stage_N`) are taken too.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: dense1, type: Dense, units: 64, activation: relu}
  - {name: dense1, type: Dense, units: 10}
outputs: dense1
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Rename one of them (names are also the Keras layer names, which must be unique).",
    ),
    "KS202": Code(
        "unknown reference",
        cause="""A reference (in `inputs:` or `outputs:`) names no input or node of this model or
block. The help suggests the closest name. Referring to an instance of a repeated block
(`stage_2`) is KS202 too: refer to the node itself (`stage`) for the last instance's output.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 64}
  - {name: out, type: Dense, units: 10, inputs: hiden}
outputs: out
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Correct the reference. Inside a block, only the block's inputs and nodes can be named.",
    ),
    "KS203": Code(
        "cycle in the layer graph",
        cause="""The nodes' `inputs:` form a loop: a node depends, directly or through others, on its
own output. The message lists the nodes of the loop.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: a, type: Dense, units: 8, inputs: b}
  - {name: b, type: Dense, units: 8, inputs: a}
  - {name: out, type: Add, inputs: [a, b, x]}
outputs: out
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Change the `inputs:` of one of the listed nodes so that the graph has no loop.",
    ),
    "KS204": Code(
        "implicit input is ambiguous",
        cause="""A node has no `inputs:`, and kspec cannot tell what it should take: it is the first
node and the model (or block) has several inputs, or the node above it has several outputs.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  left: {shape: [8]}
  right: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 4}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            ),
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [null, 8]}
layers:
  - {name: enc, type: LSTM, units: 4, return_state: true}
  - {name: out, type: Dense, units: 2}
outputs: out
""",
                args=["check", "spec.yaml"],
            ),
        ],
        fix="""Give the node an `inputs:`: one input (`inputs: left`), a list for a merge layer
(`inputs: [left, right]`), or the output you want (`inputs: "enc[0]"`).""",
    ),
    "KS205": Code(
        "invalid share target",
        cause="""A `share:` node names something whose layer cannot be shared: a name that is not a
node of this model or block, or a node that is itself a `share:` or `block:` node. Only a `type:`
node creates a layer.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  left: {shape: [8]}
  right: {shape: [8]}
layers:
  - {name: enc, type: Dense, units: 4, inputs: left}
  - {name: enc_right, share: encoder, inputs: right}
  - {name: out, type: Add, inputs: [enc, enc_right]}
outputs: out
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="""Name the `type:` node that created the layer (for a share of a share, name the
original). To reuse a whole block with the same weights, share its layers one by one; a
`block:` node always creates new weights.""",
    ),
    "KS206": Code(
        "unknown block",
        cause="A `block:` node names a block that is not defined under `blocks:`.",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
blocks:
  dense_bn:
    inputs: [x]
    layers:
      - {name: dense, type: Dense, units: 8}
      - {name: bn, type: BatchNormalization}
    outputs: bn
layers:
  - {name: body, block: dense_nb}
outputs: body
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Correct the block's name, or define the block under `blocks:`.",
    ),
    "KS207": Code(
        "recursive block",
        cause="""A block uses itself, directly or through other blocks. The message shows the
chain.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
blocks:
  ping:
    inputs: [x]
    layers:
      - {name: p, block: pong}
    outputs: p
  pong:
    inputs: [x]
    layers:
      - {name: q, block: ping}
    outputs: q
layers:
  - {name: body, block: ping}
outputs: body
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="""Break the chain. To repeat a block a number of times, use `repeat: N` on a block
node.""",
    ),
    "KS208": Code(
        "output index out of range",
        cause="""A `node[i]` reference does not fit the node: the index is past the node's last
output, or the node has several outputs and the reference gives no index. Which nodes have
several outputs is listed in language.md ("References and node[i]"): for instance an `LSTM` has
three only with `return_state: true`.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  source: {shape: [null, 8]}
  target: {shape: [null, 8]}
layers:
  - {name: enc, type: LSTM, units: 16, inputs: source}
  - name: dec
    type: LSTM
    units: 16
    inputs: {sequences: target, initial_state: ["enc[1]", "enc[2]"]}
outputs: dec
""",
                args=["check", "spec.yaml"],
            ),
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [null, 8]}
layers:
  - {name: enc, type: LSTM, units: 4, return_state: true}
outputs: enc
""",
                args=["check", "spec.yaml"],
            ),
        ],
        fix="""Use an index below the number of outputs, add the argument that gives the extra
outputs (`return_state: true`), or say which output you mean (`enc[0]`; quoted inside
`[...]`).""",
    ),
    "KS209": Code(
        "reserved param name",
        cause="""A param (of the model or of a block) is named `name`, `dtype`, `trainable`,
`autocast`, `inputs`, `outputs`, `input_shape`, `batch_input_shape` or `dynamic`. These are
keyword arguments of Keras' own model and layer constructors, which the generated class passes
on to Keras; `inputs=` and `outputs=` would even make Keras build a Functional model instead of
the class.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
params:
  name: classifier
  units: 64
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: $units}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Rename the param (`name_`, `model_name`, ...) and the expressions that use it.",
    ),
    "KS210": Code(
        "wrong number of inputs for the layer",
        cause="""A node is given a number of tensors its layer (or block) cannot take: a list of
several tensors for a one-input layer such as `Dense`, one tensor (or none) for a merge layer,
three tensors for `Subtract` or `Dot` (exactly two), a `MultiHeadAttention` without both `query`
and `value`, or a block node whose inputs do not match the block's `inputs:`.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  a: {shape: [8]}
  b: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 4, inputs: [a, b]}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            ),
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  a: {shape: [8]}
  b: {shape: [8]}
  c: {shape: [8]}
layers:
  - {name: diff, type: Subtract, inputs: [a, b, c]}
outputs: diff
""",
                args=["check", "spec.yaml"],
            ),
        ],
        fix="""Merge tensors first (`Concatenate`, `Add`, ...) before a one-input layer, give merge
layers their `inputs:` as a list, and give a block as many inputs as its `inputs:` lists.""",
    ),
    "KS211": Code(
        "unknown call argument",
        cause="""A key of an `inputs:` mapping or of `call:` is not an argument of the layer's `call`
(or, for a block node's `inputs:` mapping, not one of the block's inputs). The help suggests the
closest argument or lists them.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: drop, type: Dropout, rate: 0.5, call: {trainng: true}}
outputs: drop
""",
                args=["check", "spec.yaml"],
            ),
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  source: {shape: [null, 8]}
  target: {shape: [null, 8]}
layers:
  - {name: enc, type: LSTM, units: 16, return_state: true, inputs: source}
  - name: dec
    type: LSTM
    units: 16
    inputs: {sequences: target, initial_states: ["enc[1]", "enc[2]"]}
outputs: dec
""",
                args=["check", "spec.yaml"],
            ),
        ],
        fix="Use the argument name from the layer's `call` signature in Keras.",
    ),
    "KS212": Code(
        "repeat needs as many block outputs as inputs",
        cause="""A block node has `repeat:`, but the block has a different number of outputs and
inputs. `repeat` feeds each instance's outputs to the next instance's inputs, so the counts must
match.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  a: {shape: [8]}
  b: {shape: [8]}
blocks:
  merge:
    inputs: [left, right]
    layers:
      - {name: sum, type: Add, inputs: [left, right]}
    outputs: sum
layers:
  - {name: merged, block: merge, repeat: 2, inputs: [a, b]}
outputs: merged
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="""Give the block as many outputs as inputs, or write the instances as separate block
nodes.""",
    ),
    "KS213": Code(
        "unknown block param",
        cause="""A block node has a key that is not one of the block's params (nor `name`, `block`,
`inputs`, `repeat`).""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
blocks:
  dense_bn:
    params: {units: 32}
    inputs: [x]
    layers:
      - {name: dense, type: Dense, units: $units}
      - {name: bn, type: BatchNormalization}
    outputs: bn
layers:
  - {name: body, block: dense_bn, unit: 64}
outputs: body
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Correct the param name, or add the param to the block's `params:`.",
    ),
    "KS214": Code(
        "node not used by any output",
        cause="""A warning, not an error: no output of the model (or block) depends on this node, so
Keras would leave it out of a Functional model. It is usually a forgotten `inputs:` further
down, or an output missing from `outputs:`. (A node that is the target of a `share:` node is not
reported.) Warnings do not change the exit status.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 4}
  - {name: side, type: Dense, units: 2, inputs: x}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Remove the node, wire it into the graph, or add it to `outputs:`.",
    ),
    "KS215": Code(
        "unknown param override",
        cause="""A `--param NAME=VALUE` (or a keyword argument of `kspec.load`, `kspec.build_model`,
...) names a param the spec does not declare.""",
        examples=[
            Example(
                intro="`kspec check spec.yaml --param unit=128`:",
                spec="""kspec: 1
name: demo
params: {units: 64}
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: $units}
outputs: hidden
""",
                args=["check", "spec.yaml", "--param", "unit=128"],
            )
        ],
        fix="Use one of the params listed in the help, or declare the param under `params:`.",
    ),
    "KS501": Code(
        "extends or include path refused",
        cause="`extends:` takes one file name and `include:` a list of file names: plain paths relative to\nthe file that names them. A URL (`https://...`), an absolute path (`/etc/models/base.yaml`,\n`~/base.yaml`) or a value that is not a string is refused: kspec reads only files in the spec's\nfolder, so checking a spec never reaches the network or the rest of the disk.",
        examples=[
            Example(
                intro="A spec that extends a URL:",
                spec="extends: https://example.com/base.yaml\nname: child\n",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Copy the file into the spec's folder (or a folder under it) and name it by a relative path.",
    ),
    "KS502": Code(
        "file outside the root folder",
        cause="A file named by `extends:` or `include:` resolves (symbolic links followed) to a place outside\nthe root folder: the folder of the spec being checked, unless `kspec check --root DIR` (or\n`Limits(root=...)` in the API) names another.",
        examples=[
            Example(
                intro="A spec that extends a file in the parent folder:",
                spec="extends: ../base.yaml\nname: child\n",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Move the base or library under the spec's folder, or check with `--root` set to a folder that holds both.",
    ),
    "KS503": Code(
        "extended or included file not found",
        cause="The file that `extends:` or `include:` names does not exist. The path is relative to the file\nthat names it, not to the current folder.",
        examples=[
            Example(
                intro="",
                spec="extends: bases/missing.yaml\nname: child\n",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Correct the path (relative to the file that has the `extends:` or `include:` line).",
    ),
    "KS504": Code(
        "cycle of extends or include",
        cause="A file extends or includes, directly or through other files, a file that is already being\nread: the chain never ends. The diagnostic is at the line that closes the cycle, and names\nthe files of the cycle.",
        examples=[
            Example(
                intro="A spec that extends itself:",
                spec="kspec: 1\nextends: spec.yaml\nname: child\n",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Remove one link of the cycle: a base must not extend its children.",
    ),
    "KS505": Code(
        "chain of files too deep",
        cause="More than 16 files in one chain of `extends:` and `include:` (a spec extends a base that\nextends another...). A real family of specs needs two or three levels.",
        examples=[
            Example(
                intro="A chain of 17 bases, each extending the next (the snippet writes them):",
                spec="extends: base0.yaml\nname: child\n",
                python="import kspec, pathlib\nfor i in range(17):\n    pathlib.Path(f'base{i}.yaml').write_text(f'extends: base{i + 1}.yaml' + chr(10))\npathlib.Path('base17.yaml').write_text('kspec: 1' + chr(10))\nfor d in kspec.check('spec.yaml'):\n    print(f'{d.path}:{d.line}:{d.column}: {d.severity}[{d.code}]: {d.message}')\n    for n in d.notes:\n        print(f'  note: {n}')\n",
            )
        ],
        fix="Flatten the chain: merge intermediate bases.",
    ),
    "KS506": Code(
        "too many inclusions or bytes",
        cause="Composing the spec reached more than 64 inclusions in all (a file counts each time it is\nreached, so a file included by many libraries that are included by many others - an include\nbomb - is refused early), or more bytes in all than `--max-bytes` (4 MiB by default), every file\ncounted each time it is included.",
        examples=[
            Example(
                intro="An include bomb (the snippet writes the libraries):",
                spec="kspec: 1\nname: demo\ninclude: [lib0.yaml]\ninputs:\n  x: {shape: [8]}\nlayers:\n  - {name: hidden, type: Dense, units: 4}\noutputs: hidden\n",
                python="import kspec, pathlib\n# lib0 includes lib1 twice (by two spellings), lib1 includes lib2 twice...: 2**10 inclusions\nfor i in range(10):\n    pathlib.Path(f'lib{i}.yaml').write_text(f'include: [lib{i + 1}.yaml, ./lib{i + 1}.yaml]' + chr(10))\npathlib.Path('lib10.yaml').write_text('blocks: {}' + chr(10))\nfor d in kspec.check('spec.yaml'):\n    print(f'{d.path}:{d.line}:{d.column}: {d.severity}[{d.code}]: {d.message}')\n    for n in d.notes:\n        print(f'  note: {n}')\n",
            )
        ],
        fix="Include each library once, from the spec that needs it; split large files.",
    ),
    "KS507": Code(
        "block defined in two files",
        cause="Two files that a spec includes (or an included library and the spec itself) define a block of\nthe same name. kspec does not pick one: the message names both files and lines. (A child spec\nmay redefine a block of its base: that is an override, see docs/language.md.)",
        examples=[
            Example(
                intro="Two libraries that both define `dense`:",
                spec="kspec: 1\nname: demo\ninclude: [a.yaml, b.yaml]\ninputs:\n  x: {shape: [8]}\nlayers:\n  - {name: hidden, type: Dense, units: 4}\noutputs: hidden\n",
                python="import kspec, pathlib\npathlib.Path('a.yaml').write_text('blocks:\\n  dense:\\n    inputs: [x]\\n    layers:\\n      - {name: d, type: Dense, units: 4}\\n    outputs: d\\n')\npathlib.Path('b.yaml').write_text('blocks:\\n  dense:\\n    inputs: [x]\\n    layers:\\n      - {name: d, type: Dense, units: 4}\\n    outputs: d\\n')\nfor d in kspec.check('spec.yaml'):\n    print(f'{d.path}:{d.line}:{d.column}: {d.severity}[{d.code}]: {d.message}')\n    for n in d.notes:\n        print(f'  note: {n}')\n",
            )
        ],
        fix="Rename one of the blocks, or include only one of the libraries.",
    ),
    "KS508": Code(
        "layers edit names no node of the base",
        cause="In a spec that extends a base, a `layers:` entry edits the base's nodes by name:\n`{edit: NAME, ...}`, `{delete: NAME}`, `{insert_after: NAME, layers: [...]}`,\n`{insert_before: NAME, layers: [...]}`. NAME is not a node of the base's list (or the entry is\nmalformed: two edits at once, `delete:` with other keys, an insert without `layers:`).",
        examples=[
            Example(
                intro="The base (written by the snippet) has the nodes `hidden` and `out`; the child deletes `hiden`:",
                spec="extends: base.yaml\nname: child\nlayers:\n  - {delete: hiden}\n",
                python="import kspec, pathlib\npathlib.Path('base.yaml').write_text('kspec: 1\\nname: demo\\ninputs:\\n  x: {shape: [8]}\\nlayers:\\n  - {name: hidden, type: Dense, units: 4}\\n  - {name: out, type: Dense, units: 2}\\noutputs: out\\n')\nfor d in kspec.check('spec.yaml'):\n    print(f'{d.path}:{d.line}:{d.column}: {d.severity}[{d.code}]: {d.message}')\n    for n in d.notes:\n        print(f'  note: {n}')\n",
            )
        ],
        fix="Use the name of a node of the base (the hint lists them).",
    ),
    "KS509": Code(
        "nothing to delete",
        cause="`~key: null` deletes a key the spec inherited from its base. The base has no such key there\n(or the value is not null).",
        examples=[
            Example(
                intro="The base (written by the snippet) has no `compile:` section:",
                spec="extends: base.yaml\nname: child\n~compile: null\n",
                python="import kspec, pathlib\npathlib.Path('base.yaml').write_text('kspec: 1\\nname: demo\\ninputs:\\n  x: {shape: [8]}\\nlayers:\\n  - {name: hidden, type: Dense, units: 4}\\noutputs: hidden\\n')\nfor d in kspec.check('spec.yaml'):\n    print(f'{d.path}:{d.line}:{d.column}: {d.severity}[{d.code}]: {d.message}')\n    for n in d.notes:\n        print(f'  note: {n}')\n",
            )
        ],
        fix="Remove the line, or correct the key's name.",
    ),
    "KS510": Code(
        "block library holds more than blocks",
        cause="A file named by `include:` is a block library: it may hold `blocks:` (and `include:`,\n`description:`, `kspec:`), nothing else. Layers, inputs or params there would be silently\nignored, so they are refused.",
        examples=[
            Example(
                intro="A library with `layers:`:",
                spec="kspec: 1\nname: demo\ninclude: [lib.yaml]\ninputs:\n  x: {shape: [8]}\nlayers:\n  - {name: hidden, type: Dense, units: 4}\noutputs: hidden\n",
                python="import kspec, pathlib\npathlib.Path('lib.yaml').write_text('blocks: {}\\nlayers: []\\n')\nfor d in kspec.check('spec.yaml'):\n    print(f'{d.path}:{d.line}:{d.column}: {d.severity}[{d.code}]: {d.message}')\n    for n in d.notes:\n        print(f'  note: {n}')\n",
            )
        ],
        fix="Move the other keys into the spec, or make the file a base and use `extends:`.",
    ),
    "KS511": Code(
        "variant sets an unknown param",
        cause="A variant under `variants:` sets a param that the spec does not declare under `params:`\n(or the spec has variants and a param named `variant`, which `build_model(variant=...)` takes).",
        examples=[
            Example(
                intro="",
                spec="kspec: 1\nname: demo\nparams: {units: 64}\nvariants:\n  s: {unit: 16}\n  m: {units: 64}\ninputs:\n  x: {shape: [8]}\nlayers:\n  - {name: hidden, type: Dense, units: $units}\noutputs: hidden\n",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Declare the param under `params:` (with its default), or correct its name in the variant.",
    ),
    "KS512": Code(
        "unknown variant",
        cause="`--variant NAME` (or `variant=` in the Python API) names a variant the spec does not define\nunder `variants:`.",
        examples=[
            Example(
                intro="`kspec check spec.yaml --variant xl`:",
                spec="kspec: 1\nname: demo\nparams: {units: 64}\nvariants:\n  s: {units: 16}\n  m: {units: 64}\ninputs:\n  x: {shape: [8]}\nlayers:\n  - {name: hidden, type: Dense, units: $units}\noutputs: hidden\n",
                args=["check", "spec.yaml", "--variant", "xl"],
            )
        ],
        fix="Use one of the variants the hint lists.",
    ),
    "KS401": Code(
        "incompatible input shapes",
        cause="Tensors that a layer combines element by element (Add, Subtract, Multiply, Average, Maximum, Minimum), or MultiHeadAttention's value and key, have shapes that do not match (a size of 1 broadcasts).",
        examples=[
            Example(
                intro="",
                spec="""# The key gives one vector per value position: 10 values but 12 keys.
kspec: 1
name: attention_key_value
inputs:
  query: {shape: [5, 16]}
  value: {shape: [10, 16]}
  key: {shape: [12, 16]}
layers:
  - name: attend
    type: MultiHeadAttention
    num_heads: 2
    key_dim: 8
    inputs: {query: query, value: value, key: key}
outputs: attend
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Give the inputs the same shape, for instance with a Dense or Conv layer that projects one of them.",
    ),
    "KS402": Code(
        "input has the wrong rank for the layer",
        cause="The layer needs an input of another rank: Conv2D and the 2D pooling, padding and upsampling layers need (batch, height, width, channels); the 1D ones and the recurrent layers (batch, steps, features); Dense at least (batch, features).",
        examples=[
            Example(
                intro="",
                spec="""# Conv2D needs (batch, height, width, channels); a flat vector has no spatial axes.
kspec: 1
name: conv2d_rank2
inputs:
  x: {shape: [10]}
layers:
  - {name: hidden, type: Dense, units: 10}
  - {name: conv, type: Conv2D, filters: 8, kernel_size: 3}
  - {name: flat, type: Flatten}
outputs: flat
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Reshape the tensor first (Reshape, Flatten, or an input shape with the right rank), or use the layer of the right dimension.",
    ),
    "KS403": Code(
        "size must be known statically",
        cause="A size the layer needs is unknown (null): Dense and convolutions need the last axis (features, channels) to build their weights; a stateful RNN needs the batch size.",
        examples=[
            Example(
                intro="",
                spec="""# An error inside a nested block is reported once, though four instances hit it.
kspec: 1
name: nested_block_once
inputs:
  x: {shape: [null, null]}
blocks:
  inner:
    inputs: [x]
    layers:
      - {name: norm, type: LayerNormalization}
    outputs: norm
  outer:
    inputs: [x]
    layers:
      - {name: first, block: inner}
      - {name: second, block: inner, inputs: x}
      - {name: sum, type: Add, inputs: [first, second]}
    outputs: sum
layers:
  - {name: body, block: outer, repeat: 2}
outputs: body
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Give the size in the input's `shape` (or `batch_size`), or make it known earlier in the graph.",
    ),
    "KS404": Code(
        "output size would be zero or negative",
        cause="A convolution, pooling or cropping layer would make a spatial size zero or negative: the input is smaller than the kernel or pool with padding: valid, or the cropping removes more than there is.",
        examples=[
            Example(
                intro="",
                spec="""# Strided convolutions shrink 7 -> 4 -> 2; a 3x3 pooling window no longer fits.
kspec: 1
name: pool_too_small
inputs:
  image: {shape: [7, 7, 3]}
layers:
  - {name: c1, type: Conv2D, filters: 4, kernel_size: 3, strides: 2, padding: same}
  - {name: c2, type: Conv2D, filters: 4, kernel_size: 3, strides: 2, padding: same}
  - name: pool
    type: MaxPooling2D
    pool_size: 3
  - {name: flat, type: Flatten}
outputs: flat
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Use padding: same, a smaller kernel, pool or cropping, or a larger input.",
    ),
    "KS405": Code(
        "sizes along the merge axes differ",
        cause="Concatenate needs all axes but `axis` equal; Dot needs the sizes along `axes` equal.",
        examples=[
            Example(
                intro="",
                spec="""# Concatenate along the last axis needs equal lengths on axis 1: 4 and 5.
kspec: 1
name: concatenate_mismatch
inputs:
  a: {shape: [4, 8]}
  b: {shape: [5, 8]}
layers:
  - {name: flat_b, type: Dense, units: 8, inputs: b}
  - {name: both, type: Concatenate, inputs: [a, flat_b]}
outputs: both
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Make the other axes agree (Reshape, Dense, pooling), or concatenate along another axis.",
    ),
    "KS406": Code(
        "axis out of range",
        cause="An `axis` (Concatenate, Dot, BatchNormalization, LayerNormalization, PReLU's shared_axes) is outside the input's rank.",
        examples=[
            Example(
                intro="",
                spec="""# A rank-2 tensor has axes 0 and 1 (or -2 and -1); axis 2 does not exist.
kspec: 1
name: concatenate_axis_out_of_range
inputs:
  a: {shape: [4]}
  b: {shape: [4]}
layers:
  - {name: both, type: Concatenate, axis: 2, inputs: [a, b]}
outputs: both
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Use an axis between -rank and rank - 1 (the batch axis is 0).",
    ),
    "KS407": Code(
        "reshape changes the number of elements",
        cause="Reshape's target_shape holds a different number of elements than its input (batch axis aside).",
        examples=[
            Example(
                intro="",
                spec="""# 28 x 28 = 784 elements cannot be reshaped to [27, -1].
kspec: 1
name: reshape_size
inputs:
  image: {shape: [28, 28]}
layers:
  - {name: grid, type: Reshape, target_shape: [27, -1]}
outputs: grid
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Make the product of target_shape equal to the input's, or use -1 for one axis.",
    ),
    "KS408": Code(
        "channels not divisible by groups",
        cause="A convolution's input channels (or filters) are not divisible by `groups`.",
        examples=[
            Example(
                intro="",
                spec="""# groups: 2 splits the channels in two; 3 channels cannot be split evenly.
kspec: 1
name: conv_groups
inputs:
  image: {shape: [16, 16, 3]}
layers:
  - {name: conv, type: Conv2D, filters: 4, kernel_size: 3, groups: 2}
outputs: conv
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Choose `groups` dividing both the input channels and `filters`.",
    ),
    "KS409": Code(
        "shared layer called on an incompatible shape",
        cause="A `share:` node calls a layer on a tensor whose shape differs from the one the layer was built for (its weights have a fixed shape).",
        examples=[
            Example(
                intro="",
                spec="""# The shared encoder was built on 32 features; the right branch has 16.
kspec: 1
name: share_mismatch
inputs:
  left: {shape: [32]}
  right: {shape: [16]}
layers:
  - {name: encoder, type: Dense, units: 8, inputs: left}
  - {name: encoder_right, share: encoder, inputs: right}
  - {name: both, type: Concatenate, inputs: [encoder, encoder_right]}
outputs: both
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="Share a layer only between tensors of compatible shapes, or use a new `type:` node.",
    ),
    "KS301": Code(
        "invalid expression syntax",
        cause="""A `$...` value is not a well-formed expression: a syntax error inside `${...}`, an
expression that is only part of the value (`${units} * 2`), a `$` followed by something other
than a name (`$units*2`), an empty `${}`, or an expression longer than 1,000 characters.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
params: {units: 64}
inputs:
  x: {shape: [8]}
layers:
  - name: hidden
    type: Dense
    units: ${units //}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            ),
            Example(
                intro="",
                spec="""kspec: 1
name: demo
params: {units: 64}
inputs:
  x: {shape: [8]}
layers:
  - name: hidden
    type: Dense
    units: ${units} * 2
outputs: hidden
""",
                args=["check", "spec.yaml"],
            ),
        ],
        fix="""Put the whole expression inside `${...}`: `${units * 2}`. For a string that starts
with `$`, write `$$`.""",
    ),
    "KS302": Code(
        "construct not allowed in expressions",
        cause="""The expression uses something outside the expression language: attribute access,
subscripts, calls of functions other than `min max abs int float round len`, keyword arguments,
comprehensions, lambdas, dicts, tuples, sets, f-strings, or names starting with `__`. kspec
never evaluates such an expression.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
params: {units: 64}
inputs:
  x: {shape: [8]}
layers:
  - name: hidden
    type: Dense
    units: ${units.__class__}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            ),
            Example(
                intro="",
                spec="""kspec: 1
name: demo
params: {units: 64}
inputs:
  x: {shape: [8]}
layers:
  - name: hidden
    type: Dense
    units: ${sum([units, 1])}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            ),
        ],
        fix="""Rewrite it with the allowed operators and functions (see language.md, Expressions),
for example `${units + 1}`, `${max(units, 8)}`.""",
    ),
    "KS303": Code(
        "unknown name in expression",
        cause="""The expression uses a name that is not a param. Inside a block, only the block's own
params are visible, not the model's. YAML's `true`, `false` and `null` are names too inside an
expression: write `True`, `False`, `None`.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
params: {units: 64}
inputs:
  x: {shape: [8]}
layers:
  - name: hidden
    type: Dense
    units: ${unit * 2}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="""Correct the name, or declare the param. To use a model param inside a block, declare a
block param and pass the value on the block node (`units: $width`).""",
    ),
    "KS304": Code(
        "expression cannot be evaluated",
        cause="""The expression is well formed but cannot be evaluated with the params' values:
division by zero, operations between incompatible types (`'a' - 1`), results beyond kspec's
bounds (integers above 2**63, strings or lists over 10,000 items, exponents over 64), or a
result that is not a finite number.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
params: {units: 64, groups: 0}
inputs:
  x: {shape: [8]}
layers:
  - name: hidden
    type: Dense
    units: ${units // groups}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            ),
            Example(
                intro="",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - name: hidden
    type: Dense
    units: ${10 ** 100}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            ),
        ],
        fix="Change the expression or the param values (a `--param` override may be the cause).",
    ),
    "KS305": Code(
        "expression result has the wrong type",
        cause="""The expression's value has the wrong type for the argument. The most common case:
`/` always gives a float, and Keras needs an integer (`units`, `filters`, ...). A param of the
wrong type (a string used as `units`) gives KS305 too.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
params: {units: 64}
inputs:
  x: {shape: [8]}
layers:
  - name: hidden
    type: Dense
    units: ${units / 4}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            ),
            Example(
                intro="",
                spec="""kspec: 1
name: demo
params: {width: wide}
inputs:
  x: {shape: [8]}
layers:
  - name: hidden
    type: Dense
    units: $width
outputs: hidden
""",
                args=["check", "spec.yaml"],
            ),
        ],
        fix="""Use `//` for integer division, or `int(...)`; give the param a value of the right
type.""",
    ),
    "KS306": Code(
        "expression not allowed here",
        cause="""An expression is written where only a literal is allowed: a name, `type`, `share`,
`block`, a node's `inputs`, `outputs`, a param's default, `class_name`, `imports`, or a block's
`params`, `inputs` or `outputs`. The structure of the graph does not depend on params; only
argument values do.""",
        examples=[
            Example(
                intro="",
                spec="""kspec: 1
name: demo
params: {units: 4, size: $units}
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 4}
outputs: hidden
""",
                args=["check", "spec.yaml"],
            )
        ],
        fix="""Write the value itself. To compute one param from another, write the expression where
the value is used (`units: ${units * 2}`).""",
    ),
    "KS901": Code(
        "TensorFlow is not installed",
        cause="""A command that builds a Keras model (`kspec summary`, `kspec.build_model`,
`kspec.verify.verify`) was run where TensorFlow cannot be imported. `kspec check` and
`kspec compile` never import TensorFlow and work without it. This is an environment problem:
the command line exits with status 2, and the diagnostic is not tied to a spec file (it shows
`<spec>` as its path).""",
        examples=[
            Example(
                intro="With TensorFlow not importable, `kspec summary spec.yaml` prints:",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 4}
outputs: hidden
""",
                python="""import sys; sys.modules['tensorflow'] = None
from kspec.cli import main; sys.exit(main(['summary', 'spec.yaml']))""",
            )
        ],
        fix="""Install the TensorFlow extra, as the help says: `pip install 'kspec[tensorflow]'`
(it installs `tensorflow-cpu` on x86-64 machines and `tensorflow` elsewhere).""",
    ),
    "KS902": Code(
        "Keras rejected the model",
        cause="""The spec passed kspec's checks (static shapes included), but Keras raised an error
while building the model (`kspec summary`, `kspec check --build`, `kspec.build_model`): an
argument combination Keras refuses that kspec does not know about. The message is Keras' own.
When it quotes the name of a spec node, the diagnostic points at that node; otherwise at the
top of the file.""",
        examples=[
            Example(
                intro="`kspec check --build spec.yaml` on a Conv1D with both strides and dilation, which Keras does not support:",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [32, 4]}
layers:
  - {name: conv, type: Conv1D, filters: 8, kernel_size: 3, strides: 2, dilation_rate: 2}
outputs: conv
""",
                args=["check", "--build", "spec.yaml"],
            )
        ],
        fix="""Read Keras' message and fix the arguments of the layer it names. `kspec check --build
--traceback` shows Keras' traceback too.""",
    ),
    "KS903": Code(
        "custom layer module not allowed",
        cause="""The spec names custom layers from a module under `imports:`, and a command that
builds the model (`kspec summary`, `kspec.build_model`) was not given permission to import that
module. kspec checks and compiles such a spec without importing anything; running the model
means running the module's code, which kspec does only when you say so.""",
        examples=[
            Example(
                intro="`kspec summary spec.yaml` with a custom layer and no `--allow-import`:",
                spec="""kspec: 1
name: demo
imports: [mylayers]
inputs:
  x: {shape: [8]}
layers:
  - {name: gate, type: mylayers.Gated, units: 8}
outputs: gate
""",
                args=["summary", "spec.yaml"],
            )
        ],
        fix="""If you trust the module, allow it: `kspec summary spec.yaml --allow-import mylayers`
(Python: `kspec.build_model(spec, allow_imports=["mylayers"])`). The module must be importable
(on `PYTHONPATH`).""",
    ),
    "KS904": Code(
        "training data missing or unreadable",
        cause="""`kspec fit` could not use its `--data` file, or has nothing to train with: the file
is not an .npz, it lacks an array the model needs (`x_train`, `y_train`, `x_test`, `y_test`; with
several inputs `x_train_<input>`; with named outputs `y_train_<output>`), or the spec has no
`compile:` section with a loss and none was given with `--loss`. Exit status 2.""",
        examples=[
            Example(
                intro="`kspec fit spec.yaml --data data.npz` on a spec without `compile:`:",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [4]}
layers:
  - {name: out, type: Dense, units: 1}
outputs: out
""",
                args=["fit", "spec.yaml", "--data", "spec.yaml"],
            )
        ],
        fix="""Add a `compile:` section (or pass `--loss`, `--optimizer`, `--metrics`), and save the
arrays with the names above (`numpy.savez(path, x_train=..., y_train=..., x_test=...,
y_test=...)`).""",
    ),
    "KS905": Code(
        "Graphviz cannot render the plot",
        cause="""`kspec plot -o FILE.png` (or .svg, .pdf) needs Graphviz's `dot` program to draw the
graph, and it is not installed (or it failed). `.dot` output needs nothing. Exit status 2.""",
        examples=[],
        fix="""Install Graphviz (Debian/Ubuntu: `apt-get install graphviz`; macOS: `brew install
graphviz`; conda: `conda install graphviz`), or write `-o graph.dot` and render it elsewhere.""",
    ),
    "KS906": Code(
        "model cannot be imported",
        cause="""`kspec import MODEL` could not turn MODEL into a spec: the .keras file cannot be
loaded (Keras' safe mode refuses files that carry code; a file with custom layers needs
`--allow-import MODULE`), `module:function` cannot be imported or called, the model is not a
Functional or Sequential model (a subclassed model has no graph to read), or it is a Sequential
model that has no input shape yet. Exit status 2.""",
        examples=[
            Example(
                intro="`kspec import no_such_module:build`:",
                args=["import", "no_such_module:build"],
            )
        ],
        fix="""Give a `.keras` file saved from a Functional model, or `module:function` where the
module is importable (on `PYTHONPATH`) and the function returns a Functional or built
Sequential model. Rebuild a subclassed model with `keras.Input` -> layers ->
`keras.Model(inputs, outputs)` first; build a Sequential model with `keras.Input` first.""",
    ),
    "KS907": Code(
        "weights cannot be read",
        cause="""`--weights SOURCE` (on `summary`, `verify`, `fit`, `export`; `weights=` in
`kspec.build_model`) could not read SOURCE: the file does not exist, is not a `.keras` or
`.weights.h5` file, is not a valid archive or HDF5 file, or `module:function` could not be
imported or called, or did not return a Keras model. Exit status 2.""",
        examples=[
            Example(
                intro="`kspec summary spec.yaml --weights pretrained.keras` without that file:",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 4}
outputs: hidden
""",
                args=["summary", "spec.yaml", "--weights", "pretrained.keras"],
            )
        ],
        fix="""Give a file written by `model.save("x.keras")` (or `kspec fit --save x.keras`) or
`model.save_weights("x.weights.h5")`, or `module:function` returning a Keras model (with
`--allow-import module`: the module's code runs).""",
    ),
    "KS908": Code(
        "weights do not fit the model",
        cause="""The weights given with `--weights` are loaded layer by layer, by the path of layer
names (`hidden`, `tower_2/gate`), and a layer of the model has weights of other shapes in the
file: the spec changed that layer (more units, another input size). Nothing is loaded, and the
report above the error lists every layer (matched, missing from the file, mismatched with both
shapes, unused in the file). Also reported when no layer of the model is in the file at all
(the weights of another model).""",
        examples=[
            Example(
                intro="A head changed from 10 to 5 units, with the weights of the 10-unit model: `kspec summary spec.yaml --weights base.weights.h5`",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 16}
  - {name: head, type: Dense, units: 5}
outputs: head
""",
                python="""
import keras, kspec, kspec.cli
base = kspec.loads(open("spec.yaml").read().replace("units: 5", "units: 10"))
kspec.build_model(base).save_weights("base.weights.h5")
raise SystemExit(kspec.cli.main(["summary", "spec.yaml", "--weights", "base.weights.h5"]))
""",
            )
        ],
        fix="""Give the changed layer a new name: it is then *missing* from the file and starts from
its initial weights, while every other layer loads (the usual way to put a new head on a
pretrained model). Or pass `--partial` (`partial=True`) to load what fits and leave the
mismatched layers as initialised.""",
    ),
    "KS909": Code(
        "no such layer to freeze",
        cause="""`--freeze NAME` (on `summary`, `fit`; `freeze=` in `kspec.build_model`) names no layer
of the model. A name is a node of the spec (a repeated block node stands for all its
instances), a block instance (`tower_2`) or a path into one (`tower_2/gate`), as `kspec summary`
lists them. Exit status 2.""",
        examples=[
            Example(
                intro="`kspec summary --static spec.yaml --freeze hiden`:",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 16}
  - {name: head, type: Dense, units: 2}
outputs: head
""",
                args=["summary", "--static", "spec.yaml", "--freeze", "hiden"],
            )
        ],
        fix="""Use a name `kspec summary` shows, or a path through block instances to a node inside
one.""",
    ),
    "KS910": Code(
        "export tools not installed",
        cause="""`kspec export --format onnx` needs tf2onnx, onnx and onnxruntime; `--format litert`
needs ai-edge-litert (the LiteRT interpreter the export is checked with). They are not part of
kspec's own dependencies, nor of the tensorflow extra. The SavedModel format needs only
TensorFlow. Exit status 2.""",
        examples=[
            Example(
                intro="With tf2onnx not installed, `kspec export spec.yaml --format onnx -o model.onnx`:",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 4}
outputs: hidden
""",
                python="""import sys; sys.modules['tf2onnx'] = None
from kspec.cli import main
sys.exit(main(['export', 'spec.yaml', '--format', 'onnx', '-o', 'model.onnx']))""",
            )
        ],
        fix="Install the export extra: `pip install 'kspec[export]'`.",
    ),
    "KS911": Code(
        "model cannot be exported",
        cause="""`kspec export` could not write the format asked for: the converter (tf2onnx for
ONNX, the TensorFlow Lite converter for LiteRT, TensorFlow for a SavedModel) failed, and the
message is the converter's own; or the output path cannot be used (its folder does not exist,
the suffix is not `.onnx` / `.tflite`, or it is an existing folder that is not a SavedModel).
Nothing is written.""",
        examples=[
            Example(
                intro="`kspec export spec.yaml --format litert -o model.tflite` on an LSTM with a free batch size:",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [10, 4]}
layers:
  - {name: rnn, type: LSTM, units: 8}
outputs: rnn
""",
                args=["export", "spec.yaml", "--format", "litert", "-o", "model.tflite"],
            )
        ],
        fix="""Follow the hint. LiteRT takes builtin operators only: a recurrent layer converts
with a fixed batch size (`--batch-size 1`). docs/deploy.md lists what each format takes.""",
    ),
    "KS912": Code(
        "exported model does not match Keras",
        cause="""The exported artefact was loaded by its own runtime (TensorFlow's serving
signature, onnxruntime, the LiteRT interpreter) and run on random inputs, and it does not run
there, or its outputs are not the Keras model's: another shape, or values beyond the tolerance
(1e-4 relative to the largest output, at least 1). The converter (or Keras, when it traces the
model) changed what the model computes. Nothing is written.""",
        examples=[
            Example(
                intro="`kspec export spec.yaml --format savedmodel -o model`: Keras' TimeDistributed, traced over a free time axis, loops over the batch instead:",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [null, 4]}
layers:
  - {name: step, type: TimeDistributed, layer: {type: Dense, units: 2}}
outputs: step
""",
                args=["export", "spec.yaml", "--format", "savedmodel", "-o", "model"],
            )
        ],
        fix="""Follow the hint: with sizes left free, give them in the spec's inputs (a param keeps
them adjustable). docs/deploy.md lists what each format takes.""",
    ),
    "KS913": Code(
        "language server dependencies not installed",
        cause="""`kspec lsp` (the language server editors start) needs pygls, which comes with the
`lsp` extra and is not installed. Exit status 2.""",
        examples=[],
        fix="""`pip install 'kspec[lsp]'` in the environment the editor runs `kspec` from (see
[editors.md](editors.md)).""",
    ),
    "KS914": Code(
        "part of the model kspec cannot express",
        cause="""`kspec import` met a part of the model that a spec cannot say: a layer that carries
code (`Lambda`), a custom layer class defined inside a function or in `__main__`, or one whose
constructor takes no `name`, an argument value with no spec form (a custom regularizer, a
Python function as activation, an initializer with an array value), an operation on tensors
with no `keras.ops` spelling or outside kspec's op list, an index by a tensor (`x[indices]`;
indexing by constants, `x[:, 0]`, is a `get_item` op node), a model without layers, or a layer shared
between a model and a model nested in it. The message names the layer or operation and where it
is (`model 'outer' > 'encoder'`). Exit status 2. As a warning, KS914 says what the spec leaves
out (a call with `training=True`).""",
        examples=[
            Example(
                intro="Importing a model with a `Lambda` layer:",
                python="""import keras, kspec
from kspec.importer import import_model
x = keras.Input((4,))
model = keras.Model(x, keras.layers.Lambda(lambda t: t * 2, name='double')(x))
try:
    import_model(model)
except kspec.KspecError as exc:
    d = exc.diagnostics[0]
    print(f'error[{d.code}]: {d.message}')
""",
            )
        ],
        fix="""Write the computation as a layer class at the top level of a module you control (with
`**kwargs` passed to `super().__init__`), or with `keras.ops` calls, and import again with
`--allow-import MODULE`. Use Keras' own initializers, regularizers and constraints, or a
custom layer that creates them itself.""",
    ),
    "KS915": Code(
        "stub file unreadable",
        cause="""`kspec check --stubs FILE` (or `kspec.check(path, stubs=[FILE])`) could not read
FILE as a stub file: it does not exist, is not JSON, or lacks `"kspec_stubs": 1` and a
`modules` mapping. Exit status 2.""",
        examples=[
            Example(
                intro="`kspec check spec.yaml --stubs spec.yaml`:",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [4]}
layers:
  - {name: d, type: Dense, units: 2}
outputs: d
""",
                args=["check", "spec.yaml", "--stubs", "spec.yaml"],
            )
        ],
        fix="""Write the file with `kspec stubs MODULE --allow-import MODULE -o FILE` (again after
the module changes).""",
    ),
    "KS916": Code(
        "Keras backend not installed",
        cause="""A command that runs a model (`summary`, `verify`, `fit`, `plot`, `import`) was
asked to run Keras on a backend (`--backend jax`, `--backend torch`, or `KERAS_BACKEND`) whose
package, or Keras itself, cannot be imported. Exit status 2.""",
        examples=[
            Example(
                intro="With PyTorch not importable, `kspec summary spec.yaml --backend torch`:",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 4}
outputs: hidden
""",
                python="""import sys; sys.modules['torch'] = None
from kspec.cli import main; sys.exit(main(['summary', 'spec.yaml', '--backend', 'torch']))""",
            )
        ],
        fix="""Install the backend as the hint says: `pip install 'kspec[jax]'` for JAX (CPU), and
for PyTorch its CPU build, `pip install torch --index-url https://download.pytorch.org/whl/cpu`
(the default wheel brings CUDA, gigabytes). See [backends.md](backends.md).""",
    ),
    "KS917": Code(
        "unknown or unavailable Keras backend",
        cause="""`KERAS_BACKEND` names a backend kspec does not run on (it knows tensorflow, jax,
torch), or, in Python, Keras was already imported on another backend than the one asked for:
Keras fixes its backend when it is first imported. Exit status 2.""",
        examples=[
            Example(
                intro="`KERAS_BACKEND=theano kspec summary spec.yaml`:",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 4}
outputs: hidden
""",
                python="""import os, sys; os.environ['KERAS_BACKEND'] = 'theano'
from kspec.cli import main; sys.exit(main(['summary', 'spec.yaml']))""",
            )
        ],
        fix="""Set `KERAS_BACKEND` to tensorflow, jax or torch (or pass `--backend`) before Keras is
first imported, that is, in a new process.""",
    ),
    "KS918": Code(
        "not available on this Keras backend",
        cause="""The command needs a backend other than the one Keras runs on: `kspec export` makes
every format from a TensorFlow graph; `fit --distribute multi-worker` is TensorFlow's
MultiWorkerMirroredStrategy; `--distribute mirrored` runs on tensorflow and jax, not torch.
Exit status 2.""",
        examples=[
            Example(
                intro="`kspec export spec.yaml -o model.savedmodel` with `KERAS_BACKEND=jax`:",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 4}
outputs: hidden
""",
                python="""import os, sys; os.environ['KERAS_BACKEND'] = 'jax'
from kspec.cli import main
sys.exit(main(['export', 'spec.yaml', '--format', 'savedmodel', '-o', 'model.savedmodel']))""",
            )
        ],
        fix="""Run the command on the backend it names (unset `KERAS_BACKEND`, or `--backend
tensorflow`). A `.keras` file trained on one backend loads on another.""",
    ),
    "KS919": Code(
        "distributed training set up wrongly",
        cause="""`kspec fit --distribute` cannot start: the global `--batch-size` does not split
evenly across the replicas, or `--distribute multi-worker` runs without a `TF_CONFIG` that
describes the cluster and this worker's task. Exit status 2.""",
        examples=[
            Example(
                intro="`kspec fit spec.yaml --data d.npz --distribute multi-worker` without "
                "TF_CONFIG:",
                spec="""kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 4}
outputs: hidden
""",
                python="""import os, sys; os.environ.pop('TF_CONFIG', None)
import numpy as np
np.savez('d.npz', x_train=np.zeros((4, 8)), y_train=np.zeros((4, 4)),
         x_test=np.zeros((4, 8)), y_test=np.zeros((4, 4)))
from kspec.cli import main
sys.exit(main(['fit', 'spec.yaml', '--data', 'd.npz', '--loss', 'mse',
               '--distribute', 'multi-worker']))""",
            )
        ],
        fix="""Give each worker its `TF_CONFIG` (see [distributed.md](distributed.md)); use a batch
size that is a multiple of the replica count.""",
    ),
}

#: Code -> its one-line title.
CODES: dict[str, str] = {code: entry.title for code, entry in ENTRIES.items()}


def cause(code: str) -> str:
    """What causes ``code`` (the shape codes start with what they share)."""
    entry = ENTRIES[code]
    return (SHAPE_INTRO + "\n\n" if code.startswith("KS4") else "") + entry.cause


def explain(code: str) -> str:
    """``kspec explain CODE``: the title, cause, an example spec and the fix, as plain text."""
    entry = ENTRIES[code]
    lines = [f"{code}: {entry.title}", "", cause(code).strip(), ""]
    for example in entry.examples[:1]:
        if isinstance(example.spec, str):
            lines += [
                "For example:",
                "",
                *("    " + ln for ln in example.spec.rstrip().splitlines()),
                "",
            ]
    lines += [
        "Fix: " + entry.fix.strip(),
        "",
        "See docs/errors.md for every code with kspec's output.",
    ]
    return "\n".join(lines) + "\n"
