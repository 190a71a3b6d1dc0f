"""Tensor ops that change shapes: reshape, transpose, expand_dims, squeeze, repeat, tile,
concatenate, stack, split, slice, take, matmul and einsum (see ``ops_math.py`` for the node form).
``reshape``'s ``newshape`` starts with the batch axis (``[-1, 16]``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

from kspec.layers.args import PAIR, SEQ, VEC
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
    is_shape,
    register_ops,
    to_int,
)
from kspec.layers.macs import batch_one, known, size
from kspec.layers.ops_math import AXES, axes_of, broadcast, tensor
from kspec.schemas.types import (
    INT,
    POS_INT,
    STRING,
    arg,
    list_of,
    nullable,
)


def _reshape(c: Call) -> Shapes:
    x, new = tensor(c), c.arg("newshape")
    if not isinstance(new, list) or not all(is_int(d) and (d >= 1 or d == -1) for d in new):
        raise Unknown
    if new.count(-1) > 1:
        raise Unknown
    if any(d is None for d in x):
        return [tuple(None if d == -1 else d for d in new)]
    size = math.prod(d for d in x if d is not None)
    known = math.prod(d for d in new if d != -1)
    if (-1 not in new and known != size) or (-1 in new and size % known):
        raise ShapeError(
            "KS407",
            f"reshape cannot turn {format_shape(x)} ({size} elements) into newshape {new}",
            "newshape includes the batch axis (write -1 for it); its sizes must multiply to "
            "the input's",
        )
    return [tuple(size // known if d == -1 else d for d in new)]


def _transpose(c: Call) -> Shapes:
    x, axes = tensor(c), c.arg("axes")
    if axes is None:
        return [tuple(reversed(x))]
    if not isinstance(axes, list) or sorted(a % len(x) if is_int(a) else -1 for a in axes) != list(
        range(len(x))
    ):
        raise ShapeError(
            "KS406",
            f"transpose axes {axes} are not a permutation of the {len(x)} axes of "
            f"{format_shape(x)}",
            f"list each axis 0..{len(x) - 1} once (0 is the batch axis)",
        )
    return [tuple(x[a] for a in axes)]


def _expand_dims(c: Call) -> Shapes:
    x, axis = tensor(c), c.arg("axis")
    if not is_int(axis):
        raise Unknown
    at = axis_index(axis, len(x) + 1, c.type, x)
    return [(*x[:at], 1, *x[at:])]


def _squeeze(c: Call) -> Shapes:
    x = tensor(c)
    axes = axes_of(c, len(x))
    if axes is None:
        if any(d is None for d in x):
            raise Unknown
        return [tuple(d for d in x if d != 1)]
    for a in axes:
        if x[a] is not None and x[a] != 1:
            raise ShapeError(
                "KS404",
                f"squeeze cannot remove axis {a} of {format_shape(x)}: its size is {x[a]}, not 1",
                "squeeze only axes of size 1",
            )
    return [tuple(d for i, d in enumerate(x) if i not in axes)]


def _repeat(c: Call) -> Shapes:
    x, n, axis = tensor(c), to_int(c.arg("repeats"), 0), c.arg("axis")
    if axis is None:
        sizes = [d for d in x if d is not None]
        return [(math.prod(sizes) * n if len(sizes) == len(x) else None,)]
    if not is_int(axis):
        raise Unknown
    a = axis_index(axis, len(x), c.type, x)
    return [tuple((None if d is None else d * n) if i == a else d for i, d in enumerate(x))]


def _tile(c: Call) -> Shapes:
    x, reps = tensor(c), c.arg("repeats")
    reps = [reps] if is_int(reps) else reps
    if not isinstance(reps, list) or not all(is_int(r) and r >= 0 for r in reps):
        raise Unknown
    rank = max(len(x), len(reps))
    xs = (1,) * (rank - len(x)) + x
    rs = [1] * (rank - len(reps)) + reps
    return [tuple(None if d is None else d * r for d, r in zip(xs, rs, strict=True))]


def _concatenate(c: Call) -> Shapes:
    from kspec.layers.merging import concatenate_shapes

    return concatenate_shapes(c, list(c.inputs["xs"]), c.arg("axis", 0))


def _stack(c: Call) -> Shapes:
    xs = c.inputs["x"]
    if not xs or not all(is_shape(s) for s in xs):
        raise Unknown
    out = broadcast(c.type, [(f"input {i + 1}", s) for i, s in enumerate(xs)])
    if any(len(s) != len(out) for s in xs):
        raise Unknown
    axis = c.arg("axis", 0)
    if not is_int(axis):
        raise Unknown
    at = axis_index(axis, len(out) + 1, c.type, out)
    return [(*out[:at], len(xs), *out[at:])]


def _sections(args: Mapping[str, Any]) -> int:
    """How many tensors ``split`` returns."""
    raw = args.get("indices_or_sections")
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 1:
        return raw
    if isinstance(raw, list):
        return len(raw) + 1
    return 1


def _split(c: Call) -> Shapes:
    x, raw, axis = tensor(c), c.arg("indices_or_sections"), c.arg("axis", 0)
    if not is_int(axis):
        raise Unknown
    a = axis_index(axis, len(x), c.type, x)
    size = x[a]
    if is_int(raw):
        if size is None:
            return [x] * raw
        if size % raw:
            raise ShapeError(
                "KS405",
                f"split cannot cut axis {a} of {format_shape(x)} (size {size}) into {raw} equal "
                "parts",
                f"use a number of sections that divides {size}, or a list of indices",
            )
        return [(*x[:a], size // raw, *x[a + 1 :])] * raw
    if not isinstance(raw, list) or not all(is_int(i) for i in raw) or size is None:
        raise Unknown
    bounds = [0, *raw, size]
    return [(*x[:a], max(hi - lo, 0), *x[a + 1 :]) for lo, hi in itertools.pairwise(bounds)]


def _slice(c: Call) -> Shapes:
    x, start, shape = tensor(c, "inputs"), c.arg("start_indices"), c.arg("shape")
    if not (isinstance(start, list) and isinstance(shape, list)):
        raise Unknown
    if len(start) != len(x) or len(shape) != len(x) or not all(is_int(d) for d in shape):
        raise ShapeError(
            "KS406",
            f"slice needs one start index and one size per axis of {format_shape(x)} "
            f"({len(x)} axes, the batch axis first)",
            "give start_indices and shape with an entry for every axis",
        )
    return [tuple(shape)]


def _take(c: Call) -> Shapes:
    x, indices, axis = tensor(c), c.arg("indices"), c.arg("axis")
    if is_int(indices):
        index_shape: Shape = ()
    elif isinstance(indices, list):
        index_shape = (len(indices),)
    else:
        raise Unknown
    if axis is None:
        return [index_shape]
    if not is_int(axis):
        raise Unknown
    a = axis_index(axis, len(x), c.type, x)
    return [(*x[:a], *index_shape, *x[a + 1 :])]


def _matmul(c: Call) -> Shapes:
    a, b = tensor(c, "x1"), tensor(c, "x2")
    if len(a) < 1 or len(b) < 1:
        raise Unknown
    a2, b2 = (a if len(a) > 1 else (1, *a)), (b if len(b) > 1 else (*b, 1))
    if a2[-1] is not None and b2[-2] is not None and a2[-1] != b2[-2]:
        raise ShapeError(
            "KS405",
            f"matmul needs the last axis of x1 {format_shape(a)} to match the second-to-last "
            f"of x2 {format_shape(b)}: {a2[-1]} and {b2[-2]}",
            "transpose or reshape one operand so that the contracted sizes agree",
        )
    batch = broadcast(c.type, [("x1", a2[:-2]), ("x2", b2[:-2])]) if len(a2) + len(b2) > 4 else ()
    out = (*batch, a2[-2], b2[-1])
    if len(a) == 1:
        out = (*out[:-2], out[-1])
    if len(b) == 1:
        out = out[:-1]
    return [out]


def _per_example(c: Call) -> Call:
    """``c`` with the batch axis (axis 0) of each tensor operand as 1."""
    inputs = {
        k: [batch_one(s) for s in v] if isinstance(v, list) else batch_one(v)
        for k, v in c.inputs.items()
    }
    return Call(c.type, c.args, inputs, c.call, c.labels)


def _matmul_macs(c: Call) -> int:
    """One product per output element and position along the contracted axis."""
    one = _per_example(c)
    a = tensor(one, "x1")
    if len(a) < 2 or len(tensor(one, "x2")) < 2:
        raise Unknown  # a vector operand would be its batch axis alone
    return size(known(_matmul(one)[0])) * size(a[-1:])


def _einsum(c: Call) -> Shapes:
    subscripts, shapes = c.arg("subscripts"), c.inputs["operands"]
    if not isinstance(subscripts, str) or "->" not in subscripts or "." in subscripts:
        raise Unknown
    left, right = subscripts.replace(" ", "").split("->")
    specs = left.split(",")
    if len(specs) != len(shapes) or not all(is_shape(s) for s in shapes):
        raise Unknown
    sizes: dict[str, int | None] = {}
    for spec, shape in zip(specs, shapes, strict=True):
        if len(spec) != len(shape):
            raise ShapeError(
                "KS402",
                f"einsum {subscripts!r}: operand {spec!r} has {len(spec)} axes, the tensor "
                f"{format_shape(shape)} has {len(shape)}",
                "write one letter per axis of each operand (the batch axis too)",
            )
        for letter, d in zip(spec, shape, strict=True):
            known = sizes.get(letter)
            if known is not None and d is not None and known != d and 1 not in (known, d):
                raise ShapeError(
                    "KS405",
                    f"einsum {subscripts!r}: axis {letter!r} has sizes {known} and {d}",
                    "the axes a letter names must have the same size",
                )
            sizes[letter] = d if known in (None, 1) else known
    if any(letter not in sizes for letter in right):
        raise Unknown
    return [tuple(sizes[letter] for letter in right)]


def _einsum_macs(c: Call) -> int:
    """Two operands: one product for each combination of the letters (a contraction); one
    operand: none (a transposition, a trace or a sum). Longer chains depend on the order
    the backend contracts them in: not counted."""
    one = _per_example(c)
    shapes = one.inputs["operands"]
    if len(shapes) == 1:
        return 0
    subscripts = c.arg("subscripts")
    if len(shapes) != 2 or not isinstance(subscripts, str) or "." in subscripts:
        raise Unknown
    _einsum(one)  # the subscripts fit the operands
    sizes: dict[str, int | None] = {}
    left = subscripts.replace(" ", "").split("->")[0]
    for spec, shape in zip(left.split(","), shapes, strict=True):
        for letter, d in zip(spec, shape, strict=True):
            sizes[letter] = d if sizes.get(letter) in (None, 1) else sizes[letter]
    return size(sizes.values())


register_ops(
    "ops",
    Op(
        "reshape",
        "Give the tensor another shape with the same number of elements.",
        params=("x", "newshape"),
        tensors=("x",),
        args={
            "newshape": arg(
                list_of({"anyOf": [POS_INT, {"const": -1}]}, 1),
                "The new shape, batch axis included (write -1 for it); at most one -1.",
            )
        },
        required=("newshape",),
        shape=_reshape,
        example=Example(SEQ, {"newshape": [-1, 24]}),
    ),
    Op(
        "transpose",
        "Permute the axes.",
        params=("x", "axes"),
        tensors=("x",),
        args={
            "axes": arg(
                nullable(list_of(INT, 1)),
                "The new order of the axes, batch axis 0 included (default: null, reversed).",
            )
        },
        shape=_transpose,
        example=Example(SEQ, {"axes": [0, 2, 1]}),
    ),
    Op(
        "expand_dims",
        "Insert an axis of size 1.",
        params=("x", "axis"),
        tensors=("x",),
        args={"axis": arg(INT, "Where the new axis goes (0 would be before the batch axis).")},
        required=("axis",),
        shape=_expand_dims,
        example=Example(VEC, {"axis": -1}),
    ),
    Op(
        "squeeze",
        "Remove axes of size 1.",
        params=("x", "axis"),
        tensors=("x",),
        args={"axis": arg(AXES, "The axis or axes to remove (default: null, all of size 1).")},
        shape=_squeeze,
        example=Example({"x": {"shape": [4, 1]}}, {"axis": -1}),
    ),
    Op(
        "repeat",
        "Repeat each element `repeats` times along `axis`.",
        params=("x", "repeats", "axis"),
        tensors=("x",),
        args={
            "repeats": arg(POS_INT, "How many times."),
            "axis": arg(nullable(INT), "The axis (default: null, the flattened tensor)."),
        },
        required=("repeats",),
        shape=_repeat,
        example=Example(SEQ, {"repeats": 2, "axis": 1}),
    ),
    Op(
        "tile",
        "Repeat the whole tensor `repeats` times along each axis.",
        params=("x", "repeats"),
        tensors=("x",),
        args={"repeats": arg({"anyOf": [POS_INT, list_of(POS_INT, 1)]}, "Repeats per axis.")},
        required=("repeats",),
        shape=_tile,
        example=Example(SEQ, {"repeats": [1, 2, 1]}),
    ),
    Op(
        "concatenate",
        "Join a list of tensors along an existing axis.",
        params=("xs", "axis"),
        tensors=("xs",),
        variadic="xs",
        args={"axis": arg(INT, "The axis to join along, 0 being the batch axis (default: 0).")},
        shape=_concatenate,
        example=Example(PAIR, {"axis": -1}, ["a", "b"]),
    ),
    Op(
        "stack",
        "Join a list of tensors of the same shape along a new axis.",
        params=("x", "axis"),
        tensors=("x",),
        variadic="x",
        args={"axis": arg(INT, "Where the new axis goes (default: 0, before the batch axis).")},
        shape=_stack,
        example=Example(PAIR, {"axis": 1}, ["a", "b"]),
    ),
    Op(
        "split",
        "Split along `axis` into equal sections, or at the given indices; returns a list.",
        params=("x", "indices_or_sections", "axis"),
        tensors=("x",),
        args={
            "indices_or_sections": arg(
                {"anyOf": [POS_INT, list_of(INT, 1)]},
                "A number of equal sections, or the indices to split at.",
            ),
            "axis": arg(INT, "The axis to split (default: 0, the batch axis)."),
        },
        required=("indices_or_sections",),
        shape=_split,
        outputs=_sections,
        example=Example(VEC, {"indices_or_sections": 2, "axis": -1}),
    ),
    Op(
        "slice",
        "A slice of constant position and size.",
        params=("inputs", "start_indices", "shape"),
        tensors=("inputs",),
        args={
            "start_indices": arg(list_of(INT, 1), "Where the slice starts on each axis."),
            "shape": arg(list_of(POS_INT, 1), "The size of the slice on each axis."),
        },
        required=("start_indices", "shape"),
        shape=_slice,
        example=Example(VEC, {"start_indices": [0, 1], "shape": [2, 2]}),
    ),
    Op(
        "take",
        "Elements at constant indices along `axis`.",
        params=("x", "indices", "axis"),
        tensors=("x",),
        args={
            "indices": arg({"anyOf": [INT, list_of(INT, 1)]}, "An index, or a list of them."),
            "axis": arg(nullable(INT), "The axis (default: null, the flattened tensor)."),
        },
        required=("indices",),
        shape=_take,
        example=Example(SEQ, {"indices": [0, 2], "axis": 1}),
    ),
    Op(
        "matmul",
        "Matrix product of x1 and x2 (broadcasting over leading axes).",
        params=("x1", "x2"),
        tensors=("x1", "x2"),
        shape=_matmul,
        macs=_matmul_macs,
        example=Example({"a": {"shape": [3, 4]}, "b": {"shape": [4, 5]}}, node_inputs=["a", "b"]),
    ),
    Op(
        "einsum",
        "Einstein summation over the operands (one letter per axis, the batch axis too).",
        params=("subscripts", "operands"),
        tensors=("operands",),
        variadic="operands",
        args={"subscripts": arg(STRING, "The subscripts, e.g. 'bij,bjk->bik'.")},
        required=("subscripts",),
        shape=_einsum,
        macs=_einsum_macs,
        example=Example(
            {"a": {"shape": [3, 4]}, "b": {"shape": [4, 5]}},
            {"subscripts": "bij,bjk->bik"},
            ["a", "b"],
        ),
    ),
)
