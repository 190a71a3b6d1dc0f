"""The layer catalog, checked against the installed Keras.

``kspec/schemas/keras_layers.json`` is generated from Keras by ``tools/gen_catalog.py``, and the
records of ``kspec/layers/`` are written by hand; kspec itself is TensorFlow-free, so nothing
but this module keeps them honest: the generated data (and docs/layers.md) must be what the
installed Keras gives, every record must name real constructor and ``call`` parameters,
every schema must accept the Keras defaults, the merge layers' input counts and the recurrent
layers' state outputs must be what Keras does, and every registry name must work in Keras.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

jsonschema = pytest.importorskip("jsonschema")

import kspec  # noqa: E402
from kspec.layers import LAYERS, REFUSED, Layer, canonical, count_outputs  # noqa: E402
from kspec.layers.base import RULES  # noqa: E402
from kspec.layers.catalog import (  # noqa: E402
    EXCLUDED,
    data,
    keras_config,
    registry_classes,
    registry_kind,
    registry_names,
)
from kspec.schemas import build  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "run `.venv/bin/python tools/gen_catalog.py` (then `python -m kspec.schemas.build`)"

# The records that list every argument of their layer (in signature order).
COMPLETE = (
    "Dense", "Flatten", "Dropout", "Activation", "Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose",
    "DepthwiseConv2D", "SeparableConv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D",
    "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
    "GlobalMaxPooling2D", "BatchNormalization", "LayerNormalization", "Embedding", "LSTM", "GRU",
    "SimpleRNN", "Bidirectional", "TimeDistributed", "MultiHeadAttention", "Add", "Subtract",
    "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "Reshape", "Permute",
    "RepeatVector", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "UpSampling1D",
    "UpSampling2D", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Rescaling", "Resizing",
)  # fmt: skip

CLASSES = sorted({canonical(n) for n in LAYERS})
MERGE = [name for name in CLASSES if LAYERS[name].inputs == "many"]
DEFS = build.strict_document()["$defs"]


def _validator(schema: dict[str, Any]) -> Any:
    return jsonschema.Draft202012Validator({**schema, "$defs": DEFS})


def _keras() -> Any:
    return pytest.importorskip("keras")


def _gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_catalog", ROOT / "tools" / "gen_catalog.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def _generated() -> dict[str, Any]:
    result: dict[str, Any] = _gen().generate()
    return result


def _init_params(cls: type) -> dict[str, inspect.Parameter]:
    """Named constructor parameters (no ``*args``/``**kwargs``), minus the exclusions."""
    return {
        name: p
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self"
        and name not in EXCLUDED
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
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
    cls = getattr(_keras().layers, name, None)
    assert isinstance(cls, type), f"keras.layers.{name} is not a class"
    return cls


# -- the generated files are current -------------------------------------------------------


@pytest.mark.tf
def test_generated_data_is_current() -> None:
    committed = (ROOT / "kspec" / "schemas" / "keras_layers.json").read_text(encoding="utf-8")
    fresh = _gen().render_data(_generated())
    assert fresh == committed, f"kspec/schemas/keras_layers.json is stale: {REGENERATE}"


@pytest.mark.tf
def test_layers_doc_is_current() -> None:
    committed = (ROOT / "docs" / "layers.md").read_text(encoding="utf-8")
    assert _gen().render_docs(_generated()) == committed, f"docs/layers.md is stale: {REGENERATE}"


def test_published_schema_is_current() -> None:
    committed = (ROOT / "kspec" / "schemas" / build.SCHEMA_FILE).read_text(encoding="utf-8")
    assert build.render(build.build(editor=True)) == committed, (
        "kspec/schemas/kspec-1.schema.json is stale: run `.venv/bin/python -m kspec.schemas.build`"
    )


def test_published_schema_lists_every_layer_with_descriptions() -> None:
    defs = build.published()["$defs"]
    assert {k.split(".", 1)[1] for k in defs if k.startswith("layer.")} == set(LAYERS)
    for name in LAYERS:
        schema = defs[f"layer.{name}"]
        assert schema["description"]
        for key, prop in schema["properties"].items():
            assert prop.get("description"), f"layer.{name}.{key} has no description"
    assert not set(REFUSED) & set(defs["nested_layer"]["properties"]["type"]["enum"])


def test_data_names_its_keras_version() -> None:
    assert data()["generator"] == "tools/gen_catalog.py"
    assert data()["keras_version"]


# -- refinements --------------------------------------------------------------------------


def test_every_allowed_layer_has_a_record() -> None:
    assert set(RULES) == set(CLASSES)
    assert {RULES[n].family for n in RULES} == {
        "activations", "attention", "conv", "core", "image", "merging", "normalization",
        "pooling", "preprocessing", "recurrent", "regularization", "reshaping", "wrappers",
    }  # fmt: skip


@pytest.mark.tf
@pytest.mark.parametrize("name", list(RULES))
def test_record_matches_keras_signature(name: str) -> None:
    refine = RULES[name]
    params = _init_params(_cls(name))
    unknown = set(refine.args) - set(params)
    assert not unknown, f"{name}: not constructor parameters of keras.layers.{name}: {unknown}"
    if name in COMPLETE:  # complete records list every argument
        missing = set(params) - set(refine.args)
        assert not missing, f"{name}: Keras parameters missing from the record: {missing}"
        assert list(refine.args) == [p for p in params if p in refine.args], "signature order"
    if refine.required:
        no_default = {p for p, param in params.items() if param.default is inspect.Parameter.empty}
        assert set(refine.required) == no_default, f"{name}: required != args without default"
    for key, schema in refine.args.items():
        assert schema.get("description"), f"{name}.{key} has no description"


@pytest.mark.tf
@pytest.mark.parametrize("name", CLASSES)
def test_layer_matches_keras_signature(name: str) -> None:
    layer: Layer = LAYERS[name]
    params = _init_params(_cls(name))
    assert list(layer.args) == list(params), f"{name}: arguments != Keras' (in signature order)"
    no_default = {p for p, param in params.items() if param.default is inspect.Parameter.empty}
    assert set(layer.required) == no_default, f"{name}: required != Keras args without default"
    assert len(layer.required) == len(set(layer.required))
    for key, schema in layer.args.items():
        assert schema.get("description"), f"{name}.{key} has no description"
    assert layer.doc


@pytest.mark.tf
@pytest.mark.parametrize("name", CLASSES)
def test_call_args_are_call_parameters(name: str) -> None:
    layer = LAYERS[name]
    call = _call_params(_cls(name))
    assert layer.call_args, f"{name}: call_args is empty"
    unknown = [a for a in layer.call_args if a not in call]
    assert not unknown, f"{name}: not parameters of {name}.call {call}: {unknown}"
    # In signature order, starting with the parameter that takes the main input.
    assert list(layer.call_args) == [a for a in call if a in layer.call_args]
    assert layer.call_args[0] == call[0]


@pytest.mark.tf
@pytest.mark.parametrize("name", CLASSES)
def test_keras_defaults_validate(name: str) -> None:
    layer = LAYERS[name]
    params = _init_params(_cls(name))
    for key, schema in layer.args.items():
        default = params[key].default
        if default is inspect.Parameter.empty or "$kspec" in schema:
            continue
        ok, value = _json_value(default)
        if not ok:
            continue
        errors = [e.message for e in _validator(schema).iter_errors(value)]
        assert not errors, f"{name}.{key}: Keras default {default!r} rejected: {errors}"


@pytest.mark.parametrize("name", CLASSES)
def test_schemas_are_valid_draft_2020_12(name: str) -> None:
    for key, schema in LAYERS[name].args.items():
        if "$kspec" in schema:
            continue
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:  # pragma: no cover - failure path
            pytest.fail(f"{name}.{key}: invalid schema: {exc.message}")


def test_aliases_share_their_class_entry() -> None:
    for name, layer in LAYERS.items():
        assert layer is LAYERS[canonical(name)]
    assert not set(LAYERS) & set(REFUSED)


# -- how layers are called ------------------------------------------------------------------


def _merge(name: str, n: int) -> None:
    keras = _keras()
    kwargs = {"Dot": {"axes": 1}, "HashedCrossing": {"num_bins": 3}}.get(name, {})
    layer = _cls(name)(**kwargs)
    if name == "HashedCrossing":
        layer([keras.Input((1,), dtype="int32") for _ in range(n)])
    elif name in ("Attention", "AdditiveAttention"):
        layer([keras.Input((3, 4)) for _ in range(n)])
    else:
        layer([keras.Input((4,)) for _ in range(n)])


@pytest.mark.tf
@pytest.mark.parametrize("name", MERGE)
def test_merge_input_counts(name: str) -> None:
    layer = LAYERS[name]
    assert layer.min_inputs >= 1
    _merge(name, layer.min_inputs)
    _merge(name, layer.min_inputs + 1 if layer.max_inputs is None else layer.max_inputs)
    if layer.min_inputs > 1:
        with pytest.raises((ValueError, TypeError, IndexError)):
            _merge(name, layer.min_inputs - 1)
    if layer.max_inputs is not None:
        with pytest.raises((ValueError, TypeError, IndexError)):
            _merge(name, layer.max_inputs + 1)


def test_only_these_layers_take_a_list() -> None:
    assert set(MERGE) == {
        "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
        "Attention", "AdditiveAttention", "HashedCrossing",
    }  # fmt: skip
    for name in CLASSES:
        layer = LAYERS[name]
        if layer.inputs == "one":
            assert (layer.min_inputs, layer.max_inputs) == (1, None), name


@pytest.mark.tf
def test_call_layers_input_counts() -> None:
    """A list of inputs to MultiHeadAttention is (query, value[, key]), positional."""
    keras = _keras()
    for name in ("MultiHeadAttention", "GroupQueryAttention"):
        mha = LAYERS[name]
        assert mha.inputs == "call"
        assert (mha.min_inputs, mha.max_inputs) == (2, 3)
        assert mha.call_args[:3] == ("query", "value", "key")
    q, v = keras.Input((5, 8)), keras.Input((7, 8))
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    assert tuple(layer(q, v, v).shape) == (None, 5, 8)


RECURRENT = {
    "LSTM": ({"units": 3}, (5, 4)),
    "GRU": ({"units": 3}, (5, 4)),
    "SimpleRNN": ({"units": 3}, (5, 4)),
    "ConvLSTM1D": ({"filters": 2, "kernel_size": 3}, (3, 6, 2)),
    "ConvLSTM2D": ({"filters": 2, "kernel_size": 3}, (3, 6, 6, 2)),
    "ConvLSTM3D": ({"filters": 2, "kernel_size": 3}, (3, 4, 4, 4, 2)),
}


def test_recurrent_table_is_complete() -> None:
    with_states = {n for n in CLASSES if "return_state" in LAYERS[n].args} - {"RNN"}
    assert with_states == set(RECURRENT)


@pytest.mark.tf
@pytest.mark.parametrize("name", sorted(RECURRENT))
def test_state_outputs(name: str) -> None:
    args, shape = RECURRENT[name]
    outputs = _cls(name)(**args, return_state=True)(_keras().Input(shape))
    assert len(outputs) - 1 == LAYERS[name].state_outputs


def test_no_state_outputs_without_return_state() -> None:
    for name in CLASSES:
        layer = LAYERS[name]
        if "return_state" not in layer.args:
            assert layer.state_outputs == 0, name


# (type, arguments, call constants, input shape): count_outputs must match Keras.
OUTPUT_CASES: list[tuple[dict[str, Any], dict[str, Any], tuple[int, ...]]] = [
    ({"type": "LSTM", "units": 3, "return_state": True}, {}, (5, 4)),
    ({"type": "GRU", "units": 3, "return_state": True}, {}, (5, 4)),
    ({"type": "RNN", "cell": {"type": "LSTMCell", "units": 3}, "return_state": True}, {}, (5, 4)),
    ({"type": "RNN", "cell": {"type": "GRUCell", "units": 3}, "return_state": True}, {}, (5, 4)),
    (
        {
            "type": "RNN",
            "return_state": True,
            "cell": {
                "type": "StackedRNNCells",
                "cells": [{"type": "LSTMCell", "units": 3}, {"type": "GRUCell", "units": 2}],
            },
        },
        {},
        (5, 4),
    ),
    ({"type": "Bidirectional", "layer": {"type": "LSTM", "units": 3}}, {}, (5, 4)),
    (
        {"type": "Bidirectional", "layer": {"type": "LSTM", "units": 3, "return_state": True}},
        {},
        (5, 4),
    ),
    (
        {
            "type": "Bidirectional",
            "merge_mode": None,
            "layer": {"type": "GRU", "units": 3, "return_state": True},
        },
        {},
        (5, 4),
    ),
    (
        {"type": "ConvLSTM1D", "filters": 2, "kernel_size": 3, "return_state": True},
        {},
        (3, 6, 2),
    ),
    ({"type": "Attention"}, {"return_attention_scores": True}, (3, 4)),
    ({"type": "Dense", "units": 2}, {}, (4,)),
]


def _make(node: dict[str, Any]) -> Any:
    """A Keras layer from a kspec node mapping (nested layers included)."""
    args = {}
    for key, value in node.items():
        if key == "type":
            continue
        marker = LAYERS[node["type"]].args[key].get("$kspec")
        if marker == "nested_layer":
            value = _make(value)
        elif marker == "nested_layers":
            value = [_make(v) for v in value]
        args[key] = value
    return _cls(node["type"])(**args)


@pytest.mark.tf
@pytest.mark.parametrize("node, call, shape", OUTPUT_CASES, ids=lambda v: str(v)[:40])
def test_count_outputs_matches_keras(
    node: dict[str, Any], call: dict[str, Any], shape: tuple[int, ...]
) -> None:
    keras = _keras()
    x = keras.Input(shape)
    inputs = [x, x] if node["type"] == "Attention" else x
    out = _make(node)(inputs, **call)
    n = len(out) if isinstance(out, (list, tuple)) else 1
    args = {k: v for k, v in node.items() if k != "type"}
    assert count_outputs(node["type"], args, call) == n


def test_cells_return_output_and_states() -> None:
    for name in ("LSTMCell", "GRUCell", "SimpleRNNCell", "StackedRNNCells"):
        assert count_outputs(name, {}, {}) == 2
    assert (LAYERS["LSTMCell"].cell_states, LAYERS["GRUCell"].cell_states) == (2, 1)


# -- registries ---------------------------------------------------------------------------

KINDS = ("initializers", "regularizers", "constraints")


@pytest.mark.tf
@pytest.mark.parametrize(
    "kind", ["activations", *KINDS, "optimizers", "losses", "metrics"]
)  # fmt: skip
def test_registry_names_work_in_keras(kind: str) -> None:
    module = getattr(_keras(), kind)
    names = registry_names(kind)
    assert names
    for name in names:
        with contextlib.suppress(ImportError):  # an optional package (stft: scipy)
            module.get(name)


@pytest.mark.tf
@pytest.mark.parametrize("kind", [*KINDS, "optimizers", "losses", "metrics"])
def test_registry_classes_deserialize_from_mappings(kind: str) -> None:
    """``{type: ClassName}`` becomes ``{"class_name": ..., "config": {...}}`` for Keras."""
    module = getattr(_keras(), kind)
    needs_args = {
        "IoU": {"num_classes": 2, "target_class_ids": [0]},
        "OneHotIoU": {"num_classes": 2, "target_class_ids": [0]},
        "MeanIoU": {"num_classes": 2},
        "OneHotMeanIoU": {"num_classes": 2},
        "PrecisionAtRecall": {"recall": 0.5},
        "RecallAtPrecision": {"precision": 0.5},
        "SensitivityAtSpecificity": {"specificity": 0.5},
        "SpecificityAtSensitivity": {"sensitivity": 0.5},
    }
    needs_args["Constant"] = {"value": 0.5}
    assert set(data()["registries"][kind].get("needs_arguments", ())) <= set(needs_args)
    for cls in registry_classes(kind):
        try:
            obj = module.get(keras_config({"type": cls, **needs_args.get(cls, {})}))
        except ImportError:  # needs an optional package (STFT: scipy)
            continue
        assert type(obj).__name__ == cls or kind in ("losses", "metrics"), cls


@pytest.mark.tf
def test_mapping_arguments_reach_keras() -> None:
    keras = _keras()
    layer = keras.layers.Dense(
        3,
        kernel_initializer=keras_config({"type": "HeNormal", "seed": 1}),
        kernel_regularizer=keras_config({"type": "L2", "l2": 0.01}),
        kernel_constraint=keras_config({"type": "MaxNorm", "max_value": 2}),
    )
    assert layer.kernel_initializer.seed == 1
    assert layer.kernel_regularizer.l2 == pytest.approx(0.01)
    assert layer.kernel_constraint.max_value == 2


def test_mapping_schemas() -> None:
    schema = LAYERS["Dense"].args["kernel_initializer"]
    assert registry_kind(schema) == "initializer"
    assert registry_kind(LAYERS["Dense"].args["activation"]) is None
    ok = _validator(schema)
    assert not list(ok.iter_errors({"type": "HeNormal", "seed": 1}))
    assert not list(ok.iter_errors("he_normal"))
    assert list(ok.iter_errors({"type": "HeNormal", "sed": 1}))
    assert list(ok.iter_errors({"type": "HeNormal", "module": "os"}))
    assert list(ok.iter_errors({"type": "NoSuchInitializer"}))
    assert list(ok.iter_errors("he_normall"))
    reg = _validator(LAYERS["Dense"].args["kernel_regularizer"])
    assert not list(reg.iter_errors({"type": "L2", "l2": 0.01}))
    assert not list(reg.iter_errors(None))
    assert list(reg.iter_errors({"type": "L2", "l2": "high"}))


# -- through kspec: arguments, refusals, compile ------------------------------------------

HEAD = "kspec: 1\nname: m\ninputs: {x: {shape: [4]}}\noutputs: d\n"


def _codes(text: str) -> list[str]:
    return [d.code for d in kspec.check_text(text)]


def test_initializer_mapping_checks_clean() -> None:
    text = HEAD + (
        "layers:\n  - {name: d, type: Dense, units: 2, kernel_initializer: {type: HeNormal, "
        "seed: 1}, kernel_regularizer: {type: L2, l2: 0.01}}\n"
    )
    assert _codes(text) == []
    bad = HEAD + "layers:\n  - {name: d, type: Dense, units: 2, kernel_initializer: {type: X}}\n"
    assert _codes(bad) == ["KS104"]


def test_vocabulary_file_paths_are_refused() -> None:
    text = (
        "kspec: 1\nname: m\ninputs: {x: {shape: [3], dtype: string}}\noutputs: d\n"
        "layers:\n  - {name: d, type: StringLookup, vocabulary: /etc/passwd}\n"
    )
    assert _codes(text) == ["KS102"]
    assert _codes(text.replace("/etc/passwd", "[a, b]")) == []


@pytest.mark.parametrize(
    "compile_, codes",
    [
        ("{optimizer: adam, loss: mse, metrics: [accuracy, acc, AUC]}", []),
        ("{optimizer: Adam, loss: crossentropy}", []),
        ("{optimizer: {type: Adam, learning_rate: 0.001}, loss: {type: Huber, delta: 2.0}}", []),
        ("{optimizer: adamm}", ["KS104"]),
        ("{optimizer: {type: Adamm}}", ["KS104"]),
        ("{loss: msee}", ["KS104"]),
        ("{metrics: [accuracy, acuracy]}", ["KS104"]),
        ("{loss: {d: mse}, metrics: {d: [mae]}, loss_weights: {d: 1.0}}", []),
    ],
)
def test_compile_names_are_checked(compile_: str, codes: list[str]) -> None:
    text = HEAD + "layers:\n  - {name: d, type: Dense, units: 2}\ncompile: " + compile_ + "\n"
    assert _codes(text) == codes


def test_refused_types_are_the_generated_ones() -> None:
    assert set(REFUSED) == set(data()["refused"])
    for name, reason in REFUSED.items():
        assert reason and name not in LAYERS
