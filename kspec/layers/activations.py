"""Activation layers: Activation, ReLU, LeakyReLU, ELU, PReLU (learned slopes), Softmax."""

from __future__ import annotations

import math

from kspec.layers.args import (
    VEC,
)
from kspec.layers.base import (
    Call,
    Count,
    Example,
    Layer,
    ShapeError,
    Shapes,
    Unknown,
    dim,
    format_shape,
    identity,
    is_int,
    need_known,
    register,
)
from kspec.schemas.types import (
    ACTIVATION,
    AXIS,
    CONSTRAINT,
    NONNEG_NUMBER,
    NUMBER,
    POS_INT,
    REGULARIZER,
    arg,
    list_of,
    nullable,
    registry,
)


def _shared_axes(c: Call) -> list[int]:
    raw = c.arg("shared_axes")
    shared = [] if raw is None else [raw] if is_int(raw) else raw
    if not isinstance(shared, list) or not all(is_int(s) and s >= 1 for s in shared):
        raise Unknown
    return shared


def _prelu(c: Call) -> Shapes:
    x, shared = c.x, _shared_axes(c)
    for s in shared:
        if s >= len(x):
            raise ShapeError(
                "KS406",
                f"PReLU shared axis {s} is out of range for a rank-{len(x)} input "
                f"{format_shape(x)}",
                f"shared_axes count from 1 (the first axis after the batch axis) to {len(x) - 1}",
            )
    need_known("PReLU", x, [i for i in range(1, len(x)) if i not in shared], "it has one slope "
               "per element; share the axis with shared_axes to lift this")  # fmt: skip
    return [x]


def _prelu_weights(c: Call) -> Count:
    x, shared = c.x, _shared_axes(c)
    return math.prod(1 if i in shared else dim(x, i) for i in range(1, len(x))), 0


def _prelu_built(c: Call) -> tuple[dict[int, int], int | None]:
    x, shared = c.x, _shared_axes(c)
    # Keras fixes the sizes of the other axes only when some are shared (prelu.py build)
    axes = {i: d for i, d in enumerate(x) if i and i not in shared and d is not None}
    return (axes if shared else {}), len(x)


register(
    "activations",
    Layer(
        "Activation",
        doc="Applies an activation function to an output.",
        args={
            "activation": arg(
                ACTIVATION, "Activation function, by its keras.activations name (null: linear)."
            ),
        },
        required=("activation",),
        call_args=("inputs",),
        shape=identity,
        example=Example(VEC, {"activation": "relu"}),
    ),
    Layer(
        "ReLU",
        doc="Rectified Linear Unit activation layer.",
        args={
            "max_value": arg(
                nullable(NONNEG_NUMBER), "Maximum activation value (default: null, unlimited)."
            ),
            "negative_slope": arg(NONNEG_NUMBER, "Negative slope coefficient (default: 0.0)."),
            "threshold": arg(
                NONNEG_NUMBER, "Threshold value for thresholded activation (default: 0.0)."
            ),
        },
        call_args=("inputs",),
        shape=identity,
        example=Example(VEC),
    ),
    Layer(
        "LeakyReLU",
        doc="Leaky version of a Rectified Linear Unit activation layer.",
        args={
            "negative_slope": arg(NONNEG_NUMBER, "Negative slope coefficient (default: 0.3)."),
        },
        call_args=("inputs",),
        shape=identity,
        example=Example(VEC),
    ),
    Layer(
        "ELU",
        doc="Applies an Exponential Linear Unit function to an output.",
        args={"alpha": arg(NUMBER, "Slope of the negative section (default: 1.0).")},
        call_args=("inputs",),
        shape=identity,
        example=Example(VEC),
    ),
    Layer(
        "PReLU",
        doc="Parametric Rectified Linear Unit activation layer (learned negative slope).",
        args={
            "alpha_initializer": arg(
                # Keras' default is spelled "Zeros" (the class name); "zeros" is the same.
                registry("initializer", "Zeros"),
                "Initializer for the learned slopes (default: 'Zeros').",
            ),
            "alpha_regularizer": arg(
                REGULARIZER, "Regularizer for the learned slopes (default: null)."
            ),
            "alpha_constraint": arg(
                CONSTRAINT, "Constraint for the learned slopes (default: null)."
            ),
            "shared_axes": arg(
                nullable({"anyOf": [POS_INT, list_of(POS_INT, 1)]}),
                "Axes (1-based, batch excluded) along which the slopes are shared, e.g. [1, 2] "
                "for one slope per channel after a Conv2D (default: null).",
            ),
        },
        call_args=("inputs",),
        shape=_prelu,
        weights=_prelu_weights,
        built=_prelu_built,
        example=Example(VEC),
    ),
    Layer(
        "Softmax",
        doc="Softmax activation layer.",
        args={
            "axis": arg(
                AXIS,
                "Axis or axes along which the softmax normalization is applied (default: -1).",
            ),
        },
        call_args=("inputs", "mask"),
        shape=identity,
        example=Example(VEC),
    ),
)
