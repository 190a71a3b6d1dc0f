"""A block from its instances (:mod:`kspec.importer.blocks`): the body (the first instance's
nodes under their inner names), the params (arguments whose values differ between instances,
related values written as expressions), the block's name."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from kspec.importer.groups import Group, Index
from kspec.importer.ir import Block, Expr, Graph, Node, Ref, map_refs

_RESERVED = {
    "name",
    "dtype",
    "trainable",
    "autocast",
    "inputs",
    "outputs",
    "input_shape",
    "batch_input_shape",
    "dynamic",
}


@dataclass
class Chosen:
    """Instances chosen to become one block: the groups, the block, each param's values."""

    groups: list[Group]
    block: Block
    columns: dict[str, list[Any]]  # param -> its value in each instance


def make_block(
    groups: list[Group], index: Index, taken: set[str], env: dict[str, Any]
) -> Chosen | None:
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
            Node(
                inner,
                node.kind,
                target,
                args,
                args,
                map_refs(node.inputs, local),
                dict(node.call),
                node.n_outputs,
                node.weighted,
                False,
                node.repeat,
            )
        )
    outs = [local(r) for r in first.outputs]
    graph = Graph({n: {} for n in in_names}, body, outs[0] if len(outs) == 1 else outs)
    defaults = {p: v for p, (v, _) in params.items()}
    columns = {p: c for p, (_, c) in params.items()}
    return Chosen(groups, Block(name, defaults, graph), columns)


def _params(
    groups: list[Group], env: dict[str, Any]
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


def _relation(key: str, column: list[Any], params: dict[str, tuple[Any, list[Any]]]) -> str | None:
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
                varies = any(p[: len(here) + 1] == (inner, *here) for p in exprs)
                if key in shown or varies:
                    sub = shown.get(key)
                    out[key] = walk(value, sub if isinstance(sub, dict) else value, here)
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
