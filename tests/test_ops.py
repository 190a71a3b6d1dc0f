"""Tensor ops (op nodes): every op of the registry, in the context its record gives, checks
clean, has a static shape, builds in both targets, and gives Keras' shape and the same outputs;
the checker reports wrong op nodes at the line; the generated call is the op itself."""

from __future__ import annotations

import json
from typing import Any

import pytest

import kspec
from kspec.layers import OPS, ShapeError, apply_op, op_outputs
from kspec.layers.base import Call

N = None


def spec_text(name: str) -> str:
    example = OPS[name].example
    assert example is not None, f"{name}: its record has no example"
    node: dict[str, Any] = {"name": "probe", "op": name, **example.args}
    if example.node_inputs is not None:
        node["inputs"] = example.node_inputs
    outputs = op_outputs(name, example.args)
    spec = {
        "kspec": 1,
        "name": f"op_{name}",
        "inputs": dict(example.inputs),
        "layers": [node],
        "outputs": "probe" if outputs == 1 else [f"probe[{i}]" for i in range(outputs)],
    }
    return json.dumps(spec)


def codes(text: str) -> list[tuple[str, int]]:
    return [(d.code, d.line) for d in kspec.check_text(text) if d.severity == "error"]


@pytest.mark.parametrize("name", sorted(OPS))
def test_example_checks_clean_with_a_static_shape(name: str) -> None:
    spec = kspec.loads(spec_text(name))
    shapes = spec.walk.shapes[("probe",)]
    assert shapes and all(s is not None for s in shapes), shapes


@pytest.mark.tf
@pytest.mark.parametrize("name", sorted(OPS))
def test_op_builds_in_both_targets_with_keras_shapes(name: str) -> None:
    keras = pytest.importorskip("keras")
    import numpy as np

    from kspec.compiler.runtime import copy_weights
    from kspec.verify import output_shapes, sample_inputs

    spec = kspec.loads(spec_text(name))
    models = {t: kspec.build_model(spec, t) for t in ("functional", "subclass")}
    static = [tuple(s) for s in spec.walk.model_outputs(spec)]
    for model in models.values():
        assert output_shapes(spec, model) == static
        assert model.count_params() == 0
    copy_weights(models["functional"], models["subclass"])
    x = sample_inputs(spec)
    if name in ("slice",):  # its size is fixed, batch axis included
        x = np.ones((2, 4), "float32")
    a, b = (np.asarray(m(x, training=False)) for m in models.values())
    assert a.shape == b.shape and a.dtype == b.dtype
    assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    keras.backend.clear_session()


CONTEXT = "kspec: 1\nname: m\ninputs:\n  x: {shape: [8]}\n  y: {shape: [4]}\nlayers:\n"


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ("{name: o, op: multipy, inputs: x, x2: 0.5}", [("KS110", 7)]),
        ("{name: o, op: add, x1: 1, x2: 2}", [("KS210", 7)]),
        ("{name: o, op: add, inputs: {x3: x}}", [("KS210", 7), ("KS211", 7)]),
        ("{name: o, op: multiply, inputs: [x, x, x]}", [("KS210", 7)]),
        ("{name: o, op: mean, inputs: x, axis: x}", [("KS102", 7)]),
        ("{name: o, op: mean, inputs: x, axes: 1}", [("KS101", 7)]),
        ("{name: o, op: add, inputs: [x, y]}", [("KS401", 7)]),
        ("{name: o, op: transpose, inputs: x, axes: [0, 0]}", [("KS406", 7)]),
        ("{name: o, op: multiply, inputs: nope, x2: 2}", [("KS202", 7)]),
        ("{name: o, op: add, type: Dense, inputs: x}", [("KS104", 7)]),
    ],
)
def test_wrong_op_nodes_are_reported_at_the_line(node: str, expected: list[Any]) -> None:
    found = [(d.code, d.line) for d in kspec.check_text(CONTEXT + f"  - {node}\noutputs: o\n")]
    assert sorted(found) == sorted(expected)


def test_split_into_unequal_sections_is_reported() -> None:
    text = CONTEXT + (
        "  - {name: o, op: split, inputs: x, indices_or_sections: 3, axis: -1}\n"
        'outputs: ["o[0]", "o[1]", "o[2]"]\n'
    )
    assert codes(text) == [("KS405", 7)]


def test_an_implicit_input_fills_the_first_free_operand() -> None:
    text = CONTEXT + (
        "  - {name: h, type: Dense, units: 4, inputs: x}\n"
        "  - {name: one_minus, op: subtract, x1: 1.0}\n"  # x2 is h
        "  - {name: both, op: concatenate, inputs: [one_minus, y], axis: -1}\n"
        "outputs: both\n"
    )
    spec = kspec.loads(text)
    node = spec.graph.nodes[1]
    assert dict(node.inputs.refs)["x2"].node == "h"
    assert spec.walk.shapes[("both",)] == [(N, 8)]
    source = kspec.to_source(spec, "functional")
    assert "one_minus = tf.keras.ops.subtract(1.0, h)" in source
    assert "both = tf.keras.ops.concatenate([one_minus, y], axis=-1)" in source


def test_expressions_in_op_arguments_stay_expressions() -> None:
    text = (
        "kspec: 1\nname: m\nparams: {scale: 0.5, axis: -1}\ninputs:\n  x: {shape: [8]}\n"
        "layers:\n  - {name: s, op: multiply, x2: $scale}\n"
        "  - {name: m, op: mean, axis: $axis, keepdims: true}\noutputs: m\n"
    )
    source = kspec.to_source(kspec.loads(text), "subclass")
    assert "s = tf.keras.ops.multiply(x, self.scale)" in source
    assert "m = tf.keras.ops.mean(s, axis=self.axis, keepdims=True)" in source


@pytest.mark.parametrize(
    ("op", "args", "inputs", "expected"),
    [
        ("add", {}, {"x1": (N, 4, 1), "x2": (N, 1, 5)}, [(N, 4, 5)]),
        ("multiply", {"x2": 0.5}, {"x1": (N, 3), "x2": ()}, [(N, 3)]),
        ("where", {"x2": 0.0}, {"condition": (N, 3), "x1": (N, 3), "x2": ()}, [(N, 3)]),
        ("mean", {"axis": [1, 2]}, {"x": (N, 4, 5, 6)}, [(N, 6)]),
        ("sum", {}, {"x": (N, 4)}, [()]),
        ("max", {"axis": -1, "keepdims": True}, {"x": (N, 4)}, [(N, 1)]),
        ("reshape", {"newshape": [-1, 2, 6]}, {"x": (N, 3, 4)}, [(N, 2, 6)]),
        ("reshape", {"newshape": [-1, 2, 6]}, {"x": (N, N, 4)}, [(N, 2, 6)]),
        ("transpose", {"axes": [0, 2, 1]}, {"x": (N, 3, 4)}, [(N, 4, 3)]),
        ("transpose", {}, {"x": (N, 3, 4)}, [(4, 3, N)]),
        ("expand_dims", {"axis": 1}, {"x": (N, 3)}, [(N, 1, 3)]),
        ("squeeze", {"axis": -1}, {"x": (N, 3, 1)}, [(N, 3)]),
        ("repeat", {"repeats": 2, "axis": 1}, {"x": (N, 3)}, [(N, 6)]),
        ("tile", {"repeats": [1, 3]}, {"x": (N, 2)}, [(N, 6)]),
        ("concatenate", {"axis": 1}, {"xs": [(N, 2), (N, 3)]}, [(N, 5)]),
        ("stack", {"axis": 1}, {"x": [(N, 2), (N, 2)]}, [(N, 2, 2)]),
        ("split", {"indices_or_sections": 2, "axis": 1}, {"x": (N, 6)}, [(N, 3), (N, 3)]),
        ("split", {"indices_or_sections": [1, 4], "axis": 1}, {"x": (N, 6)},
         [(N, 1), (N, 3), (N, 2)]),
        ("take", {"indices": [0, 2], "axis": 1}, {"x": (N, 5, 3)}, [(N, 2, 3)]),
        ("take", {"indices": 1, "axis": 1}, {"x": (N, 5, 3)}, [(N, 3)]),
        ("matmul", {}, {"x1": (N, 3, 4), "x2": (N, 4, 5)}, [(N, 3, 5)]),
        ("matmul", {}, {"x1": (N, 4), "x2": (4, 5)}, [(N, 5)]),
        ("einsum", {"subscripts": "bij,bjk->bik"}, {"operands": [(N, 3, 4), (N, 4, 5)]},
         [(N, 3, 5)]),
        ("slice", {"start_indices": [0, 1], "shape": [2, 2]}, {"inputs": (N, 4)}, [(2, 2)]),
        ("swapaxes", {"axis1": 1, "axis2": -1}, {"x": (N, 3, 4, 5)}, [(N, 5, 4, 3)]),
        ("moveaxis", {"source": -1, "destination": 1}, {"x": (N, 3, 4, 5)}, [(N, 5, 3, 4)]),
        ("moveaxis", {"source": [1, 2], "destination": [-1, -2]}, {"x": (N, 3, 4, 5)},
         [(N, 5, 4, 3)]),
        ("cumsum", {"axis": 1}, {"x": (N, 3, 4)}, [(N, 3, 4)]),
        ("cumsum", {}, {"x": (2, 3, 4)}, [(24,)]),
        ("cumprod", {}, {"x": (N, 3)}, [(N,)]),
        ("tril", {"k": 1}, {"x": (N, 3, 3)}, [(N, 3, 3)]),
        ("logsumexp", {"axis": -1}, {"x": (N, 3, 4)}, [(N, 3)]),
        ("arctan2", {}, {"x1": (N, 3, 1), "x2": (N, 1, 4)}, [(N, 3, 4)]),
    ],
)  # fmt: skip
def test_rules(op: str, args: dict[str, Any], inputs: Any, expected: Any) -> None:
    assert apply_op(Call(op, args, inputs)) == expected


def test_rule_errors_say_how_to_fix() -> None:
    for op, args, inputs in [
        ("add", {}, {"x1": (N, 4), "x2": (N, 3)}),
        ("reshape", {"newshape": [-1, 3]}, {"x": (2, 8)}),
        ("split", {"indices_or_sections": 3, "axis": -1}, {"x": (N, 8)}),
        ("matmul", {}, {"x1": (N, 3, 4), "x2": (N, 5, 2)}),
        ("einsum", {"subscripts": "bij,bjk->bik"}, {"operands": [(N, 3, 4), (N, 5, 2)]}),
        ("squeeze", {"axis": 1}, {"x": (N, 3)}),
        ("swapaxes", {"axis1": 1, "axis2": 3}, {"x": (N, 3, 4)}),
        ("moveaxis", {"source": [1, 2], "destination": [0, 0]}, {"x": (N, 3, 4)}),
        ("triu", {}, {"x": (N,)}),
        ("cumsum", {"axis": 2}, {"x": (N, 3)}),
    ]:
        with pytest.raises(ShapeError) as info:
            apply_op(Call(op, args, inputs))
        assert info.value.code.startswith("KS4") and info.value.hint


@pytest.mark.tf
@pytest.mark.parametrize("name", sorted(OPS))
def test_op_matches_the_keras_signature(name: str) -> None:
    import inspect

    keras = pytest.importorskip("keras")
    op = OPS[name]
    fn = getattr(keras.ops, name)
    params = [p.name for p in inspect.signature(fn).parameters.values() if p.kind != p.VAR_KEYWORD]
    assert tuple(params) == op.params, (name, params)
    assert set(op.tensors) <= set(op.params) and set(op.args) <= set(op.params)
    assert set(op.constants) <= set(op.tensors) & set(op.args)
    assert op.doc and all(schema.get("description") for schema in op.args.values())
