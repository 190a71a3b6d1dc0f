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
from dataclasses import dataclass, field
from typing import Any

from kspec.importer.ir import Block, Expr, Graph, Imported, Node, Ref, map_refs, refs_of

_RESERVED = {"name", "dtype", "trainable", "autocast", "inputs", "outputs", "input_shape",
             "batch_input_shape", "dynamic"}  # fmt: skip
_HEADER_LINES = 5  # name, params, inputs, layers, outputs


@dataclass
class _Group:
    prefix: str
    members: list[int]
    inputs: list[Ref]
    outputs: list[Ref]
    inner: dict[int, str]
    signature: tuple[Any, ...]
    values: dict[tuple[Any, ...], Any] = field(default_factory=dict)


@dataclass
class _Chosen:
    groups: list[_Group]
    block: Block
    columns: dict[str, list[Any]]  # param -> its value in each instance


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


# -- one graph -------------------------------------------------------------------------------


class _Index:
    """Positions, producers and consumers of a graph's nodes."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.pos = {n.name: i for i, n in enumerate(graph.nodes)}
        self.deps: list[set[int]] = []
        self.users: list[set[int]] = [set() for _ in graph.nodes]
        for i, node in enumerate(graph.nodes):
            deps = {self.pos[r.name] for r in refs_of(node.inputs) if r.name in self.pos}
            if node.kind == "share" and node.target in self.pos:
                deps.add(self.pos[node.target])  # a share comes after its layer's node
            self.deps.append(deps)
            for d in deps:
                self.users[d].add(i)
        self.output_refs = {(r.name, r.index) for r in refs_of(graph.outputs)}
        self.shared_by: dict[str, list[int]] = defaultdict(list)
        for i, node in enumerate(graph.nodes):
            if node.kind == "share":
                self.shared_by[node.target].append(i)
        self.taken = set(graph.inputs) | set(self.pos)


def _grouping_names(index: _Index) -> list[str]:
    """The name each node is grouped by: its own, or for a weightless node with a made-up
    name, the grouping name of the latest node it reads from."""
    out: list[str] = []
    for i, node in enumerate(index.graph.nodes):
        deps = index.deps[i]
        if node.anonymous and deps:
            out.append(out[max(deps)] + "_" + _base(node))
        else:
            out.append(node.name)
    return out


def _base(node: Node) -> str:
    """An anonymous node's name in a block: its op or layer kind (``add``, ``re_lu``)."""
    return re.sub(r"_[0-9]+\Z", "", node.name) or "node"


def _candidates(index: _Index, names: list[str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(names):
        parts = name.split("_")
        for k in range(1, len(parts)):
            prefix = "_".join(parts[:k])
            if prefix and not prefix[0].isdigit() and not prefix.endswith("_"):
                groups[prefix].append(i)
    return {p: m for p, m in groups.items() if len(m) >= 2 and p not in index.taken}


def _factor(graph: Graph, taken_blocks: set[str], env: dict[str, Any]) -> list[Block]:
    """Find blocks in one graph (``env``: the params of the block it is the body of)."""
    index = _Index(graph)
    names = _grouping_names(index)
    candidates = _candidates(index, names)
    levels: dict[int, list[_Group]] = defaultdict(list)
    for prefix in sorted(candidates, key=lambda p: (p.count("_"), candidates[p][0])):
        group = _group(index, names, prefix, candidates[prefix])
        if group is not None:
            levels[prefix.count("_")].append(group)
    claimed: set[int] = set()
    chosen: list[_Chosen] = []
    for level in sorted(levels):
        buckets: dict[tuple[Any, ...], list[_Group]] = defaultdict(list)
        for group in levels[level]:
            if not claimed.intersection(group.members):
                buckets[group.signature].append(group)
        for groups in buckets.values():
            if _savings(groups) <= max(0.0, _finer(groups, level, levels)):
                continue
            made = _make_block(groups, index, taken_blocks, env)
            if made is None:
                continue
            chosen.append(made)
            for g in groups:
                claimed.update(g.members)
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


def _savings(groups: list[_Group]) -> float:
    """Lines saved by writing ``groups`` as instances of one block."""
    n, size = len(groups), len(groups[0].members)
    return n * size - n - size - _HEADER_LINES if n >= 2 else 0


def _finer(groups: list[_Group], level: int, levels: dict[int, list[_Group]]) -> float:
    """What finer blocks would save on the same nodes instead: at the best deeper level, each
    set of same-structure groups counts for the share of its instances that lie inside."""
    inside = set().union(*(g.members for g in groups))
    best = 0.0
    for deeper in (lv for lv in levels if lv > level):
        buckets: dict[tuple[Any, ...], list[_Group]] = defaultdict(list)
        for g in levels[deeper]:
            buckets[g.signature].append(g)
        total = 0.0
        for same in buckets.values():
            share = sum(1 for g in same if inside.issuperset(g.members)) / len(same)
            total += share * max(0.0, _savings(same))
        best = max(best, total)
    return best


# -- a candidate group -----------------------------------------------------------------------


def _group(index: _Index, names: list[str], prefix: str, members: list[int]) -> _Group | None:
    nodes = index.graph.nodes
    mset = set(members)
    lo, hi = members[0], members[-1]
    # no path out of the group and back in: an outside node between its first and last
    # member that reads from it must not be read by it
    tainted: set[int] = set()
    for j in range(lo + 1, hi):
        if j not in mset and index.deps[j] & (mset | tainted):
            tainted.add(j)
    if any(index.deps[m] & tainted for m in members):
        return None
    for m in members:
        node = nodes[m]
        if node.kind == "share" and index.pos.get(node.target) not in mset:
            return None
        if any(s not in mset for s in index.shared_by.get(node.name, ())):
            return None
    inputs: list[Ref] = []
    for m in members:
        for r in refs_of(nodes[m].inputs):
            if index.pos.get(r.name) not in mset and r not in inputs:
                inputs.append(r)
    outputs: list[Ref] = []
    for m in members:
        node = nodes[m]
        used = {
            (r.name, r.index)
            for u in index.users[m]
            if u not in mset
            for r in refs_of(nodes[u].inputs)
            if r.name == node.name
        } | {o for o in index.output_refs if o[0] == node.name}
        outputs += [Ref(node.name, i) for _, i in sorted(used, key=lambda o: o[1] or 0)]
    if not inputs or not outputs:
        return None
    inner = _inner_names(nodes, names, prefix, members)
    if inner is None:
        return None
    return _signature(index, prefix, members, inputs, outputs, inner)


def _inner_names(
    nodes: list[Node], names: list[str], prefix: str, members: list[int]
) -> dict[int, str] | None:
    inner: dict[int, str] = {}
    used: Counter[str] = Counter()
    for m in members:
        node = nodes[m]
        if node.anonymous and names[m] != node.name:
            base = _base(node)
        else:
            base = node.name[len(prefix) + 1 :]
            if not base:
                return None
            if base[0].isdigit():
                base = "n_" + base  # spec names start with a letter (names.spec_name)
        used[base] += 1
        inner[m] = base if used[base] == 1 else f"{base}_{used[base]}"
    if len(set(inner.values())) != len(inner):
        return None
    return inner


def _signature(
    index: _Index,
    prefix: str,
    members: list[int],
    inputs: list[Ref],
    outputs: list[Ref],
    inner: dict[int, str],
) -> _Group:
    nodes = index.graph.nodes
    local_of = {nodes[m].name: inner[m] for m in members}

    def local(r: Ref) -> Any:
        if r.name in local_of:
            return ("node", local_of[r.name], r.index)
        return ("input", inputs.index(r))

    sig: list[Any] = [len(inputs)]
    values: dict[tuple[Any, ...], Any] = {}
    for m in members:
        node = nodes[m]
        target = local_of.get(node.target, node.target) if node.kind == "share" else node.target
        wiring = map_refs(node.inputs, local)
        flat = _flatten(node.full)
        sig.append(
            (inner[m], node.kind, target, tuple(flat), repr(wiring), repr(node.call),
             node.n_outputs, node.repeat)  # fmt: skip
        )
        for path, value in flat.items():
            values[(inner[m], *path)] = value
    sig.append(tuple(repr(local(r)) for r in outputs))
    return _Group(prefix, members, inputs, outputs, inner, tuple(sig), values)


def _flatten(args: dict[str, Any], path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Argument values by path; nested mappings (``{type: HeNormal, seed: 1}``) are walked."""
    out: dict[tuple[str, ...], Any] = {}
    for key, value in args.items():
        if isinstance(value, dict):
            out.update(_flatten(value, (*path, key)))
        else:
            out[(*path, key)] = value
    return out


# -- a block from its instances --------------------------------------------------------------


def _make_block(
    groups: list[_Group], index: _Index, taken: set[str], env: dict[str, Any]
) -> _Chosen | None:
    first = groups[0]
    params, exprs = _params(groups, env)
    if params is None:
        return None
    name = block_name(first.prefix, taken)
    nodes = index.graph.nodes
    in_names = _input_names(len(first.inputs), set(first.inner.values()))
    local_of = {nodes[m].name: first.inner[m] for m in first.members}

    def local(r: Ref) -> Ref:
        if r.name in local_of:
            return Ref(local_of[r.name], r.index)
        return Ref(in_names[first.inputs.index(r)])

    body: list[Node] = []
    for m in first.members:
        node = nodes[m]
        inner = first.inner[m]
        args = _body_args(node, inner, exprs)
        target = local_of.get(node.target, node.target) if node.kind == "share" else node.target
        body.append(
            Node(inner, node.kind, target, args, args, map_refs(node.inputs, local),
                 dict(node.call), node.n_outputs, node.weighted, False, node.repeat)  # fmt: skip
        )
    outs = [local(r) for r in first.outputs]
    graph = Graph({n: {} for n in in_names}, body, outs[0] if len(outs) == 1 else outs)
    defaults = {p: v for p, (v, _) in params.items()}
    columns = {p: c for p, (_, c) in params.items()}
    return _Chosen(groups, Block(name, defaults, graph), columns)


def _params(
    groups: list[_Group], env: dict[str, Any]
) -> tuple[dict[str, tuple[Any, list[Any]]] | None, dict[tuple[Any, ...], Expr]]:
    """The block's params (name -> (default, values per instance)) and, for every argument
    that varies, the expression the body writes for it (``$filters``, ``${filters * 4}``).
    Inside a block body, a value that is already an expression over the enclosing block's
    params keeps its text: the params it names become params of the new block too, which
    each instance passes on (``filters: $filters``)."""
    params: dict[str, tuple[Any, list[Any]]] = {}
    exprs: dict[tuple[Any, ...], Expr] = {}
    columns = {path: [g.values[path] for g in groups] for path in groups[0].values}
    for path, column in columns.items():
        if not any(isinstance(v, Expr) for v in column):
            continue
        if any(v != column[0] for v in column):
            return None, {}
        for name in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", column[0]):
            if name in env and name not in params:
                params[name] = (env[name], [Expr(f"${name}")] * len(groups))
        exprs[path] = column[0]
    varying = [p for p, c in columns.items() if p not in exprs and any(v != c[0] for v in c)]
    # the smallest of related values first, so that the others are its multiples
    varying.sort(key=lambda p: (p[-1], _smallest(columns[p])))
    for path in varying:
        column = columns[path]
        if any(isinstance(v, dict) for v in column):
            return None, {}
        expr = _relation(path[-1], column, params)
        if expr is None:
            pname = _param_name(path[-1], params)
            params[pname] = (_most_common(column), column)
            expr = f"${pname}"
        exprs[path] = Expr(expr)
    return params, exprs


def _smallest(column: list[Any]) -> float:
    numbers = [abs(v) for v in column if isinstance(v, int | float) and not isinstance(v, bool)]
    return min(numbers) if len(numbers) == len(column) else float("inf")


def _relation(
    key: str, column: list[Any], params: dict[str, tuple[Any, list[Any]]]
) -> str | None:
    """An existing param with the same values, or, for the same argument name (``filters``
    of two layers), one of which these are a whole multiple or fraction."""
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in column)
    for pname, (_, values) in params.items():
        if any(isinstance(v, Expr) for v in values):
            continue
        if values == column:
            return f"${pname}"
        if re.sub(r"_[0-9]+\Z", "", pname) != key:
            continue
        if not ints or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            continue
        pairs = list(zip(column, values, strict=True))
        if all(v != 0 and c % v == 0 for c, v in pairs):
            ratios = {c // v for c, v in pairs}
            if len(ratios) == 1 and (k := ratios.pop()) > 1:
                return f"${{{pname} * {k}}}"
        if all(c != 0 and v % c == 0 for c, v in pairs):
            ratios = {v // c for c, v in pairs}
            if len(ratios) == 1 and (k := ratios.pop()) > 1:
                return f"${{{pname} // {k}}}"
    return None


def _param_name(key: str, params: dict[str, Any]) -> str:
    base = key if key.isidentifier() and key not in _RESERVED else f"{key}_value"
    out, k = base, 2
    while out in params:
        out, k = f"{base}_{k}", k + 1
    return out


def _most_common(column: list[Any]) -> Any:
    counts = Counter(repr(v) for v in column)
    best = max(counts.values())
    return next(v for v in column if counts[repr(v)] == best)


def _body_args(node: Node, inner: str, exprs: dict[tuple[Any, ...], Expr]) -> dict[str, Any]:
    """The body node's arguments: the first instance's, with every varying value replaced by
    its param expression (a varying argument is written even where it is Keras' default)."""

    def walk(full: dict[str, Any], shown: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in full.items():
            here = (*path, key)
            if isinstance(value, dict):
                if key in shown or any(p[: len(here)] == here for p in exprs):
                    sub = shown.get(key) if isinstance(shown.get(key), dict) else value
                    out[key] = walk(value, sub, here)
            elif (inner, *here) in exprs:
                out[key] = exprs[(inner, *here)]
            elif key in shown:
                out[key] = shown[key]
        return out

    return walk(node.full, node.args, ())


def block_name(prefix: str, taken: set[str]) -> str:
    """``conv2_block1`` -> ``conv_block``: the prefix without its numbering."""
    base = re.sub(r"[0-9]+[a-z]?(?=_|\Z)", "", prefix)
    base = re.sub(r"_+", "_", base).strip("_") or "block"
    if not base[0].isalpha():
        base = "block_" + base
    out, k = base, 2
    while out in taken:
        out, k = f"{base}_{k}", k + 1
    taken.add(out)
    return out


def _input_names(count: int, inner: set[str]) -> list[str]:
    wanted = ["x"] if count == 1 else [f"x{i}" for i in range(1, count + 1)]
    out = []
    for w in wanted:
        name = w
        while name in inner:
            name += "_"
        out.append(name)
    return out


# -- rewriting the graph ---------------------------------------------------------------------


def _contract(index: _Index, chosen: list[_Chosen]) -> list[Node] | None:
    """The graph's nodes with every chosen group replaced by its block instance, in a
    topological order (None if that order does not exist)."""
    nodes = index.graph.nodes
    owner: dict[int, _Group] = {}
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
            instance[g.prefix] = Node(g.prefix, "block", c.block.name, args, full, wiring,
                                      n_outputs=len(g.outputs), weighted=True)  # fmt: skip

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
        merged = Node(base, "block", node.target, dict(node.args), dict(node.full),
                      node.inputs, n_outputs=1, weighted=True, repeat=len(run))  # fmt: skip
        out.append(merged)
        for later in nodes[i + len(run) :]:
            later.inputs = map_refs(later.inputs, lambda r: Ref(base, r.index) if r.name == last else r)
        graph.outputs = map_refs(graph.outputs, lambda r: Ref(base, r.index) if r.name == last else r)
        i += len(run)
    return out
