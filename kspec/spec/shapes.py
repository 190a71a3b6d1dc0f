"""Static shape inference: the output shapes of every node, worked out without TensorFlow.

``infer(spec, rep)`` walks the checked IR (the model's graph, and each block instance's graph
with the shapes it is fed) and applies one rule per layer type of the catalog; the rules follow
Keras' own ``compute_output_shape`` and ``build`` (keras/src/layers/...), so a shape known here
is the static shape Keras gives the tensor. Shapes include the batch axis (``None`` unless an
input sets ``batch_size``); ``None`` for a whole shape means it is not known statically.

Only definite problems are reported (KS401-KS409), at the node that consumes the offending
tensor: a shape that Keras would reject when building the model. Whenever a rule cannot be
applied for sure (an unknown input shape, an argument that is not a plain value, a custom
layer), the result is unknown and nothing is reported: never a false error.

The walk is iterative: each graph run is a generator that hands block instances to a driver
loop, so neither ``repeat: 1500`` nor nested blocks grow the Python stack.

This module imports neither TensorFlow, Keras nor NumPy; it runs inside ``kspec check``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from kspec.codes import CODES as ALL_CODES
from kspec.schemas.catalog import LAYERS
from kspec.spec.expressions import Expr, ExprError, evaluate
from kspec.spec.ir import (
    Block,
    Dict,
    Graph,
    LayerSpec,
    Node,
    NodeInputs,
    Ref,
    Spec,
    instance_names,
)
from kspec.spec.report import Reporter

Shape = tuple[int | None, ...]
Shapes = list[Shape | None]
NodePath = tuple[str, ...]
OnBuild = Callable[[NodePath, str, dict[str, Any], Any], None]

#: How many node evaluations one ``infer`` may make (block instances included); past it the
#: remaining shapes are left unknown, so a hostile spec (nested repeats) cannot take forever.
MAX_EVALUATIONS = 50_000

#: The codes this module reports (their titles live with every other code in kspec/codes.py).
CODES: dict[str, str] = {code: title for code, title in ALL_CODES.items() if code.startswith("KS4")}


class ShapeError(Exception):
    """A definite shape problem: Keras would refuse to build the layer call."""

    def __init__(self, code: str, message: str, hint: str | None = None):
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


class Unknown(Exception):
    """The rule cannot say for sure: the result is unknown and nothing is reported."""


_BAD = object()  # an argument whose expression could not be evaluated


def format_shape(shape: Shape | None) -> str:
    """``(None, 28, 28)``; ``(None,)`` for rank 1; ``unknown`` when the shape is not known."""
    if shape is None:
        return "unknown"
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"


# -- values ---------------------------------------------------------------------------------


def _value(value: Any, env: Mapping[str, Any]) -> Any:
    """A plain value: expressions evaluated with ``env``, tuples as lists, Dict as dict."""
    if isinstance(value, Expr):
        try:
            return evaluate(value, env)
        except ExprError:
            return _BAD
    if isinstance(value, tuple):
        return [_value(v, env) for v in value]
    if isinstance(value, Dict):
        return {k: _value(v, env) for k, v in value.items}
    return value


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def to_int(v: Any, minimum: int = 1) -> int:
    if is_int(v) and v >= minimum:
        return int(v)
    raise Unknown


def to_ints(v: Any, n: int, minimum: int = 1) -> tuple[int, ...]:
    """An ``int or list of n ints`` argument, as a tuple of n ints."""
    if is_int(v):
        return (to_int(v, minimum),) * n
    if isinstance(v, list) and len(v) == n:
        return tuple(to_int(x, minimum) for x in v)
    raise Unknown


def _str(v: Any, *allowed: str) -> str:
    if isinstance(v, str) and v.lower() in allowed:
        return v.lower()
    raise Unknown


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    raise Unknown


def get_arg(a: Mapping[str, Any], key: str, default: Any = None) -> Any:
    v = a.get(key, default)
    if v is _BAD:
        raise Unknown
    return v


def channels_first(a: Mapping[str, Any]) -> bool:
    v = get_arg(a, "data_format")
    if v is None:
        return False  # keras.config.image_data_format(), normally channels_last
    return _str(v, "channels_last", "channels_first") == "channels_first"


def _axis(axis: int, rank: int, t: str, shape: Shape, what: str = "axis") -> int:
    """``axis`` (Python indexing over the shape, batch axis 0 included) as an index."""
    if -rank <= axis < rank:
        return axis % rank
    raise ShapeError(
        "KS406",
        f"{t} {what} {axis} is out of range for a rank-{rank} input {format_shape(shape)}",
        f"the axes of a rank-{rank} tensor are 0..{rank - 1} (or -{rank}..-1; 0 is the batch axis)",
    )


# -- rules --------------------------------------------------------------------------------

_SPATIAL_NAMES = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def _layout(n: int, channels_first: bool) -> str:
    names = ["batch", *_SPATIAL_NAMES[n]]
    if channels_first:
        names.insert(1, "channels")
    else:
        names.append("channels")
    return "(" + ", ".join(names) + ")"


def _need_rank(t: str, x: Shape, rank: int, layout: str, hint: str | None = None) -> None:
    if len(x) != rank:
        raise ShapeError(
            "KS402", f"{t} needs a rank-{rank} input {layout}; got {format_shape(x)}", hint
        )


def _spatial_hint(t: str, n: int, x: Shape) -> str:
    if len(x) < n + 2:
        return (
            f"add a Reshape before it that gives the input {n} spatial axes and a channel axis "
            f"(e.g. target_shape: [{', '.join(['...'] * n)}, 1])"
            + (", or use a Dense layer on flat features" if len(x) == 2 else "")
        )
    return f"{t} works on {n} spatial axes; use the layer of the matching rank, or Reshape first"


_CONV_RANK = {
    "Conv1D": 1,
    "Conv2D": 2,
    "Conv3D": 3,
    "SeparableConv2D": 2,
    "DepthwiseConv2D": 2,
    "Conv2DTranspose": 2,
}
_POOL_RANK = {
    "MaxPooling1D": 1,
    "MaxPooling2D": 2,
    "AveragePooling1D": 1,
    "AveragePooling2D": 2,
}
_GLOBAL_RANK = {
    "GlobalAveragePooling1D": 1,
    "GlobalAveragePooling2D": 2,
    "GlobalMaxPooling1D": 1,
    "GlobalMaxPooling2D": 2,
}
_RNN_STATES = {"LSTM": 2, "GRU": 1, "SimpleRNN": 1}
_IDENTITY = frozenset({"Dropout", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Rescaling"})
_ELEMENTWISE = frozenset({"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"})
_MERGES = _ELEMENTWISE | {"Concatenate", "Dot"}


def _split(x: Shape, channels_first: bool) -> tuple[int | None, Shape]:
    """(channels, spatial sizes) of a (batch, ..., channels) or (batch, channels, ...) shape."""
    return (x[1], x[2:]) if channels_first else (x[-1], x[1:-1])


def _join(x: Shape, channels: int | None, spatial: Sequence[int | None], cf: bool) -> Shape:
    return (x[0], channels, *spatial) if cf else (x[0], *spatial, channels)


def _too_small(t: str, what: str, size: int, out: int, axis: int, hint: str) -> ShapeError:
    return ShapeError(
        "KS404",
        f"{t}: the input is too small for {what}: {size} -> {out} along axis {axis}",
        hint,
    )


def _conv(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    n = _CONV_RANK[t]
    cf = channels_first(a)
    _need_rank(t, x, n + 2, _layout(n, cf), _spatial_hint(t, n, x))
    kernel = to_ints(get_arg(a, "kernel_size"), n)
    strides = to_ints(get_arg(a, "strides", 1), n)
    dilation = to_ints(get_arg(a, "dilation_rate", 1), n)
    channels, spatial = _split(x, cf)
    if t == "Conv2DTranspose":
        padding = _str(get_arg(a, "padding", "valid"), "valid", "same")
    else:
        padding = _str(get_arg(a, "padding", "valid"), "valid", "same", "causal")
        if padding == "causal" and t != "Conv1D":
            raise Unknown
    if channels is None:
        raise ShapeError(
            "KS403",
            f"{t} needs a known number of input channels (axis {1 if cf else len(x) - 1}); "
            f"got {format_shape(x)}",
            "the kernel's size depends on it: give the input a fixed channel count "
            "(e.g. shape: [null, null, 3]), or project to a fixed width first",
        )
    if t in ("Conv1D", "Conv2D", "Conv3D"):
        groups = to_int(get_arg(a, "groups", 1))
        if channels % groups:
            raise ShapeError(
                "KS408",
                f"{t} with groups: {groups} needs a number of input channels divisible by "
                f"{groups}; got {channels} channels in {format_shape(x)}",
                f"change groups to a divisor of {channels}, or the channels of the input",
            )
    if t == "DepthwiseConv2D":
        out_channels: int = channels * to_int(get_arg(a, "depth_multiplier", 1))
    else:
        out_channels = to_int(get_arg(a, "filters"))
    first = 2 if cf else 1
    out: list[int | None] = []
    if t == "Conv2DTranspose":
        op = get_arg(a, "output_padding")
        pads: tuple[int | None, ...] = (None,) * n if op is None else to_ints(op, n, minimum=0)
        for d, k, s, r, p in zip(spatial, kernel, strides, dilation, pads, strict=True):
            k = (k - 1) * r + 1
            if d is None:
                out.append(None)
            elif padding == "valid":
                out.append((d - 1) * s + k + (max(k, s) - k if p is None else p))
            else:
                out.append(d * s if p is None else (d - 1) * s + k % 2 + p)
        return [_join(x, out_channels, out, cf)]
    out = _sliding(
        t,
        spatial,
        kernel,
        strides,
        dilation,
        padding,
        first,
        "kernel_size",
        "use padding: same, a smaller kernel_size (or dilation_rate), or feed a larger input",
    )
    return [_join(x, out_channels, out, cf)]


def _sliding(
    t: str,
    spatial: Sequence[int | None],
    windows: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    padding: str,
    first: int,
    label: str,
    hint: str,
) -> list[int | None]:
    """Output sizes of a window (kernel or pool) sliding over ``spatial``: ``valid`` or
    ``same`` padding; a size that would be zero or negative is KS404."""
    out: list[int | None] = []
    for i, (d, k, s, r) in enumerate(zip(spatial, windows, strides, dilations, strict=True)):
        if d is None:
            out.append(None)
        elif padding == "valid":
            size = (d - r * (k - 1) - 1) // s + 1
            if size <= 0:
                what = f"{label} {k}" + (f" with dilation_rate {r}" if r != 1 else "")
                raise _too_small(t, f"{what} with padding valid", d, size, first + i, hint)
            out.append(size)
        else:
            out.append((d - 1) // s + 1)
    return out


def _pool(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    n = _POOL_RANK[t]
    cf = channels_first(a)
    _need_rank(t, x, n + 2, _layout(n, cf), _spatial_hint(t, n, x))
    pool = to_ints(get_arg(a, "pool_size", 2 if t.startswith("Max") else None), n)
    raw = get_arg(a, "strides")
    strides = pool if raw is None else to_ints(raw, n)
    padding = _str(get_arg(a, "padding", "valid"), "valid", "same")
    channels, spatial = _split(x, cf)
    out = _sliding(
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
    return [_join(x, channels, out, cf)]


def _global_pool(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    n = _GLOBAL_RANK[t]
    cf = channels_first(a)
    _need_rank(t, x, n + 2, _layout(n, cf), _spatial_hint(t, n, x))
    keepdims = _bool(get_arg(a, "keepdims", False))
    channels = x[1] if cf else x[-1]
    if not keepdims:
        return [(x[0], channels)]
    return [_join(x, channels, (1,) * n, cf)]


def _dense(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    units = to_int(get_arg(a, "units"))
    if len(x) < 2:
        raise ShapeError(
            "KS402",
            f"Dense needs an input of rank 2 or more (batch, ..., features); got {format_shape(x)}",
            "give the input at least one axis besides the batch axis (e.g. shape: [1])",
        )
    if x[-1] is None:
        raise ShapeError(
            "KS403",
            f"Dense needs a known last axis (its kernel has one row per input feature); "
            f"got {format_shape(x)}",
            "give the input a fixed last size (e.g. shape: [null, 16]), or reduce it first "
            "(GlobalAveragePooling1D, an RNN, ...)",
        )
    return [(*x[:-1], units)]


def _need_known(t: str, x: Shape, axes: Sequence[int], what: str) -> None:
    for ax in axes:
        if x[ax] is None:
            raise ShapeError(
                "KS403",
                f"{t} needs a known size on axis {ax} ({what}); got {format_shape(x)}",
                "its weights are sized by that axis: give the input a fixed size there",
            )


def _normalization(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    raw = get_arg(a, "axis", -1)
    axes = raw if isinstance(raw, list) and t == "LayerNormalization" else [raw]
    idx = []
    for ax in axes:
        if not is_int(ax):
            raise Unknown
        idx.append(_axis(ax, len(x), t, x))
    _need_known(t, x, idx, "the normalized axis")
    return [x]


def _prelu(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    raw = get_arg(a, "shared_axes")
    shared = [] if raw is None else [raw] if is_int(raw) else raw
    if not isinstance(shared, list) or not all(is_int(s) and s >= 1 for s in shared):
        raise Unknown
    for s in shared:
        if s >= len(x):
            raise ShapeError(
                "KS406",
                f"PReLU shared axis {s} is out of range for a rank-{len(x)} input "
                f"{format_shape(x)}",
                f"shared_axes count from 1 (the first axis after the batch axis) to {len(x) - 1}",
            )
    _need_known(t, x, [i for i in range(1, len(x)) if i not in shared], "it has one slope per "
                "element; share the axis with shared_axes to lift this")  # fmt: skip
    return [x]


def _flatten(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    rest = x[1:]
    if not rest:
        return [(x[0], 1)]
    if any(d is None for d in rest):
        return [(x[0], None)]
    return [(x[0], math.prod(d for d in rest if d is not None))]


def _reshape(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    target = get_arg(a, "target_shape")
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


def _permute(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    dims = get_arg(a, "dims")
    if not isinstance(dims, list) or not all(is_int(d) for d in dims):
        raise Unknown
    if sorted(dims) != list(range(1, len(dims) + 1)):
        raise Unknown
    _need_rank(
        t,
        x,
        len(dims) + 1,
        f"(batch and {len(dims)} more axes, for dims {dims})",
        "dims lists every axis but the batch axis once",
    )
    return [(x[0], *(x[d] for d in dims))]


def _repeat_vector(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    n = to_int(get_arg(a, "n"))
    _need_rank(t, x, 2, "(batch, features)", "flatten or pool the input to (batch, features) first")
    return [(x[0], n, x[1])]


def _pairs(v: Any, default: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """ZeroPadding2D/Cropping2D amounts: int, [h, w] or [[top, bottom], [left, right]]."""
    v = default if v is None else v
    if is_int(v):
        p = to_int(v, 0)
        return ((p, p), (p, p))
    if isinstance(v, list) and len(v) == 2:
        h, w = (to_ints(e, 2, minimum=0) for e in v)
        return ((h[0], h[1]), (w[0], w[1]))
    raise Unknown


def _padding_cropping(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    two = t.endswith("2D")
    cf = channels_first(a) if t != "Cropping1D" else False
    rank = 4 if two else 3
    _need_rank(t, x, rank, _layout(2 if two else 1, cf), _spatial_hint(t, 2 if two else 1, x))
    first = 2 if cf else 1
    key = "padding" if t.startswith("Zero") else "cropping"
    amounts: tuple[tuple[int, int], ...]
    if two:
        amounts = _pairs(get_arg(a, key), [1, 1] if key == "padding" else 0)
    else:
        lo, hi = to_ints(get_arg(a, key, 1), 2, minimum=0)
        amounts = ((lo, hi),)
    out = list(x)
    for i, (lo, hi) in enumerate(amounts):
        ax = first + i
        d = out[ax]
        if d is None:
            continue
        if key == "padding":
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


def _upsampling(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    two = t == "UpSampling2D"
    cf = channels_first(a) if two else False
    n = 2 if two else 1
    _need_rank(t, x, n + 2, _layout(n, cf), _spatial_hint(t, n, x))
    size = to_ints(get_arg(a, "size", 2), 2) if two else (to_int(get_arg(a, "size", 2)),)
    first = 2 if cf else 1
    out = list(x)
    for i, k in enumerate(size):
        d = out[first + i]
        out[first + i] = None if d is None else d * k
    return [tuple(out)]


def _embedding(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    return [(*x, to_int(get_arg(a, "output_dim")))]


def _rnn(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    units = to_int(get_arg(a, "units"))
    _need_rank(
        t,
        x,
        3,
        "(batch, timesteps, features)",
        "add a timesteps axis with RepeatVector or Reshape, or use TimeDistributed/Flatten "
        "around image-like inputs",
    )
    if x[2] is None:
        raise ShapeError(
            "KS403",
            f"{t} needs a known number of features (the last axis); got {format_shape(x)}",
            "its kernel has one row per input feature: give the input a fixed last size",
        )
    if _bool(get_arg(a, "stateful", False)) and x[0] is None:
        raise ShapeError(
            "KS403",
            f"{t} with stateful: true needs a known batch size; got {format_shape(x)}",
            "set batch_size on the model input (inputs: {x: {shape: [...], batch_size: 32}})",
        )
    seq = _bool(get_arg(a, "return_sequences", False))
    out: Shape = (x[0], x[1], units) if seq else (x[0], units)
    outs: Shapes = [out]
    if _bool(get_arg(a, "return_state", False)):
        outs.extend([(x[0], units)] * _RNN_STATES[t])
    return outs


def nested_layer(v: Any) -> tuple[str, dict[str, Any]]:
    """A nested layer argument (already evaluated into a LayerSpec with plain args)."""
    if isinstance(v, _Evaluated):
        return v.type, v.args
    raise Unknown


def _bidirectional(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    inner_t, inner = nested_layer(get_arg(a, "layer"))
    if inner_t not in _RNN_STATES:
        raise Unknown
    try:
        outs = _rnn(inner_t, inner, x)
    except ShapeError as err:
        raise ShapeError(err.code, f"Bidirectional({inner_t}): {err.message}", err.hint) from None
    out, states = outs[0], outs[1:]
    assert out is not None
    mode = get_arg(a, "merge_mode", "concat")
    if mode is None:
        return [out, out, *states, *states]
    mode = _str(mode, "concat", "sum", "mul", "ave")
    if mode == "concat":
        last = out[-1]
        out = (*out[:-1], None if last is None else 2 * last)
    return [out, *states, *states]


def _time_distributed(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    inner_t, inner = nested_layer(get_arg(a, "layer"))
    if len(x) < 3:
        raise ShapeError(
            "KS402",
            f"TimeDistributed needs an input of rank 3 or more (batch, timesteps, ...); got "
            f"{format_shape(x)}",
            "it applies its layer to every slice along axis 1; the input has no such axis",
        )
    rule = _SINGLE.get(inner_t)
    if rule is None:
        raise Unknown
    try:
        child = rule(inner_t, inner, (x[0], *x[2:]))
    except ShapeError as err:
        raise ShapeError(
            err.code,
            f"TimeDistributed applies {inner_t} to each slice {format_shape((x[0], *x[2:]))} "
            f"of {format_shape(x)}: {err.message}",
            err.hint,
        ) from None
    if len(child) != 1 or child[0] is None:
        raise Unknown
    c = child[0]
    return [(c[0], x[1], *c[1:])]


def _resizing(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    h, w = to_int(get_arg(a, "height")), to_int(get_arg(a, "width"))
    if len(x) != 4:
        raise Unknown  # Keras reads other ranks as unbatched images: not a model's tensor
    return [(x[0], x[1], h, w) if channels_first(a) else (x[0], h, w, x[3])]


def _identity(t: str, a: Mapping[str, Any], x: Shape) -> Shapes:
    return [x]


_Rule = Callable[[str, Mapping[str, Any], Shape], Shapes]
_SINGLE: dict[str, _Rule] = {
    **dict.fromkeys(_CONV_RANK, _conv),
    **dict.fromkeys(_POOL_RANK, _pool),
    **dict.fromkeys(_GLOBAL_RANK, _global_pool),
    **dict.fromkeys(_IDENTITY, _identity),
    **dict.fromkeys(_RNN_STATES, _rnn),
    **dict.fromkeys(
        ("ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D"), _padding_cropping
    ),
    **dict.fromkeys(("UpSampling1D", "UpSampling2D"), _upsampling),
    "Dense": _dense,
    "BatchNormalization": _normalization,
    "LayerNormalization": _normalization,
    "PReLU": _prelu,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Permute": _permute,
    "RepeatVector": _repeat_vector,
    "Embedding": _embedding,
    "Bidirectional": _bidirectional,
    "TimeDistributed": _time_distributed,
    "Resizing": _resizing,
}


# -- merges and attention ---------------------------------------------------------------------


def _label(labels: Sequence[str] | None, i: int) -> str:
    return f"'{labels[i]}'" if labels and i < len(labels) else f"input {i + 1}"


def _elementwise(t: str, xs: Sequence[Shape], labels: Sequence[str] | None) -> Shapes:
    batches = {x[0] for x in xs} - {None}
    if len(batches) > 1:
        raise ShapeError(
            "KS401",
            f"incompatible batch sizes for {t}: " + " and ".join(format_shape(x) for x in xs),
            "the inputs' batch_size must agree",
        )
    out: Shape = xs[0][1:]
    for i, x in enumerate(xs[1:], start=1):
        s1, s2 = out, x[1:]
        if len(s1) < len(s2):
            s1, s2 = s2, s1
        if not s2:
            out = s1
            continue
        merged: list[int | None] = list(s1[: len(s1) - len(s2)])
        for p, q in zip(s1[len(s1) - len(s2) :], s2, strict=True):
            if p is None or q is None:
                merged.append(None)
            elif p == 1:
                merged.append(q)
            elif q == 1 or p == q:
                merged.append(p)
            else:
                want = xs[0] if i == 1 else (xs[0][0], *out)
                raise ShapeError(
                    "KS401",
                    f"incompatible shapes for {t}: {format_shape(want)} and {format_shape(x)}",
                    _merge_hint(t, want, x, _label(labels, i)),
                )
        out = tuple(merged)
    batch = next(iter(batches)) if batches else None
    return [(batch, *out)]


def _merge_hint(t: str, want: Shape, got: Shape, label: str) -> str:
    base = f"{t} combines its inputs element by element: they need the same shape (a size of 1 "
    base += "broadcasts)"
    if len(want) == len(got) and want[:-1] == got[:-1] and want[-1] is not None:
        size = want[-1]
        return base + f"; give {label} a last axis of {size}, e.g. a Dense layer with units: {size}"
    return base + f"; reshape or project {label} to {format_shape(want)}"


def _concatenate(a: Mapping[str, Any], xs: Sequence[Shape], labels: Sequence[str] | None) -> Shapes:
    axis = get_arg(a, "axis", -1)
    if not is_int(axis):
        raise Unknown
    ranks = {len(x) for x in xs}
    if len(ranks) > 1:
        raise ShapeError(
            "KS405",
            "Concatenate needs inputs of the same rank; got "
            + ", ".join(format_shape(x) for x in xs),
            "reshape the inputs to the same number of axes (e.g. Flatten, or RepeatVector)",
        )
    rank = ranks.pop()
    ax = _axis(axis, rank, "Concatenate", xs[0])
    for k in range(rank):
        if k == ax:
            continue
        sizes = {x[k] for x in xs} - {None}
        if len(sizes) > 1:
            i = next(j for j, x in enumerate(xs) if x[k] is not None and x[k] != xs[0][k])
            what = "the batch axis" if k == 0 else f"axis {k}"
            raise ShapeError(
                "KS405",
                f"Concatenate along axis {axis} needs the inputs to agree on every other axis; "
                f"{what} differs: " + ", ".join(format_shape(x) for x in xs),
                f"{_label(labels, i)} has size {xs[i][k]} on {what}, not "
                f"{next(x[k] for x in xs if x[k] is not None)}; reshape or project it, or "
                "concatenate along that axis instead",
            )
    out = list(xs[0])
    total: int | None = 0
    for x in xs:
        total = None if total is None or x[ax] is None else total + x[ax]  # type: ignore[operator]
    out[ax] = total
    return [tuple(out)]


def _dot(a: Mapping[str, Any], xs: Sequence[Shape], labels: Sequence[str] | None) -> Shapes:
    if len(xs) != 2:
        raise Unknown
    s1, s2 = xs
    raw = get_arg(a, "axes")
    if is_int(raw):
        axes = [raw % len(s1), raw % len(s2)] if raw < 0 else [raw, raw]
    elif isinstance(raw, list) and len(raw) == 2 and all(is_int(v) for v in raw):
        axes = list(raw)
    else:
        raise Unknown
    for x, ax in zip(xs, axes, strict=True):
        _axis(ax, len(x), "Dot", x, "axes entry")
    if axes[0] % len(s1) == 0 or axes[1] % len(s2) == 0:
        raise Unknown  # the batch axis: Keras' shapes make no sense there
    d1, d2 = s1[axes[0]], s2[axes[1]]
    if d1 != d2:
        raise ShapeError(
            "KS405",
            f"Dot along axes {axes} needs equal sizes: {format_shape(s1)} has {d1} on axis "
            f"{axes[0]}, {format_shape(s2)} has {d2} on axis {axes[1]}",
            "the sizes must be known and equal; pick other axes, or project one input "
            "(e.g. a Dense layer) to match",
        )
    l1, l2 = list(s1), list(s2)
    l1.pop(axes[0])
    l2.pop(axes[1])
    l2.pop(0)
    out = l1 + l2
    if len(out) == 1:
        out.append(1)
    return [tuple(out)]


def _merge(
    t: str, a: Mapping[str, Any], xs: Sequence[Shape], labels: Sequence[str] | None
) -> Shapes:
    if not xs:
        raise Unknown
    if t == "Concatenate":
        return _concatenate(a, xs, labels)
    if t == "Dot":
        return _dot(a, xs, labels)
    if t == "Subtract" and len(xs) != 2:
        raise Unknown
    return _elementwise(t, xs, labels)


def _attention(
    a: Mapping[str, Any], q: Shape, v: Shape, k: Shape | None, call: Mapping[str, Any]
) -> Shapes:
    heads = to_int(get_arg(a, "num_heads"))
    to_int(get_arg(a, "key_dim"))
    key = v if k is None else k
    if k is not None and v[1:-1] != k[1:-1]:
        raise ShapeError(
            "KS401",
            f"MultiHeadAttention needs value and key to agree on every axis but the last; got "
            f"value {format_shape(v)} and key {format_shape(k)}",
            "the key gives one vector per value position: give them the same length",
        )
    for what, x in (("query", q), ("value", v), ("key", key)):
        if len(x) < 2:
            raise Unknown
        if x[-1] is None:
            raise ShapeError(
                "KS403",
                f"MultiHeadAttention needs a known last axis for the {what}; got {format_shape(x)}",
                "its projections have one row per input feature: give the input a fixed last size",
            )
    raw = get_arg(a, "output_shape")
    if raw is None:
        out: Shape = q
    elif is_int(raw):
        out = (*q[:-1], to_int(raw))
    elif isinstance(raw, list):
        out = (*q[:-1], *(to_int(d) for d in raw))
    else:
        raise Unknown
    if get_arg(call, "return_attention_scores", False) is not True:
        return [out]
    if len(q) != 3 or len(v) != 3 or get_arg(a, "attention_axes") is not None:
        return [out, None]
    # Keras' own static shape says (batch, heads, Tq, Tq); the scores are (batch, heads, Tq, Tv)
    return [out, (q[0], heads, q[1], v[1])]


# -- applying a layer -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Evaluated:
    """A nested layer with its arguments evaluated."""

    type: str
    args: dict[str, Any]


def evaluate_args(layer: LayerSpec, env: Mapping[str, Any]) -> dict[str, Any]:
    """``layer``'s arguments as plain values under ``env`` (nested layers included)."""
    return {key: _evaluated(value, env) for key, value in layer.args}


def _evaluated(value: Any, env: Mapping[str, Any]) -> Any:
    if isinstance(value, LayerSpec):
        return _Evaluated(value.type, evaluate_args(value, env))
    if isinstance(value, tuple) and any(isinstance(v, LayerSpec) for v in value):
        return [_evaluated(v, env) for v in value]  # StackedRNNCells' cells, Pipeline's layers
    return _value(value, env)


def _as_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """Plain arguments (as written in YAML) with nested ``{type: ...}`` layers recognised."""
    out: dict[str, Any] = {}
    for key, value in args.items():
        if key in _NESTED and isinstance(value, Mapping) and isinstance(value.get("type"), str):
            inner = {k: v for k, v in value.items() if k != "type"}
            out[key] = _Evaluated(value["type"], _as_args(inner))
        elif isinstance(value, tuple):
            out[key] = list(value)
        else:
            out[key] = value
    return out


_NESTED = ("layer", "backward_layer")


def apply_layer(
    layer_type: str,
    args: Mapping[str, Any],
    inputs: Any,
    call: Mapping[str, Any] | None = None,
    labels: Sequence[str] | None = None,
) -> Shapes | None:
    """The output shapes of a ``layer_type`` layer called on ``inputs``, or None if unknown.

    ``args`` are the constructor arguments as plain values (as written in YAML; nested layers as
    ``{type: ..., ...}`` mappings). ``inputs``: a shape; a list of shapes (merge layers, or
    positional query/value/key); or a mapping call argument -> shape (``{"query": ..., "value":
    ...}``, ``{"sequences": ...}``). Raises :class:`ShapeError` for a definite problem.
    """
    plain = args if any(isinstance(v, _Evaluated) for v in args.values()) else _as_args(args)
    try:
        return _apply(layer_type, plain, inputs, dict(call or {}), labels)
    except Unknown:
        return None


def _apply(
    t: str,
    a: Mapping[str, Any],
    inputs: Any,
    call: Mapping[str, Any],
    labels: Sequence[str] | None,
) -> Shapes:
    if t == "MultiHeadAttention":
        return _attention(a, *attention_inputs(inputs), call)
    if isinstance(inputs, Mapping):
        main = _first_arg(t, inputs)
        inputs = list(main) if t in _MERGES and isinstance(main, list | tuple) else main
    if t in _MERGES:
        if not isinstance(inputs, list | tuple) or not all(is_shape(x) for x in inputs):
            raise Unknown
        return _merge(t, a, list(inputs), labels)
    if isinstance(inputs, list) and len(inputs) == 1:
        inputs = inputs[0]
    if not is_shape(inputs):
        raise Unknown
    rule = _SINGLE.get(t)
    if rule is None:
        raise Unknown
    return rule(t, a, inputs)


def is_shape(x: Any) -> TypeGuard[Shape]:
    return isinstance(x, tuple) and all(d is None or is_int(d) for d in x)


def attention_inputs(inputs: Any) -> tuple[Shape, Shape, Shape | None]:
    """Query, value and key (None: the value is the key) of an attention layer's call: a
    mapping by call argument, or 2 or 3 positional tensors. Unknown unless all are shapes."""
    if isinstance(inputs, Mapping):
        q, v, k = inputs.get("query"), inputs.get("value"), inputs.get("key")
    elif isinstance(inputs, list | tuple) and len(inputs) in (2, 3):
        q, v, k = inputs[0], inputs[1], inputs[2] if len(inputs) == 3 else None
    else:
        raise Unknown
    if not (is_shape(q) and is_shape(v) and (k is None or is_shape(k))):
        raise Unknown
    return q, v, k


def _first_arg(t: str, inputs: Mapping[str, Any]) -> Any:
    """What a layer's first call argument (the tensor it is built on) is given, by name."""
    layer = LAYERS.get(t)
    first = layer.call_args[0] if layer and layer.call_args else None
    return inputs.get(first) if first else None


# -- shared layers ----------------------------------------------------------------------------

# What the first call fixes (Keras' InputSpec after build): type -> function(args, shape)
# giving {axis: size} (negative axes count from the end) and the rank it fixes, if any.


def _built_spec(t: str, a: Mapping[str, Any], x: Shape) -> tuple[dict[int, int], int | None]:
    if t == "Dense" or t in _CONV_RANK:
        ax = 1 if t != "Dense" and channels_first(a) else -1
        size = x[ax] if len(x) > 1 else None
        return ({} if size is None else {ax: size}), None
    if t == "BatchNormalization":
        ax = get_arg(a, "axis", -1)
        size = x[ax] if is_int(ax) and -len(x) <= ax < len(x) else None
        if size is None:
            raise Unknown
        return {ax: size}, len(x)
    if t == "PReLU":
        raw = get_arg(a, "shared_axes")
        shared = [] if raw is None else [raw] if is_int(raw) else raw
        if not isinstance(shared, list):
            raise Unknown
        # Keras fixes the sizes of the other axes only when some are shared (prelu.py build)
        axes = {i: d for i, d in enumerate(x) if i and i not in shared and d is not None}
        return (axes if shared else {}), len(x)
    raise Unknown


def _check_share(
    t: str, a: Mapping[str, Any], first: Shape, x: Shape, owner: str, first_node: str
) -> None:
    try:
        axes, rank = _built_spec(t, a, first)
    except Unknown:
        return
    if rank is not None and len(x) != rank:
        raise ShapeError(
            "KS409",
            f"the shared {t} layer {owner!r} was built by its first call ({first_node!r}) "
            f"for rank-{rank} inputs like {format_shape(first)}; here it gets {format_shape(x)}",
            "a shared layer keeps the weights of its first call: feed it tensors of the same "
            "shape, or use a new layer",
        )
    for ax, size in axes.items():
        if not -len(x) <= ax < len(x):
            continue
        if x[ax] is not None and x[ax] != size:
            raise ShapeError(
                "KS409",
                f"the shared {t} layer {owner!r} was built by its first call ({first_node!r}) "
                f"for inputs with {size} on axis {ax % len(first)}, like {format_shape(first)}; "
                f"here it gets {format_shape(x)}",
                "a shared layer keeps the weights of its first call: feed it tensors of the "
                "same size on that axis, or use a new layer",
            )


# -- graphs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    """A block instance to run: the driver runs its graph and sends back its output shapes."""

    block: Block
    env: dict[str, Any]
    inputs: Shapes
    prefix: NodePath
    trail: tuple[tuple[str, Node], ...]


@dataclass
class _State:
    rep: Reporter | None
    blocks: dict[str, Block]
    table: dict[NodePath, Shapes] = field(default_factory=dict)
    reported: set[tuple[str, str]] = field(default_factory=set)
    evaluations: int = 0
    on_build: OnBuild | None = None


def _path_of(node: Node) -> tuple[str | int, ...]:
    """The document path of a node (its ``pointer`` split; list indexes as ints)."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in node.pointer.split("/")[1:]]
    return tuple(
        int(p) if k and parts[k - 1] == "layers" and p.isdigit() else p for k, p in enumerate(parts)
    )


def _report(st: _State, node: Node, trail: tuple[tuple[str, Node], ...], err: ShapeError) -> None:
    if st.rep is None or (err.code, node.pointer) in st.reported:
        return
    st.reported.add((err.code, node.pointer))
    notes: tuple[str, ...] = ()
    if trail:
        chain = " > ".join(name for name, _ in trail)
        outer = trail[0][1]
        line = f" at line {outer.span.line}" if outer.span else ""
        notes = (f"in block instance {chain} (block node {outer.name!r}{line})",)
    st.rep.add(err.code, err.message, _path_of(node), hint=err.hint, node=node.name, notes=notes)


def _ref_shape(values: Mapping[str, Shapes], ref: Ref) -> Shape | None:
    outs = values.get(ref.node)
    i = ref.index or 0
    if outs is None or i >= len(outs):
        return None
    return outs[i]


def _layer_inputs(ni: NodeInputs, values: Mapping[str, Shapes]) -> tuple[Any, list[str]]:
    """The shapes a layer node is called on, in the structure ``_apply`` takes, and labels."""
    if ni.form == "single":
        if not ni.refs:
            return None, []
        return _ref_shape(values, ni.refs[0]), [str(ni.refs[0])]
    if ni.form == "list":
        return [_ref_shape(values, r) for r in ni.refs], [str(r) for r in ni.refs]
    out: dict[str, Any] = {}
    labels: list[str] = []
    for key, value in ni.refs:
        if isinstance(value, tuple):
            out[key] = [_ref_shape(values, r) for r in value]
            labels.extend(str(r) for r in value)
        else:
            out[key] = _ref_shape(values, value)
            labels.append(str(value))
    return out, labels


def main_input(t: str, inputs: Any) -> Shape | None:
    """The tensor a layer is built on (its first call argument)."""
    value = _first_arg(t, inputs) if isinstance(inputs, Mapping) else inputs
    return value if isinstance(value, tuple) else None


def _run(
    st: _State,
    graph: Graph,
    env: Mapping[str, Any],
    inputs: Shapes,
    prefix: NodePath,
    trail: tuple[tuple[str, Node], ...],
) -> Generator[_Request, Shapes, Shapes]:
    """Infer ``graph``'s shapes; yields block instances for the driver to run."""
    values: dict[str, Shapes] = {}
    for inp, shape in zip(graph.inputs, inputs, strict=False):
        st.evaluations += 1
        values[inp.name] = [shape]
        st.table[(*prefix, inp.name)] = [shape]
    owners = {n.name: n for n in graph.nodes if n.kind == "layer"}
    first_call: dict[str, tuple[Shape | None, str]] = {}  # layer -> (input, node) building it
    for node in graph.nodes:
        st.evaluations += 1
        unknown: Shapes = [None] * max(node.n_outputs, 1)
        if st.evaluations > MAX_EVALUATIONS:
            values[node.name] = unknown
            continue
        if node.kind == "block":
            outs = yield from _block_node(st, node, env, values, prefix, trail)
        else:
            owner = node if node.kind == "layer" else owners.get(str(node.target))
            outs = unknown
            if owner is not None and owner.layer is not None:
                outs = _layer_node(st, node, owner, env, values, first_call, prefix, trail)
        if len(outs) != node.n_outputs and node.n_outputs:  # 0: a custom layer's, unknown
            outs = unknown
        values[node.name] = outs
        st.table[(*prefix, node.name)] = outs
    return [_ref_shape(values, r) for r in graph.output_refs()]


def _layer_node(
    st: _State,
    node: Node,
    owner: Node,
    env: Mapping[str, Any],
    values: Mapping[str, Shapes],
    first_call: dict[str, tuple[Shape | None, str]],
    prefix: NodePath,
    trail: tuple[tuple[str, Node], ...],
) -> Shapes:
    assert owner.layer is not None
    t = owner.layer.type
    unknown: Shapes = [None] * max(node.n_outputs, 1)
    args = evaluate_args(owner.layer, env)
    call = {k: _value(v, env) for k, v in node.call}
    inputs, labels = _layer_inputs(node.inputs, values)
    main = main_input(t, inputs)
    earlier = first_call.get(owner.name)
    if earlier is None:  # this call builds the layer (even on a shape not known here)
        first_call[owner.name] = (main, node.name)
        if st.on_build is not None:
            st.on_build((*prefix, node.name), t, args, inputs)
    try:
        outs = _apply(t, args, inputs, call, labels)
        if earlier is not None and earlier[0] is not None and main is not None:
            _check_share(t, args, earlier[0], main, owner.name, earlier[1])
    except Unknown:
        return unknown
    except ShapeError as err:
        _report(st, node, trail, err)
        return unknown
    return outs


def _block_node(
    st: _State,
    node: Node,
    env: Mapping[str, Any],
    values: Mapping[str, Shapes],
    prefix: NodePath,
    trail: tuple[tuple[str, Node], ...],
) -> Generator[_Request, Shapes, Shapes]:
    unknown: Shapes = [None] * max(node.n_outputs, 1)
    block = st.blocks.get(str(node.target))
    if block is None:
        return unknown
    repeat: int | None = None
    if node.repeat is not None:
        r = _value(node.repeat, env)
        if not is_int(r) or r < 1:
            return unknown
        repeat = int(r)
    inst_env = dict(block.graph.params)
    for key, value in node.block_args:
        v = _value(value, env)
        if v is _BAD:
            inst_env.pop(key, None)  # expressions using it cannot be evaluated: unknown
        else:
            inst_env[key] = v
    if node.inputs.form == "mapping":
        by_name = dict(node.inputs.refs)
        refs = [by_name.get(i.name) for i in block.graph.inputs]
    else:
        refs = list(node.inputs.all_refs())
    shapes: Shapes = [_ref_shape(values, r) if isinstance(r, Ref) else None for r in refs]
    outs: Shapes = unknown
    for inst in instance_names(node.name, repeat):
        if st.evaluations > MAX_EVALUATIONS:
            return unknown
        outs = yield _Request(block, inst_env, shapes, (*prefix, inst), (*trail, (inst, node)))
        if repeat is not None:
            st.table[(*prefix, inst)] = outs
        shapes = outs
    return outs


def _input_shape(shape: Sequence[Any], batch: int | None, env: Mapping[str, Any]) -> Shape:
    dims: list[int | None] = []
    for d in shape:
        v = _value(d, env)
        dims.append(int(v) if is_int(v) and v >= 1 else None)
    return (batch, *dims)


def infer(
    spec: Spec, rep: Reporter | None = None, on_build: OnBuild | None = None
) -> dict[NodePath, Shapes]:
    """The output shapes of every node of ``spec``, by node path.

    Paths: ``("hidden1",)`` for a node of the model, ``("stage1", "conv")`` for node ``conv``
    inside block instance ``stage1`` (``("stage1_2", "conv")`` for the second instance of a
    repeated block node; ``("stage1",)`` is then the last instance's outputs), and inputs too
    (``("image",)``). Definite shape problems are reported through ``rep``. ``on_build(path,
    layer_type, args, inputs)`` is called for each layer at the call that builds it (its first),
    with its evaluated arguments and the shapes it is called on (None where unknown).
    """
    st = _State(rep, {b.name: b for b in spec.blocks}, on_build=on_build)
    env = spec.params
    inputs: Shapes = [_input_shape(i.shape, i.batch_size, env) for i in spec.graph.inputs]
    stack: list[Generator[_Request, Shapes, Shapes]] = [_run(st, spec.graph, env, inputs, (), ())]
    sent: Shapes | None = None
    while stack:
        try:
            request = stack[-1].send(sent)  # type: ignore[arg-type]
        except StopIteration as stop:
            stack.pop()
            sent = stop.value
            continue
        stack.append(
            _run(
                st, request.block.graph, request.env, request.inputs, request.prefix, request.trail
            )
        )
        sent = None
    return st.table


def model_outputs(spec: Spec, table: Mapping[NodePath, Shapes]) -> Shapes:
    """The model's output shapes in Keras' flattened order (mapping outputs by sorted key)."""
    graph = spec.graph

    def shape(ref: Ref) -> Shape | None:
        outs = table.get((ref.node,))
        i = ref.index or 0
        return outs[i] if outs is not None and i < len(outs) else None

    if graph.outputs_form == "mapping":
        return [shape(ref) for _, ref in sorted(graph.outputs, key=lambda kv: kv[0])]
    return [shape(ref) for ref in graph.output_refs()]
