"""Candidate groups for the block finder (:mod:`kspec.importer.blocks`): the nodes whose names
share a prefix, checked to be a sub-graph a block can replace, with a signature that equal
structures share."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from kspec.importer.ir import Graph, Node, Ref, map_refs, refs_of


@dataclass
class Group:
    """The nodes (positions ``members``) named ``prefix_...``: the tensors they read from
    outside, those read outside, each member's name inside a block, the signature that same
    structures share, and the argument values by (inner name, argument path)."""

    prefix: str
    members: list[int]
    inputs: list[Ref]
    outputs: list[Ref]
    inner: dict[int, str]
    signature: tuple[Any, ...]
    values: dict[tuple[Any, ...], Any] = field(default_factory=dict)


class Index:
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


def grouping_names(index: Index) -> list[str]:
    """The name each node is grouped by: its own, or for a weightless node with a made-up
    name, the grouping name of the latest node it reads from."""
    out: list[str] = []
    for i, node in enumerate(index.graph.nodes):
        deps = index.deps[i]
        if node.anonymous and deps:
            out.append(out[max(deps)] + "_" + base_name(node))
        else:
            out.append(node.name)
    return out


def base_name(node: Node) -> str:
    """An anonymous node's name in a block: its op or layer kind (``add``, ``re_lu``)."""
    return re.sub(r"_[0-9]+\Z", "", node.name) or "node"


def candidates(index: Index, names: list[str]) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(names):
        parts = name.split("_")
        for k in range(1, len(parts)):
            prefix = "_".join(parts[:k])
            if prefix and not prefix[0].isdigit() and not prefix.endswith("_"):
                groups[prefix].append(i)
    return {p: m for p, m in groups.items() if len(m) >= 2 and p not in index.taken}


def group(index: Index, names: list[str], prefix: str, members: list[int]) -> Group | None:
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
    return signature_group(index, prefix, members, inputs, outputs, inner)


def _inner_names(
    nodes: list[Node], names: list[str], prefix: str, members: list[int]
) -> dict[int, str] | None:
    inner: dict[int, str] = {}
    used: Counter[str] = Counter()
    for m in members:
        node = nodes[m]
        if node.anonymous and names[m] != node.name:
            base = base_name(node)
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


def signature_group(
    index: Index,
    prefix: str,
    members: list[int],
    inputs: list[Ref],
    outputs: list[Ref],
    inner: dict[int, str],
) -> Group:
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
        flat = flatten_args(node.full)
        sig.append(
            (
                inner[m],
                node.kind,
                target,
                tuple(flat),
                repr(wiring),
                repr(node.call),
                node.n_outputs,
                node.repeat,
            )
        )
        for path, value in flat.items():
            values[(inner[m], *path)] = value
    sig.append(tuple(repr(local(r)) for r in outputs))
    return Group(prefix, members, inputs, outputs, inner, tuple(sig), values)


def flatten_args(args: dict[str, Any], path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Argument values by path; nested mappings (``{type: HeNormal, seed: 1}``) are walked."""
    out: dict[tuple[str, ...], Any] = {}
    for key, value in args.items():
        if isinstance(value, dict):
            out.update(flatten_args(value, (*path, key)))
        else:
            out[(*path, key)] = value
    return out
