"""Property tests of `kspec import`: drawn Keras models are imported and rebuilt.

* models built from drawn specs (``kspec.testing.specs``, with blocks: nested models) and
  random Keras graphs (Dense stacks, merges, shared layers, nested Sequential models, units
  repeated under Keras-style names) import to a spec that checks clean, and both targets rebuilt
  from it match the original: parameter count, output shapes, outputs with its weights;
* graphs that also use ``keras.ops`` on tensors import without an internal error: op nodes, or
  a KS914 error naming the operation.

Each example builds several models, so these run a tenth of the profile's examples.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

pytest.importorskip("hypothesis")
pytest.importorskip("tensorflow")

from hypothesis import given, settings
from hypothesis import strategies as st

import kspec
from kspec.diagnostics import KspecError
from kspec.testing import specs

pytestmark = pytest.mark.tf
EXAMPLES = max(5, settings().max_examples // 10)
WIDTHS = [4, 6]


def _round_trip(original: Any) -> str:
    from kspec.importer import to_spec
    from kspec.importer.roundtrip import compare

    text = to_spec(original)
    errors = [d for d in kspec.check_text(text) if d.severity == "error"]
    assert not errors, text + "\n".join(f"{d.code}: {d.message}" for d in errors)
    result = compare(original, kspec.loads(text))
    assert result.ok, text + "\n" + "\n".join(result.problems)
    return text


@settings(max_examples=EXAMPLES)
@given(specs(max_nodes=8))
def test_models_built_from_drawn_specs_round_trip(text: str) -> None:
    _round_trip(kspec.build_model(kspec.loads(text)))


# -- random Keras graphs ----------------------------------------------------------------------

_STEP = st.one_of(
    st.tuples(st.just("dense"), st.sampled_from(WIDTHS), st.sampled_from([None, "relu"])),
    st.tuples(st.just("norm"), st.sampled_from(["batch", "layer"])),
    st.tuples(st.just("dropout"), st.sampled_from([0.1, 0.5])),
    st.tuples(st.just("merge"), st.sampled_from(["add", "multiply", "concatenate"])),
    st.tuples(st.just("share")),
    st.tuples(st.just("sequential"), st.lists(st.sampled_from(WIDTHS), min_size=1, max_size=3)),
    st.tuples(st.just("units"), st.integers(2, 4), st.sampled_from(["unit", "stage_"])),
)
_OP = st.tuples(st.just("op"), st.sampled_from(["add", "multiply", "relu", "concat", "slice"]))


def _build(plan: list[tuple[Any, ...]], n_inputs: int, n_outputs: int) -> Any:
    """A Functional model following ``plan``: each step reads the latest tensors."""
    import keras
    from keras import layers, ops

    inputs = [keras.Input((WIDTHS[0],), name=f"in{i}") for i in range(n_inputs)]
    tensors = list(inputs)
    count = 0

    def name(kind: str) -> str:
        nonlocal count
        count += 1
        return f"{kind}{count}"

    for step in plan:
        x = tensors[-1]
        kind = step[0]
        if kind == "dense":
            y = layers.Dense(step[1], activation=step[2], name=name("dense"))(x)
        elif kind == "norm":
            cls = layers.BatchNormalization if step[1] == "batch" else layers.LayerNormalization
            y = cls(name=name("norm"))(x)
        elif kind == "dropout":
            y = layers.Dropout(step[1], name=name("drop"))(x)
        elif kind == "merge":
            others = [t for t in tensors[:-1] if t.shape[-1] == x.shape[-1]] or [x]
            merge = {"add": layers.Add, "multiply": layers.Multiply}.get(step[1])
            if merge is None:
                y = layers.Concatenate(name=name("cat"))([x, tensors[0]])
            else:
                y = merge(name=name(step[1]))([x, others[-1]])
        elif kind == "share":
            dense = [t for t in tensors if "dense" in t._keras_history.operation.name]
            layer = dense[-1]._keras_history.operation if dense else None
            if layer is None or layer.input.shape[-1] != x.shape[-1]:
                continue
            y = layer(x)
        elif kind == "sequential":
            seq = keras.Sequential([layers.Dense(w) for w in step[1]], name=name("seq"))
            y = seq(x)
        elif kind == "units":  # repeated structure, named the way keras.applications does
            prefix = name(step[2])
            y = x
            for k in range(1, step[1] + 1):
                p = f"{prefix}_{k}" if step[2].endswith("_") else f"{prefix}b{k}"
                h = layers.Dense(int(y.shape[-1]), name=f"{p}_1_dense")(y)
                h = layers.ReLU(name=f"{p}_1_relu")(h)
                h = layers.Dense(int(y.shape[-1]), name=f"{p}_2_dense")(h)
                y = layers.Add(name=f"{p}_add")([y, h])
        else:  # a keras.ops call
            op = step[1]
            if op == "add":
                y = x + 1.0
            elif op == "multiply":
                y = x * tensors[0] if x.shape == tensors[0].shape else 0.5 * x
            elif op == "relu":
                y = ops.relu(x)
            elif op == "concat":
                y = ops.concatenate([x, x], axis=-1)
            else:
                y = x[:, :2]
        tensors.append(y)
    tensors.append(layers.Dense(2, name="head")(tensors[-1]))
    outputs = tensors[n_inputs:][-n_outputs:]
    return keras.Model(inputs, outputs[0] if len(outputs) == 1 else outputs, name="drawn")


@settings(max_examples=EXAMPLES)
@given(st.lists(_STEP, min_size=1, max_size=7), st.integers(1, 2), st.integers(1, 2))
def test_random_keras_graphs_round_trip(plan: list[Any], n_inputs: int, n_outputs: int) -> None:
    original = _build(plan, n_inputs, n_outputs)
    _round_trip(original)


@settings(max_examples=EXAMPLES)
@given(st.lists(st.one_of(_STEP, _OP), min_size=1, max_size=7))
def test_graphs_with_ops_import_or_say_why(plan: list[Any]) -> None:
    from kspec.importer import to_spec

    original = _build(plan, 1, 1)
    n_ops = sum(1 for op in original.operations if type(op).__module__.startswith("keras.src.ops"))
    try:
        text = to_spec(original)
    except KspecError as exc:
        [d] = exc.diagnostics
        assert d.code == "KS914" and re.search(
            r"operation GetItem 'get_item(_[0-9]+)?'", d.message
        ), d.message
        return
    assert text.count(", op: ") == n_ops
