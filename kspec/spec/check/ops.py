"""Op nodes (``{name: s, op: multiply, inputs: [x], x2: 0.5}``): the op is one of the registry's
(:mod:`kspec.layers.ops_math`, :mod:`kspec.layers.ops_shape`), its constants fit its schema, and
every tensor parameter gets exactly one operand - a reference through ``inputs`` (in parameter
order, or a mapping by name), or a constant where the op allows one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kspec.layers import OPS, Op
from kspec.spec import validate as schema
from kspec.spec.check.context import Ctx, Draft
from kspec.spec.ir import NodeInputs, Ref
from kspec.spec.loader import Path
from kspec.spec.report import did_you_mean

RefOf = Callable[[Any, Path], "Ref | None"]


def check_op_node(node: dict[str, Any], path: Path, ctx: Ctx, name: str | None) -> None:
    """The op exists, and its constants fit its schema."""
    op = node["op"]
    if not isinstance(op, str) or op not in OPS:
        ctx.rep.add(
            "KS110",
            f"unknown op {op!r}" if isinstance(op, str) else f"`op` must be an op name, got {op!r}",
            (*path, "op"),
            node=name,
            hint=(did_you_mean(op, OPS) if isinstance(op, str) else None)
            or "ops are keras.ops functions: see docs/layers.md#ops",
        )
        return
    schema.validate(f"op.{op}", node, path, ctx.rep, ctx, node=name, what=f"op {op} node {name!r}")


def free_params(op: Op, node: dict[str, Any]) -> list[str]:
    """The tensor parameters not given as constants: what ``inputs`` must fill, in order."""
    return [p for p in op.tensors if p not in node]


def op_inputs(d: Draft, ref: RefOf, ctx: Ctx, implicit: Ref | None) -> NodeInputs:
    """An op node's operands as a mapping tensor parameter -> reference(s), each checked."""
    node, name = d.node or {}, d.name
    op = OPS[node["op"]]
    free = free_params(op, node)
    raw = node.get("inputs")
    p = (*d.path, "inputs")
    pairs: list[tuple[str, Any]] = []
    if not free:
        ctx.rep.add(
            "KS210",
            f"op {op.name} needs at least one tensor: every operand is a constant",
            d.path,
            node=name,
            hint="give one of " + ", ".join(op.tensors) + " through `inputs`",
        )
        return NodeInputs("mapping", ())
    if raw is None or isinstance(raw, str):
        r = implicit if raw is None else ref(raw, p)
        if r is not None:
            pairs.append((free[0], (r,) if free[0] == op.variadic else r))
        given = 1
    elif isinstance(raw, list):
        found = [ref(x, (*p, j)) for j, x in enumerate(raw)]
        good = [r for r in found if r is not None]
        if free == [op.variadic] and op.variadic:
            pairs.append((op.variadic, tuple(good)))
            given = len(free)
        else:
            pairs.extend(zip(free, good, strict=False))
            given = len(raw)
    elif isinstance(raw, dict):
        given = _mapping(op, raw, p, ref, ctx, name, pairs)
    else:
        return NodeInputs("mapping", ())
    if isinstance(raw, dict):
        missing = [f for f in free if f not in raw]
    else:
        missing = free[given:] if given < len(free) else []
    if missing or (not isinstance(raw, dict) and given > len(free)):
        _count_error(op, free, given, missing, d, ctx)
    return NodeInputs("mapping", tuple(pairs))


def _mapping(
    op: Op,
    raw: dict[str, Any],
    p: Path,
    ref: RefOf,
    ctx: Ctx,
    name: str | None,
    pairs: list[tuple[str, Any]],
) -> int:
    for key, val in raw.items():
        if key not in op.tensors:
            ctx.rep.add(
                "KS211",
                f"op {op.name} has no tensor parameter `{key}`",
                (*p, key),
                key=True,
                node=name,
                hint=did_you_mean(key, op.tensors) or "its tensors: " + ", ".join(op.tensors),
            )
            continue
        if isinstance(val, list):
            refs = tuple(r for j, x in enumerate(val) if (r := ref(x, (*p, key, j))) is not None)
            pairs.append((key, refs))
        elif (r := ref(val, (*p, key))) is not None:
            pairs.append((key, (r,) if key == op.variadic else r))
    return len(raw)


def _count_error(
    op: Op, free: list[str], given: int, missing: list[str], d: Draft, ctx: Ctx
) -> None:
    constants = [c for c in op.constants if c in free]
    also = f" (or give {' or '.join(constants)} as a constant)" if constants else ""
    if missing:
        message = f"op {op.name} needs {', '.join(missing)}: give them in `inputs`{also}"
    else:
        message = f"op {op.name} takes {len(free)} tensor(s) ({', '.join(free)}), got {given}"
    where = (*d.path, "inputs") if (d.node or {}).get("inputs") is not None else d.path
    ctx.rep.add("KS210", message, where, node=d.name)
