"""Indexing a tensor: ``get_item``, what Keras records for ``x[:, 0]`` or ``x[..., 1:3, None]``.

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

from kspec.layers.args import SEQ
from kspec.layers.base import (
    Call,
    Example,
    Op,
    Shape,
    ShapeError,
    Shapes,
    Unknown,
    format_shape,
    is_int,
    register_ops,
)
from kspec.layers.ops_math import tensor
from kspec.schemas.types import INT, Schema

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


register_ops(
    "ops",
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
