"""The node stage: checks of one node that need no other node.

A ``type`` node: its layer type (known, refused, or a custom ``module.Class`` from ``imports:``),
its arguments against its layer's schema (nested layers too), Keras objects given as mappings,
the form of its ``inputs`` and its ``call:`` constants. A ``share`` or ``block`` node: its own
schema; a block node's params against its block's. References between nodes are the graph
stage's (kspec.spec.check.graph).
"""

from __future__ import annotations

import keyword
from functools import cache
from typing import Any

from kspec.layers import LAYERS, REFUSED, count_outputs
from kspec.layers.catalog import object_family
from kspec.spec import stubs
from kspec.spec import validate as schema
from kspec.spec.check.context import BlockSig, Ctx, Draft
from kspec.spec.check.ops import check_op_node
from kspec.spec.loader import Path
from kspec.spec.names import is_dotted_name, reserved_module
from kspec.spec.report import did_you_mean

# Keys of a block node that are not the block's params.
BLOCK_NODE_KEYS = ("name", "block", "inputs", "repeat", "trainable")


def check_node(draft: Draft, ctx: Ctx, blocks: dict[str, BlockSig]) -> None:
    """Per-node checks that need no other node: kind, layer schema, block params."""
    node = draft.node
    if node is None:
        return
    path, name, kinds = draft.path, draft.name, draft.kinds
    if not kinds:
        ctx.rep.add(
            "KS103",
            f"node {name!r} needs one of `type` (a new layer), `share`, `block` or `op`"
            if name
            else "a node needs `name` and one of `type`, `share`, `block` or `op`",
            path,
            node=name,
        )
        return
    if len(kinds) > 1:
        ctx.rep.add(
            "KS104",
            f"a node has exactly one of `type`, `share`, `block`, `op`; this one has "
            f"{', '.join(kinds)}",
            path,
            node=name,
        )
        return
    if draft.kind == "type":
        _check_type_node(node, path, ctx, name)
    elif draft.kind == "op":
        check_op_node(node, path, ctx, name)
    elif draft.kind == "share":
        schema.validate(
            "share_node", node, path, ctx.rep, ctx, node=name, what=f"share node {name!r}"
        )
    else:
        schema.validate(
            "block_node", node, path, ctx.rep, ctx, node=name, what=f"block node {name!r}"
        )
        _check_block_node(node, path, ctx, name, blocks)


def _check_type_node(node: dict[str, Any], path: Path, ctx: Ctx, name: str | None) -> None:
    t = node["type"]
    if not isinstance(t, str) or not t:
        ctx.rep.add(
            "KS102",
            f"`type` of node {name!r} must be a layer class name, got {_describe(t)}"
            if name
            else f"`type` must be a layer class name, got {_describe(t)}",
            (*path, "type"),
            node=name,
            hint="e.g. type: Dense (`kspec schema` lists the layer types)",
        )
        return
    if check_layer_args(t, node, path, ctx, name):
        check_inputs_form(t, node.get("inputs"), path, ctx, name)
        check_call(t, node.get("call"), path, ctx, name)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "an empty string"
    if isinstance(value, dict | list):
        return "a mapping" if isinstance(value, dict) else "a list"
    return repr(value)


def _check_block_node(
    node: dict[str, Any], path: Path, ctx: Ctx, name: str | None, blocks: dict[str, BlockSig]
) -> None:
    b = node.get("block")
    if not isinstance(b, str):
        return
    if b not in blocks:
        ctx.rep.add(
            "KS206",
            f"unknown block {b!r}",
            (*path, "block"),
            node=name,
            hint=did_you_mean(b, blocks)
            or ("blocks defined: " + ", ".join(blocks) if blocks else "define it under `blocks:`"),
        )
        return
    sig = blocks[b]
    for key in node:
        if key not in BLOCK_NODE_KEYS and key not in sig.params:
            ctx.rep.add(
                "KS213",
                f"block {b!r} has no param `{key}`",
                (*path, key),
                key=True,
                node=name,
                hint=did_you_mean(key, sig.params)
                or "its params: " + (", ".join(sig.params) or "none"),
            )
    if "repeat" in node and sig.n_outputs != len(sig.inputs):
        ctx.rep.add(
            "KS212",
            f"`repeat` chains block {b!r} into itself, but it has "
            f"{len(sig.inputs)} input(s) and {sig.n_outputs} output(s)",
            (*path, "repeat"),
            key=True,
            node=name,
            hint="each instance's outputs feed the next instance's inputs in order: give the "
            "block as many outputs as inputs, or write the instances out as separate nodes",
        )


def check_layer_args(
    t: str, node_ev: dict[str, Any], path: Path, ctx: Ctx, name: str | None, nested: bool = False
) -> bool:
    """Check a ``type:`` mapping's layer type and arguments. Returns whether the type is known."""
    if t in REFUSED:
        ctx.rep.add(
            "KS108",
            f"layer type {t} is not available: {REFUSED[t]}",
            (*path, "type"),
            node=name,
            hint="write the computation as a custom layer in a module you "
            "trust and name it under imports: (see docs/language.md)",
        )
        return False
    if t not in LAYERS:
        if "." in t:
            if not is_dotted_name(t):
                ctx.rep.add(
                    "KS106",
                    f"custom layer type {t!r} is not a module.ClassName",
                    (*path, "type"),
                    node=name,
                    hint="write the module's dotted name and the class, e.g. mylayers.Gated",
                )
                return False
            module, cls = t.rsplit(".", 1)
            if cls in REFUSED:  # whatever module it comes from (keras.layers.Lambda, ...)
                ctx.rep.add(
                    "KS108",
                    f"layer type {cls} is not available: {REFUSED[cls]}",
                    (*path, "type"),
                    node=name,
                )
                return False
            if module not in ctx.imports and not reserved_module(module):
                ctx.rep.add(
                    "KS106",
                    f"custom layer type {t!r} comes from module {module!r}, "
                    "which is not listed under imports:",
                    (*path, "type"),
                    node=name,
                    hint=f"add `imports: [{module}]` to the spec",
                )
            else:  # its signature, if `kspec check --stubs` gave one
                stubs.check_custom(t, node_ev, path, ctx.rep, name)
            return False
        ctx.rep.add(
            "KS106",
            f"unknown layer type {t!r}",
            (*path, "type"),
            node=name,
            hint=did_you_mean(t, LAYERS) or "see `kspec schema` for the layer types",
        )
        return False
    if nested:
        label = f"the {t} layer inside {name!r}" if name else f"nested {t} layer"
    else:
        label = f"{t} layer {name!r}" if name else f"{t} layer"
    schema.validate(
        ("nested." if nested else "layer.") + t, node_ev, path, ctx.rep, ctx, node=name, what=label
    )
    _check_objects(node_ev, path, ctx, name)
    for key, marker in _nested_args(t):
        inner = node_ev.get(key)
        if marker == "nested_layer" and isinstance(inner, dict):
            items = [(inner, (*path, key))]
        elif marker == "nested_layers" and isinstance(inner, list):
            items = [(v, (*path, key, i)) for i, v in enumerate(inner) if isinstance(v, dict)]
        else:
            continue
        for value, p in items:
            if isinstance(value.get("type"), str):
                check_layer_args(value["type"], value, p, ctx, name, nested=True)
    return True


@cache
def _nested_args(t: str) -> tuple[tuple[str, str], ...]:
    """The arguments of layer type ``t`` that take a layer or layers (and which)."""
    args = LAYERS[t].args.items()
    marked = ((key, arg.get("$kspec")) for key, arg in args)
    return tuple((k, m) for k, m in marked if m in ("nested_layer", "nested_layers"))


def _check_objects(node_ev: dict[str, Any], path: Path, ctx: Ctx, name: str | None) -> None:
    """``{type: HeNormal, seed: 1}`` for an initializer, regularizer or constraint becomes
    ``tf.keras.initializers.HeNormal(seed=1)``: its type and argument names must be
    identifiers."""
    for arg, value in node_ev.items():
        if not isinstance(value, dict) or object_family(arg) is None:
            continue
        t = value.get("type")
        if not (isinstance(t, str) and t.isidentifier() and not keyword.iskeyword(t)):
            ctx.rep.add(
                "KS104",
                f"`{arg}` needs `type:` with a class name, e.g. {{type: HeNormal, seed: 1}}",
                (*path, arg),
                node=name,
            )
        for key in value:
            if not (isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)):
                ctx.rep.add(
                    "KS104",
                    f"{key!r} is not an argument name",
                    (*path, arg, key),
                    key=True,
                    node=name,
                )


def n_outputs(t: str, args: dict[str, Any], call: dict[str, Any]) -> int:
    """How many tensors a layer call returns (``node[i]`` indexes them); 0 when kspec cannot
    know (a custom layer: its references are not checked)."""
    if t not in LAYERS:
        return 0 if "." in t else 1
    return count_outputs(t, args, call)


def check_inputs_form(t: str, inputs: Any, path: Path, ctx: Ctx, name: str | None) -> None:
    """The shape of ``inputs:`` must fit how the layer is called."""
    layer = LAYERS.get(t)
    if layer is None or inputs is None:
        if layer is not None and layer.inputs == "many":
            ctx.rep.add(
                "KS210", f"{t} merges a list of tensors: give `inputs` as a list", path, node=name
            )
        elif layer is not None and layer.inputs == "call" and layer.min_inputs > 1:
            needed = layer.call_args[: layer.min_inputs]
            ctx.rep.add(
                "KS210",
                f"{t} needs {' and '.join(needed)}: give `inputs` as a mapping",
                path,
                node=name,
                hint=f"e.g. inputs: {{{', '.join(f'{k}: ...' for k in needed)}}}",
            )
        return
    p = (*path, "inputs")
    if isinstance(inputs, str):
        if layer.inputs == "many":
            ctx.rep.add(
                "KS210", f"{t} merges a list of tensors: give `inputs` as a list", p, node=name
            )
        elif layer.inputs == "call" and layer.min_inputs > 1:
            ctx.rep.add(
                "KS210",
                f"{t} needs {', '.join(layer.call_args[: layer.min_inputs])}: "
                "give `inputs` as a list or a mapping",
                p,
                node=name,
            )
        return
    if isinstance(inputs, list):
        n = len(inputs)
        if layer.inputs == "one":
            if n != 1:
                ctx.rep.add(
                    "KS210",
                    f"{t} takes one input, got a list of {n}",
                    p,
                    node=name,
                    hint="merge tensors first (Concatenate, Add, ...)",
                )
            return
        hi = layer.max_inputs
        if n < layer.min_inputs or (hi is not None and n > hi):
            want = (
                f"exactly {hi}"
                if hi == layer.min_inputs
                else f"{layer.min_inputs} to {hi}"
                if hi
                else f"at least {layer.min_inputs}"
            )
            ctx.rep.add("KS210", f"{t} takes {want} inputs, got {n}", p, node=name)
        return
    if isinstance(inputs, dict):
        if layer.inputs == "many":
            ctx.rep.add("KS210", f"{t} takes a list of inputs, not a mapping", p, node=name)
            return
        for key in inputs:
            if key not in layer.call_args:
                ctx.rep.add(
                    "KS211",
                    f"{t} has no call argument `{key}`",
                    (*p, key),
                    key=True,
                    node=name,
                    hint=did_you_mean(key, layer.call_args)
                    or "call arguments: " + ", ".join(layer.call_args),
                )
        need = layer.call_args[: max(layer.min_inputs, 1)] if layer.call_args else ()
        for key in need:
            if key not in inputs:
                ctx.rep.add(
                    "KS210", f"{t} needs the call argument `{key}` in `inputs`", p, node=name
                )


def check_call(t: str | None, call: Any, path: Path, ctx: Ctx, name: str | None) -> None:
    layer = LAYERS.get(t or "")
    if layer is None or not isinstance(call, dict):
        return
    for key in call:
        if key == "training" and key in layer.call_args:
            ctx.rep.add(
                "KS104",
                "`training` cannot be a constant in `call:`: the model's own training flag "
                "reaches every layer, and the two targets would not agree on which wins",
                (*path, "call", key),
                key=True,
                node=name,
                hint="remove it; Keras passes training=True in fit and False in predict",
            )
        elif key not in layer.call_args:
            ctx.rep.add(
                "KS211",
                f"{t} has no call argument `{key}`",
                (*path, "call", key),
                key=True,
                node=name,
                hint=did_you_mean(key, layer.call_args)
                or "call arguments: " + (", ".join(layer.call_args) or "none"),
            )
