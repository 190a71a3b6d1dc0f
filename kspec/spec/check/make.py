"""Making the IR from checked drafts: nodes of their kind, layer constructors, inputs, values.

Values are frozen (lists as tuples, mappings as :class:`~kspec.spec.ir.Dict`) and keep their
``Expr`` leaves: the subclass target emits them as expressions over its constructor arguments.
"""

from __future__ import annotations

from typing import Any

from kspec.layers import LAYERS
from kspec.spec.check.context import Draft
from kspec.spec.check.nodes import BLOCK_NODE_KEYS
from kspec.spec.ir import BlockNode, Dict, Input, LayerNode, LayerSpec, Node, NodeInputs, ShareNode
from kspec.spec.loader import pointer
from kspec.spec.report import Reporter


def freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return Dict(tuple((k, freeze(v)) for k, v in value.items()))
    return value


def layer_spec(value: dict[str, Any]) -> LayerSpec:
    """A ``{type: ..., ...arguments}`` mapping (nested layers included) as a constructor."""
    t = str(value["type"])
    layer = LAYERS.get(t)
    args = []
    for key, v in value.items():
        if key in ("name", "type", "inputs", "call"):
            continue
        marker = layer.args[key].get("$kspec") if layer and key in layer.args else None
        if marker == "nested_layer" and isinstance(v, dict):
            v = layer_spec(v)
        elif marker == "nested_layers" and isinstance(v, list):
            v = tuple(layer_spec(x) if isinstance(x, dict) else freeze(x) for x in v)
        args.append((key, freeze(v)))
    return LayerSpec(t, tuple(args))


def node(d: Draft, ni: NodeInputs, n_out: int, rep: Reporter) -> Node:
    """The IR node of a checked draft, of its kind."""
    ev, sym = d.node or {}, d.sym
    common: dict[str, Any] = {
        "name": d.name,
        "inputs": ni,
        "n_outputs": n_out,
        "span": rep.doc.span(d.path),
        "pointer": pointer(d.path),
    }
    if "block" not in ev and isinstance(sym.get("call"), dict):
        common["call"] = tuple((k, freeze(v)) for k, v in sym["call"].items())
    if "type" in ev:
        return LayerNode(layer=layer_spec(sym), **common)
    if "share" in ev:
        return ShareNode(target=ev["share"], **common)
    args = tuple((k, freeze(v)) for k, v in sym.items() if k not in BLOCK_NODE_KEYS)
    trainable = ev.get("trainable") if isinstance(ev.get("trainable"), bool) else None
    return BlockNode(
        block=ev["block"], args=args, repeat=sym.get("repeat"), trainable=trainable, **common
    )


def inputs(raw: Any, sym: Any) -> tuple[Input, ...]:
    """The model's inputs (``raw`` evaluated, ``sym`` with expressions in shapes)."""
    out = []
    if not isinstance(raw, dict):
        return ()
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            continue
        shape = sym[name].get("shape") or []
        out.append(
            Input(
                name,
                tuple(freeze(s) for s in shape),
                spec.get("dtype", "float32"),
                spec.get("batch_size"),
                bool(spec.get("sparse", False)),
                bool(spec.get("ragged", False)),
            )
        )
    return tuple(out)
