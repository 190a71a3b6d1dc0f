"""The hand-written layer catalog, checked against the installed Keras.

``kspec/schemas/catalog.py`` is TensorFlow-free by design, so nothing but this module keeps it
honest: every entry must name a real ``keras.layers`` class, list exactly its constructor
arguments (minus the documented exclusions), mark exactly the arguments without a default as
required, name only real ``call`` parameters, accept the Keras defaults, and (merge layers) state
the input counts Keras enforces.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

keras = pytest.importorskip("keras")
jsonschema = pytest.importorskip("jsonschema")

from kspec.schemas.catalog import LAYERS  # noqa: E402
from kspec.schemas.types import NESTED_LAYER, Layer  # noqa: E402

pytestmark = pytest.mark.tf

# Constructor parameters the catalog leaves out everywhere (see the catalog's module docstring):
# the base-layer keywords (handled by build.py; the pooling layers spell `name` out), and the
# arguments that are not YAML values or that kspec does not expose.
EXCLUDED = frozenset(
    {
        "self",
        "name",
        "dtype",
        "trainable",
        "input_shape",
        "weights",
        "quantization_config",
        "lora_rank",
        "lora_alpha",
        "lora_enabled",
    }
)

# The layers the catalog must cover, in catalog order.
EXPECTED = (
    "Dense", "Flatten", "Dropout", "Activation", "Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose",
    "DepthwiseConv2D", "SeparableConv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D",
    "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
    "GlobalMaxPooling2D", "BatchNormalization", "LayerNormalization", "Embedding", "LSTM", "GRU",
    "SimpleRNN", "Bidirectional", "TimeDistributed", "MultiHeadAttention", "Add", "Subtract",
    "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "Reshape", "Permute",
    "RepeatVector", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "UpSampling1D",
    "UpSampling2D", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Rescaling", "Resizing",
)  # fmt: skip

MERGE = [name for name, layer in LAYERS.items() if layer.inputs == "many"]


def _init_params(cls: type) -> dict[str, inspect.Parameter]:
    """Named constructor parameters (no ``*args``/``**kwargs``), minus the exclusions."""
    return {
        name: p
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name not in EXCLUDED and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def _call_params(cls: type) -> list[str]:
    return [
        name
        for name, p in inspect.signature(cls.call).parameters.items()
        if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def _json_value(value: Any) -> tuple[bool, Any]:
    """``(True, value as JSON)`` for a plain JSON default (tuples become lists), else False."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True, value
    if isinstance(value, (tuple, list)):
        items = [_json_value(v) for v in value]
        if all(ok for ok, _ in items):
            return True, [v for _, v in items]
    return False, None


def _cls(name: str) -> type:
    cls = getattr(keras.layers, name, None)
    assert isinstance(cls, type), f"keras.layers.{name} is not a class"
    return cls


def test_catalog_covers_the_expected_layers_in_order() -> None:
    assert tuple(LAYERS) == EXPECTED


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_matches_keras_signature(name: str) -> None:
    layer: Layer = LAYERS[name]
    params = _init_params(_cls(name))

    unknown = set(layer.args) - set(params)
    assert not unknown, f"{name}: not constructor parameters of keras.layers.{name}: {unknown}"
    missing = set(params) - set(layer.args)
    assert not missing, f"{name}: Keras parameters missing from the catalog: {missing}"

    no_default = {p for p, param in params.items() if param.default is inspect.Parameter.empty}
    assert set(layer.required) == no_default, f"{name}: required != Keras args without default"
    assert len(layer.required) == len(set(layer.required))

    for key, schema in layer.args.items():
        assert schema.get("description"), f"{name}.{key} has no description"


@pytest.mark.parametrize("name", list(LAYERS))
def test_call_args_are_call_parameters(name: str) -> None:
    layer = LAYERS[name]
    call = _call_params(_cls(name))
    assert layer.call_args, f"{name}: call_args is empty"
    unknown = [a for a in layer.call_args if a not in call]
    assert not unknown, f"{name}: not parameters of {name}.call {call}: {unknown}"
    # In signature order, starting with the parameter that takes the main input.
    assert list(layer.call_args) == [a for a in call if a in layer.call_args]
    assert layer.call_args[0] == call[0]


@pytest.mark.parametrize("name", list(LAYERS))
def test_keras_defaults_validate(name: str) -> None:
    layer = LAYERS[name]
    params = _init_params(_cls(name))
    checked = 0
    for key, schema in layer.args.items():
        if key not in params:
            continue  # reported by test_layer_matches_keras_signature
        default = params[key].default
        if default is inspect.Parameter.empty or schema.get("$kspec") == NESTED_LAYER["$kspec"]:
            continue
        ok, value = _json_value(default)
        if not ok:
            continue
        validator = jsonschema.Draft202012Validator(schema)
        errors = [e.message for e in validator.iter_errors(value)]
        assert not errors, f"{name}.{key}: Keras default {default!r} rejected: {errors}"
        checked += 1
    assert checked == sum(
        1
        for key, schema in layer.args.items()
        if key in params
        and params[key].default is not inspect.Parameter.empty
        and "$kspec" not in schema
    ), f"{name}: a Keras default is not a plain JSON value; check the schema by hand"


@pytest.mark.parametrize("name", list(LAYERS))
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    for key, schema in LAYERS[name].args.items():
        if "$kspec" in schema:
            continue
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:  # pragma: no cover - failure path
            pytest.fail(f"{name}.{key}: invalid schema: {exc.message}")


def _merge(name: str, n: int) -> None:
    layer = _cls(name)(**({"axes": 1} if name == "Dot" else {}))
    layer([keras.Input((4,)) for _ in range(n)])


@pytest.mark.parametrize("name", MERGE)
def test_merge_input_counts(name: str) -> None:
    layer = LAYERS[name]
    assert layer.min_inputs >= 1
    _merge(name, layer.min_inputs)
    _merge(name, layer.min_inputs + 1 if layer.max_inputs is None else layer.max_inputs)
    if layer.min_inputs > 1:
        with pytest.raises((ValueError, TypeError)):
            _merge(name, layer.min_inputs - 1)
    if layer.max_inputs is not None:
        with pytest.raises((ValueError, TypeError)):
            _merge(name, layer.max_inputs + 1)


def test_only_merge_layers_take_many_inputs() -> None:
    assert set(MERGE) == {
        "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
    }  # fmt: skip
    for name, layer in LAYERS.items():
        if layer.inputs == "one":
            assert (layer.min_inputs, layer.max_inputs) == (1, None), name


def test_call_layers_input_counts() -> None:
    """A list of inputs to MultiHeadAttention is (query, value[, key]), positional."""
    mha = LAYERS["MultiHeadAttention"]
    assert (mha.min_inputs, mha.max_inputs) == (2, 3)
    assert mha.call_args[:3] == ("query", "value", "key")
    q, v = keras.Input((5, 8)), keras.Input((7, 8))
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    assert tuple(layer(q, v, v).shape) == (None, 5, 8)


@pytest.mark.parametrize("name", [n for n, layer in LAYERS.items() if "return_state" in layer.args])
def test_state_outputs(name: str) -> None:
    layer = _cls(name)(units=3, return_state=True)
    outputs = layer(keras.Input((5, 4)))
    assert len(outputs) - 1 == LAYERS[name].state_outputs


def test_no_state_outputs_without_return_state() -> None:
    for name, layer in LAYERS.items():
        if "return_state" not in layer.args:
            assert layer.state_outputs == 0, name
