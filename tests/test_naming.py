"""Identifiers in generated code (kspec/compiler/naming.py), checked against the installed Keras.

``MODEL_ATTRIBUTES`` lists the public attributes of ``keras.Model`` and ``keras.layers.Layer``
that a generated attribute (``self.<node name>``) must never shadow; a Keras release that adds
one fails here until the list has it.
"""

from __future__ import annotations

import keyword

import pytest

from kspec.compiler.naming import LOCAL_NAMES, MODEL_ATTRIBUTES, MODULE_NAMES, Namespace


@pytest.mark.tf
def test_model_attributes_cover_keras() -> None:
    keras = pytest.importorskip("keras")

    class Model(keras.Model):  # what the subclass target generates: a keras.Model subclass
        def call(self, inputs):
            return inputs

    model = Model()
    model(keras.Input((2,)))
    public = {n for n in dir(model) if not n.startswith("_")}
    public |= {n for n in dir(keras.layers.Layer) if not n.startswith("_")}
    assert public - MODEL_ATTRIBUTES == set()


@pytest.mark.parametrize(
    "wanted", ["class", "lambda", "self", "tf", "inputs", "build_model", "max", "_private", "1x"]
)
def test_fresh_names_are_safe(wanted: str) -> None:
    ns = Namespace(attributes=True)
    name = ns.fresh(wanted)
    assert name.isidentifier() and not keyword.iskeyword(name)
    assert name not in MODEL_ATTRIBUTES | MODULE_NAMES | LOCAL_NAMES
    assert not name.startswith("_")


def test_fresh_names_are_distinct_and_deterministic() -> None:
    first = [Namespace().fresh(n) for n in ("x", "x")]
    ns = Namespace()
    assert [ns.fresh("x"), ns.fresh("x"), ns.fresh("x")] == ["x", "x_", "x_2"]
    assert first == ["x", "x"]
