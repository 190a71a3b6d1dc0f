"""The order in which Keras runs a Functional model's layer calls, worked out from the spec.

A Functional model does not run its layers in the order they were called when it was built:
``keras.src.ops.function.map_graph`` walks the graph depth-first from the outputs, gives each
call a depth (its longest distance to an output, and for a shared layer the largest depth of
any of its calls), and runs the calls by decreasing depth. For most layers the order does not
matter. For a layer called more than once per step (a ``share:``) it does: a shared
BatchNormalization updates its moving statistics once per call, and a shared Dropout draws once
per call, in turn. So the subclass target's ``call`` makes a graph's calls in this same order
when the graph shares a layer, and both targets train to the same weights.

This mirrors Keras 3's algorithm on kspec's graph (the tests compare it with Keras' own order
on every example and drawn spec). Keras also adds its mask computations to the graph of a model
that computes masks; they can move the calls of a masked model in the order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kspec.layers import LAYERS, OPS
from kspec.spec.expressions import Expr, evaluate
from kspec.spec.ir import BlockNode, Graph, LayerNode, Node, OpNode, Ref, ShareNode, Spec, owner

# A call: (node name, instance number); a repeated block node makes instances 1..N, a plain
# node one call (instance 0). A graph input is a call of its own (an InputLayer).
Call = tuple[str, int]
# Each block's input names, in the order the block declares them.
BlockInputs = Mapping[str, Sequence[str]]


def _tensor_refs(node: Node, layer_type: str | None, block_inputs: BlockInputs) -> list[Ref]:
    """A layer call's input tensors in Keras' order: positional arguments first, then the
    keyword arguments sorted by name (``keras.tree.flatten`` of ``(args, kwargs)``). A block
    instance is called with its inputs as a list in the block's own order, however the spec
    maps them."""
    ni = node.inputs
    if isinstance(node, BlockNode) and ni.form == "mapping" and node.block in block_inputs:
        given = dict(ni.refs)
        return [r for name in block_inputs[node.block] if name in given for r in _flat(given[name])]
    if isinstance(node, OpNode):  # the op's tensor parameters, in signature order
        given = dict(node.inputs.refs)
        params = [p for p in OPS[node.op].params if p in given]
        return [
            r for p in params for r in (given[p] if isinstance(given[p], tuple) else [given[p]])
        ]
    if ni.form != "mapping":
        return list(ni.refs)
    layer = LAYERS.get(layer_type or "")
    first = layer.call_args[0] if layer and layer.call_args else None
    if layer is not None and layer.inputs == "call":  # query, value, key: positional
        first_keys = [k for k in layer.call_args if k in dict(ni.refs)][:1]
    else:
        first_keys = [first] if first is not None else []
    keyed = sorted(ni.refs, key=lambda kv: (kv[0] not in first_keys, kv[0]))
    refs: list[Ref] = []
    for _, value in keyed:
        refs.extend(value if isinstance(value, tuple) else [value])
    return refs


def _flat(value: Ref | tuple[Ref, ...]) -> list[Ref]:
    return list(value) if isinstance(value, tuple) else [value]


def _output_refs(graph: Graph) -> list[Ref]:
    """The outputs in ``keras.tree.flatten`` order (a mapping's keys sorted)."""
    if graph.outputs_form == "single":
        return [graph.outputs]
    if graph.outputs_form == "list":
        return list(graph.outputs)
    return [ref for _, ref in sorted(graph.outputs, key=lambda kv: kv[0])]


class _Graph:
    """The calls of one graph, their input calls, and the layer each one calls."""

    def __init__(self, graph: Graph, repeats: Mapping[str, int], block_inputs: BlockInputs):
        self.parents: dict[Call, list[Call]] = {(i.name, 0): [] for i in graph.inputs}
        self.layer: dict[Call, str] = {c: c[0] for c in self.parents}
        self.last: dict[str, Call] = {i.name: (i.name, 0) for i in graph.inputs}
        types = {n.name: n.layer.type for n in graph.nodes if isinstance(n, LayerNode)}
        for node in graph.nodes:
            layer = owner(node) if isinstance(node, LayerNode | ShareNode) else node.name
            block = isinstance(node, BlockNode)
            repeated = isinstance(node, BlockNode) and node.repeat is not None
            count = repeats.get(node.name, 1) if repeated else 0
            for k in range(max(count, 1)):
                call = (node.name, k + 1 if count else 0)
                if k == 0:
                    refs = _tensor_refs(node, types.get(layer), block_inputs)
                    self.parents[call] = [(r.node, -1) for r in refs]  # resolved below
                else:
                    self.parents[call] = [(node.name, k)]
                self.layer[call] = layer if not block else f"{node.name}#{k + 1}"
            self.last[node.name] = (node.name, count)
        for call, parents in self.parents.items():
            self.parents[call] = [self.last[n] if k == -1 else (n, k) for n, k in parents]


def _visit_order(g: _Graph, outputs: list[Ref]) -> list[Call]:
    """``_build_map``: the calls reached from the outputs, depth-first, inputs first."""
    finished: set[Call] = set()
    order: list[Call] = []
    for ref in outputs:
        start = g.last[ref.node]
        stack: list[tuple[Call, int]] = [(start, 0)]
        while stack:  # the iterative form of Keras' recursive helper
            call, i = stack.pop()
            if call in finished:
                continue
            parents = g.parents[call]
            if i < len(parents):
                stack.append((call, i + 1))
                if parents[i] not in finished:
                    stack.append((parents[i], 0))
                continue
            finished.add(call)
            order.append(call)
    return order


def run_order(
    graph: Graph, repeats: Mapping[str, int], block_inputs: BlockInputs | None = None
) -> list[Call]:
    """The graph's calls in the order a Functional model of it runs them (``map_graph`` then
    ``_run_through_graph``), graph inputs left out; calls that no output needs (Keras drops
    them) come last, in the graph's order. ``repeats``: each repeated block node's count;
    ``block_inputs``: each block's input names (``block_inputs_of(spec)``)."""
    g = _Graph(graph, repeats, block_inputs or {})
    visited = _visit_order(g, _output_refs(graph))
    in_graph = set(visited)
    depths: dict[Call, int] = {}
    layer_depths: dict[str, int] = {}
    for call in reversed(visited):
        depth = max(depths.setdefault(call, 0), layer_depths.get(g.layer[call], 0))
        layer_depths[g.layer[call]] = depth
        depths[call] = depth
        for parent in g.parents[call]:
            if parent in in_graph:
                depths[parent] = max(depth + 1, depths.get(parent, 0))
    by_depth: dict[int, list[Call]] = {}
    for call, depth in depths.items():
        by_depth.setdefault(depth, []).append(call)
    inputs = {(i.name, 0) for i in graph.inputs}
    ordered = [c for d in sorted(by_depth, reverse=True) for c in by_depth[d] if c not in inputs]
    return ordered + [c for c in g.parents if c not in in_graph and c not in inputs]


def block_inputs_of(spec: Spec) -> dict[str, list[str]]:
    """Each block's input names, in its declared order (how a block instance is called)."""
    return {b.name: [i.name for i in b.graph.inputs] for b in spec.blocks}


def node_order(graph: Graph, env: Mapping[str, Any], block_inputs: BlockInputs) -> list[Node]:
    """The graph's nodes in a Functional model's run order when the graph shares a layer (a
    repeated block node at its first instance), else in the graph's own order. ``env``: the
    graph's param values, for repeat counts that are expressions."""
    if not any(isinstance(n, ShareNode) for n in graph.nodes):
        return list(graph.nodes)
    repeats = {
        n.name: n.repeat if isinstance(n.repeat, int) else int(evaluate(n.repeat, env))
        for n in graph.nodes
        if isinstance(n, BlockNode) and isinstance(n.repeat, int | Expr)
    }
    by_name = {n.name: n for n in graph.nodes}
    names = dict.fromkeys(name for name, _ in run_order(graph, repeats, block_inputs))
    return [by_name[name] for name in names]
