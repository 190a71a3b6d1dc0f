"""FLOPs without TensorFlow: the multiply-adds (MACs) of a spec, per row of ``summary
--static`` and in total, and :func:`cost`, the params and MACs of a spec for given params.

Every layer and op call the walk visits (:mod:`kspec.spec.walk`: each block instance with its
own params, each call of a shared layer) is counted by its record's rule in the layer registry;
the convention (MACs per example, 1 MAC = 2 FLOPs, what counts) is
:mod:`kspec.layers.macs`'s, stated in docs/cli.md. A count that needs a size the spec leaves
unknown is None and named, never guessed. TensorFlow-free.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kspec.spec.ir import Spec
from kspec.spec.walk import End, Instance, LayerCall, OpCall, Walk


@dataclass(frozen=True)
class Macs:
    """The multiply-adds of a walked spec: ``rows`` by summary row (a layer, a shared layer's
    every call included; an op; a block instance; None: not known), ``total`` of the calls
    counted, ``unknown`` the ``path (Type)`` of those that could not be, ``named`` the rows
    that ``unknown`` accounts for."""

    rows: dict[str, int | None]
    total: int
    unknown: tuple[str, ...]
    named: frozenset[str] = frozenset()

    def missing(self, row: str) -> bool:
        """Whether ``row`` is not known and ``unknown`` does not say why: the walk (cut short
        by its budget) did not reach it, or not all of it."""
        return self.rows.get(row) is None and row not in self.named


def count(found: Walk) -> Macs:
    """The multiply-adds of every call in ``found``, by summary row (see :class:`Macs`)."""
    rows: dict[str, int | None] = {}
    unknown: list[str] = []
    named: set[str] = set()
    total = 0
    for step in found.steps:
        if not isinstance(step, LayerCall | OpCall):
            continue
        macs = step.macs()
        row = _row(step)
        if macs is None:
            unknown.append(f"{'/'.join(step.path)} ({step.call.type})")
            named.add(row)
        else:
            total += macs
        earlier = rows.get(row, 0)
        rows[row] = None if earlier is None or macs is None else earlier + macs
    for i in found.instances:
        rows.setdefault(i.path[0], 0)  # one that only passes its inputs on counts nothing
    if not found.complete:
        # the walk ran out of budget (a hostile spec) in the row of its last step: that row is
        # only partly counted, and the rows after it are not reached
        last = next((s for s in reversed(found.steps) if not isinstance(s, End)), None)
        if last is not None:
            rows[_row(last)] = None
    return Macs(rows, total, tuple(unknown), frozenset(named))


def _row(step: LayerCall | OpCall | Instance) -> str:
    """The summary row a step counts in: its block instance's, its layer's (the target of a
    share), its op's."""
    if isinstance(step, Instance) or len(step.path) > 1:
        return step.path[0]
    return step.owner.name if isinstance(step, LayerCall) else step.node.name


def si(n: int) -> str:
    """``3.88 G``, ``40.5 M``, ``81.9 K``, ``512``: a count in three significant digits."""
    for unit, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= scale - scale // 2000:  # 999,500 is 1 M, not 1e+03 K
            return f"{n / scale:.3g} {unit}"
    return str(n)


@dataclass(frozen=True)
class Cost:
    """What a spec costs: its weights (``params``) and multiply-adds per example (``macs``),
    each None when some layer's cannot be counted statically (``unknown`` names them)."""

    params: int | None
    macs: int | None
    unknown: tuple[str, ...]

    @property
    def flops(self) -> int | None:
        """FLOPs as TensorFlow's profiler counts them: 2 per multiply-add."""
        return None if self.macs is None else 2 * self.macs


def cost(spec: Spec | str | os.PathLike[str], freeze: Iterable[str] = (), **params: Any) -> Cost:
    """The params and MACs of ``spec`` (a path or a checked :class:`Spec`) with ``params``
    overriding its param defaults (checked again with them, as ``--param`` is). Raises
    :class:`~kspec.diagnostics.KspecError` if the spec has errors with them."""
    from kspec import api
    from kspec.summary import static_summary

    summary = static_summary(api._spec(spec, params), freeze=freeze)  # the API's own re-check
    weights = None if summary.unknown else sum(summary.total)
    macs = None if summary.macs_unknown else summary.macs
    return Cost(weights, macs, tuple(dict.fromkeys(summary.unknown + summary.macs_unknown)))
