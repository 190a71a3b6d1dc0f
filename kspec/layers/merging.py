"""Merge layers: element-wise Add, Subtract, Multiply, Average, Maximum, Minimum (with
broadcasting), Concatenate and Dot. Keras 3 accepts a list of a single tensor for all but
Subtract and Dot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kspec.layers.args import (
    MERGE_CALL,
    PAIR,
)
from kspec.layers.base import (
    Call,
    Example,
    Layer,
    Shape,
    ShapeError,
    Shapes,
    Unknown,
    axis_index,
    format_shape,
    is_int,
    is_shape,
    register,
)
from kspec.layers.macs import known, size
from kspec.schemas.types import (
    BOOL,
    INT,
    arg,
    list_of,
)


def _label(labels: Sequence[str] | None, i: int) -> str:
    return f"'{labels[i]}'" if labels and i < len(labels) else f"input {i + 1}"


def elementwise(c: Call) -> Shapes:
    """Element by element, with broadcasting of size-1 axes (Add, Multiply, ...)."""
    t, xs, labels = c.type, c.tensors(), c.labels
    if t == "Subtract" and len(xs) != 2:
        raise Unknown
    batches = {x[0] for x in xs} - {None}
    if len(batches) > 1:
        raise ShapeError(
            "KS401",
            f"incompatible batch sizes for {t}: " + " and ".join(format_shape(x) for x in xs),
            "the inputs' batch_size must agree",
        )
    out: Shape = xs[0][1:]
    for i, x in enumerate(xs[1:], start=1):
        s1, s2 = out, x[1:]
        if len(s1) < len(s2):
            s1, s2 = s2, s1
        if not s2:
            out = s1
            continue
        merged: list[int | None] = list(s1[: len(s1) - len(s2)])
        for p, q in zip(s1[len(s1) - len(s2) :], s2, strict=True):
            if p is None or q is None:
                merged.append(None)
            elif p == 1:
                merged.append(q)
            elif q == 1 or p == q:
                merged.append(p)
            else:
                want = xs[0] if i == 1 else (xs[0][0], *out)
                raise ShapeError(
                    "KS401",
                    f"incompatible shapes for {t}: {format_shape(want)} and {format_shape(x)}",
                    _merge_hint(t, want, x, _label(labels, i)),
                )
        out = tuple(merged)
    batch = next(iter(batches)) if batches else None
    return [(batch, *out)]


def _merge_hint(t: str, want: Shape, got: Shape, label: str) -> str:
    base = f"{t} combines its inputs element by element: they need the same shape (a size of 1 "
    base += "broadcasts)"
    if len(want) == len(got) and want[:-1] == got[:-1] and want[-1] is not None:
        size = want[-1]
        return base + f"; give {label} a last axis of {size}, e.g. a Dense layer with units: {size}"
    return base + f"; reshape or project {label} to {format_shape(want)}"


def _concatenate(c: Call) -> Shapes:
    return concatenate_shapes(c, c.tensors(), c.arg("axis", -1))


def concatenate_shapes(c: Call, xs: list[Shape], axis: Any) -> Shapes:
    """Join ``xs`` along ``axis`` (the Concatenate layer, the concatenate op)."""
    t, labels = c.type, c.labels
    if not xs or not all(is_shape(x) for x in xs) or not is_int(axis):
        raise Unknown
    ranks = {len(x) for x in xs}
    if len(ranks) > 1:
        raise ShapeError(
            "KS405",
            f"{t} needs inputs of the same rank; got " + ", ".join(format_shape(x) for x in xs),
            "reshape the inputs to the same number of axes (e.g. Flatten, or RepeatVector)",
        )
    rank = ranks.pop()
    ax = axis_index(axis, rank, t, xs[0])
    for k in range(rank):
        if k == ax:
            continue
        sizes = {x[k] for x in xs} - {None}
        if len(sizes) > 1:
            i = next(j for j, x in enumerate(xs) if x[k] is not None and x[k] != xs[0][k])
            what = "the batch axis" if k == 0 else f"axis {k}"
            raise ShapeError(
                "KS405",
                f"{t} along axis {axis} needs the inputs to agree on every other axis; "
                f"{what} differs: " + ", ".join(format_shape(x) for x in xs),
                f"{_label(labels, i)} has size {xs[i][k]} on {what}, not "
                f"{next(x[k] for x in xs if x[k] is not None)}; reshape or project it, or "
                "concatenate along that axis instead",
            )
    out = list(xs[0])
    total: int | None = 0
    for x in xs:
        total = None if total is None or x[ax] is None else total + x[ax]  # type: ignore[operator]
    out[ax] = total
    return [tuple(out)]


def _dot_axes(c: Call) -> tuple[Shape, Shape, list[int]]:
    """Dot's two input shapes and the axis of each that the product runs along."""
    xs = c.tensors()
    if len(xs) != 2:
        raise Unknown
    s1, s2 = xs
    raw = c.arg("axes")
    if is_int(raw):
        axes = [raw % len(s1), raw % len(s2)] if raw < 0 else [raw, raw]
    elif isinstance(raw, list) and len(raw) == 2 and all(is_int(v) for v in raw):
        axes = list(raw)
    else:
        raise Unknown
    return s1, s2, axes


def _dot(c: Call) -> Shapes:
    s1, s2, axes = _dot_axes(c)
    xs = [s1, s2]
    for x, ax in zip(xs, axes, strict=True):
        axis_index(ax, len(x), "Dot", x, "axes entry")
    if axes[0] % len(s1) == 0 or axes[1] % len(s2) == 0:
        raise Unknown  # the batch axis: Keras' shapes make no sense there
    d1, d2 = s1[axes[0]], s2[axes[1]]
    if d1 != d2:
        raise ShapeError(
            "KS405",
            f"Dot along axes {axes} needs equal sizes: {format_shape(s1)} has {d1} on axis "
            f"{axes[0]}, {format_shape(s2)} has {d2} on axis {axes[1]}",
            "the sizes must be known and equal; pick other axes, or project one input "
            "(e.g. a Dense layer) to match",
        )
    l1, l2 = list(s1), list(s2)
    l1.pop(axes[0])
    l2.pop(axes[1])
    l2.pop(0)
    out = l1 + l2
    if len(out) == 1:
        out.append(1)
    return [tuple(out)]


def _dot_macs(c: Call) -> int:
    """One product per output element and position along the contracted axis."""
    s1, _, axes = _dot_axes(c)
    out = known(_dot(c)[0])
    return size(out[1:]) * size([s1[axes[0]]])


_PAIR = Example(PAIR, node_inputs=["a", "b"])
_ELEMENTWISE = {
    "Add": "Element-wise addition of a list of inputs of the same shape.",
    "Subtract": "Element-wise subtraction of two inputs: inputs[0] - inputs[1].",
    "Multiply": "Element-wise multiplication of a list of inputs of the same shape.",
    "Average": "Element-wise average of a list of inputs of the same shape.",
    "Maximum": "Element-wise maximum of a list of inputs of the same shape.",
    "Minimum": "Element-wise minimum of a list of inputs of the same shape.",
}


def _merge(name: str, doc: str, **rules: Any) -> Layer:
    """A merge layer: a list of inputs (two for Subtract and Dot, one or more for the others)."""
    two = name in ("Subtract", "Dot")
    return Layer(
        name,
        doc=doc,
        inputs="many",
        min_inputs=2 if two else 1,
        max_inputs=2 if two else None,
        call_args=MERGE_CALL,
        **{"shape": elementwise, "example": _PAIR, **rules},
    )


register(
    "merging",
    *(_merge(name, doc) for name, doc in _ELEMENTWISE.items()),
    _merge(
        "Concatenate",
        "Concatenates a list of inputs along an axis.",
        args={"axis": arg(INT, "Axis along which to concatenate (default: -1).")},
        shape=_concatenate,
    ),
    _merge(
        "Dot",
        "Dot product between samples of two inputs.",
        args={
            "axes": arg(
                {"anyOf": [INT, list_of(INT, 2, 2)]},
                "Axis, or [axis of input 1, axis of input 2], along which to take the dot "
                "product; the sizes must match and the batch axis 0 cannot be used.",
            ),
            "normalize": arg(
                BOOL,
                "L2-normalize samples along the dot product axis first, giving the cosine "
                "proximity (default: false).",
            ),
        },
        required=("axes",),
        shape=_dot,
        macs=_dot_macs,
        example=Example(PAIR, {"axes": 1}, ["a", "b"]),
    ),
)
