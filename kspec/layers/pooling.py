"""Pooling layers: max and average pooling, global pooling and adaptive pooling, 1D to 3D."""

from __future__ import annotations

from kspec.layers.args import (
    BY_RANK,
    DATA_FORMAT_ARG,
    KEEPDIMS,
    POOL_PADDING,
    POOL_STRIDES,
)
from kspec.layers.base import (
    Call,
    Example,
    Layer,
    Shapes,
    choice,
    flag,
    register,
    to_ints,
)
from kspec.layers.spatial import join, sliding, spatial_input, split
from kspec.schemas.types import (
    arg,
    int_or_tuple,
    nullable,
)


def _pool(c: Call) -> Shapes:
    t, n = c.type, c.rank
    x, cf = spatial_input(c, n)
    pool = to_ints(c.arg("pool_size", 2 if t.startswith("Max") else None), n)
    raw = c.arg("strides")
    strides = pool if raw is None else to_ints(raw, n)
    padding = choice(c.arg("padding", "valid"), "valid", "same")
    channels, spatial = split(x, cf)
    out = sliding(
        t,
        spatial,
        pool,
        strides,
        (1,) * n,
        padding,
        2 if cf else 1,
        "pool_size",
        "use padding: same, a smaller pool_size, or feed a larger input",
    )
    return [join(x, channels, out, cf)]


def _global_pool(c: Call) -> Shapes:
    x, cf = spatial_input(c, c.rank)
    keepdims = flag(c.arg("keepdims", False))
    channels = x[1] if cf else x[-1]
    if not keepdims:
        return [(x[0], channels)]
    return [join(x, channels, (1,) * c.rank, cf)]


def _adaptive_pool(c: Call) -> Shapes:
    """Adaptive pooling: the spatial axes become ``output_size``, whatever the input."""
    x, cf = spatial_input(c, c.rank)
    channels, _ = split(x, cf)
    return [join(x, channels, to_ints(c.arg("output_size"), c.rank), cf)]


register(
    "pooling",
    Layer(
        "MaxPooling1D",
        doc="Max pooling operation for 1D temporal data.",
        args={
            "pool_size": arg(int_or_tuple(1), "Size of the max pooling window (default: 2)."),
            "strides": arg(nullable(int_or_tuple(1)), POOL_STRIDES),
            "padding": POOL_PADDING,
            "data_format": DATA_FORMAT_ARG,
        },
        call_args=("inputs",),
        rank=1,
        shape=_pool,
        example=Example(BY_RANK[1]),
    ),
    Layer(
        "MaxPooling2D",
        doc="Max pooling operation for 2D spatial data.",
        args={
            "pool_size": arg(
                int_or_tuple(2),
                "Size of the max pooling window, an integer or [rows, cols] (default: [2, 2]).",
            ),
            "strides": arg(nullable(int_or_tuple(2)), POOL_STRIDES),
            "padding": POOL_PADDING,
            "data_format": DATA_FORMAT_ARG,
        },
        call_args=("inputs",),
        rank=2,
        shape=_pool,
        example=Example(BY_RANK[2]),
    ),
    Layer(
        "MaxPooling3D",
        rank=3,
        shape=_pool,
        example=Example(BY_RANK[3]),
    ),
    Layer(
        "AveragePooling1D",
        doc="Average pooling for temporal data.",
        args={
            "pool_size": arg(int_or_tuple(1), "Size of the average pooling window (no default)."),
            "strides": arg(nullable(int_or_tuple(1)), POOL_STRIDES),
            "padding": POOL_PADDING,
            "data_format": DATA_FORMAT_ARG,
        },
        required=("pool_size",),
        call_args=("inputs",),
        rank=1,
        shape=_pool,
        example=Example(BY_RANK[1], {"pool_size": 2}),
    ),
    Layer(
        "AveragePooling2D",
        doc="Average pooling operation for 2D spatial data.",
        args={
            "pool_size": arg(
                int_or_tuple(2),
                "Size of the average pooling window, an integer or [rows, cols] (no default).",
            ),
            "strides": arg(nullable(int_or_tuple(2)), POOL_STRIDES),
            "padding": POOL_PADDING,
            "data_format": DATA_FORMAT_ARG,
        },
        required=("pool_size",),
        call_args=("inputs",),
        rank=2,
        shape=_pool,
        example=Example(BY_RANK[2], {"pool_size": 2}),
    ),
    Layer(
        "AveragePooling3D",
        rank=3,
        shape=_pool,
        example=Example(BY_RANK[3], {"pool_size": 2}),
    ),
    Layer(
        "GlobalAveragePooling1D",
        doc="Global average pooling operation for temporal data.",
        args={"data_format": DATA_FORMAT_ARG, "keepdims": KEEPDIMS},
        call_args=("inputs", "mask"),
        rank=1,
        shape=_global_pool,
        example=Example(BY_RANK[1]),
    ),
    Layer(
        "GlobalAveragePooling2D",
        doc="Global average pooling operation for 2D data.",
        args={"data_format": DATA_FORMAT_ARG, "keepdims": KEEPDIMS},
        call_args=("inputs",),
        rank=2,
        shape=_global_pool,
        example=Example(BY_RANK[2]),
    ),
    Layer(
        "GlobalAveragePooling3D",
        rank=3,
        shape=_global_pool,
        example=Example(BY_RANK[3]),
    ),
    Layer(
        "GlobalMaxPooling1D",
        doc="Global max pooling operation for temporal data.",
        args={"data_format": DATA_FORMAT_ARG, "keepdims": KEEPDIMS},
        call_args=("inputs",),
        rank=1,
        shape=_global_pool,
        example=Example(BY_RANK[1]),
    ),
    Layer(
        "GlobalMaxPooling2D",
        doc="Global max pooling operation for 2D data.",
        args={"data_format": DATA_FORMAT_ARG, "keepdims": KEEPDIMS},
        call_args=("inputs",),
        rank=2,
        shape=_global_pool,
        example=Example(BY_RANK[2]),
    ),
    Layer(
        "GlobalMaxPooling3D",
        rank=3,
        shape=_global_pool,
        example=Example(BY_RANK[3]),
    ),
    Layer(
        "AdaptiveAveragePooling1D",
        rank=1,
        shape=_adaptive_pool,
        example=Example(BY_RANK[1], {"output_size": 2}),
    ),
    Layer(
        "AdaptiveAveragePooling2D",
        rank=2,
        shape=_adaptive_pool,
        example=Example(BY_RANK[2], {"output_size": 2}),
    ),
    Layer(
        "AdaptiveAveragePooling3D",
        rank=3,
        shape=_adaptive_pool,
        example=Example(BY_RANK[3], {"output_size": 2}),
    ),
    Layer(
        "AdaptiveMaxPooling1D",
        rank=1,
        shape=_adaptive_pool,
        example=Example(BY_RANK[1], {"output_size": 2}),
    ),
    Layer(
        "AdaptiveMaxPooling2D",
        rank=2,
        shape=_adaptive_pool,
        example=Example(BY_RANK[2], {"output_size": 2}),
    ),
    Layer(
        "AdaptiveMaxPooling3D",
        rank=3,
        shape=_adaptive_pool,
        example=Example(BY_RANK[3], {"output_size": 2}),
    ),
)
