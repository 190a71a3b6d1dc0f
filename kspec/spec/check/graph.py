"""The graph stage: a model's or a block's nodes become an IR graph.

In order: names (unique among inputs, nodes and the instances of repeated block nodes), shares
(their target is a ``type`` node of the same graph), inputs (implicit chaining, references and
``node[i]``, a block instance's inputs), order (a stable topological order; a cycle is an
error naming its members), outputs, and unused nodes (a warning). Every problem is reported;
the graph is returned only when there is none.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass, field
from typing import Any

from kspec.layers import LAYERS
from kspec.spec.check import make
from kspec.spec.check.context import BlockSig, Ctx, Draft, GraphDraft, Kind, path_of_pointer
from kspec.spec.check.nodes import check_call, check_inputs_form, n_outputs
from kspec.spec.ir import Graph, LayerNode, Node, NodeInputs, Ref, ShareNode
from kspec.spec.ir import instance_names as names_of_instances
from kspec.spec.loader import Path
from kspec.spec.report import did_you_mean

_REF = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[([0-9]{1,6})\])?\Z")


@dataclass
class _Scope:
    """What the stages learn of one graph's names, as they go."""

    draft: GraphDraft
    ctx: Ctx
    blocks: dict[str, BlockSig]
    where: dict[str, Path] = field(default_factory=dict)  # name -> path of its definition
    n_out: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, Kind] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)  # node -> the layer type it calls
    generated: dict[str, str] = field(default_factory=dict)  # repeated instance -> its node
    start_errors: int = 0  # errors reported before this graph

    def ref(self, text: Any, path: Path, consumer: str | None) -> Ref | None:
        """The reference ``text`` (at ``path``), checked; None if it is not one."""
        r = _parse_ref(text)
        if r is None:
            return None
        rep = self.ctx.rep
        if r.node not in self.n_out:
            hint = did_you_mean(r.node, self.n_out)
            if r.node in self.generated:
                hint = (
                    f"{r.node!r} is an instance of {self.generated[r.node]!r}; refer to "
                    f"{self.generated[r.node]!r} for the output of the last instance"
                )
            rep.add(
                "KS202",
                f"unknown reference {r.node!r}",
                path,
                node=consumer,
                hint=hint or ("names here: " + ", ".join(list(self.n_out)[:20])),
            )
            return None
        count = self.n_out[r.node]
        if count == 0:  # a custom layer's outputs are unknown until it is built
            return r
        if r.index is None and count > 1:
            rep.add(
                "KS208",
                f"{r.node!r} has {count} outputs; say which one with "
                f"{r.node}[0] .. {r.node}[{count - 1}]",
                path,
                node=consumer,
                hint=f"refer to one of them, e.g. {r.node}[0] (quoted inside [...] or {{...}})",
            )
        elif r.index is not None and r.index >= count:
            layer = LAYERS.get(self.types.get(r.node, ""))
            rep.add(
                "KS208",
                f"{r.node!r} has {count} output{'s' if count > 1 else ''}; "
                f"index {r.index} is out of range",
                path,
                node=consumer,
                hint=layer.index_hint if layer is not None else None,
            )
        return r

    def refs(self, raw: Any, path: Path, consumer: str | None) -> tuple[Ref, ...]:
        """A list of references (the ones that are valid)."""
        found = [self.ref(x, (*path, j), consumer) for j, x in enumerate(raw)]
        return tuple(r for r in found if r)


def resolve(draft: GraphDraft, ctx: Ctx, blocks: dict[str, BlockSig]) -> Graph | None:
    """The IR graph of ``draft``, or None if it has errors (all of them reported)."""
    scope = _Scope(draft, ctx, blocks, start_errors=ctx.rep.errors)
    defined = _names(scope)
    _shares(scope)
    built, deps = _wire(scope, defined)
    ordered = _order(scope, built, deps)
    outputs = _outputs(scope)
    if outputs is None or ctx.rep.errors > scope.start_errors:
        return None
    params = tuple(draft.params.items())
    graph = Graph(params, draft.inputs, tuple(ordered), outputs[0], outputs[1])
    _unused(scope, graph)
    return graph


def _names(s: _Scope) -> list[Draft]:
    """Unique names; each node's kind, layer type and output count. Returns the nodes that
    define a name (in spec order)."""
    rep, inputs = s.ctx.rep, s.draft.inputs
    for inp in inputs:
        s.where[inp.name] = (*s.draft.base[:-1], "inputs")
        s.n_out[inp.name] = 1
    defined = []
    for d in s.draft.nodes:
        name, node = d.name, d.node
        if name is None or node is None or not d.kinds:
            continue  # not a node (the schema says why), or no kind (KS103, node stage)
        kind = d.kinds[0]  # with several (KS104, node stage), the first of type, share, block
        if name in s.where or name in s.generated:
            first = s.where.get(name) or s.where[s.generated[name]]
            what = "an input" if any(inp.name == name for inp in inputs) else "a node"
            if name in s.generated:
                what = f"an instance of the repeated block node {s.generated[name]!r}"
            rep.add(
                "KS201",
                f"duplicate name {name!r}: already {what} (line {s.ctx.line(first)})",
                (*d.path, "name"),
                node=name,
                hint="names are unique within a model "
                "(within a block, among its own names); rename one of them",
            )
            continue
        s.where[name] = d.path
        defined.append(d)
        s.kinds[name] = kind
        s.n_out[name] = 1
        if kind == "type":
            s.types[name] = str(node["type"])
            s.n_out[name] = n_outputs(str(node["type"]), node, node.get("call") or {})
        elif kind == "block":
            sig = s.blocks.get(str(node.get("block")))
            s.n_out[name] = sig.n_outputs if sig else 1
            _instance_names(s, d, name)
    return defined


def _instance_names(s: _Scope, d: Draft, name: str) -> None:
    """A repeated block node names its instances name_1 .. name_N: those names are taken."""
    node = d.node or {}
    r = node.get("repeat")
    count = r if isinstance(r, int) and not isinstance(r, bool) and r >= 1 else None
    if count is None:
        return
    for inst in names_of_instances(name, count):
        if inst in s.where:
            s.ctx.rep.add(
                "KS201",
                f"repeated block node {name!r} names its instances "
                f"{name}_1 .. {name}_{count}, but {inst!r} is already defined "
                f"(line {s.ctx.line(s.where[inst])})",
                (*d.path, "name"),
                node=name,
            )
        s.generated[inst] = name


def _shares(s: _Scope) -> None:
    """A share's target must be a ``type`` node of this graph (before or after it)."""
    rep, scope = s.ctx.rep, s.draft.scope
    by_name: dict[str, Draft] = {}
    for d in s.draft.nodes:
        if d.name is not None:
            by_name.setdefault(d.name, d)
    for d in s.draft.nodes:
        node, name = d.node, d.name
        if node is None or name is None or "share" not in node:
            continue
        target = node["share"]
        if not isinstance(target, str):
            continue
        if target not in s.kinds:
            rep.add(
                "KS205",
                f"share target {target!r} is not a node of this {scope}",
                (*d.path, "share"),
                node=name,
                hint=did_you_mean(target, [n for n, k in s.kinds.items() if k == "type"]),
            )
        elif s.kinds[target] != "type":
            rep.add(
                "KS205",
                f"share target {target!r} is a {s.kinds[target]} node; only a "
                "`type` node has a layer to share",
                (*d.path, "share"),
                node=name,
            )
        else:
            owner = by_name[target].node or {}
            t = str(owner.get("type"))
            s.types[name] = t
            s.n_out[name] = n_outputs(t, owner, node.get("call") or {})
            check_inputs_form(t, node.get("inputs"), d.path, s.ctx, name)
            check_call(t, node.get("call"), d.path, s.ctx, name)


def _wire(s: _Scope, defined: list[Draft]) -> tuple[list[Node], dict[str, set[str]]]:
    """Each node's inputs (implicit chaining, references) and its IR node; the names each
    node depends on."""
    built: list[Node] = []
    deps: dict[str, set[str]] = {}
    prev: str | None = None
    defining = {id(d) for d in defined}
    for i, d in enumerate(s.draft.nodes):
        name, node = d.name, d.node
        if name is None or node is None:
            prev = None
            continue
        if id(d) not in defining:
            continue
        ni = _node_inputs(s, d, i, prev)
        if isinstance(node.get("block"), str) and node["block"] in s.blocks:
            _check_block_inputs(s, d, ni)
        deps[name] = {r.node for r in ni.all_refs()}
        built.append(make.node(d, ni, s.n_out[name], s.ctx.rep))
        prev = name
    return built, deps


def _node_inputs(s: _Scope, d: Draft, i: int, prev: str | None) -> NodeInputs:
    node, name = d.node or {}, str(d.name)
    raw = node.get("inputs")
    path, rep, inputs = d.path, s.ctx.rep, s.draft.inputs
    if raw is None:
        if prev is None:
            if i == 0 and len(inputs) == 1:
                return NodeInputs("single", (Ref(inputs[0].name),))
            if i == 0:
                rep.add(
                    "KS204",
                    f"{name!r} is the first node and has no `inputs`, but the "
                    f"{s.draft.scope} has {len(inputs)} inputs",
                    path,
                    node=name,
                    hint=f"say which: inputs: {inputs[0].name} (or a list for a merge layer: "
                    f"[{', '.join(x.name for x in inputs)}])",
                )
            return NodeInputs("single", ())
        if s.n_out.get(prev, 1) > 1:
            rep.add(
                "KS204",
                f"{name!r} has no `inputs` and the previous node {prev!r} "
                f"has {s.n_out[prev]} outputs",
                path,
                node=name,
                hint=f'say which: inputs: "{prev}[0]"',
            )
        return NodeInputs("single", (Ref(prev),))
    p = (*path, "inputs")
    if isinstance(raw, str):
        r = s.ref(raw, p, name)
        return NodeInputs("single", (r,) if r else ())
    if isinstance(raw, list):
        # a list of one for a one-input layer (its own, or the one it shares) is that input
        layer = LAYERS.get(s.types.get(name, ""))
        one = layer is not None and layer.inputs == "one"
        return NodeInputs("single" if len(raw) == 1 and one else "list", s.refs(raw, p, name))
    if isinstance(raw, dict):
        pairs: list[tuple[str, Any]] = []
        for key, val in raw.items():
            if isinstance(val, list):
                pairs.append((key, s.refs(val, (*p, key), name)))
            else:
                r = s.ref(val, (*p, key), name)
                if r:
                    pairs.append((key, r))
        return NodeInputs("mapping", tuple(pairs))
    return NodeInputs("single", ())


def _check_block_inputs(s: _Scope, d: Draft, ni: NodeInputs) -> None:
    """A block instance is given as many inputs as its block has, by name in a mapping."""
    node, name, rep = d.node or {}, d.name, s.ctx.rep
    block = node["block"]
    sig = s.blocks[block]
    given = len(ni.all_refs()) if ni.form != "mapping" else len(ni.refs)
    if given != len(sig.inputs) and rep.errors == s.start_errors:
        rep.add(
            "KS210",
            f"block {block!r} takes {len(sig.inputs)} input(s) ({', '.join(sig.inputs)}), "
            f"got {given}",
            (*d.path, "inputs") if node.get("inputs") is not None else d.path,
            node=name,
        )
    if ni.form == "mapping":
        for key, _ in ni.refs:
            if key not in sig.inputs:
                rep.add(
                    "KS211",
                    f"block {block!r} has no input `{key}`",
                    (*d.path, "inputs", key),
                    key=True,
                    node=name,
                    hint=did_you_mean(key, sig.inputs),
                )


def _order(s: _Scope, built: list[Node], deps: dict[str, set[str]]) -> list[Node]:
    """Kahn's algorithm, ties broken by spec order (stable, deterministic); a cycle is an
    error naming its members."""
    index = {n.name: k for k, n in enumerate(built)}
    input_names = {inp.name for inp in s.draft.inputs}
    indegree = {n.name: len(deps[n.name] - input_names) for n in built}
    users: dict[str, list[str]] = {}
    for n in built:
        for dep in deps[n.name] - input_names:
            users.setdefault(dep, []).append(n.name)
    ready = sorted(index[n] for n, d in indegree.items() if d == 0)
    heapq.heapify(ready)
    ordered: list[Node] = []
    while ready:
        node = built[heapq.heappop(ready)]
        ordered.append(node)
        for u in users.get(node.name, []):
            indegree[u] -= 1
            if indegree[u] == 0:
                heapq.heappush(ready, index[u])
    if len(ordered) < len(built):
        stuck = [n for n in built if indegree[n.name] > 0]
        cycle = _find_cycle({n.name: deps[n.name] & set(indegree) for n in stuck})
        first_node = built[min(index[c] for c in cycle)]
        s.ctx.rep.add(
            "KS203",
            "cycle in the layer graph: " + " -> ".join([*cycle, cycle[0]]),
            path_of_pointer(first_node.pointer),
            node=first_node.name,
            hint="a node cannot depend on its own output; check the `inputs` of these nodes",
        )
    return ordered


def _find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle among ``graph`` (every node has an unprocessed dependency), iteratively."""
    start = next(iter(graph))
    seen: dict[str, int] = {}
    path: list[str] = []
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = sorted(graph[node])[0]
    cycle = path[seen[node] :]
    return list(reversed(cycle))


def _outputs(s: _Scope) -> tuple[Any, Any] | None:
    """The graph's outputs and their form (``outputs: [x]`` is one tensor in both targets,
    as Keras returns for a Functional model)."""
    raw, at = s.draft.outputs, (*s.draft.base[:-1], "outputs")
    if isinstance(raw, str):
        return s.ref(raw, at, None), "single"
    if isinstance(raw, list) and len(raw) == 1:
        return s.ref(raw[0], (*at, 0), None), "single"
    if isinstance(raw, list):
        return tuple(s.ref(x, (*at, j), None) for j, x in enumerate(raw)), "list"
    if isinstance(raw, dict):
        return tuple((k, s.ref(v, (*at, k), None)) for k, v in raw.items()), "mapping"
    return None


def _unused(s: _Scope, graph: Graph) -> None:
    """A warning: Keras would silently drop a node no output depends on."""
    used = {r.node for n in graph.nodes for r in n.inputs.all_refs()}
    used |= {r.node for r in graph.output_refs()}
    shared = {n.target for n in graph.nodes if isinstance(n, ShareNode)}
    for n in graph.nodes:
        if n.name not in used and not (n.name in shared and isinstance(n, LayerNode)):
            s.ctx.rep.add(
                "KS214",
                f"node {n.name!r} is not used by any output of the {s.draft.scope}",
                path_of_pointer(n.pointer),
                node=n.name,
                severity="warning",
                hint="remove it, or add it to `outputs`",
            )


def _parse_ref(text: Any) -> Ref | None:
    if not isinstance(text, str):
        return None
    m = _REF.match(text)
    if not m:
        return None  # the schema has reported it
    return Ref(m.group(1), int(m.group(2)) if m.group(2) else None)
