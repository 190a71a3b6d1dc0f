"""Property tests over random valid specs (``kspec.testing.specs``).

* every drawn spec checks clean;
* both targets build it and agree: parameter count, output structure and shapes, layer names
  (the spec's names, so weights match by name) and, with the functional model's weights copied
  into the subclass model, the outputs on the same data;
* ``kspec summary --static`` counts every layer's weights and agrees with the functional model
  row by row (type, output shapes, trainable and non-trainable weights) and in total;
* kspec's account of the order a Functional model runs its layers in (kspec/compiler/order.py,
  which the subclass target follows when a layer is shared) is Keras' own order;
* the same agreement under JAX (a subprocess with KERAS_BACKEND=jax: Keras fixes its backend
  at its first import; a quarter of the ci profile's examples), without importing TensorFlow;
* (fewer examples: each trains two models) both targets train alike: the same losses and
  weights after a ``train_on_batch`` step and a short ``fit`` (kspec/verify_train.py), and both
  save to ``.keras`` and load back with the same outputs.

The number of examples comes from the Hypothesis profile (tests/conftest.py; HYPOTHESIS_PROFILE).
"""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("hypothesis")

from hypothesis import given, settings

import kspec
from kspec.spec.ir import BlockNode, OpNode, ShareNode, node_instances
from kspec.testing import UNKNOWN_DIM, specs


@given(specs())
def test_drawn_specs_check_clean(text: str) -> None:
    errors = [d for d in kspec.check_text(text) if d.severity == "error"]
    assert not errors, "\n".join(f"{d.code} {d.pointer}: {d.message}" for d in errors)


@pytest.fixture(scope="module")
def keras() -> Any:
    from kspec.backend import PACKAGES, requested

    pytest.importorskip(PACKAGES[requested()])  # KERAS_BACKEND's package (tensorflow if unset)
    return pytest.importorskip("keras")


def _expected_layer_names(spec: kspec.Spec) -> list[str]:
    """The Keras layers a model of ``spec`` has at the top: one per ``type`` or ``block`` node,
    ``name_1`` .. ``name_N`` for a block node with ``repeat: N``; shares add none."""
    names: list[str] = []
    for node in spec.graph.nodes:
        if isinstance(node, ShareNode | OpNode):  # ops are operations, not layers, in Keras
            continue
        names += node_instances(node, spec.params) if isinstance(node, BlockNode) else [node.name]
    return sorted(names)


def _layer_names(keras: Any, model: Any) -> list[str]:
    return sorted(
        layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)
    )


def _structure(value: Any) -> Any:
    """The container structure of a model's outputs (tensors replaced by a marker)."""
    if isinstance(value, dict):
        return {k: _structure(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_structure(v) for v in value])
    return "tensor"


def _inputs(keras: Any, spec: kspec.Spec, model: Any, np: Any, seed: int) -> Any:
    """Random data for the model's inputs: a tensor, or a dict keyed by input name."""
    rng = np.random.default_rng(seed)
    embeddings = [
        layer.input_dim
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, keras.layers.Embedding)
    ]
    vocab = min(embeddings, default=1)
    data = {}
    for spec_input, tensor in zip(spec.graph.inputs, model.inputs, strict=True):
        shape = (2, *(UNKNOWN_DIM if d is None else d for d in tensor.shape[1:]))
        if "int" in str(tensor.dtype):
            data[spec_input.name] = rng.integers(0, vocab, size=shape).astype("int32")
        else:
            data[spec_input.name] = rng.standard_normal(shape).astype("float32")
    return data if len(data) > 1 else next(iter(data.values()))


def _symbolic(keras: Any, model: Any) -> Any:
    """Symbolic inputs like the model's: a tensor, or a list in the spec's input order (Keras
    routes a dict of symbolic tensors by sorted key, not by input name, in a Functional call)."""
    tensors = [keras.Input(batch_shape=t.shape, dtype=t.dtype) for t in model.inputs]
    return tensors if len(tensors) > 1 else tensors[0]


def _assert_same_shapes(keras: Any, a: Any, b: Any) -> None:
    assert _structure(a) == _structure(b)
    shapes_a = [tuple(t.shape) for t in keras.tree.flatten(a)]
    shapes_b = [tuple(t.shape) for t in keras.tree.flatten(b)]
    assert shapes_a == shapes_b


def _keras_run_order(keras: Any, model: Any) -> list[str]:
    """The layers a Functional model calls, in the order it calls them (its ops left out: Keras
    names them itself)."""
    return [
        node.operation.name
        for depth in sorted(model._nodes_by_depth, reverse=True)
        for node in model._nodes_by_depth[depth]
        if not node.is_input and isinstance(node.operation, keras.layers.Layer)
    ]


def _kspec_run_order(spec: kspec.Spec) -> list[str]:
    from kspec.compiler.order import block_inputs_of, run_order

    graph = spec.graph
    repeats = dict(zip([n.name for n in graph.nodes], _repeats(spec), strict=True))
    owner = {n.name: n.target if isinstance(n, ShareNode) else n.name for n in graph.nodes}
    ops = {n.name for n in graph.nodes if isinstance(n, OpNode)}
    return [
        owner[name] if k == 0 else f"{name}_{k}"
        for name, k in run_order(graph, repeats, block_inputs_of(spec))
        if name not in ops
    ]


def _repeats(spec: kspec.Spec) -> list[int]:
    return [
        len(node_instances(n, spec.params)) if isinstance(n, BlockNode) else 1
        for n in spec.graph.nodes
    ]


@pytest.mark.tf
@given(text=specs())
def test_targets_agree(keras: Any, text: str) -> None:
    import numpy as np

    from kspec.compiler.helpers import may_mask
    from kspec.compiler.runtime import copy_weights
    from kspec.summary import static_summary
    from kspec.verify import static_disagreements

    spec = kspec.loads(text)
    try:
        functional = kspec.build_model(spec, target="functional")
        subclass = kspec.build_model(spec, target="subclass")

        assert functional.count_params() == subclass.count_params()
        # kspec summary --static: every row and the totals, worked out without Keras
        summary = static_summary(spec)
        assert static_disagreements(summary, functional) == []
        assert summary.unknown == ()
        expected = _expected_layer_names(spec)
        assert _layer_names(keras, functional) == expected
        assert _layer_names(keras, subclass) == expected

        symbolic = _symbolic(keras, functional)
        _assert_same_shapes(keras, functional(symbolic), subclass(symbolic))

        if not may_mask(spec):  # Keras adds its mask computations to a masked model's graph
            assert _kspec_run_order(spec) == _keras_run_order(keras, functional)

        copied = copy_weights(functional, subclass)
        assert copied == len(functional.weights) == len(subclass.weights)

        data = _inputs(keras, spec, functional, np, zlib.crc32(text.encode()))
        got_functional = functional(data, training=False)
        got_subclass = subclass(data, training=False)
        _assert_same_shapes(keras, got_functional, got_subclass)
        for a, b in zip(
            keras.tree.flatten(got_functional), keras.tree.flatten(got_subclass), strict=True
        ):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)
    finally:
        keras.backend.clear_session()


# the agreement property in a process whose Keras runs on JAX, on a machine as if without
# TensorFlow: importing it fails (Keras itself probes for it, e.g. when it serializes the layer
# a Bidirectional wraps, and takes the failure as "not installed"); then whether it came in
_UNDER_JAX = """\
import sys, pytest

class NoTensorFlow:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "tensorflow":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoTensorFlow())
code = pytest.main(["-q", "-p", "no:cacheprovider", "-x", sys.argv[1] + "::test_targets_agree"])
print("tensorflow imported:", "tensorflow" in sys.modules)
sys.exit(code)
"""


@pytest.mark.tf
def test_targets_agree_under_jax() -> None:
    """The agreement property (params, shapes, outputs with copied weights) under JAX, with
    TensorFlow out of reach: the keras api code and kspec need nothing of it."""
    pytest.importorskip("jax")
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        pytest.skip("runs the JAX agreement from the TensorFlow suite only")
    root = Path(__file__).resolve().parent.parent
    profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "HYPOTHESIS_PROFILE": "ci-jax" if profile == "ci" else profile,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    run = subprocess.run(
        [sys.executable, "-c", _UNDER_JAX, str(Path(__file__))],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # a hang guard
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout
    assert "tensorflow imported: False" in run.stdout


@pytest.mark.tf
@settings(max_examples=max(settings().max_examples // 5, 5))
@given(text=specs())
def test_targets_train_alike_and_round_trip(keras: Any, text: str) -> None:
    import numpy as np

    from kspec.compiler.runtime import copy_weights
    from kspec.verify import roundtrip_outputs, sample_inputs
    from kspec.verify_train import TRAIN_TOLERANCE, train_agreement

    spec = kspec.loads(text)
    try:
        lowered = {t: kspec.lower(spec, t) for t in ("functional", "subclass")}
        models = {t: kspec.build_model(spec, target=t) for t in lowered}
        copy_weights(models["functional"], models["subclass"])
        x = sample_inputs(spec, seed=zlib.crc32(text.encode()), free=UNKNOWN_DIM)
        for target, model in models.items():
            before = model(x, training=False)
            after = roundtrip_outputs(lowered[target], model, x)
            for a, b in zip(keras.tree.flatten(before), keras.tree.flatten(after), strict=True):
                np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
        result = train_agreement(spec, models["functional"], models["subclass"], free=UNKNOWN_DIM)
        assert result.ok, result.problems
        assert result.loss_difference <= TRAIN_TOLERANCE
    finally:
        keras.backend.clear_session()
