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


# Docs and pool_size descriptions of the records that describe every argument themselves.
_LOCAL = {
    "MaxPooling1D": (
        "Max pooling operation for 1D temporal data.",
        "Size of the max pooling window (default: 2).",
    ),
    "MaxPooling2D": (
        "Max pooling operation for 2D spatial data.",
        "Size of the max pooling window, an integer or [rows, cols] (default: [2, 2]).",
    ),
    "AveragePooling1D": (
        "Average pooling for temporal data.",
        "Size of the average pooling window (no default).",
    ),
    "AveragePooling2D": (
        "Average pooling operation for 2D spatial data.",
        "Size of the average pooling window, an integer or [rows, cols] (no default).",
    ),
}
_GLOBAL = {
    "GlobalAveragePooling1D": "Global average pooling operation for temporal data.",
    "GlobalAveragePooling2D": "Global average pooling operation for 2D data.",
    "GlobalMaxPooling1D": "Global max pooling operation for temporal data.",
    "GlobalMaxPooling2D": "Global max pooling operation for 2D data.",
}


def _local(kind: str, rank: int) -> Layer:
    name = f"{kind}Pooling{rank}D"
    average = kind == "Average"
    example = Example(BY_RANK[rank], {"pool_size": 2} if average else {})
    if name not in _LOCAL:
        return Layer(name, rank=rank, shape=_pool, example=example)
    doc, pool_size = _LOCAL[name]
    args = {
        "pool_size": arg(int_or_tuple(rank), pool_size),
        "strides": arg(nullable(int_or_tuple(rank)), POOL_STRIDES),
        "padding": POOL_PADDING,
        "data_format": DATA_FORMAT_ARG,
    }
    return Layer(
        name,
        doc=doc,
        args=args,
        required=("pool_size",) if average else (),
        call_args=("inputs",),
        rank=rank,
        shape=_pool,
        example=example,
    )


def _global(kind: str, rank: int) -> Layer:
    name = f"Global{kind}Pooling{rank}D"
    if name not in _GLOBAL:
        return Layer(name, rank=rank, shape=_global_pool, example=Example(BY_RANK[rank]))
    return Layer(
        name,
        doc=_GLOBAL[name],
        args={"data_format": DATA_FORMAT_ARG, "keepdims": KEEPDIMS},
        call_args=("inputs", "mask") if name == "GlobalAveragePooling1D" else ("inputs",),
        rank=rank,
        shape=_global_pool,
        example=Example(BY_RANK[rank]),
    )


register(
    "pooling",
    *(_local(kind, rank) for kind in ("Max", "Average") for rank in (1, 2, 3)),
    *(_global(kind, rank) for kind in ("Average", "Max") for rank in (1, 2, 3)),
    *(
        Layer(
            f"Adaptive{kind}Pooling{rank}D",
            rank=rank,
            shape=_adaptive_pool,
            example=Example(BY_RANK[rank], {"output_size": 2}),
        )
        for kind in ("Average", "Max")
        for rank in (1, 2, 3)
    ),
)
