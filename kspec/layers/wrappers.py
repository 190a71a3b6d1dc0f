"""Layers that wrap other layers: Bidirectional, TimeDistributed, Pipeline and
SpectralNormalization. The wrapped layer is a nested ``{type: ...}`` mapping; its own rule
gives its shapes and weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kspec.layers.args import (
    RNN_CALL,
    SEQ,
    VEC,
)
from kspec.layers.base import (
    RULES,
    Call,
    Count,
    Example,
    Layer,
    Shape,
    ShapeError,
    Shapes,
    Unknown,
    canonical,
    choice,
    dim,
    format_shape,
    get_arg,
    inner_shapes,
    inner_weights,
    nested,
    nested_args,
    nested_type,
    register,
    to_int,
    total,
)
from kspec.layers.macs import inner_macs
from kspec.layers.recurrent import state_count
from kspec.schemas.types import (
    NESTED_LAYER,
    arg,
    enum,
    nullable,
)


def _bidirectional(c: Call) -> Shapes:
    layer = nested(c.arg("layer"))
    inner = RULES.get(canonical(layer.type))
    if inner is None or inner.family != "recurrent":
        raise Unknown  # Keras wraps only recurrent layers
    try:
        outs = inner_shapes(layer, c.x)
    except ShapeError as err:
        raise ShapeError(
            err.code, f"Bidirectional({layer.type}): {err.message}", err.hint
        ) from None
    if not outs or outs[0] is None:
        raise Unknown
    out, states = outs[0], outs[1:]
    mode = c.arg("merge_mode", "concat")
    if mode is None:
        return [out, out, *states, *states]
    mode = choice(mode, "concat", "sum", "mul", "ave")
    if mode == "concat":
        last = out[-1]
        out = (*out[:-1], None if last is None else 2 * last)
    return [out, *states, *states]


def _bidirectional_outputs(type_name: str, args: Mapping[str, Any], call: Mapping[str, Any]) -> int:
    """``merge_mode: null`` returns the forward and backward outputs separately; each
    direction adds its states with ``return_state``."""
    outputs = 2 if "merge_mode" in args and args["merge_mode"] is None else 1
    inner = args.get("layer")
    inner_args = nested_args(inner)
    if inner_args.get("return_state") is True:
        outputs += 2 * state_count(canonical(nested_type(inner) or ""), inner_args)
    return outputs


def _bidirectional_weights(c: Call) -> Count:
    x = c.x
    forward = inner_weights(c.arg("layer"), x)
    backward = c.arg("backward_layer")
    return total([forward, forward if backward is None else inner_weights(backward, x)])


def _bidirectional_macs(c: Call) -> int:
    """The forward and the backward layer, each over the whole sequence."""
    forward, backward = c.arg("layer"), c.arg("backward_layer")
    return inner_macs(forward, c.x) + inner_macs(forward if backward is None else backward, c.x)


def _time_distributed(c: Call) -> Shapes:
    layer, x = nested(c.arg("layer")), c.x
    if len(x) < 3:
        raise ShapeError(
            "KS402",
            f"TimeDistributed needs an input of rank 3 or more (batch, timesteps, ...); got "
            f"{format_shape(x)}",
            "it applies its layer to every slice along axis 1; the input has no such axis",
        )
    step = (x[0], *x[2:])
    try:
        child = inner_shapes(layer, step)
    except ShapeError as err:
        raise ShapeError(
            err.code,
            f"TimeDistributed applies {layer.type} to each slice {format_shape(step)} "
            f"of {format_shape(x)}: {err.message}",
            err.hint,
        ) from None
    if len(child) != 1 or child[0] is None:
        raise Unknown
    out = child[0]
    return [(out[0], x[1], *out[1:])]


def _time_distributed_weights(c: Call) -> Count:
    x = c.x
    return inner_weights(c.arg("layer"), (x[0], *x[2:]))


def _time_distributed_macs(c: Call) -> int:
    """The layer, once per slice along axis 1."""
    x = c.x
    return dim(x, 1) * inner_macs(c.arg("layer"), (x[0], *x[2:]))


def _pipeline_steps(c: Call) -> list[tuple[Any, Shape]]:
    """Each layer of a Pipeline with the shape it is built on (the previous one's output)."""
    layers = c.arg("layers")
    if not isinstance(layers, list):
        raise Unknown
    x = c.x
    steps = []
    for value in layers:
        steps.append((value, x))
        outs = inner_shapes(value, x)
        if len(outs) != 1 or outs[0] is None:
            raise Unknown
        x = outs[0]
    steps.append((None, x))
    return steps


def _pipeline(c: Call) -> Shapes:
    return [_pipeline_steps(c)[-1][1]]


def _pipeline_weights(c: Call) -> Count:
    return total([inner_weights(value, x) for value, x in _pipeline_steps(c)[:-1]])


def _pipeline_macs(c: Call) -> int:
    return sum(inner_macs(value, x) for value, x in _pipeline_steps(c)[:-1])


def _spectral(c: Call) -> Shapes:
    return inner_shapes(c.arg("layer"), c.x)


def _spectral_macs(c: Call) -> int:
    """The wrapped layer's (the power iteration that normalizes its kernel runs in training)."""
    return inner_macs(c.arg("layer"), c.x)


def _spectral_weights(c: Call) -> Count:
    """The wrapped layer, plus a frozen vector ``u`` as wide as its kernel's last axis."""
    layer = nested(c.arg("layer"))
    inner_t = canonical(layer.type)
    if inner_t == "Dense":
        width = to_int(get_arg(layer.args, "units"))
    elif inner_t in ("Conv1D", "Conv2D", "Conv3D"):
        width = to_int(get_arg(layer.args, "filters"))
    else:
        raise Unknown
    trainable, frozen = inner_weights(layer, c.x)
    return trainable, frozen + width


register(
    "wrappers",
    Layer(
        "Bidirectional",
        # Excluded: weights (initial weight arrays).
        doc="Bidirectional wrapper for RNNs: runs `layer` forwards and backwards.",
        args={
            "layer": arg(
                NESTED_LAYER, "The recurrent layer to wrap (e.g. an LSTM or GRU layer node)."
            ),
            "merge_mode": arg(
                nullable(enum("sum", "mul", "concat", "ave")),
                "How the forward and backward outputs are combined; null returns them as a "
                "list (default: 'concat').",
            ),
            "backward_layer": arg(
                NESTED_LAYER,
                "Recurrent layer for the backward direction, matching `layer` (stateful, "
                "return_sequences, ...) with the opposite go_backwards (default: null, derived "
                "from `layer`).",
            ),
        },
        required=("layer",),
        call_args=RNN_CALL,
        shape=_bidirectional,
        weights=_bidirectional_weights,
        macs=_bidirectional_macs,
        outputs=_bidirectional_outputs,
        example=Example(SEQ, {"layer": {"type": "LSTM", "units": 3}}),
    ),
    Layer(
        "TimeDistributed",
        doc="Applies a layer to every temporal slice (axis 1) of an input.",
        args={"layer": arg(NESTED_LAYER, "The layer to apply to every temporal slice.")},
        required=("layer",),
        call_args=("inputs", "training", "mask"),
        shape=_time_distributed,
        weights=_time_distributed_weights,
        macs=_time_distributed_macs,
        example=Example(SEQ, {"layer": {"type": "Dense", "units": 3}}),
    ),
    Layer(
        "Pipeline",
        shape=_pipeline,
        weights=_pipeline_weights,
        macs=_pipeline_macs,
        example=Example(
            VEC, {"layers": [{"type": "Dense", "units": 3}, {"type": "Dropout", "rate": 0.5}]}
        ),
    ),
    Layer(
        "SpectralNormalization",
        shape=_spectral,
        weights=_spectral_weights,
        macs=_spectral_macs,
        example=Example(VEC, {"layer": {"type": "Dense", "units": 3}}),
    ),
)
