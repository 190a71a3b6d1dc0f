"""The layer registry: one record per Keras layer class, grouped by family.

Each family module (``core``, ``conv``, ``pooling``, ``reshaping``, ``merging``, ``normalization``,
``regularization``, ``activations``, ``attention``, ``recurrent``, ``wrappers``,
``preprocessing``, ``image``) registers a :class:`~kspec.layers.base.Layer` record per class: its
argument refinements, how it is called, how many values it returns, its static shape and weight
rules, what its first call fixes, hints and the context the coverage test uses it in.
:mod:`kspec.layers.catalog` completes the records with the data generated from the installed
Keras; :mod:`kspec.layers.apply` applies their rules. Adding a layer is one record in one family
module (see docs/design.md, "How to add a layer").

TensorFlow-free by design: nothing here imports Keras.
"""

from __future__ import annotations

from kspec.layers import (  # noqa: F401  (each family module registers its records)
    activations,
    attention,
    conv,
    core,
    image,
    merging,
    normalization,
    ops_index,
    ops_math,
    ops_shape,
    pooling,
    preprocessing,
    recurrent,
    regularization,
    reshaping,
    wrappers,
)
from kspec.layers.apply import (
    apply_op,
    apply_shape,
    apply_weights,
    check_share,
    constant_shape,
    count_outputs,
    make_call,
    op_outputs,
    output_shapes,
    plain_args,
    weight_count,
)
from kspec.layers.base import (
    BAD_VALUE,
    OPS,
    Call,
    Count,
    Example,
    Layer,
    Nested,
    Op,
    Shape,
    ShapeError,
    Shapes,
    Unknown,
    format_shape,
)
from kspec.layers.catalog import ALIASES, KERAS_VERSION, LAYERS, REFUSED, canonical

__all__ = [
    "ALIASES",
    "BAD_VALUE",
    "KERAS_VERSION",
    "LAYERS",
    "OPS",
    "REFUSED",
    "Call",
    "Count",
    "Example",
    "Layer",
    "Nested",
    "Op",
    "Shape",
    "ShapeError",
    "Shapes",
    "Unknown",
    "apply_op",
    "apply_shape",
    "apply_weights",
    "canonical",
    "check_share",
    "constant_shape",
    "count_outputs",
    "format_shape",
    "make_call",
    "op_outputs",
    "output_shapes",
    "plain_args",
    "weight_count",
]
