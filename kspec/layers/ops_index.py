"""Ops that pick, reorder or accumulate elements: ``get_item`` (what Keras records for
``x[:, 0]`` or ``x[..., 1:3, None]``), ``swapaxes``, ``moveaxis``, ``roll``, ``sort``,
``argsort``, ``tril``, ``triu``, ``cumsum`` and ``cumprod``.

The node is ``{name: s, op: get_item, inputs: [x], key: [":", 0]}``; ``key`` is one item or a
list of them, one per axis from the batch axis on, as between Python's brackets: an integer
(takes that index and drops the axis), a slice written ``"start:stop:step"`` (each part an
optional integer: ``":"``, ``"1:3"``, ``"::2"``, ``"-1:"``), ``"..."`` (the axes in between) or
``null`` (a new axis of size 1). Both targets emit the subscript itself, built from the parsed
integers (``x[:, 0]``), never from the spec's text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kspec.layers.args import IMG, SEQ
from kspec.layers.base import (
    Call,
    Example,
    Op,
    Shape,
    ShapeError,
    Shapes,
    Unknown,
    axis_index,
    format_shape,
    is_int,
    register_ops,
)
from kspec.layers.ops_math import _same, tensor
from kspec.schemas.types import DTYPE, INT, Schema, arg, list_of, nullable

_SLICE = re.compile(r"^(-?\d+)?:(-?\d+)?(?::(-?[1-9]\d*)?)?$")
ELLIPSIS = "..."
_FORM = "an integer, a slice 'start:stop:step' (integers, step not 0), '...' or null"
ITEM: Schema = {
    "anyOf": [
        INT,
        {"type": "null"},
        {"const": ELLIPSIS},
        {"type": "string", "pattern": _SLICE.pattern, "maxLength": 64, "$comment": _FORM},
    ],
    "$comment": _FORM,
}
KEY: Schema = {
    "anyOf": [ITEM, {"type": "array", "items": ITEM, "minItems": 1, "maxItems": 64}],
    "$comment": _FORM + ", or a list of them",
}


@dataclass(frozen=True)
class Slice:
    start: int | None
    stop: int | None
    step: int | None

    def text(self) -> str:
        """As Python writes it between brackets: ``Slice(None, None, None)`` -> ``":"``."""
        a, b, c = ("" if v is None else str(v) for v in (self.start, self.stop, self.step))
        return f"{a}:{b}" + (f":{c}" if c else "")

    def size(self, d: int) -> int:
        return len(range(*slice(self.start, self.stop, self.step).indices(d)))


def parse_slice(text: str) -> Slice | None:
    """``"1:3"`` -> ``Slice(1, 3, None)``; None if ``text`` is not a slice."""
    m = _SLICE.match(text)
    if m is None:
        return None
    a, b, c = (int(g) if g is not None else None for g in m.groups())
    return Slice(a, b, c)


def key_data(key: Any) -> Any:
    """A Python key (``(slice(None), 0)``, as Keras records ``x[:, 0]``) as spec data
    (``[":", 0]``); ints, None and Ellipsis as themselves, a tuple as a list."""
    if isinstance(key, tuple | list):
        return [key_data(k) for k in key]
    if isinstance(key, slice):
        return Slice(key.start, key.stop, key.step).text()
    return ELLIPSIS if key is Ellipsis else key


def items(key: Any) -> list[Any]:
    """The key's items: ints (or expressions), None, ``ELLIPSIS``, or :class:`Slice`; Unknown
    where a string is neither a slice nor ``ELLIPSIS``."""
    out: list[Any] = []
    for item in key if isinstance(key, list | tuple) else [key]:
        if isinstance(item, str) and item != ELLIPSIS:
            parsed = parse_slice(item)
            if parsed is None:
                raise Unknown
            out.append(parsed)
        else:
            out.append(item)
    return out


def _get_item(c: Call) -> Shapes:
    x, key = tensor(c), items(c.arg("key"))
    if not all(is_int(i) or i is None or i == ELLIPSIS or isinstance(i, Slice) for i in key):
        raise Unknown
    if key.count(ELLIPSIS) > 1:
        raise ShapeError("KS406", "get_item's key has more than one '...'", "write '...' once")
    taken = sum(1 for i in key if is_int(i) or isinstance(i, Slice))
    if taken > len(x):
        raise ShapeError(
            "KS406",
            f"get_item's key indexes {taken} axes of a rank-{len(x)} input {format_shape(x)}",
            "give at most one index or slice per axis (the batch axis first)",
        )
    out: list[int | None] = []
    axis = 0
    for item in key:
        if item is None:
            out.append(1)
        elif item == ELLIPSIS:
            skip = len(x) - taken
            out.extend(x[axis : axis + skip])
            axis += skip
        elif isinstance(item, Slice):
            d = x[axis]
            out.append(None if d is None else item.size(d))
            axis += 1
        else:
            _in_range(item, axis, x)
            axis += 1
    return [(*out, *x[axis:])]


def _in_range(index: int, axis: int, x: Shape) -> None:
    d = x[axis]
    if d is not None and not -d <= index < d:
        raise ShapeError(
            "KS406",
            f"get_item index {index} is out of range for axis {axis} of {format_shape(x)} "
            f"(size {d})",
            f"the indices of an axis of size {d} are 0..{d - 1} (or -{d}..-1)",
        )


def _emit(tensors: Mapping[str, str], args: Mapping[str, Any], literal: Any) -> str:
    """``x[:, 0]``: the subscript, each item re-emitted from its parsed value. A list of one
    item stays a tuple (``x[...,]``: Keras refuses a bare ``x[...]``)."""
    key = args["key"]
    parts: Sequence[str] = [
        i.text() if isinstance(i, Slice) else "..." if i == ELLIPSIS else literal(i)
        for i in items(key)
    ]
    comma = "," if len(parts) == 1 and (isinstance(key, list | tuple) or key == ELLIPSIS) else ""
    return f"{tensors['x']}[{', '.join(parts)}{comma}]"


def _swapaxes(c: Call) -> Shapes:
    x, a, b = tensor(c), c.arg("axis1"), c.arg("axis2")
    if not (is_int(a) and is_int(b)):
        raise Unknown
    i, j = axis_index(a, len(x), c.type, x, "axis1"), axis_index(b, len(x), c.type, x, "axis2")
    out = list(x)
    out[i], out[j] = x[j], x[i]
    return [tuple(out)]


def _moveaxis(c: Call) -> Shapes:
    x, source, destination = tensor(c), c.arg("source"), c.arg("destination")
    src = source if isinstance(source, list) else [source]
    dst = destination if isinstance(destination, list) else [destination]
    if not all(is_int(a) for a in (*src, *dst)):
        raise Unknown
    s = [axis_index(a, len(x), c.type, x, "source") for a in src]
    d = [axis_index(a, len(x), c.type, x, "destination") for a in dst]
    if len(s) != len(d) or len(set(s)) != len(s) or len(set(d)) != len(d):
        raise ShapeError(
            "KS406",
            f"moveaxis needs as many distinct destination axes as source axes; got {source} "
            f"and {destination}",
            "list each axis once, in source and destination alike",
        )
    order = [i for i in range(len(x)) if i not in s]
    for to, frm in sorted(zip(d, s, strict=True)):
        order.insert(to, frm)
    return [tuple(x[i] for i in order)]


def _triangle(c: Call) -> Shapes:
    x = tensor(c)
    if len(x) < 2:
        raise ShapeError(
            "KS402",
            f"{c.type} needs a tensor of at least 2 axes; got {format_shape(x)}",
            "it keeps a triangle of the last two axes",
        )
    return [x]


def _cumulative(c: Call) -> Shapes:
    x, axis = tensor(c), c.arg("axis")
    if axis is None:  # of the flattened tensor
        return [(None if any(d is None for d in x) else _size(x),)]
    if not is_int(axis):
        raise Unknown
    axis_index(axis, len(x), c.type, x)
    return [x]


def _size(x: Shape) -> int:
    n = 1
    for d in x:
        n *= d or 0
    return n


_AXIS_LAST = arg(INT, "The axis (default: -1).")
_FLAT_AXIS = arg(nullable(INT), "The axis (default: null, the flattened tensor).")


def _accumulate(name: str, what: str) -> Op:
    return Op(
        name,
        f"The cumulative {what} along `axis`.",
        params=("x", "axis", "dtype"),
        tensors=("x",),
        args={"axis": _FLAT_AXIS, "dtype": arg(nullable(DTYPE), "The result's type.")},
        shape=_cumulative,
        example=Example(SEQ, {"axis": 1}),
    )


def _triangular(name: str, which: str) -> Op:
    return Op(
        name,
        f"The {which} triangle of the last two axes (the rest zeroed).",
        params=("x", "k"),
        tensors=("x",),
        args={"k": arg(INT, "The diagonal above which (tril) or below which (triu) to zero.")},
        shape=_triangle,
        example=Example(SEQ),
    )


def _sorting(name: str, doc: str) -> Op:
    return Op(
        name,
        doc,
        params=("x", "axis"),
        tensors=("x",),
        args={"axis": _AXIS_LAST},
        shape=_same,
        example=Example(SEQ),
    )


_AXES = {"anyOf": [INT, list_of(INT, 1)]}

register_ops(
    "ops",
    _accumulate("cumsum", "sum"),
    _accumulate("cumprod", "product"),
    _triangular("tril", "lower"),
    _triangular("triu", "upper"),
    _sorting("sort", "The values sorted along `axis`, smallest first."),
    _sorting("argsort", "The indices that sort the values along `axis`."),
    Op(
        "swapaxes",
        "Swap two axes (0 is the batch axis).",
        params=("x", "axis1", "axis2"),
        tensors=("x",),
        args={"axis1": arg(INT, "One axis."), "axis2": arg(INT, "The other axis.")},
        required=("axis1", "axis2"),
        shape=_swapaxes,
        example=Example(SEQ, {"axis1": 1, "axis2": 2}),
    ),
    Op(
        "moveaxis",
        "Move axes to new positions, the others keeping their order (0 is the batch axis).",
        params=("x", "source", "destination"),
        tensors=("x",),
        args={
            "source": arg(_AXES, "The axis or axes to move."),
            "destination": arg(_AXES, "Where each goes."),
        },
        required=("source", "destination"),
        shape=_moveaxis,
        example=Example(IMG, {"source": -1, "destination": 1}),
    ),
    Op(
        "roll",
        "Shift the elements along `axis`, those past the end coming back at the start.",
        params=("x", "shift", "axis"),
        tensors=("x",),
        args={
            "shift": arg(_AXES, "How far (a list: per axis of `axis`)."),
            "axis": arg(nullable(_AXES), "The axis or axes (default: null, the flattened tensor)."),
        },
        required=("shift",),
        shape=_same,
        example=Example(SEQ, {"shift": 1, "axis": 1}),
    ),
    Op(
        "get_item",
        "Index or slice the tensor, as `x[:, 0]` or `x[..., 1:3, None]` do (batch axis first).",
        params=("x", "key"),
        tensors=("x",),
        args={
            "key": {
                **KEY,
                "description": "One item or a list, one per axis from the batch axis: an "
                "integer, a slice 'start:stop:step', '...', or null (a new axis).",
            }
        },
        required=("key",),
        shape=_get_item,
        emit=_emit,
        example=Example(SEQ, {"key": [":", 0]}),
    ),
)
