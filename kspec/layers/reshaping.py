"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, and zero-padding, cropping and
up-sampling over 1 to 3 spatial axes.
"""

from __future__ import annotations

import math

from kspec.layers.args import (
    BY_RANK,
    DATA_FORMAT_ARG,
    IMG,
    SEQ,
    TARGET_SHAPE,
    VEC,
)
from kspec.layers.base import (
    Call,
    Example,
    Layer,
    ShapeError,
    Shapes,
    Unknown,
    channels_first,
    format_shape,
    is_int,
    need_rank,
    register,
    to_int,
    to_ints,
)
from kspec.layers.spatial import layout, spatial_hint
from kspec.schemas.types import (
    INTERPOLATION,
    PAD_CROP_2D,
    POS_INT,
    arg,
    int_or_tuple,
    list_of,
)


def _flatten(c: Call) -> Shapes:
    x = c.x
    rest = x[1:]
    if not rest:
        return [(x[0], 1)]
    if any(d is None for d in rest):
        return [(x[0], None)]
    return [(x[0], math.prod(d for d in rest if d is not None))]


def _reshape(c: Call) -> Shapes:
    x, target = c.x, c.arg("target_shape")
    if not isinstance(target, list) or not all(is_int(d) for d in target):
        raise Unknown
    if target.count(-1) > 1 or any(d == 0 or d < -1 for d in target):
        raise Unknown
    rest = x[1:]
    if any(d is None for d in rest):
        return [(x[0], *(None if d == -1 else d for d in target))]
    size = math.prod(d for d in rest if d is not None)
    known = math.prod(d for d in target if d != -1)
    hint = f"the input has {size} elements per sample; the target_shape's sizes must multiply to it"
    if -1 not in target:
        if known != size:
            raise ShapeError(
                "KS407",
                f"Reshape cannot turn {format_shape(x)} ({size} elements per sample) into "
                f"target_shape {target} ({known} elements)",
                hint + " (or use -1 for one size to infer it)",
            )
        return [(x[0], *target)]
    if size % known:
        raise ShapeError(
            "KS407",
            f"Reshape cannot turn {format_shape(x)} ({size} elements per sample) into "
            f"target_shape {target}: {size} is not a multiple of {known}",
            hint,
        )
    return [(x[0], *(size // known if d == -1 else d for d in target))]


def _permute(c: Call) -> Shapes:
    x, dims = c.x, c.arg("dims")
    if not isinstance(dims, list) or not all(is_int(d) for d in dims):
        raise Unknown
    if sorted(dims) != list(range(1, len(dims) + 1)):
        raise Unknown
    need_rank(
        "Permute",
        x,
        len(dims) + 1,
        f"(batch and {len(dims)} more axes, for dims {dims})",
        "dims lists every axis but the batch axis once",
    )
    return [(x[0], *(x[d] for d in dims))]


def _repeat_vector(c: Call) -> Shapes:
    x, n = c.x, to_int(c.arg("n"))
    need_rank(
        "RepeatVector",
        x,
        2,
        "(batch, features)",
        "flatten or pool the input to (batch, features) first",
    )
    return [(x[0], n, x[1])]


_DEFAULT_AMOUNT = {"ZeroPadding": 1, "Cropping": 1, "Cropping2D": 0}


def _amounts(c: Call, key: str) -> tuple[tuple[int, int], ...]:
    """Padding or cropping per spatial axis: an int (every side), one int per axis (both
    sides), or one [before, after] pair per axis; for 1D an int or [before, after]."""
    n = c.rank
    v = c.arg(key)
    if v is None:
        v = _DEFAULT_AMOUNT.get(c.type, _DEFAULT_AMOUNT[c.type[:-2]])
    if n == 1:
        lo, hi = to_ints(v, 2, minimum=0)
        return ((lo, hi),)
    if is_int(v):
        p = to_int(v, 0)
        return ((p, p),) * n
    if isinstance(v, list) and len(v) == n:
        pairs = (to_ints(e, 2, minimum=0) for e in v)
        return tuple((lo, hi) for lo, hi in pairs)
    raise Unknown


def _padding_cropping(c: Call) -> Shapes:
    t, n = c.type, c.rank
    x = c.x
    cf = channels_first(c) if t != "Cropping1D" else False
    need_rank(t, x, n + 2, layout(n, cf), spatial_hint(t, n, x))
    first = 2 if cf else 1
    padding = t.startswith("Zero")
    out = list(x)
    for i, (lo, hi) in enumerate(_amounts(c, "padding" if padding else "cropping")):
        ax = first + i
        d = out[ax]
        if d is None:
            continue
        if padding:
            out[ax] = d + lo + hi
        else:
            size = d - lo - hi
            if size <= 0:
                raise ShapeError(
                    "KS404",
                    f"{t}: cropping {lo} + {hi} leaves nothing of size {d} along axis {ax} "
                    f"({d} -> {size})",
                    "crop less, or feed a larger input",
                )
            out[ax] = size
    return [tuple(out)]


def _upsampling(c: Call) -> Shapes:
    t, n, x = c.type, c.rank, c.x
    cf = channels_first(c) if n > 1 else False
    need_rank(t, x, n + 2, layout(n, cf), spatial_hint(t, n, x))
    size = to_ints(c.arg("size", 2), n) if n > 1 else (to_int(c.arg("size", 2)),)
    first = 2 if cf else 1
    out = list(x)
    for i, k in enumerate(size):
        d = out[first + i]
        out[first + i] = None if d is None else d * k
    return [tuple(out)]


register(
    "reshaping",
    Layer(
        "Flatten",
        doc="Flattens the input (all axes but the batch axis); does not affect the batch size.",
        args={"data_format": DATA_FORMAT_ARG},
        call_args=("inputs",),
        shape=_flatten,
        example=Example(IMG),
    ),
    Layer(
        "Reshape",
        doc="Reshapes inputs into the given shape (the batch axis is kept).",
        args={
            "target_shape": arg(
                TARGET_SHAPE,
                "Target shape without the batch dimension; one element may be -1, inferred "
                "from the input size.",
            ),
        },
        required=("target_shape",),
        call_args=("inputs",),
        shape=_reshape,
        example=Example(VEC, {"target_shape": [2, 2]}),
    ),
    Layer(
        "Permute",
        doc="Permutes the dimensions of the input according to a given pattern.",
        args={
            "dims": arg(
                {**list_of(POS_INT, 1), "uniqueItems": True},
                "Permutation of the non-batch axes, indexed from 1: e.g. [2, 1] swaps them.",
            ),
        },
        required=("dims",),
        call_args=("inputs",),
        shape=_permute,
        example=Example(SEQ, {"dims": [2, 1]}),
    ),
    Layer(
        "RepeatVector",
        doc="Repeats the (2D) input n times, giving (batch, n, features).",
        args={"n": arg(POS_INT, "Repetition factor.")},
        required=("n",),
        call_args=("inputs",),
        shape=_repeat_vector,
        example=Example(VEC, {"n": 3}),
    ),
    Layer(
        "ZeroPadding1D",
        doc="Zero-padding layer for 1D input (e.g. temporal sequence), along axis 1.",
        args={
            "padding": arg(
                int_or_tuple(2, minimum=0),
                "Zeros to add at the start and end of the padded axis: an integer or "
                "[left_pad, right_pad] (default: 1).",
            ),
            "data_format": DATA_FORMAT_ARG,
        },
        call_args=("inputs",),
        rank=1,
        shape=_padding_cropping,
        example=Example(BY_RANK[1]),
    ),
    Layer(
        "ZeroPadding2D",
        doc="Zero-padding layer for 2D input (e.g. picture): rows and columns of zeros.",
        args={
            "padding": arg(
                PAD_CROP_2D,
                "An integer (same for height and width), [height_pad, width_pad] (symmetric), "
                "or [[top, bottom], [left, right]] (default: [1, 1]).",
            ),
            "data_format": DATA_FORMAT_ARG,
        },
        call_args=("inputs",),
        rank=2,
        shape=_padding_cropping,
        example=Example(BY_RANK[2]),
    ),
    Layer("ZeroPadding3D", rank=3, shape=_padding_cropping, example=Example(BY_RANK[3])),
    Layer(
        "Cropping1D",
        doc="Cropping layer for 1D input (e.g. temporal sequence), along axis 1.",
        args={
            "cropping": arg(
                int_or_tuple(2, minimum=0),
                "Units to trim off the start and end of the cropped axis: an integer or "
                "[left_crop, right_crop] (default: [1, 1]).",
            ),
        },
        call_args=("inputs",),
        rank=1,
        shape=_padding_cropping,
        example=Example(BY_RANK[1]),
    ),
    Layer(
        "Cropping2D",
        doc="Cropping layer for 2D input (e.g. picture), along height and width.",
        args={
            "cropping": arg(
                PAD_CROP_2D,
                "An integer (same for height and width), [height_crop, width_crop] "
                "(symmetric), or [[top, bottom], [left, right]] (default: [[0, 0], [0, 0]]).",
            ),
            "data_format": DATA_FORMAT_ARG,
        },
        call_args=("inputs",),
        rank=2,
        shape=_padding_cropping,
        example=Example(BY_RANK[2]),
    ),
    Layer("Cropping3D", rank=3, shape=_padding_cropping, example=Example(BY_RANK[3])),
    Layer(
        "UpSampling1D",
        doc="Upsampling layer for 1D inputs: repeats each temporal step `size` times.",
        args={"size": arg(POS_INT, "Upsampling factor (default: 2).")},
        call_args=("inputs",),
        rank=1,
        shape=_upsampling,
        example=Example(BY_RANK[1]),
    ),
    Layer(
        "UpSampling2D",
        doc="Upsampling layer for 2D inputs: repeats rows and columns.",
        args={
            "size": arg(
                int_or_tuple(2), "Upsampling factors for rows and columns (default: [2, 2])."
            ),
            "data_format": DATA_FORMAT_ARG,
            "interpolation": arg(
                INTERPOLATION,
                "Interpolation method; 'area' only with the TensorFlow backend "
                "(default: 'nearest').",
            ),
        },
        call_args=("inputs",),
        rank=2,
        shape=_upsampling,
        example=Example(BY_RANK[2]),
    ),
    Layer("UpSampling3D", rank=3, shape=_upsampling, example=Example(BY_RANK[3])),
)
