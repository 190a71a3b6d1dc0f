"""The published kspec-1 schema: for editors (yaml-language-server in VS Code, Neovim, Helix)
and any JSON Schema tool. ``kspec schema`` prints it; the package ships it as
``kspec/schemas/kspec-1.schema.json`` (regenerate with ``python -m kspec.schemas.build``).

It is built from the same catalog as the strict fragments kspec validates with
(:mod:`kspec.schemas.build`), and differs from them where an editor needs it to:

* it sees the text as written, so ``$param`` and ``${...}`` are accepted at every value
  position kspec accepts them (list items, input fields, ``compile:``), and refused where kspec
  refuses them (param defaults);
* a node is dispatched on its ``type`` by a binary tree of exact patterns (about 9 tests per
  node instead of one per layer type: the dispatch dominated validation time on large specs,
  and ``const`` tests match by prefix while yaml-language-server completes, so a Conv2D node
  was offered Conv2DTranspose's arguments); nested ``layer:``/``cell:`` mappings use the same
  tree; a half-typed node (``- ``) only offers the keys every node has;
* messages are worded for a person: "did you mean" for unknown keys and layer types
  (:mod:`kspec.schemas.editor_keys`), enums that list their values (branches ordered so the
  value's own branch speaks), refused layers with the reason;
* descriptions sit on the arguments, never on shared definitions, so hovering a value shows
  what the argument means.

Verdicts match ``kspec check`` as far as a schema can tell; tests/test_editor_schema.py keeps
the list of differences over the error and hostile corpora.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from kspec.layers import LAYERS, OPS, Layer, Op, canonical
from kspec.layers.catalog import registry_defs
from kspec.schemas import build as strict
from kspec.schemas.editor_keys import (
    closed,
    exact,
    fail,
    keys_def,
    near_defs,
    ref,
    required_guard,
    tail_def,
)
from kspec.schemas.editor_types import DOTTED, dispatch, layer_type
from kspec.schemas.types import POS_INT, Schema

EXPR = ref("expression")
# A string kspec reads as an expression (``$$`` starts a literal ``$``).
LOOKS_LIKE_EXPR = "^\\$(?:[^$]|$)"

# Keys a type: node has besides its layer's arguments (``share``/``block`` only to say that a
# node has one kind).
NODE_KEYS = ("name", "type", "inputs", "call", "share", "block")
# Keys every layer has, suggested by one shared check at the end of each layer's own.
TAIL_KEYS = ("trainable", "dtype", "inputs", "call", "name", "type")
ONE_KIND = "A node has exactly one of `type` (a new layer), `share`, `block` and `op`."


# -- values --------------------------------------------------------------------------------


def value(schema: Schema) -> Schema:
    """An argument's editor schema: the strict schema of its value with an expression accepted
    at every value position, its description kept at the top only."""
    out = _or_expression(_literal(schema))
    if schema.get("description"):
        out = {"description": schema["description"], **out}
    return out


def _literal(schema: Schema) -> Schema:
    """The strict value schema with expressions accepted inside (list items), nested ``anyOf``
    flattened with ``null`` last (yaml-language-server reports the first branch of a tie:
    ``activation: rellu`` must hear the allowed names, not "expected null")."""
    marker = schema.get("$kspec")
    if marker == "nested_layer":
        return ref("nested_layer")
    if marker == "nested_layers":
        return {"type": "array", "items": ref("nested_layer"), "minItems": 1}
    out = {k: copy.deepcopy(v) for k, v in schema.items() if k != "description"}
    if "anyOf" in out:
        branches: list[Schema] = []
        for branch in out.pop("anyOf"):
            lit = _literal(branch)
            branches.extend(lit["anyOf"] if set(lit) == {"anyOf"} else [lit])
        branches.sort(key=lambda b: b.get("type") == "null")
        out["anyOf"] = branches
    if isinstance(out.get("items"), dict):
        out["items"] = _or_expression(_literal(out["items"]))
    return out


def _or_expression(schema: Schema) -> Schema:
    if not schema:  # any value: expressions included
        return schema
    branches = schema["anyOf"] if set(schema) == {"anyOf"} else [schema]
    nulls = [b for b in branches if b.get("type") == "null"]
    return {"anyOf": [*(b for b in branches if b.get("type") != "null"), EXPR, *nulls]}


def _plain(what: str) -> Schema:
    """A value that must not be an expression (param defaults), any JSON type."""
    return {
        "type": ["null", "boolean", "integer", "number", "string", "array"],
        "if": {"type": "string", "pattern": LOOKS_LIKE_EXPR},
        "then": fail(f"{what} is a plain value, not an expression (write '$$' for a '$')."),
    }


def _registry_mappings() -> dict[str, Schema]:
    """``{type: HeNormal, seed: $s}``: the strict registry definitions with exact dispatch and
    expressions in the arguments, and no descriptions of their own."""
    out: dict[str, Schema] = {}
    for name, schema in registry_defs().items():
        if name.endswith("_name"):
            out[name] = {"enum": schema["enum"]}
            continue
        classes = schema["properties"]["type"]["enum"]
        cases = []
        for case in schema["allOf"]:
            cls = case["if"]["properties"]["type"]["const"]
            then = case["then"]
            args = {k: value(v) if v else v for k, v in then["properties"].items()}
            cases.append(
                {
                    "if": {
                        "properties": {"type": {"type": "string", "pattern": exact([cls])}},
                        "required": ["type"],
                    },
                    "then": {**then, "properties": args},
                }
            )
        out[name] = {
            "type": "object",
            "properties": {
                "type": {"description": f"The {name} class.", "anyOf": [{"enum": classes}, EXPR]}
            },
            "required": ["type"],
            "allOf": cases,
        }
    return out


# -- layers --------------------------------------------------------------------------------


def _layer_keys(layer: Layer) -> list[str]:
    return [*layer.args, *strict.BASE_ARGS, *NODE_KEYS]


def layer_schema(name: str, layer: Layer) -> Schema:
    """A layer type's arguments (the node keys are declared by the node or nested mapping
    that dispatches here)."""
    props = {k: value(s) for k, s in {**layer.args, **strict.BASE_ARGS}.items()}
    body = closed(f"keys.{name}", props, layer.required, ("keys.tail", TAIL_KEYS))
    return {"title": name, "description": layer.doc, **body}


# -- nodes ---------------------------------------------------------------------------------

_TYPE = "The Keras layer class (or module.ClassName of a custom layer listed under `imports:`)."


def _node_keys() -> dict[str, Schema]:
    return {
        "name": {
            **ref("name"),
            "description": "Unique name of the node: the Keras layer name, and how other nodes "
            "and `outputs` refer to it.",
        },
        "inputs": {
            **ref("node_inputs"),
            "description": "What the node is applied to: a reference (node, input or node[i]), "
            "a list of them, or a mapping call_argument -> reference(s). Omitted: the previous "
            "node's output.",
        },
        "call": {
            **ref("call"),
            "description": "Constant keyword arguments of the layer call, e.g. "
            "{use_causal_mask: true}.",
        },
    }


_SHARE = {
    **ref("name"),
    "description": "Apply the layer of this earlier `type:` node again, with the same weights "
    "(no new weights).",
}
_BLOCK = {
    **ref("name"),
    "description": "An instance of this block (defined under `blocks:`); the node's other keys "
    "are the block's params.",
}
_OP = {
    "description": "A keras.ops function applied to the node's inputs (no weights): "
    "arithmetic, activations, reductions, reshaping, joining (docs/language.md, ops).",
}
_NOT_HERE = {"doNotSuggest": True, **fail(ONE_KIND)}


def op_schema(op: Op) -> Schema:
    """An op's arguments (its constants)."""
    props = {k: value(s) for k, s in op.args.items()}
    body = closed(
        f"keys.op.{op.name}", props, op.required, ("keys.op_tail", ("name", "op", "inputs"))
    )
    return {"title": op.name, "description": op.doc, **body}


def _op_node(keys: dict[str, Schema]) -> Schema:
    """An op node: its op, dispatched exactly (only op nodes pay for it)."""
    return {
        "type": "object",
        "properties": {
            "name": keys["name"],
            "op": {**_OP, "enum": sorted(OPS)},
            "inputs": keys["inputs"],
            **{k: _NOT_HERE for k in ("type", "share", "block", "call")},
        },
        "allOf": [
            required_guard("name"),
            *(
                {
                    "if": {"properties": {"op": {"const": n}}, "required": ["op"]},
                    "then": ref(f"op.{n}"),
                }
                for n in sorted(OPS)
            ),
        ],
    }


def _block_node(keys: dict[str, Schema]) -> Schema:
    """A block instance: its block, inputs, repeat and the block's params."""
    return {
        "type": "object",
        "properties": {
            "name": keys["name"],
            "block": _BLOCK,
            "inputs": keys["inputs"],
            "repeat": value(
                {
                    **POS_INT,
                    "description": "Chain this many instances, each applied to the previous "
                    "one's outputs (named name_1 .. name_N).",
                }
            ),
        },
        "propertyNames": {**ref("name"), "title": "param"},  # completion's placeholder
        "allOf": [required_guard("name")],
    }


def _node_defs() -> dict[str, Schema]:
    keys = _node_keys()
    kindless = {
        "properties": {
            "name": keys["name"],
            "type": {**ref("layer_type"), "description": _TYPE},
            "share": _SHARE,
            "block": _BLOCK,
            "op": {**_OP, "enum": sorted(OPS)},
            "inputs": keys["inputs"],
            "call": keys["call"],
        },
        "if": {"type": "object"},
        "then": {
            "required": ["type"],
            "errorMessage": "A node needs `type` (a new layer), `share` (an earlier node's "
            "layer again), `block` (an instance of a block) or `op` (a tensor op).",
        },
    }
    type_node = {
        "properties": {
            **keys,
            "type": {**ref("layer_type"), "description": _TYPE},
            "share": _NOT_HERE,
            "block": _NOT_HERE,
            "op": _NOT_HERE,
        },
        "allOf": [required_guard("name"), ref("layer_dispatch")],
    }
    share_node = closed(
        "keys.share_node",
        {**keys, "share": _SHARE, "block": _NOT_HERE, "op": _NOT_HERE},
        ["name", "share"],
    )
    block_node = _block_node(keys)

    def when(key: str, then: str, otherwise: Schema) -> Schema:
        return {"if": {"type": "object", "required": [key]}, "then": ref(then), "else": otherwise}

    node = {
        "type": "object",
        # the first of type, share, block, op decides; none: the keys every node may have
        **when(
            "type",
            "type_node",
            when(
                "share", "share_node", when("block", "block_node", when("op", "op_node", kindless))
            ),
        ),
    }
    nested = {
        "type": "object",
        "properties": {
            "type": {**ref("layer_type"), "description": _TYPE},
            # the wrapper is the node: it is named, wired and called
            **{k: False for k in ("name", "inputs", "call", "share", "block", "op")},
        },
        "allOf": [required_guard("type"), ref("layer_dispatch")],
    }
    return {
        "node": node,
        "type_node": type_node,
        "share_node": share_node,
        "block_node": block_node,
        "op_node": _op_node(keys),
        "nested_layer": nested,
        "layer_type": layer_type(),
        "layer_dispatch": dispatch(),
    }


# -- the document ----------------------------------------------------------------------------


def _bare(schema: Schema) -> Schema:
    """A shared definition without a description (hover shows the argument's)."""
    return {k: v for k, v in copy.deepcopy(schema).items() if k != "description"}


def _with_values(schema: Schema, keys: str, what: str) -> tuple[Schema, Schema]:
    """A strict closed mapping (``input``, ``compile``, ``block``) as an editor one: its values
    may be expressions, its keys are checked with suggestions."""
    props = {k: value(v) for k, v in schema["properties"].items()}
    return closed(keys, props, schema.get("required", ())), keys_def(what, props)


def _compile_kinds(defs: dict[str, Schema]) -> dict[str, Schema]:
    out: dict[str, Schema] = {}
    for kind in strict.COMPILE_KINDS:
        out[f"{kind}_name"] = {"enum": defs[f"{kind}_name"]["enum"]}
        name_branch, class_branch = defs[kind]["anyOf"]
        classes = class_branch["properties"]["type"]["enum"]
        class_branch = copy.deepcopy(class_branch)
        class_branch["properties"]["type"] = {
            "description": f"The {kind} class.",
            "anyOf": [{"enum": classes}, EXPR],
        }
        out[kind] = {"anyOf": [name_branch, class_branch]}
    return out


@cache
def document() -> Schema:
    """The published kspec-1 schema."""
    sd = strict.strict_document()
    sdefs = sd["$defs"]
    defs: dict[str, Any] = {k: _bare(sdefs[k]) for k in ("name", "ref", "refs", "node_inputs")}
    defs["call"] = {**_bare(sdefs["call"]), "additionalProperties": {}}
    defs["outputs"] = _bare(sdefs["outputs"])
    defs["expression"] = {
        "type": "string",
        "pattern": strict.EXPR_PATTERN,
        "$comment": "$param or ${expression over the params} (docs/language.md, section 10)",
    }
    defs["params"] = {
        "type": "object",
        "propertyNames": ref("name"),
        "additionalProperties": _plain("A param default"),
    }
    defs.update(_registry_mappings())
    defs.update(_compile_kinds(sdefs))
    for name, keys, what in (
        ("input", "keys.input", "an input"),
        ("compile", "keys.compile", "compile:"),
        ("block", "keys.block", "a block"),
    ):
        defs[name], defs[keys] = _with_values(sdefs[name], keys, what)
    defs["block"]["properties"]["layers"]["items"] = ref("node")
    defs["block"]["properties"]["params"] = {
        **ref("params"),
        "description": "The block's params: name -> default value.",
    }
    defs.update(_node_defs())
    defs["keys.share_node"] = keys_def("a share: node", [*defs["share_node"]["properties"]])
    for name in sorted({canonical(n) for n in LAYERS}):
        layer = LAYERS[name]
        defs[f"layer.{name}"] = layer_schema(name, layer)
        defs[f"keys.{name}"] = keys_def(name, _layer_keys(layer))
    defs["keys.tail"] = tail_def("this layer", TAIL_KEYS)
    for name, op in sorted(OPS.items()):
        defs[f"op.{name}"] = op_schema(op)
        defs[f"keys.op.{name}"] = keys_def(f"op {name}", [*op.args, "name", "op", "inputs"])
    defs["keys.op_tail"] = tail_def("this op", ("name", "op", "inputs"))
    _share_values(defs)
    top = _top(sd)
    defs["keys.top"] = keys_def("a kspec spec", top["properties"])
    defs.update(near_defs(_near_words(defs, top)))
    return {
        "$schema": sd["$schema"],
        "$id": strict.SCHEMA_ID,
        "title": sd["title"],
        "description": sd["description"],
        **top,
        "$defs": defs,
    }


HOIST_MIN = 60  # characters of JSON: a shorter value schema is kept where it is used


def _share_values(defs: dict[str, Any]) -> None:
    """Move the value schemas that several layers' arguments share (an initializer, a
    regularizer, an int-or-pair...) into ``$defs`` (``value.<first argument using it>``), the
    argument keeping its description beside the ``$ref``: a third of the file."""
    layers = [d for k, d in defs.items() if k.startswith("layer.")]
    seen: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for layer in layers:
        for key, prop in layer["properties"].items():
            body = {k: v for k, v in prop.items() if k != "description"}
            text = json.dumps(body, sort_keys=True)
            if len(text) >= HOIST_MIN:
                seen.setdefault(text, []).append((layer["properties"], key))
    for text, uses in seen.items():
        if len(uses) < 2:
            continue
        name = f"value.{uses[0][1]}"
        while name in defs:
            name += "_"
        defs[name] = json.loads(text)
        for props, key in uses:
            description = props[key].get("description")
            props[key] = {**({"description": description} if description else {}), **ref(name)}


def _top(sd: Schema) -> Schema:
    props = copy.deepcopy(sd["properties"])
    props["params"] = {
        **ref("params"),
        "description": "Hyperparameters: name -> default value (the generated class's keyword "
        "arguments; --param overrides them).",
    }
    props["inputs"]["additionalProperties"] = ref("input")
    props["layers"]["items"] = ref("node")
    props["blocks"] = {
        **props["blocks"],
        "propertyNames": ref("name"),
        "additionalProperties": ref("block"),
    }
    props["outputs"] = {
        **ref("outputs"),
        "description": "What the model returns: a reference, a list of references, or a "
        "mapping output_name -> reference.",
    }
    props["compile"] = {**ref("compile"), "description": "Arguments of model.compile."}
    props["variants"] = {
        **props["variants"],
        "additionalProperties": {**ref("params"), "description": "The params this variant sets."},
    }
    props["extends"] = {
        "type": "string",
        "description": "A base spec this one starts from (a path relative to this file); "
        "see docs/language.md, Composing specs.",
    }
    props["include"] = {
        "type": "array",
        "items": {"type": "string"},
        "description": "Block libraries (files of `blocks:`) whose blocks this spec uses.",
    }
    out = closed("keys.top", props, sd["required"])
    # a spec that extends a base inherits the required keys, may delete keys (`~key: null`)
    # and edits the base's nodes by name ({edit: NAME, ...}, {delete: NAME}, ...): kspec checks
    # the composed spec; here only what a spec of its own must be
    strict_props = out["properties"]
    out["properties"] = {
        k: {"description": v["description"]} if "description" in v else {}
        for k, v in strict_props.items()
    }
    out["allOf"] = [
        {
            "if": {"not": {"required": ["extends"]}},
            "then": {
                "allOf": out["allOf"],
                "propertyNames": out.pop("propertyNames"),
                "properties": strict_props,
            },
        }
    ]
    # without imports: a dotted type is refused (kspec also checks the module is listed)
    not_custom = {
        "doNotSuggest": True,  # a check, not a key to offer
        "if": {"type": "string", "pattern": DOTTED},
        "then": fail("A custom layer type (module.ClassName) needs its module under `imports:`."),
    }
    recheck = {"items": {"properties": {"type": not_custom}}}
    out["allOf"].append(
        {
            "if": {"not": {"required": ["imports"]}},
            "then": {
                "properties": {
                    "layers": recheck,
                    "blocks": {"additionalProperties": {"properties": {"layers": recheck}}},
                }
            },
        }
    )
    return out


def _near_words(*schemas: Any) -> set[str]:
    """The words of every ``#/$defs/near.<word>`` reference in ``schemas``."""
    found: set[str] = set()
    stack: list[Any] = list(schemas)
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            target = item.get("$ref")
            if isinstance(target, str) and target.startswith("#/$defs/near."):
                found.add(target.rsplit(".", 1)[1])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
