"""The value stage: expression strings become parsed ``Expr`` values (anywhere a value may be
one), structural positions are refused any, and values are evaluated with the params in force.

Errors are reported where the expression is written; a value whose expression failed becomes
None and its path is remembered (``Ctx.failed``) so no later stage reports it again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kspec.spec.check.context import Ctx
from kspec.spec.expressions import Expr, ExprError, evaluate, is_expression, parse_value
from kspec.spec.loader import Path
from kspec.spec.report import did_you_mean

# Keys of a node that are structure, not argument values: no expressions there.
NODE_STRUCTURAL = ("name", "type", "share", "block", "inputs")


def symbolic(value: Any, path: Path, ctx: Ctx) -> Any:
    """Replace expression strings by :class:`Expr` (anywhere inside ``value``)."""
    if isinstance(value, str):
        if not value.startswith("$"):
            return value
        try:
            parsed = parse_value(value)
        except ExprError as exc:
            ctx.rep.add(exc.code, exc.message, path, hint=exc.hint)
            ctx.failed.add(path)
            return None
        if isinstance(parsed, Expr):
            ctx.expr_paths[path] = parsed
        return parsed
    if isinstance(value, list):
        return [symbolic(v, (*path, i), ctx) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: symbolic(v, (*path, k), ctx) for k, v in value.items()}
    return value


def no_expressions(value: Any, path: Path, ctx: Ctx, where: str) -> None:
    """Structural positions (names, references, types, param defaults) take no expressions."""
    if is_expression(value):
        ctx.failed.add(path)
        ctx.rep.add(
            "KS306",
            f"expressions are not allowed in {where}",
            path,
            hint="only argument values can be expressions; write the value itself",
        )
    elif isinstance(value, list):
        for i, v in enumerate(value):
            no_expressions(v, (*path, i), ctx, where)
    elif isinstance(value, dict):
        for k, v in value.items():
            no_expressions(v, (*path, k), ctx, where)


def symbolic_node(node: Any, path: Path, ctx: Ctx) -> Any:
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in NODE_STRUCTURAL or (key == "trainable" and "block" in node):
            no_expressions(value, (*path, key), ctx, f"`{key}`")
            out[key] = value
        else:
            out[key] = symbolic(value, (*path, key), ctx)
    return out


def evaluate_value(value: Any, env: Mapping[str, Any], path: Path, ctx: Ctx) -> Any:
    """The plain value of ``value`` under ``env`` (errors reported, the value becomes None)."""
    if isinstance(value, Expr):
        try:
            result = evaluate(value, env)
        except ExprError as exc:
            hint = exc.hint
            if exc.code == "KS303":
                unknown = next(iter(value.names - set(env)), "")
                hint = (
                    "in expressions write True, False and None (Python's spelling)"
                    if unknown in ("true", "false", "null")
                    else did_you_mean(unknown, env) or "params here: " + (", ".join(env) or "none")
                )
            ctx.rep.add(exc.code, exc.message, path, hint=hint)
            ctx.failed.add(path)
            return None
        if isinstance(result, float) and not math.isfinite(result):
            ctx.rep.add("KS304", f"${{{value.source}}} is not a finite number", path)
            ctx.failed.add(path)
            return None
        return result
    if isinstance(value, list):
        return [evaluate_value(v, env, (*path, i), ctx) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: evaluate_value(v, env, (*path, k), ctx) for k, v in value.items()}
    return value
