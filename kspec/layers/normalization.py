"""Normalization layers: batch, layer, group, RMS and unit normalization."""

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
    Shapes,
    Unknown,
    axis_index,
    dim,
    flag,
    identity,
    is_int,
    need_known,
    register,
)
from kspec.schemas.types import (
    AXIS,
    BOOL,
    CONSTRAINT,
    INITIALIZER,
    INT,
    NONNEG_NUMBER,
    NUMBER,
    POS_NUMBER,
    RATE,
    REGULARIZER,
    arg,
    nullable,
)


def _normalization(c: Call) -> Shapes:
    x, t = c.x, c.type
    raw = c.arg("axis", -1)
    axes = raw if isinstance(raw, list) and t == "LayerNormalization" else [raw]
    idx = []
    for ax in axes:
        if not is_int(ax):
            raise Unknown
        idx.append(axis_index(ax, len(x), t, x))
    need_known(t, x, idx, "the normalized axis")
    return [x]


def axes_size(c: Call, none_ok: bool = False) -> int:
    """The number of elements over the ``axis`` argument: an int or a list of ints (with
    ``none_ok``, None or ``[]`` is no axis: one element)."""
    x = c.x
    raw = c.arg("axis", -1)
    axes = [] if raw is None and none_ok else raw if isinstance(raw, list) else [raw]
    if not (axes or none_ok) or not all(is_int(ax) and -len(x) <= ax < len(x) for ax in axes):
        raise Unknown
    return math.prod(dim(x, ax) for ax in {ax % len(x) for ax in axes})


def _scale_offset(c: Call) -> int:
    return int(flag(c.arg("center", True))) + int(flag(c.arg("scale", True)))


def _batch_norm_weights(c: Call) -> Count:
    size = axes_size(c)
    return size * _scale_offset(c), 2 * size


def _layer_norm_weights(c: Call) -> Count:
    return axes_size(c) * _scale_offset(c), 0


def _rms_norm_weights(c: Call) -> Count:
    return axes_size(c), 0


def _batch_norm_built(c: Call) -> tuple[dict[int, int], int | None]:
    x = c.x
    ax = c.arg("axis", -1)
    size = x[ax] if is_int(ax) and -len(x) <= ax < len(x) else None
    if size is None:
        raise Unknown
    return {ax: size}, len(x)


register(
    "normalization",
    Layer(
        "BatchNormalization",
        doc="Normalizes its inputs to mean 0 and standard deviation 1 (batch statistics).",
        args={
            "axis": arg(INT, "The axis to normalize, typically the features axis (default: -1)."),
            "momentum": arg(RATE, "Momentum for the moving average (default: 0.99)."),
            "epsilon": arg(
                POS_NUMBER,
                "Small float added to the variance to avoid dividing by zero (default: 0.001).",
            ),
            "center": arg(BOOL, "Add the offset beta to the normalized tensor (default: true)."),
            "scale": arg(BOOL, "Multiply by gamma (default: true)."),
            "beta_initializer": arg(INITIALIZER, "Initializer for beta (default: 'zeros')."),
            "gamma_initializer": arg(INITIALIZER, "Initializer for gamma (default: 'ones')."),
            "moving_mean_initializer": arg(
                INITIALIZER, "Initializer for the moving mean (default: 'zeros')."
            ),
            "moving_variance_initializer": arg(
                INITIALIZER, "Initializer for the moving variance (default: 'ones')."
            ),
            "beta_regularizer": arg(REGULARIZER, "Regularizer for beta (default: null)."),
            "gamma_regularizer": arg(REGULARIZER, "Regularizer for gamma (default: null)."),
            "beta_constraint": arg(CONSTRAINT, "Constraint for beta (default: null)."),
            "gamma_constraint": arg(CONSTRAINT, "Constraint for gamma (default: null)."),
            "renorm": arg(
                BOOL,
                "Use Batch Renormalization (extra variables during training) (default: false).",
            ),
            "renorm_clipping": arg(
                nullable(
                    {
                        "type": "object",
                        "properties": {"rmax": NUMBER, "rmin": NUMBER, "dmax": NONNEG_NUMBER},
                        "additionalProperties": False,
                    }
                ),
                "With renorm only: optional keys rmax, rmin, dmax clipping the renorm "
                "correction, r to [rmin, rmax] and d to [-dmax, dmax] (default: null).",
            ),
            "renorm_momentum": arg(
                RATE,
                "Momentum of the renorm moving means and standard deviations (default: 0.99).",
            ),
            "synchronized": arg(
                BOOL,
                "TensorFlow backend only: synchronize the batch statistics across devices in "
                "distributed training (default: false).",
            ),
        },
        call_args=("inputs", "training", "mask"),
        shape=_normalization,
        weights=_batch_norm_weights,
        built=_batch_norm_built,
        example=Example(VEC),
    ),
    Layer(
        "LayerNormalization",
        doc="Layer normalization layer (Ba et al., 2016): normalizes each example separately.",
        args={
            "axis": arg(AXIS, "The axis or axes to normalize across (default: -1)."),
            "epsilon": arg(
                POS_NUMBER,
                "Small float added to the variance to avoid dividing by zero (default: 0.001).",
            ),
            "center": arg(BOOL, "Add the offset beta to the normalized tensor (default: true)."),
            "scale": arg(BOOL, "Multiply by gamma (default: true)."),
            "beta_initializer": arg(INITIALIZER, "Initializer for beta (default: 'zeros')."),
            "gamma_initializer": arg(INITIALIZER, "Initializer for gamma (default: 'ones')."),
            "beta_regularizer": arg(REGULARIZER, "Regularizer for beta (default: null)."),
            "gamma_regularizer": arg(REGULARIZER, "Regularizer for gamma (default: null)."),
            "beta_constraint": arg(CONSTRAINT, "Constraint for beta (default: null)."),
            "gamma_constraint": arg(CONSTRAINT, "Constraint for gamma (default: null)."),
        },
        call_args=("inputs",),
        shape=_normalization,
        weights=_layer_norm_weights,
        example=Example(VEC),
    ),
    Layer(
        "GroupNormalization",
        shape=identity,
        weights=_layer_norm_weights,
        example=Example(VEC, {"groups": 2}),
    ),
    Layer(
        "RMSNormalization",
        shape=identity,
        weights=_rms_norm_weights,
        example=Example(VEC),
    ),
    Layer(
        "UnitNormalization",
        shape=identity,
        example=Example(VEC),
    ),
)
