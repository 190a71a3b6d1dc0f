"""Finding the structure that repeats in an imported graph, and writing it as blocks.

Keras models name their layers after their structure (``conv2_block1_1_conv``), and the
importer uses those names to find it:

1. **Candidates from names.** Every prefix of a node name, cut at an ``_`` (``conv2``,
   ``conv2_block1``, ``conv2_block1_1``), gathers the nodes whose names start with it. Nodes
   without weights whose names Keras made up (an ``add`` from ``x + y``, an unnamed ``ReLU``)
   belong with the node they read from.
2. **Valid groups.** A group must be a sub-graph a block can replace: some inputs, some
   outputs, no path that leaves it and comes back, and no layer shared with the outside.
3. **Same structure.** A group's signature is its nodes in order, each with its name after the
   prefix (``1_conv``), its kind, type and argument names, and its wiring in local terms;
   argument values are left out. Groups with equal signatures are instances of one block.
4. **Worth it.** Shortest prefixes first (a stage before its blocks, a block before its
   sub-blocks); a set of instances becomes a block when it saves lines. Arguments whose values
   differ between instances become the block's params (an integer multiple of another param is
   written as an expression, ``${filters * 4}``), each instance giving the values that differ
   from the defaults (the most common value).
5. **Chains.** Consecutive instances with the same params that feed each other and are named
   ``P_1`` .. ``P_N`` become one node ``P`` with ``repeat: N``.

Block instances keep the prefix as their name and the layers inside keep the rest of their
name, so the weights still correspond (:func:`kspec.importer.names.weight_key`). The cost is
linear in (nodes x name depth) for the candidates, plus the window each candidate spans for the
path check; block bodies are searched again for blocks inside blocks.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

from kspec.importer import groups as grouping
from kspec.importer import structural
from kspec.importer.blockdefs import Chosen, block_name, make_block
from kspec.importer.groups import Group, Index
from kspec.importer.ir import Block, Graph, Imported, Node, Ref, map_refs, refs_of

__all__ = ["block_name", "find_blocks"]

_HEADER_LINES = 5  # a block's name, params, inputs, layers and outputs lines


def find_blocks(spec: Imported) -> None:
    """Rewrite ``spec`` in place: repeated structure becomes blocks (recursively)."""
    taken = {b.name for b in spec.blocks}
    work: list[Graph] = [spec.graph, *(b.graph for b in spec.blocks)]
    new: list[Block] = []
    work_env: list[dict[str, Any]] = [{}, *(b.params for b in spec.blocks)]
    while work:
        graph, env = work.pop(0), work_env.pop(0)
        made = _factor(graph, taken, env)
        new += made
        work += [b.graph for b in made]
        work_env += [b.params for b in made]
    spec.blocks = _ordered([*spec.blocks, *new], spec.graph)


def _ordered(blocks: list[Block], top: Graph) -> list[Block]:
    """Blocks in order of first use, reading the model from the top."""
    by_name = {b.name: b for b in blocks}
    out: list[Block] = []

    def visit(graph: Graph) -> None:
        for node in graph.nodes:
            if node.kind == "block" and node.target in by_name:
                block = by_name.pop(node.target)
                out.append(block)
                visit(block.graph)

    visit(top)
    return out + list(by_name.values())


def _factor(graph: Graph, taken_blocks: set[str], env: dict[str, Any]) -> list[Block]:
    """Find blocks in one graph (``env``: the params of the block it is the body of)."""
    index = Index(graph)
    names = grouping.grouping_names(index)
    candidates = grouping.candidates(index, names)
    levels: dict[int, list[Group]] = defaultdict(list)
    for prefix in sorted(candidates, key=lambda p: (p.count("_"), candidates[p][0])):
        found = grouping.group(index, names, prefix, candidates[prefix])
        if found is not None:
            levels[prefix.count("_")].append(found)
    claimed: set[int] = set()
    chosen: list[Chosen] = []
    for level in sorted(levels):
        buckets: dict[tuple[Any, ...], list[Group]] = defaultdict(list)
        for g in levels[level]:
            if not claimed.intersection(g.members):
                buckets[g.signature].append(g)
        for groups in buckets.values():
            if _savings(groups) <= max(0.0, _finer(groups, level, levels)):
                continue
            made = make_block(groups, index, taken_blocks, env)
            if made is None:
                continue
            chosen.append(made)
            for g in groups:
                claimed.update(g.members)
    for groups in structural.chains(index, claimed):  # repeats that no names tell of
        made = make_block(groups, index, taken_blocks, env)
        if made is not None:
            made.block.by_structure = True
            chosen.append(made)
    if not chosen:
        graph.nodes = _repeats(graph.nodes, graph)
        return []
    nodes = _contract(index, chosen)
    if nodes is None:  # instances that interleave: keep the graph as it is
        for c in chosen:
            taken_blocks.discard(c.block.name)
        return []
    graph.nodes = _repeats(nodes, graph)
    return [c.block for c in chosen]


def _savings(groups: list[Group]) -> float:
    """Lines saved by writing ``groups`` as instances of one block."""
    n, size = len(groups), len(groups[0].members)
    return n * size - n - size - _HEADER_LINES if n >= 2 else 0


def _finer(groups: list[Group], level: int, levels: dict[int, list[Group]]) -> float:
    """What finer blocks would save on the same nodes instead: at the best deeper level, each
    set of same-structure groups counts for the share of its instances that lie inside."""
    inside = set().union(*(g.members for g in groups))
    best = 0.0
    for deeper in (lv for lv in levels if lv > level):
        buckets: dict[tuple[Any, ...], list[Group]] = defaultdict(list)
        for g in levels[deeper]:
            buckets[g.signature].append(g)
        total = 0.0
        for same in buckets.values():
            share = sum(1 for g in same if inside.issuperset(g.members)) / len(same)
            total += share * max(0.0, _savings(same))
        best = max(best, total)
    return best


def _contract(index: Index, chosen: list[Chosen]) -> list[Node] | None:
    """The graph's nodes with every chosen group replaced by its block instance, in a
    topological order (None if that order does not exist)."""
    nodes = index.graph.nodes
    owner: dict[int, Group] = {}
    rename: dict[tuple[str, int | None], Ref] = {}
    instance: dict[str, Node] = {}
    for c in chosen:
        for k, g in enumerate(c.groups):
            owner.update((m, g) for m in g.members)
            for j, r in enumerate(g.outputs):
                rename[(r.name, r.index)] = Ref(g.prefix, j if len(g.outputs) > 1 else None)
            full = {p: column[k] for p, column in c.columns.items()}
            args = {p: v for p, v in full.items() if v != c.block.params[p]}
            wiring = g.inputs[0] if len(g.inputs) == 1 else list(g.inputs)
            instance[g.prefix] = Node(
                g.prefix,
                "block",
                c.block.name,
                args,
                full,
                wiring,
                n_outputs=len(g.outputs),
                weighted=True,
            )

    def fix(r: Ref) -> Ref:
        return rename.get((r.name, r.index), r)

    order: list[tuple[int, Node]] = []
    for i, node in enumerate(nodes):
        if i not in owner:
            order.append((i, node))
        elif i == owner[i].members[-1]:
            order.append((i, instance[owner[i].prefix]))
    for _, node in order:
        node.inputs = map_refs(node.inputs, fix)
    index.graph.outputs = map_refs(index.graph.outputs, fix)
    return _toposort(order)


def _toposort(order: list[tuple[int, Node]]) -> list[Node] | None:
    """A stable topological sort (Kahn's algorithm, the original position as priority)."""
    import heapq

    by_name = {n.name: (i, n) for i, n in order}
    deps: dict[str, set[str]] = {}
    users: dict[str, list[str]] = defaultdict(list)
    for _, node in order:
        d = {r.name for r in refs_of(node.inputs) if r.name in by_name}
        if node.kind == "share" and node.target in by_name:
            d.add(node.target)
        deps[node.name] = d
        for x in d:
            users[x].append(node.name)
    ready = [(i, n.name) for i, n in order if not deps[n.name]]
    heapq.heapify(ready)
    out: list[Node] = []
    while ready:
        _, name = heapq.heappop(ready)
        out.append(by_name[name][1])
        for u in users[name]:
            deps[u].discard(name)
            if not deps[u]:
                heapq.heappush(ready, (by_name[u][0], u))
    return out if len(out) == len(order) else None


def _repeats(nodes: list[Node], graph: Graph) -> list[Node]:
    """Runs of instances ``P_1`` .. ``P_N`` of one block, with equal params, each feeding only
    the next: one node ``P`` with ``repeat: N``."""
    taken = set(graph.inputs) | {n.name for n in nodes}
    uses: Counter[str] = Counter(r.name for n in nodes for r in refs_of(n.inputs))
    uses.update(r.name for r in refs_of(graph.outputs))
    out: list[Node] = []
    i = 0
    while i < len(nodes):
        node = nodes[i]
        m = re.fullmatch(r"(.+)_1", node.name)
        run = [node]
        if node.kind == "block" and node.n_outputs == 1 and m and m.group(1) not in taken:
            base = m.group(1)
            while i + len(run) < len(nodes):
                prev, nxt = run[-1], nodes[i + len(run)]
                if not (
                    nxt.kind == "block"
                    and nxt.target == node.target
                    and nxt.name == f"{base}_{len(run) + 1}"
                    and nxt.full == node.full
                    and nxt.inputs == Ref(prev.name)
                    and uses[prev.name] == 1
                ):
                    break
                run.append(nxt)
        if len(run) < 2:
            out.append(node)
            i += 1
            continue
        last = run[-1].name
        merged = Node(
            base,
            "block",
            node.target,
            dict(node.args),
            dict(node.full),
            node.inputs,
            n_outputs=1,
            weighted=True,
            repeat=len(run),
        )
        out.append(merged)
        rename = _renamer(last, base)
        for later in nodes[i + len(run) :]:
            later.inputs = map_refs(later.inputs, rename)
        graph.outputs = map_refs(graph.outputs, rename)
        i += len(run)
    return out


def _renamer(old: str, new: str) -> Any:
    """References to ``old`` (the last instance of a repeat) become references to ``new``."""
    return lambda r: Ref(new, r.index) if r.name == old else r
