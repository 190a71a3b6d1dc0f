"""The argument fragments and example contexts the family modules are written with.

An argument's schema comes with its description (the text an editor shows on hover and
docs/layers.md prints), written in YAML spelling (``null`` for ``None``), the Keras default
given. Fragments shared by several layers live here so each is written once.
"""

from __future__ import annotations

from typing import Any

from kspec.schemas.types import (
    ACTIVATION,
    BOOL,
    CONSTRAINT,
    DATA_FORMAT,
    INITIALIZER,
    PADDING,
    POS_INT,
    RATE,
    REGULARIZER,
    SEED,
    USE_CUDNN,
    Schema,
    arg,
    int_or_tuple,
    list_of,
)

# -- argument fragments used by several entries ----------------------------------------------

DATA_FORMAT_ARG = arg(
    DATA_FORMAT,
    "Ordering of the dimensions in the inputs: 'channels_last' (batch, ..., channels) or "
    "'channels_first' (batch, channels, ...) (default: null, Keras' image_data_format, "
    "normally 'channels_last').",
)
KEEPDIMS = arg(
    BOOL,
    "Whether to keep the pooled dimensions with length 1 instead of dropping them "
    "(default: false).",
)
POOL_PADDING = arg(
    PADDING,
    "'valid' (no padding) or 'same' (pad evenly so the output has the input's size when "
    "strides is 1) (default: 'valid').",
)
POOL_STRIDES = "How far the pooling window moves for each step (default: null, i.e. pool_size)."
CONV_PADDING = arg(
    PADDING,
    "'valid' (no padding) or 'same' (pad evenly; with strides 1 the output has the input's size) "
    "(default: 'valid').",
)
USE_BIAS = arg(BOOL, "Whether the layer uses a bias vector (default: true).")
BIAS_INITIALIZER = arg(INITIALIZER, "Initializer for the bias vector (default: 'zeros').")
BIAS_REGULARIZER = arg(REGULARIZER, "Regularizer applied to the bias vector (default: null).")
ACTIVITY_REGULARIZER = arg(
    REGULARIZER, "Regularizer applied to the output of the layer (default: null)."
)
BIAS_CONSTRAINT = arg(CONSTRAINT, "Constraint applied to the bias vector (default: null).")

# The tail shared by Dense and the Conv*D layers, from `activation` to `bias_constraint`.
KERNEL_AND_BIAS: dict[str, Schema] = {
    "activation": arg(ACTIVATION, "Activation function (default: null, no activation: linear)."),
    "use_bias": USE_BIAS,
    "kernel_initializer": arg(
        INITIALIZER, "Initializer for the kernel weights (default: 'glorot_uniform')."
    ),
    "bias_initializer": BIAS_INITIALIZER,
    "kernel_regularizer": arg(REGULARIZER, "Regularizer applied to the kernel (default: null)."),
    "bias_regularizer": BIAS_REGULARIZER,
    "activity_regularizer": ACTIVITY_REGULARIZER,
    "kernel_constraint": arg(CONSTRAINT, "Constraint applied to the kernel (default: null)."),
    "bias_constraint": BIAS_CONSTRAINT,
}

FILTERS = arg(POS_INT, "Dimension of the output space (the number of filters).")


def _ones(rank: int) -> str:
    """Keras' all-ones default for a rank-``rank`` stride or dilation, in YAML spelling."""
    return "1" if rank == 1 else "[" + ", ".join(["1"] * rank) + "]"


def kernel_size_arg(rank: int) -> Schema:
    what = "an integer" if rank == 1 else f"an integer or a list of {rank} integers"
    return arg(int_or_tuple(rank), f"Size of the convolution window ({what}).")


def strides_arg(rank: int) -> Schema:
    return arg(
        int_or_tuple(rank),
        "Stride length of the convolution; strides > 1 is incompatible with dilation_rate > 1 "
        f"(default: {_ones(rank)}).",
    )


def dilation_rate_arg(rank: int) -> Schema:
    return arg(
        int_or_tuple(rank), f"Dilation rate for dilated convolution (default: {_ones(rank)})."
    )


GROUPS = arg(
    POS_INT,
    "Number of groups the input is split into along the channel axis, each convolved with "
    "filters // groups filters; input channels and filters must be divisible by it (default: 1).",
)

# Recurrent layers.
RNN_UNITS = arg(POS_INT, "Dimensionality of the output space.")
RNN_ACTIVATION = arg(ACTIVATION, "Activation function (default: 'tanh'; null means linear).")
RNN_RECURRENT_ACTIVATION = arg(
    ACTIVATION, "Activation function for the recurrent step (default: 'sigmoid'; null: linear)."
)
RNN_KERNEL_INITIALIZER = arg(
    INITIALIZER,
    "Initializer for the kernel, the linear transformation of the inputs "
    "(default: 'glorot_uniform').",
)
RNN_RECURRENT_INITIALIZER = arg(
    INITIALIZER,
    "Initializer for the recurrent kernel, the linear transformation of the recurrent state "
    "(default: 'orthogonal').",
)
RNN_KERNEL_REGULARIZER = arg(REGULARIZER, "Regularizer applied to the kernel (default: null).")
RNN_RECURRENT_REGULARIZER = arg(
    REGULARIZER, "Regularizer applied to the recurrent kernel (default: null)."
)
RNN_KERNEL_CONSTRAINT = arg(CONSTRAINT, "Constraint applied to the kernel (default: null).")
RNN_RECURRENT_CONSTRAINT = arg(
    CONSTRAINT, "Constraint applied to the recurrent kernel (default: null)."
)
RNN_DROPOUT = arg(
    RATE, "Fraction of the units to drop for the linear transformation of the inputs (default: 0)."
)
RNN_RECURRENT_DROPOUT = arg(
    RATE,
    "Fraction of the units to drop for the linear transformation of the recurrent state "
    "(default: 0).",
)
RNN_SEED = arg(SEED, "Random seed for dropout (default: null).")
RNN_RETURN_SEQUENCES = arg(
    BOOL, "Whether to return the full output sequence instead of the last output (default: false)."
)
RNN_RETURN_STATE = arg(
    BOOL, "Whether to return the last state(s) in addition to the output (default: false)."
)
RNN_GO_BACKWARDS = arg(
    BOOL,
    "Process the input sequence backwards and return the reversed sequence (default: false).",
)
RNN_STATEFUL = arg(
    BOOL,
    "Use the last state of sample i in a batch as the initial state of sample i in the next batch "
    "(default: false).",
)
RNN_UNROLL = arg(
    BOOL,
    "Unroll the network instead of using a symbolic loop; faster but more memory-hungry, only "
    "for short sequences (default: false).",
)
RNN_USE_CUDNN = arg(
    USE_CUDNN,
    "Whether to use a cuDNN-backed implementation; 'auto' uses it when feasible and falls back "
    "otherwise (default: 'auto').",
)
RNN_CALL = ("sequences", "initial_state", "mask", "training")

MERGE_CALL = ("inputs",)

CELL_NOTE = (
    "use it as the `cell` of an RNN (or in the `cells` of StackedRNNCells); as a node it "
    "takes {inputs: ..., states: [...]} and returns [output, states]"
)

# Reshape `target_shape`: positive sizes, at most one -1 (inferred).
TARGET_SHAPE: Schema = {
    **list_of({"anyOf": [POS_INT, {"const": -1}]}),
    "contains": {"const": -1},
    "minContains": 0,
    "maxContains": 1,
}


# -- example contexts (the model inputs a layer's coverage example is fed) ---------------------

VEC: dict[str, Any] = {"x": {"shape": [4]}}
SEQ: dict[str, Any] = {"x": {"shape": [6, 4]}}
IMG: dict[str, Any] = {"x": {"shape": [8, 8, 3]}}
VOL: dict[str, Any] = {"x": {"shape": [4, 4, 4, 2]}}
TOKENS: dict[str, Any] = {"x": {"shape": [5], "dtype": "int32"}}
STRINGS: dict[str, Any] = {"x": {"shape": [3], "dtype": "string"}}
PAIR: dict[str, Any] = {"a": {"shape": [4]}, "b": {"shape": [4]}}
QV: dict[str, Any] = {"q": {"shape": [3, 4]}, "v": {"shape": [5, 4]}}
BY_RANK: dict[int, dict[str, Any]] = {1: SEQ, 2: IMG, 3: VOL}
