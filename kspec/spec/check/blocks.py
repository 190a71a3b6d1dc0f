"""The block stage: what a block node needs of its block, each block's nodes checked with its
defaults and again with every distinct set of params an instance gives it, and recursion.
"""

from __future__ import annotations

from typing import Any

from kspec.spec.check.context import BlockSig, Ctx, Draft
from kspec.spec.check.nodes import check_node
from kspec.spec.check.values import evaluate_value
from kspec.spec.loader import Path

#: Distinct (block, params) uses whose nodes are checked one by one; past it, the rest are
#: checked through the walk's shape rules only (a hostile spec can use a block with thousands
#: of param sets).
MAX_INSTANCE_CHECKS = 1000


def signatures(blocks: dict[str, Any], envs: dict[str, dict[str, Any]]) -> dict[str, BlockSig]:
    """Each well-formed block's input names, output count and default params."""
    sigs: dict[str, BlockSig] = {}
    for b, v in blocks.items():
        if isinstance(v, dict) and isinstance(v.get("inputs"), list):
            outs = v.get("outputs")
            sigs[b] = BlockSig(
                [str(x) for x in v["inputs"]], len(outs) if isinstance(outs, list) else 1, envs[b]
            )
    return sigs


def drafts(sym_layers: Any, ev_layers: Any, base: Path) -> list[Draft]:
    """The drafts of a ``layers`` list (as written, and evaluated)."""
    if not isinstance(ev_layers, list) or not isinstance(sym_layers, list):
        return []
    pairs = zip(sym_layers, ev_layers, strict=True)
    return [Draft((*base, i), s, e) for i, (s, e) in enumerate(pairs)]


def check_instances(
    blocks_sym: dict[str, Any],
    blocks_ev: dict[str, Any],
    model_nodes: list[Draft],
    ctx: Ctx,
    sigs: dict[str, BlockSig],
) -> None:
    """Check each block's nodes with its defaults, and again for each instance's params."""
    for b, v in blocks_ev.items():
        if isinstance(v, dict) and isinstance(v.get("layers"), list):
            for d in drafts(blocks_sym[b].get("layers"), v["layers"], ("blocks", b, "layers")):
                check_node(d, ctx, sigs)
    # instances: every distinct set of params a block is used with
    seen: set[tuple[str, str]] = set()
    uses: list[tuple[str, dict[str, Any]]] = []

    def collect(nodes: list[Any]) -> None:
        for node in nodes:
            if isinstance(node, dict) and node.get("block") in sigs:
                b = node["block"]
                values = {k: node[k] for k in node if k in sigs[b].params}
                inst_env = {**sigs[b].params, **values}
                key = (b, repr(sorted(inst_env.items(), key=lambda kv: kv[0])))
                if key not in seen and len(seen) < MAX_INSTANCE_CHECKS:
                    seen.add(key)
                    uses.append((b, inst_env))

    collect([d.ev for d in model_nodes])
    k = 0
    while k < len(uses):
        b, inst_env = uses[k]
        k += 1
        base = ("blocks", b, "layers")
        sym_layers = blocks_sym[b].get("layers")
        nodes = evaluate_value(sym_layers, inst_env, base, ctx)
        for d in drafts(sym_layers, nodes, base):
            check_node(d, ctx, sigs)
        collect(nodes if isinstance(nodes, list) else [])


def check_recursion(blocks: dict[str, Any], ctx: Ctx) -> None:
    """A block may not contain itself, directly or through others (KS207, once per cycle)."""
    uses = {
        b: {n.get("block") for n in v.get("layers", []) if isinstance(n, dict) and "block" in n}
        if isinstance(v, dict) and isinstance(v.get("layers"), list)
        else set()
        for b, v in blocks.items()
    }
    reported: set[str] = set()
    for start in uses:
        stack = [(start, [start])]
        visited: set[str] = set()
        while stack:
            b, trail = stack.pop()
            for nxt in sorted(x for x in uses.get(b, ()) if isinstance(x, str)):
                if nxt == start:
                    if start not in reported:
                        reported.update(trail)
                        ctx.rep.add(
                            "KS207",
                            "block recursion: " + " -> ".join([*trail, start]),
                            ("blocks", start),
                            key=True,
                            hint="a block cannot contain itself, directly or not",
                        )
                    break
                if nxt not in visited and nxt in uses:
                    visited.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
