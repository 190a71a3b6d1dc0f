"""Keras operations on tensors (``x + y``, ``x * 0.5``, ``keras.ops.transpose(x, ...)``) as op
nodes. In a Functional graph such a call is a node whose operation is a ``keras.src.ops``
``Operation`` (``keras.src.ops.numpy.Add``), not a layer. Its ``keras.ops`` function is the
class name in snake case (``Add`` -> ``add``, ``HardSilu`` -> ``hard_silu``) except for the few
in ``_NAMES``; the function's parameters are the operation's call arguments (tensors, and
constants such as the ``0.5`` of ``x * 0.5``) and its constructor arguments (``axis``, ...).
"""

from __future__ import annotations

import inspect
from typing import Any

from kspec.importer.args import Unexpressible, plain, snake
from kspec.importer.ir import Ref, Wiring
from kspec.layers import OPS
from kspec.layers.ops_index import key_data

# Operation classes whose keras.ops function is not their name in snake case.
_NAMES = {
    "AllClose": "allclose",
    "IsIn": "isin",
    "SearchSorted": "searchsorted",
    "BatchNorm": "batch_normalization",
    "LayerNorm": "layer_normalization",
    "RMSNorm": "rms_normalization",
}


def op_name(operation: Any) -> str:
    """The ``keras.ops`` function of an operation, or :class:`Unexpressible`."""
    import keras

    cls = type(operation)
    name = _NAMES.get(cls.__name__, snake(cls.__name__))
    fn = getattr(keras.ops, name, None)
    if not cls.__module__.startswith("keras.src.ops.") or not callable(fn):
        raise Unexpressible(
            f"it is the operation {cls.__module__}.{cls.__name__}, which has no keras.ops "
            "function of that name"
        )
    if name not in OPS:
        raise Unexpressible(
            f"keras.ops.{name} is not one of the tensor ops a spec can use (docs/layers.md#ops)"
        )
    return name


def is_tensor(value: Any) -> bool:
    return hasattr(value, "_keras_history")


def op_parts(
    operation: Any, node: Any, ref: Any
) -> tuple[str, Wiring, dict[str, Any], dict[str, Any]]:
    """``(op, inputs, args, full)`` of an op node: its keras.ops name, the tensors it takes
    (a reference, a list in parameter order, or a mapping parameter -> reference), and its
    constants (those that differ from the function's defaults, and all of them)."""
    import keras

    name = op_name(operation)
    fn_params = inspect.signature(getattr(keras.ops, name)).parameters
    try:
        bound = inspect.signature(operation.call).bind(
            *node.arguments.args, **node.arguments.kwargs
        )
    except TypeError as exc:
        raise Unexpressible(f"its call arguments do not fit keras.ops.{name}: {exc}") from None
    values: dict[str, Any] = dict(bound.arguments)
    config = operation.get_config()
    values.update({k: v for k, v in config.items() if k != "name"})
    tensors: dict[str, Ref | list[Ref]] = {}
    full: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fn_params:
            raise Unexpressible(f"keras.ops.{name} has no parameter `{key}`")
        if is_tensor(value):
            tensors[key] = ref(value)
        elif isinstance(value, list | tuple) and any(is_tensor(v) for v in value):
            if not all(is_tensor(v) for v in value):
                raise Unexpressible(f"its argument `{key}` mixes tensors and constants")
            tensors[key] = [ref(v) for v in value]
        else:
            if name == "get_item" and key == "key":
                value = key_data(value)
            try:
                full[key] = plain(value)
            except Unexpressible as exc:
                raise Unexpressible(f"its argument `{key}`: {exc}") from None
    args = {}
    for key, value in full.items():
        default = fn_params[key].default
        try:
            if default is not inspect.Parameter.empty and plain(default) == value:
                continue
        except Unexpressible:
            pass
        args[key] = value
    return name, _wiring(tensors, list(fn_params)), args, full


def _wiring(tensors: dict[str, Ref | list[Ref]], order: list[str]) -> Wiring:
    """One tensor parameter -> its reference (or list, for ``concatenate``'s ``xs``); the
    first parameters, in order -> a list; any other choice -> a mapping."""
    if not tensors:
        return None
    keys = sorted(tensors, key=order.index)
    if len(keys) == 1 and keys[0] == order[0]:
        return tensors[keys[0]]
    singles = [t for k in keys if isinstance(t := tensors[k], Ref)]
    if keys == order[: len(keys)] and len(singles) == len(keys):
        return singles
    return {k: tensors[k] for k in keys}
