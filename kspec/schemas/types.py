"""The vocabulary the layer catalog is written in.

Each helper returns a JSON Schema fragment (a plain dict). ``catalog.py`` describes every layer
with these, and ``build.py`` assembles the catalog into the kspec-1 JSON Schema. Keeping the
fragments here means a layer's record (kspec/layers/) reads like its Keras signature.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

# -- scalars -------------------------------------------------------------------------------

BOOL: Schema = {"type": "boolean"}
INT: Schema = {"type": "integer"}
POS_INT: Schema = {"type": "integer", "minimum": 1}
NONNEG_INT: Schema = {"type": "integer", "minimum": 0}
NUMBER: Schema = {"type": "number"}
NONNEG_NUMBER: Schema = {"type": "number", "minimum": 0}
POS_NUMBER: Schema = {"type": "number", "exclusiveMinimum": 0}
RATE: Schema = {"type": "number", "minimum": 0, "maximum": 1}
STRING: Schema = {"type": "string", "maxLength": 4096}
SEED: Schema = {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 0}]}


def nullable(schema: Schema) -> Schema:
    """``schema`` or null (Keras' ``None``)."""
    return {"anyOf": [{"type": "null"}, schema]}


def enum(*values: Any) -> Schema:
    """One of ``values`` exactly."""
    return {"enum": list(values)}


def int_or_tuple(n: int, minimum: int = 1) -> Schema:
    """An integer, or a list of ``n`` integers (Keras' ``int or tuple of n ints``)."""
    item = {"type": "integer", "minimum": minimum}
    return {"anyOf": [item, {"type": "array", "items": item, "minItems": n, "maxItems": n}]}


def list_of(item: Schema, min_items: int = 0, max_items: int | None = None) -> Schema:
    out: Schema = {"type": "array", "items": item, "minItems": min_items}
    if max_items is not None:
        out["maxItems"] = max_items
    return out


AXIS: Schema = {"anyOf": [INT, list_of(INT, 1)]}

# Names from Keras' registries. The name lists and the ``{type: ClassName, ...}`` mappings live
# in the schema's ``$defs`` (generated from the installed Keras: kspec/schemas/keras_layers.json;
# catalog.registry_defs() builds them), so every argument refers to them instead of repeating
# them. ``"type"`` next to each ``$ref`` tells the error reporter which branch a value was meant
# for (a misspelt name is reported as a misspelt name, not as "not a mapping").
NULL: Schema = {"type": "null"}


def registry(kind: str, *extra_names: str, null: bool = False, mapping: bool = True) -> Schema:
    """A name from Keras' ``kind`` registry (``activation``, ``initializer``, ``regularizer``,
    ``constraint``), or (``mapping``) ``{type: ClassName, ...constructor arguments}``;
    ``extra_names``: other strings Keras accepts there (a default spelt as a class name)."""
    branches: list[Schema] = [NULL] if null else []
    branches.append({"type": "string", "$ref": f"#/$defs/{kind}_name"})
    if extra_names:
        branches.append({"type": "string", "enum": list(extra_names)})
    if mapping:
        branches.append({"type": "object", "$ref": f"#/$defs/{kind}"})
    return {"anyOf": branches}


# Keras' activations are functions: a name only (activations with parameters are layers:
# LeakyReLU, ELU, ReLU, PReLU, Softmax).
ACTIVATION: Schema = registry("activation", null=True, mapping=False)
INITIALIZER: Schema = registry("initializer")
REGULARIZER: Schema = registry("regularizer", null=True)
CONSTRAINT: Schema = registry("constraint", null=True)
PADDING: Schema = enum("valid", "same")
PADDING_CAUSAL: Schema = enum("valid", "same", "causal")
DATA_FORMAT: Schema = nullable(enum("channels_last", "channels_first"))
DTYPES = (
    "float16", "float32", "float64", "bfloat16", "int8", "int16", "int32", "int64", "uint8",
    "uint16", "uint32", "uint64", "bool", "string",
)  # fmt: skip
DTYPE: Schema = enum(*DTYPES)
INTERPOLATION: Schema = enum("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area")
# Keras' ``use_cudnn`` of LSTM and GRU: ``"auto"``, ``True`` or ``False``.
USE_CUDNN: Schema = enum("auto", True, False)
# ZeroPadding2D ``padding`` / Cropping2D ``cropping``: an int (same for both spatial axes), a pair
# ``[height, width]`` (symmetric), or a pair of pairs ``[[top, bottom], [left, right]]``.
PAD_CROP_2D: Schema = {"anyOf": [NONNEG_INT, list_of(int_or_tuple(2, minimum=0), 2, 2)]}

# A nested layer (the ``layer`` of Bidirectional or TimeDistributed, the ``cell`` of RNN).
# build.py replaces this marker with a reference to the node schema of any layer type.
NESTED_LAYER: Schema = {"$kspec": "nested_layer"}
# A non-empty list of nested layers (Pipeline ``layers``, StackedRNNCells ``cells``).
NESTED_LAYERS: Schema = {"$kspec": "nested_layers"}
# Any JSON value (an argument whose type Keras' signature does not tell).
ANY: Schema = {}


def arg(schema: Schema, description: str) -> Schema:
    """An argument: its schema with a description (every key in the schema documents itself)."""
    return {**schema, "description": description}
