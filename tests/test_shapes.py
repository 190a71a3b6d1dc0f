"""Static shape inference (kspec.spec.shapes), which runs inside `kspec check` without TensorFlow.

1. Each rule family, with shapes worked out by hand (strides, padding, dilation, data formats).
2. The bundled examples and good specs: every node gets shapes, the model outputs are the known
   ones, and the 1,500-instance deep_residual is inferred fast and without recursion.
3. The broken specs under tests/specs/shapes/: each file's `# expect:` header lines (the format
   of tests/specs/bad/) give the exact (code, line) pairs the walk must report.
4. With TensorFlow (marked `tf`): the same rules against Keras, layer by layer (a shape must be
   Keras' static shape; a reported problem must be one Keras refuses too), every node of every
   example against the built functional model, the broken specs must fail to build, and a
   property test over drawn specs (kspec.testing.specs) compares the model output shapes and
   checks that no valid spec gets a shape error.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from timing import reference, within

from kspec.codes import CODES
from kspec.layers import ShapeError, format_shape
from kspec.layers import output_shapes as apply_layer
from kspec.spec import walk as walking
from kspec.spec.check import analyze
from kspec.spec.include import load_spec
from kspec.spec.ir import BlockNode, Graph, OpNode, ShareNode, Spec
from kspec.spec.loader import load_file, load_text
from kspec.spec.report import Reporter
from kspec.spec.walk import Walk, walk

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
GOOD = sorted((ROOT / "tests" / "specs" / "good").glob("*.yaml"))
BROKEN = sorted((ROOT / "tests" / "specs" / "shapes").glob("*.yaml"))

N = None  # shorter shapes in the tables below
SHAPE_CODES = {code: title for code, title in CODES.items() if code.startswith("KS4")}


def _outputs(spec: Spec, table: dict[tuple[str, ...], Any]) -> list[Any]:
    """The model's output shapes from a walk's table."""
    return Walk(shapes=table).model_outputs(spec)


def _analyzed(path: Path) -> tuple[Spec, Reporter]:
    doc, diags = load_spec(str(path))  # with the files it extends and includes
    assert doc is not None, diags
    spec, diags = analyze(doc, shapes=False)
    assert spec is not None, [(d.code, d.line, d.message) for d in diags]
    return spec, Reporter(doc)


def _unchecked(text: str) -> Spec:
    """The spec without kspec's own shape check, to see what Keras says about it."""
    return _analyzed_text(text)[0]


def _analyzed_text(text: str) -> tuple[Spec, Reporter]:
    doc, diags = load_text(text, "<test>")
    assert doc is not None, diags
    spec, diags = analyze(doc, shapes=False)
    assert spec is not None, [(d.code, d.line, d.message) for d in diags]
    return spec, Reporter(doc)


# -- 1. rules -----------------------------------------------------------------------------

# (id, layer type, args, inputs, call, expected output shapes), hand-computed.
RULES: list[tuple[str, str, dict[str, Any], Any, dict[str, Any] | None, list[Any]]] = [
    # Dense: the last axis becomes units
    ("dense", "Dense", {"units": 5}, (N, 3), None, [(N, 5)]),
    ("dense_rank3", "Dense", {"units": 5}, (N, 4, 3), None, [(N, 4, 5)]),
    ("dense_batch", "Dense", {"units": 5}, (32, 3), None, [(32, 5)]),
    # convolutions: valid (n - d*(k-1) - 1) // s + 1, same/causal (n - 1) // s + 1
    ("conv2d_valid", "Conv2D", {"filters": 8, "kernel_size": 3}, (N, 28, 28, 1), None,
     [(N, 26, 26, 8)]),
    ("conv2d_same_s2", "Conv2D", {"filters": 8, "kernel_size": 3, "strides": 2,
     "padding": "same"}, (N, 7, 7, 3), None, [(N, 4, 4, 8)]),
    ("conv2d_valid_s2", "Conv2D", {"filters": 8, "kernel_size": 3, "strides": 2}, (N, 7, 8, 3),
     None, [(N, 3, 3, 8)]),
    ("conv2d_dilation", "Conv2D", {"filters": 2, "kernel_size": [3, 5], "dilation_rate": 2},
     (N, 10, 12, 1), None, [(N, 6, 4, 2)]),
    ("conv2d_strides_list", "Conv2D", {"filters": 2, "kernel_size": 1, "strides": [1, 3]},
     (N, 10, 10, 1), None, [(N, 10, 4, 2)]),
    ("conv2d_channels_first", "Conv2D", {"filters": 3, "kernel_size": 3,
     "data_format": "channels_first"}, (N, 2, 8, 9), None, [(N, 3, 6, 7)]),
    ("conv2d_unknown_size", "Conv2D", {"filters": 4, "kernel_size": 3}, (N, N, 9, 2), None,
     [(N, N, 7, 4)]),
    ("conv1d_causal_dilated", "Conv1D", {"filters": 3, "kernel_size": 3, "dilation_rate": 2,
     "padding": "causal"}, (N, 9, 2), None, [(N, 9, 3)]),
    ("conv1d_causal_s2", "Conv1D", {"filters": 3, "kernel_size": 3, "strides": 2,
     "padding": "causal"}, (N, 9, 2), None, [(N, 5, 3)]),
    ("conv1d_same_s3", "Conv1D", {"filters": 3, "kernel_size": 2, "strides": 3,
     "padding": "same"}, (N, 10, 4), None, [(N, 4, 3)]),
    ("conv1d_unknown_steps", "Conv1D", {"filters": 3, "kernel_size": 5}, (N, N, 4), None,
     [(N, N, 3)]),
    ("conv1d_channels_first", "Conv1D", {"filters": 6, "kernel_size": 2,
     "data_format": "channels_first"}, (N, 4, 10), None, [(N, 6, 9)]),
    ("conv3d", "Conv3D", {"filters": 3, "kernel_size": 2, "strides": 2}, (N, 5, 6, 7, 1), None,
     [(N, 2, 3, 3, 3)]),
    ("depthwise", "DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2}, (N, 8, 8, 3),
     None, [(N, 6, 6, 6)]),
    ("separable_same", "SeparableConv2D", {"filters": 5, "kernel_size": 3, "padding": "same"},
     (N, 8, 8, 3), None, [(N, 8, 8, 5)]),
    # transposed: valid (n-1)*s + k + max(k, s) - k; same n*s, or (n-1)*s + k%2 + output_padding
    ("conv2d_transpose", "Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2},
     (N, 5, 6, 3), None, [(N, 11, 13, 4)]),
    ("conv2d_transpose_same_op", "Conv2DTranspose", {"filters": 4, "kernel_size": 3,
     "strides": 2, "padding": "same", "output_padding": 1}, (N, 5, 6, 3), None,
     [(N, 10, 12, 4)]),
    ("conv2d_transpose_same", "Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2,
     "padding": "same"}, (N, 5, 6, 3), None, [(N, 10, 12, 4)]),
    ("conv2d_transpose_stride_gt_kernel", "Conv2DTranspose", {"filters": 1, "kernel_size": 2,
     "strides": 3}, (N, 4, N, 1), None, [(N, 12, N, 1)]),
    # pooling: strides default to pool_size
    ("maxpool2d_default", "MaxPooling2D", {}, (N, 7, 7, 3), None, [(N, 3, 3, 3)]),
    ("maxpool1d_same_s2", "MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"},
     (N, 10, 2), None, [(N, 5, 2)]),
    ("avgpool2d_channels_first", "AveragePooling2D", {"pool_size": 2,
     "data_format": "channels_first"}, (N, 3, 9, 7), None, [(N, 3, 4, 3)]),
    ("avgpool1d_s1", "AveragePooling1D", {"pool_size": 4, "strides": 1}, (N, 6, 2), None,
     [(N, 3, 2)]),
    ("maxpool2d_lists", "MaxPooling2D", {"pool_size": [2, 3], "strides": [1, 2]},
     (N, 5, 9, 1), None, [(N, 4, 4, 1)]),
    ("gap2d", "GlobalAveragePooling2D", {}, (N, 4, 5, 6), None, [(N, 6)]),
    ("gap2d_keepdims", "GlobalAveragePooling2D", {"keepdims": True}, (N, 4, 5, 6), None,
     [(N, 1, 1, 6)]),
    ("gmp2d_keepdims_cf", "GlobalMaxPooling2D", {"keepdims": True,
     "data_format": "channels_first"}, (N, 3, 4, 5), None, [(N, 3, 1, 1)]),
    ("gmp1d_unknown_steps", "GlobalMaxPooling1D", {}, (N, N, 7), None, [(N, 7)]),
    ("gap1d_keepdims", "GlobalAveragePooling1D", {"keepdims": True}, (N, 9, 7), None,
     [(N, 1, 7)]),
    # reshaping
    ("flatten", "Flatten", {}, (N, 3, 4), None, [(N, 12)]),
    ("flatten_unknown", "Flatten", {}, (N, N, 3), None, [(N, N)]),
    ("flatten_rank1", "Flatten", {}, (N,), None, [(N, 1)]),
    ("reshape_infer", "Reshape", {"target_shape": [-1, 2]}, (N, 2, 3), None, [(N, 3, 2)]),
    ("reshape_unknown", "Reshape", {"target_shape": [-1, 3]}, (N, N, 3), None, [(N, N, 3)]),
    ("reshape_exact", "Reshape", {"target_shape": [4, 5]}, (N, 20), None, [(N, 4, 5)]),
    ("permute", "Permute", {"dims": [2, 1]}, (N, 3, 4), None, [(N, 4, 3)]),
    ("permute3", "Permute", {"dims": [3, 1, 2]}, (N, 2, 3, 4), None, [(N, 4, 2, 3)]),
    ("repeat_vector", "RepeatVector", {"n": 3}, (N, 5), None, [(N, 3, 5)]),
    ("zeropad1d", "ZeroPadding1D", {"padding": 2}, (N, 5, 3), None, [(N, 9, 3)]),
    ("zeropad1d_pair", "ZeroPadding1D", {"padding": [1, 3]}, (N, 5, 3), None, [(N, 9, 3)]),
    ("zeropad1d_cf", "ZeroPadding1D", {"padding": 2, "data_format": "channels_first"},
     (N, 3, 5), None, [(N, 3, 9)]),
    ("zeropad2d_pairs", "ZeroPadding2D", {"padding": [[1, 2], [3, 4]]}, (N, 5, 5, 1), None,
     [(N, 8, 12, 1)]),
    ("zeropad2d_symmetric", "ZeroPadding2D", {"padding": [1, 2]}, (N, 5, 5, 1), None,
     [(N, 7, 9, 1)]),
    ("zeropad2d_default", "ZeroPadding2D", {}, (N, 5, N, 1), None, [(N, 7, N, 1)]),
    ("crop1d_default", "Cropping1D", {}, (N, 6, 2), None, [(N, 4, 2)]),
    ("crop1d_pair", "Cropping1D", {"cropping": [1, 2]}, (N, 6, 2), None, [(N, 3, 2)]),
    ("crop2d", "Cropping2D", {"cropping": 1}, (N, 5, 6, 1), None, [(N, 3, 4, 1)]),
    ("crop2d_pairs", "Cropping2D", {"cropping": [[1, 0], [0, 2]]}, (N, 5, 6, 1), None,
     [(N, 4, 4, 1)]),
    ("upsample1d", "UpSampling1D", {"size": 3}, (N, 5, 2), None, [(N, 15, 2)]),
    ("upsample1d_unknown", "UpSampling1D", {}, (N, N, 2), None, [(N, N, 2)]),
    ("upsample2d", "UpSampling2D", {"size": [2, 3]}, (N, 5, 4, 1), None, [(N, 10, 12, 1)]),
    ("upsample2d_cf", "UpSampling2D", {"data_format": "channels_first"}, (N, 1, 5, 4), None,
     [(N, 1, 10, 8)]),
    # embedding adds the output_dim axis
    ("embedding", "Embedding", {"input_dim": 10, "output_dim": 4}, (N, N), None, [(N, N, 4)]),
    ("embedding_rank3", "Embedding", {"input_dim": 10, "output_dim": 4}, (N, 3, 2), None,
     [(N, 3, 2, 4)]),
    # recurrent layers
    ("lstm", "LSTM", {"units": 3}, (N, 5, 2), None, [(N, 3)]),
    ("lstm_sequences", "LSTM", {"units": 3, "return_sequences": True}, (N, N, 2), None,
     [(N, N, 3)]),
    ("lstm_state", "LSTM", {"units": 3, "return_state": True}, (N, 5, 2), None,
     [(N, 3), (N, 3), (N, 3)]),
    ("gru_state_sequences", "GRU", {"units": 3, "return_state": True,
     "return_sequences": True}, (N, 5, 2), None, [(N, 5, 3), (N, 3)]),
    ("simple_rnn_stateful", "SimpleRNN", {"units": 2, "stateful": True}, (4, 5, 2), None,
     [(4, 2)]),
    ("lstm_mapping", "LSTM", {"units": 3}, {"sequences": (N, 5, 2),
     "initial_state": [(N, 3), (N, 3)]}, None, [(N, 3)]),
    ("bidirectional", "Bidirectional", {"layer": {"type": "LSTM", "units": 3}}, (N, 5, 2), None,
     [(N, 6)]),
    ("bidirectional_sum", "Bidirectional", {"layer": {"type": "SimpleRNN", "units": 3},
     "merge_mode": "sum"}, (N, 5, 2), None, [(N, 3)]),
    ("bidirectional_null_state", "Bidirectional", {"layer": {"type": "LSTM", "units": 3,
     "return_state": True}, "merge_mode": None}, (N, 5, 2), None, [(N, 3)] * 6),
    ("bidirectional_concat_state", "Bidirectional", {"layer": {"type": "GRU", "units": 3,
     "return_state": True, "return_sequences": True}}, (N, 5, 2), None,
     [(N, 5, 6), (N, 3), (N, 3)]),
    ("time_distributed_dense", "TimeDistributed", {"layer": {"type": "Dense", "units": 4}},
     (N, 5, 3), None, [(N, 5, 4)]),
    ("time_distributed_conv", "TimeDistributed", {"layer": {"type": "Conv2D", "filters": 3,
     "kernel_size": 3}}, (N, 5, 8, 8, 2), None, [(N, 5, 6, 6, 3)]),
    # attention
    ("mha", "MultiHeadAttention", {"num_heads": 2, "key_dim": 4},
     {"query": (N, 3, 8), "value": (N, 5, 6)}, None, [(N, 3, 8)]),
    ("mha_positional_key", "MultiHeadAttention", {"num_heads": 2, "key_dim": 4},
     [(N, 3, 8), (N, 5, 6), (N, 5, 2)], None, [(N, 3, 8)]),
    ("mha_output_shape", "MultiHeadAttention", {"num_heads": 2, "key_dim": 4,
     "output_shape": 7}, {"query": (N, 3, 8), "value": (N, 5, 6)}, None, [(N, 3, 7)]),
    ("mha_output_shape_list", "MultiHeadAttention", {"num_heads": 2, "key_dim": 4,
     "output_shape": [7, 2]}, {"query": (N, 3, 8), "value": (N, 5, 6)}, None,
     [(N, 3, 7, 2)]),
    ("mha_scores", "MultiHeadAttention", {"num_heads": 2, "key_dim": 4},
     {"query": (N, 3, 8), "value": (N, 5, 6)}, {"return_attention_scores": True},
     [(N, 3, 8), (N, 2, 3, 5)]),
    # element-wise merges: Keras' broadcasting (1 broadcasts, None matches anything)
    ("add", "Add", {}, [(N, 64), (N, 64)], None, [(N, 64)]),
    ("add_broadcast_1", "Add", {}, [(N, 1), (N, 64)], None, [(N, 64)]),
    ("add_unknown_size", "Add", {}, [(N, N), (N, 64)], None, [(N, N)]),
    ("add_rank_broadcast", "Add", {}, [(N, 64), (N, 3, 64)], None, [(N, 3, 64)]),
    ("add_batch", "Add", {}, [(2, 4), (N, 4)], None, [(2, 4)]),
    ("add_three", "Add", {}, [(N, 4), (N, 4), (N, 1)], None, [(N, 4)]),
    ("subtract", "Subtract", {}, [(N, 3, 4), (N, 3, 4)], None, [(N, 3, 4)]),
    ("multiply", "Multiply", {}, [(N, 1, 4), (N, 3, 1)], None, [(N, 3, 4)]),
    ("average", "Average", {}, [(N, 4)], None, [(N, 4)]),
    ("maximum", "Maximum", {}, [(N, 4), (N, 4)], None, [(N, 4)]),
    ("minimum", "Minimum", {}, [(N, 4), (N, 4)], None, [(N, 4)]),
    ("concatenate", "Concatenate", {}, [(N, 4), (N, 8)], None, [(N, 12)]),
    ("concatenate_first_unknown", "Concatenate", {}, [(N, N, 4), (N, 5, 3)], None,
     [(N, N, 7)]),
    ("concatenate_axis1", "Concatenate", {"axis": 1}, [(N, 2, 4), (N, 3, 4)], None,
     [(N, 5, 4)]),
    ("concatenate_unknown_axis", "Concatenate", {}, [(N, 4), (N, N)], None, [(N, N)]),
    ("dot", "Dot", {"axes": 1}, [(N, 5), (N, 5)], None, [(N, 1)]),
    ("dot_3d", "Dot", {"axes": [2, 2]}, [(N, 3, 5), (N, 4, 5)], None, [(N, 3, 4)]),
    ("dot_negative", "Dot", {"axes": -1}, [(N, 3, 5), (N, 4, 5)], None, [(N, 3, 4)]),
    ("dot_ranks", "Dot", {"axes": [1, 2]}, [(N, 5), (N, 3, 5)], None, [(N, 3)]),
    # identities
    *[(f"identity_{t}", t, args, (N, 3, 4), None, [(N, 3, 4)]) for t, args in (
        ("Dropout", {"rate": 0.5, "noise_shape": [N, 1, 4]}),
        ("Activation", {"activation": "relu"}), ("ReLU", {}), ("LeakyReLU", {}), ("ELU", {}),
        ("Softmax", {"axis": 1}),
        ("Rescaling", {"scale": [1.0, 2.0, 3.0, 4.0]}), ("BatchNormalization", {}),
        ("LayerNormalization", {"axis": [1, 2]}), ("PReLU", {}),
        ("BatchNormalization", {"axis": 1}),
    )],
    ("prelu_shared", "PReLU", {"shared_axes": [1]}, (N, N, 3), None, [(N, N, 3)]),
    ("resizing", "Resizing", {"height": 4, "width": 5}, (N, 8, 8, 3), None, [(N, 4, 5, 3)]),
    ("resizing_cf", "Resizing", {"height": 4, "width": 5, "data_format": "channels_first"},
     (N, 3, 8, 8), None, [(N, 3, 4, 5)]),
]  # fmt: skip

# (id, layer type, args, inputs, call, code): problems Keras refuses too.
ERRORS: list[tuple[str, str, dict[str, Any], Any, dict[str, Any] | None, str]] = [
    ("dense_unknown_last", "Dense", {"units": 3}, (N, N), None, "KS403"),
    ("dense_unknown_last_rank3", "Dense", {"units": 3}, (N, N, N), None, "KS403"),
    ("dense_rank1", "Dense", {"units": 3}, (N,), None, "KS402"),
    ("conv2d_rank2", "Conv2D", {"filters": 3, "kernel_size": 3}, (N, 10), None, "KS402"),
    ("conv2d_rank5", "Conv2D", {"filters": 3, "kernel_size": 3}, (N, 8, 8, 8, 2), None,
     "KS402"),
    ("conv1d_rank4", "Conv1D", {"filters": 3, "kernel_size": 3}, (N, 8, 8, 2), None, "KS402"),
    ("conv2d_unknown_channels", "Conv2D", {"filters": 3, "kernel_size": 3}, (N, 8, 8, N), None,
     "KS403"),
    ("conv2d_kernel_too_large", "Conv2D", {"filters": 3, "kernel_size": 5}, (N, 3, 3, 1), None,
     "KS404"),
    ("conv2d_dilation_too_large", "Conv2D", {"filters": 3, "kernel_size": 3,
     "dilation_rate": 2}, (N, 4, 9, 1), None, "KS404"),
    ("conv1d_strided_too_small", "Conv1D", {"filters": 3, "kernel_size": 4, "strides": 3},
     (N, 3, 1), None, "KS404"),
    ("conv2d_groups", "Conv2D", {"filters": 4, "kernel_size": 3, "groups": 2}, (N, 8, 8, 3),
     None, "KS408"),
    ("depthwise_unknown_channels", "DepthwiseConv2D", {"kernel_size": 3}, (N, 8, 8, N), None,
     "KS403"),
    ("separable_unknown_channels", "SeparableConv2D", {"filters": 3, "kernel_size": 3},
     (N, 8, 8, N), None, "KS403"),
    ("conv2d_transpose_rank3", "Conv2DTranspose", {"filters": 4, "kernel_size": 3}, (N, 5, 3),
     None, "KS402"),
    ("maxpool1d_too_small", "MaxPooling1D", {"pool_size": 3}, (N, 2, 2), None, "KS404"),
    ("avgpool2d_rank3", "AveragePooling2D", {"pool_size": 2}, (N, 4, 4), None, "KS402"),
    ("gap1d_rank4", "GlobalAveragePooling1D", {}, (N, 3, 4, 5), None, "KS402"),
    ("lstm_rank2", "LSTM", {"units": 3}, (N, 5), None, "KS402"),
    ("lstm_rank4", "LSTM", {"units": 3}, (N, 5, 4, 2), None, "KS402"),
    ("lstm_unknown_features", "LSTM", {"units": 3}, (N, 5, N), None, "KS403"),
    ("lstm_stateful_unknown_batch", "LSTM", {"units": 3, "stateful": True}, (N, 5, 2), None,
     "KS403"),
    ("bidirectional_rank2", "Bidirectional", {"layer": {"type": "GRU", "units": 3}}, (N, 5),
     None, "KS402"),
    ("batchnorm_unknown", "BatchNormalization", {}, (N, N), None, "KS403"),
    ("batchnorm_axis", "BatchNormalization", {"axis": 3}, (N, 4), None, "KS406"),
    ("layernorm_unknown", "LayerNormalization", {}, (N, N), None, "KS403"),
    ("layernorm_axis", "LayerNormalization", {"axis": [1, 5]}, (N, 4, 4), None, "KS406"),
    ("prelu_unknown", "PReLU", {}, (N, N, 3), None, "KS403"),
    ("prelu_shared_axis", "PReLU", {"shared_axes": [3]}, (N, 4, 5), None, "KS406"),
    ("add_mismatch", "Add", {}, [(N, 64), (N, 32)], None, "KS401"),
    ("add_rank_mismatch", "Add", {}, [(N, 64), (N, 64, 3)], None, "KS401"),
    ("add_batch_mismatch", "Add", {}, [(2, 4), (3, 4)], None, "KS401"),
    ("maximum_third", "Maximum", {}, [(N, 4), (N, 4), (N, 5)], None, "KS401"),
    ("concatenate_rank", "Concatenate", {}, [(N, 4), (N, 5, 3)], None, "KS405"),
    ("concatenate_axis_range", "Concatenate", {"axis": 3}, [(N, 4), (N, 5)], None, "KS406"),
    ("concatenate_axis1", "Concatenate", {"axis": 1}, [(N, 2, 4), (N, 3, 5)], None, "KS405"),
    ("concatenate_batch", "Concatenate", {}, [(2, 4), (3, 4)], None, "KS405"),
    ("dot_unknown_vs_known", "Dot", {"axes": 1}, [(N, N), (N, 5)], None, "KS405"),
    ("dot_mismatch", "Dot", {"axes": [1, 1]}, [(N, 6), (N, 4)], None, "KS405"),
    ("dot_axis_range", "Dot", {"axes": 3}, [(N, 4), (N, 4)], None, "KS406"),
    ("mha_key_value", "MultiHeadAttention", {"num_heads": 2, "key_dim": 4},
     {"query": (N, 3, 8), "value": (N, 5, 6), "key": (N, 4, 6)}, None, "KS401"),
    ("mha_key_unknown", "MultiHeadAttention", {"num_heads": 2, "key_dim": 4},
     {"query": (N, 3, 8), "value": (N, 5, 6), "key": (N, N, 6)}, None, "KS401"),
    ("mha_query_unknown_last", "MultiHeadAttention", {"num_heads": 2, "key_dim": 4},
     {"query": (N, 3, N), "value": (N, 5, 6)}, None, "KS403"),
    ("mha_value_unknown_last", "MultiHeadAttention", {"num_heads": 2, "key_dim": 4},
     {"query": (N, 3, 8), "value": (N, 5, N)}, None, "KS403"),
    ("reshape_size", "Reshape", {"target_shape": [5]}, (N, 2, 3), None, "KS407"),
    ("reshape_not_multiple", "Reshape", {"target_shape": [-1, 4]}, (N, 2, 3), None, "KS407"),
    ("permute_rank", "Permute", {"dims": [2, 1]}, (N, 3, 4, 5), None, "KS402"),
    ("repeat_vector_rank", "RepeatVector", {"n": 3}, (N, 3, 4), None, "KS402"),
    ("crop1d_too_much", "Cropping1D", {"cropping": 3}, (N, 6, 2), None, "KS404"),
    ("crop2d_too_much", "Cropping2D", {"cropping": 3}, (N, 6, 6, 1), None, "KS404"),
    ("upsample2d_rank3", "UpSampling2D", {}, (N, 5, 4), None, "KS402"),
    ("zeropad1d_rank2", "ZeroPadding1D", {}, (N, 5), None, "KS402"),
    ("time_distributed_rank2", "TimeDistributed", {"layer": {"type": "Dense", "units": 3}},
     (N, 5), None, "KS402"),
    ("time_distributed_inner", "TimeDistributed", {"layer": {"type": "Dense", "units": 3}},
     (N, 5, N), None, "KS403"),
]  # fmt: skip

# (id, layer type, args, inputs, call): nothing is known for sure, and nothing is reported.
UNKNOWN: list[tuple[str, str, dict[str, Any], Any, dict[str, Any] | None]] = [
    ("custom_layer", "my_layers.Gated", {"units": 3}, (N, 4), None),
    ("unknown_input", "Dense", {"units": 3}, None, None),
    ("merge_with_unknown_input", "Add", {}, [(N, 3), None], None),
    ("resizing_rank3", "Resizing", {"height": 4, "width": 5}, (N, 8, 8), None),
    ("dot_batch_axis", "Dot", {"axes": 0}, [(N, 5), (N, 5)], None),
    ("bidirectional_not_rnn", "Bidirectional", {"layer": {"type": "Dense", "units": 3}},
     (N, 5, 2), None),
    ("conv2d_causal", "Conv2D", {"filters": 3, "kernel_size": 3, "padding": "causal"},
     (N, 8, 8, 1), None),
]  # fmt: skip


@pytest.mark.parametrize(("layer", "args", "inputs", "call", "expected"),
                         [pytest.param(*c[1:], id=c[0]) for c in RULES])  # fmt: skip
def test_rule(layer: str, args: dict[str, Any], inputs: Any, call: Any, expected: Any) -> None:
    assert apply_layer(layer, args, inputs, call) == expected


@pytest.mark.parametrize(("layer", "args", "inputs", "call", "code"),
                         [pytest.param(*c[1:], id=c[0]) for c in ERRORS])  # fmt: skip
def test_rule_error(layer: str, args: dict[str, Any], inputs: Any, call: Any, code: str) -> None:
    with pytest.raises(ShapeError) as info:
        apply_layer(layer, args, inputs, call)
    assert info.value.code == code
    assert info.value.code in SHAPE_CODES
    assert info.value.hint, "every problem says how to fix it"


@pytest.mark.parametrize(("layer", "args", "inputs", "call"),
                         [pytest.param(*c[1:], id=c[0]) for c in UNKNOWN])  # fmt: skip
def test_rule_unknown(layer: str, args: dict[str, Any], inputs: Any, call: Any) -> None:
    assert apply_layer(layer, args, inputs, call) is None


def test_attention_scores_unknown_for_other_axes() -> None:
    args = {"num_heads": 2, "key_dim": 4, "attention_axes": [1]}
    inputs = {"query": (N, 3, 8), "value": (N, 5, 6)}
    call = {"return_attention_scores": True}
    assert apply_layer("MultiHeadAttention", args, inputs, call) == [(N, 3, 8), None]


def test_messages() -> None:
    with pytest.raises(ShapeError, match=re.escape("Add: (None, 64) and (None, 32)")):
        apply_layer("Add", {}, [(N, 64), (N, 32)])
    with pytest.raises(ShapeError) as info:
        apply_layer("Conv2D", {"filters": 2, "kernel_size": 3}, (N, 10))
    assert info.value.message == (
        "Conv2D needs a rank-4 input (batch, height, width, channels); got (None, 10)"
    )
    with pytest.raises(ShapeError, match=re.escape("got (None, None)")):
        apply_layer("Dense", {"units": 2}, (N, N))
    with pytest.raises(ShapeError, match=re.escape("kernel_size 5 with padding valid: 3 -> -1")):
        apply_layer("Conv2D", {"filters": 2, "kernel_size": 5}, (N, 3, 3, 1))
    with pytest.raises(ShapeError) as info:
        apply_layer("Add", {}, [(N, 64), (N, 32)], labels=["a", "b"])
    assert "give 'b' a last axis of 64" in str(info.value.hint)


def test_format_shape() -> None:
    assert format_shape((None, 28, 28)) == "(None, 28, 28)"
    assert format_shape((None,)) == "(None,)"
    assert format_shape((4, 3)) == "(4, 3)"
    assert format_shape(None) == "unknown"


def test_codes_are_in_the_ks4xx_range() -> None:
    assert all(re.fullmatch(r"KS4\d\d", c) for c in SHAPE_CODES)
    assert all(t and t[0].islower() for t in SHAPE_CODES.values())


def test_no_tensorflow_import() -> None:
    for module in [walking.__file__, *Path(walking.__file__).parent.parent.glob("layers/*.py")]:
        source = Path(module).read_text(encoding="utf-8")
        assert not re.search(r"^\s*(import|from)\s+(tensorflow|keras|numpy)\b", source, re.M)


def test_rules_never_crash() -> None:
    """Whatever the arguments and shapes (even ones the schema rejects), a rule gives shapes,
    None, or a ShapeError: `kspec check` never crashes in shape inference."""
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    from kspec.layers import LAYERS

    dims = st.lists(st.one_of(st.none(), st.integers(0, 12)), max_size=5)
    shape = dims.map(lambda d: (None, *d))
    weird = st.one_of(
        st.none(), st.booleans(), st.integers(-3, 12), st.floats(allow_nan=False),
        st.sampled_from(["valid", "same", "causal", "channels_first", "concat", "x"]),
        st.lists(st.one_of(st.integers(-3, 6), st.none(), st.lists(st.integers(-1, 3))),
                 max_size=4),
    )  # fmt: skip

    def args_for(t: str) -> Any:
        keys = sorted(LAYERS[t].args)
        return st.dictionaries(st.sampled_from(keys), weird, max_size=5) if keys else st.just({})

    @st.composite
    def cases(draw: Any) -> tuple[str, dict[str, Any], Any, dict[str, Any]]:
        t = draw(st.sampled_from(sorted(LAYERS)))
        args = draw(args_for(t))
        if "layer" in LAYERS[t].args and draw(st.booleans()):
            inner = draw(st.sampled_from(sorted(LAYERS)))
            args["layer"] = {"type": inner, **draw(args_for(inner))}
        inputs = draw(
            st.one_of(
                shape,
                st.lists(shape, min_size=1, max_size=3),
                st.dictionaries(st.sampled_from(["query", "value", "key", "sequences"]), shape),
            )
        )
        return t, args, inputs, {"return_attention_scores": draw(weird)}

    @hypothesis.settings(max_examples=300, deadline=None, database=None)
    @hypothesis.given(cases())
    def check(case: tuple[str, dict[str, Any], Any, dict[str, Any]]) -> None:
        try:
            out = apply_layer(*case)
        except ShapeError as err:
            assert err.code in SHAPE_CODES
            return
        assert out is None or all(s is None or isinstance(s, tuple) for s in out)

    check()


# -- 2. examples and good specs -----------------------------------------------------------

# Output shapes of the bundled specs, in the model's flattened output order (mapping outputs
# by sorted key): department (None, 4) before priority (None, 1).
EXPECTED_OUTPUTS: dict[str, list[Any]] = {
    "mnist_mlp": [(N, 10)],
    "mnist_mlp_plain": [(N, 10)],
    "mobilenet_v3_block": [(N, 10)],
    "text_attention": [(N, 4)],
    "residual_cnn": [(N, 10)],
    "multi_io": [(N, 4), (N, 1)],
    "siamese": [(N, 1)],
    "seq2seq": [(N, N, 8)],
    "blocks": [(N, 1)],
    "hostile_names": [(N, 2), (N, 2)],
    "deep_residual": [(N, 1)],
    "cnn_base": [(N, 10)],
    "cnn_tiny": [(N, 10)],
    "cnn_wide": [(N, 10)],
    "mlp_scales": [(N, 10)],
}


def _instance_names(node: Any, env: dict[str, Any]) -> list[str]:
    repeat = walking.value(node.repeat, env) if node.repeat is not None else None
    return [node.name] if repeat is None else [f"{node.name}_{i}" for i in range(1, repeat + 1)]


def _expected_paths(spec: Spec) -> Iterator[tuple[str, ...]]:
    """Every node path the walk must give shapes for (nested blocks included), iteratively."""
    todo: list[tuple[Graph, dict[str, Any], tuple[str, ...]]] = [(spec.graph, spec.params, ())]
    while todo:
        graph, env, prefix = todo.pop()
        for node in graph.nodes:
            yield (*prefix, node.name)
            if not isinstance(node, BlockNode):
                continue
            block = spec.block(node.block)
            inner = dict(block.graph.params)
            inner.update({k: walking.value(v, env) for k, v in node.args})
            for inst in _instance_names(node, env):
                yield (*prefix, inst)
                todo.append((block.graph, inner, (*prefix, inst)))


@pytest.mark.parametrize("path", EXAMPLES + GOOD, ids=[p.stem for p in EXAMPLES + GOOD])
def test_every_node_gets_shapes(path: Path) -> None:
    spec, rep = _analyzed(path)
    table = walk(spec, rep).shapes
    assert rep.diagnostics == []
    for p in _expected_paths(spec):
        assert p in table, p
    if spec.imports:  # a custom layer: its outputs and what follows are unknown
        return
    unknown = {p: v for p, v in table.items() if any(s is None for s in v)}
    assert unknown == {}


def test_every_spec_has_expected_outputs() -> None:
    custom = {p.stem for p in EXAMPLES + GOOD if "imports:" in p.read_text(encoding="utf-8")}
    assert {p.stem for p in EXAMPLES + GOOD} - custom == set(EXPECTED_OUTPUTS)


@pytest.mark.parametrize("stem", sorted(EXPECTED_OUTPUTS))
def test_model_outputs(stem: str) -> None:
    path = next(p for p in EXAMPLES + GOOD if p.stem == stem)
    spec, _ = _analyzed(path)
    assert _outputs(spec, walk(spec).shapes) == EXPECTED_OUTPUTS[stem]


def test_named_shapes() -> None:
    spec, _ = _analyzed(ROOT / "examples" / "multi_io.yaml")
    table = walk(spec).shapes
    assert table[("priority",)] == [(N, 1)]
    assert table[("department",)] == [(N, 4)]
    assert table[("embed",)] == [(N, N, 64)]
    spec, _ = _analyzed(ROOT / "examples" / "residual_cnn.yaml")
    table = walk(spec).shapes
    assert table[("stage1_2", "conv1")] == [(N, 32, 32, 32)]
    assert table[("down", "shortcut")] == [(N, 16, 16, 64)]
    assert table[("stage2",)] == table[("stage2_2",)] == [(N, 16, 16, 64)]
    spec, _ = _analyzed(ROOT / "examples" / "seq2seq.yaml")
    assert walk(spec).shapes[("enc",)] == [(N, N, 32), (N, 32), (N, 32)]


def test_hostile_names_block_params() -> None:
    """Block instance params are evaluated in the outer env, over the block's defaults."""
    spec, _ = _analyzed(ROOT / "tests" / "specs" / "good" / "hostile_names.yaml")
    table = walk(spec).shapes
    assert table[("weights", "name")] == [(N, 6)]  # weights: ${layers + self} = 4 + 2
    assert table[("name", "tensors")] == [(N, 4)]  # max(layers, max) * model default 1
    assert table[("i_2", "instance")] == [(N, 9)]  # units: ${lambda + 1}


def test_param_overrides() -> None:
    doc, _ = load_file(str(ROOT / "examples" / "mnist_mlp.yaml"))
    assert doc is not None
    spec, diags = analyze(doc, {"units": 40, "num_classes": 3})
    assert spec is not None, diags
    table = walk(spec).shapes
    assert table[("hidden2",)] == [(N, 10)]
    assert _outputs(spec, table) == [(N, 3)]


def test_deep_residual_is_fast_and_iterative() -> None:
    spec, rep = _analyzed(ROOT / "tests" / "specs" / "good" / "deep_residual.yaml")
    reference()  # measured first, at the normal recursion limit
    depth = len(inspect.stack(0))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 60)  # no recursion per node, per instance or per block
    try:
        # within 10 reference workloads (tests/timing.py, bench/bounds.md)
        table = within(lambda: walk(spec, rep).shapes, 10, "shape inference of 1,500 blocks")
    finally:
        sys.setrecursionlimit(limit)
    assert table[("body_1500", "add")] == [(N, 8)]
    assert len(table) == 1 + 3 + 1500 * 4  # input, stem/body/head, 1500 x (x, dense, add, out)
    assert _outputs(spec, table) == [(N, 1)]
    assert rep.diagnostics == []


def _nested_blocks(depth: int) -> str:
    lines = ["kspec: 1", "name: nested", "inputs:", "  x: {shape: [4]}", "blocks:"]
    for i in range(depth):
        inner = (
            f"      - {{name: inner, block: b{i + 1}}}\n"
            if i + 1 < depth
            else "      - {name: inner, type: Dense, units: 3}\n"
        )
        lines.append(
            f"  b{i}:\n    inputs: [x]\n    layers:\n"
            f"      - {{name: d, type: Dense, units: 4}}\n{inner}    outputs: inner"
        )
    lines += ["layers:", "  - {name: top, block: b0, repeat: 2}", "outputs: top", ""]
    return "\n".join(lines)


def test_nested_blocks_do_not_recurse() -> None:
    spec, _ = _analyzed_text(_nested_blocks(120))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack(0)) + 60)
    try:
        table = walk(spec).shapes
    finally:
        sys.setrecursionlimit(limit)
    # the second instance of b0 is fed the first one's (None, 3): its Dense gives (None, 4)
    assert table[("top_2", "inner", *["inner"] * 118, "inner")] == [(N, 3)]
    assert _outputs(spec, table) == [(N, 3)]


def test_budget_bounds_nested_repeats() -> None:
    text = """\
kspec: 1
name: huge
inputs:
  x: {shape: [4]}
blocks:
  leaf:
    inputs: [x]
    layers:
      - {name: d, type: Dense, units: 4}
    outputs: d
  mid:
    inputs: [x]
    layers:
      - {name: many, block: leaf, repeat: 1000}
    outputs: many
layers:
  - {name: top, block: mid, repeat: 1000}
outputs: top
"""
    spec, rep = _analyzed_text(text)
    # a budget of evaluations, not of time; and cheap: within 40 reference workloads
    # (tests/timing.py, bench/bounds.md)
    table = within(lambda: walk(spec, rep).shapes, 40, "shape inference of 1,000 x 1,000 blocks")
    assert len(table) <= 3 * walking.MAX_EVALUATIONS
    assert rep.diagnostics == []


# -- 3. broken specs ---------------------------------------------------------------------

HEADER = re.compile(r"# expect(-warning)?: (KS\d{3}) at (\d+)\Z")


def expectations(path: Path) -> set[tuple[str, int]]:
    """The ``# expect: CODE at LINE`` header lines of ``path`` (as in tests/specs/bad/)."""
    out: set[tuple[str, int]] = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.startswith("#"):
            break
        if raw.startswith("# expect"):
            m = HEADER.fullmatch(raw)
            assert m and not m.group(1), f"{path.name}: malformed header line {raw!r}"
            out.add((m.group(2), int(m.group(3))))
    return out


def test_broken_corpus_is_large_enough() -> None:
    assert len(BROKEN) >= 8
    assert {c for f in BROKEN for c, _ in expectations(f)} == set(SHAPE_CODES)


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_spec(path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} must start with '# expect' lines"
    spec, rep = _analyzed(path)  # the spec is otherwise clean: shapes are the only problem
    walk(spec, rep)
    got = {(d.code, d.line) for d in rep.diagnostics}
    shown = "\n".join(f"  {d.code} {d.line}:{d.column} {d.message}" for d in rep.diagnostics)
    assert got == expected, f"{path.name}: got\n{shown}"
    keys = [(d.code, d.line, d.column) for d in rep.diagnostics]
    assert len(keys) == len(set(keys)), "one diagnostic per problem"
    for d in rep.diagnostics:
        assert d.severity == "error" and d.hint and d.node


def test_block_problem_notes_the_instance() -> None:
    spec, rep = _analyzed(ROOT / "tests" / "specs" / "shapes" / "repeat_changes_shape.yaml")
    walk(spec, rep)
    (d,) = rep.diagnostics
    assert d.pointer == "/blocks/widen/layers/1"
    assert d.node == "add"
    assert d.notes == ("in block instance stack_2 (block node 'stack' at line 17)",)


def test_without_reporter() -> None:
    spec, _ = _analyzed(ROOT / "tests" / "specs" / "shapes" / "add_mismatch.yaml")
    table = walk(spec).shapes
    assert table[("merged",)] == [None]
    assert table[("head",)] == [None]  # downstream of a problem: unknown, not reported


SHARES = {
    # a shared layer keeps what its first call fixed: Dense its last axis, Conv2D its channels
    "dense_other_rank": ("{shape: [8]}", "{shape: [5, 8]}", "{type: Dense, units: 3}", None),
    "conv_other_size": (
        "{shape: [8, 8, 3]}", "{shape: [16, 12, 3]}",
        "{type: Conv2D, filters: 2, kernel_size: 3}", None,
    ),
    "conv_other_channels": (
        "{shape: [8, 8, 3]}", "{shape: [8, 8, 4]}",
        "{type: Conv2D, filters: 2, kernel_size: 3}", "KS409",
    ),
    "conv_channels_first": (
        "{shape: [3, 8, 8]}", "{shape: [3, 6, 6]}",
        "{type: Conv2D, filters: 2, kernel_size: 3, data_format: channels_first}", None,
    ),
    "batchnorm_axis_size": (
        "{shape: [4, 8]}", "{shape: [4, 6]}", "{type: BatchNormalization}", "KS409",
    ),
    "prelu_same": ("{shape: [4, 8]}", "{shape: [4, 8]}", "{type: PReLU}", None),
    # Keras checks only the rank of an unshared PReLU's later calls, all axes but the shared
    # ones with shared_axes (keras/src/layers/activations/prelu.py build)
    "prelu_other_rank": ("{shape: [4, 8]}", "{shape: [8]}", "{type: PReLU}", "KS409"),
    "prelu_shared_axis": (
        "{shape: [4, 8]}", "{shape: [5, 8]}", "{type: PReLU, shared_axes: [1]}", None,
    ),
    "prelu_shared_other": (
        "{shape: [4, 8]}", "{shape: [4, 6]}", "{type: PReLU, shared_axes: [1]}", "KS409",
    ),
}  # fmt: skip


def _share_spec(a: str, b: str, layer: str) -> str:
    return (
        f"kspec: 1\nname: share\ninputs:\n  a: {a}\n  b: {b}\nlayers:\n"
        f"  - {{name: first, inputs: a, {layer[1:]}\n"
        "  - {name: second, share: first, inputs: b}\n"
        "outputs: [first, second]\n"
    )


@pytest.mark.parametrize("case", sorted(SHARES))
def test_shared_layers(case: str) -> None:
    a, b, layer, code = SHARES[case]
    spec, rep = _analyzed_text(_share_spec(a, b, layer))
    table = walk(spec, rep).shapes
    assert [(d.code, d.line) for d in rep.diagnostics] == ([(code, 8)] if code else [])
    assert (table[("second",)] == [None]) == bool(code)


# -- 4. against Keras -----------------------------------------------------------------------


def _keras() -> Any:
    pytest.importorskip("tensorflow")
    import keras

    return keras


def _keras_layer(keras: Any, layer: str, args: dict[str, Any]) -> Any:
    kwargs = {
        k: _keras_layer(keras, v["type"], {a: b for a, b in v.items() if a != "type"})
        if isinstance(v, dict) and "type" in v
        else tuple(map(tuple, v))
        if k in ("padding", "cropping") and isinstance(v, list) and isinstance(v[0], list)
        else v
        for k, v in args.items()
    }
    return getattr(keras.layers, layer)(**kwargs)


def _keras_call(keras: Any, layer: str, args: dict[str, Any], inputs: Any, call: Any) -> Any:
    """Keras' static output shapes for the call (a list), or raises what Keras raises."""

    def tensor(shape: Any) -> Any:
        return keras.Input(batch_shape=shape)

    obj = _keras_layer(keras, layer, args)
    kwargs = dict(call or {})
    if isinstance(inputs, dict):
        main = next(iter(inputs))
        for key, value in inputs.items():
            kwargs[key] = [tensor(s) for s in value] if isinstance(value, list) else tensor(value)
        out = obj(kwargs.pop(main), **kwargs) if main != "query" else obj(**kwargs)
    elif isinstance(inputs, list) and layer == "MultiHeadAttention":
        out = obj(*[tensor(s) for s in inputs], **kwargs)
    elif isinstance(inputs, list):
        out = obj([tensor(s) for s in inputs], **kwargs)
    else:
        out = obj(tensor(inputs), **kwargs)
    outs = list(out) if isinstance(out, list | tuple) else [out]
    return [tuple(t.shape) for t in outs]


# Where Keras' static shape is not the tensor's: the attention scores (Keras says (batch,
# heads, Tq, Tq) whatever the value's length, keras/src/layers/attention/
# multi_head_attention.py compute_output_spec); kspec gives the real (batch, heads, Tq, Tv).
KERAS_DIFFERS = {"mha_scores": [(N, 3, 8), (N, 2, 3, 3)]}


@pytest.mark.tf
@pytest.mark.parametrize(("name", "layer", "args", "inputs", "call", "expected"),
                         [pytest.param(*c, id=c[0]) for c in RULES])  # fmt: skip
def test_rule_matches_keras(
    name: str, layer: str, args: dict[str, Any], inputs: Any, call: Any, expected: Any
) -> None:
    keras = _keras()
    assert _keras_call(keras, layer, args, inputs, call) == KERAS_DIFFERS.get(name, expected)


@pytest.mark.tf
@pytest.mark.parametrize(("layer", "args", "inputs", "call", "code"),
                         [pytest.param(*c[1:], id=c[0]) for c in ERRORS])  # fmt: skip
def test_keras_refuses_too(
    layer: str, args: dict[str, Any], inputs: Any, call: Any, code: str
) -> None:
    keras = _keras()
    with pytest.raises((ValueError, TypeError, IndexError)):
        _keras_call(keras, layer, args, inputs, call)


def _compare_graph(spec: Spec, model: Any, table: dict[tuple[str, ...], Any]) -> int:
    """Compare every node's shapes (block instances and their nodes included) with the built
    functional model's; returns how many shapes were compared."""
    compared = 0
    todo: list[tuple[Graph, Any, tuple[str, ...], dict[str, Any]]] = [
        (spec.graph, model, (), spec.params)
    ]
    while todo:
        graph, model, prefix, env = todo.pop()
        calls: dict[str, int] = {}  # layer -> calls so far (a shared layer is called again)
        tainted = _tainted(spec, graph)
        for node in graph.nodes:
            mine = table[(*prefix, node.name)]
            if node.name in tainted:
                continue
            if isinstance(node, BlockNode):
                block = spec.block(node.block)
                inner = dict(block.graph.params)
                inner.update({k: walking.value(v, env) for k, v in node.args})
                for inst in _instance_names(node, env):
                    sub = model.get_layer(inst)
                    got = [tuple(t.shape) for t in sub._inbound_nodes[0].output_tensors]
                    assert table[(*prefix, inst)] == got, (*prefix, inst)
                    todo.append((block.graph, sub, (*prefix, inst), inner))
                    compared += 1
                continue
            if isinstance(node, OpNode):  # no layer to find by name (test_ops compares them)
                continue
            owner = node.target if isinstance(node, ShareNode) else node.name
            k = calls.get(owner, 0)
            calls[owner] = k + 1
            layer = model.get_layer(owner)
            got = [tuple(t.shape) for t in layer._inbound_nodes[k].output_tensors]
            for i, shape in enumerate(mine):
                if shape is not None:
                    assert shape == got[i], ((*prefix, node.name), i, mine, got)
                    compared += 1
    return compared


BUILDABLE = [p for p in EXAMPLES + GOOD if "imports:" not in p.read_text(encoding="utf-8")]


@pytest.mark.tf
@pytest.mark.parametrize(
    "path",
    [pytest.param(p, marks=[pytest.mark.slow] if p.stem == "deep_residual" else [])
     for p in BUILDABLE],
    ids=[p.stem for p in BUILDABLE],
)  # fmt: skip
def test_every_node_matches_keras(path: Path) -> None:
    keras = _keras()
    import kspec

    spec, _ = _analyzed(path)
    table = walk(spec).shapes
    keras.backend.clear_session()
    model = kspec.build_model(path, "functional")
    assert _compare_graph(spec, model, table) > 0
    from kspec.verify import output_shapes

    assert _outputs(spec, table) == output_shapes(spec, model)


@pytest.mark.tf
@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_keras_rejects_broken_spec(path: Path) -> None:
    """No false errors: every broken spec of the corpus fails to build in Keras too."""
    _keras()
    import kspec

    with pytest.raises(kspec.KspecError) as info:
        kspec.build_model(_analyzed(path)[0], "functional")  # past kspec's own shape check
    assert [d.code for d in info.value.diagnostics] == ["KS902"]  # Keras rejected the model
    with pytest.raises(kspec.KspecError) as info:
        kspec.build_model(path, "functional")
    assert {d.code for d in info.value.diagnostics} == {c for c, _ in expectations(path)}


def _scores_blocks(spec: Spec) -> set[str]:
    """Blocks that return attention scores somewhere inside (directly or through blocks)."""

    def scores(graph: Graph) -> bool:
        return any(dict(n.call).get("return_attention_scores") is not None for n in graph.nodes)

    out = {b.name for b in spec.blocks if scores(b.graph)}
    changed = True
    while changed:
        changed = False
        for b in spec.blocks:
            if b.name not in out and any(
                isinstance(n, BlockNode) and n.block in out for n in b.graph.nodes
            ):
                out.add(b.name)
                changed = True
    return out


@pytest.mark.tf
@pytest.mark.parametrize("case", sorted(SHARES))
def test_shared_layers_match_keras(case: str) -> None:
    keras = _keras()
    import kspec

    a, b, layer, code = SHARES[case]
    text = _share_spec(a, b, layer)
    spec, _ = _analyzed_text(text)
    keras.backend.clear_session()
    if code:
        with pytest.raises(kspec.KspecError):
            kspec.build_model(_unchecked(text), "functional")
        return
    model = kspec.build_model(_unchecked(text), "functional")
    assert _compare_graph(spec, model, walk(spec).shapes) == 2


def _tainted(spec: Spec, graph: Graph) -> set[str]:
    """Nodes of ``graph`` whose Keras static shape may differ from the tensor's (attention
    scores, see KERAS_DIFFERS), and everything computed from them."""
    blocks = _scores_blocks(spec)
    out: set[str] = set()
    for n in graph.nodes:
        if (
            dict(n.call).get("return_attention_scores") is not None
            or (isinstance(n, BlockNode) and n.block in blocks)
            or any(r.node in out for r in n.inputs.all_refs())
        ):
            out.add(n.name)
    return out


def _property_settings() -> Any:
    from hypothesis import HealthCheck, settings

    conftest = Path(__file__).parent / "conftest.py"
    if conftest.exists() and "register_profile" in conftest.read_text(encoding="utf-8"):
        return settings()  # the profile tests/conftest.py loaded
    return settings(
        max_examples=50,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


try:
    from hypothesis import given

    from kspec.testing import specs
except ImportError:  # pragma: no cover - hypothesis or kspec.testing missing
    specs = None  # type: ignore[assignment]


if specs is not None:

    @pytest.mark.tf
    @_property_settings()
    @given(text=specs())
    def test_drawn_specs_match_keras(text: str) -> None:
        keras = _keras()
        import kspec
        from kspec.verify import output_shapes

        doc, _ = load_text(text, "<drawn>")
        assert doc is not None
        spec, diags = analyze(doc, shapes=False)
        assert spec is not None, diags
        rep = Reporter(doc)
        table = walk(spec, rep).shapes
        assert rep.diagnostics == [], [d.message for d in rep.diagnostics]  # no false errors
        keras.backend.clear_session()
        model = kspec.build_model(_unchecked(text), "functional")
        _compare_graph(spec, model, table)
        theirs = output_shapes(spec, model)
        mine = _outputs(spec, table)
        refs = spec.graph.output_refs()
        if spec.graph.outputs_form == "mapping":
            refs = [r for _, r in sorted(spec.graph.outputs, key=lambda kv: kv[0])]
        tainted = _tainted(spec, spec.graph)
        assert len(mine) == len(theirs)
        for ref, a, b in zip(refs, mine, theirs, strict=True):
            if a is not None and ref.node not in tainted:
                assert a == b, (str(ref), a, b)
