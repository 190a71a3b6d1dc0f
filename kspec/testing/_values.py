"""Values the strategy draws: literals, or expressions over params (their text and value)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# -- values: literals or expressions over params -------------------------------------------


@dataclass(frozen=True)
class Ex:
    """A value written as an expression: its spec text and how to evaluate it."""

    text: str
    fn: Callable[[Mapping[str, Any]], Any] = field(compare=False, repr=False)


def _ev(value: Any, env: Mapping[str, Any]) -> Any:
    if isinstance(value, Ex):
        return value.fn(env)
    if isinstance(value, list):
        return [_ev(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _ev(v, env) for k, v in value.items()}
    return value


def _render(value: Any) -> Any:
    if isinstance(value, Ex):
        return value.text
    if isinstance(value, list | tuple):
        return [_render(v) for v in value]
    if isinstance(value, dict):
        return {k: _render(v) for k, v in value.items()}
    return value


# Param kinds: the values a param (and a block instance's override) may take, smallest first.
_DOMAINS: dict[str, list[Any]] = {
    "size": [2, 4, 3, 8, 6, 5],
    "count": [1, 2, 3],
    "rate": [0.0, 0.1, 0.25, 0.5],
    "flag": [False, True],
    "act": ["relu", "tanh", "sigmoid", "gelu", "linear", "silu", "softplus", "elu"],
    "kernel": [[1, 1], [3, 3], [1, 3], [3, 1]],
}

_Form = tuple[str, Callable[[Any], Any]]


def _size_forms(p: str) -> list[_Form]:
    """Expressions over an int param ``p`` (always >= 2) whose value is a positive int."""
    return [
        (f"${p}", lambda v: v),
        (f"${{{p}}}", lambda v: v),
        (f"${{{p} * 2}}", lambda v: v * 2),
        (f"${{{p} // 2}}", lambda v: v // 2),
        (f"${{{p} + 1}}", lambda v: v + 1),
        (f"${{max({p} // 2, 1)}}", lambda v: max(v // 2, 1)),
        (f"${{min({p}, 4)}}", lambda v: min(v, 4)),
        (f"${{{p} if {p} < 6 else 6}}", lambda v: v if v < 6 else 6),
        (f"${{int({p} * 1.5)}}", lambda v: int(v * 1.5)),
        (f"${{round({p} / 2)}}", lambda v: round(v / 2)),
        (f"${{abs(-{p})}}", lambda v: abs(-v)),
        (f"${{({p} + 1) // 2 * 2}}", lambda v: (v + 1) // 2 * 2),
        (f"${{{p} % 3 + 1}}", lambda v: v % 3 + 1),
    ]


def _forms(kind: str, p: str) -> list[_Form]:
    if kind == "size":
        return _size_forms(p)
    if kind == "count":
        return [(f"${p}", lambda v: v), (f"${{min({p} + 1, 3)}}", lambda v: min(v + 1, 3))]
    if kind == "rate":
        return [(f"${p}", lambda v: v), (f"${{{p} / 2}}", lambda v: v / 2)]
    if kind == "flag":
        return [(f"${p}", lambda v: v), (f"${{not {p}}}", lambda v: not v)]
    return [(f"${p}", lambda v: v)]


def _ex(text: str, param: str, fn: Callable[[Any], Any]) -> Ex:
    return Ex(text, lambda env: fn(env[param]))


def _param(name: str) -> Ex:
    """``$name``."""
    return Ex(f"${name}", lambda env: env[name])


@dataclass
class Param:
    name: str
    kind: str
    default: Any
