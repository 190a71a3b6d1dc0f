"""The assembled catalog: every Keras layer class with what kspec knows about it.

``kspec/schemas/keras_layers.json`` (generated from the installed Keras by
``tools/gen_catalog.py``) lists every public ``keras.layers`` class: its constructor arguments
with their defaults and descriptions, its ``call`` parameters, and whether kspec refuses it.
Each argument's schema is inferred here from its default and its name (``activation`` -> an
activation name, ``*_initializer`` -> an initializer, ``padding``, ``data_format``, ``seed``,
``layer``/``cell`` -> a nested layer, a bool default -> a boolean, ...); the hand-written record
of the layer's family module says more where that is not enough, and brings its rules. The
result is :data:`LAYERS` (type name, aliases included -> :class:`~kspec.layers.base.Layer`),
:data:`REFUSED` (type name -> why it is not available) and the registries' names for the JSON
Schema (``kspec/schemas/build.py``).

The functions at the end apply a layer's rules to a call (shape inference, weight counts, the
number of outputs, shared-layer checks); every stage asks them. TensorFlow-free by design.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

from kspec.layers.base import (
    RULES,
    Layer,
)
from kspec.schemas.types import (
    ACTIVATION,
    ANY,
    AXIS,
    BOOL,
    CONSTRAINT,
    DATA_FORMAT,
    INT,
    NESTED_LAYER,
    NESTED_LAYERS,
    NUMBER,
    PADDING,
    PADDING_CAUSAL,
    POS_INT,
    RATE,
    REGULARIZER,
    SEED,
    STRING,
    Schema,
    arg,
    nullable,
    registry,
)

DATA_FILE = "keras_layers.json"

# Constructor arguments kspec never exposes: the base-layer keywords (``name`` is the node's
# name; ``dtype`` and ``trainable`` are node keys of every layer, see build.BASE_ARGS), and the
# arguments that are not YAML values or that kspec does not expose.
EXCLUDED = frozenset(
    {
        "name",
        "dtype",
        "trainable",
        "input_shape",
        "weights",
        "quantization_config",
        "lora_rank",
        "lora_alpha",
        "lora_enabled",
        "gptq_unpacked_column_size",
    }
)

# Integer arguments that Keras also takes as a tuple of integers (one per spatial axis).
_INT_OR_TUPLE = frozenset(
    {"kernel_size", "strides", "pool_size", "dilation_rate", "size", "output_size", "cropping",
     "padding"}
)  # fmt: skip

# Arguments that are positive integers (or null where the default is None).
_POSITIVE_INTS = frozenset(
    {"units", "filters", "input_dim", "output_dim", "num_heads", "key_dim", "n", "height",
     "width", "num_bins", "num_tokens", "max_number", "head_dim", "num_query_heads",
     "num_key_value_heads", "depth_multiplier", "groups", "max_tokens"}
)  # fmt: skip
# Arguments that are fractions (dropout rates).
_RATES = frozenset({"rate", "dropout", "recurrent_dropout"})

# Descriptions for common arguments that a class's docstring does not document.
_KNOWN_DESCRIPTIONS = {
    "data_format": "Ordering of the dimensions in the inputs: 'channels_last' or 'channels_first'.",
    "seed": "Seed of the random number generator.",
}
_FALLBACK = "See the Keras documentation."


@cache
def data() -> dict[str, Any]:
    """The generated Keras data (``keras_layers.json``), parsed once."""
    text = resources.files("kspec.schemas").joinpath(DATA_FILE).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


# -- inferring an argument's schema ---------------------------------------------------------


def yaml_value(value: Any) -> str:
    """A default in YAML spelling, for descriptions: null, true, 'valid', [1, 1]."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {yaml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def _from_value(value: Any, int_tuple: bool = False) -> Schema:
    """The schema a default suggests: its JSON type. A list of numbers is a list of numbers
    (``value_range: [0, 255]`` also takes ``[0.0, 1.0]``); for ``int_tuple`` arguments
    (``strides``, ``padding``: ``_INT_OR_TUPLE``) an integer or a (nested) list of integers."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, list):
        if int_tuple and _all_ints(value):
            return {"anyOf": [INT, {"type": "array", "items": _int_items(value)}]}
        items = [_from_value(v) for v in value]
        if items and all(s in (INT, NUMBER) for s in items):
            return {"type": "array", "items": NUMBER}
        unique = [s for i, s in enumerate(items) if s not in items[:i]]
        if len(unique) == 1:
            return {"type": "array", "items": unique[0]}
        return {"type": "array"}
    if isinstance(value, dict):
        return {"type": "object"}
    return ANY


def _all_ints(value: Any) -> bool:
    if isinstance(value, list):
        return all(_all_ints(v) for v in value)
    return type(value) is int


def _int_items(value: list[Any]) -> Schema:
    """Items of a (nested) integer tuple: integers, or integers and lists of integers."""
    if any(isinstance(v, list) for v in value):
        return {"anyOf": [INT, {"type": "array", "items": INT}]}
    return INT


def _by_name(name: str, default: Any, has_default: bool, description: str) -> Schema | None:
    """The schema an argument's name implies (Keras' naming conventions), if any."""
    if name == "activation" or name.endswith("_activation"):
        return ACTIVATION
    if name.endswith("_initializer"):
        names = set(data()["registries"]["initializers"]["names"])
        extra = (default,) if isinstance(default, str) and default not in names else ()
        return registry("initializer", *extra, null=has_default and default is None)
    if name.endswith("_regularizer"):
        return REGULARIZER
    if name.endswith("_constraint"):
        return CONSTRAINT
    if name == "padding" and isinstance(default, str):
        return PADDING_CAUSAL if "causal" in description else PADDING
    if name == "data_format":
        return DATA_FORMAT
    if name == "seed":
        return SEED
    if name in ("layer", "backward_layer", "cell"):
        return NESTED_LAYER
    if name in ("layers", "cells"):
        return NESTED_LAYERS
    int_like = not has_default or default is None or type(default) is int
    if name in _INT_OR_TUPLE and int_like:
        return {"anyOf": [INT, {"type": "array", "items": INT}]}
    if name in _POSITIVE_INTS and int_like:
        return POS_INT
    if name in _RATES and (not has_default or type(default) in (int, float)):
        return RATE
    if name == "axis" and type(default) is int:
        return AXIS
    if name in ("fill_value", "value") and type(default) in (int, float):
        return NUMBER
    return None


def infer(entry: Mapping[str, Any]) -> Schema:
    """The schema (with description) of one generated constructor argument."""
    name = entry["name"]
    has_default = not entry["required"]
    default = entry.get("default")
    json_default = "default" in entry
    description = entry.get("description") or _FALLBACK
    if description == _FALLBACK and name in _KNOWN_DESCRIPTIONS:
        description = _KNOWN_DESCRIPTIONS[name]
    schema = _by_name(name, default, has_default, description)
    if schema is None:
        if not has_default or not json_default or default is None:
            schema = ANY
        else:
            schema = _from_value(default, int_tuple=name in _INT_OR_TUPLE)
    elif (
        schema.get("$kspec") is None
        and json_default
        and default is None
        and not _accepts_null(schema)
    ):
        schema = nullable(schema)
    description = description.rstrip()
    if not description.endswith((".", "!", "?")):
        description += "."
    if json_default:
        description = description[:-1] + f" (default: {yaml_value(default)})."
    elif has_default:
        description = description[:-1] + " (default: set by Keras)."
    if schema is ANY:
        description += " Any value: Keras checks it."
    return arg(schema, description)


def _accepts_null(schema: Schema) -> bool:
    if schema.get("type") == "null" or schema == ANY:
        return True
    return any(_accepts_null(s) for s in schema.get("anyOf", ()))


# -- assembling the catalog ----------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    """The assembled catalog: allowed layers (aliases included), refused ones, aliases."""

    layers: dict[str, Layer]
    refused: dict[str, str]
    aliases: dict[str, str]


def _merge(name: str, entry: Mapping[str, Any], rule: Layer | None) -> Layer:
    """The generated entry completed by the hand-written record (``rule``)."""
    rule = rule or Layer(name, family="other")
    generated = [a for a in entry["args"] if a["name"] not in EXCLUDED]
    names = [a["name"] for a in generated]
    unknown = set(rule.args) - set(names)
    if unknown:
        raise ValueError(f"kspec/layers: {name} has no constructor argument {sorted(unknown)}")
    required = tuple(a["name"] for a in generated if a["required"])
    return replace(
        rule,
        name=name,
        doc=rule.doc or entry["summary"],
        args={a["name"]: rule.args.get(a["name"]) or infer(a) for a in generated},
        required=rule.required or required,
        call_args=rule.call_args or tuple(entry["call"]),
        adapt=bool(entry["adapt"]),
    )


def assemble(keras_data: Mapping[str, Any]) -> Catalog:
    """The catalog for ``keras_data`` (the generated document) and the hand-written records."""
    layers: dict[str, Layer] = {}
    refused: dict[str, str] = {}
    aliases: dict[str, str] = {}
    stale = set(RULES) - set(keras_data["layers"])
    if stale:
        raise ValueError(f"kspec/layers: records of layers Keras does not have: {sorted(stale)}")
    for name, entry in sorted(keras_data["layers"].items()):
        names = [name, *entry["aliases"]]
        for alias in entry["aliases"]:
            aliases[alias] = name
        if name in keras_data["refused"]:
            for n in names:
                refused[n] = keras_data["refused"][name]
            continue
        layer = _merge(name, entry, RULES.get(name))
        for n in names:
            layers[n] = layer
    return Catalog(dict(sorted(layers.items())), dict(sorted(refused.items())), aliases)


_CATALOG = assemble(data())

LAYERS: dict[str, Layer] = _CATALOG.layers
"""Type name (class name or alias) -> the layer as kspec knows it."""
REFUSED: dict[str, str] = _CATALOG.refused
"""Type name -> why kspec does not make that layer available."""
ALIASES: dict[str, str] = _CATALOG.aliases
"""Alias -> the class's name (``AvgPool2D`` -> ``AveragePooling2D``)."""
KERAS_VERSION: str = data()["keras_version"]


def canonical(type_name: str) -> str:
    """The class name of a layer type (an alias resolved)."""
    return ALIASES.get(type_name, type_name)


# -- registries: the names and {type: ...} mappings the schema accepts ------------------------


def registry_names(kind: str, compile_names: bool = False) -> list[str]:
    """Names Keras' ``kind`` registry accepts (``optimizers``, ``losses``, ...), verified by
    ``keras.<kind>.get`` when generated; with ``compile_names`` also those model.compile adds."""
    reg = data()["registries"][kind]
    names = list(reg["names"])
    if compile_names:
        names += [n for n in reg.get("compile_names", ()) if n not in names]
    return sorted(names)


def registry_classes(kind: str) -> list[str]:
    """Class names a ``{type: ClassName, ...}`` mapping may name in the ``kind`` registry."""
    return sorted(data()["registries"][kind]["classes"])


def _mapping_def(kind: str, what: str) -> Schema:
    """``{type: ClassName, ...}``: the class's constructor arguments and no other key (in
    particular no ``module``, which would make Keras import a module). A class whose Keras
    ``from_config`` needs its arguments (``Constant``: ``value``) requires them all."""
    classes: dict[str, list[dict[str, Any]]] = data()["registries"][kind]["classes"]
    needs = set(data()["registries"][kind].get("needs_arguments", ()))
    return {
        "type": "object",
        "description": f"A Keras {what} as {{type: ClassName, ...its constructor arguments}}.",
        "properties": {"type": {"enum": sorted(classes), "description": f"The {what} class."}},
        "required": ["type"],
        "allOf": [
            {
                "if": {"properties": {"type": {"const": cls}}, "required": ["type"]},
                "then": {
                    "properties": {
                        "type": {},
                        **{a["name"]: infer(a) for a in args if a["name"] not in EXCLUDED},
                    },
                    "additionalProperties": False,
                    **(
                        {"required": [a["name"] for a in args if a["name"] not in EXCLUDED]}
                        if cls in needs
                        else {}
                    ),
                },
            }
            for cls, args in sorted(classes.items())
        ],
    }


def registry_defs() -> dict[str, Schema]:
    """The ``$defs`` that the registry references of types.py point to."""
    out: dict[str, Schema] = {}
    for kind, what in (
        ("activation", "activation function"),
        ("initializer", "initializer"),
        ("regularizer", "regularizer"),
        ("constraint", "constraint"),
    ):
        plural = kind + "s"
        out[f"{kind}_name"] = {
            "enum": registry_names(plural),
            "description": f"The name of a Keras {what}.",
        }
        if kind != "activation":
            out[kind] = _mapping_def(plural, what)
    return out


# -- Keras objects given as mappings ---------------------------------------------------------


# Arguments that take a Keras object, written in a spec as a name or {type: Class, ...args}.
OBJECT_FAMILIES = {
    "_initializer": "initializers",
    "_regularizer": "regularizers",
    "_constraint": "constraints",
}


def object_family(arg: str) -> str | None:
    """``kernel_initializer`` -> ``initializers``; None for other arguments."""
    return next((fam for suffix, fam in OBJECT_FAMILIES.items() if arg.endswith(suffix)), None)


def registry_kind(schema: Schema) -> str | None:
    """``initializer``, ``regularizer`` or ``constraint`` when an argument's schema accepts a
    ``{type: ClassName, ...}`` mapping of that registry, else None."""
    for branch in schema.get("anyOf", ()):
        ref = branch.get("$ref", "")
        if branch.get("type") == "object" and ref.startswith("#/$defs/"):
            return str(ref.rsplit("/", 1)[1])
    return None


def keras_config(value: Mapping[str, Any]) -> dict[str, Any]:
    """A ``{type: ClassName, ...arguments}`` mapping as the config Keras' ``get`` functions
    deserialize: ``{type: HeNormal, seed: 1}`` -> ``{"class_name": "HeNormal", "config":
    {"seed": 1}}``. Only these two keys: Keras would import the module named by a ``module``
    key, and the schema allows no key besides ``type`` and the class's arguments."""
    return {
        "class_name": value["type"],
        "config": {k: v for k, v in value.items() if k != "type"},
    }
