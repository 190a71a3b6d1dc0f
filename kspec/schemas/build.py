"""Assemble the kspec-1 JSON Schema (Draft 2020-12) from the layer catalog.

Two variants come from the catalog:

* the strict fragments kspec validates *evaluated* specs with (expressions already replaced
  by their values, so ``units: ${units / 4}`` is checked as the float it evaluates to), built
  here;
* the published schema (``kspec-1.schema.json``, printed by ``kspec schema``) for editors and
  other tools, built by :mod:`kspec.schemas.editor` from the same catalog: it also accepts
  ``$param`` / ``${...}`` expressions wherever kspec does, dispatches on ``type`` exactly and
  words its messages for an editor.

Run ``python -m kspec.schemas.build`` to regenerate the published file after editing
a record under ``kspec/layers/`` or regenerating ``keras_layers.json`` (``tools/gen_catalog.py``).
"""

from __future__ import annotations

import json
import sys
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from kspec.layers import Layer, Op
from kspec.layers.catalog import registry_classes, registry_defs, registry_names
from kspec.schemas.types import BOOL, DTYPES, POS_INT, STRING, Schema

SCHEMA_ID = "https://kspec.dev/schemas/kspec-1.schema.json"
SCHEMA_FILE = "kspec-1.schema.json"

NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]{0,127}$"
REF_PATTERN = "^[A-Za-z_][A-Za-z0-9_]{0,127}(\\[[0-9]{1,6}\\])?$"
EXPR_PATTERN = "^\\$(\\{[^\\n]*\\}|[A-Za-z_][A-Za-z0-9_]{0,127})$"

# Keys every node may have besides its layer's arguments.
NODE_KEYS = ("name", "type", "share", "block", "op", "inputs", "call", "repeat")
BASE_ARGS: dict[str, Schema] = {
    "trainable": {**BOOL, "description": "Whether the layer's weights are updated in training."},
    "dtype": {
        "enum": [*DTYPES, "mixed_float16", "mixed_bfloat16"],
        "description": "The layer's dtype or mixed-precision policy (default: float32).",
    },
}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/$defs/{name}"}


def _arg(schema: Schema) -> Schema:
    if schema.get("$kspec") == "nested_layer":
        return {"description": schema.get("description", ""), **_ref("nested_layer")}
    if schema.get("$kspec") == "nested_layers":
        return {
            "description": schema.get("description", ""),
            "type": "array",
            "items": _ref("nested_layer"),
            "minItems": 1,
        }
    return schema


# The ``compile:`` entries: a name Keras' registry accepts, or {type: ClassName, ...arguments}.
COMPILE_KINDS = {"optimizer": "optimizers", "loss": "losses", "metric": "metrics"}


def _compile_defs() -> dict[str, Schema]:
    out: dict[str, Schema] = {}
    for kind, registry in COMPILE_KINDS.items():
        out[f"{kind}_name"] = {
            "enum": registry_names(registry, compile_names=True),
            "description": f"The name of a Keras {kind} (keras.{registry}.get accepts it).",
        }
        branches: list[Schema] = [
            {"type": "string", "$ref": f"#/$defs/{kind}_name"},
            {
                "type": "object",
                "properties": {
                    "type": {
                        "enum": registry_classes(registry),
                        "description": f"The {kind} class.",
                    }
                },
                "required": ["type"],
                "propertyNames": _ref("name"),
            },
        ]
        out[kind] = {
            "description": f"A {kind}: a name, or {{type: ClassName, ...its arguments}}.",
            "anyOf": branches,
        }
    return out


def layer_args_schema(name: str, layer: Layer) -> Schema:
    """The schema of a ``type: name`` node's arguments (node keys included)."""
    props: dict[str, Schema] = {
        "name": {**_ref("name"), "description": "Unique name of the node (the Keras layer name)."},
        "type": {"const": name, "description": layer.doc},
        "inputs": {
            **_ref("node_inputs"),
            "description": "The tensor(s) the layer is called on (default: the previous node).",
        },
        "call": {
            **_ref("call"),
            "description": "Constant keyword arguments of the call: " + ", ".join(layer.call_args)
            if layer.call_args
            else "Constant keyword arguments of the call.",
        },
    }
    for key, schema in {**layer.args, **BASE_ARGS}.items():
        props[key] = _arg(schema)
    return {
        "type": "object",
        "description": layer.doc,
        "properties": props,
        "required": ["name", "type", *layer.required],
        "additionalProperties": False,
    }


def op_args_schema(op: Op) -> Schema:
    """The schema of an ``op: name`` node (node keys included): its constants."""
    props: dict[str, Schema] = {
        "name": {**_ref("name"), "description": "Unique name of the node."},
        "op": {"const": op.name, "description": op.doc},
        "inputs": {
            **_ref("node_inputs"),
            "description": "The tensor operand(s): "
            + ", ".join(op.tensors)
            + " (default: the previous node).",
        },
    }
    for key, schema in op.args.items():
        props[key] = _arg(schema)
    return {
        "type": "object",
        "description": op.doc,
        "properties": props,
        "required": ["name", "op", *op.required],
        "additionalProperties": False,
    }


def nested_args_schema(name: str, layer: Layer) -> Schema:
    """A nested layer (inside a wrapper): no ``name``, ``inputs`` or ``call`` of its own (the
    wrapper names it and calls it)."""
    schema = layer_args_schema(name, layer)
    props = {k: v for k, v in schema["properties"].items() if k not in ("name", "inputs", "call")}
    return {**schema, "properties": props, "required": ["type", *layer.required]}


def build(editor: bool = True) -> Schema:
    """The whole kspec-1 schema document: the published one (``editor``), or the strict one."""
    if editor:
        from kspec.schemas.editor import document

        return document()
    return _strict()


VALUE_TYPES = ["null", "boolean", "integer", "number", "string", "array"]


def _strict() -> Schema:
    """The strict top-level document (nodes and blocks are checked one by one, see
    validate.py and spec/check/)."""
    defs: dict[str, Schema] = {
        **_value_defs(),
        **_graph_defs(),
        **registry_defs(),
        **_compile_defs(),
        **_compile_section(),
    }
    # kspec validates each node against the schema of its own kind and type
    defs["node"] = {"type": "object", "description": defs["node"]["description"]}
    return _document(defs)


def _value_defs() -> Schema:
    """Names, references, expressions, literal values, a node's inputs and call constants."""
    return {
        "name": {"type": "string", "pattern": NAME_PATTERN},
        "ref": {
            "type": "string",
            "pattern": REF_PATTERN,
            "description": "A node or input name, or node[i] for the i-th output of a node.",
        },
        "refs": {
            "anyOf": [_ref("ref"), {"type": "array", "items": _ref("ref"), "minItems": 1}],
        },
        "expression": {
            "type": "string",
            "pattern": EXPR_PATTERN,
            "description": "$param or ${expression over the params}.",
        },
        "value": {"type": VALUE_TYPES, "description": "A literal value (no expressions)."},
        "node_inputs": {
            "description": "A reference, a list of references, or a mapping call_argument -> "
            "reference(s). Omitted: the previous node's output.",
            "anyOf": [
                _ref("refs"),
                {
                    "type": "object",
                    "propertyNames": _ref("name"),
                    "additionalProperties": _ref("refs"),
                    "minProperties": 1,
                },
            ],
        },
        "call": {
            "type": "object",
            "description": "Constant keyword arguments of the layer call, e.g. {training: false}.",
            "propertyNames": _ref("name"),
            "additionalProperties": {"type": VALUE_TYPES},
        },
    }


def _graph_defs() -> Schema:
    """Inputs, the node kinds, outputs, params and blocks."""
    return {
        "input": {
            "type": "object",
            "description": "A model input (keras.Input).",
            "properties": {
                "shape": {
                    "type": "array",
                    "description": "Shape without the batch axis; null for an unknown size.",
                    "items": {"anyOf": [{"type": "null"}, POS_INT]},
                    "maxItems": 16,
                },
                "dtype": {
                    "enum": list(DTYPES),
                    "description": "Element type (default: float32).",
                },
                "batch_size": {
                    "anyOf": [{"type": "null"}, POS_INT],
                    "description": "Fixed batch size (default: null, any).",
                },
                "sparse": {**BOOL, "description": "Whether the input is a sparse tensor."},
                "ragged": {**BOOL, "description": "Whether the input is a ragged tensor."},
            },
            "required": ["shape"],
            "additionalProperties": False,
        },
        "share_node": {
            "type": "object",
            "description": "Apply the layer of an earlier node again (shared weights).",
            "properties": {
                "name": _ref("name"),
                "share": {**_ref("name"), "description": "The node whose layer is reused."},
                "inputs": _ref("node_inputs"),
                "call": _ref("call"),
            },
            "required": ["name", "share"],
            "additionalProperties": False,
        },
        "block_node": {
            "type": "object",
            "description": "An instance of a block; other keys are the block's params.",
            "properties": {
                "name": _ref("name"),
                "block": {**_ref("name"), "description": "The block to instantiate."},
                "inputs": _ref("node_inputs"),
                "repeat": {
                    "anyOf": [POS_INT],
                    "description": "Chain this many instances (named name_1 .. name_N).",
                },
                "trainable": {
                    **BOOL,
                    "description": "false: freeze every layer of the instance (for "
                    "fine-tuning); true or false, not an expression.",
                },
            },
            "required": ["name", "block"],
            "propertyNames": _ref("name"),
        },
        "nested_layer": {
            "type": "object",
            "description": "A layer given as a mapping: {type: LSTM, units: 64, ...}.",
            # kspec checks a nested layer's type itself (unknown: KS106 with a suggestion,
            # refused: KS108 with the reason), then its arguments against its own schema
            "properties": {"type": {"type": "string"}},
            "required": ["type"],
        },
        "node": {
            "type": "object",
            "description": "A node: exactly one of type (a new layer), share, block or op.",
            "required": ["name"],
            "oneOf": [
                {"required": ["type"]},
                {"required": ["share"]},
                {"required": ["block"]},
                {"required": ["op"]},
            ],
        },
        "outputs": {
            "description": "A reference, a list of references, or a mapping output_name -> "
            "reference (named outputs).",
            "anyOf": [
                _ref("refs"),
                {
                    "type": "object",
                    "propertyNames": _ref("name"),
                    "additionalProperties": _ref("ref"),
                    "minProperties": 1,
                },
            ],
        },
        "params": {
            "type": "object",
            "description": "Hyperparameters: name -> default value.",
            "propertyNames": _ref("name"),
            "additionalProperties": _ref("value"),
        },
        "block": {
            "type": "object",
            "description": "A reusable sub-graph with its own params.",
            "properties": {
                "params": _ref("params"),
                "inputs": {
                    "type": "array",
                    "items": _ref("name"),
                    "minItems": 1,
                    "description": "The block's input names, in call order.",
                },
                "layers": {"type": "array", "items": _ref("node"), "minItems": 1},
                "outputs": {**_ref("refs"), "description": "A reference or a list."},
                "description": {**STRING, "description": "What the block does."},
            },
            "required": ["inputs", "layers", "outputs"],
            "additionalProperties": False,
        },
    }


def _compile_section() -> Schema:
    """The ``compile:`` section (model.compile's arguments)."""
    return {
        "compile": {
            "type": "object",
            "description": "Arguments of model.compile.",
            "properties": {
                "optimizer": {**_ref("optimizer"), "description": "The optimizer."},
                "loss": {
                    "description": "The loss: one, a list (one per output), or a mapping "
                    "output_name -> loss.",
                    "anyOf": [
                        _ref("loss"),
                        {"type": "array", "items": _ref("loss")},
                        {"type": "object", "additionalProperties": _ref("loss")},
                    ],
                },
                "metrics": {
                    "description": "A list of metrics, or a mapping output_name -> metric(s).",
                    "anyOf": [
                        {"type": "array", "items": _ref("metric")},
                        {
                            "type": "object",
                            "additionalProperties": {
                                "anyOf": [
                                    _ref("metric"),
                                    {"type": "array", "items": _ref("metric")},
                                ]
                            },
                        },
                    ],
                },
                "loss_weights": {
                    "description": "Weights of the outputs' losses: a list, or a mapping "
                    "output_name -> weight.",
                    "anyOf": [
                        {"type": "array", "items": {"type": "number"}},
                        {"type": "object", "additionalProperties": {"type": "number"}},
                    ],
                },
            },
            "additionalProperties": False,
        },
    }


def _document(defs: dict[str, Schema]) -> Schema:
    """The top level of a spec, with ``defs`` as its ``$defs``."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "kspec model spec, version 1",
        "description": "A neural network as a YAML layer graph, compiled by kspec to a Keras "
        "Functional model or a tf.keras.Model subclass.",
        "type": "object",
        "properties": {
            "kspec": {"const": 1, "description": "Format version: 1."},
            "name": {**_ref("name"), "description": "Model name (the Keras name=)."},
            "class_name": {
                **_ref("name"),
                "description": "Name of the generated class (default: PascalCase of name).",
            },
            "description": {**STRING, "description": "Docstring of the generated class."},
            "params": _ref("params"),
            "inputs": {
                "type": "object",
                "description": "Model inputs: name -> {shape, dtype?, batch_size?, ...}.",
                "propertyNames": _ref("name"),
                "additionalProperties": _ref("input"),
                "minProperties": 1,
            },
            "layers": {
                "type": "array",
                "description": "The nodes of the graph, in order.",
                # each node is validated against its own kind's schema (spec/check/nodes.py);
                # spec/check/top.py relies on items being only mappings (it checks one of them)
                "items": {"type": "object"},
                "minItems": 1,
            },
            "outputs": _ref("outputs"),
            "blocks": {
                "type": "object",
                "description": "Reusable sub-graphs: name -> block.",
                # kspec checks each block and its name on its own, in file order (spec/check/top.py)
                "additionalProperties": {},
            },
            "compile": _ref("compile"),
            "variants": {
                "type": "object",
                "description": "Named sets of param values: name -> {param: value} "
                "(--variant NAME, build_model(variant=NAME)).",
                "propertyNames": _ref("name"),
                "additionalProperties": {
                    "type": "object",
                    "propertyNames": _ref("name"),
                    "additionalProperties": _ref("value"),
                },
            },
            "imports": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_.]{0,200}$"},
                "description": "Modules that may provide custom layer types.",
            },
        },
        "required": ["kspec", "name", "inputs", "layers", "outputs"],
        "additionalProperties": False,
        "$defs": defs,
    }


@cache
def strict_document() -> Schema:
    """The strict top-level schema (nodes checked separately, per type)."""
    return _strict()


def published_path() -> str:
    """Where the installed package keeps the published schema (a stable path to point an
    editor at: ``kspec/schemas/kspec-1.schema.json`` inside the package)."""
    return str(resources.files("kspec.schemas").joinpath(SCHEMA_FILE))


def published() -> Schema:
    """The published schema, as shipped in the package."""
    text = resources.files("kspec.schemas").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    data: Schema = json.loads(text)
    return data


RENDER_DEPTH = 4  # deeper values are written on one line


def render(schema: Any) -> str:
    """The schema as the published file: indented down to one line per argument of each
    definition (``$defs`` / ``layer.Dense`` / ``properties`` / ``units``), each on one line
    below that, so the file stays readable, diffs stay per argument, and the size stays
    that of the data (fully indented, the deep key checks would double it)."""
    return _render(schema, 0) + "\n"


def _render(value: Any, depth: int) -> str:
    if depth >= RENDER_DEPTH or not isinstance(value, dict) or not value:
        return json.dumps(value, ensure_ascii=False)
    pad = "  " * (depth + 1)
    items = [f"{pad}{json.dumps(k)}: {_render(v, depth + 1)}" for k, v in value.items()]
    return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"


def main(argv: list[str] | None = None) -> int:
    out = Path(__file__).with_name(SCHEMA_FILE)
    out.write_text(render(build(editor=True)), encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
