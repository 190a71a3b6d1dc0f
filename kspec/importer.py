"""``kspec import``: write a readable spec for an existing Keras Functional model.

The model comes from a ``.keras`` file (loaded with Keras' ``safe_mode``) or from
``module:function`` (a function that returns a model; naming it on the command line is the
permission to import the module). Every layer call of the model's graph becomes a node: a
layer's first call a ``type`` node with its constructor arguments (flat keywords, Keras'
defaults left out), later calls ``share`` nodes; ``inputs`` is left out where the graph is a
chain; a tensor from a layer with several outputs is ``node[i]``.
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
from collections.abc import Mapping
from typing import Any

import yaml

from kspec.compiler.runtime import deep_call, require_tensorflow
from kspec.diagnostics import Diagnostic, KspecError

_SKIP_CONFIG = {
    "name",
    "trainable",
    "dtype",
    "batch_input_shape",
    "input_shape",
    "quantization_config",
}


def _error(message: str, hint: str | None = None) -> KspecError:
    return KspecError([Diagnostic("KS906", message, hint=hint)])


def load_model(source: str) -> Any:
    """A Keras model from ``path.keras`` or ``module:function``."""
    require_tensorflow()
    import keras

    if source.endswith(".keras"):
        try:
            return deep_call(lambda: keras.models.load_model(source, safe_mode=True))
        except (OSError, ValueError) as exc:
            raise _error(f"cannot load {source}: {exc}") from None
    if ":" not in source:
        raise _error(
            f"{source!r} is neither a .keras file nor module:function",
            "e.g. kspec import model.keras, or kspec import mypkg.models:build",
        )
    module_name, _, func_name = source.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except (ImportError, AttributeError) as exc:
        raise _error(f"cannot import {source}: {exc}") from None
    return deep_call(func)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _plain(value: Any) -> Any:
    """Keras config values as YAML-ready plain data (tuples as lists)."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        raise _error(f"the model has a non-finite argument value {value!r}")
    return value


def _serialized_object(value: dict[str, Any]) -> Any:
    """An initializer, regularizer or constraint config -> a name, or ``{type: ..., ...}``
    with the arguments that differ from the class's defaults."""
    import keras

    name = value.get("class_name", "")
    config = dict(value.get("config") or {})
    for family in (keras.initializers, keras.regularizers, keras.constraints):
        try:
            obj = family.get(value)
            defaults = type(obj)().get_config()
        except (ValueError, TypeError, AttributeError):
            continue
        config = {k: v for k, v in config.items() if defaults.get(k) != v}
        break
    config = {k: v for k, v in config.items() if v is not None}
    return _snake(name) if not config else {"type": name, **_plain(config)}


def layer_args(layer: Any) -> dict[str, Any]:
    """The layer's constructor arguments that differ from Keras' defaults."""
    config = layer.get_config()
    params: Mapping[str, inspect.Parameter]
    try:
        params = inspect.signature(type(layer).__init__).parameters
    except (TypeError, ValueError):  # pragma: no cover
        params = {}
    out: dict[str, Any] = {}
    for key, value in config.items():
        # base-class options that the layer's own signature does not take are left out
        if key in _SKIP_CONFIG or (params and key not in params):
            continue
        if isinstance(value, dict) and "class_name" in value:
            if key in ("layer", "backward_layer", "cell"):  # a wrapped layer
                inner_layer = getattr(
                    layer,
                    "forward_layer" if key == "layer" and hasattr(layer, "forward_layer") else key,
                    None,
                )
                nested = {"type": value["class_name"]}
                if inner_layer is not None:
                    nested.update(layer_args(inner_layer))
                out[key] = nested
                continue
            value = _serialized_object(value)
        else:
            value = _plain(value)
        default = params[key].default if key in params else inspect.Parameter.empty
        if default is not inspect.Parameter.empty:
            default = _plain(default)
            if value == default or (key == "activation" and value == "linear" and default is None):
                continue
            if (
                isinstance(default, int)
                and isinstance(value, list)
                and value == [default] * len(value)
            ):
                continue  # strides: 1 vs [1, 1]
        out[key] = value
    order = {k: i for i, k in enumerate(params)}  # the signature's order: units first, ...
    out = dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
        name = (dtype.get("config") or {}).get("name", "float32")
        if name != "float32":
            out["dtype"] = name
    if config.get("trainable") is False:
        out["trainable"] = False
    return out


def _identifier(name: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return clean if clean and not clean[0].isdigit() else f"n_{clean}"


def to_spec(model: Any, name: str | None = None) -> str:
    """The YAML text of a spec for a Functional ``model``."""
    if type(model).__name__ not in ("Functional", "Sequential") or not hasattr(model, "_nodes"):
        raise _error(
            f"{type(model).__name__} is not a Functional model",
            "kspec imports models built with the Functional API (keras.Input -> layers "
            "-> keras.Model); rebuild a subclassed model that way first",
        )
    model_nodes = model._nodes
    spec_name: dict[tuple[int, int], str] = {}  # (id(layer), node index) -> spec node name
    taken: set[str] = set()

    def fresh(wanted: str) -> str:
        base = _identifier(wanted)
        out, k = base, 2
        while out in taken:
            out, k = f"{base}_{k}", k + 1
        taken.add(out)
        return out

    inputs: dict[str, Any] = {}
    for tensor in model.inputs:
        layer = tensor._keras_history.operation
        spec_name[(id(layer), 0)] = iname = fresh(layer.name)
        entry: dict[str, Any] = {"shape": list(tensor.shape[1:])}
        if tensor.dtype != "float32":
            entry["dtype"] = str(tensor.dtype)
        inputs[iname] = entry

    def ref(tensor: Any) -> str:
        history = tensor._keras_history
        node = history.operation._inbound_nodes[history.node_index]
        base = spec_name[(id(history.operation), history.node_index)]
        return f"{base}[{history.tensor_index}]" if len(node.outputs) > 1 else base

    layers: list[dict[str, Any]] = []
    first_use: dict[int, str] = {}
    previous: str | None = next(iter(inputs)) if len(inputs) == 1 else None
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        if hasattr(layer, "_nodes") and type(layer).__name__ == "Functional":
            raise _error(
                f"layer {layer.name!r} is a nested model, which kspec import does not support yet",
                "flatten the nested model into the outer one",
            )
        for index, node in enumerate(layer._inbound_nodes):
            key = f"{id(layer)}_ib-{index}"
            if key not in model_nodes:
                continue
            entry = {
                "name": fresh(layer.name if id(layer) not in first_use else f"{layer.name}_{index}")
            }
            spec_name[(id(layer), index)] = entry["name"]
            if id(layer) in first_use:
                entry["share"] = first_use[id(layer)]
            else:
                first_use[id(layer)] = entry["name"]
                entry["type"] = type(layer).__name__
                entry.update(layer_args(layer))
            args = node.arguments
            first_arg = args.args[0] if args.args else None
            refs: Any
            if isinstance(first_arg, list | tuple):
                refs = [ref(t) for t in first_arg]
            else:
                refs = ref(first_arg) if first_arg is not None else None
            mapping: dict[str, Any] = {}
            call: dict[str, Any] = {}
            for k, v in args.kwargs.items():
                if hasattr(v, "_keras_history"):
                    mapping[k] = ref(v)
                elif (
                    isinstance(v, list | tuple)
                    and v
                    and all(hasattr(t, "_keras_history") for t in v)
                ):
                    mapping[k] = [ref(t) for t in v]
                elif k not in ("training", "mask") and v is not None:
                    call[k] = _plain(v)
            for extra in args.args[1:]:  # positional tensors after the first (MultiHeadAttention)
                refs = [refs, ref(extra)] if not isinstance(refs, list) else [*refs, ref(extra)]
            if mapping:
                first_name = next(iter(inspect.signature(layer.call).parameters))
                entry["inputs"] = {first_name: refs, **mapping} if refs is not None else mapping
            elif refs != previous or isinstance(refs, list):
                entry["inputs"] = refs
            if call:
                entry["call"] = call
            layers.append(entry)
            previous = entry["name"] if len(node.outputs) == 1 else None
    outputs: Any = [ref(t) for t in model.outputs]
    if isinstance(model.output, dict):
        outputs = {k: ref(t) for k, t in model.output.items()}
    elif len(outputs) == 1:
        outputs = outputs[0]
    return _dump(_identifier(name or model.name), inputs, layers, outputs)


def _dump(name: str, inputs: dict[str, Any], layers: list[dict[str, Any]], outputs: Any) -> str:
    def flow(value: Any) -> str:
        text = yaml.safe_dump(value, default_flow_style=True, width=10**9, sort_keys=False)
        return text.strip().removesuffix("...").strip()

    lines = [
        "# Imported by kspec from a Keras model; check it with `kspec check`.",
        "kspec: 1",
        f"name: {name}",
        "inputs:",
    ]
    lines += [f"  {key}: {flow(value)}" for key, value in inputs.items()]
    lines.append("layers:")
    lines += [f"  - {flow(entry)}" for entry in layers]
    lines.append(f"outputs: {flow(outputs)}")
    return "\n".join(lines) + "\n"
