"""Repeats found by structure, for graphs whose names tell nothing: a run of the same nodes,
applied one after another, becomes one block with ``repeat: N``.

A model built by calling a Python function in a loop (a Transformer encoder layer written as
``def transformer_encoder(x): ...``, called four times) has the names Keras made up
(``multi_head_attention_2``, ``conv1d_5``), so :mod:`kspec.importer.groups` finds no prefix to
group by. Its structure still repeats, in the graph's topological order:

1. **Tokens.** Each node becomes a token: its kind, type, every argument value, its call
   arguments and its wiring *relative to its own position* (``the node 3 before me``; the
   graph's inputs stand just before its first node). Equal tokens are interned to one integer.
2. **Periods.** For each period ``L`` (2 to :data:`MAX_PERIOD`), the positions whose token
   equals the token ``L`` further on form runs; a run of at least ``L`` such positions holds
   two or more consecutive copies of ``L`` nodes. Linear in the nodes for each period.
3. **Chains.** A copy is an instance when the only tensor it reads from outside is the output
   of the copy before it (for the first, one tensor from before the run), and the only node
   read from outside is its last one. Each start within the first period is tried (the copy
   must begin where one tensor passes), and the run is cut at the first copy that is not an
   instance.
4. **Worth it.** The run that saves the most lines wins, and the search goes on over the
   nodes left. Equal copies first: one node with ``repeat: N``. Then, with tokens that leave
   argument values out, copies that differ in at most :data:`MAX_PARAMS` values (a U-Net's
   stages, whose filters double): instances of a block with params
   (:func:`kspec.importer.blockdefs.make_block`). The block's layers keep their names
   without Keras' numbering (``conv1d``, ``conv1d_2``).

Only nodes whose names Keras made up take part (:func:`made_up`): a layer someone named keeps
its name, and its weights stay matched by name.

The names inside the block no longer spell the original model's (they were made up): such
layers correspond by order instead (:func:`kspec.importer.weights.copy_weights`).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from kspec.importer import groups as grouping
from kspec.importer.groups import Group, Index
from kspec.importer.ir import Node, Ref, map_refs, refs_of

MAX_PERIOD = 120  # nodes in one instance: more than a Transformer layer or an MBConv block
MAX_PARAMS = 4  # arguments that may differ between instances: more would not read as one block
_HEADER_LINES = 5  # a block's name, params, inputs, layers and outputs lines


def chains(index: Index, claimed: set[int]) -> list[list[Group]]:
    """Runs of chained instances among the nodes not ``claimed``, best first; each run is the
    groups (instances) of one block, named ``STEM_1`` .. ``STEM_N``. First runs of equal
    copies (one node with ``repeat:``), then runs whose copies differ in argument values only
    (instances with params: the filters of a U-Net's stages)."""
    found: list[list[Group]] = []
    taken = set(index.taken)
    for equal in (True, False):
        ids = _tokens(index, claimed, equal)
        while (best := _best_run(index, ids, equal)) is not None:
            s, period, count = best
            stem = _stem(index, range(s, s + period), count, taken)
            names = _inner(index, s, period)
            found.append(
                [
                    _group(index, s + k * period, period, f"{stem}_{k + 1}", names)
                    for k in range(count)
                ]
            )
            taken.update({stem, *(f"{stem}_{k + 1}" for k in range(count))})
            for i in range(s, s + period * count):
                ids[i] = -1 - i  # claimed: equal to nothing
            claimed.update(range(s, s + period * count))
    return found


def _tokens(index: Index, claimed: set[int], values: bool) -> list[int]:
    """Each node's token (a negative number, unique, for a node that takes no part);
    ``values``: argument values count (else only which arguments are given)."""
    nodes = index.graph.nodes
    # the graph's inputs sit just before the first node: a first instance that reads the
    # model's input then reads it from where later instances read the one before them
    pos = {name: -1 - k for k, name in enumerate(index.graph.inputs)} | index.pos
    interned: dict[Any, int] = {}
    out: list[int] = []
    for i, node in enumerate(nodes):
        shared = node.kind == "share" or bool(index.shared_by.get(node.name))
        if i in claimed or shared or not made_up(node):
            out.append(-1 - i)
            continue

        flat = grouping.flatten_args(node.full)

        def rel(r: Ref, i: int = i) -> Any:
            p = pos.get(r.name)
            return ("input", r.name, r.index) if p is None else ("node", i - p, r.index)

        token = (
            node.kind,
            node.target,
            repr(sorted(flat.items()) if values else sorted(flat)),
            repr(map_refs(node.inputs, rel)),
            repr(node.call),
            node.n_outputs,
            node.repeat,
        )
        out.append(interned.setdefault(token, len(interned)))
    return out


def made_up(node: Node) -> bool:
    """Whether Keras made the node's name up: an op's (``add_3``), or a layer's class name in
    snake case with a number (``conv1d_5``, ``multi_head_attention``). Named layers
    (``conv_dw_6``) keep their names, and with them the correspondence of weights by name."""
    if node.kind == "op":
        return node.anonymous
    if node.kind != "type":
        return False
    cls = node.target.rsplit(".", 1)[-1]
    snake = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", cls))
    snake = re.sub("([a-z])([A-Z])", r"\1_\2", snake).lower()  # keras' to_snake_case
    return re.fullmatch(re.escape(snake) + r"(_[0-9]+)?", node.name) is not None


def _best_run(index: Index, ids: list[int], equal: bool) -> tuple[int, int, int] | None:
    """The (start, period, count) of the chained run that saves the most lines; ``equal``:
    the copies are equal (one node with ``repeat:``), else one node per instance."""
    n = len(ids)
    best: tuple[int, tuple[int, int, int]] | None = None
    for period in range(2, min(MAX_PERIOD, n // 2) + 1):
        a = 0
        while a + period < n:
            if ids[a] < 0 or ids[a] != ids[a + period]:
                a += 1
                continue
            b = a
            while b + 1 + period < n and ids[b + 1] >= 0 and ids[b + 1] == ids[b + 1 + period]:
                b += 1
            # positions a..b equal those `period` on: copies start at s, s + period, ...
            for s in range(a, min(a + period, b - period + 2)):
                count = _chained(index, s, period, (b - s + 1) // period + 1)
                if count < 2:
                    continue
                saved = count * period - period - _HEADER_LINES - (1 if equal else count)
                better = saved > 0 and (best is None or saved > best[0])
                if better and (equal or _varying(index, s, period, count) <= MAX_PARAMS):
                    best = (saved, (s, period, count))
            a = b + 1
    return best[1] if best else None


def _varying(index: Index, s: int, period: int, count: int) -> int:
    """How many arguments differ between the copies (the block's params, at most)."""
    nodes = index.graph.nodes
    flats = [
        [grouping.flatten_args(nodes[s + k * period + j].full) for j in range(period)]
        for k in range(count)
    ]
    return sum(
        1
        for j in range(period)
        for path, value in flats[0][j].items()
        if any(flats[k][j].get(path) != value for k in range(1, count))
    )


def _chained(index: Index, s: int, period: int, count: int) -> int:
    """How many of the ``count`` copies from ``s`` on are instances of a chain."""
    previous: Ref | None = None
    for k in range(count):
        lo, hi = s + k * period, s + (k + 1) * period
        inputs = _read_from_outside(index, lo, hi)
        if len(inputs) != 1 or (previous is not None and inputs != [previous]):
            return k
        if _read_outside(index, lo, hi) != [hi - 1]:
            return k
        previous = Ref(index.graph.nodes[hi - 1].name)
    return count


def _read_from_outside(index: Index, lo: int, hi: int) -> list[Ref]:
    """The tensors the members (positions lo..hi-1) read from outside, each once, in order."""
    nodes = index.graph.nodes
    return list(
        dict.fromkeys(
            r
            for m in range(lo, hi)
            for r in refs_of(nodes[m].inputs)
            if not lo <= index.pos.get(r.name, -1) < hi
        )
    )


def _read_outside(index: Index, lo: int, hi: int) -> list[int]:
    """The members (positions lo..hi-1) that nodes outside, or the graph's outputs, read."""
    out = []
    for m in range(lo, hi):
        name = index.graph.nodes[m].name
        users = any(not lo <= u < hi for u in index.users[m])
        if users or any(o[0] == name for o in index.output_refs):
            out.append(m)
    return out


def _group(index: Index, lo: int, period: int, prefix: str, names: list[str]) -> Group:
    members = list(range(lo, lo + period))
    inputs = _read_from_outside(index, lo, lo + period)
    outputs = [Ref(index.graph.nodes[members[-1]].name)]
    inner = {m: names[j] for j, m in enumerate(members)}
    return grouping.signature_group(index, prefix, members, inputs, outputs, inner)


def _inner(index: Index, lo: int, period: int) -> list[str]:
    """The names in the block, from the first instance's: without Keras' numbering, unique."""
    used: Counter[str] = Counter()
    inner: list[str] = []
    for m in range(lo, lo + period):
        base = grouping.base_name(index.graph.nodes[m])
        used[base] += 1
        inner.append(base if used[base] == 1 else f"{base}_{used[base]}")
    return inner


def _stem(index: Index, members: range, count: int, taken: set[str]) -> str:
    """The instances' name: the first layer with weights that is not a normalization (a
    Transformer layer's attention, a residual unit's convolution), ``_block``; neither it nor
    the ``count`` instance names ``STEM_1`` .. are taken."""
    nodes = index.graph.nodes
    weighted = [nodes[m] for m in members if nodes[m].weighted]
    telling = [n for n in weighted if "Normalization" not in n.target]
    first = (telling or weighted or [nodes[members[0]]])[0]
    base = grouping.base_name(first) + "_block"
    stem, k = base, 2
    while stem in taken or any(f"{stem}_{j}" in taken for j in range(1, count + 1)):
        stem, k = f"{base}{k}", k + 1
    return stem
