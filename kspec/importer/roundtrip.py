"""Proving an import: rebuild the imported spec with both targets and compare each with the
original model (parameter count, output shapes, and outputs on the same random input after
copying the original's weights, matched by name)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kspec.importer.weights import copy_weights

TOLERANCE = 1e-4  # relative to the largest output value (deep models add up rounding)


@dataclass
class RoundTrip:
    """What :func:`compare` measured, per target (``functional``, ``subclass``)."""

    original_params: int
    params: dict[str, int] = field(default_factory=dict)
    shapes_equal: dict[str, bool] = field(default_factory=dict)
    difference: dict[str, float] = field(default_factory=dict)  # max |a - b| / max(1, max |a|)
    copied: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


FREE_SIZE = 96


def compare(original: Any, spec: Any, allow_imports: Iterable[str] = ()) -> RoundTrip:
    """Rebuild ``spec`` (a checked :class:`kspec.Spec` imported from ``original``) with both
    targets and compare each with ``original``."""
    import gc

    import numpy as np

    from kspec.api import build_model
    from kspec.verify import _flat, max_difference, output_shapes, sample_inputs

    allow = tuple(allow_imports)
    result = RoundTrip(int(original.count_params()))
    # free sizes large enough for a convolution stack's strides (5 halvings leave 3)
    x = sample_inputs(spec, free=FREE_SIZE)
    x_original = x if not isinstance(x, dict) else [x[i.name] for i in spec.graph.inputs]
    expected = _flat(original(x_original, training=False))
    scale = max([1.0, *(float(np.max(np.abs(np.asarray(e)), initial=0.0)) for e in expected)])
    shapes = [s[1:] for s in output_shapes(spec, original)]
    for target in ("functional", "subclass"):
        model = build_model(spec, target, allow_imports=allow)
        result.params[target] = int(model.count_params())
        try:
            # first: it also recomputes the tensors a Normalization layer made from its mean
            # and variance when the subclass model was first called (on symbolic inputs)
            result.copied[target] = copy_weights(original, model)
        except ValueError as exc:
            result.problems.append(f"{target}: weights do not correspond: {exc}")
            continue
        _rebuild_constant_state(model)
        got_shapes = [s[1:] for s in output_shapes(spec, model)]
        result.shapes_equal[target] = got_shapes == shapes
        result.difference[target] = max_difference(expected, model(x, training=False)) / scale
        if result.params[target] != result.original_params:
            result.problems.append(
                f"{target}: {result.params[target]:,} parameters, the original has "
                f"{result.original_params:,}"
            )
        if not result.shapes_equal[target]:
            result.problems.append(f"{target}: output shapes {got_shapes}, original {shapes}")
        if not result.difference[target] <= TOLERANCE:
            result.problems.append(
                f"{target}: outputs differ from the original by {result.difference[target]:.3g}"
            )
        del model  # the largest applications need the memory back before the next target
        gc.collect()
    return result


def _rebuild_constant_state(model: Any) -> None:
    """A Normalization layer given its mean and variance makes constant tensors in build();
    built during the subclass model's first (symbolic) call, those belong to a graph that is
    gone, and the model fails when called on data. Building such layers again, eagerly, makes
    them usable (a limitation of the subclass target, not of the import)."""
    for layer in model._flatten_layers(include_self=False):
        if getattr(layer, "input_mean", None) is not None and layer.built:
            layer.build(layer._build_input_shape)
