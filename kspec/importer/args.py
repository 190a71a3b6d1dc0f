"""A Keras layer's constructor arguments as spec values: its ``get_config()`` reduced to the
arguments its signature takes, as plain YAML data, with initializers, regularizers and
constraints as a name or ``{type: Class, ...}``. Anything that has no spec form (a custom
regularizer, a Python function as activation) is an error naming the layer and the argument."""

from __future__ import annotations

import contextlib
import inspect
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

# config keys that are not arguments of the layer's own (a spec has them elsewhere, or never)
_SKIP_CONFIG = {
    "name",
    "trainable",
    "dtype",
    "batch_input_shape",
    "input_shape",
    "batch_shape",
    "quantization_config",
}
# arguments Keras turns into a tuple of equal ints when given one int
_INT_TUPLES = {"kernel_size", "strides", "pool_size", "dilation_rate", "size"}
_FAMILIES = ("initializers", "regularizers", "constraints")
# arguments that hold layers: a wrapper's layer, an RNN's cell(s)
_NESTED = ("layer", "backward_layer", "cell", "cells")
Nested = Callable[[Any, str], Any]


def snake(name: str) -> str:
    """``HeNormal`` -> ``he_normal``, ``ReLU`` -> ``re_lu`` (Keras' own rule for names)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class Unexpressible(Exception):
    """A value with no spec form; the caller adds which layer and argument it belongs to."""


def plain(value: Any) -> Any:
    """A config value as YAML-ready data: tuples as lists, NumPy values as Python numbers."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Unexpressible(f"the value {value!r} is not finite")
        return value
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        if value.get("class_name") == "__numpy__":  # an array in a config
            return plain((value.get("config") or {}).get("value"))
        if "class_name" in value:
            raise Unexpressible(f"it is a {value['class_name']} object")
        return {str(k): plain(v) for k, v in value.items()}
    if hasattr(value, "tolist") and callable(value.tolist):  # NumPy scalars and arrays
        return plain(value.tolist())
    raise Unexpressible(f"it is a {type(value).__name__}")


def _object_family(key: str) -> str | None:
    for suffix in ("_initializer", "_regularizer", "_constraint"):
        if key.endswith(suffix):
            return suffix[1:] + "s"
    return None


def serialized_object(key: str, value: dict[str, Any]) -> Any:
    """An initializer, regularizer or constraint config -> its name when Keras' defaults are
    meant and the name is registered, else ``{type: Class, ...arguments that differ}``."""
    import keras

    from kspec.layers.catalog import data, registry_classes, registry_names

    family = _object_family(key) or next(
        (f for f in _FAMILIES if value.get("module") == f"keras.{f}"), None
    )
    name = value.get("class_name", "")
    if family is None or name not in registry_classes(family):
        where = value.get("module") or "a custom module"
        raise Unexpressible(
            f"it is a {name} object from {where}, not one of Keras' {family or 'objects'} "
            "(a spec names Keras' own initializers, regularizers and constraints only)"
        )
    config = {k: plain(v) for k, v in (value.get("config") or {}).items()}
    needs = set(data()["registries"][family].get("needs_arguments", ()))
    try:
        cls = getattr(getattr(keras, family), name)
        defaults = {k: plain(v) for k, v in cls().get_config().items()}
    except Exception:  # a class without defaults for every argument (Constant needs value)
        defaults = {}
    for k, v in config.items():  # the schema takes what the class's defaults look like
        d = defaults.get(k, 0.0)
        if isinstance(v, list | dict) and not isinstance(d, list | dict):
            raise Unexpressible(
                f"it is {name} with an array `{k}`, which a spec cannot write (a number only)"
            )
    if name not in needs:
        config = {k: v for k, v in config.items() if defaults.get(k, object()) != v}
    config = {k: v for k, v in config.items() if v is not None or k in defaults}
    if not config and snake(name) in registry_names(family):
        return snake(name)
    return {"type": name, **config}


def _signature(cls: type) -> Mapping[str, inspect.Parameter]:
    try:
        return inspect.signature(cls.__init__).parameters  # type: ignore[misc]
    except (TypeError, ValueError):
        return {}


def takes_name(cls: type) -> bool:
    """Whether the class's constructor accepts ``name=`` (kspec names every layer)."""
    params = _signature(cls)
    return "name" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def layer_args(
    layer: Any, nested: Callable[[Any, str], dict[str, Any]] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(args, full)``: the layer's constructor arguments that differ from its defaults, and
    all of them. ``nested(layer, key)`` gives a wrapped layer's ``{type: ..., ...}`` mapping."""
    try:
        config = layer.get_config()
    except Exception as exc:  # a custom layer's own get_config
        raise Unexpressible(f"its get_config() failed: {type(exc).__name__}: {exc}") from None
    params = _signature(type(layer))
    full: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for key, value in config.items():
        # base-class options that the layer's own signature does not take are left out
        if key in _SKIP_CONFIG or (params and key not in params):
            continue
        try:
            full[key] = _value(layer, key, value, nested)
        except Unexpressible as exc:
            raise Unexpressible(f"its argument `{key}`: {exc}") from None
        param = params.get(key)
        if param is not None and param.default is not inspect.Parameter.empty:
            with contextlib.suppress(Unexpressible):  # a default with no spec form
                defaults[key] = _default(key, param.default)
    args = {
        k: v
        for k, v in full.items()
        if not (k in defaults and _same(k, v, defaults[k])) and not _resolved(k, v, full, defaults)
    }
    order = {k: i for i, k in enumerate(params)}  # the signature's order: units first, ...
    args = dict(sorted(args.items(), key=lambda kv: order.get(kv[0], len(order))))
    extra = _base_options(config)
    return {**args, **extra}, {**full, **extra}


def _is_object(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") not in (None, "__numpy__")


def _value(layer: Any, key: str, value: Any, nested: Nested | None) -> Any:
    layers = _is_object(value) or (isinstance(value, list) and all(map(_is_object, value)))
    if key in _NESTED and nested is not None and layers and value:
        return nested(layer, key)
    if _is_object(value):
        return serialized_object(key, value)
    return _short(key, plain(value))


def _default(key: str, default: Any) -> Any:
    """A signature's default as the importer writes values: ``"uniform"`` is the initializer
    ``random_uniform``."""
    import keras

    family = _object_family(key)
    if family is not None and isinstance(default, str):
        with contextlib.suppress(Exception):
            obj = getattr(keras, family).get(default)
            return serialized_object(key, keras.saving.serialize_keras_object(obj))
    return _short(key, plain(default))


def _short(key: str, value: Any) -> Any:
    """``kernel_size: [3, 3]`` -> ``3`` (Keras expands one int the same way)."""
    if key in _INT_TUPLES and isinstance(value, list) and value and len(set(map(repr, value))) == 1:
        return value[0] if isinstance(value[0], int) and not isinstance(value[0], bool) else value
    return value


def _same(key: str, value: Any, default: Any) -> bool:
    if value == default:
        return True
    if isinstance(default, int) and isinstance(value, list) and value:
        return all(v == default for v in value)  # strides: 1 is [1, 1]; axis: -1 is [-1]
    if default is None and key == "activation":
        return value == "linear"  # Keras stores no activation as "linear"
    if default is None and key == "data_format":
        import keras

        return bool(value == keras.config.image_data_format())
    return False


# arguments whose default None Keras resolves to another argument's value
_RESOLVED_FROM = {"strides": "pool_size", "value_dim": "key_dim"}


def _resolved(key: str, value: Any, full: Mapping[str, Any], defaults: Mapping[str, Any]) -> bool:
    """``strides`` of a pooling layer equal to its ``pool_size`` is what None means."""
    other = _RESOLVED_FROM.get(key)
    return other is not None and defaults.get(key, 0) is None and full.get(other) == value


def _base_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """``dtype`` (a policy other than float32) and ``trainable: false``, which every layer
    takes."""
    out: dict[str, Any] = {}
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
        dtype = (dtype.get("config") or {}).get("name", "float32")
    if isinstance(dtype, str) and dtype != "float32":
        out["dtype"] = dtype
    if config.get("trainable") is False:
        out["trainable"] = False
    return out
