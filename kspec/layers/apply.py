"""Applying a layer's rules to a call: its output shapes, the weights it creates, the number
of values it returns, and whether a shared layer may be called on a tensor. Every stage asks
these (shape inference, ``summary --static``, the checker); the rules live in the records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kspec.layers.base import Call, Count, Nested, Shape, ShapeError, Shapes, Unknown, format_shape
from kspec.layers.catalog import LAYERS, canonical


def make_call(
    type_name: str,
    args: Mapping[str, Any],
    inputs: Any,
    call: Mapping[str, Any] | None = None,
    labels: tuple[str, ...] | list[str] = (),
) -> Call:
    """A :class:`Call` of a ``type_name`` layer (aliases resolved; its first call argument and
    spatial rank from its record)."""
    name = canonical(type_name)
    layer = LAYERS.get(name)
    first = layer.call_args[0] if layer is not None and layer.call_args else None
    rank = layer.rank if layer is not None else 0
    return Call(name, args, inputs, dict(call or {}), tuple(labels), first, rank)


def apply_shape(c: Call) -> Shapes:
    """The output shapes of a call made by :func:`make_call`, by its layer's rule. Raises
    :class:`Unknown` when it cannot say, :class:`ShapeError` for a definite problem."""
    layer = LAYERS.get(c.type)
    if layer is None or layer.shape is None:
        raise Unknown
    return layer.shape(c)


def apply_weights(c: Call) -> Count:
    """The (trainable, non-trainable) weights a call made by :func:`make_call` creates when it
    builds its layer (a layer with ``trainable: false`` has only non-trainable ones). Raises
    :class:`Unknown` when it cannot say (a custom layer, an unknown size)."""
    layer = LAYERS.get(c.type)
    if layer is None:
        raise Unknown  # a custom layer
    trainable, frozen = (0, 0) if layer.weights is None else layer.weights(c)
    if c.arg("trainable", True) is False:
        return 0, trainable + frozen
    return trainable, frozen


def output_shapes(
    type_name: str,
    args: Mapping[str, Any],
    inputs: Any,
    call: Mapping[str, Any] | None = None,
    labels: tuple[str, ...] | list[str] = (),
) -> Shapes | None:
    """The output shapes of a ``type_name`` layer called on ``inputs``, or None if unknown.

    ``args`` are the constructor arguments as plain values (as written in YAML; nested layers as
    ``{type: ..., ...}`` mappings). ``inputs``: a shape; a list of shapes (merge layers, or
    positional query/value/key); or a mapping call argument -> shape (``{"query": ..., "value":
    ...}``, ``{"sequences": ...}``). Raises :class:`ShapeError` for a definite problem.
    """
    try:
        return apply_shape(make_call(type_name, plain_args(type_name, args), inputs, call, labels))
    except Unknown:
        return None


def weight_count(type_name: str, args: Mapping[str, Any], inputs: Any) -> Count | None:
    """The ``(trainable, non_trainable)`` weight counts of a ``type_name`` layer built on
    ``inputs`` (plain arguments, as for :func:`output_shapes`), or None if they cannot be said."""
    try:
        return apply_weights(make_call(type_name, plain_args(type_name, args), inputs))
    except Unknown:
        return None


def plain_args(type_name: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments as written in YAML, with nested ``{type: ...}`` layers (wrappers' ``layer``,
    an RNN's ``cell``, ``cells``/``layers`` lists) as :class:`Nested`."""
    layer = LAYERS.get(canonical(type_name))
    out: dict[str, Any] = {}
    for key, value in args.items():
        marker = layer.args.get(key, {}).get("$kspec") if layer is not None else None
        if isinstance(value, tuple):
            value = list(value)
        if marker == "nested_layer" and _is_layer(value):
            value = _nested(value)
        elif marker == "nested_layers" and isinstance(value, list):
            value = [_nested(v) if _is_layer(v) else v for v in value]
        out[key] = value
    return out


def _is_layer(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("type"), str)


def _nested(value: Mapping[str, Any]) -> Nested:
    inner = {k: v for k, v in value.items() if k != "type"}
    return Nested(str(value["type"]), plain_args(str(value["type"]), inner))


def count_outputs(type_name: str, args: Mapping[str, Any], call: Mapping[str, Any]) -> int:
    """How many values a call of a ``type_name`` layer returns (``node[i]`` indexes them), from
    its arguments and its ``call:`` constants (all evaluated)."""
    layer = LAYERS.get(type_name)
    if layer is None:
        return 1
    if layer.outputs is not None:
        return layer.outputs(canonical(type_name), args, call)
    return layer.call_outputs


def check_share(first: Call, x: Shape, owner: str, first_node: str) -> None:
    """A shared layer was built by its ``first`` call: calling it on ``x`` must fit what that
    call fixed (Keras' InputSpec after build). Raises :class:`ShapeError` if it does not."""
    layer = LAYERS.get(first.type)
    if layer is None or layer.built is None:
        return
    try:
        axes, rank = layer.built(first)
        start = first.x
    except Unknown:
        return
    t = first.type
    if rank is not None and len(x) != rank:
        raise ShapeError(
            "KS409",
            f"the shared {t} layer {owner!r} was built by its first call ({first_node!r}) "
            f"for rank-{rank} inputs like {format_shape(start)}; here it gets {format_shape(x)}",
            "a shared layer keeps the weights of its first call: feed it tensors of the same "
            "shape, or use a new layer",
        )
    for ax, size in axes.items():
        if not -len(x) <= ax < len(x):
            continue
        if x[ax] is not None and x[ax] != size:
            raise ShapeError(
                "KS409",
                f"the shared {t} layer {owner!r} was built by its first call ({first_node!r}) "
                f"for inputs with {size} on axis {ax % len(start)}, like {format_shape(start)}; "
                f"here it gets {format_shape(x)}",
                "a shared layer keeps the weights of its first call: feed it tensors of the "
                "same size on that axis, or use a new layer",
            )
