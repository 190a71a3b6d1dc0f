# ruff: noqa: E501  (the document text is pasted as written)
"""Generate docs/errors.md: run every example through the real kspec and paste its output.

Run from the repository root with the project's virtualenv:
``.venv/bin/python tools/gen_errors_doc.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from kspec.codes import CODES  # noqa: E402

KSPEC = os.path.join(os.path.dirname(sys.executable), "kspec")
PY = sys.executable
GEN = os.path.join(tempfile.gettempdir(), "kspec-errors-doc")
NOISE = re.compile(
    r"^(I0000|W0000|E0000|WARNING: All log messages|To enable the following|.*UserWarning|"
    r"  warnings\.warn|\d\. |Exception encountered: )"
)

HEAD = """kspec: 1
name: demo
"""


def spec(body: str) -> str:
    return HEAD + textwrap.dedent(body).lstrip("\n")


def run(code: str, n: int, text: str | bytes | None, args: list[str], env_py: str | None = None):
    folder = os.path.join(GEN, code, str(n))
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    if text is not None:
        mode = "wb" if isinstance(text, bytes) else "w"
        with open(os.path.join(folder, "spec.yaml"), mode) as fh:
            fh.write(text)
    cmd = [PY, "-c", env_py] if env_py is not None else [KSPEC, *args]
    env = dict(os.environ, NO_COLOR="1", TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    p = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, env=env, timeout=300)
    out = (p.stdout + p.stderr).splitlines()
    out = [line for line in out if not NOISE.match(line)]
    return "\n".join(out).rstrip(), p.returncode


# Each entry: cause, examples [(intro, spec text or None, kspec args, python or None)], fix.
E: dict[str, dict] = {}

E["KS000"] = dict(
    cause="""kspec could not open or read the file: it does not exist, it is a folder, or it cannot
be read (permissions). The Python API (`kspec.check`, `kspec.load`, ...) reports it as KS000.
On the command line a path that does not exist is a usage error instead (exit status 2:
`kspec: error: no such file: spec.yaml`); KS000 is what remains, a file that exists but cannot
be read.""",
    examples=[
        (
            "`kspec.check('spec.yaml')` in a folder without that file:",
            None,
            [],
            "import kspec\ndiags = kspec.check('spec.yaml')\nfor d in diags:\n"
            "    print(f'{d.path}:{d.line}:{d.column}: {d.severity}[{d.code}]: {d.message}')\n"
            "raise SystemExit(1 if diags else 0)",
        )
    ],
    fix="Check the path and the file's permissions.",
)

E["KS001"] = dict(
    cause="""The file is not valid YAML, or not a single YAML document. The message is the YAML
parser's, at the place where it noticed the problem, which can be after the real mistake
(an unclosed `{` is noticed on the next line). kspec adds a hint for the common cases: a tab used
for indentation, an unquoted `${...}` expression or `node[i]` reference inside `[...]` or
`{...}`. An empty file and a file with several documents (`---`) are KS001 too.""",
    examples=[
        (
            "An expression inside a flow mapping without quotes:",
            spec("""
            params: {units: 64}
            inputs:
              x: {shape: [8]}
            layers:
              - {name: hidden, type: Dense, units: ${units // 4}}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        ),
        (
            "A `node[i]` reference inside a flow list without quotes:",
            spec("""
            inputs:
              x: {shape: [null, 8]}
            layers:
              - {name: enc, type: LSTM, units: 4, return_state: true}
              - {name: states, type: Concatenate, inputs: [enc[1], enc[2]]}
            outputs: states
            """),
            ["check", "spec.yaml"],
            None,
        ),
        (
            "An unclosed `{` (reported on the next line):",
            spec("""
            inputs:
              x: {shape: [8]
            layers:
              - {name: hidden, type: Dense, units: 4}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        ),
    ],
    fix="""Quote expressions and `node[i]` references inside `[...]` and `{...}`
(`units: "${units // 4}"`, `inputs: ["enc[1]", "enc[2]"]`), or write the mapping in block style,
one key per line. Indent with spaces only. Keep one document per file. For other messages, look
at the reported line and the one before it.""",
)

E["KS002"] = dict(
    cause="""Mappings and lists are nested more than 50 levels deep. kspec checks this before the
YAML parser runs, by counting `[` and `{` brackets and indentation (more than 400 columns of
indentation also counts as too deep), so that a hostile file cannot make the parser crash or
hang. No real spec comes close.""",
    examples=[
        (
            "",
            spec(
                """
            params:
              deep: """
                + "[" * 51
                + "]" * 51
                + """
            """
            ),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="Flatten the structure; a spec needs only a few levels of nesting.",
)

E["KS003"] = dict(
    cause="""The file is larger than the limit: 4,194,304 bytes (4 MiB) by default, or the value
of `kspec check --max-bytes N`. A file with more than 150,000 YAML nodes is also KS003
(`more than 150,000 YAML nodes`).""",
    examples=[
        (
            "A 101-byte spec checked with `kspec check spec.yaml --max-bytes 100`:",
            spec("""
            description: this line makes the file longer than the small limit given
            inputs:
              x: {shape: [8]}
            layers:
              - {name: d, type: Dense, units: 4}
            outputs: d
            """),
            ["check", "spec.yaml", "--max-bytes", "100"],
            None,
        )
    ],
    fix="""Split the model into smaller specs (blocks help), or, for `kspec check`, raise the
limit with `--max-bytes`.""",
)

E["KS004"] = dict(
    cause="""The file is not UTF-8 text, or it starts with a byte-order mark (some Windows
editors add one). The message gives the offset of the first byte that is not UTF-8.""",
    examples=[
        (
            "A file saved with a byte-order mark (invisible in most editors):",
            b"\xef\xbb\xbf"
            + spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - {name: d, type: Dense, units: 4}
            outputs: d
            """).encode(),
            ["check", "spec.yaml"],
            None,
        ),
        (
            "A file saved as Latin-1 (`name: démo`, where `é` is the single byte 0xe9):",
            ("kspec: 1\nname: d\xe9mo\n").encode("latin-1"),
            ["check", "spec.yaml"],
            None,
        ),
    ],
    fix="Save the file as UTF-8 without a byte-order mark.",
)

E["KS005"] = dict(
    cause="""The file uses a YAML tag (`!!python/object/apply:...`, `!!str`, `!custom`, ...).
Some YAML loaders build arbitrary Python objects from tags, which is how YAML files have been
used to run code; kspec never builds anything from a tag and refuses all of them.""",
    examples=[
        (
            "",
            spec("""
            description: !!python/object/apply:os.system ["echo pwned"]
            inputs:
              x: {shape: [8]}
            layers:
              - {name: hidden, type: Dense, units: 4}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix='Remove the tag. To make a value a string, quote it (`"yes"`) instead of writing `!!str`.',
)

E["KS006"] = dict(
    cause="""The file uses a YAML anchor (`&name`) or alias (`*name`). Aliases let a tiny file
expand into an enormous document ("billion laughs"), so kspec refuses both.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - &dense {name: hidden, type: Dense, units: 4}
              - *dense
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="""Repeat the value. To reuse a group of layers, define a block and use it several times
(see language.md, Blocks); to reuse a layer's weights, use a `share:` node.""",
)

E["KS007"] = dict(
    cause="""The same key appears twice in one mapping. Most YAML loaders silently keep the last
value, so one of the two is ignored without notice; kspec reports it, with the line of the first
one.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - name: hidden
                type: Dense
                units: 16
                units: 8
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="Remove one of the two keys.",
)

E["KS008"] = dict(
    cause="""A mapping key is not a string: an unquoted number, boolean or null (`1:`, `true:`,
`null:`), or a list or mapping used as a key. kspec's keys (params, inputs, output names, layer
arguments) are all names.""",
    examples=[
        (
            "",
            spec("""
            params:
              1: 64
            inputs:
              x: {shape: [8]}
            layers:
              - {name: hidden, type: Dense, units: 4}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix='Use a name as the key, or quote it if it really is meant as a string (`"1": 64`).',
)

E["KS009"] = dict(
    cause="""An unquoted number kspec will not guess about:
- an integer with a leading zero (`0777`): YAML 1.1 reads it as octal (511), YAML 1.2 as
  decimal (777);
- an integer with more than 19 digits;
- `.inf`, `-.inf` or `.nan`: kspec accepts only finite numbers.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - {name: hidden, type: Dense, units: 0777}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        ),
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - {name: hidden, type: Dense, units: 4}
              - {name: act, type: LeakyReLU, negative_slope: .nan}
            outputs: act
            """),
            ["check", "spec.yaml"],
            None,
        ),
    ],
    fix="""Write the number without the leading zero (or `0o777` for octal), use a smaller finite
value, or `null` where the argument accepts `None`. Quote the value if you mean a string.""",
)

E["KS101"] = dict(
    cause="""A key that kspec does not know: a misspelt constructor argument, an argument the
layer does not have, or an unknown top-level, input, block or `compile:` key. The help suggests
the closest known key, or lists the allowed ones.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - name: hidden
                type: Dense
                units: 64
                activaton: relu
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="""Correct the key. `kspec schema` prints every layer's arguments; the Keras documentation
of the layer gives their meaning.""",
)

E["KS102"] = dict(
    cause="""A value has the wrong type: a string where an integer is expected, a float where
Keras requires an integer (`units: 64.0`), a quoted number, or a YAML 1.1 boolean such as `no`,
`yes`, `on` or `off`, which YAML 1.2 (and kspec) reads as a string. A spec that is not a mapping
at all is KS102 too.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - name: hidden
                type: Dense
                units: 64
                use_bias: no
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        ),
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - {name: hidden, type: Dense, units: "64"}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        ),
    ],
    fix="""Write the value with the expected type: `true`/`false` for booleans, numbers without
quotes, integers without a decimal point.""",
)

E["KS103"] = dict(
    cause="""A required key is missing: a constructor argument without a Keras default (`units`
of `Dense`, `filters` and `kernel_size` of `Conv2D`, `rate` of `Dropout`, ...), a top-level key
(`kspec`, `name`, `inputs`, `layers`, `outputs`), an input's `shape`, a node's `name`, or a
node's `type`/`share`/`block`.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - {name: hidden, type: Dense, activation: relu}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="""Add the key. If it is there but misspelt (`unit:` for `units:`), the KS101 reported
at the misspelt key names the key that is needed.""",
)

E["KS104"] = dict(
    cause="""A value is not one of those allowed: an activation, padding, initializer, dtype or
other name that Keras does not accept, or a name or reference that is not an identifier
(letters, digits and `_`, not starting with a digit). A node with more than one of `type`,
`share` and `block` is KS104 too.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              image: {shape: [28, 28, 1]}
            layers:
              - {name: conv, type: Conv2D, filters: 8, kernel_size: 3, padding: smae}
            outputs: conv
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="Use one of the values listed in the message (the help suggests the closest one).",
)

E["KS105"] = dict(
    cause="""A number is outside the range Keras accepts: a size or count below 1 (`units: 0`,
`filters: 0`), a rate outside 0..1, a negative value where only positive ones make sense. This
also catches values computed by expressions, for instance `${units // 4}` when `units` is 2.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - {name: hidden, type: Dense, units: 4}
              - {name: drop, type: Dropout, rate: 1.5}
            outputs: drop
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="Use a value in the stated range.",
)

E["KS106"] = dict(
    cause="""`type:` names a layer class kspec does not know (see language.md, "The layer types
kspec knows"), or a custom layer (`module.Class`) whose module is not listed under
`imports:`.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - {name: hidden, type: Dence, units: 4}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        ),
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - {name: hidden, type: mylayers.Gated, units: 4}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        ),
    ],
    fix="""Correct the type name (it is case-sensitive, as in Keras). For a custom layer, add its
module to `imports:` (building the model then needs `--allow-import`, see KS903).""",
)

E["KS107"] = dict(
    cause="The `kspec:` key is not the integer `1`, the only format version this kspec reads.",
    examples=[
        (
            "",
            """kspec: 2
name: demo
inputs:
  x: {shape: [8]}
layers:
  - {name: hidden, type: Dense, units: 4}
outputs: hidden
""",
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix='Write `kspec: 1` (an integer, not `"1"` or `1.0`).',
)

E["KS108"] = dict(
    cause="""`type:` names a layer that kspec refuses because it carries or loads code:
`Lambda`, `TFSMLayer`, `JaxLayer`, `FlaxLayer`, `TorchModuleWrapper`. A spec must not be able
to run code when a model is built or loaded.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - {name: double, type: Lambda, function: "lambda t: t * 2"}
            outputs: double
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="""Use a built-in layer that does the same (`Rescaling` multiplies, `Activation` applies an
activation, `Reshape`, `Permute`, the merge layers ...), or write the computation as a layer
class in a module you trust (see language.md, Custom layers).""",
)

E["KS109"] = dict(
    cause="""A list has too few or too many items: `kernel_size` of `Conv2D` with three entries,
an empty `layers:` list, an input `shape` with more than 16 entries, ...""",
    examples=[
        (
            "",
            spec("""
            inputs:
              image: {shape: [28, 28, 1]}
            layers:
              - {name: conv, type: Conv2D, filters: 8, kernel_size: [3, 3, 3]}
            outputs: conv
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="Give as many items as the message asks for.",
)

E["KS201"] = dict(
    cause="""Two nodes, or a node and an input, have the same name. Names are unique among the
model's inputs and nodes (inside a block, among the block's own). The instance names of a
repeated block node (`stage_1` .. `stage_N`) are taken too.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - {name: dense1, type: Dense, units: 64, activation: relu}
              - {name: dense1, type: Dense, units: 10}
            outputs: dense1
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="Rename one of them (names are also the Keras layer names, which must be unique).",
)

E["KS202"] = dict(
    cause="""A reference (in `inputs:` or `outputs:`) names no input or node of this model or
block. The help suggests the closest name. Referring to an instance of a repeated block
(`stage_2`) is KS202 too: refer to the node itself (`stage`) for the last instance's output.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - {name: hidden, type: Dense, units: 64}
              - {name: out, type: Dense, units: 10, inputs: hiden}
            outputs: out
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="Correct the reference. Inside a block, only the block's inputs and nodes can be named.",
)

E["KS203"] = dict(
    cause="""The nodes' `inputs:` form a loop: a node depends, directly or through others, on its
own output. The message lists the nodes of the loop.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - {name: a, type: Dense, units: 8, inputs: b}
              - {name: b, type: Dense, units: 8, inputs: a}
              - {name: out, type: Add, inputs: [a, b, x]}
            outputs: out
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="Change the `inputs:` of one of the listed nodes so that the graph has no loop.",
)

E["KS204"] = dict(
    cause="""A node has no `inputs:`, and kspec cannot tell what it should take: it is the first
node and the model (or block) has several inputs, or the node above it has several outputs.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              left: {shape: [8]}
              right: {shape: [8]}
            layers:
              - {name: hidden, type: Dense, units: 4}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        ),
        (
            "",
            spec("""
            inputs:
              x: {shape: [null, 8]}
            layers:
              - {name: enc, type: LSTM, units: 4, return_state: true}
              - {name: out, type: Dense, units: 2}
            outputs: out
            """),
            ["check", "spec.yaml"],
            None,
        ),
    ],
    fix="""Give the node an `inputs:`: one input (`inputs: left`), a list for a merge layer
(`inputs: [left, right]`), or the output you want (`inputs: "enc[0]"`).""",
)

E["KS205"] = dict(
    cause="""A `share:` node names something whose layer cannot be shared: a name that is not a
node of this model or block, or a node that is itself a `share:` or `block:` node. Only a `type:`
node creates a layer.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              left: {shape: [8]}
              right: {shape: [8]}
            layers:
              - {name: enc, type: Dense, units: 4, inputs: left}
              - {name: enc_right, share: encoder, inputs: right}
              - {name: out, type: Add, inputs: [enc, enc_right]}
            outputs: out
            """),
            ["check", "spec.yaml"],
            None,
        ),
    ],
    fix="""Name the `type:` node that created the layer (for a share of a share, name the
original). To reuse a whole block with the same weights, share its layers one by one; a
`block:` node always creates new weights.""",
)

E["KS206"] = dict(
    cause="A `block:` node names a block that is not defined under `blocks:`.",
    examples=[
        (
            "",
            spec("""
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
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="Correct the block's name, or define the block under `blocks:`.",
)

E["KS207"] = dict(
    cause="""A block uses itself, directly or through other blocks. The message shows the
chain.""",
    examples=[
        (
            "",
            spec("""
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
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="""Break the chain. To repeat a block a number of times, use `repeat: N` on a block
node.""",
)

E["KS208"] = dict(
    cause="""A `node[i]` reference does not fit the node: the index is past the node's last
output, or the node has several outputs and the reference gives no index. Which nodes have
several outputs is listed in language.md ("References and node[i]"): for instance an `LSTM` has
three only with `return_state: true`.""",
    examples=[
        (
            "",
            spec("""
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
            """),
            ["check", "spec.yaml"],
            None,
        ),
        (
            "",
            spec("""
            inputs:
              x: {shape: [null, 8]}
            layers:
              - {name: enc, type: LSTM, units: 4, return_state: true}
            outputs: enc
            """),
            ["check", "spec.yaml"],
            None,
        ),
    ],
    fix="""Use an index below the number of outputs, add the argument that gives the extra
outputs (`return_state: true`), or say which output you mean (`enc[0]`; quoted inside
`[...]`).""",
)

E["KS209"] = dict(
    cause="""A param (of the model or of a block) is named `name`, `dtype`, `trainable`,
`autocast`, `inputs`, `outputs`, `input_shape`, `batch_input_shape` or `dynamic`. These are
keyword arguments of Keras' own model and layer constructors, which the generated class passes
on to Keras; `inputs=` and `outputs=` would even make Keras build a Functional model instead of
the class.""",
    examples=[
        (
            "",
            spec("""
            params:
              name: classifier
              units: 64
            inputs:
              x: {shape: [8]}
            layers:
              - {name: hidden, type: Dense, units: $units}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="Rename the param (`name_`, `model_name`, ...) and the expressions that use it.",
)

E["KS210"] = dict(
    cause="""A node is given a number of tensors its layer (or block) cannot take: a list of
several tensors for a one-input layer such as `Dense`, one tensor (or none) for a merge layer,
three tensors for `Subtract` or `Dot` (exactly two), a `MultiHeadAttention` without both `query`
and `value`, or a block node whose inputs do not match the block's `inputs:`.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              a: {shape: [8]}
              b: {shape: [8]}
            layers:
              - {name: hidden, type: Dense, units: 4, inputs: [a, b]}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        ),
        (
            "",
            spec("""
            inputs:
              a: {shape: [8]}
              b: {shape: [8]}
              c: {shape: [8]}
            layers:
              - {name: diff, type: Subtract, inputs: [a, b, c]}
            outputs: diff
            """),
            ["check", "spec.yaml"],
            None,
        ),
    ],
    fix="""Merge tensors first (`Concatenate`, `Add`, ...) before a one-input layer, give merge
layers their `inputs:` as a list, and give a block as many inputs as its `inputs:` lists.""",
)

E["KS211"] = dict(
    cause="""A key of an `inputs:` mapping or of `call:` is not an argument of the layer's `call`
(or, for a block node's `inputs:` mapping, not one of the block's inputs). The help suggests the
closest argument or lists them.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - {name: drop, type: Dropout, rate: 0.5, call: {trainng: true}}
            outputs: drop
            """),
            ["check", "spec.yaml"],
            None,
        ),
        (
            "",
            spec("""
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
            """),
            ["check", "spec.yaml"],
            None,
        ),
    ],
    fix="Use the argument name from the layer's `call` signature in Keras.",
)

E["KS212"] = dict(
    cause="""A block node has `repeat:`, but the block has a different number of outputs and
inputs. `repeat` feeds each instance's outputs to the next instance's inputs, so the counts must
match.""",
    examples=[
        (
            "",
            spec("""
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
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="""Give the block as many outputs as inputs, or write the instances as separate block
nodes.""",
)

E["KS213"] = dict(
    cause="""A block node has a key that is not one of the block's params (nor `name`, `block`,
`inputs`, `repeat`).""",
    examples=[
        (
            "",
            spec("""
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
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="Correct the param name, or add the param to the block's `params:`.",
)

E["KS214"] = dict(
    cause="""A warning, not an error: no output of the model (or block) depends on this node, so
Keras would leave it out of a Functional model. It is usually a forgotten `inputs:` further
down, or an output missing from `outputs:`. (A node that is the target of a `share:` node is not
reported.) Warnings do not change the exit status.""",
    examples=[
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - {name: hidden, type: Dense, units: 4}
              - {name: side, type: Dense, units: 2, inputs: x}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="Remove the node, wire it into the graph, or add it to `outputs:`.",
)

E["KS215"] = dict(
    cause="""A `--param NAME=VALUE` (or a keyword argument of `kspec.load`, `kspec.build_model`,
...) names a param the spec does not declare.""",
    examples=[
        (
            "`kspec check spec.yaml --param unit=128`:",
            spec("""
            params: {units: 64}
            inputs:
              x: {shape: [8]}
            layers:
              - {name: hidden, type: Dense, units: $units}
            outputs: hidden
            """),
            ["check", "spec.yaml", "--param", "unit=128"],
            None,
        )
    ],
    fix="Use one of the params listed in the help, or declare the param under `params:`.",
)

E["KS301"] = dict(
    cause="""A `$...` value is not a well-formed expression: a syntax error inside `${...}`, an
expression that is only part of the value (`${units} * 2`), a `$` followed by something other
than a name (`$units*2`), an empty `${}`, or an expression longer than 1,000 characters.""",
    examples=[
        (
            "",
            spec("""
            params: {units: 64}
            inputs:
              x: {shape: [8]}
            layers:
              - name: hidden
                type: Dense
                units: ${units //}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        ),
        (
            "",
            spec("""
            params: {units: 64}
            inputs:
              x: {shape: [8]}
            layers:
              - name: hidden
                type: Dense
                units: ${units} * 2
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        ),
    ],
    fix="""Put the whole expression inside `${...}`: `${units * 2}`. For a string that starts
with `$`, write `$$`.""",
)

E["KS302"] = dict(
    cause="""The expression uses something outside the expression language: attribute access,
subscripts, calls of functions other than `min max abs int float round len`, keyword arguments,
comprehensions, lambdas, dicts, tuples, sets, f-strings, or names starting with `__`. kspec
never evaluates such an expression.""",
    examples=[
        (
            "",
            spec("""
            params: {units: 64}
            inputs:
              x: {shape: [8]}
            layers:
              - name: hidden
                type: Dense
                units: ${units.__class__}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        ),
        (
            "",
            spec("""
            params: {units: 64}
            inputs:
              x: {shape: [8]}
            layers:
              - name: hidden
                type: Dense
                units: ${sum([units, 1])}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        ),
    ],
    fix="""Rewrite it with the allowed operators and functions (see language.md, Expressions),
for example `${units + 1}`, `${max(units, 8)}`.""",
)

E["KS303"] = dict(
    cause="""The expression uses a name that is not a param. Inside a block, only the block's own
params are visible, not the model's. YAML's `true`, `false` and `null` are names too inside an
expression: write `True`, `False`, `None`.""",
    examples=[
        (
            "",
            spec("""
            params: {units: 64}
            inputs:
              x: {shape: [8]}
            layers:
              - name: hidden
                type: Dense
                units: ${unit * 2}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="""Correct the name, or declare the param. To use a model param inside a block, declare a
block param and pass the value on the block node (`units: $width`).""",
)

E["KS304"] = dict(
    cause="""The expression is well formed but cannot be evaluated with the params' values:
division by zero, operations between incompatible types (`'a' - 1`), results beyond kspec's
bounds (integers above 2**63, strings or lists over 10,000 items, exponents over 64), or a
result that is not a finite number.""",
    examples=[
        (
            "",
            spec("""
            params: {units: 64, groups: 0}
            inputs:
              x: {shape: [8]}
            layers:
              - name: hidden
                type: Dense
                units: ${units // groups}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        ),
        (
            "",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - name: hidden
                type: Dense
                units: ${10 ** 100}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        ),
    ],
    fix="Change the expression or the param values (a `--param` override may be the cause).",
)

E["KS305"] = dict(
    cause="""The expression's value has the wrong type for the argument. The most common case:
`/` always gives a float, and Keras needs an integer (`units`, `filters`, ...). A param of the
wrong type (a string used as `units`) gives KS305 too.""",
    examples=[
        (
            "",
            spec("""
            params: {units: 64}
            inputs:
              x: {shape: [8]}
            layers:
              - name: hidden
                type: Dense
                units: ${units / 4}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        ),
        (
            "",
            spec("""
            params: {width: wide}
            inputs:
              x: {shape: [8]}
            layers:
              - name: hidden
                type: Dense
                units: $width
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        ),
    ],
    fix="""Use `//` for integer division, or `int(...)`; give the param a value of the right
type.""",
)

E["KS306"] = dict(
    cause="""An expression is written where only a literal is allowed: a name, `type`, `share`,
`block`, a node's `inputs`, `outputs`, a param's default, `class_name`, `imports`, or a block's
`params`, `inputs` or `outputs`. The structure of the graph does not depend on params; only
argument values do.""",
    examples=[
        (
            "",
            spec("""
            params: {units: 4, size: $units}
            inputs:
              x: {shape: [8]}
            layers:
              - {name: hidden, type: Dense, units: 4}
            outputs: hidden
            """),
            ["check", "spec.yaml"],
            None,
        )
    ],
    fix="""Write the value itself. To compute one param from another, write the expression where
the value is used (`units: ${units * 2}`).""",
)

KS901_PY = (
    "import sys; sys.modules['tensorflow'] = None\n"
    "from kspec.cli import main; sys.exit(main(['summary', 'spec.yaml']))"
)

E["KS901"] = dict(
    cause="""A command that builds a Keras model (`kspec summary`, `kspec.build_model`,
`kspec.verify.verify`) was run where TensorFlow cannot be imported. `kspec check` and
`kspec compile` never import TensorFlow and work without it. This is an environment problem:
the command line exits with status 2, and the diagnostic is not tied to a spec file (it shows
`<spec>` as its path).""",
    examples=[
        (
            "With TensorFlow not importable, `kspec summary spec.yaml` prints:",
            spec("""
            inputs:
              x: {shape: [8]}
            layers:
              - {name: hidden, type: Dense, units: 4}
            outputs: hidden
            """),
            [],
            KS901_PY,
        )
    ],
    fix="""Install the TensorFlow extra, as the help says: `pip install 'kspec[tensorflow]'`
(it installs `tensorflow-cpu` on x86-64 machines and `tensorflow` elsewhere).""",
)

E["KS902"] = dict(
    cause="""The spec passed kspec's checks (static shapes included), but Keras raised an error
while building the model (`kspec summary`, `kspec check --build`, `kspec.build_model`): an
argument combination Keras refuses that kspec does not know about. The message is Keras' own.
When it quotes the name of a spec node, the diagnostic points at that node; otherwise at the
top of the file.""",
    examples=[
        (
            "`kspec check --build spec.yaml` on a Conv1D with both strides and dilation, which "
            "Keras does not support:",
            spec("""
            inputs:
              x: {shape: [32, 4]}
            layers:
              - {name: conv, type: Conv1D, filters: 8, kernel_size: 3, strides: 2, dilation_rate: 2}
            outputs: conv
            """),
            ["check", "--build", "spec.yaml"],
            None,
        )
    ],
    fix="""Read Keras' message and fix the arguments of the layer it names. `kspec check --build
--traceback` shows Keras' traceback too.""",
)

E["KS903"] = dict(
    cause="""The spec names custom layers from a module under `imports:`, and a command that
builds the model (`kspec summary`, `kspec.build_model`) was not given permission to import that
module. kspec checks and compiles such a spec without importing anything; running the model
means running the module's code, which kspec does only when you say so.""",
    examples=[
        (
            "`kspec summary spec.yaml` with a custom layer and no `--allow-import`:",
            spec("""
            imports: [mylayers]
            inputs:
              x: {shape: [8]}
            layers:
              - {name: gate, type: mylayers.Gated, units: 8}
            outputs: gate
            """),
            ["summary", "spec.yaml"],
            None,
        )
    ],
    fix="""If you trust the module, allow it: `kspec summary spec.yaml --allow-import mylayers`
(Python: `kspec.build_model(spec, allow_imports=["mylayers"])`). The module must be importable
(on `PYTHONPATH`).""",
)

E["KS904"] = dict(
    cause="""`kspec fit` could not use its `--data` file, or has nothing to train with: the file
is not an .npz, it lacks an array the model needs (`x_train`, `y_train`, `x_test`, `y_test`; with
several inputs `x_train_<input>`; with named outputs `y_train_<output>`), or the spec has no
`compile:` section with a loss and none was given with `--loss`. Exit status 2.""",
    examples=[
        (
            "`kspec fit spec.yaml --data data.npz` on a spec without `compile:`:",
            spec("""
            inputs:
              x: {shape: [4]}
            layers:
              - {name: out, type: Dense, units: 1}
            outputs: out
            """),
            ["fit", "spec.yaml", "--data", "spec.yaml"],
            None,
        )
    ],
    fix="""Add a `compile:` section (or pass `--loss`, `--optimizer`, `--metrics`), and save the
arrays with the names above (`numpy.savez(path, x_train=..., y_train=..., x_test=...,
y_test=...)`).""",
)

E["KS905"] = dict(
    cause="""`kspec plot -o FILE.png` (or .svg, .pdf) needs Graphviz's `dot` program to draw the
graph, and it is not installed (or it failed). `.dot` output needs nothing. Exit status 2.""",
    examples=[],
    fix="""Install Graphviz (Debian/Ubuntu: `apt-get install graphviz`; macOS: `brew install
graphviz`; conda: `conda install graphviz`), or write `-o graph.dot` and render it elsewhere.""",
)

E["KS906"] = dict(
    cause="""`kspec import MODEL` could not turn MODEL into a spec: the .keras file cannot be
loaded (Keras' safe mode refuses files that carry code; a file with custom layers needs
`--allow-import MODULE`), `module:function` cannot be imported or called, the model is not a
Functional or Sequential model (a subclassed model has no graph to read), or it is a Sequential
model that has no input shape yet. Exit status 2.""",
    examples=[
        (
            "`kspec import no_such_module:build`:",
            None,
            ["import", "no_such_module:build"],
            None,
        )
    ],
    fix="""Give a `.keras` file saved from a Functional model, or `module:function` where the
module is importable (on `PYTHONPATH`) and the function returns a Functional or built
Sequential model. Rebuild a subclassed model with `keras.Input` -> layers ->
`keras.Model(inputs, outputs)` first; build a Sequential model with `keras.Input` first.""",
)

E["KS907"] = dict(
    cause="""`kspec import` met a part of the model that a spec cannot say: a layer that carries
code (`Lambda`), a custom layer class defined inside a function or in `__main__`, or one whose
constructor takes no `name`, an argument value with no spec form (a custom regularizer, a
Python function as activation), an operation on tensors with no `keras.ops` spelling (`x[:, 0]`
indexing), or a layer shared between a model and a model nested in it. The message names the layer or operation and where it is (`model 'outer' > 'encoder'`).
Exit status 2. As a warning, KS907 says what the spec leaves out (a call with `training=True`).""",
    examples=[
        (
            "Importing a model with a `Lambda` layer:",
            None,
            [],
            "import keras, kspec\n"
            "from kspec.importer import import_model\n"
            "x = keras.Input((4,))\n"
            "model = keras.Model(x, keras.layers.Lambda(lambda t: t * 2, name='double')(x))\n"
            "try:\n"
            "    import_model(model)\n"
            "except kspec.KspecError as exc:\n"
            "    d = exc.diagnostics[0]\n"
            "    print(f'error[{d.code}]: {d.message}')\n",
        )
    ],
    fix="""Write the computation as a layer class at the top level of a module you control (with
`**kwargs` passed to `super().__init__`), or with `keras.ops` calls, and import again with
`--allow-import MODULE`. Use Keras' own initializers, regularizers and constraints, or a
custom layer that creates them itself.""",
)

E["KS908"] = dict(
    cause="""`kspec check --stubs FILE` (or `kspec.check(path, stubs=[FILE])`) could not read
FILE as a stub file: it does not exist, is not JSON, or lacks `"kspec_stubs": 1` and a
`modules` mapping. Exit status 2.""",
    examples=[
        (
            "`kspec check spec.yaml --stubs spec.yaml`:",
            spec("""
            inputs:
              x: {shape: [4]}
            layers:
              - {name: d, type: Dense, units: 2}
            outputs: d
            """),
            ["check", "spec.yaml", "--stubs", "spec.yaml"],
            None,
        )
    ],
    fix="""Write the file with `kspec stubs MODULE --allow-import MODULE -o FILE` (again after
the module changes).""",
)


def _corpus(name: str) -> str:
    """A broken spec from tests/specs/shapes/, without its `# expect:` header lines."""
    path = os.path.join(ROOT, "tests", "specs", "shapes", name)
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    return "\n".join(line for line in lines if not line.startswith("# expect")) + "\n"


_SHAPE_INTRO = """kspec infers every node's output shape from the inputs' shapes and the layers' arguments,
without TensorFlow, and reports a problem only when it is certain (an unknown size never gives
an error). The diagnostic points at the node that receives the tensors; inside a block, a note
names the block instance."""

for _code, _file, _cause, _fix in [
    (
        "KS401",
        "attention_key_value.yaml",
        "Tensors that a layer combines element by element (Add, Subtract, Multiply, Average, "
        "Maximum, Minimum), or MultiHeadAttention's value and key, have shapes that do not match "
        "(a size of 1 broadcasts).",
        "Give the inputs the same shape, for instance with a Dense or Conv layer that projects one "
        "of them.",
    ),
    (
        "KS402",
        "conv2d_rank2.yaml",
        "The layer needs an input of another rank: Conv2D and the 2D pooling, padding and "
        "upsampling layers need (batch, height, width, channels); the 1D ones and the recurrent "
        "layers (batch, steps, features); Dense at least (batch, features).",
        "Reshape the tensor first (Reshape, Flatten, or an input shape with the right rank), or "
        "use the layer of the right dimension.",
    ),
    (
        "KS403",
        "nested_block_once.yaml",
        "A size the layer needs is unknown (null): Dense and convolutions need the last axis "
        "(features, channels) to build their weights; a stateful RNN needs the batch size.",
        "Give the size in the input's `shape` (or `batch_size`), or make it known earlier in the "
        "graph.",
    ),
    (
        "KS404",
        "pool_too_small.yaml",
        "A convolution, pooling or cropping layer would make a spatial size zero or negative: the "
        "input is smaller than the kernel or pool with padding: valid, or the cropping removes "
        "more than there is.",
        "Use padding: same, a smaller kernel, pool or cropping, or a larger input.",
    ),
    (
        "KS405",
        "concatenate_mismatch.yaml",
        "Concatenate needs all axes but `axis` equal; Dot needs the sizes along `axes` equal.",
        "Make the other axes agree (Reshape, Dense, pooling), or concatenate along another axis.",
    ),
    (
        "KS406",
        "concatenate_axis_out_of_range.yaml",
        "An `axis` (Concatenate, Dot, BatchNormalization, LayerNormalization, PReLU's "
        "shared_axes) is outside the input's rank.",
        "Use an axis between -rank and rank - 1 (the batch axis is 0).",
    ),
    (
        "KS407",
        "reshape_size.yaml",
        "Reshape's target_shape holds a different number of elements than its input (batch axis "
        "aside).",
        "Make the product of target_shape equal to the input's, or use -1 for one axis.",
    ),
    (
        "KS408",
        "conv_groups.yaml",
        "A convolution's input channels (or filters) are not divisible by `groups`.",
        "Choose `groups` dividing both the input channels and `filters`.",
    ),
    (
        "KS409",
        "share_mismatch.yaml",
        "A `share:` node calls a layer on a tensor whose shape differs from the one the layer was "
        "built for (its weights have a fixed shape).",
        "Share a layer only between tensors of compatible shapes, or use a new `type:` node.",
    ),
]:
    E[_code] = dict(
        cause=_SHAPE_INTRO + "\n\n" + _cause,
        examples=[("", _corpus(_file), ["check", "spec.yaml"], None)],
        fix=_fix,
    )

E["KS010"] = dict(
    cause="""A file has more than 500 problems. kspec shows the first 500 (in file order) and
this one, which says how many more there are: the rest are usually the same mistake repeated,
and a hostile file could otherwise make millions of lines of output.""",
    examples=[],
    fix="Fix the problems reported, then check again.",
)

TITLE = """# kspec diagnostics

Every problem kspec reports has a stable code. This page explains each code, in code order:
what causes it, a minimal spec that produces it, the exact message kspec prints, and how to fix
it.
"""

INTRO = """## Reading a diagnostic

kspec prints diagnostics like a compiler:

```
spec.yaml:9:15: error[KS102]: `use_bias` of Dense layer 'hidden' must be a boolean (true or false), got 'no'
    9 |     use_bias: no
      |               ^^
      = help: kspec reads YAML 1.2: only true and false are booleans; 'no' is a string
```

- The first line is `path:line:column: severity[CODE]: message`. Lines and columns count from 1.
- Then the source line, with carets under the offending value or key (omitted when a problem
  has no position, such as an unreadable file).
- Then `= help:` with a suggestion ("did you mean ...?"), when kspec has one, and `= note:` lines
  with more context, when there are any.

`kspec check` reports every problem in every file it is given (it does not stop at the first),
sorted by file, line and column, and ends with a summary line such as
`checked 1 file: 2 errors in 1 file, 1 warning`. In text form the diagnostics go to standard
error; with `--format json` or `--format github` they go to standard output. Colours are used only
on a terminal, and never when the `NO_COLOR` environment variable is set.

### Severities

- `error`: the spec cannot be compiled or built as it is.
- `warning`: the spec is valid but probably not what you meant (KS214). Warnings are shown but
  do not change the exit status.

### Exit statuses

| status | meaning |
|---|---|
| 0 | no errors (there may be warnings); `compile --check`: the file is up to date |
| 1 | at least one spec has an error; `compile --check`: the file is stale; `summary`: Keras could not build the model |
| 2 | a usage or environment problem: bad command-line arguments, a path given to `check` that does not exist, no spec files in a folder, TensorFlow not installed (KS901); also an internal error in kspec (`kspec: internal error: ...`, a bug to report) |

### Machine-readable output

`kspec check --format json` prints all diagnostics as one JSON document, and
`kspec check --format github` prints one GitHub Actions workflow command per diagnostic, so that
errors appear as annotations on a pull request's diff. Both are described in
[cli.md](cli.md#check---format-json).

### Codes

| range | stage |
|---|---|
| KS000–KS010 | reading the file and YAML |
| KS101–KS109 | the structure of the spec and the layers' arguments (the schema) |
| KS201–KS215 | names, references and the graph |
| KS401–KS409 | shapes (static inference) |
| KS301–KS306 | expressions |
| KS901–KS908 | the environment, Keras, permissions, data, Graphviz, import, stub files |

In the examples below each spec is saved as `spec.yaml` and checked with `kspec check spec.yaml`
unless the example says otherwise.

"""


def main() -> None:
    out = [TITLE, "## Contents\n", "- [Reading a diagnostic](#reading-a-diagnostic)"]
    for code, title in CODES.items():
        anchor = re.sub(r"[^a-z0-9 -]", "", f"{code}: {title}".lower()).replace(" ", "-")
        out.append(f"- [{code}: {title}](#{anchor})")
    out.append("")
    out.append(INTRO.rstrip() + "\n")
    for code, title in CODES.items():
        e = E[code]
        out.append(f"## {code}: {title}\n")
        out.append("**Cause.** " + e["cause"].strip() + "\n")
        for n, (intro, text, args, py) in enumerate(e["examples"]):
            result, rc = run(code, n, text, args, py)
            if code not in result:
                raise SystemExit(f"{code} example {n}: code not in output:\n{result}")
            label = "Example" if len(e["examples"]) == 1 else f"Example {n + 1}"
            out.append(f"**{label}.** {intro}".rstrip() + "\n")
            if text is not None:
                shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
                shown = shown.lstrip("\ufeff")
                if code != "KS004" or n == 0:
                    out.append("```yaml\n" + shown.rstrip("\n") + "\n```\n")
            result = result.replace("\ufeff", "")
            out.append("```\n" + result + "\n```\n")
            out.append(f"Exit status: {rc}.\n")
        out.append("**Fix.** " + e["fix"].strip() + "\n")
    text = "\n".join(out).rstrip() + "\n"
    with open(os.path.join(ROOT, "docs", "errors.md"), "w", encoding="utf-8") as fh:
        fh.write(text)
    print("wrote docs/errors.md", len(text))


if __name__ == "__main__":
    main()
