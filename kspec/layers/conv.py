"""Convolution layers: Conv1D/2D/3D, their transposes, depthwise and separable convolutions.

Shapes follow keras/src/ops/operation_utils.py (``compute_conv_output_shape``,
``compute_conv_transpose_output_shape``); weights follow each layer's ``build``.
"""

from __future__ import annotations

from typing import Any

from kspec.layers.args import (
    ACTIVITY_REGULARIZER,
    BIAS_CONSTRAINT,
    BIAS_INITIALIZER,
    BIAS_REGULARIZER,
    BY_RANK,
    CONV_PADDING,
    DATA_FORMAT_ARG,
    FILTERS,
    GROUPS,
    KERNEL_AND_BIAS,
    USE_BIAS,
    dilation_rate_arg,
    kernel_size_arg,
    strides_arg,
)
from kspec.layers.base import (
    Call,
    Count,
    Example,
    Layer,
    ShapeError,
    Shapes,
    Unknown,
    bias,
    channels_first,
    choice,
    dim,
    format_shape,
    register,
    to_int,
    to_ints,
)
from kspec.layers.macs import known, size
from kspec.layers.spatial import join, known_channels, sliding, spatial_input, split
from kspec.schemas.types import (
    CONSTRAINT,
    INITIALIZER,
    PADDING_CAUSAL,
    POS_INT,
    REGULARIZER,
    arg,
    int_or_tuple,
    nullable,
)

_PLAIN = ("Conv1D", "Conv2D", "Conv3D")  # the ones with `groups`


def _kind(t: str) -> str:
    if "Transpose" in t:
        return "transpose"
    if t.startswith("Depthwise"):
        return "depthwise"
    return "separable" if t.startswith("Separable") else "plain"


def _shape(c: Call) -> Shapes:
    t, n = c.type, c.rank
    x, cf = spatial_input(c, n)
    kernel = to_ints(c.arg("kernel_size"), n)
    strides = to_ints(c.arg("strides", 1), n)
    dilation = to_ints(c.arg("dilation_rate", 1), n)
    channels, spatial = split(x, cf)
    kind = _kind(t)
    if kind == "transpose":
        padding = choice(c.arg("padding", "valid"), "valid", "same")
    else:
        padding = choice(c.arg("padding", "valid"), "valid", "same", "causal")
        if padding == "causal" and t != "Conv1D":
            raise Unknown
    known = known_channels(t, channels, x, cf)
    if t in _PLAIN:
        groups = to_int(c.arg("groups", 1))
        if known % groups:
            raise ShapeError(
                "KS408",
                f"{t} with groups: {groups} needs a number of input channels divisible by "
                f"{groups}; got {known} channels in {format_shape(x)}",
                f"change groups to a divisor of {known}, or the channels of the input",
            )
    if kind == "depthwise":
        out_channels = known * to_int(c.arg("depth_multiplier", 1))
    else:
        out_channels = to_int(c.arg("filters"))
    if kind == "transpose":
        out_t = _transposed(c, padding, spatial, (kernel, strides, dilation))
        return [join(x, out_channels, out_t, cf)]
    out = sliding(
        t,
        spatial,
        kernel,
        strides,
        dilation,
        padding,
        2 if cf else 1,
        "kernel_size",
        "use padding: same, a smaller kernel_size (or dilation_rate), or feed a larger input",
    )
    return [join(x, out_channels, out, cf)]


def _transposed(
    c: Call,
    padding: str,
    spatial: tuple[int | None, ...],
    windows: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]],
) -> list[int | None]:
    """Output sizes of a transposed convolution (kernel sizes, strides, dilation rates)."""
    kernel, strides, dilation = windows
    op = c.arg("output_padding")
    n = c.rank
    pads: tuple[int | None, ...] = (None,) * n if op is None else to_ints(op, n, minimum=0)
    out: list[int | None] = []
    for d, k, s, r, p in zip(spatial, kernel, strides, dilation, pads, strict=True):
        k = (k - 1) * r + 1
        if d is None:
            out.append(None)
        elif padding == "valid":
            out.append((d - 1) * s + k + (max(k, s) - k if p is None else p))
        else:
            out.append(d * s if p is None else (d - 1) * s + k % 2 + p)
    return out


def _weights(c: Call) -> Count:
    x, kind = c.x, _kind(c.type)
    channels = dim(x, 1 if channels_first(c) else -1)
    kernel = 1
    for k in to_ints(c.arg("kernel_size"), c.rank):
        kernel *= k
    if kind == "depthwise":
        out = channels * to_int(c.arg("depth_multiplier", 1))
        return kernel * out + bias(c, out), 0
    filters = to_int(c.arg("filters"))
    if kind == "separable":
        mid = channels * to_int(c.arg("depth_multiplier", 1))
        return kernel * mid + mid * filters + bias(c, filters), 0
    groups = to_int(c.arg("groups", 1)) if c.type in _PLAIN else 1
    if channels % groups:
        raise Unknown
    return kernel * (channels // groups) * filters + bias(c, filters), 0


def _macs(c: Call) -> int:
    """Each output position takes one product per kernel tap and input channel (of its group)
    for each filter; a depthwise kernel sees one channel; a separable convolution adds its
    pointwise 1x1 step; a transposed one spreads each *input* position over its kernel."""
    x, kind, cf = c.x, _kind(c.type), channels_first(c)
    channels = dim(x, 1 if cf else -1)
    taps = size(to_ints(c.arg("kernel_size"), c.rank))
    if kind == "transpose":
        return size(split(x, cf)[1]) * taps * channels * to_int(c.arg("filters"))
    positions = size(split(known(_shape(c)[0]), cf)[1])
    if kind == "depthwise":
        return positions * taps * channels * to_int(c.arg("depth_multiplier", 1))
    if kind == "separable":
        mid = channels * to_int(c.arg("depth_multiplier", 1))
        return positions * (taps * mid + mid * to_int(c.arg("filters")))
    groups = to_int(c.arg("groups", 1)) if c.type in _PLAIN else 1
    return positions * taps * (channels // groups) * to_int(c.arg("filters"))


def _built(c: Call) -> tuple[dict[int, int], int | None]:
    """The kernel fixes the channel axis."""
    x = c.x
    ax = 1 if channels_first(c) else -1
    size = x[ax] if len(x) > 1 else None
    return ({} if size is None else {ax: size}), None


_CAUSAL = arg(
    PADDING_CAUSAL,
    "'valid' (no padding), 'same' (pad evenly) or 'causal' (dilated causal "
    "convolution: output[t] does not depend on input[t+1:]) (default: 'valid').",
)
_DOCS = {
    1: "1D convolution layer (e.g. temporal convolution).",
    2: "2D convolution layer.",
    3: "3D convolution layer.",
}
_FILTERED = {"filters": 2, "kernel_size": 3}


def _rules(rank: int, example: dict[str, Any] | None = None) -> dict[str, Any]:
    """The rules of every convolution, and its coverage example."""
    return {
        "rank": rank,
        "shape": _shape,
        "weights": _weights,
        "macs": _macs,
        "built": _built,
        "example": Example(BY_RANK[rank], _FILTERED if example is None else example),
    }


def _plain(rank: int) -> Layer:
    """Conv1D, Conv2D, Conv3D."""
    return Layer(
        f"Conv{rank}D",
        doc=_DOCS[rank],
        args={
            "filters": FILTERS,
            "kernel_size": kernel_size_arg(rank),
            "strides": strides_arg(rank),
            "padding": _CAUSAL if rank == 1 else CONV_PADDING,
            "data_format": DATA_FORMAT_ARG,
            "dilation_rate": dilation_rate_arg(rank),
            "groups": GROUPS,
            **KERNEL_AND_BIAS,
        },
        required=("filters", "kernel_size"),
        call_args=("inputs",),
        **_rules(rank),
    )


register(
    "conv",
    *(_plain(rank) for rank in (1, 2, 3)),
    Layer(
        "Conv2DTranspose",
        doc="2D transposed convolution layer.",
        args={
            "filters": FILTERS,
            "kernel_size": kernel_size_arg(2),
            "strides": strides_arg(2),
            "padding": CONV_PADDING,
            "output_padding": arg(
                nullable(int_or_tuple(2, minimum=0)),
                "Padding along the height and width of the output, lower than the stride "
                "(default: null, the output shape is inferred).",
            ),
            "data_format": DATA_FORMAT_ARG,
            "dilation_rate": dilation_rate_arg(2),
            **KERNEL_AND_BIAS,
        },
        required=("filters", "kernel_size"),
        call_args=("inputs",),
        **_rules(2),
    ),
    Layer(
        "DepthwiseConv2D",
        doc="2D depthwise convolution layer: each input channel is convolved separately.",
        args={
            "kernel_size": kernel_size_arg(2),
            "strides": strides_arg(2),
            "padding": CONV_PADDING,
            "depth_multiplier": arg(
                POS_INT, "Number of depthwise output channels per input channel (default: 1)."
            ),
            "data_format": DATA_FORMAT_ARG,
            "dilation_rate": dilation_rate_arg(2),
            "activation": KERNEL_AND_BIAS["activation"],
            "use_bias": USE_BIAS,
            "depthwise_initializer": arg(
                INITIALIZER, "Initializer for the depthwise kernel (default: 'glorot_uniform')."
            ),
            "bias_initializer": BIAS_INITIALIZER,
            "depthwise_regularizer": arg(
                REGULARIZER, "Regularizer applied to the depthwise kernel (default: null)."
            ),
            "bias_regularizer": BIAS_REGULARIZER,
            "activity_regularizer": ACTIVITY_REGULARIZER,
            "depthwise_constraint": arg(
                CONSTRAINT, "Constraint applied to the depthwise kernel (default: null)."
            ),
            "bias_constraint": BIAS_CONSTRAINT,
        },
        required=("kernel_size",),
        call_args=("inputs",),
        **_rules(2, {"kernel_size": 3}),
    ),
    Layer(
        "SeparableConv2D",
        doc="2D separable convolution layer: a depthwise then a pointwise (1x1) convolution.",
        args={
            "filters": arg(
                POS_INT, "Dimension of the output space (filters of the pointwise convolution)."
            ),
            "kernel_size": arg(
                int_or_tuple(2),
                "Size of the depthwise convolution window (an integer or [rows, cols]).",
            ),
            "strides": strides_arg(2),
            "padding": CONV_PADDING,
            "data_format": DATA_FORMAT_ARG,
            "dilation_rate": dilation_rate_arg(2),
            "depth_multiplier": arg(
                POS_INT, "Number of depthwise output channels per input channel (default: 1)."
            ),
            "activation": KERNEL_AND_BIAS["activation"],
            "use_bias": USE_BIAS,
            "depthwise_initializer": arg(
                INITIALIZER, "Initializer for the depthwise kernel (default: 'glorot_uniform')."
            ),
            "pointwise_initializer": arg(
                INITIALIZER, "Initializer for the pointwise kernel (default: 'glorot_uniform')."
            ),
            "bias_initializer": BIAS_INITIALIZER,
            "depthwise_regularizer": arg(
                REGULARIZER, "Regularizer applied to the depthwise kernel (default: null)."
            ),
            "pointwise_regularizer": arg(
                REGULARIZER, "Regularizer applied to the pointwise kernel (default: null)."
            ),
            "bias_regularizer": BIAS_REGULARIZER,
            "activity_regularizer": ACTIVITY_REGULARIZER,
            "depthwise_constraint": arg(
                CONSTRAINT, "Constraint applied to the depthwise kernel (default: null)."
            ),
            "pointwise_constraint": arg(
                CONSTRAINT, "Constraint applied to the pointwise kernel (default: null)."
            ),
            "bias_constraint": BIAS_CONSTRAINT,
        },
        required=("filters", "kernel_size"),
        call_args=("inputs",),
        **_rules(2),
    ),
    Layer("Conv1DTranspose", **_rules(1)),
    Layer("Conv3DTranspose", **_rules(3)),
    Layer("DepthwiseConv1D", **_rules(1, {"kernel_size": 3})),
    Layer("SeparableConv1D", **_rules(1)),
)
