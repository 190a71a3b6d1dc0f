"""Every Keras layer class is either usable from a spec or refused with a reason.

For every allowed class, a small spec uses it in a sensible context (an input of the right rank
and dtype, required arguments filled in); the spec must check clean, build in both targets, and
give the same parameter count and output shapes. The refused classes are listed exactly, and
allowed + refused must be every public ``keras.layers`` class, so a new Keras layer (or a newly
refused one) fails here until the catalog is regenerated and this table says how to use it.
"""

from __future__ import annotations

import importlib.util
import json
import re
from typing import Any

import pytest

keras = pytest.importorskip("keras")

import kspec  # noqa: E402
from kspec.schemas.catalog import ALIASES, LAYERS, REFUSED, canonical, count_outputs  # noqa: E402
from kspec.summary import static_summary  # noqa: E402
from kspec.verify import output_shapes, static_disagreements  # noqa: E402

pytestmark = pytest.mark.tf

# The refused classes, exactly (reasons in kspec/schemas/keras_layers.json and docs/layers.md).
EXPECTED_REFUSED = {
    "FlaxLayer",  # carries code
    "InputLayer",  # made by keras.Input from the spec's inputs:
    "JaxLayer",  # carries code
    "Lambda",  # carries code
    "Layer",  # abstract base: call() computes nothing
    "TFSMLayer",  # loads a SavedModel from a path
    "TorchModuleWrapper",  # carries code
    "Wrapper",  # abstract base: call() computes nothing
}

# Allowed classes that are only checked (kspec check), not built, and why.
CHECKED_ONLY: dict[str, str] = {
    # keras/src/layers/preprocessing/image_preprocessing/equalization.py: compute_output_spec
    # returns its input tensor itself, so a Functional model containing it fails with "Tensor ...
    # is part of a cycle" (the subclass target builds and runs).
    "Equalization": "Keras bug: its symbolic output is its input tensor (functional fails)",
}
if importlib.util.find_spec("scipy") is None:
    CHECKED_ONLY["STFTSpectrogram"] = "building it needs scipy, which is not installed"

# Layers whose weights `kspec summary --static` cannot count from the spec, and why.
NOT_COUNTED: dict[str, str] = {}

# -- contexts ------------------------------------------------------------------------------

VEC = {"x": {"shape": [4]}}
SEQ = {"x": {"shape": [6, 4]}}
IMG = {"x": {"shape": [8, 8, 3]}}
VOL = {"x": {"shape": [4, 4, 4, 2]}}
TOKENS = {"x": {"shape": [5], "dtype": "int32"}}
STRINGS = {"x": {"shape": [3], "dtype": "string"}}
PAIR = {"a": {"shape": [4]}, "b": {"shape": [4]}}
QV = {"q": {"shape": [3, 4]}, "v": {"shape": [5, 4]}}

# Values of required arguments, by name (a layer's own entry in CASES wins).
REQUIRED = {
    "activation": "relu",
    "axes": 1,
    "dims": [2, 1],
    "factor": 0.1,
    "filters": 2,
    "height": 4,
    "height_factor": 0.1,
    "input_dim": 10,
    "kernel_size": 3,
    "max_number": 2,
    "n": 3,
    "num_bins": 5,
    "output_dim": 4,
    "output_size": 2,
    "pool_size": 2,
    "rate": 0.5,
    "scale": 0.5,
    "stddev": 0.1,
    "target_shape": [2, 2],
    "units": 3,
    "width": 4,
    "width_factor": 0.1,
}


def _rank_inputs(name: str) -> dict[str, Any]:
    """Conv1D, Conv2DTranspose, ...: an input of the rank the name says."""
    match = re.search(r"([123])D", name)
    return {"1": SEQ, "2": IMG, "3": VOL}[match.group(1)] if match else VEC


# Layer -> (inputs, arguments, node `inputs:`); unlisted layers use _rank_inputs and REQUIRED.
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], Any]] = {
    # merging: two tensors
    **{n: (PAIR, {}, ["a", "b"]) for n in ("Add", "Average", "Maximum", "Minimum", "Multiply")},
    "Subtract": (PAIR, {}, ["a", "b"]),
    "Concatenate": (PAIR, {}, ["a", "b"]),
    "Dot": (PAIR, {"axes": 1}, ["a", "b"]),
    # attention
    "Attention": (QV, {}, ["q", "v"]),
    "AdditiveAttention": (QV, {}, ["q", "v"]),
    "MultiHeadAttention": (QV, {"num_heads": 2, "key_dim": 2}, {"query": "q", "value": "v"}),
    "GroupQueryAttention": (
        QV,
        {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1},
        {"query": "q", "value": "v"},
    ),
    # recurrent layers, cells and wrappers
    **{n: (SEQ, {"units": 3}, None) for n in ("LSTM", "GRU", "SimpleRNN")},
    "RNN": (SEQ, {"cell": {"type": "GRUCell", "units": 3}}, None),
    "LSTMCell": (SEQ, {"type": "RNN", "cell": {"type": "LSTMCell", "units": 3}}, None),
    "GRUCell": (SEQ, {"type": "RNN", "cell": {"type": "GRUCell", "units": 3}}, None),
    "SimpleRNNCell": (SEQ, {"type": "RNN", "cell": {"type": "SimpleRNNCell", "units": 3}}, None),
    "StackedRNNCells": (
        SEQ,
        {
            "type": "RNN",
            "cell": {
                "type": "StackedRNNCells",
                "cells": [{"type": "LSTMCell", "units": 3}, {"type": "GRUCell", "units": 2}],
            },
        },
        None,
    ),
    "Bidirectional": (SEQ, {"layer": {"type": "LSTM", "units": 3}}, None),
    "TimeDistributed": (SEQ, {"layer": {"type": "Dense", "units": 3}}, None),
    "SpectralNormalization": (VEC, {"layer": {"type": "Dense", "units": 3}}, None),
    "Pipeline": (
        VEC,
        {"layers": [{"type": "Dense", "units": 3}, {"type": "Dropout", "rate": 0.5}]},
        None,
    ),
    "ConvLSTM1D": ({"x": {"shape": [3, 6, 2]}}, {"filters": 2, "kernel_size": 3}, None),
    "ConvLSTM2D": ({"x": {"shape": [3, 6, 6, 2]}}, {"filters": 2, "kernel_size": 3}, None),
    "ConvLSTM3D": ({"x": {"shape": [3, 4, 4, 4, 2]}}, {"filters": 2, "kernel_size": 3}, None),
    # sequences
    "Masking": (SEQ, {}, None),
    "Permute": (SEQ, {"dims": [2, 1]}, None),
    "Reshape": (VEC, {"target_shape": [2, 2]}, None),
    "RepeatVector": (VEC, {"n": 3}, None),
    # integer and string inputs
    "Embedding": (TOKENS, {"input_dim": 10, "output_dim": 4}, None),
    "ReversibleEmbedding": (TOKENS, {"input_dim": 10, "output_dim": 4}, None),
    "CategoryEncoding": (TOKENS, {"num_tokens": 10}, None),
    "Hashing": (STRINGS, {"num_bins": 5}, None),
    "HashedCrossing": (
        {"a": {"shape": [1], "dtype": "int32"}, "b": {"shape": [1], "dtype": "int32"}},
        {"num_bins": 5},
        ["a", "b"],
    ),
    "StringLookup": (STRINGS, {"vocabulary": ["a", "b"]}, None),
    "IntegerLookup": ({"x": {"shape": [3], "dtype": "int64"}}, {"vocabulary": [1, 2, 3]}, None),
    "TextVectorization": (
        {"x": {"shape": [1], "dtype": "string"}},
        {"vocabulary": ["a", "b"], "output_sequence_length": 4},
        None,
    ),
    # numeric preprocessing
    "Normalization": (VEC, {"mean": 0.5, "variance": 2.0}, None),
    "Discretization": (VEC, {"bin_boundaries": [0.0, 1.0]}, None),
    "EinsumDense": (VEC, {"equation": "ab,bc->ac", "output_shape": 3}, None),
    "GroupNormalization": (VEC, {"groups": 2}, None),
    "MelSpectrogram": ({"x": {"shape": [2048]}}, {}, None),
    "STFTSpectrogram": ({"x": {"shape": [2048, 1]}}, {}, None),
    # images
    "Flatten": (IMG, {}, None),
    "Rescaling": (IMG, {"scale": 0.5}, None),
    "RandomPosterization": (IMG, {"factor": [1, 4], "value_range": [0, 255]}, None),
}

# Image preprocessing layers (augmentation and the like) take images.
_IMAGE_MODULE = "keras.src.layers.preprocessing.image_preprocessing"


def _case(name: str, cls: type) -> tuple[dict[str, Any], dict[str, Any], Any]:
    if name in CASES:
        return CASES[name]
    inputs = IMG if cls.__module__.startswith(_IMAGE_MODULE) else _rank_inputs(name)
    args = {a: REQUIRED[a] for a in LAYERS[name].required}
    return inputs, args, None


def spec_text(name: str, cls: type) -> str:
    inputs, args, node_inputs = _case(name, cls)
    node: dict[str, Any] = {"name": "probe", "type": name, **args}
    if node_inputs is not None:
        node["inputs"] = node_inputs
    spec = {
        "kspec": 1,
        "name": f"cover_{name.lower()}",
        "inputs": inputs,
        "layers": [node],
        "outputs": "probe",
    }
    return json.dumps(spec)  # JSON is YAML


# -- the public layer classes of the installed Keras -----------------------------------------


def _public_classes() -> dict[type, list[str]]:
    out: dict[type, list[str]] = {}
    for n in sorted(dir(keras.layers)):
        obj = getattr(keras.layers, n)
        if not n.startswith("_") and isinstance(obj, type) and issubclass(obj, keras.Layer):
            out.setdefault(obj, []).append(n)
    return out


PUBLIC = _public_classes()
ALL_NAMES = {n for names in PUBLIC.values() for n in names}
ALLOWED = sorted({canonical(n) for n in LAYERS})


def _class(name: str) -> type:
    cls = getattr(keras.layers, name)
    assert isinstance(cls, type)
    return cls


def test_refused_classes_are_exactly_the_expected() -> None:
    refused_classes = {canonical(n) for n in REFUSED}
    assert refused_classes == EXPECTED_REFUSED
    for name in REFUSED:
        assert REFUSED[name], f"{name}: refused without a reason"


def test_allowed_and_refused_are_every_public_layer_class() -> None:
    assert set(LAYERS) | set(REFUSED) == ALL_NAMES
    assert not set(LAYERS) & set(REFUSED)
    # aliases are the same class as their canonical name
    for alias, name in ALIASES.items():
        assert _class(alias) is _class(name), alias
    # one entry per class: every name of a class is allowed, or every name refused
    for names in PUBLIC.values():
        assert len({n in LAYERS for n in names}) == 1, names
    assert len(ALLOWED) + len(EXPECTED_REFUSED) == len(PUBLIC)


def test_every_allowed_layer_has_a_context() -> None:
    missing = [
        n
        for n in ALLOWED
        if n not in CASES
        and any(a not in REQUIRED for a in LAYERS[n].required)
        and n not in CHECKED_ONLY
    ]
    assert not missing, f"add these layers to CASES (or REQUIRED values): {missing}"


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_layer_is_an_error(name: str) -> None:
    text = json.dumps(
        {"kspec": 1, "name": "m", "inputs": VEC, "layers": [{"name": "l", "type": name}],
         "outputs": "l"}
    )  # fmt: skip
    diags = kspec.check_text(text)
    assert [d.code for d in diags] == ["KS108"], [str(d) for d in diags]
    assert REFUSED[name] in diags[0].message


@pytest.mark.parametrize("alias", sorted(a for a in ALIASES if a in LAYERS))
def test_alias_checks_clean(alias: str) -> None:
    text = spec_text(alias, _class(alias))
    assert kspec.check_text(text) == []


@pytest.mark.parametrize("name", ALLOWED)
def test_layer_builds_in_both_targets(name: str) -> None:
    cls = _class(name)
    text = spec_text(name, cls)
    diags = kspec.check_text(text)
    assert diags == [], [str(d) for d in diags]
    if name in CHECKED_ONLY:
        pytest.skip(f"checked only: {CHECKED_ONLY[name]}")
    spec = kspec.loads(text)
    results = {}
    for target in ("functional", "subclass"):
        keras.backend.clear_session()
        model = kspec.build_model(spec, target)
        results[target] = (int(model.count_params()), output_shapes(spec, model))
        if target == "functional":  # kspec summary --static agrees with the built layer
            summary = static_summary(spec)
            assert static_disagreements(summary, model) == []
            counted = summary.rows[-1].count is not None
            assert counted == (name not in NOT_COUNTED), NOT_COUNTED.get(name, "now counted")
    keras.backend.clear_session()
    assert results["functional"] == results["subclass"], results
    node = json.loads(text)["layers"][0]
    args = {k: v for k, v in node.items() if k not in ("name", "type", "inputs", "call")}
    assert count_outputs(node["type"], args, node.get("call", {})) == len(results["functional"][1])


def test_keras_object_mappings_build() -> None:
    """``{type: HeNormal, seed: 1}`` reaches Keras as ``{"class_name": ..., "config": ...}``."""
    text = json.dumps(
        {
            "kspec": 1,
            "name": "mappings",
            "inputs": VEC,
            "layers": [
                {
                    "name": "probe",
                    "type": "Dense",
                    "units": 3,
                    "kernel_initializer": {"type": "HeNormal", "seed": 1},
                    "kernel_regularizer": {"type": "L2", "l2": 0.01},
                    "kernel_constraint": {"type": "MaxNorm", "max_value": 2},
                    "bias_initializer": {"type": "Constant", "value": 0.5},
                }
            ],
            "outputs": "probe",
        }
    )
    assert kspec.check_text(text) == []
    spec = kspec.loads(text)
    for target in ("functional", "subclass"):
        keras.backend.clear_session()
        layer = kspec.build_model(spec, target).get_layer("probe")
        assert layer.kernel_initializer.seed == 1
        assert layer.kernel_regularizer.l2 == pytest.approx(0.01)
        assert layer.kernel_constraint.max_value == 2
        assert float(layer.bias.numpy()[0]) == pytest.approx(0.5)
    keras.backend.clear_session()


def test_nested_layer_lists_are_checked() -> None:
    """Each layer of a Pipeline's ``layers`` (a StackedRNNCells' ``cells``) is checked."""
    text = json.dumps(
        {
            "kspec": 1,
            "name": "nested",
            "inputs": VEC,
            "layers": [
                {
                    "name": "probe",
                    "type": "Pipeline",
                    "layers": [{"type": "Dense", "unit": 3}, {"type": "Lambda"}],
                }
            ],
            "outputs": "probe",
        }
    )
    codes = sorted(d.code for d in kspec.check_text(text))
    assert codes == ["KS101", "KS108"], codes  # unknown `unit` (it needs `units`), Lambda
