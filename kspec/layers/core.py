"""Core layers: Dense, EinsumDense, Embedding, ReversibleEmbedding, Identity, Masking."""

from __future__ import annotations

import math
from typing import Any

from kspec.layers.args import (
    KERNEL_AND_BIAS,
    SEQ,
    TOKENS,
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
    bias,
    dim,
    flag,
    format_shape,
    identity,
    is_int,
    register,
    to_int,
)
from kspec.layers.macs import size
from kspec.schemas.types import (
    BOOL,
    CONSTRAINT,
    INITIALIZER,
    POS_INT,
    REGULARIZER,
    arg,
)


def _dense(c: Call) -> Shapes:
    units = to_int(c.arg("units"))
    x = c.x
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


def _dense_weights(c: Call) -> Count:
    units, n_in = to_int(c.arg("units")), dim(c.x, -1)
    return n_in * units + bias(c, units), 0


def _dense_macs(c: Call) -> int:
    """One product per kernel entry at each position: ``(..., n_in) x (n_in, units)``."""
    x = c.x
    return size(x[1:-1]) * dim(x, -1) * to_int(c.arg("units"))


def last_axis(c: Call) -> tuple[dict[int, int], int | None]:
    """What a kernel over the last axis fixes at the first call: that axis's size."""
    x = c.x
    size = x[-1] if len(x) > 1 else None
    return ({} if size is None else {-1: size}), None


def _einsum_parts(c: Call) -> tuple[str, str, str, list[Any]]:
    """EinsumDense without ellipses (``ab,bc->ac``): the input's, the kernel's and the output's
    axis letters, and ``output_shape`` (the output's sizes after the batch axis)."""
    equation, raw = c.arg("equation"), c.arg("output_shape")
    if not isinstance(equation, str) or "..." in equation or "->" not in equation:
        raise Unknown
    left, out_spec = equation.split("->")
    if left.count(",") != 1:
        raise Unknown
    in_spec, w_spec = left.split(",")
    full = [raw] if is_int(raw) else raw
    if not isinstance(full, list) or len(in_spec) != len(c.x) or len(full) != len(out_spec) - 1:
        raise Unknown
    return in_spec, w_spec, out_spec, full


def _einsum_sizes(c: Call) -> dict[str, Any]:
    """Each axis letter's size: from the input where the input has it, else ``output_shape``."""
    in_spec, _, out_spec, full = _einsum_parts(c)
    sizes: dict[str, Any] = {d: c.x[i] for i, d in enumerate(in_spec)}
    for d, value in zip(out_spec[1:], full, strict=True):
        sizes.setdefault(d, value)
    return sizes


def _einsum(c: Call) -> Shapes:
    """The batch axis, then ``output_shape`` as given (Keras keeps its nulls)."""
    in_spec, _, out_spec, full = _einsum_parts(c)
    if out_spec[0] not in in_spec or not all(d is None or is_int(d) for d in full):
        raise Unknown
    return [(c.x[in_spec.index(out_spec[0])], *full)]


def _einsum_weights(c: Call) -> Count:
    """The kernel's axes are sized by the input where the input has them and by
    ``output_shape`` otherwise; the bias by ``bias_axes``."""
    _, w_spec, _, _ = _einsum_parts(c)
    sizes = _einsum_sizes(c)
    kernel = math.prod(_size(sizes.get(d)) for d in w_spec)
    bias_axes = c.arg("bias_axes")
    extra = 0 if bias_axes is None else math.prod(_size(sizes.get(d)) for d in str(bias_axes))
    return kernel + extra, 0


def _einsum_macs(c: Call) -> int:
    """Input times kernel: one product for each combination of the letters of both (every
    letter of the equation but the batch axis's)."""
    in_spec, w_spec, _, _ = _einsum_parts(c)
    sizes = _einsum_sizes(c)
    return size(_size(sizes.get(d)) for d in set(in_spec + w_spec) - {in_spec[0]})


def _size(d: Any) -> int:
    if is_int(d) and d >= 1:
        return int(d)
    raise Unknown


def _reverse(c: Call) -> bool:
    """ReversibleEmbedding called with ``reverse: true``: vectors to logits over the vocabulary."""
    return c.type == "ReversibleEmbedding" and c.call.get("reverse") is True


def _embedding(c: Call) -> Shapes:
    if _reverse(c):
        return [(*c.x[:-1], to_int(c.arg("input_dim")))]
    return [(*c.x, to_int(c.arg("output_dim")))]


def _embedding_macs(c: Call) -> int:
    """A lookup makes no products; ``reverse: true`` multiplies by the embeddings matrix."""
    if not _reverse(c):
        return 0
    x = c.x
    return size(x[1:-1]) * dim(x, -1) * to_int(c.arg("input_dim"))


def _embedding_weights(c: Call) -> Count:
    n, d = to_int(c.arg("input_dim")), to_int(c.arg("output_dim"))
    untied = c.type == "ReversibleEmbedding" and not flag(c.arg("tie_weights", True))
    return n * d * (1 + untied), 0


register(
    "core",
    Layer(
        "Dense",
        # Excluded: lora_rank, lora_alpha, quantization_config.
        doc="Densely-connected layer: `activation(dot(input, kernel) + bias)`.",
        args={
            "units": arg(POS_INT, "Dimensionality of the output space."),
            **KERNEL_AND_BIAS,
        },
        required=("units",),
        call_args=("inputs", "training"),
        shape=_dense,
        weights=_dense_weights,
        macs=_dense_macs,
        built=last_axis,
        example=Example(VEC, {"units": 3}),
    ),
    Layer(
        "EinsumDense",
        shape=_einsum,
        weights=_einsum_weights,
        macs=_einsum_macs,
        example=Example(VEC, {"equation": "ab,bc->ac", "output_shape": 3}),
    ),
    Layer(
        "Embedding",
        # Excluded: weights (an initial embeddings array), lora_rank, lora_alpha,
        # quantization_config.
        doc="Turns nonnegative integers (indexes) into dense vectors of fixed size.",
        args={
            "input_dim": arg(POS_INT, "Size of the vocabulary, i.e. maximum integer index + 1."),
            "output_dim": arg(POS_INT, "Dimension of the dense embedding."),
            "embeddings_initializer": arg(
                # Keras' default is spelled "uniform" (its alias of "random_uniform").
                INITIALIZER,
                "Initializer for the embeddings matrix (default: 'uniform', i.e. random_uniform).",
            ),
            "embeddings_regularizer": arg(
                REGULARIZER, "Regularizer applied to the embeddings matrix (default: null)."
            ),
            "embeddings_constraint": arg(
                CONSTRAINT, "Constraint applied to the embeddings matrix (default: null)."
            ),
            "mask_zero": arg(
                BOOL,
                "Whether input value 0 is a padding value to mask out; input_dim must then be "
                "the vocabulary size + 1 (default: false).",
            ),
        },
        required=("input_dim", "output_dim"),
        call_args=("inputs",),
        shape=_embedding,
        weights=_embedding_weights,
        example=Example(TOKENS, {"input_dim": 10, "output_dim": 4}),
    ),
    Layer(
        "ReversibleEmbedding",
        shape=_embedding,
        weights=_embedding_weights,
        macs=_embedding_macs,
        example=Example(TOKENS, {"input_dim": 10, "output_dim": 4}),
    ),
    Layer(
        "Identity",
        shape=identity,
        example=Example(VEC),
    ),
    Layer(
        "Masking",
        shape=identity,
        example=Example(SEQ),
    ),
)
