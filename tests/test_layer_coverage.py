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
from typing import Any

import pytest

keras = pytest.importorskip("keras")

import kspec  # noqa: E402
from kspec.layers import ALIASES, LAYERS, REFUSED, canonical, count_outputs  # noqa: E402
from kspec.layers.args import VEC  # noqa: E402
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
# Layers whose output shapes static inference leaves unknown in their example, and why.
NOT_SHAPED: dict[str, str] = {
    "HashedCrossing": "its output shape depends on the inputs' structure at run time",
    "MelSpectrogram": "no rule yet: frames and bins follow from several arguments",
    "STFTSpectrogram": "no rule yet: frames and bins follow from several arguments",
}

# -- contexts: each layer's record gives the smallest spec it is used in ----------------------


def spec_text(name: str) -> str:
    layer = LAYERS[name]
    example = layer.example
    assert example is not None, f"{name}: its record in kspec/layers/ has no example"
    node: dict[str, Any] = {"name": "probe", "type": example.node_type or name, **example.args}
    if example.node_inputs is not None:
        node["inputs"] = example.node_inputs
    spec = {
        "kspec": 1,
        "name": f"cover_{name.lower()}",
        "inputs": dict(example.inputs),
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


def test_every_allowed_layer_has_an_example() -> None:
    missing = [n for n in ALLOWED if LAYERS[n].example is None]
    assert not missing, f"give these layers' records an example: {missing}"


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
    text = spec_text(alias)
    assert kspec.check_text(text) == []


@pytest.mark.parametrize("name", ALLOWED)
def test_layer_builds_in_both_targets(name: str) -> None:
    text = spec_text(name)
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
            shaped = all(s is not None for s in summary.rows[-1].shapes)
            assert shaped == (name not in NOT_SHAPED), NOT_SHAPED.get(name, "now shaped")
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
