"""The FLOPs rules: how many multiply-adds a layer call makes, worked out from the spec.

The convention, as ``summary --static`` prints it and docs/cli.md states it:

* the figure is **MACs**: multiply-accumulates (``a * b + c``, one each), for **one example**
  (the batch axis counts as 1); 1 MAC = 2 FLOPs. The "3.8 G FLOPs" of the ResNet paper,
  ptflops' "GMac", fvcore's and thop's counts are MACs; TensorFlow's profiler (and
  keras-flops, built on it) and the "GFLOPs" YOLO (Ultralytics) prints are 2 x MACs;
* only the products that contract an axis count: Dense and EinsumDense, every convolution
  (plain, grouped, depthwise, separable, transposed), the recurrent layers (their input and
  recurrent kernels, at every time step), attention (projections, query-key scores, the
  weighted sum of values), Dot, and the ``matmul`` and ``einsum`` ops. Everything element by
  element counts 0: biases, activations, BatchNormalization and the other normalizations,
  pooling, merges such as Add, dropout, resizing, embedding lookups and the other ops. Those
  are memory-bound and a small part of the arithmetic of the models the count is for;
* a transposed convolution counts every input position times every kernel tap (the products
  it needs, as ptflops and fvcore count it).

A rule gets a :class:`~kspec.layers.base.Call` and returns an int; it raises
:class:`~kspec.layers.base.Unknown` when a size it needs is not known (a sequence of
unknown length, a custom layer), never guessing. A registry record without a rule makes no
multiply-adds. TensorFlow-free.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kspec.layers.base import Call, Shape, Unknown, nested


def size(dims: Iterable[int | None]) -> int:
    """The product of ``dims`` (1 for none); Unknown if one is not known."""
    out = 1
    for d in dims:
        if d is None:
            raise Unknown
        out *= d
    return out


def known(shape: Shape | None) -> Shape:
    """A shape a rule returned (Unknown if it could not say)."""
    if shape is None:
        raise Unknown
    return shape


def inner_macs(v: Any, inputs: Any) -> int:
    """A nested layer's multiply-adds when called on ``inputs`` (by its own rule)."""
    from kspec.layers import apply  # assembled after the family modules are imported

    n = nested(v)
    return apply_macs(apply.make_call(n.type, n.args, inputs))


def apply_macs(c: Call) -> int:
    """The multiply-adds of a layer call made by :func:`kspec.layers.make_call`, per example.
    Raises :class:`Unknown` for a custom layer, a layer kspec has no rules for, or a size
    the count needs that is not known."""
    from kspec.layers.catalog import LAYERS

    layer = LAYERS.get(c.type)
    if layer is None or (layer.macs is None and layer.shape is None):
        raise Unknown  # a custom layer, or one whose shapes kspec cannot follow
    if layer.macs is None:
        return 0
    if layer.shape is not None:
        layer.shape(c)  # a call Keras would refuse (ShapeError) has no count
    return layer.macs(c)


def apply_op_macs(c: Call) -> int:
    """The multiply-adds of an op call (``c.inputs``: each tensor parameter's shape), per
    example: axis 0 of each operand is the batch axis and counts as 1."""
    from kspec.layers.base import OPS

    op = OPS.get(c.type)
    if op is None:
        raise Unknown
    return 0 if op.macs is None else op.macs(c)


def batch_one(x: Any) -> Shape:
    """An op operand's shape with its batch axis (axis 0) as 1 (Unknown if not a shape)."""
    if not isinstance(x, tuple) or not x:
        raise Unknown
    return (1, *x[1:])
