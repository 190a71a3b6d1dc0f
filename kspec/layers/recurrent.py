"""Recurrent layers: LSTM, GRU, SimpleRNN, their cells, RNN over a cell, StackedRNNCells and
the convolutional LSTMs. Shapes and weights follow keras/src/layers/rnn/.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kspec.layers.args import (
    ACTIVITY_REGULARIZER,
    BIAS_CONSTRAINT,
    BIAS_INITIALIZER,
    BIAS_REGULARIZER,
    CELL_NOTE,
    RNN_ACTIVATION,
    RNN_CALL,
    RNN_DROPOUT,
    RNN_GO_BACKWARDS,
    RNN_KERNEL_CONSTRAINT,
    RNN_KERNEL_INITIALIZER,
    RNN_KERNEL_REGULARIZER,
    RNN_RECURRENT_ACTIVATION,
    RNN_RECURRENT_CONSTRAINT,
    RNN_RECURRENT_DROPOUT,
    RNN_RECURRENT_INITIALIZER,
    RNN_RECURRENT_REGULARIZER,
    RNN_RETURN_SEQUENCES,
    RNN_RETURN_STATE,
    RNN_SEED,
    RNN_STATEFUL,
    RNN_UNITS,
    RNN_UNROLL,
    RNN_USE_CUDNN,
    SEQ,
    USE_BIAS,
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
    bias,
    channels_first,
    choice,
    dim,
    flag,
    format_shape,
    get_arg,
    inner_weights,
    need_rank,
    nested_args,
    nested_type,
    register,
    to_int,
    to_ints,
    total,
)
from kspec.layers.macs import inner_macs, size
from kspec.layers.spatial import join, layout, sliding, split
from kspec.schemas.types import (
    BOOL,
    arg,
)

_GATES = {"LSTM": 4, "LSTMCell": 4, "GRU": 3, "GRUCell": 3, "SimpleRNN": 1, "SimpleRNNCell": 1}
_SEQUENCE_HINT = (
    "add a timesteps axis with RepeatVector or Reshape, or use TimeDistributed/Flatten "
    "around image-like inputs"
)


def sequence_shape(c: Call, units: int, states: int) -> Shapes:
    """A recurrent layer's outputs: the last output or the whole sequence, then ``states``
    state tensors with ``return_state``."""
    x, t = c.x, c.type
    need_rank(t, x, 3, "(batch, timesteps, features)", _SEQUENCE_HINT)
    if x[2] is None:
        raise ShapeError(
            "KS403",
            f"{t} needs a known number of features (the last axis); got {format_shape(x)}",
            "its kernel has one row per input feature: give the input a fixed last size",
        )
    if flag(c.arg("stateful", False)) and x[0] is None:
        raise ShapeError(
            "KS403",
            f"{t} with stateful: true needs a known batch size; got {format_shape(x)}",
            "set batch_size on the model input (inputs: {x: {shape: [...], batch_size: 32}})",
        )
    seq = flag(c.arg("return_sequences", False))
    out: Shape = (x[0], x[1], units) if seq else (x[0], units)
    outs: Shapes = [out]
    if flag(c.arg("return_state", False)):
        outs.extend([(x[0], units)] * states)
    return outs


def _recurrent(c: Call) -> Shapes:
    return sequence_shape(c, to_int(c.arg("units")), RULES[c.type].state_outputs)


def _gated_weights(c: Call) -> Count:
    """LSTM, GRU, SimpleRNN and their cells (built on a sequence, or one step for a cell)."""
    units, n_in = to_int(c.arg("units")), dim(c.x, -1)
    gates = _GATES[c.type]
    biases = bias(c, gates * units)
    if gates == 3 and flag(c.arg("reset_after", True)):
        biases *= 2
    return gates * units * (n_in + units) + biases, 0


def _step_macs(c: Call) -> int:
    """One step of LSTM, GRU, SimpleRNN: each gate's input and recurrent kernels,
    ``(n_in + units) x units``, the step's input the last axis of ``c.x``."""
    units = to_int(c.arg("units"))
    return _GATES[c.type] * units * (dim(c.x, -1) + units)


def _gated_macs(c: Call) -> int:
    """LSTM, GRU, SimpleRNN over a sequence: one step per time step; a cell called as a node
    makes one step."""
    if c.type.endswith("Cell"):
        return _step_macs(c)
    return dim(c.x, 1) * _step_macs(c)


def cell_units(v: Any) -> int:
    """The output size of a recurrent cell (the last cell's, for StackedRNNCells)."""
    t = nested_type(v)
    args = nested_args(v)
    if t in _GATES:
        return to_int(get_arg(args, "units"))
    if t == "StackedRNNCells":
        cells = get_arg(args, "cells")
        if not isinstance(cells, list) or not cells:
            raise Unknown
        return cell_units(cells[-1])
    raise Unknown


def state_count(type_name: str, args: Mapping[str, Any]) -> int:
    """How many state values a recurrent layer returns with ``return_state: true`` (per
    direction): LSTM 2, GRU 1, an RNN its cell's (a StackedRNNCells: one per cell)."""
    layer = RULES.get(type_name)
    if layer is None:
        return 0
    if layer.state_outputs:
        return layer.state_outputs
    if type_name == "RNN":
        cell = args.get("cell")
        inner = nested_type(cell)
        if inner == "StackedRNNCells":
            cells = nested_args(cell).get("cells")
            return len(cells) if isinstance(cells, list) else 0
        cell_layer = RULES.get(inner or "")
        return cell_layer.cell_states if cell_layer else 0
    return 0


def with_states(type_name: str, args: Mapping[str, Any], call: Mapping[str, Any]) -> int:
    """One output, and the states with ``return_state: true``."""
    if args.get("return_state") is True:
        states = state_count(type_name, args)
        if states:
            return 1 + states
    return 1


def _rnn(c: Call) -> Shapes:
    """``RNN(cell)``: the cell's units; the states of a simple cell are as wide as its output."""
    cell = c.arg("cell")
    units = cell_units(cell)
    inner = RULES.get(nested_type(cell) or "")
    states = state_count("RNN", c.args)
    outs = sequence_shape(c, units, states if inner and inner.cell_states else 0)
    return outs + [None] * (with_states("RNN", c.args, c.call) - len(outs))


def _rnn_weights(c: Call) -> Count:
    """``RNN(cell)``: the cell's weights (a cell built on one step of the sequence)."""
    x = c.x
    return inner_weights(c.arg("cell"), (x[0], *x[2:]))


def _rnn_macs(c: Call) -> int:
    """``RNN(cell)``: the cell's step at every time step."""
    x = c.x
    return dim(x, 1) * inner_macs(c.arg("cell"), (x[0], *x[2:]))


def _stacked_macs(c: Call) -> int:
    """One step of each cell, on the previous one's output."""
    cells = c.arg("cells")
    if not isinstance(cells, list):
        raise Unknown
    x, out = c.x, 0
    for value in cells:
        out += inner_macs(value, x)
        x = (*x[:-1], cell_units(value))
    return out


def _stacked_weights(c: Call) -> Count:
    """Each cell built on the previous one's output (one step of ``units`` features)."""
    cells = c.arg("cells")
    if not isinstance(cells, list):
        raise Unknown
    x = c.x
    counts = []
    for value in cells:
        counts.append(inner_weights(value, x))
        x = (*x[:-1], cell_units(value))
    return total(counts)


def _conv_lstm(c: Call) -> Shapes:
    """(batch, time, *spatial, channels): a convolution of each step, ``filters`` wide."""
    x, frame = c.x, _frame(c)
    outs: Shapes = [(x[0], x[1], *frame[1:]) if flag(c.arg("return_sequences", False)) else frame]
    if flag(c.arg("return_state", False)):
        outs += [frame, frame]
    return outs


def _frame(c: Call) -> Shape:
    """A ConvLSTM's output at one time step."""
    t, n, x = c.type, c.rank, c.x
    cf = channels_first(c)
    need_rank(t, x, n + 3, "(batch, time, " + layout(n, cf)[len("(batch, ") :], _SEQUENCE_HINT)
    step = (x[0], *x[2:])
    _, spatial = split(step, cf)
    padding = choice(c.arg("padding", "valid"), "valid", "same")
    out = sliding(
        t,
        spatial,
        to_ints(c.arg("kernel_size"), n),
        to_ints(c.arg("strides", 1), n),
        to_ints(c.arg("dilation_rate", 1), n),
        padding,
        3 if cf else 2,
        "kernel_size",
        "use padding: same, a smaller kernel_size, or feed larger frames",
    )
    return join(step, to_int(c.arg("filters")), out, cf)


def _conv_lstm_weights(c: Call) -> Count:
    # (batch, time, *spatial, channels): the kernels see the channels of one time step
    x = c.x
    filters = to_int(c.arg("filters"))
    channels = dim((x[0], *x[2:]), 1 if channels_first(c) else -1)
    k = math.prod(to_ints(c.arg("kernel_size"), c.rank))
    return k * channels * 4 * filters + k * filters * 4 * filters + bias(c, 4 * filters), 0


def _conv_lstm_macs(c: Call) -> int:
    """Each time step convolves the frame (its channels) and the state (``filters`` channels,
    padding same, stride 1) into the four gates, at every output position."""
    x, cf = c.x, channels_first(c)
    frame = _frame(c)
    filters = to_int(c.arg("filters"))
    taps = size(to_ints(c.arg("kernel_size"), c.rank))
    channels = dim((x[0], *x[2:]), 1 if cf else -1)
    return dim(x, 1) * size(split(frame, cf)[1]) * taps * 4 * filters * (channels + filters)


def _cell(name: str, doc: str, states: int) -> Layer:
    """An RNN cell: used as the `cell` of an RNN (or in the `cells` of StackedRNNCells); as a
    node, called with {inputs: x, states: [...]}, it returns [output, new states]."""
    return Layer(
        name,
        doc=doc,
        inputs="call",
        min_inputs=2,
        call_outputs=2,
        cell_states=states,
        note=CELL_NOTE,
        weights=_gated_weights,
        macs=_gated_macs,
        example=Example(SEQ, {"cell": {"type": name, "units": 3}}, node_type="RNN"),
    )


_CELL_DOC = "one step; use it as the `cell` of an RNN."

register(
    "recurrent",
    Layer(
        "LSTM",
        doc="Long Short-Term Memory layer (Hochreiter 1997).",
        args={
            "units": RNN_UNITS,
            "activation": RNN_ACTIVATION,
            "recurrent_activation": RNN_RECURRENT_ACTIVATION,
            "use_bias": USE_BIAS,
            "kernel_initializer": RNN_KERNEL_INITIALIZER,
            "recurrent_initializer": RNN_RECURRENT_INITIALIZER,
            "bias_initializer": BIAS_INITIALIZER,
            "unit_forget_bias": arg(
                BOOL,
                "Add 1 to the bias of the forget gate at initialization; forces "
                "bias_initializer 'zeros' (default: true).",
            ),
            "kernel_regularizer": RNN_KERNEL_REGULARIZER,
            "recurrent_regularizer": RNN_RECURRENT_REGULARIZER,
            "bias_regularizer": BIAS_REGULARIZER,
            "activity_regularizer": ACTIVITY_REGULARIZER,
            "kernel_constraint": RNN_KERNEL_CONSTRAINT,
            "recurrent_constraint": RNN_RECURRENT_CONSTRAINT,
            "bias_constraint": BIAS_CONSTRAINT,
            "dropout": RNN_DROPOUT,
            "recurrent_dropout": RNN_RECURRENT_DROPOUT,
            "seed": RNN_SEED,
            "return_sequences": RNN_RETURN_SEQUENCES,
            "return_state": RNN_RETURN_STATE,
            "go_backwards": RNN_GO_BACKWARDS,
            "stateful": RNN_STATEFUL,
            "unroll": RNN_UNROLL,
            "use_cudnn": RNN_USE_CUDNN,
        },
        required=("units",),
        call_args=RNN_CALL,
        state_outputs=2,
        shape=_recurrent,
        weights=_gated_weights,
        macs=_gated_macs,
        outputs=with_states,
        index_hint="LSTM returns its states too only with return_state: true",
        example=Example(SEQ, {"units": 3}),
    ),
    Layer(
        "GRU",
        doc="Gated Recurrent Unit (Cho et al. 2014).",
        args={
            "units": RNN_UNITS,
            "activation": RNN_ACTIVATION,
            "recurrent_activation": RNN_RECURRENT_ACTIVATION,
            "use_bias": USE_BIAS,
            "kernel_initializer": RNN_KERNEL_INITIALIZER,
            "recurrent_initializer": RNN_RECURRENT_INITIALIZER,
            "bias_initializer": BIAS_INITIALIZER,
            "kernel_regularizer": RNN_KERNEL_REGULARIZER,
            "recurrent_regularizer": RNN_RECURRENT_REGULARIZER,
            "bias_regularizer": BIAS_REGULARIZER,
            "activity_regularizer": ACTIVITY_REGULARIZER,
            "kernel_constraint": RNN_KERNEL_CONSTRAINT,
            "recurrent_constraint": RNN_RECURRENT_CONSTRAINT,
            "bias_constraint": BIAS_CONSTRAINT,
            "dropout": RNN_DROPOUT,
            "recurrent_dropout": RNN_RECURRENT_DROPOUT,
            "seed": RNN_SEED,
            "return_sequences": RNN_RETURN_SEQUENCES,
            "return_state": RNN_RETURN_STATE,
            "go_backwards": RNN_GO_BACKWARDS,
            "stateful": RNN_STATEFUL,
            "unroll": RNN_UNROLL,
            "reset_after": arg(
                BOOL,
                "Apply the reset gate after (true, cuDNN compatible) or before (false) the "
                "matrix multiplication (default: true).",
            ),
            "use_cudnn": RNN_USE_CUDNN,
        },
        required=("units",),
        call_args=RNN_CALL,
        state_outputs=1,
        shape=_recurrent,
        weights=_gated_weights,
        macs=_gated_macs,
        outputs=with_states,
        index_hint="GRU returns its states too only with return_state: true",
        example=Example(SEQ, {"units": 3}),
    ),
    Layer(
        "SimpleRNN",
        doc="Fully-connected RNN where the output is fed back as the new input.",
        args={
            "units": RNN_UNITS,
            "activation": RNN_ACTIVATION,
            "use_bias": USE_BIAS,
            "kernel_initializer": RNN_KERNEL_INITIALIZER,
            "recurrent_initializer": RNN_RECURRENT_INITIALIZER,
            "bias_initializer": BIAS_INITIALIZER,
            "kernel_regularizer": RNN_KERNEL_REGULARIZER,
            "recurrent_regularizer": RNN_RECURRENT_REGULARIZER,
            "bias_regularizer": BIAS_REGULARIZER,
            "activity_regularizer": ACTIVITY_REGULARIZER,
            "kernel_constraint": RNN_KERNEL_CONSTRAINT,
            "recurrent_constraint": RNN_RECURRENT_CONSTRAINT,
            "bias_constraint": BIAS_CONSTRAINT,
            "dropout": RNN_DROPOUT,
            "recurrent_dropout": RNN_RECURRENT_DROPOUT,
            "return_sequences": RNN_RETURN_SEQUENCES,
            "return_state": RNN_RETURN_STATE,
            "go_backwards": RNN_GO_BACKWARDS,
            "stateful": RNN_STATEFUL,
            "unroll": RNN_UNROLL,
            "seed": RNN_SEED,
        },
        required=("units",),
        call_args=RNN_CALL,
        state_outputs=1,
        shape=_recurrent,
        weights=_gated_weights,
        macs=_gated_macs,
        outputs=with_states,
        index_hint="SimpleRNN returns its states too only with return_state: true",
        example=Example(SEQ, {"units": 3}),
    ),
    _cell("LSTMCell", f"Cell class for the LSTM layer: {_CELL_DOC}", 2),
    _cell("GRUCell", f"Cell class for the GRU layer: {_CELL_DOC}", 1),
    _cell("SimpleRNNCell", f"Cell class for SimpleRNN: {_CELL_DOC}", 1),
    Layer(
        "RNN",
        shape=_rnn,
        weights=_rnn_weights,
        macs=_rnn_macs,
        outputs=with_states,
        example=Example(SEQ, {"cell": {"type": "GRUCell", "units": 3}}),
    ),
    Layer(
        "StackedRNNCells",
        doc="Wrapper allowing a stack of RNN cells to behave as a single cell; use it as the "
        "`cell` of an RNN.",
        inputs="call",
        min_inputs=2,
        call_outputs=2,
        note=CELL_NOTE,
        weights=_stacked_weights,
        macs=_stacked_macs,
        example=Example(
            SEQ,
            {
                "cell": {
                    "type": "StackedRNNCells",
                    "cells": [{"type": "LSTMCell", "units": 3}, {"type": "GRUCell", "units": 2}],
                }
            },
            node_type="RNN",
        ),
    ),
    *(
        Layer(
            f"ConvLSTM{rank}D",
            state_outputs=2,
            rank=rank,
            shape=_conv_lstm,
            weights=_conv_lstm_weights,
            macs=_conv_lstm_macs,
            outputs=with_states,
            index_hint=f"ConvLSTM{rank}D returns its states too only with return_state: true",
            example=Example({"x": {"shape": frames}}, {"filters": 2, "kernel_size": 3}),
        )
        for rank, frames in ((1, [3, 6, 2]), (2, [3, 6, 6, 2]), (3, [3, 4, 4, 4, 2]))
    ),
)
