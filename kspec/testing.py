"""Hypothesis strategies that draw valid kspec specs, for fuzzing anything that consumes them.

``specs()`` draws the YAML text of a spec; ``spec_dicts()`` draws the plain mapping that text is
dumped from. Every drawn spec checks clean (``kspec.check_text`` reports no error) and builds in
both targets::

    import kspec
    from hypothesis import given
    from kspec.testing import specs

    @given(specs())
    def test_my_pipeline_handles_every_valid_spec(text):
        spec = kspec.loads(text)
        model = kspec.build_model(spec, target="functional")
        ...

    @given(specs(max_nodes=6, blocks=False))   # smaller graphs, no blocks
    def test_quick(text): ...

What the drawn specs use, across draws: Dense, Conv1D, Conv2D, SeparableConv2D, DepthwiseConv2D
(padding ``same``/``causal``), local and global pooling, Flatten, BatchNormalization,
LayerNormalization, Dropout, Activation, ReLU and other activation layers, Embedding (on
``int32`` inputs), LSTM/GRU/SimpleRNN (``return_sequences``, ``return_state``, ``node[i]``
references to the states, states fed to another RNN as ``initial_state`` through an ``inputs``
mapping), Bidirectional, TimeDistributed, MultiHeadAttention (``{query: a, value: b}``, with
``key``, or positional lists; causal masks and attention scores), the merge layers (Add,
Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot), RepeatVector, Permute,
Reshape, padding/cropping/up-sampling, several inputs, several outputs (a reference, a list or a
named mapping), ``share:`` nodes, blocks (with params, used with different param values, blocks
using blocks, several inputs and outputs, ``inputs`` given as a list or a mapping, ``repeat: N``
or ``repeat: $param`` when the block keeps its input shapes), model and block params with
``$param`` and ``${expr}`` expressions (also in input shapes and ``repeat``), implicit inputs (a
node without ``inputs``), nodes written out of order (references to later nodes), constant
``call:`` arguments, descriptions that need escaping, and names that are hostile to Python code
generators (``class``, ``lambda``, ``self``, ``tf``, ``inputs``, ``layers``, ``max``, ...) for
nodes, inputs, params, blocks, outputs and the model.

To run a built model on data: feed an unknown (``null``) size with :data:`UNKNOWN_DIM`, and an
``int32`` input with integers in ``[0, n)`` where ``n`` is the smallest ``input_dim`` of the
model's Embedding layers (int inputs feed only Embedding layers).

This module imports only hypothesis and yaml (never TensorFlow).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from hypothesis import strategies as st

__all__ = [
    "HOSTILE_NAMES",
    "RESERVED_PARAMS",
    "UNKNOWN_DIM",
    "spec_dicts",
    "specs",
]

#: The length to feed for an unknown (``null``) size of an input: every drawn spec is valid
#: for it (pooling and cropping never shrink such a size below 1).
UNKNOWN_DIM = 6

#: Names that are Python keywords, builtins, names generated code uses, or attributes of
#: ``keras.Model``: drawn as node, input, param, block, output and model names.
HOSTILE_NAMES: tuple[str, ...] = (
    "class", "lambda", "self", "tf", "keras", "inputs", "x", "layers", "output", "name",
    "weights", "call", "model", "build_model", "input", "max", "i", "instance", "tensors",
    "config",
)  # fmt: skip

#: Param names kspec rejects (Keras' own constructor arguments and the generated code's).
RESERVED_PARAMS = frozenset(
    {"name", "dtype", "trainable", "autocast", "inputs", "outputs", "kwargs", "self",
     "input_shape", "batch_input_shape", "dynamic"}
)  # fmt: skip

_PARAM_NAMES = tuple(n for n in HOSTILE_NAMES if n not in RESERVED_PARAMS)

_DESCRIPTIONS = (
    "A drawn model.",
    'Tricky """ description \\ with "quotes" and # hashes',
    "Two\nlines: the second one.",
    'Ends with a quote"',
    "Unicode: \u00e9t\u00e9, \u4e2d\u6587, \u2603.",
    "'single' and ''' triple ''' quotes",
)

# Constructs the strategy draws (True), or leaves out because kspec gets them wrong (False; switch
# one on to check a fix). Fixed: an `inputs` mapping in any key order; `outputs: [x]` (a list
# of one, a tensor in both targets); a share with `inputs: [x]`; a block named `name`; block
# `outputs: [x]`.
_MAPPING_ANY_ORDER = True
_OUTPUTS_LIST_OF_ONE = True
_SHARE_LIST_OF_ONE = True
_BLOCK_NAMED_NAME = True
_BLOCK_OUTPUTS_LIST_OF_ONE = True
# Embedding `mask_zero: true` (fixed: the subclass target keeps the masks MultiHeadAttention
# clears). Keras' Softmax layer fails on a masked 3-D input in both targets, so a spec draws
# either masks or Softmax layers, never both.
_MASK_ZERO = True

FLOAT = "float32"
INT = "int32"

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


# -- values: literals or expressions over params -------------------------------------------


@dataclass(frozen=True)
class Ex:
    """A value written as an expression: its spec text and how to evaluate it."""

    text: str
    fn: Callable[[Mapping[str, Any]], Any] = field(compare=False, repr=False)


def _ev(value: Any, env: Mapping[str, Any]) -> Any:
    if isinstance(value, Ex):
        return value.fn(env)
    if isinstance(value, list):
        return [_ev(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _ev(v, env) for k, v in value.items()}
    return value


def _render(value: Any) -> Any:
    if isinstance(value, Ex):
        return value.text
    if isinstance(value, list | tuple):
        return [_render(v) for v in value]
    if isinstance(value, dict):
        return {k: _render(v) for k, v in value.items()}
    return value


# Param kinds: the values a param (and a block instance's override) may take, smallest first.
_DOMAINS: dict[str, list[Any]] = {
    "size": [2, 4, 3, 8, 6, 5],
    "count": [1, 2, 3],
    "rate": [0.0, 0.1, 0.25, 0.5],
    "flag": [False, True],
    "act": ["relu", "tanh", "sigmoid", "gelu", "linear", "silu", "softplus", "elu"],
    "kernel": [[1, 1], [3, 3], [1, 3], [3, 1]],
}

_Form = tuple[str, Callable[[Any], Any]]


def _size_forms(p: str) -> list[_Form]:
    """Expressions over an int param ``p`` (always >= 2) whose value is a positive int."""
    return [
        (f"${p}", lambda v: v),
        (f"${{{p}}}", lambda v: v),
        (f"${{{p} * 2}}", lambda v: v * 2),
        (f"${{{p} // 2}}", lambda v: v // 2),
        (f"${{{p} + 1}}", lambda v: v + 1),
        (f"${{max({p} // 2, 1)}}", lambda v: max(v // 2, 1)),
        (f"${{min({p}, 4)}}", lambda v: min(v, 4)),
        (f"${{{p} if {p} < 6 else 6}}", lambda v: v if v < 6 else 6),
        (f"${{int({p} * 1.5)}}", lambda v: int(v * 1.5)),
        (f"${{round({p} / 2)}}", lambda v: round(v / 2)),
        (f"${{abs(-{p})}}", lambda v: abs(-v)),
        (f"${{({p} + 1) // 2 * 2}}", lambda v: (v + 1) // 2 * 2),
        (f"${{{p} % 3 + 1}}", lambda v: v % 3 + 1),
    ]


def _forms(kind: str, p: str) -> list[_Form]:
    if kind == "size":
        return _size_forms(p)
    if kind == "count":
        return [(f"${p}", lambda v: v), (f"${{min({p} + 1, 3)}}", lambda v: min(v + 1, 3))]
    if kind == "rate":
        return [(f"${p}", lambda v: v), (f"${{{p} / 2}}", lambda v: v / 2)]
    if kind == "flag":
        return [(f"${p}", lambda v: v), (f"${{not {p}}}", lambda v: not v)]
    return [(f"${p}", lambda v: v)]


def _ex(text: str, param: str, fn: Callable[[Any], Any]) -> Ex:
    return Ex(text, lambda env: fn(env[param]))


def _param(name: str) -> Ex:
    """``$name``."""
    return Ex(f"${name}", lambda env: env[name])


@dataclass
class Param:
    name: str
    kind: str
    default: Any


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
    if t == "Embedding":
        if x.dtype != INT or not (_pos(a.get("input_dim")) and _pos(a.get("output_dim"))):
            return None
        return [TT((*x.shape, a["output_dim"]))]
    if not x.is_float or x.rank < 1:
        return None
    s = x.shape
    if t == "Dense":
        return [TT((*s[:-1], a["units"]))] if _pos(a.get("units")) else None
    if t in _IDENTITY:
        if t == "PReLU" and not x.known:
            return None
        return [x]
    if t == "Flatten":
        return [TT((_prod(s),))] if x.known else None
    if t in ("Conv1D", "Conv2D", "SeparableConv2D", "DepthwiseConv2D"):
        n = 1 if t == "Conv1D" else 2
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
        padding = a.get("padding", "valid")
        dims: list[Dim] = []
        for d, k, st_ in zip(s[:-1], kernel, strides, strict=True):
            out = _conv_len(d, k, st_, padding)
            if out is None:
                return None
            dims.append(out)
        return [TT((*dims, channels))]
    if t in ("MaxPooling1D", "AveragePooling1D", "MaxPooling2D", "AveragePooling2D"):
        n = 1 if t.endswith("1D") else 2
        if x.rank != n + 1:
            return None
        pool = _ints(a.get("pool_size", 2), n)
        if pool is None or a.get("strides") is not None:
            return None
        dims = []
        for d, p in zip(s[:-1], pool, strict=True):
            out = _pool_len(d, p, a.get("padding", "valid"))
            if out is None:
                return None
            dims.append(out)
        return [TT((*dims, s[-1]))]
    if t.startswith("Global"):
        n = 1 if t.endswith("1D") else 2
        if x.rank != n + 1:
            return None
        return [TT((*([1] * n), s[-1]) if a.get("keepdims") else (s[-1],))]
    if t == "RepeatVector":
        return [TT((a["n"], s[0]))] if x.rank == 1 and _pos(a.get("n")) else None
    if t == "Permute":
        dims_ = a.get("dims")
        if not isinstance(dims_, list) or sorted(dims_) != list(range(1, x.rank + 1)):
            return None
        return [TT(tuple(s[d - 1] for d in dims_))]
    if t == "Reshape":
        target = a.get("target_shape")
        if not x.known or not isinstance(target, list) or target.count(-1) > 1:
            return None
        known = 1
        for d in target:
            if d != -1:
                known *= d
        total = _prod(s)
        if total % known:
            return None
        return [TT(tuple(total // known if d == -1 else d for d in target))]
    if t in ("ZeroPadding1D", "UpSampling1D", "Cropping1D"):
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
    if t in ("ZeroPadding2D", "UpSampling2D"):
        if x.rank != 3:
            return None
        if t == "ZeroPadding2D":
            p = a.get("padding", 1)
            h, w = (_dmap(d, ("pad", p), lambda m: m + 2 * p) for d in s[:2])
        else:
            k = a.get("size", 2)
            h, w = (_dmap(d, ("up", k), lambda m: m * k) for d in s[:2])
        return [TT((h, w, s[2]))]
    if t == "Bidirectional":
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
    if t == "TimeDistributed":
        inner = a.get("layer")
        if not isinstance(inner, dict) or x.rank < 2:
            return None
        step = _single_out(str(inner.get("type")), inner, TT(s[1:]))
        return None if step is None or len(step) != 1 else [TT((s[0], *step[0].shape))]
    return None


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


# -- graphs and blocks, replayed for any input types and params ---------------------------


@dataclass
class BlockDef:
    name: str
    params: list[Param]
    inputs: list[str]
    example: list[TT]  # the input types it was drawn for
    nodes: list[dict[str, Any]]
    outputs: list[str]
    outputs_list: bool  # outputs written as a list (even of one)
    description: str | None = None

    def env(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        return {**{p.name: p.default for p in self.params}, **overrides}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.description:
            out["description"] = self.description
        if self.params:
            out["params"] = {p.name: p.default for p in self.params}
        out["inputs"] = list(self.inputs)
        out["layers"] = [_render(n) for n in self.nodes]
        out["outputs"] = (
            list(self.outputs) if self.outputs_list or len(self.outputs) > 1 else self.outputs[0]
        )
        return out


def _split_ref(ref: str) -> tuple[str, int | None]:
    if ref.endswith("]"):
        name, index = ref[:-1].split("[")
        return name, int(index)
    return ref, None


def _run_graph(
    input_names: Sequence[str],
    ins: Sequence[TT],
    nodes: Sequence[dict[str, Any]],
    outputs: Sequence[str],
    env: Mapping[str, Any],
    blocks: Mapping[str, BlockDef],
) -> list[TT] | None:
    """Replay a graph: the types of its outputs, or None if some node would be invalid."""
    values: dict[str, list[TT]] = {n: [tt] for n, tt in zip(input_names, ins, strict=True)}
    built: dict[str, tuple[str, dict[str, Any], dict[str, Any], TT]] = {}

    def ref(r: str) -> TT | None:
        name, index = _split_ref(r)
        got = values.get(name)
        if got is None:
            return None
        if index is None:
            return got[0] if len(got) == 1 else None
        return got[index] if index < len(got) else None

    def resolve(raw: Any) -> Any:
        if isinstance(raw, str):
            return ref(raw)
        if isinstance(raw, list):
            items = [ref(r) for r in raw]
            return None if any(i is None for i in items) else items
        if isinstance(raw, dict):
            out = {k: resolve(v) for k, v in raw.items()}
            return None if any(v is None for v in out.values()) else out
        return None

    def names(raw: Any) -> set[str]:
        if isinstance(raw, str):
            return {_split_ref(raw)[0]}
        items = raw.values() if isinstance(raw, dict) else raw
        return {n for item in items for n in names(item)}

    # a node without `inputs` takes the previous node in spec order (or the only input)
    pending: list[tuple[dict[str, Any], Any]] = []
    previous: str | None = input_names[0] if len(input_names) == 1 else None
    for node in nodes:
        ev = _ev(node, env)
        raw = ev.get("inputs", previous)
        if raw is None:
            return None
        pending.append((ev, raw))
        previous = ev["name"]
    # evaluate in dependency order (a node may refer to a later one)
    while pending:
        ready = [
            (ev, raw)
            for ev, raw in pending
            if names(raw) <= set(values) and ("share" not in ev or ev["share"] in built)
        ]
        if not ready:
            return None
        ev, raw = ready[0]
        pending.remove((ev, raw))
        got = resolve(raw)
        if got is None:
            return None
        outs = _node_out(ev, got, built, blocks)
        if outs is None:
            return None
        values[ev["name"]] = outs
    result = [ref(r) for r in outputs]
    return None if any(r is None for r in result) else result  # type: ignore[return-value]


def _node_out(
    ev: dict[str, Any],
    got: Any,
    built: dict[str, tuple[str, dict[str, Any], dict[str, Any], TT]],
    blocks: Mapping[str, BlockDef],
) -> list[TT] | None:
    """The output types of one evaluated node called on ``got``."""
    call = ev.get("call") or {}
    if "block" in ev:
        b = blocks[ev["block"]]
        inner_env = b.env(
            {k: v for k, v in ev.items() if k not in ("name", "block", "inputs", "repeat")}
        )
        if isinstance(got, dict):
            if set(got) != set(b.inputs):
                return None
            current = [got[k] for k in b.inputs]
        else:
            current = [got] if isinstance(got, TT) else list(got)
        repeat = ev.get("repeat")
        count = 1 if repeat is None else repeat
        if not _pos(count) or (repeat is not None and len(b.inputs) != len(b.outputs)):
            return None
        outs = None
        for _ in range(count):
            if len(current) != len(b.inputs):
                return None
            outs = _run_graph(b.inputs, current, b.nodes, b.outputs, inner_env, blocks)
            if outs is None:
                return None
            current = outs
        return outs
    arg: Any = [got] if isinstance(got, TT) else got
    main = arg[0] if isinstance(arg, list) else None
    if isinstance(got, dict):
        main = got.get("sequences") or got.get("query") or got.get("inputs")
    if "share" in ev:
        target = built.get(ev["share"])
        if target is None or not isinstance(arg, list) or len(arg) != 1:
            return None
        if not _shareable(target[0], target[3], arg[0]):
            return None
        return _layer_out(target[0], target[1], arg, {**target[2], **call})
    t = ev["type"]
    a = {k: v for k, v in ev.items() if k not in ("name", "type", "inputs", "call")}
    outs = _layer_out(t, a, arg, call)
    if outs is not None and isinstance(main, TT):
        built[ev["name"]] = (t, a, call, main)
    return outs


# -- the generator --------------------------------------------------------------------------


@dataclass
class _Tensor:
    ref: str  # "node", "node[i]" or an input name
    tt: TT
    owner: str  # the node or input it comes from
    state: bool = False  # a recurrent layer's state (good initial_state material)


class _Ctx:
    """What one draw shares across its graphs: the blocks and the draw function."""

    def __init__(self, draw: Callable[..., Any], max_blocks: int, max_depth: int):
        self.draw = draw
        self.blocks: dict[str, BlockDef] = {}
        self.block_names: set[str] = set()  # defined or being drawn
        self.max_blocks = max_blocks
        self.max_depth = max_depth
        self.masked = False  # an Embedding with mask_zero was drawn (then no Softmax)
        self.softmax = False  # a Softmax was drawn (then no mask_zero)


class _Graph:
    """One graph being drawn: the model's, or a block's body."""

    def __init__(
        self,
        ctx: _Ctx,
        inputs: Sequence[tuple[str, TT]],
        depth: int,
        names: set[str] | None = None,
        params: list[Param] | None = None,
    ):
        self.ctx = ctx
        self.draw = ctx.draw
        self.depth = depth  # 0: the model; 1: a block; 2: a block inside a block
        self.names: set[str] = set(names or ()) | {n for n, _ in inputs}
        self.params: list[Param] = params if params is not None else []
        self.env: dict[str, Any] = {p.name: p.default for p in self.params}
        self.input_names = [n for n, _ in inputs]
        self.pool: list[_Tensor] = [_Tensor(n, tt, n) for n, tt in inputs]
        self.nodes: list[dict[str, Any]] = []
        self.used: set[str] = set()
        self.implicit: str | None = self.input_names[0] if len(inputs) == 1 else None
        self.shared: list[tuple[str, str, dict[str, Any], TT]] = []  # name, type, args, input
        self.implicit_of: dict[str, str] = {}  # node without `inputs` -> what it takes
        self.count = 0  # nodes drawn, block bodies included

    # -- small draws ----------------------------------------------------------------------

    def pick_index(self, n: int, most: int = 8) -> int:
        return self.draw(st.integers(0, min(n, most) - 1))

    def choose(self, items: Sequence[Any]) -> Any:
        item = items[self.draw(st.integers(0, len(items) - 1))]
        return list(item) if isinstance(item, list) else item  # never share a list

    def chance(self, weight: int = 2) -> bool:
        """True about once in ``weight`` draws (shrinks to False)."""
        return self.draw(st.integers(0, weight - 1)) == weight - 1

    def fresh(self, base: str, repeat: int = 0) -> str:
        """A new node name: sometimes a hostile one, else ``base`` with a number."""

        def free(n: str) -> bool:
            return n not in self.names and all(
                f"{n}_{j}" not in self.names for j in range(1, repeat + 1)
            )

        k = self.draw(st.integers(0, 2 * len(HOSTILE_NAMES)))
        if 0 < k <= len(HOSTILE_NAMES) and free(HOSTILE_NAMES[k - 1]):
            name = HOSTILE_NAMES[k - 1]
        else:
            j = 1
            while not free(f"{base}{j}"):
                j += 1
            name = f"{base}{j}"
        self.names.add(name)
        self.names.update(f"{name}_{j}" for j in range(1, repeat + 1))
        return name

    def param_name(self) -> str:
        taken = {p.name for p in self.params}
        if self.depth > 0:
            # kspec reserves `call` for block params (KS209): an instance's `call:` key is the
            # node's constant call arguments.
            taken.add("call")
        k = self.draw(st.integers(0, len(_PARAM_NAMES)))
        if k and _PARAM_NAMES[k - 1] not in taken:
            return _PARAM_NAMES[k - 1]
        j = 1
        while f"p{j}" in taken:
            j += 1
        return f"p{j}"

    def new_param(self, kind: str, default: Any = None) -> Param:
        if default is None:
            default = self.choose(_DOMAINS[kind])
        p = Param(self.param_name(), kind, default)
        self.params.append(p)
        self.env[p.name] = default
        return p

    def value(self, kind: str, literals: Sequence[Any] | None = None) -> tuple[Any, Any]:
        """An argument of a param kind: ``(spec value, its value now)``: a literal, or an
        expression over a (possibly new) param of this graph."""
        mode = self.draw(st.integers(0, 3))
        if mode < 2:
            v = self.choose(literals if literals is not None else _DOMAINS[kind])
            return v, v
        params = [p for p in self.params if p.kind == kind]
        p = self.choose(params) if params and mode == 2 else self.new_param(kind)
        text, fn = self.choose(_forms(kind, p.name))
        value = fn(self.env[p.name])
        return _ex(text, p.name, fn), value

    def size(self, match: Sequence[int] = ()) -> tuple[Any, int]:
        """A positive size: drawn, or (to make merges possible) one of ``match``."""
        if match and self.chance(3):
            target = self.choose(match)
            return self.match(target), target
        return self.value("size")

    def match(self, target: int) -> Any:
        """Exactly ``target``: a literal, or ``$p`` for a param of that value."""
        equal = [p for p in self.params if p.kind == "size" and self.env[p.name] == target]
        if equal and self.chance():
            p = self.choose(equal)
            return _param(p.name)
        return target

    def pick(self, pred: Callable[[_Tensor], bool], most: int = 8) -> _Tensor | None:
        cands = [t for t in reversed(self.pool) if pred(t)]
        if not cands:
            return None
        return cands[self.pick_index(len(cands), most)]

    def last_dims(self) -> list[int]:
        return sorted({t.tt.last for t in self.pool if isinstance(t.tt.last, int)})

    # -- adding nodes ---------------------------------------------------------------------

    def inputs_value(self, ts: Sequence[_Tensor], list_of_one: bool = True) -> Any:
        """How a node names its one input: omitted (the previous node), a reference, or a
        list of one."""
        if len(ts) == 1:
            t = ts[0]
            if t.ref == self.implicit and not self.chance(3):
                return None
            return [t.ref] if list_of_one and self.chance(6) else t.ref
        return [t.ref for t in ts]

    def add(
        self,
        node: dict[str, Any],
        consumed: Sequence[_Tensor],
        outs: Sequence[TT],
        state_from: int = 99,
    ) -> list[_Tensor]:
        """Append a node (its ``inputs`` already set or omitted) and pool its outputs."""
        if node.get("inputs") is None:
            node.pop("inputs", None)
            assert self.implicit is not None
            self.implicit_of[node["name"]] = self.implicit
        self.nodes.append(node)
        self.count += 1
        for t in consumed:
            self.used.add(t.owner)
        name = node["name"]
        if len(outs) == 1:
            made = [_Tensor(name, outs[0], name)]
        else:
            made = [
                _Tensor(f"{name}[{i}]", tt, name, state=i >= state_from)
                for i, tt in enumerate(outs)
            ]
        self.pool.extend(made)
        self.implicit = name if len(outs) == 1 else None
        return made

    def layer(
        self,
        t: str,
        base: str,
        args: dict[str, Any],
        ts: Sequence[_Tensor],
        inputs: Any = "auto",
        call: dict[str, Any] | None = None,
        shareable: bool = True,
        state_from: int = 99,
    ) -> list[_Tensor]:
        """Add a ``type: t`` node on tensors ``ts``; its output types are computed by
        :func:`_layer_out` (the same function the replay of blocks uses)."""
        name = self.fresh(base)
        node: dict[str, Any] = {"name": name, "type": t, **args}
        if inputs == "auto":
            inputs = self.inputs_value(ts)
        node["inputs"] = inputs
        if call:
            node["call"] = call
        ev_args = _ev(args, self.env)
        ins = self._resolve_types(inputs, ts)
        outs = _layer_out(t, ev_args, ins, _ev(call or {}, self.env))
        if outs is None:  # a bug in this module, not in kspec
            raise AssertionError(f"kspec.testing drew an invalid {t} node: {node} on {ins}")
        if shareable and len(ts) == 1 and t not in _MERGES:
            self.shared.append((name, t, ev_args, ts[0].tt))
        return self.add(node, ts, outs, state_from)

    def _resolve_types(self, inputs: Any, ts: Sequence[_Tensor]) -> Any:
        by_ref = {t.ref: t.tt for t in ts}
        if inputs is None:
            return [ts[0].tt]
        if isinstance(inputs, str):
            return [by_ref[inputs]]
        if isinstance(inputs, list):
            return [by_ref[r] for r in inputs]
        return {
            k: [by_ref[r] for r in v] if isinstance(v, list) else by_ref[v]
            for k, v in inputs.items()
        }

    # -- the ops --------------------------------------------------------------------------

    def floats(self, rank: int | None = None, known: bool = False) -> Callable[[_Tensor], bool]:
        def pred(t: _Tensor) -> bool:
            return (
                t.tt.is_float
                and (rank is None or t.tt.rank == rank)
                and t.tt.rank >= 1
                and isinstance(t.tt.last, int)
                and (not known or t.tt.known)
            )

        return pred

    def op_dense(self) -> bool:
        x = self.pick(self.floats())
        if x is None:
            return False
        units, _ = self.size(self.last_dims())
        args: dict[str, Any] = {"units": units}
        if self.chance(3):
            args["activation"] = self.value("act")[0]
        if self.chance(5):
            args["use_bias"] = self.value("flag")[0]
        if self.chance(6):
            args["kernel_initializer"] = self.choose(["he_normal", "lecun_uniform", "ones"])
        inputs: Any = "auto"
        if self.chance(12):
            inputs = {"inputs": x.ref}  # a mapping with the first call argument
        self.layer("Dense", "dense", args, [x], inputs)
        return True

    def op_identity(self) -> bool:
        x = self.pick(self.floats())
        if x is None:
            return False
        t = self.choose(
            ["Activation", "ReLU", "Dropout", "LayerNormalization", "BatchNormalization",
             "LeakyReLU", "ELU", "Softmax", "Rescaling", "PReLU"]
        )  # fmt: skip
        if (t == "PReLU" and not x.tt.known) or (
            t == "Softmax" and (x.tt.last == 1 or self.ctx.masked)
        ):
            t = "ReLU"
        self.ctx.softmax |= t == "Softmax"
        args: dict[str, Any] = {}
        call: dict[str, Any] | None = None
        if t == "Activation":
            args["activation"] = self.value("act")[0]
        elif t == "ReLU" and self.chance(3):
            args["max_value"] = self.choose([6.0, 1, 2.5])
        elif t == "Dropout":
            args["rate"] = self.value("rate")[0]
        elif t == "LayerNormalization" and self.chance(3):
            args["center"] = self.value("flag")[0]
        elif t == "BatchNormalization":
            if self.chance(3):
                args["momentum"] = 0.9
        elif t == "LeakyReLU" and self.chance(2):
            args["negative_slope"] = 0.1
        elif t == "Rescaling":
            args["scale"] = self.choose([0.5, 2, 1.0])
            if self.chance(2):
                args["offset"] = -1.0
        self.layer(t, t.lower()[:5], args, [x], call=call)
        return True

    def op_conv(self) -> bool:
        x = self.pick(lambda t: self.floats()(t) and t.tt.rank in (2, 3))
        if x is None:
            return False
        args: dict[str, Any] = {}
        if x.tt.rank == 2:
            t = "Conv1D"
            args["filters"] = self.size(self.last_dims())[0]
            k = self.choose([3, 1, 2])
            args["kernel_size"] = [k] if self.chance(4) else k
            padding = self.choose(["same", "causal"])
            args["padding"] = padding
            if padding == "same" and self.chance(4):
                args["strides"] = 2
        else:
            t = self.choose(["Conv2D", "SeparableConv2D", "DepthwiseConv2D"])
            if t != "DepthwiseConv2D":
                args["filters"] = self.size(self.last_dims())[0]
            elif self.chance(2):
                args["depth_multiplier"] = 2
            if self.chance(3):
                args["kernel_size"] = self.value("kernel")[0]
            else:
                args["kernel_size"] = self.choose([3, 1, [1, 3]])
            args["padding"] = "same"
            if self.chance(4):
                args["strides"] = self.choose([2, [1, 2]])
        if self.chance(3):
            args["activation"] = self.value("act")[0]
        self.layer(t, "conv", args, [x])
        return True

    def op_pool(self) -> bool:
        def ok(t: _Tensor) -> bool:
            return self.floats()(t) and t.tt.rank in (2, 3) and _size(t.tt.shape[0]) >= 2

        x = self.pick(ok)
        if x is None:
            return False
        n = x.tt.rank - 1
        t = self.choose(["MaxPooling", "AveragePooling"]) + f"{n}D"
        args: dict[str, Any] = {"pool_size": 2}
        if t == "MaxPooling1D" and self.chance(3):
            del args["pool_size"]
        if n == 2 and _size(x.tt.shape[1]) < 2:
            args["pool_size"] = [2, 1]
        args["padding"] = self.choose(["valid", "same"])
        self.layer(t, "pool", args, [x])
        return True

    def op_global(self) -> bool:
        x = self.pick(lambda t: self.floats()(t) and t.tt.rank in (2, 3))
        if x is None:
            return False
        t = self.choose(["GlobalAveragePooling", "GlobalMaxPooling"]) + f"{x.tt.rank - 1}D"
        args = {"keepdims": True} if self.chance(6) else {}
        self.layer(t, "gpool", args, [x])
        return True

    def op_flatten(self) -> bool:
        x = self.pick(
            lambda t: t.tt.is_float and t.tt.known and t.tt.rank >= 2 and _prod(t.tt.shape) <= 256
        )
        if x is None:
            return False
        self.layer("Flatten", "flat", {}, [x])
        return True

    def op_rnn(self) -> bool:
        x = self.pick(self.floats(rank=2))
        if x is None:
            return False
        t = self.choose(["LSTM", "GRU", "SimpleRNN"])
        n_states = _RNN_STATES[t]
        args: dict[str, Any] = {}
        inputs: Any = "auto"
        # initial_state: states of an earlier recurrent layer (or any vectors of one size)
        states: list[_Tensor] = []
        vectors = [p for p in reversed(self.pool) if p.tt.is_float and p.tt.rank == 1]
        vectors.sort(key=lambda p: not p.state)
        if vectors and self.chance(2):
            first = vectors[self.pick_index(len(vectors), 4)]
            same = [v for v in vectors if v.tt == first.tt]
            states = [first] + [self.choose(same) for _ in range(n_states - 1)]
            assert isinstance(first.tt.last, int)
            args["units"] = self.match(first.tt.last)
        else:
            args["units"] = self.size(self.last_dims())[0]
        if self.chance(2):
            args["return_sequences"] = True
        return_state = self.chance(3)
        if return_state:
            args["return_state"] = True
        if self.chance(6):
            args["go_backwards"] = True
        if self.chance(8):
            args["dropout"] = 0.1
        if states:
            init: Any = [s.ref for s in states]
            if n_states == 1 and self.chance(2):
                init = init[0]
            inputs = {"sequences": x.ref, "initial_state": init}
            if _MAPPING_ANY_ORDER and self.chance(2):
                inputs = {"initial_state": init, "sequences": x.ref}
        elif self.chance(8):
            inputs = {"sequences": x.ref}
        self.layer(t, t.lower(), args, [x, *states], inputs, state_from=1)
        return True

    def op_wrapper(self) -> bool:
        x = self.pick(lambda t: self.floats()(t) and t.tt.rank >= 2)
        if x is None:
            return False
        if x.tt.rank == 2 and self.chance(2):
            inner: dict[str, Any] = {"type": self.choose(["LSTM", "GRU", "SimpleRNN"])}
            inner["units"] = self.choose([2, 3, 4])
            if self.chance(2):
                inner["return_sequences"] = True
            args: dict[str, Any] = {"layer": inner}
            if self.chance(3):
                args["merge_mode"] = self.choose(["sum", "ave", "mul", "concat", None])
            self.layer("Bidirectional", "bidi", args, [x])
        else:
            units = self.size(self.last_dims())[0]
            self.layer("TimeDistributed", "td", {"layer": {"type": "Dense", "units": units}}, [x])
        return True

    def op_attention(self) -> bool:
        q = self.pick(self.floats(rank=2))
        if q is None:
            return False
        # a value of length 1 makes Keras warn about a softmax over a size-1 axis
        v = self.pick(lambda t: self.floats(rank=2)(t) and _size(t.tt.shape[0]) >= 2)
        if v is None:
            return False
        args: dict[str, Any] = {
            "num_heads": self.value("count")[0],
            "key_dim": self.value("size")[0],
        }
        if self.chance(4):
            args["value_dim"] = self.choose([2, 3])
        if self.chance(4):
            args["output_shape"] = self.size(self.last_dims())[0]
        ts = [q, v]
        key = None
        if self.chance(4):
            key = self.pick(lambda t: self.floats(rank=2)(t) and t.tt.shape[0] == v.tt.shape[0])
        form = self.draw(st.integers(0, 2))
        if form == 2:
            inputs: Any = [q.ref, v.ref] + ([key.ref] if key else [])
        else:
            inputs = {"query": q.ref, "value": v.ref}
            if key:
                inputs["key"] = key.ref
            if _MAPPING_ANY_ORDER and self.chance(3):
                inputs = dict(reversed(inputs.items()))
        if key:
            ts.append(key)
        call: dict[str, Any] = {}
        if q is v and self.chance(3):
            call["use_causal_mask"] = True
        # Keras 3.15 gives the scores the static shape (batch, heads, Tq, Tq) whatever the
        # value's length, and the two targets then disagree: only ask for them when Tq == Tv
        if q.tt.shape[0] == v.tt.shape[0] and self.chance(5):
            call["return_attention_scores"] = True
        self.layer("MultiHeadAttention", "attn", args, ts, inputs, call or None, shareable=False)
        return True

    def op_embedding(self) -> bool:
        x = self.pick(lambda t: t.tt.dtype == INT)
        if x is None:
            return False
        args: dict[str, Any] = {
            "input_dim": self.value("size", [8, 10, 16])[0] if self.chance(3) else 10,
            "output_dim": self.size(self.last_dims())[0],
        }
        if _MASK_ZERO and not self.ctx.softmax and self.chance(6):
            args["mask_zero"] = True
            self.ctx.masked = True
        self.layer("Embedding", "embed", args, [x])
        return True

    def op_merge(self) -> bool:
        groups: dict[TT, list[_Tensor]] = {}
        for t in self.pool:
            if self.floats()(t):
                groups.setdefault(t.tt, []).append(t)
        multi = [g for g in groups.values() if len(g) >= 2]
        if not multi:
            if not groups or not self.chance(6):
                return False
            x = self.pick(self.floats())
            assert x is not None
            t = self.choose([*_ELEMENTWISE, "Concatenate"])
            self.layer(t, "merge", {}, [x], [x.ref])  # a merge of a single tensor
            return True
        group = self.choose(multi)
        t = self.choose(["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"])
        n = 2 if t == "Subtract" else self.draw(st.integers(2, min(3, len(group))))
        picked = [group[-1 - self.pick_index(len(group))] for _ in range(n)]
        if len({id(p) for p in picked}) == 1 and len(group) > 1:
            picked[-1] = next(p for p in group if p is not picked[0])
        self.layer(t, t.lower()[:3], {}, picked, [p.ref for p in picked], shareable=False)
        return True

    def op_concat(self) -> bool:
        x = self.pick(self.floats())
        if x is None or not isinstance(x.tt.last, int):
            return False
        axis = -1
        if x.tt.rank >= 2 and isinstance(x.tt.shape[0], int) and self.chance(4):
            axis = 1

        def fits(t: _Tensor) -> bool:
            if not t.tt.is_float or t.tt.rank != x.tt.rank:
                return False
            idx = _axis_index(axis, x.tt.rank)
            return all(
                (isinstance(d, int) and d <= 64) if k == idx else d == x.tt.shape[k]
                for k, d in enumerate(t.tt.shape)
            )

        others = [t for t in reversed(self.pool) if fits(t)]
        if not others:  # x itself may not fit (its concatenation axis is too long)
            return False
        n = self.draw(st.integers(1, 2))
        picked = [x] + [others[self.pick_index(len(others))] for _ in range(n)]
        args = {"axis": axis} if axis != -1 or self.chance(5) else {}
        self.layer("Concatenate", "concat", args, picked, [p.ref for p in picked], shareable=False)
        return True

    def op_dot(self) -> bool:
        x = self.pick(self.floats(rank=1))
        if x is None:
            return False
        y = self.pick(lambda t: t.tt == x.tt)
        assert y is not None
        args: dict[str, Any] = {"axes": self.choose([1, -1])}
        if self.chance(3):
            args["normalize"] = True
        self.layer("Dot", "dot", args, [x, y], [x.ref, y.ref], shareable=False)
        return True

    def op_reshape(self) -> bool:
        x = self.pick(lambda t: self.floats()(t) and t.tt.rank <= 3 and _prod(t.tt.shape) <= 256)
        if x is None:
            return False
        s = x.tt.shape
        options: list[tuple[str, dict[str, Any]]] = []
        if x.tt.rank == 1:
            options.append(("RepeatVector", {"n": self.choose([2, 3])}))
        if x.tt.rank == 2:
            options += [
                ("Permute", {"dims": [2, 1]}),
                ("ZeroPadding1D", {"padding": 1}),
                ("UpSampling1D", {"size": 2}),
            ]
            if _size(s[0]) >= 3:
                options.append(("Cropping1D", {"cropping": 1}))
        if x.tt.rank == 3 and all(_size(d) <= 8 for d in s[:2]):
            options += [("ZeroPadding2D", {"padding": 1}), ("UpSampling2D", {"size": 2})]
        if x.tt.known:
            total = _prod(s)
            divisors = [d for d in (2, 3, 4) if total % d == 0]
            options.append(("Reshape", {"target_shape": [-1]}))
            if divisors:
                options.append(("Reshape", {"target_shape": [-1, self.choose(divisors)]}))
        if not options:
            return False
        t, args = self.choose(options)
        self.layer(t, "reshape", args, [x])
        return True

    def op_residual(self) -> bool:
        """x -> Dense(last dim of x) [-> activation] -> Add([that, x])."""
        x = self.pick(self.floats())
        if x is None:
            return False
        assert isinstance(x.tt.last, int)
        (h,) = self.layer("Dense", "proj", {"units": self.size([x.tt.last])[0]}, [x])
        if h.tt != x.tt:  # a param-valued size that differs: no residual then
            return True
        if self.chance(2):
            (h,) = self.layer("Activation", "act", {"activation": "relu"}, [h])
        t = self.choose(["Add", "Average", "Maximum"])
        self.layer(t, "res", {}, [h, x], [h.ref, x.ref], shareable=False)
        return True

    def op_encdec(self) -> bool:
        """An encoder with return_state, and a decoder started from its states."""
        src = self.pick(self.floats(rank=2))
        if src is None:
            return False
        dst = self.pick(self.floats(rank=2))
        assert dst is not None
        t = self.choose(["LSTM", "GRU", "SimpleRNN"])
        units, value = self.size()
        enc_args = {"units": units, "return_sequences": True, "return_state": True}
        enc = self.layer(t, "enc", enc_args, [src], state_from=1)
        states = enc[1:]
        t2 = (
            t
            if self.chance(4)
            else self.choose([k for k, v in _RNN_STATES.items() if v == len(states)])
        )
        init: Any = [s.ref for s in states]
        if len(states) == 1 and self.chance(2):
            init = init[0]
        dec_args: dict[str, Any] = {"units": value}
        if self.chance(2):
            dec_args["return_sequences"] = True
        self.layer(
            t2, "dec", dec_args, [dst, *states], {"sequences": dst.ref, "initial_state": init}
        )
        return True

    def op_share(self) -> bool:
        options = []
        for name, t, a, built in self.shared:
            for tensor in self.pool:
                if tensor.owner != name and _shareable(t, built, tensor.tt):
                    outs = _layer_out(t, a, [tensor.tt], {})
                    if outs is not None:
                        options.append((name, tensor, outs))
        if not options:
            return False
        name, x, outs = options[-1 - self.pick_index(len(options), 12)]
        inputs = self.inputs_value([x], list_of_one=_SHARE_LIST_OF_ONE)
        node = {"name": self.fresh("shared"), "share": name, "inputs": inputs}
        self.add(node, [x], outs, state_from=1)
        return True

    # -- blocks ---------------------------------------------------------------------------

    def op_new_block(self) -> bool:
        ctx = self.ctx
        if self.depth >= ctx.max_depth or len(ctx.block_names) >= ctx.max_blocks:
            return False
        k = self.draw(st.integers(1, 2))
        ts = []
        for _ in range(k):
            t = self.pick(lambda t: t.tt.dtype == INT or self.floats()(t))
            assert t is not None
            ts.append(t)
        bname = self.choose_block_name()
        ctx.block_names.add(bname)
        body_names: set[str] = set()
        in_names = []
        for j in range(k):
            sub = self.draw(st.integers(0, len(HOSTILE_NAMES)))
            name = HOSTILE_NAMES[sub - 1] if sub else f"in{j + 1}"
            if name in body_names:
                name = f"in{j + 1}"
            body_names.add(name)
            in_names.append(name)
        body = _Graph(ctx, list(zip(in_names, [t.tt for t in ts], strict=True)), self.depth + 1)
        body.fill(self.draw(st.integers(1, 4)))
        outputs, as_list = body.finish_block(preserve=not self.chance(3))
        body.shuffle()
        description = self.choose([None, None, *_DESCRIPTIONS])
        b = BlockDef(
            bname, body.params, in_names, [t.tt for t in ts], body.nodes, outputs, as_list,
            description,
        )  # fmt: skip
        check = _run_graph(b.inputs, b.example, b.nodes, b.outputs, b.env({}), ctx.blocks)
        if check is None:
            raise AssertionError(f"kspec.testing drew an invalid block {b.to_dict()}")
        ctx.blocks[bname] = b
        self.count += body.count
        return self.use_block(b, ts)

    def choose_block_name(self) -> str:
        k = self.draw(st.integers(0, len(HOSTILE_NAMES)))
        taken = self.ctx.block_names | (set() if _BLOCK_NAMED_NAME else {"name"})
        if k and HOSTILE_NAMES[k - 1] not in taken:
            return HOSTILE_NAMES[k - 1]
        j = 1
        while f"block{j}" in self.ctx.block_names:
            j += 1
        return f"block{j}"

    def op_use_block(self) -> bool:
        blocks = [b for b in self.ctx.blocks.values() if self.depth + 1 <= self.ctx.max_depth]
        if not blocks:
            return False
        b = self.choose(blocks)
        slots = []
        for tt in b.example:
            cands = [
                t for t in reversed(self.pool) if t.tt.dtype == tt.dtype and t.tt.rank == tt.rank
            ][:5]
            if not cands:
                return False
            slots.append(cands)
        return self.use_block(b, None, slots)

    def overrides(self, b: BlockDef) -> dict[str, Any]:
        """Param values for a block instance: some omitted (the defaults), some literals,
        some expressions over this graph's params."""
        out: dict[str, Any] = {}
        for p in b.params:
            mode = self.draw(st.integers(0, 3))
            if mode == 0:
                continue
            if mode == 3:
                mine = [q for q in self.params if q.kind == p.kind]
                q = self.choose(mine) if mine else self.new_param(p.kind)
                out[p.name] = _param(q.name)
            else:
                out[p.name] = self.choose(_DOMAINS[p.kind])
        return out

    def use_block(
        self,
        b: BlockDef,
        ts: Sequence[_Tensor] | None,
        slots: Sequence[Sequence[_Tensor]] = (),
    ) -> bool:
        """Add an instance of block ``b`` on ``ts`` (or on a valid choice among ``slots``)."""
        drawn = self.overrides(b)
        combos = [list(ts)] if ts is not None else [list(c) for c in itertools.product(*slots)]
        valid = []
        for combo in combos[:30]:
            tts = [t.tt for t in combo]
            for ov in (drawn, {}):
                env = b.env(_ev(ov, self.env))
                outs = _run_graph(b.inputs, tts, b.nodes, b.outputs, env, self.ctx.blocks)
                if outs is not None:
                    valid.append((combo, ov, outs))
                    break
        if not valid:
            return False
        combo, ov, outs = valid[self.pick_index(len(valid), 30)]
        repeat: Any = None
        n_repeat = 0
        if (
            len(outs) == len(combo)
            and all(o == t.tt for o, t in zip(outs, combo, strict=True))
            and not self.chance(3)
        ):
            repeat, n_repeat = self.value("count")
        name = self.fresh("blk" if b.name.startswith("block") else b.name, n_repeat)
        node: dict[str, Any] = {"name": name, "block": b.name, **ov}
        if repeat is not None:
            node["repeat"] = repeat
        if len(combo) == 1:
            node["inputs"] = self.inputs_value(combo)
        elif self.chance(3):
            order = list(range(len(combo)))
            if self.chance(2):
                order.reverse()
            node["inputs"] = {b.inputs[i]: combo[i].ref for i in order}
        else:
            node["inputs"] = [t.ref for t in combo]
        self.add(node, combo, outs)
        return True

    # -- drawing a graph ------------------------------------------------------------------

    OPS = (
        "dense", "identity", "dense", "conv", "rnn", "merge", "residual", "concat", "pool",
        "global", "attention", "embedding", "share", "use_block", "new_block", "encdec",
        "flatten", "wrapper", "reshape", "dot", "identity", "new_block", "use_block", "use_block",
    )  # fmt: skip

    def step(self) -> None:
        ops = list(self.OPS)
        if any(t.tt.dtype == INT and t.owner not in self.used for t in self.pool):
            ops.insert(0, "embedding")  # feed int inputs early
        name = self.choose(ops)
        if getattr(self, f"op_{name}")():
            return
        if not self.op_dense():
            self.op_embedding()

    def fill(self, steps: int, budget: int = 100) -> None:
        for _ in range(steps):
            if self.count >= budget:
                break
            self.step()
        # every input is used by some node
        for t in list(self.pool):
            if t.owner in self.input_names and t.owner not in self.used:
                if t.tt.dtype == INT:
                    self.layer("Embedding", "embed", {"input_dim": 10, "output_dim": 4}, [t])
                else:
                    self.layer("Dense", "dense", {"units": self.size()[0]}, [t])

    def shuffle(self) -> None:
        """Sometimes write the nodes out of order (references to later nodes are allowed:
        kspec orders the graph itself); every node then names its inputs."""
        if len(self.nodes) < 2 or not self.chance(5):
            return
        for node in self.nodes:
            if "inputs" not in node:
                node["inputs"] = self.implicit_of[node["name"]]
        self.nodes = self.draw(st.permutations(self.nodes))

    def leaves(self) -> list[_Tensor]:
        """One tensor of each node no other node uses."""
        out: list[_Tensor] = []
        seen: set[str] = set()
        for t in self.pool:
            if t.owner in self.input_names or t.owner in self.used or t.owner in seen:
                continue
            seen.add(t.owner)
            out.append(t)
        return out

    @staticmethod
    def can_fix(t: _Tensor, want: TT) -> bool:
        """Whether a Dense projection gives ``t`` the type ``want``."""
        return t.tt == want or (
            t.tt.rank == want.rank
            and t.tt.shape[:-1] == want.shape[:-1]
            and isinstance(want.last, int)
            and t.tt.is_float
        )

    def fix_to(self, t: _Tensor, want: TT) -> _Tensor:
        """``t`` made to have type ``want`` (see :meth:`can_fix`)."""
        if t.tt == want:
            return t
        assert isinstance(want.last, int)
        (out,) = self.layer("Dense", "fix", {"units": self.match(want.last)}, [t])
        return out

    def finish_block(self, preserve: bool) -> tuple[list[str], bool]:
        """The block's outputs. With ``preserve`` (and inputs of one type), the block keeps its
        input types so that ``repeat`` can chain it."""
        ins = [t for t in self.pool if t.owner in self.input_names]
        leaves = self.leaves()
        want = ins[0].tt
        if (
            preserve
            and all(i.tt == want for i in ins)
            and want.is_float
            and all(self.can_fix(leaf, want) for leaf in leaves)
        ):
            fixed = [self.fix_to(leaf, want) for leaf in leaves]
            if len(fixed) > 1:
                refs = [f.ref for f in fixed]
                (merged,) = self.layer("Add", "sum", {}, fixed, refs, shareable=False)
            else:
                merged = fixed[0]
            if self.chance(2):
                t = ins[0]
                (merged,) = self.layer("Add", "skip", {}, [merged, t], [merged.ref, t.ref])
            outs = [merged]
            for _ in ins[1:]:
                (o,) = self.layer("LayerNormalization", "norm", {}, [merged])
                outs.append(o)
            self.used.update(o.owner for o in outs)
            return [o.ref for o in outs], len(outs) > 1 or (
                _BLOCK_OUTPUTS_LIST_OF_ONE and self.chance(6)
            )
        refs = [t.ref for t in leaves]
        return refs, len(refs) > 1


def _input_type(g: _Graph) -> tuple[TT, list[Any]]:
    """A model input: its type and its spec shape (sizes may be params)."""
    kind = g.draw(st.integers(0, 3))
    spec: list[Any] = []

    def dim(lo: int, hi: int, unknown: bool = True) -> Dim:
        if unknown and g.chance(4):
            spec.append(None)
            return _BASE
        if g.chance(6):
            p = g.choose([q for q in g.params if q.kind == "size"] or [g.new_param("size")])
            spec.append(f"${p.name}")
            return int(g.env[p.name])
        n = g.draw(st.integers(lo, hi))
        spec.append(n)
        return n

    if kind == 0:
        return TT((dim(2, 8, unknown=False),)), spec
    if kind == 1:
        return TT((dim(3, 8), dim(2, 6, unknown=False))), spec
    if kind == 2:
        return TT((dim(4, 8), dim(4, 8), dim(1, 3, unknown=False))), spec
    return TT((dim(3, 8),), INT), spec


@st.composite
def spec_dicts(
    draw: Callable[..., Any],
    max_nodes: int = 12,
    max_inputs: int = 3,
    blocks: bool = True,
) -> dict[str, Any]:
    """Draw a valid kspec spec as a plain mapping (see :func:`specs` for the YAML text).

    ``max_nodes`` bounds the top-level steps drawn (a step adds one to three nodes; block
    bodies add a few more), ``max_inputs`` the model inputs, ``blocks`` allows blocks."""
    ctx = _Ctx(draw, max_blocks=3 if blocks else 0, max_depth=2 if blocks else 0)
    g = _Graph(ctx, [], 0)
    n_inputs = draw(st.integers(1, max_inputs))
    inputs: list[tuple[str, TT, list[Any], str]] = []
    for _ in range(n_inputs):
        tt, shape = _input_type(g)
        name = g.fresh("in")
        inputs.append((name, tt, shape, tt.dtype))
    g.input_names = [n for n, *_ in inputs]
    g.pool = [_Tensor(n, tt, n) for n, tt, *_ in inputs]
    g.implicit = g.input_names[0] if n_inputs == 1 else None
    g.fill(draw(st.integers(1, max_nodes)), budget=max_nodes + 4)
    # outputs: every node nobody uses, and sometimes another tensor too
    outs = g.leaves()
    extra = [t for t in g.pool if t.owner not in g.input_names and t not in outs]
    if extra and g.chance(5):
        outs.append(g.choose(extra))
    form = draw(st.integers(0, 2))
    outputs: Any
    if form == 2 or (form == 1 and len(outs) == 1 and g.chance(3)):
        keys: list[str] = []
        for _ in outs:
            k = draw(st.integers(0, len(HOSTILE_NAMES)))
            key = HOSTILE_NAMES[k - 1] if k else f"out{len(keys) + 1}"
            if key in keys:
                key = f"out{len(keys) + 1}"
            keys.append(key)
        outputs = {k: t.ref for k, t in zip(keys, outs, strict=True)}
    elif len(outs) == 1 and not (_OUTPUTS_LIST_OF_ONE and form == 1 and g.chance(2)):
        outputs = outs[0].ref
    else:
        outputs = [t.ref for t in outs]
    # self-check: the whole graph replays to the same output types
    out_refs = (
        list(outputs.values())
        if isinstance(outputs, dict)
        else ([outputs] if isinstance(outputs, str) else outputs)
    )
    replay = _run_graph(
        g.input_names, [tt for _, tt, *_ in inputs], g.nodes, out_refs, g.env, ctx.blocks
    )
    if replay is None:
        raise AssertionError("kspec.testing drew an invalid model graph")
    g.shuffle()
    k = draw(st.integers(0, 2 * len(HOSTILE_NAMES)))
    spec: dict[str, Any] = {
        "kspec": 1,
        "name": HOSTILE_NAMES[k - 1] if 0 < k <= len(HOSTILE_NAMES) else "drawn_model",
    }
    if g.chance(4):
        spec["description"] = g.choose(_DESCRIPTIONS)
    if g.params:
        spec["params"] = {p.name: p.default for p in g.params}
    spec["inputs"] = {
        n: {"shape": shape, **({"dtype": dtype} if dtype != FLOAT else {})}
        for n, _, shape, dtype in inputs
    }
    if ctx.blocks:
        spec["blocks"] = {name: b.to_dict() for name, b in ctx.blocks.items()}
    spec["layers"] = [_render(n) for n in g.nodes]
    spec["outputs"] = outputs
    return spec


class _Dumper(yaml.SafeDumper):
    """PyYAML writes a value used twice as an anchor and an alias, which kspec refuses."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(spec: Mapping[str, Any]) -> str:
    """YAML text for a spec mapping (flow style for the innermost mappings, like the examples)."""
    return yaml.dump(
        dict(spec),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=None,
        width=100,
        allow_unicode=True,
    )


def specs(max_nodes: int = 12, max_inputs: int = 3, blocks: bool = True) -> st.SearchStrategy[str]:
    """Draw the YAML text of a valid kspec spec.

    Every drawn spec passes ``kspec.check_text`` with no error and builds in both targets
    (``kspec.build_model(kspec.loads(text), target="functional" | "subclass")``); the targets
    have the same parameters, output structure and shapes and, with the same weights, outputs.
    Draws shrink toward one input, one Dense node and no params or blocks.

    Usage::

        from hypothesis import given
        from kspec.testing import specs

        @given(specs())
        def test_check_is_clean(text):
            assert not [d for d in kspec.check_text(text) if d.severity == "error"]
    """
    return spec_dicts(max_nodes=max_nodes, max_inputs=max_inputs, blocks=blocks).map(dump)
