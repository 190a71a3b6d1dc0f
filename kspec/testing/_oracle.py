"""The strategy's own shape oracle: what each drawn layer does to its inputs' shapes, so the
strategy only draws layers that fit. It is independent of kspec's layer registry on purpose:
the property tests compare the two (a drawn spec must check clean and build), so a mistake in
either shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kspec.testing._settings import FLOAT, INT, UNKNOWN_DIM

# -- shapes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sym:
    """An unknown size (``null`` in the spec). ``tag`` is how it was derived from the model
    inputs' unknown size, so equal tags mean equal sizes at run time; ``rt`` is its size when
    the inputs' unknown sizes are fed with :data:`UNKNOWN_DIM`."""

    tag: tuple[Any, ...]
    rt: int


Dim = int | Sym
Shape = tuple[Dim, ...]

_BASE = Sym(("T",), UNKNOWN_DIM)


@dataclass(frozen=True)
class TT:
    """A tensor type: shape without the batch axis, and dtype."""

    shape: Shape
    dtype: str = FLOAT

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def last(self) -> Dim:
        return self.shape[-1]

    @property
    def known(self) -> bool:
        return all(isinstance(d, int) for d in self.shape)

    @property
    def is_float(self) -> bool:
        return self.dtype == FLOAT


def _size(d: Dim) -> int:
    return d if isinstance(d, int) else d.rt


def _dmap(d: Dim, tag: tuple[Any, ...], fn: Callable[[int], int]) -> Dim:
    """``fn`` applied to a size: a number for a known size, a derived :class:`Sym` otherwise."""
    return fn(d) if isinstance(d, int) else Sym((*tag, d.tag), fn(d.rt))


def _prod(shape: Shape) -> int:
    out = 1
    for d in shape:
        out *= _size(d)
    return out


def _pos(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def _ceil(n: int, k: int) -> int:
    return -(-n // k)


# -- what each layer does to shapes ---------------------------------------------------------

_IDENTITY = frozenset(
    {"Dropout", "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "LayerNormalization",
     "BatchNormalization", "Rescaling", "PReLU"}
)  # fmt: skip
_ELEMENTWISE = ("Add", "Multiply", "Average", "Maximum", "Minimum")
_MERGES = frozenset({*_ELEMENTWISE, "Subtract", "Concatenate", "Dot"})
_RNN_STATES = {"LSTM": 2, "GRU": 1, "SimpleRNN": 1}


def _pool_len(d: Dim, pool: int, padding: str) -> Dim | None:
    if padding == "same":
        return _dmap(d, ("ceil", pool), lambda n: _ceil(n, pool))
    if _size(d) < pool:
        return None
    return _dmap(d, ("floor", pool), lambda n: (n - pool) // pool + 1)


def _conv_len(d: Dim, kernel: int, strides: int, padding: str) -> Dim | None:
    if padding in ("same", "causal"):
        if strides == 1:
            return d
        return _dmap(d, ("ceil", strides), lambda n: _ceil(n, strides))
    if _size(d) < kernel:
        return None
    return _dmap(d, ("valid", kernel, strides), lambda n: (n - kernel) // strides + 1)


def _ints(v: Any, n: int) -> list[int] | None:
    """An ``int or list of n ints`` argument as a list (None if malformed)."""
    if _pos(v):
        return [v] * n
    if isinstance(v, list) and len(v) == n and all(_pos(x) for x in v):
        return list(v)
    return None


def _axis_index(axis: Any, rank: int) -> int | None:
    """Keras axis (batch axis 0 included) -> index into our batch-less shape."""
    if not isinstance(axis, int) or isinstance(axis, bool):
        return None
    idx = axis - 1 if axis > 0 else rank + axis
    return idx if 0 <= idx < rank else None


def _merge_out(t: str, a: Mapping[str, Any], xs: Sequence[TT]) -> list[TT] | None:
    if not xs or not all(x.is_float for x in xs):
        return None
    if t in _ELEMENTWISE or t == "Subtract":
        if t == "Subtract" and len(xs) != 2:
            return None
        return [xs[0]] if all(x == xs[0] for x in xs) else None
    if t == "Dot":
        if len(xs) != 2 or xs[0] != xs[1] or xs[0].rank != 1:
            return None
        return [TT((1,))]
    # Concatenate
    rank = xs[0].rank
    idx = _axis_index(a.get("axis", -1), rank)
    if idx is None or any(x.rank != rank for x in xs):
        return None
    for k in range(rank):
        if k != idx and any(x.shape[k] != xs[0].shape[k] for x in xs):
            return None
    if not all(isinstance(x.shape[idx], int) for x in xs):
        return None
    total = sum(_size(x.shape[idx]) for x in xs)
    shape = list(xs[0].shape)
    shape[idx] = total
    return [TT(tuple(shape))]


def _rnn_out(t: str, a: Mapping[str, Any], x: TT, states: list[TT] | None) -> list[TT] | None:
    if not _pos(a.get("units")) or not x.is_float or x.rank != 2:
        return None
    units: int = a["units"]
    n_states = _RNN_STATES[t]
    if states is not None and (len(states) != n_states or any(s != TT((units,)) for s in states)):
        return None
    out = TT((x.shape[0], units)) if a.get("return_sequences") is True else TT((units,))
    if a.get("return_state") is True:
        return [out] + [TT((units,))] * n_states
    return [out]


def _mha_out(a: Mapping[str, Any], q: TT, v: TT, k: TT | None, scores: bool) -> list[TT] | None:
    if not (_pos(a.get("num_heads")) and _pos(a.get("key_dim"))):
        return None
    for x in (q, v, k):
        if x is not None and (not x.is_float or x.rank != 2):
            return None
    if k is not None and k.shape[0] != v.shape[0]:
        return None
    shape = a.get("output_shape")
    last = q.last if shape is None else shape
    if not (isinstance(last, Sym) or _pos(last)):
        return None
    out = [TT((q.shape[0], last))]
    if scores:
        out.append(TT((a["num_heads"], q.shape[0], v.shape[0])))
    return out


def _single_out(t: str, a: Mapping[str, Any], x: TT) -> list[TT] | None:
    """The output of a one-input layer the strategy draws, in symbolic dims (None: the draw
    cannot say, and does not use the layer there)."""
    if t == "Embedding":
        if x.dtype != INT or not (_pos(a.get("input_dim")) and _pos(a.get("output_dim"))):
            return None
        return [TT((*x.shape, a["output_dim"]))]
    if not x.is_float or x.rank < 1:
        return None
    if t in _IDENTITY:
        return None if t == "PReLU" and not x.known else [x]
    rule = _RULES.get(t) or (_global if t.startswith("Global") else None)
    return None if rule is None else rule(t, a, x)


Rule = Callable[[str, Mapping[str, Any], TT], "list[TT] | None"]


def _known(dims: list[Dim | None]) -> list[Dim] | None:
    """``dims`` if every one is known."""
    out = [d for d in dims if d is not None]
    return out if len(out) == len(dims) else None


def _dense(t: str, a: Mapping[str, Any], x: TT) -> list[TT] | None:
    return [TT((*x.shape[:-1], a["units"]))] if _pos(a.get("units")) else None


def _flatten(t: str, a: Mapping[str, Any], x: TT) -> list[TT] | None:
    return [TT((_prod(x.shape),))] if x.known else None


def _conv(t: str, a: Mapping[str, Any], x: TT) -> list[TT] | None:
    s, n = x.shape, 1 if t == "Conv1D" else 2
    if x.rank != n + 1:
        return None
    kernel, strides = _ints(a.get("kernel_size"), n), _ints(a.get("strides", 1), n)
    if kernel is None or strides is None:
        return None
    if t == "DepthwiseConv2D":
        mult = a.get("depth_multiplier", 1)
        if not _pos(mult) or not isinstance(s[-1], int):
            return None
        channels: Dim = s[-1] * mult
    else:
        if not _pos(a.get("filters")):
            return None
        channels = a["filters"]
    dims = [_conv_len(d, k, st, a.get("padding", "valid")) for d, k, st in
            zip(s[:-1], kernel, strides, strict=True)]  # fmt: skip
    known = _known(dims)
    return None if known is None else [TT((*known, channels))]


def _pool(t: str, a: Mapping[str, Any], x: TT) -> list[TT] | None:
    s, n = x.shape, 1 if t.endswith("1D") else 2
    if x.rank != n + 1:
        return None
    pool = _ints(a.get("pool_size", 2), n)
    if pool is None or a.get("strides") is not None:
        return None
    dims = [_pool_len(d, p, a.get("padding", "valid")) for d, p in zip(s[:-1], pool, strict=True)]
    known = _known(dims)
    return None if known is None else [TT((*known, s[-1]))]


def _global(t: str, a: Mapping[str, Any], x: TT) -> list[TT] | None:
    n = 1 if t.endswith("1D") else 2
    if x.rank != n + 1:
        return None
    return [TT((*([1] * n), x.shape[-1]) if a.get("keepdims") else (x.shape[-1],))]


def _repeat_vector(t: str, a: Mapping[str, Any], x: TT) -> list[TT] | None:
    return [TT((a["n"], x.shape[0]))] if x.rank == 1 and _pos(a.get("n")) else None


def _permute(t: str, a: Mapping[str, Any], x: TT) -> list[TT] | None:
    dims = a.get("dims")
    if not isinstance(dims, list) or sorted(dims) != list(range(1, x.rank + 1)):
        return None
    return [TT(tuple(x.shape[d - 1] for d in dims))]


def _reshape(t: str, a: Mapping[str, Any], x: TT) -> list[TT] | None:
    target = a.get("target_shape")
    if not x.known or not isinstance(target, list) or target.count(-1) > 1:
        return None
    known = 1
    for d in target:
        if d != -1:
            known *= d
    total = _prod(x.shape)
    if total % known:
        return None
    return [TT(tuple(total // known if d == -1 else d for d in target))]


def _resize_1d(t: str, a: Mapping[str, Any], x: TT) -> list[TT] | None:
    s = x.shape
    if x.rank != 2:
        return None
    if t == "ZeroPadding1D":
        p = a.get("padding", 1)
        new = _dmap(s[0], ("pad", p), lambda m: m + 2 * p)
    elif t == "UpSampling1D":
        k = a.get("size", 2)
        new = _dmap(s[0], ("up", k), lambda m: m * k)
    else:
        c = a.get("cropping", 1)
        if _size(s[0]) - 2 * c < 1:
            return None
        new = _dmap(s[0], ("crop", c), lambda m: m - 2 * c)
    return [TT((new, s[1]))]


def _resize_2d(t: str, a: Mapping[str, Any], x: TT) -> list[TT] | None:
    s = x.shape
    if x.rank != 3:
        return None
    if t == "ZeroPadding2D":
        p = a.get("padding", 1)
        h, w = (_dmap(d, ("pad", p), lambda m: m + 2 * p) for d in s[:2])
    else:
        k = a.get("size", 2)
        h, w = (_dmap(d, ("up", k), lambda m: m * k) for d in s[:2])
    return [TT((h, w, s[2]))]


def _bidirectional(t: str, a: Mapping[str, Any], x: TT) -> list[TT] | None:
    inner = a.get("layer")
    if not isinstance(inner, dict) or inner.get("type") not in _RNN_STATES:
        return None
    if inner.get("return_state"):
        return None
    rnn = _rnn_out(inner["type"], inner, x, None)
    if rnn is None:
        return None
    mode = a.get("merge_mode", "concat")
    width = 2 * inner["units"] if mode == "concat" else inner["units"]
    merged = TT((*rnn[0].shape[:-1], width))
    return [merged, merged] if mode is None else [merged]  # null: [forward, backward]


def _time_distributed(t: str, a: Mapping[str, Any], x: TT) -> list[TT] | None:
    inner = a.get("layer")
    if not isinstance(inner, dict) or x.rank < 2:
        return None
    step = _single_out(str(inner.get("type")), inner, TT(x.shape[1:]))
    return None if step is None or len(step) != 1 else [TT((x.shape[0], *step[0].shape))]


_RULES: dict[str, Rule] = {
    "Dense": _dense,
    "Flatten": _flatten,
    **dict.fromkeys(("Conv1D", "Conv2D", "SeparableConv2D", "DepthwiseConv2D"), _conv),
    **dict.fromkeys(
        ("MaxPooling1D", "AveragePooling1D", "MaxPooling2D", "AveragePooling2D"), _pool
    ),
    "RepeatVector": _repeat_vector,
    "Permute": _permute,
    "Reshape": _reshape,
    **dict.fromkeys(("ZeroPadding1D", "UpSampling1D", "Cropping1D"), _resize_1d),
    **dict.fromkeys(("ZeroPadding2D", "UpSampling2D"), _resize_2d),
    "Bidirectional": _bidirectional,
    "TimeDistributed": _time_distributed,
}


def _layer_out(t: str, a: Mapping[str, Any], ins: Any, call: Mapping[str, Any]) -> list[TT] | None:
    """The output tensor types of a ``t`` layer with arguments ``a`` called on ``ins`` (a
    list of tensor types, or a mapping call argument -> type or list), or None if invalid."""
    scores = call.get("return_attention_scores") is True
    flat = [
        x for v in (ins.values() if isinstance(ins, dict) else ins)
        for x in (v if isinstance(v, list) else [v])
    ]  # fmt: skip
    if not all(
        isinstance(x, TT) and x.rank >= 1 and (x.dtype == INT or isinstance(x.last, int))
        for x in flat
    ):
        return None  # layers with weights need the last size, the others are not drawn without
    if isinstance(ins, dict):
        if t in _RNN_STATES:
            seq = ins.get("sequences")
            init = ins.get("initial_state")
            if not isinstance(seq, TT) or set(ins) - {"sequences", "initial_state"}:
                return None
            states = None if init is None else init if isinstance(init, list) else [init]
            return _rnn_out(t, a, seq, states)
        if t == "MultiHeadAttention":
            q, v, k = ins.get("query"), ins.get("value"), ins.get("key")
            if not isinstance(q, TT) or not isinstance(v, TT):
                return None
            return _mha_out(a, q, v, k, scores)
        if set(ins) != {"inputs"} or not isinstance(ins["inputs"], TT):
            return None
        ins = [ins["inputs"]]
    if t in _MERGES:
        return _merge_out(t, a, ins)
    if t == "MultiHeadAttention":
        if len(ins) not in (2, 3):
            return None
        return _mha_out(a, ins[0], ins[1], ins[2] if len(ins) == 3 else None, scores)
    if len(ins) != 1:
        return None
    if t in _RNN_STATES:
        return _rnn_out(t, a, ins[0], None)
    return _single_out(t, a, ins[0])


def _shareable(t: str, built: TT, new: TT) -> bool:
    """Whether a layer built on ``built`` can be called again on ``new``."""
    if t == "PReLU":
        return built == new
    return built.dtype == new.dtype and built.rank == new.rank and built.last == new.last


# -- tensor ops (op nodes): the ones the strategy draws ---------------------------------------

#: Each drawn op's tensor parameters, in order.
OP_TENSORS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("add", "subtract", "multiply", "maximum", "minimum"), ("x1", "x2")),
    **dict.fromkeys(
        ("relu", "relu6", "hard_swish", "hard_sigmoid", "gelu", "silu", "tanh", "sigmoid"),
        ("x",),
    ),
    **dict.fromkeys(("mean", "transpose", "clip", "get_item"), ("x",)),
    "concatenate": ("xs",),
}


def _op_out(op: str, a: Mapping[str, Any], got: Any) -> list[TT] | None:
    """The output type of a drawn op node called on ``got`` (a type, a list, or a mapping by
    tensor parameter); None if it would be invalid."""
    params = OP_TENSORS.get(op)
    if params is None:
        return None
    free = [p for p in params if p not in a]
    if isinstance(got, dict):
        ins = dict(got)
    elif op == "concatenate":
        ins = {"xs": got if isinstance(got, list) else [got]}
    else:
        items = got if isinstance(got, list) else [got]
        if len(items) != len(free):
            return None
        ins = dict(zip(free, items, strict=True))
    tensors: list[Any] = [ins[p] for p in params if p in ins]
    if op == "concatenate":
        xs = ins.get("xs") or []
        if not xs or any(x.shape[:-1] != xs[0].shape[:-1] for x in xs):
            return None
        if not all(isinstance(x.last, int) and x.is_float for x in xs):
            return None
        return [TT((*xs[0].shape[:-1], sum(x.last for x in xs)))]
    if not tensors or not all(isinstance(t, TT) and t.is_float for t in tensors):
        return None
    x: TT = tensors[0]
    if any(t != x for t in tensors):
        return None  # the strategy adds only tensors of one type (or a constant)
    if op == "mean":
        return [TT((*x.shape[:-1], 1))] if x.rank >= 1 else None
    if op == "transpose":
        return [TT((x.shape[1], x.shape[0]))] if x.rank == 2 else None
    if op == "get_item":  # the two keys the strategy draws
        if a.get("key") == [":", 0]:
            return [TT(x.shape[1:])] if x.rank >= 2 else None
        last = x.last
        return [TT((*x.shape[:-1], last - 1))] if isinstance(last, int) and last >= 2 else None
    return [x]
