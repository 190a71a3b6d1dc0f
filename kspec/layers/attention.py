"""Attention layers: MultiHeadAttention, GroupQueryAttention, Attention (dot-product) and
AdditiveAttention. The weights are the query, key, value (and output) projections.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kspec.layers.args import (
    QV,
)
from kspec.layers.base import (
    Call,
    Count,
    Example,
    Layer,
    Shape,
    ShapeError,
    Shapes,
    Unknown,
    dim,
    flag,
    format_shape,
    get_arg,
    is_int,
    is_shape,
    register,
    to_int,
    to_ints,
)
from kspec.layers.macs import size
from kspec.schemas.types import (
    AXIS,
    BOOL,
    CONSTRAINT,
    INITIALIZER,
    POS_INT,
    RATE,
    REGULARIZER,
    SEED,
    arg,
    list_of,
    nullable,
)


def attention_inputs(c: Call) -> tuple[Shape, Shape, Shape | None]:
    """Query, value and key (None: the value is the key) of an attention layer's call: a
    mapping by call argument, or 2 or 3 positional tensors. Unknown unless all are shapes."""
    inputs = c.inputs
    if isinstance(inputs, Mapping):
        q, v, k = inputs.get("query"), inputs.get("value"), inputs.get("key")
    elif isinstance(inputs, list | tuple) and len(inputs) in (2, 3):
        q, v, k = inputs[0], inputs[1], inputs[2] if len(inputs) == 3 else None
    else:
        raise Unknown
    if not (is_shape(q) and is_shape(v) and (k is None or is_shape(k))):
        raise Unknown
    return q, v, k


def with_scores(type_name: str, args: Mapping[str, Any], call: Mapping[str, Any]) -> int:
    """The output, and the attention scores with ``call: {return_attention_scores: true}``."""
    return 2 if call.get("return_attention_scores") is True else 1


def _multi_head(c: Call) -> Shapes:
    q, v, k = attention_inputs(c)
    heads = to_int(c.arg("num_heads"))
    to_int(c.arg("key_dim"))
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
    raw = c.arg("output_shape")
    if raw is None:
        out: Shape = q
    elif is_int(raw):
        out = (*q[:-1], to_int(raw))
    elif isinstance(raw, list):
        out = (*q[:-1], *(to_int(d) for d in raw))
    else:
        raise Unknown
    if get_arg(c.call, "return_attention_scores", False) is not True:
        return [out]
    if len(q) != 3 or len(v) != 3 or c.arg("attention_axes") is not None:
        return [out, None]
    # Keras' own static shape says (batch, heads, Tq, Tq); the scores are (batch, heads, Tq, Tv)
    return [out, (q[0], heads, q[1], v[1])]


def _projections(
    q: Shape,
    k: Shape,
    v: Shape,
    heads: tuple[int, int],
    sizes: tuple[int, int],
    out: int,
    biases: int,
) -> Count:
    """Query, key and value projections (EinsumDense) to ``heads`` (query, key/value) x
    ``sizes`` (key, value) and the output projection back to ``out`` features."""
    (q_heads, kv_heads), (key_size, value_size) = heads, sizes
    count = (
        (dim(q, -1) + biases) * q_heads * key_size
        + (dim(k, -1) + biases) * kv_heads * key_size
        + (dim(v, -1) + biases) * kv_heads * value_size
        + (q_heads * value_size + biases) * out
    )
    return count, 0


def _qvk(c: Call) -> tuple[Shape, Shape, Shape]:
    q, v, k = attention_inputs(c)
    return q, v, v if k is None else k


def _multi_head_sizes(c: Call) -> tuple[int, int, int, int]:
    """MultiHeadAttention's heads, key and value sizes, and its output's features."""
    q, _, _ = _qvk(c)
    heads, key_dim = to_int(c.arg("num_heads")), to_int(c.arg("key_dim"))
    raw_value_dim = c.arg("value_dim")
    value_dim = key_dim if raw_value_dim is None else to_int(raw_value_dim)
    raw = c.arg("output_shape")
    if raw is None:
        out = dim(q, -1)
    else:
        out = math.prod(to_ints(raw, 1) if is_int(raw) else [to_int(d) for d in raw])
    return heads, key_dim, value_dim, out


def _gate(c: Call, heads: int, value_size: int) -> int:
    """With ``use_gate``, a sigmoid projection of the query gates every head's values: its
    outputs per query position (0 without)."""
    return heads * value_size if flag(c.arg("use_gate", False)) else 0


def _multi_head_weights(c: Call) -> Count:
    q, v, k = _qvk(c)
    heads, key_dim, value_dim, out = _multi_head_sizes(c)
    biases = int(flag(c.arg("use_bias", True)))
    count, _ = _projections(q, k, v, (heads, heads), (key_dim, value_dim), out, biases)
    return count + (dim(q, -1) + biases) * _gate(c, heads, value_dim), 0


def _attention_macs(
    q: Shape, k: Shape, v: Shape, heads: tuple[int, int], sizes: tuple[int, int], out: int
) -> int:
    """The projections (as :func:`_projections` counts their weights), then for each query
    head every query position against every key position: the scores (``key_size``
    products each) and the weighted sum of the values (``value_size``)."""
    (q_heads, kv_heads), (key_size, value_size) = heads, sizes
    tq, tk = size(q[1:-1]), size(k[1:-1])
    if size(v[1:-1]) != tk:
        raise Unknown
    return (
        tq * dim(q, -1) * q_heads * key_size
        + tk * dim(k, -1) * kv_heads * key_size
        + tk * dim(v, -1) * kv_heads * value_size
        + q_heads * tq * tk * (key_size + value_size)
        + tq * q_heads * value_size * out
    )


def _multi_head_macs(c: Call) -> int:
    """:func:`_attention_macs` over every axis but the batch and the features (the default
    ``attention_axes``), and the gate's projection."""
    if c.arg("attention_axes") is not None:
        raise Unknown
    q, v, k = _qvk(c)
    heads, key_dim, value_dim, out = _multi_head_sizes(c)
    gate = size(q[1:]) * _gate(c, heads, value_dim)
    return _attention_macs(q, k, v, (heads, heads), (key_dim, value_dim), out) + gate


def _group_query_macs(c: Call) -> int:
    """As MultiHeadAttention's; the key and value heads are shared by groups of query heads."""
    q, v, k = _qvk(c)
    head = to_int(c.arg("head_dim"))
    heads = to_int(c.arg("num_query_heads")), to_int(c.arg("num_key_value_heads"))
    gate = size(q[1:]) * _gate(c, heads[0], head)
    return _attention_macs(q, k, v, heads, (head, head), dim(q, -1)) + gate


def _dot_attention_macs(c: Call) -> int:
    """Attention (dot scores: query x key) and AdditiveAttention (scores from a sum, element by
    element): the weights times the values, ``(Tq, Tv) x (Tv, dim)``."""
    q, v, k = _qvk(c)
    if len(q) != 3 or len(v) != 3:
        raise Unknown
    tq, tv = dim(q, 1), dim(v, 1)
    scores = 0
    if c.type == "Attention" and c.arg("score_mode", "dot") == "dot":
        scores = tq * tv * dim(k, -1)
    return scores + tq * tv * dim(v, -1)


def _query_shaped(c: Call) -> Shapes:
    """The output has the query's shape (its scores, with return_attention_scores, unknown)."""
    q, _, _ = attention_inputs(c)
    return [q] if with_scores(c.type, c.args, c.call) == 1 else [q, None]


def _group_query_weights(c: Call) -> Count:
    q, v, k = _qvk(c)
    size = to_int(c.arg("head_dim"))
    heads = to_int(c.arg("num_query_heads")), to_int(c.arg("num_key_value_heads"))
    biases = int(flag(c.arg("use_bias", True)))
    count, _ = _projections(q, k, v, heads, (size, size), dim(q, -1), biases)
    return count + (dim(q, -1) + biases) * _gate(c, heads[0], size), 0


def _dot_attention_weights(c: Call) -> Count:
    concat = c.arg("score_mode", "dot") == "concat"
    return int(flag(c.arg("use_scale", False))) + int(concat), 0


def _additive_attention_weights(c: Call) -> Count:
    q, _, _ = _qvk(c)
    return dim(q, -1) * int(flag(c.arg("use_scale", True))), 0


register(
    "attention",
    Layer(
        "MultiHeadAttention",
        doc="Multi-head attention layer (Vaswani et al., 2017); self-attention if value = query.",
        args={
            "num_heads": arg(POS_INT, "Number of attention heads."),
            "key_dim": arg(POS_INT, "Size of each attention head for query and key."),
            "value_dim": arg(
                nullable(POS_INT),
                "Size of each attention head for value (default: null, i.e. key_dim).",
            ),
            "dropout": arg(RATE, "Dropout probability (default: 0)."),
            "use_bias": arg(
                BOOL, "Whether the dense layers use bias vectors/matrices (default: true)."
            ),
            "output_shape": arg(
                nullable({"anyOf": [POS_INT, list_of(POS_INT, 1)]}),
                "Shape of the output besides the batch and sequence dims (default: null, the "
                "query's last dimension).",
            ),
            "attention_axes": arg(
                nullable(AXIS),
                "Axes over which attention is applied (default: null, all axes but batch, "
                "heads and features).",
            ),
            "sliding_window": arg(
                nullable(POS_INT),
                "Restrict each query to keys within sliding_window - 1 positions of itself "
                "(default: null, full attention).",
            ),
            "flash_attention": arg(
                nullable(BOOL),
                "Use flash attention; null follows keras.config.enable_flash_attention "
                "(default: null).",
            ),
            "kernel_initializer": arg(
                INITIALIZER, "Initializer for the dense kernels (default: 'glorot_uniform')."
            ),
            "bias_initializer": arg(
                INITIALIZER, "Initializer for the dense biases (default: 'zeros')."
            ),
            "kernel_regularizer": arg(
                REGULARIZER, "Regularizer for the dense kernels (default: null)."
            ),
            "bias_regularizer": arg(
                REGULARIZER, "Regularizer for the dense biases (default: null)."
            ),
            "activity_regularizer": arg(
                REGULARIZER, "Regularizer for the dense layers' activity (default: null)."
            ),
            "kernel_constraint": arg(
                CONSTRAINT, "Constraint for the dense kernels (default: null)."
            ),
            "bias_constraint": arg(CONSTRAINT, "Constraint for the dense biases (default: null)."),
            "use_gate": arg(
                BOOL,
                "Add a gating branch (sigmoid projection of the query) that gates the attention "
                "output (default: false).",
            ),
            "seed": arg(SEED, "Seed for the dropout layer (default: null)."),
        },
        required=("num_heads", "key_dim"),
        inputs="call",
        min_inputs=2,
        max_inputs=3,
        call_args=(
            "query",
            "value",
            "key",
            "query_mask",
            "value_mask",
            "key_mask",
            "attention_mask",
            "return_attention_scores",
            "training",
            "use_causal_mask",
        ),
        shape=_multi_head,
        weights=_multi_head_weights,
        macs=_multi_head_macs,
        outputs=with_scores,
        index_hint="MultiHeadAttention returns its scores too with "
        "call: {return_attention_scores: true}",
        example=Example(QV, {"num_heads": 2, "key_dim": 2}, {"query": "q", "value": "v"}),
    ),
    Layer(
        "GroupQueryAttention",
        doc="Grouped-query attention layer (Ainslie et al., 2023); self-attention if value = "
        "query.",
        inputs="call",
        min_inputs=2,
        max_inputs=3,
        shape=_query_shaped,
        weights=_group_query_weights,
        macs=_group_query_macs,
        outputs=with_scores,
        example=Example(
            QV,
            {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1},
            {"query": "q", "value": "v"},
        ),
    ),
    Layer(
        "Attention",
        doc="Dot-product attention layer (Luong-style): `inputs` is [query, value] or "
        "[query, value, key].",
        inputs="many",
        min_inputs=2,
        max_inputs=3,
        shape=_query_shaped,
        weights=_dot_attention_weights,
        macs=_dot_attention_macs,
        outputs=with_scores,
        example=Example(QV, node_inputs=["q", "v"]),
    ),
    Layer(
        "AdditiveAttention",
        doc="Additive attention layer (Bahdanau-style): `inputs` is [query, value] or "
        "[query, value, key].",
        inputs="many",
        min_inputs=2,
        max_inputs=3,
        shape=_query_shaped,
        weights=_additive_attention_weights,
        macs=_dot_attention_macs,
        outputs=with_scores,
        example=Example(QV, node_inputs=["q", "v"]),
    ),
)
