"""Static parameter counts: the weights a layer creates when Keras builds it, without TensorFlow.

``count(layer_type, args, inputs)`` gives ``(trainable, non_trainable)`` for one layer built on
``inputs`` (the shapes of its first call, in the structure :func:`kspec.spec.shapes.apply_layer`
takes), or ``None`` when it cannot be said for sure (an unknown input size, an argument that is
not a plain value, a custom layer). The rules follow the ``build`` methods of
keras/src/layers/...; every layer type not named here creates no weights, which
tests/test_layer_coverage.py checks against Keras for every layer of the catalog.

This module imports neither TensorFlow, Keras nor NumPy: ``kspec summary --static`` runs on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kspec.schemas.catalog import LAYERS, canonical
from kspec.spec.shapes import (
    Shape,
    Unknown,
    apply_layer,
    attention_inputs,
    channels_first,
    get_arg,
    is_int,
    is_shape,
    main_input,
    nested_layer,
    to_int,
    to_ints,
)

Count = tuple[int, int]  # (trainable, non-trainable)


def count(layer_type: str, args: Mapping[str, Any], inputs: Any) -> Count | None:
    """The ``(trainable, non_trainable)`` weight counts of a ``layer_type`` layer built on
    ``inputs``, or None if they cannot be worked out statically."""
    try:
        return _count(canonical(layer_type), args, inputs)
    except Unknown:
        return None


def _count(t: str, a: Mapping[str, Any], inputs: Any) -> Count:
    if t not in LAYERS:
        raise Unknown  # a custom layer
    if t in _ATTENTION:
        trainable, frozen = _ATTENTION[t](a, *_query_value_key(inputs))
    elif t in _RULES:
        x = _main(t, inputs)
        trainable, frozen = _RULES[t](t, a, x)
    else:
        trainable, frozen = 0, 0
    if get_arg(a, "trainable", True) is False:
        return 0, trainable + frozen
    return trainable, frozen


# -- inputs -----------------------------------------------------------------------------------


def _main(t: str, inputs: Any) -> Shape:
    """The tensor a layer is built on: its first call argument."""
    if isinstance(inputs, list) and len(inputs) == 1:
        inputs = inputs[0]
    x = main_input(t, inputs)
    if x is None or not is_shape(x):
        raise Unknown
    return x


def _query_value_key(inputs: Any) -> tuple[Shape, Shape, Shape]:
    q, v, k = attention_inputs(inputs)
    return q, v, v if k is None else k


def _dim(x: Shape, axis: int) -> int:
    """A known size of ``x`` on ``axis``."""
    if not -len(x) <= axis < len(x):
        raise Unknown
    d = x[axis]
    if d is None:
        raise Unknown
    return d


def _flag(a: Mapping[str, Any], key: str, default: bool) -> int:
    v = get_arg(a, key, default)
    if not isinstance(v, bool):
        raise Unknown
    return int(v)


# -- rules ------------------------------------------------------------------------------------

_CONV = {"Conv1D": 1, "Conv2D": 2, "Conv3D": 3}
_CONV_TRANSPOSE = {"Conv1DTranspose": 1, "Conv2DTranspose": 2, "Conv3DTranspose": 3}
_DEPTHWISE = {"DepthwiseConv1D": 1, "DepthwiseConv2D": 2}
_SEPARABLE = {"SeparableConv1D": 1, "SeparableConv2D": 2}
_CONV_LSTM = {"ConvLSTM1D": 1, "ConvLSTM2D": 2, "ConvLSTM3D": 3}
_GATES = {"LSTM": 4, "LSTMCell": 4, "GRU": 3, "GRUCell": 3, "SimpleRNN": 1, "SimpleRNNCell": 1}


def _channels(a: Mapping[str, Any], x: Shape) -> int:
    return _dim(x, 1 if channels_first(a) else -1)


def _kernel(a: Mapping[str, Any], n: int) -> int:
    return math.prod(to_ints(get_arg(a, "kernel_size"), n))


def _dense(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    units, n_in = to_int(get_arg(a, "units")), _dim(x, -1)
    return n_in * units + units * _flag(a, "use_bias", True), 0


def _conv(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    filters, channels = to_int(get_arg(a, "filters")), _channels(a, x)
    groups = to_int(get_arg(a, "groups", 1)) if t in _CONV else 1
    n = (_CONV | _CONV_TRANSPOSE)[t]
    if channels % groups:
        raise Unknown
    kernel = _kernel(a, n) * (channels // groups) * filters
    return kernel + filters * _flag(a, "use_bias", True), 0


def _depthwise(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    out = _channels(a, x) * to_int(get_arg(a, "depth_multiplier", 1))
    return _kernel(a, _DEPTHWISE[t]) * out + out * _flag(a, "use_bias", True), 0


def _separable(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    mid = _channels(a, x) * to_int(get_arg(a, "depth_multiplier", 1))
    filters = to_int(get_arg(a, "filters"))
    depthwise = _kernel(a, _SEPARABLE[t]) * mid
    return depthwise + mid * filters + filters * _flag(a, "use_bias", True), 0


def _conv_lstm(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    # (batch, time, *spatial, channels): the kernels see the channels of one time step
    filters, channels = to_int(get_arg(a, "filters")), _channels(a, (x[0], *x[2:]))
    k = _kernel(a, _CONV_LSTM[t])
    bias = 4 * filters * _flag(a, "use_bias", True)
    return k * channels * 4 * filters + k * filters * 4 * filters + bias, 0


def _recurrent(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    """LSTM, GRU, SimpleRNN and their cells (``x``: a sequence, or one step for a cell)."""
    units, n_in = to_int(get_arg(a, "units")), _dim(x, -1)
    gates = _GATES[t]
    bias = gates * units * _flag(a, "use_bias", True)
    if gates == 3 and _flag(a, "reset_after", True):
        bias *= 2
    return gates * units * (n_in + units) + bias, 0


def _cell_units(t: str, a: Mapping[str, Any]) -> int:
    """The output size of a recurrent cell."""
    if t in _GATES:
        return to_int(get_arg(a, "units"))
    if t == "StackedRNNCells":
        cells = get_arg(a, "cells")
        if not isinstance(cells, list) or not cells:
            raise Unknown
        inner_t, inner = nested_layer(cells[-1])
        return _cell_units(inner_t, inner)
    raise Unknown


def _rnn(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    """``RNN(cell)``: the cell's weights (a cell built on one step of the sequence)."""
    return _inner(get_arg(a, "cell"), (x[0], *x[2:]))


def _inner(value: Any, x: Shape) -> Count:
    inner_t, inner = nested_layer(value)
    result = count(inner_t, inner, x)
    if result is None:
        raise Unknown
    return result


def total(counts: Iterable[Count]) -> Count:
    """The sum of (trainable, non-trainable) counts."""
    trainable = frozen = 0
    for t, f in counts:
        trainable, frozen = trainable + t, frozen + f
    return trainable, frozen


def _bidirectional(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    forward = _inner(get_arg(a, "layer"), x)
    backward = get_arg(a, "backward_layer")
    return total([forward, forward if backward is None else _inner(backward, x)])


def _time_distributed(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    return _inner(get_arg(a, "layer"), (x[0], *x[2:]))


def _sequence(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    """StackedRNNCells' ``cells`` and Pipeline's ``layers``: each built on the previous one's
    output (for a cell, one step of ``units`` features)."""
    layers = get_arg(a, "cells" if t == "StackedRNNCells" else "layers")
    if not isinstance(layers, list):
        raise Unknown
    counts = []
    for value in layers:
        counts.append(_inner(value, x))
        inner_t, inner = nested_layer(value)
        if t == "StackedRNNCells":
            x = (*x[:-1], _cell_units(inner_t, inner))
            continue
        outs = apply_layer(inner_t, inner, x)
        if outs is None or len(outs) != 1 or outs[0] is None:
            raise Unknown
        x = outs[0]
    return total(counts)


def _spectral(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    """The wrapped layer, plus a frozen vector ``u`` as wide as its kernel's last axis."""
    inner_t, inner = nested_layer(get_arg(a, "layer"))
    inner_t = canonical(inner_t)
    if inner_t == "Dense":
        width = to_int(get_arg(inner, "units"))
    elif inner_t in _CONV:
        width = to_int(get_arg(inner, "filters"))
    else:
        raise Unknown
    trainable, frozen = _inner(get_arg(a, "layer"), x)
    return trainable, frozen + width


def _axes_size(a: Mapping[str, Any], x: Shape, none_ok: bool = False) -> int:
    """The number of elements over the ``axis`` argument: an int or a list of ints (with
    ``none_ok``, None or ``[]`` is no axis: one element)."""
    raw = get_arg(a, "axis", -1)
    axes = [] if raw is None and none_ok else raw if isinstance(raw, list) else [raw]
    if not (axes or none_ok) or not all(is_int(ax) and -len(x) <= ax < len(x) for ax in axes):
        raise Unknown
    return math.prod(_dim(x, ax) for ax in {ax % len(x) for ax in axes})


def _batch_norm(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    c = _axes_size(a, x)
    return c * (_flag(a, "center", True) + _flag(a, "scale", True)), 2 * c


def _layer_norm(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    c = _axes_size(a, x)
    return c * (_flag(a, "center", True) + _flag(a, "scale", True)), 0


def _rms_norm(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    return _axes_size(a, x), 0


def _normalization(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    if get_arg(a, "mean") is not None:
        return 0, 0  # given mean and variance are constants, not weights
    # the mean and variance over the kept axes, and a scalar count
    return 0, 2 * _axes_size(a, x, none_ok=True) + 1


def _embedding(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    n, d = to_int(get_arg(a, "input_dim")), to_int(get_arg(a, "output_dim"))
    untied = t == "ReversibleEmbedding" and not _flag(a, "tie_weights", True)
    return n * d * (1 + untied), 0


def _prelu(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    raw = get_arg(a, "shared_axes")
    shared = [] if raw is None else [raw] if is_int(raw) else raw
    if not isinstance(shared, list):
        raise Unknown
    return math.prod(1 if i in shared else _dim(x, i) for i in range(1, len(x))), 0


def _einsum_dense(t: str, a: Mapping[str, Any], x: Shape) -> Count:
    """EinsumDense without ellipses (``ab,bc->ac``): the kernel's axes are sized by the input
    where the input has them and by ``output_shape`` otherwise; the bias by ``bias_axes``."""
    equation, raw = get_arg(a, "equation"), get_arg(a, "output_shape")
    if not isinstance(equation, str) or "..." in equation or "->" not in equation:
        raise Unknown
    left, out_spec = equation.split("->")
    if left.count(",") != 1:
        raise Unknown
    in_spec, w_spec = left.split(",")
    full = [raw] if is_int(raw) else raw
    if not isinstance(full, list) or len(in_spec) != len(x) or len(full) != len(out_spec) - 1:
        raise Unknown
    sizes = {d: x[i] for i, d in enumerate(in_spec)}
    for d, size in zip(out_spec[1:], full, strict=True):
        sizes.setdefault(d, size)
    kernel = math.prod(_size(sizes.get(d)) for d in w_spec)
    bias_axes = get_arg(a, "bias_axes")
    bias = 0 if bias_axes is None else math.prod(_size(sizes.get(d)) for d in str(bias_axes))
    return kernel + bias, 0


def _size(d: Any) -> int:
    if is_int(d) and d >= 1:
        return int(d)
    raise Unknown


_Rule = Callable[[str, Mapping[str, Any], Shape], Count]
_RULES: dict[str, _Rule] = {
    "Dense": _dense,
    "EinsumDense": _einsum_dense,
    **dict.fromkeys((*_CONV, *_CONV_TRANSPOSE), _conv),
    **dict.fromkeys(_DEPTHWISE, _depthwise),
    **dict.fromkeys(_SEPARABLE, _separable),
    **dict.fromkeys(_CONV_LSTM, _conv_lstm),
    **dict.fromkeys(_GATES, _recurrent),
    "RNN": _rnn,
    "StackedRNNCells": _sequence,
    "Bidirectional": _bidirectional,
    "TimeDistributed": _time_distributed,
    "Pipeline": _sequence,
    "SpectralNormalization": _spectral,
    "BatchNormalization": _batch_norm,
    "LayerNormalization": _layer_norm,
    "GroupNormalization": _layer_norm,
    "RMSNormalization": _rms_norm,
    "Normalization": _normalization,
    "Embedding": _embedding,
    "ReversibleEmbedding": _embedding,
    "PReLU": _prelu,
}


# -- attention --------------------------------------------------------------------------------


def _projections(
    q: Shape,
    k: Shape,
    v: Shape,
    heads: tuple[int, int],
    sizes: tuple[int, int],
    out: int,
    bias: int,
) -> Count:
    """Query, key and value projections (EinsumDense) to ``heads`` (query, key/value) x
    ``sizes`` (key, value) and the output projection back to ``out`` features."""
    (q_heads, kv_heads), (key_size, value_size) = heads, sizes
    total = (
        (_dim(q, -1) + bias) * q_heads * key_size
        + (_dim(k, -1) + bias) * kv_heads * key_size
        + (_dim(v, -1) + bias) * kv_heads * value_size
        + (q_heads * value_size + bias) * out
    )
    return total, 0


def _multi_head(a: Mapping[str, Any], q: Shape, v: Shape, k: Shape) -> Count:
    heads, key_dim = to_int(get_arg(a, "num_heads")), to_int(get_arg(a, "key_dim"))
    raw_value_dim = get_arg(a, "value_dim")
    value_dim = key_dim if raw_value_dim is None else to_int(raw_value_dim)
    raw = get_arg(a, "output_shape")
    if raw is None:
        out = _dim(q, -1)
    else:
        out = math.prod(to_ints(raw, 1) if is_int(raw) else [to_int(d) for d in raw])
    bias = _flag(a, "use_bias", True)
    return _projections(q, k, v, (heads, heads), (key_dim, value_dim), out, bias)


def _group_query(a: Mapping[str, Any], q: Shape, v: Shape, k: Shape) -> Count:
    size = to_int(get_arg(a, "head_dim"))
    heads = to_int(get_arg(a, "num_query_heads")), to_int(get_arg(a, "num_key_value_heads"))
    bias = _flag(a, "use_bias", True)
    return _projections(q, k, v, heads, (size, size), _dim(q, -1), bias)


def _dot_attention(a: Mapping[str, Any], q: Shape, v: Shape, k: Shape) -> Count:
    concat = get_arg(a, "score_mode", "dot") == "concat"
    return _flag(a, "use_scale", False) + int(concat), 0


def _additive_attention(a: Mapping[str, Any], q: Shape, v: Shape, k: Shape) -> Count:
    return _dim(q, -1) * _flag(a, "use_scale", True), 0


_ATTENTION: dict[str, Callable[[Mapping[str, Any], Shape, Shape, Shape], Count]] = {
    "MultiHeadAttention": _multi_head,
    "GroupQueryAttention": _group_query,
    "Attention": _dot_attention,
    "AdditiveAttention": _additive_attention,
}
