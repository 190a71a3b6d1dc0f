"""The Keras layers kspec knows, with their constructor arguments.

One entry per layer class, in the words of its Keras signature. ``build.py`` turns this table
into the kspec-1 JSON Schema (``kspec-1.schema.json``); regenerate it with
``python -m kspec.schemas.build`` after editing. TensorFlow-free by design.

Conventions (checked against the installed Keras by ``tests/test_catalog.py``):

* ``args`` lists every constructor argument in signature order, except ``self``, ``**kwargs``,
  the base-layer keywords (``name``, ``dtype``, ``trainable``: handled elsewhere; the pooling
  layers spell ``name`` out in their signature), ``input_shape``, and the arguments that cannot
  be written in YAML or that kspec does not expose: ``weights`` (arrays), ``quantization_config``,
  ``lora_rank``, ``lora_alpha``, ``lora_enabled``. An entry that drops one of these says so.
* ``required`` is exactly the arguments without a Keras default.
* Descriptions give the Keras default in YAML spelling (``null`` for ``None``).
"""

from __future__ import annotations

from kspec.schemas.types import (
    ACTIVATION,
    AXIS,
    BOOL,
    CONSTRAINT,
    DATA_FORMAT,
    INITIALIZER,
    INITIALIZERS,
    INT,
    INTERPOLATION,
    NESTED_LAYER,
    NONNEG_NUMBER,
    NUMBER,
    PAD_CROP_2D,
    PADDING,
    PADDING_CAUSAL,
    POS_INT,
    POS_NUMBER,
    RATE,
    REGULARIZER,
    SEED,
    USE_CUDNN,
    Layer,
    Schema,
    arg,
    enum,
    int_or_tuple,
    list_of,
    nullable,
)

# -- argument fragments used by several entries ----------------------------------------------

_DATA_FORMAT = arg(
    DATA_FORMAT,
    "Ordering of the dimensions in the inputs: 'channels_last' (batch, ..., channels) or "
    "'channels_first' (batch, channels, ...) (default: null, Keras' image_data_format, "
    "normally 'channels_last').",
)
_KEEPDIMS = arg(
    BOOL,
    "Whether to keep the pooled dimensions with length 1 instead of dropping them "
    "(default: false).",
)
_POOL_PADDING = arg(
    PADDING,
    "'valid' (no padding) or 'same' (pad evenly so the output has the input's size when "
    "strides is 1) (default: 'valid').",
)
_POOL_STRIDES = "How far the pooling window moves for each step (default: null, i.e. pool_size)."
_CONV_PADDING = arg(
    PADDING,
    "'valid' (no padding) or 'same' (pad evenly; with strides 1 the output has the input's size) "
    "(default: 'valid').",
)
_USE_BIAS = arg(BOOL, "Whether the layer uses a bias vector (default: true).")
_BIAS_INITIALIZER = arg(INITIALIZER, "Initializer for the bias vector (default: 'zeros').")
_BIAS_REGULARIZER = arg(REGULARIZER, "Regularizer applied to the bias vector (default: null).")
_ACTIVITY_REGULARIZER = arg(
    REGULARIZER, "Regularizer applied to the output of the layer (default: null)."
)
_BIAS_CONSTRAINT = arg(CONSTRAINT, "Constraint applied to the bias vector (default: null).")

# The tail shared by Dense and the Conv*D layers, from `activation` to `bias_constraint`.
_KERNEL_AND_BIAS: dict[str, Schema] = {
    "activation": arg(ACTIVATION, "Activation function (default: null, no activation: linear)."),
    "use_bias": _USE_BIAS,
    "kernel_initializer": arg(
        INITIALIZER, "Initializer for the kernel weights (default: 'glorot_uniform')."
    ),
    "bias_initializer": _BIAS_INITIALIZER,
    "kernel_regularizer": arg(REGULARIZER, "Regularizer applied to the kernel (default: null)."),
    "bias_regularizer": _BIAS_REGULARIZER,
    "activity_regularizer": _ACTIVITY_REGULARIZER,
    "kernel_constraint": arg(CONSTRAINT, "Constraint applied to the kernel (default: null)."),
    "bias_constraint": _BIAS_CONSTRAINT,
}

_FILTERS = arg(POS_INT, "Dimension of the output space (the number of filters).")


def _ones(rank: int) -> str:
    """Keras' all-ones default for a rank-``rank`` stride or dilation, in YAML spelling."""
    return "1" if rank == 1 else "[" + ", ".join(["1"] * rank) + "]"


def _kernel_size(rank: int) -> Schema:
    what = "an integer" if rank == 1 else f"an integer or a list of {rank} integers"
    return arg(int_or_tuple(rank), f"Size of the convolution window ({what}).")


def _strides(rank: int) -> Schema:
    return arg(
        int_or_tuple(rank),
        "Stride length of the convolution; strides > 1 is incompatible with dilation_rate > 1 "
        f"(default: {_ones(rank)}).",
    )


def _dilation_rate(rank: int) -> Schema:
    return arg(
        int_or_tuple(rank), f"Dilation rate for dilated convolution (default: {_ones(rank)})."
    )


_GROUPS = arg(
    POS_INT,
    "Number of groups the input is split into along the channel axis, each convolved with "
    "filters // groups filters; input channels and filters must be divisible by it (default: 1).",
)

# Recurrent layers.
_RNN_UNITS = arg(POS_INT, "Dimensionality of the output space.")
_RNN_ACTIVATION = arg(ACTIVATION, "Activation function (default: 'tanh'; null means linear).")
_RNN_RECURRENT_ACTIVATION = arg(
    ACTIVATION, "Activation function for the recurrent step (default: 'sigmoid'; null: linear)."
)
_RNN_KERNEL_INITIALIZER = arg(
    INITIALIZER,
    "Initializer for the kernel, the linear transformation of the inputs "
    "(default: 'glorot_uniform').",
)
_RNN_RECURRENT_INITIALIZER = arg(
    INITIALIZER,
    "Initializer for the recurrent kernel, the linear transformation of the recurrent state "
    "(default: 'orthogonal').",
)
_RNN_KERNEL_REGULARIZER = arg(REGULARIZER, "Regularizer applied to the kernel (default: null).")
_RNN_RECURRENT_REGULARIZER = arg(
    REGULARIZER, "Regularizer applied to the recurrent kernel (default: null)."
)
_RNN_KERNEL_CONSTRAINT = arg(CONSTRAINT, "Constraint applied to the kernel (default: null).")
_RNN_RECURRENT_CONSTRAINT = arg(
    CONSTRAINT, "Constraint applied to the recurrent kernel (default: null)."
)
_RNN_DROPOUT = arg(
    RATE, "Fraction of the units to drop for the linear transformation of the inputs (default: 0)."
)
_RNN_RECURRENT_DROPOUT = arg(
    RATE,
    "Fraction of the units to drop for the linear transformation of the recurrent state "
    "(default: 0).",
)
_RNN_SEED = arg(SEED, "Random seed for dropout (default: null).")
_RNN_RETURN_SEQUENCES = arg(
    BOOL, "Whether to return the full output sequence instead of the last output (default: false)."
)
_RNN_RETURN_STATE = arg(
    BOOL, "Whether to return the last state(s) in addition to the output (default: false)."
)
_RNN_GO_BACKWARDS = arg(
    BOOL,
    "Process the input sequence backwards and return the reversed sequence (default: false).",
)
_RNN_STATEFUL = arg(
    BOOL,
    "Use the last state of sample i in a batch as the initial state of sample i in the next batch "
    "(default: false).",
)
_RNN_UNROLL = arg(
    BOOL,
    "Unroll the network instead of using a symbolic loop; faster but more memory-hungry, only "
    "for short sequences (default: false).",
)
_RNN_USE_CUDNN = arg(
    USE_CUDNN,
    "Whether to use a cuDNN-backed implementation; 'auto' uses it when feasible and falls back "
    "otherwise (default: 'auto').",
)
_RNN_CALL = ("sequences", "initial_state", "mask", "training")

_MERGE_CALL = ("inputs",)

# Reshape `target_shape`: positive sizes, at most one -1 (inferred).
_TARGET_SHAPE: Schema = {
    **list_of({"anyOf": [POS_INT, {"const": -1}]}),
    "contains": {"const": -1},
    "minContains": 0,
    "maxContains": 1,
}

LAYERS: dict[str, Layer] = {
    "Dense": Layer(
        # Excluded: lora_rank, lora_alpha, quantization_config.
        doc="Densely-connected layer: `activation(dot(input, kernel) + bias)`.",
        args={
            "units": arg(POS_INT, "Dimensionality of the output space."),
            **_KERNEL_AND_BIAS,
        },
        required=("units",),
        call_args=("inputs", "training"),
    ),
    "Flatten": Layer(
        doc="Flattens the input (all axes but the batch axis); does not affect the batch size.",
        args={"data_format": _DATA_FORMAT},
        call_args=("inputs",),
    ),
    "Dropout": Layer(
        doc="Applies dropout to the input (only during training).",
        args={
            "rate": arg(RATE, "Fraction of the input units to drop."),
            "noise_shape": arg(
                nullable(list_of(nullable(POS_INT), 1)),
                "Shape of the binary dropout mask, e.g. [null, 1, features] to share the mask "
                "across timesteps; null entries take the input's size (default: null).",
            ),
            "seed": arg(SEED, "Random seed (default: null)."),
        },
        required=("rate",),
        call_args=("inputs", "training"),
    ),
    "Activation": Layer(
        doc="Applies an activation function to an output.",
        args={
            "activation": arg(
                ACTIVATION, "Activation function, by its keras.activations name (null: linear)."
            ),
        },
        required=("activation",),
        call_args=("inputs",),
    ),
    "Conv1D": Layer(
        doc="1D convolution layer (e.g. temporal convolution).",
        args={
            "filters": _FILTERS,
            "kernel_size": _kernel_size(1),
            "strides": _strides(1),
            "padding": arg(
                PADDING_CAUSAL,
                "'valid' (no padding), 'same' (pad evenly) or 'causal' (dilated causal "
                "convolution: output[t] does not depend on input[t+1:]) (default: 'valid').",
            ),
            "data_format": _DATA_FORMAT,
            "dilation_rate": _dilation_rate(1),
            "groups": _GROUPS,
            **_KERNEL_AND_BIAS,
        },
        required=("filters", "kernel_size"),
        call_args=("inputs",),
    ),
    "Conv2D": Layer(
        doc="2D convolution layer.",
        args={
            "filters": _FILTERS,
            "kernel_size": _kernel_size(2),
            "strides": _strides(2),
            "padding": _CONV_PADDING,
            "data_format": _DATA_FORMAT,
            "dilation_rate": _dilation_rate(2),
            "groups": _GROUPS,
            **_KERNEL_AND_BIAS,
        },
        required=("filters", "kernel_size"),
        call_args=("inputs",),
    ),
    "Conv3D": Layer(
        doc="3D convolution layer.",
        args={
            "filters": _FILTERS,
            "kernel_size": _kernel_size(3),
            "strides": _strides(3),
            "padding": _CONV_PADDING,
            "data_format": _DATA_FORMAT,
            "dilation_rate": _dilation_rate(3),
            "groups": _GROUPS,
            **_KERNEL_AND_BIAS,
        },
        required=("filters", "kernel_size"),
        call_args=("inputs",),
    ),
    "Conv2DTranspose": Layer(
        doc="2D transposed convolution layer.",
        args={
            "filters": _FILTERS,
            "kernel_size": _kernel_size(2),
            "strides": _strides(2),
            "padding": _CONV_PADDING,
            "output_padding": arg(
                nullable(int_or_tuple(2, minimum=0)),
                "Padding along the height and width of the output, lower than the stride "
                "(default: null, the output shape is inferred).",
            ),
            "data_format": _DATA_FORMAT,
            "dilation_rate": _dilation_rate(2),
            **_KERNEL_AND_BIAS,
        },
        required=("filters", "kernel_size"),
        call_args=("inputs",),
    ),
    "DepthwiseConv2D": Layer(
        doc="2D depthwise convolution layer: each input channel is convolved separately.",
        args={
            "kernel_size": _kernel_size(2),
            "strides": _strides(2),
            "padding": _CONV_PADDING,
            "depth_multiplier": arg(
                POS_INT, "Number of depthwise output channels per input channel (default: 1)."
            ),
            "data_format": _DATA_FORMAT,
            "dilation_rate": _dilation_rate(2),
            "activation": _KERNEL_AND_BIAS["activation"],
            "use_bias": _USE_BIAS,
            "depthwise_initializer": arg(
                INITIALIZER, "Initializer for the depthwise kernel (default: 'glorot_uniform')."
            ),
            "bias_initializer": _BIAS_INITIALIZER,
            "depthwise_regularizer": arg(
                REGULARIZER, "Regularizer applied to the depthwise kernel (default: null)."
            ),
            "bias_regularizer": _BIAS_REGULARIZER,
            "activity_regularizer": _ACTIVITY_REGULARIZER,
            "depthwise_constraint": arg(
                CONSTRAINT, "Constraint applied to the depthwise kernel (default: null)."
            ),
            "bias_constraint": _BIAS_CONSTRAINT,
        },
        required=("kernel_size",),
        call_args=("inputs",),
    ),
    "SeparableConv2D": Layer(
        doc="2D separable convolution layer: a depthwise then a pointwise (1x1) convolution.",
        args={
            "filters": arg(
                POS_INT, "Dimension of the output space (filters of the pointwise convolution)."
            ),
            "kernel_size": arg(
                int_or_tuple(2),
                "Size of the depthwise convolution window (an integer or [rows, cols]).",
            ),
            "strides": _strides(2),
            "padding": _CONV_PADDING,
            "data_format": _DATA_FORMAT,
            "dilation_rate": _dilation_rate(2),
            "depth_multiplier": arg(
                POS_INT, "Number of depthwise output channels per input channel (default: 1)."
            ),
            "activation": _KERNEL_AND_BIAS["activation"],
            "use_bias": _USE_BIAS,
            "depthwise_initializer": arg(
                INITIALIZER, "Initializer for the depthwise kernel (default: 'glorot_uniform')."
            ),
            "pointwise_initializer": arg(
                INITIALIZER, "Initializer for the pointwise kernel (default: 'glorot_uniform')."
            ),
            "bias_initializer": _BIAS_INITIALIZER,
            "depthwise_regularizer": arg(
                REGULARIZER, "Regularizer applied to the depthwise kernel (default: null)."
            ),
            "pointwise_regularizer": arg(
                REGULARIZER, "Regularizer applied to the pointwise kernel (default: null)."
            ),
            "bias_regularizer": _BIAS_REGULARIZER,
            "activity_regularizer": _ACTIVITY_REGULARIZER,
            "depthwise_constraint": arg(
                CONSTRAINT, "Constraint applied to the depthwise kernel (default: null)."
            ),
            "pointwise_constraint": arg(
                CONSTRAINT, "Constraint applied to the pointwise kernel (default: null)."
            ),
            "bias_constraint": _BIAS_CONSTRAINT,
        },
        required=("filters", "kernel_size"),
        call_args=("inputs",),
    ),
    "MaxPooling1D": Layer(
        doc="Max pooling operation for 1D temporal data.",
        args={
            "pool_size": arg(int_or_tuple(1), "Size of the max pooling window (default: 2)."),
            "strides": arg(nullable(int_or_tuple(1)), _POOL_STRIDES),
            "padding": _POOL_PADDING,
            "data_format": _DATA_FORMAT,
        },
        call_args=("inputs",),
    ),
    "MaxPooling2D": Layer(
        doc="Max pooling operation for 2D spatial data.",
        args={
            "pool_size": arg(
                int_or_tuple(2),
                "Size of the max pooling window, an integer or [rows, cols] (default: [2, 2]).",
            ),
            "strides": arg(nullable(int_or_tuple(2)), _POOL_STRIDES),
            "padding": _POOL_PADDING,
            "data_format": _DATA_FORMAT,
        },
        call_args=("inputs",),
    ),
    "AveragePooling1D": Layer(
        doc="Average pooling for temporal data.",
        args={
            "pool_size": arg(int_or_tuple(1), "Size of the average pooling window (no default)."),
            "strides": arg(nullable(int_or_tuple(1)), _POOL_STRIDES),
            "padding": _POOL_PADDING,
            "data_format": _DATA_FORMAT,
        },
        required=("pool_size",),
        call_args=("inputs",),
    ),
    "AveragePooling2D": Layer(
        doc="Average pooling operation for 2D spatial data.",
        args={
            "pool_size": arg(
                int_or_tuple(2),
                "Size of the average pooling window, an integer or [rows, cols] (no default).",
            ),
            "strides": arg(nullable(int_or_tuple(2)), _POOL_STRIDES),
            "padding": _POOL_PADDING,
            "data_format": _DATA_FORMAT,
        },
        required=("pool_size",),
        call_args=("inputs",),
    ),
    "GlobalAveragePooling1D": Layer(
        doc="Global average pooling operation for temporal data.",
        args={"data_format": _DATA_FORMAT, "keepdims": _KEEPDIMS},
        call_args=("inputs", "mask"),
    ),
    "GlobalAveragePooling2D": Layer(
        doc="Global average pooling operation for 2D data.",
        args={"data_format": _DATA_FORMAT, "keepdims": _KEEPDIMS},
        call_args=("inputs",),
    ),
    "GlobalMaxPooling1D": Layer(
        doc="Global max pooling operation for temporal data.",
        args={"data_format": _DATA_FORMAT, "keepdims": _KEEPDIMS},
        call_args=("inputs",),
    ),
    "GlobalMaxPooling2D": Layer(
        doc="Global max pooling operation for 2D data.",
        args={"data_format": _DATA_FORMAT, "keepdims": _KEEPDIMS},
        call_args=("inputs",),
    ),
    "BatchNormalization": Layer(
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
    ),
    "LayerNormalization": Layer(
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
    ),
    "Embedding": Layer(
        # Excluded: weights (an initial embeddings array), lora_rank, lora_alpha,
        # quantization_config.
        doc="Turns nonnegative integers (indexes) into dense vectors of fixed size.",
        args={
            "input_dim": arg(POS_INT, "Size of the vocabulary, i.e. maximum integer index + 1."),
            "output_dim": arg(POS_INT, "Dimension of the dense embedding."),
            "embeddings_initializer": arg(
                # Keras' default is spelled "uniform" (its alias of "random_uniform").
                enum(*INITIALIZERS, "uniform"),
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
    ),
    "LSTM": Layer(
        doc="Long Short-Term Memory layer (Hochreiter 1997).",
        args={
            "units": _RNN_UNITS,
            "activation": _RNN_ACTIVATION,
            "recurrent_activation": _RNN_RECURRENT_ACTIVATION,
            "use_bias": _USE_BIAS,
            "kernel_initializer": _RNN_KERNEL_INITIALIZER,
            "recurrent_initializer": _RNN_RECURRENT_INITIALIZER,
            "bias_initializer": _BIAS_INITIALIZER,
            "unit_forget_bias": arg(
                BOOL,
                "Add 1 to the bias of the forget gate at initialization; forces "
                "bias_initializer 'zeros' (default: true).",
            ),
            "kernel_regularizer": _RNN_KERNEL_REGULARIZER,
            "recurrent_regularizer": _RNN_RECURRENT_REGULARIZER,
            "bias_regularizer": _BIAS_REGULARIZER,
            "activity_regularizer": _ACTIVITY_REGULARIZER,
            "kernel_constraint": _RNN_KERNEL_CONSTRAINT,
            "recurrent_constraint": _RNN_RECURRENT_CONSTRAINT,
            "bias_constraint": _BIAS_CONSTRAINT,
            "dropout": _RNN_DROPOUT,
            "recurrent_dropout": _RNN_RECURRENT_DROPOUT,
            "seed": _RNN_SEED,
            "return_sequences": _RNN_RETURN_SEQUENCES,
            "return_state": _RNN_RETURN_STATE,
            "go_backwards": _RNN_GO_BACKWARDS,
            "stateful": _RNN_STATEFUL,
            "unroll": _RNN_UNROLL,
            "use_cudnn": _RNN_USE_CUDNN,
        },
        required=("units",),
        call_args=_RNN_CALL,
        state_outputs=2,
    ),
    "GRU": Layer(
        doc="Gated Recurrent Unit (Cho et al. 2014).",
        args={
            "units": _RNN_UNITS,
            "activation": _RNN_ACTIVATION,
            "recurrent_activation": _RNN_RECURRENT_ACTIVATION,
            "use_bias": _USE_BIAS,
            "kernel_initializer": _RNN_KERNEL_INITIALIZER,
            "recurrent_initializer": _RNN_RECURRENT_INITIALIZER,
            "bias_initializer": _BIAS_INITIALIZER,
            "kernel_regularizer": _RNN_KERNEL_REGULARIZER,
            "recurrent_regularizer": _RNN_RECURRENT_REGULARIZER,
            "bias_regularizer": _BIAS_REGULARIZER,
            "activity_regularizer": _ACTIVITY_REGULARIZER,
            "kernel_constraint": _RNN_KERNEL_CONSTRAINT,
            "recurrent_constraint": _RNN_RECURRENT_CONSTRAINT,
            "bias_constraint": _BIAS_CONSTRAINT,
            "dropout": _RNN_DROPOUT,
            "recurrent_dropout": _RNN_RECURRENT_DROPOUT,
            "seed": _RNN_SEED,
            "return_sequences": _RNN_RETURN_SEQUENCES,
            "return_state": _RNN_RETURN_STATE,
            "go_backwards": _RNN_GO_BACKWARDS,
            "stateful": _RNN_STATEFUL,
            "unroll": _RNN_UNROLL,
            "reset_after": arg(
                BOOL,
                "Apply the reset gate after (true, cuDNN compatible) or before (false) the "
                "matrix multiplication (default: true).",
            ),
            "use_cudnn": _RNN_USE_CUDNN,
        },
        required=("units",),
        call_args=_RNN_CALL,
        state_outputs=1,
    ),
    "SimpleRNN": Layer(
        doc="Fully-connected RNN where the output is fed back as the new input.",
        args={
            "units": _RNN_UNITS,
            "activation": _RNN_ACTIVATION,
            "use_bias": _USE_BIAS,
            "kernel_initializer": _RNN_KERNEL_INITIALIZER,
            "recurrent_initializer": _RNN_RECURRENT_INITIALIZER,
            "bias_initializer": _BIAS_INITIALIZER,
            "kernel_regularizer": _RNN_KERNEL_REGULARIZER,
            "recurrent_regularizer": _RNN_RECURRENT_REGULARIZER,
            "bias_regularizer": _BIAS_REGULARIZER,
            "activity_regularizer": _ACTIVITY_REGULARIZER,
            "kernel_constraint": _RNN_KERNEL_CONSTRAINT,
            "recurrent_constraint": _RNN_RECURRENT_CONSTRAINT,
            "bias_constraint": _BIAS_CONSTRAINT,
            "dropout": _RNN_DROPOUT,
            "recurrent_dropout": _RNN_RECURRENT_DROPOUT,
            "return_sequences": _RNN_RETURN_SEQUENCES,
            "return_state": _RNN_RETURN_STATE,
            "go_backwards": _RNN_GO_BACKWARDS,
            "stateful": _RNN_STATEFUL,
            "unroll": _RNN_UNROLL,
            "seed": _RNN_SEED,
        },
        required=("units",),
        call_args=_RNN_CALL,
        state_outputs=1,
    ),
    "Bidirectional": Layer(
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
        call_args=_RNN_CALL,
    ),
    "TimeDistributed": Layer(
        doc="Applies a layer to every temporal slice (axis 1) of an input.",
        args={"layer": arg(NESTED_LAYER, "The layer to apply to every temporal slice.")},
        required=("layer",),
        call_args=("inputs", "training", "mask"),
    ),
    "MultiHeadAttention": Layer(
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
    ),
    # Merge layers. Keras 3 accepts a list of a single tensor for all but Subtract and Dot.
    "Add": Layer(
        doc="Element-wise addition of a list of inputs of the same shape.",
        inputs="many",
        min_inputs=1,
        call_args=_MERGE_CALL,
    ),
    "Subtract": Layer(
        doc="Element-wise subtraction of two inputs: inputs[0] - inputs[1].",
        inputs="many",
        min_inputs=2,
        max_inputs=2,
        call_args=_MERGE_CALL,
    ),
    "Multiply": Layer(
        doc="Element-wise multiplication of a list of inputs of the same shape.",
        inputs="many",
        min_inputs=1,
        call_args=_MERGE_CALL,
    ),
    "Average": Layer(
        doc="Element-wise average of a list of inputs of the same shape.",
        inputs="many",
        min_inputs=1,
        call_args=_MERGE_CALL,
    ),
    "Maximum": Layer(
        doc="Element-wise maximum of a list of inputs of the same shape.",
        inputs="many",
        min_inputs=1,
        call_args=_MERGE_CALL,
    ),
    "Minimum": Layer(
        doc="Element-wise minimum of a list of inputs of the same shape.",
        inputs="many",
        min_inputs=1,
        call_args=_MERGE_CALL,
    ),
    "Concatenate": Layer(
        doc="Concatenates a list of inputs along an axis.",
        args={"axis": arg(INT, "Axis along which to concatenate (default: -1).")},
        inputs="many",
        min_inputs=1,
        call_args=_MERGE_CALL,
    ),
    "Dot": Layer(
        doc="Dot product between samples of two inputs.",
        args={
            "axes": arg(
                {"anyOf": [INT, list_of(INT, 2, 2)]},
                "Axis, or [axis of input 1, axis of input 2], along which to take the dot "
                "product; the sizes must match and the batch axis 0 cannot be used.",
            ),
            "normalize": arg(
                BOOL,
                "L2-normalize samples along the dot product axis first, giving the cosine "
                "proximity (default: false).",
            ),
        },
        required=("axes",),
        inputs="many",
        min_inputs=2,
        max_inputs=2,
        call_args=_MERGE_CALL,
    ),
    "Reshape": Layer(
        doc="Reshapes inputs into the given shape (the batch axis is kept).",
        args={
            "target_shape": arg(
                _TARGET_SHAPE,
                "Target shape without the batch dimension; one element may be -1, inferred "
                "from the input size.",
            ),
        },
        required=("target_shape",),
        call_args=("inputs",),
    ),
    "Permute": Layer(
        doc="Permutes the dimensions of the input according to a given pattern.",
        args={
            "dims": arg(
                {**list_of(POS_INT, 1), "uniqueItems": True},
                "Permutation of the non-batch axes, indexed from 1: e.g. [2, 1] swaps them.",
            ),
        },
        required=("dims",),
        call_args=("inputs",),
    ),
    "RepeatVector": Layer(
        doc="Repeats the (2D) input n times, giving (batch, n, features).",
        args={"n": arg(POS_INT, "Repetition factor.")},
        required=("n",),
        call_args=("inputs",),
    ),
    "ZeroPadding1D": Layer(
        doc="Zero-padding layer for 1D input (e.g. temporal sequence), along axis 1.",
        args={
            "padding": arg(
                int_or_tuple(2, minimum=0),
                "Zeros to add at the start and end of the padded axis: an integer or "
                "[left_pad, right_pad] (default: 1).",
            ),
            "data_format": _DATA_FORMAT,
        },
        call_args=("inputs",),
    ),
    "ZeroPadding2D": Layer(
        doc="Zero-padding layer for 2D input (e.g. picture): rows and columns of zeros.",
        args={
            "padding": arg(
                PAD_CROP_2D,
                "An integer (same for height and width), [height_pad, width_pad] (symmetric), "
                "or [[top, bottom], [left, right]] (default: [1, 1]).",
            ),
            "data_format": _DATA_FORMAT,
        },
        call_args=("inputs",),
    ),
    "Cropping1D": Layer(
        doc="Cropping layer for 1D input (e.g. temporal sequence), along axis 1.",
        args={
            "cropping": arg(
                int_or_tuple(2, minimum=0),
                "Units to trim off the start and end of the cropped axis: an integer or "
                "[left_crop, right_crop] (default: [1, 1]).",
            ),
        },
        call_args=("inputs",),
    ),
    "Cropping2D": Layer(
        doc="Cropping layer for 2D input (e.g. picture), along height and width.",
        args={
            "cropping": arg(
                PAD_CROP_2D,
                "An integer (same for height and width), [height_crop, width_crop] "
                "(symmetric), or [[top, bottom], [left, right]] (default: [[0, 0], [0, 0]]).",
            ),
            "data_format": _DATA_FORMAT,
        },
        call_args=("inputs",),
    ),
    "UpSampling1D": Layer(
        doc="Upsampling layer for 1D inputs: repeats each temporal step `size` times.",
        args={"size": arg(POS_INT, "Upsampling factor (default: 2).")},
        call_args=("inputs",),
    ),
    "UpSampling2D": Layer(
        doc="Upsampling layer for 2D inputs: repeats rows and columns.",
        args={
            "size": arg(
                int_or_tuple(2), "Upsampling factors for rows and columns (default: [2, 2])."
            ),
            "data_format": _DATA_FORMAT,
            "interpolation": arg(
                INTERPOLATION,
                "Interpolation method; 'area' only with the TensorFlow backend "
                "(default: 'nearest').",
            ),
        },
        call_args=("inputs",),
    ),
    "ReLU": Layer(
        doc="Rectified Linear Unit activation layer.",
        args={
            "max_value": arg(
                nullable(NONNEG_NUMBER), "Maximum activation value (default: null, unlimited)."
            ),
            "negative_slope": arg(NONNEG_NUMBER, "Negative slope coefficient (default: 0.0)."),
            "threshold": arg(
                NONNEG_NUMBER, "Threshold value for thresholded activation (default: 0.0)."
            ),
        },
        call_args=("inputs",),
    ),
    "LeakyReLU": Layer(
        doc="Leaky version of a Rectified Linear Unit activation layer.",
        args={
            "negative_slope": arg(NONNEG_NUMBER, "Negative slope coefficient (default: 0.3)."),
        },
        call_args=("inputs",),
    ),
    "PReLU": Layer(
        doc="Parametric Rectified Linear Unit activation layer (learned negative slope).",
        args={
            "alpha_initializer": arg(
                # Keras' default is spelled "Zeros" (the class name); "zeros" is the same.
                enum(*INITIALIZERS, "Zeros"),
                "Initializer for the learned slopes (default: 'Zeros').",
            ),
            "alpha_regularizer": arg(
                REGULARIZER, "Regularizer for the learned slopes (default: null)."
            ),
            "alpha_constraint": arg(
                CONSTRAINT, "Constraint for the learned slopes (default: null)."
            ),
            "shared_axes": arg(
                nullable({"anyOf": [POS_INT, list_of(POS_INT, 1)]}),
                "Axes (1-based, batch excluded) along which the slopes are shared, e.g. [1, 2] "
                "for one slope per channel after a Conv2D (default: null).",
            ),
        },
        call_args=("inputs",),
    ),
    "ELU": Layer(
        doc="Applies an Exponential Linear Unit function to an output.",
        args={"alpha": arg(NUMBER, "Slope of the negative section (default: 1.0).")},
        call_args=("inputs",),
    ),
    "Softmax": Layer(
        doc="Softmax activation layer.",
        args={
            "axis": arg(
                AXIS,
                "Axis or axes along which the softmax normalization is applied (default: -1).",
            ),
        },
        call_args=("inputs", "mask"),
    ),
    "Rescaling": Layer(
        doc="Rescales input values to a new range: `inputs * scale + offset`.",
        args={
            "scale": arg(
                {"anyOf": [NUMBER, list_of(NUMBER, 1)]},
                "Scale to multiply the inputs by (a number, or one per channel).",
            ),
            "offset": arg(
                {"anyOf": [NUMBER, list_of(NUMBER, 1)]},
                "Offset to add to the inputs (a number, or one per channel) (default: 0.0).",
            ),
        },
        required=("scale",),
        call_args=("inputs",),
    ),
    "Resizing": Layer(
        doc="Resizes images to a target size (height, width).",
        args={
            "height": arg(POS_INT, "Height of the output."),
            "width": arg(POS_INT, "Width of the output."),
            "interpolation": arg(
                INTERPOLATION,
                "Interpolation method; 'area' only with the TensorFlow backend "
                "(default: 'bilinear').",
            ),
            "crop_to_aspect_ratio": arg(
                BOOL,
                "Resize without aspect ratio distortion by cropping the largest centred window "
                "with the target aspect ratio (default: false).",
            ),
            "pad_to_aspect_ratio": arg(
                BOOL,
                "Resize without aspect ratio distortion by padding the short side evenly "
                "(default: false).",
            ),
            "fill_mode": arg(
                enum("constant"),
                "How padded areas are filled with pad_to_aspect_ratio; only 'constant' is "
                "supported (default: 'constant').",
            ),
            "fill_value": arg(NUMBER, "Padding value with pad_to_aspect_ratio (default: 0.0)."),
            "antialias": arg(
                BOOL, "Use an anti-aliasing filter when downsampling (default: false)."
            ),
            "data_format": _DATA_FORMAT,
        },
        required=("height", "width"),
        call_args=("data", "training"),
    ),
}
