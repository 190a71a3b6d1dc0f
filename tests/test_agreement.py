"""The two targets agree beyond inference: with Keras masks, in training (BatchNormalization
and Dropout in training mode, shared layers), saved and loaded, exported as a SavedModel, and as
standalone modules of a model too deep for Python's default recursion limit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from timing import HANG

import kspec
from kspec.cli import main

pytestmark = pytest.mark.tf
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
TARGETS = ("functional", "subclass")

# An Embedding with mask_zero feeding a MultiHeadAttention and a pooling layer: the subclass
# target used to lose the pooling layer's mask (MultiHeadAttention clears its inputs' masks).
MASKED = """\
kspec: 1
name: masked
inputs:
  tokens: {shape: [6], dtype: int32}
layers:
  - {name: embed, type: Embedding, input_dim: 10, output_dim: 8, mask_zero: true}
  - {name: attn, type: MultiHeadAttention, num_heads: 2, key_dim: 4, inputs: [embed, embed]}
  - {name: pooled_embed, type: GlobalAveragePooling1D, inputs: embed}
  - {name: pooled_attn, type: GlobalAveragePooling1D, inputs: attn}
outputs: [pooled_embed, pooled_attn]
"""

# Dense -> BatchNormalization -> tanh -> Add, three times: the subclass target used to run the
# blocks' BatchNormalization in inference mode inside fit()/train_on_batch.
BATCHNORM = """\
kspec: 1
name: bn_steps
inputs:
  x: {shape: [4]}
blocks:
  step:
    inputs: [x]
    layers:
      - {name: dense, type: Dense, units: 4}
      - {name: bn, type: BatchNormalization}
      - {name: act, type: Activation, activation: tanh}
      - {name: add, type: Add, inputs: [act, x]}
    outputs: add
layers:
  - {name: body, block: step, repeat: 3, inputs: x}
  - {name: head, type: Dense, units: 1}
outputs: head
"""

# A BatchNormalization and a Dropout each shared by two branches, Dropout inside a block and in
# MultiHeadAttention: every random draw and every moving-statistics update in the same order.
SHARED = """\
kspec: 1
name: shared
inputs:
  a: {shape: [5, 4]}
  b: {shape: [5, 4]}
blocks:
  noisy:
    inputs: [x]
    layers:
      - {name: dense, type: Dense, units: 4}
      - {name: drop, type: Dropout, rate: 0.5}
    outputs: drop
layers:
  - {name: da, type: Dense, units: 4, inputs: a}
  - {name: db, type: Dense, units: 4, inputs: b}
  - {name: bn, type: BatchNormalization, inputs: da}
  - {name: bn_b, share: bn, inputs: db}
  - {name: drop, type: Dropout, rate: 0.5, inputs: bn}
  - {name: drop_b, share: drop, inputs: bn_b}
  - {name: attn, type: MultiHeadAttention, num_heads: 2, key_dim: 2, dropout: 0.3,
     inputs: [drop, drop_b]}
  - {name: body, block: noisy, repeat: 2, inputs: attn}
  - {name: flat, type: Flatten}
  - {name: head, type: Dense, units: 1}
outputs: head
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_verify_agrees_on_a_masked_embedding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(_write(tmp_path, "masked", MASKED))]) == 0
    out = capsys.readouterr().out
    assert "max output difference with shared weights: 0\n" in out
    assert "the targets agree" in out


def test_masks_are_kept_for_every_reader(tmp_path: Path) -> None:
    """The pooled embedding is the masked mean (the padding positions do not count), in both
    targets; the generated subclass hands MultiHeadAttention copies that keep the mask."""
    import numpy as np

    from kspec.compiler.runtime import copy_weights

    spec = kspec.loads(MASKED)
    assert "self.attn(*keep_masks(embed, embed))" in kspec.to_source(spec, "subclass")
    models = {t: kspec.build_model(spec, t) for t in TARGETS}
    copy_weights(models["functional"], models["subclass"])
    tokens = np.array([[1, 2, 3, 0, 0, 0], [4, 5, 0, 0, 0, 0]], dtype="int32")
    table = np.asarray(models["functional"].get_layer("embed").embeddings)
    expected = np.stack([table[row[row > 0]].mean(axis=0) for row in tokens])
    for model in models.values():
        pooled, _ = model(tokens, training=False)
        np.testing.assert_allclose(np.asarray(pooled), expected, rtol=1e-6, atol=1e-6)


def test_strategy_draws_mask_zero() -> None:
    pytest.importorskip("hypothesis")
    from hypothesis import HealthCheck, Phase, find, settings

    from kspec.testing import specs

    quick = settings(
        max_examples=2000,
        database=None,
        derandomize=True,
        phases=[Phase.generate],  # the first one found: no shrinking
        suppress_health_check=list(HealthCheck),
    )
    found = find(specs(), lambda text: "mask_zero: true" in text, settings=quick)
    assert "mask_zero: true" in found


def _train_step_losses(spec: kspec.Spec) -> dict[str, tuple[float, float, float]]:
    """Per target: train_on_batch's loss (SGD, learning rate 0), and the loss of a direct call
    in training and in inference mode, from the same weights and batch."""
    import keras
    import numpy as np

    from kspec.compiler.runtime import copy_weights

    models = {t: kspec.build_model(spec, t) for t in TARGETS}
    copy_weights(models["functional"], models["subclass"])
    rng = np.random.default_rng(0)
    x = (3 * rng.standard_normal((8, 4)) + 1).astype("float32")
    y = rng.standard_normal((8, 1)).astype("float32")
    out = {}
    for target, model in models.items():
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
        direct = [float(np.mean((model(x, training=m) - y) ** 2)) for m in (True, False)]
        out[target] = (float(model.train_on_batch(x, y)), direct[0], direct[1])
    return out


def test_fit_trains_blocks_in_training_mode() -> None:
    """The case of a BatchNormalization inside a repeated block: train_on_batch gives the
    training-mode loss in both targets (it used to give the subclass's inference-mode loss)."""
    losses = _train_step_losses(kspec.loads(BATCHNORM))
    step, training, inference = losses["functional"]
    assert step == pytest.approx(training, rel=1e-6) and training != inference
    assert losses["subclass"] == pytest.approx(losses["functional"], rel=1e-6)


@pytest.mark.parametrize("text", [BATCHNORM, SHARED], ids=["batchnorm", "shared"])
def test_training_agrees(text: str) -> None:
    """train_on_batch, then a short fit: the same losses and the same weights afterwards
    (BatchNormalization's moving statistics included), Dropout drawing the same masks."""
    from kspec.verify_train import train_agreement

    spec = kspec.loads(text)
    functional, subclass = (kspec.build_model(spec, t) for t in TARGETS)
    result = train_agreement(spec, functional, subclass)
    assert result.ok, result.problems
    assert result.loss_difference == 0.0 and result.weight_difference == 0.0
    assert result.losses["functional"][0] != result.losses["functional"][1]  # it trained


def test_shared_layers_are_called_in_the_functional_order() -> None:
    source = kspec.to_source(kspec.loads(SHARED), "subclass")
    body = source[source.index("def call(self, inputs, training=None):") :]
    assert body.index("bn_b = self.bn(db)") < body.index("bn = self.bn(da)")
    assert "# in the order a Functional model runs them" in body


def test_verify_train_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--train", str(_write(tmp_path, "bn_steps", BATCHNORM))]) == 0
    out = capsys.readouterr().out
    assert "functional save/load round trip: max difference 0\n" in out
    assert "subclass save/load round trip: max difference 0\n" in out
    line = next(x for x in out.splitlines() if x.startswith("training (train_on_batch"))
    losses = line.split("losses ")[1].split(";")[0].split(" and ")
    assert losses[0] == losses[1]
    assert line.endswith("weights afterwards differ by up to 0")


def _serve(path: str, spec: kspec.Spec, x: Any, target: str) -> Any:
    """The SavedModel's `serve` endpoint on ``x``, in the structure the model was built with:
    the functional model's inputs are a list in the spec's order, the subclass model was called
    with a dict by name."""
    import tensorflow as tf

    served = tf.saved_model.load(path)
    if isinstance(x, dict) and target == "functional":
        x = [x[i.name] for i in spec.graph.inputs]
    return served.serve(x)


# Keras 3.15: TimeDistributed traced with an unknown time axis (a SavedModel's signature) takes
# the batch size for the time axis (outputs (4, 4, 8) for inputs of length 7): both targets.
KERAS_EXPORT_BUGS = {"seq2seq": "Keras' TimeDistributed in a tf.function with an unknown time axis"}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, marks=pytest.mark.xfail(reason=KERAS_EXPORT_BUGS[p.stem], strict=True))
        if p.stem in KERAS_EXPORT_BUGS
        else p
        for p in EXAMPLES
    ],
    ids=[p.stem for p in EXAMPLES],
)
def test_saved_model_export_serves_the_same_outputs(path: Path, tmp_path: Path) -> None:
    from kspec.compiler.runtime import copy_weights
    from kspec.verify import max_difference, sample_inputs

    spec = kspec.load(path)
    models = {t: kspec.build_model(spec, t) for t in TARGETS}
    copy_weights(models["functional"], models["subclass"])
    x = sample_inputs(spec)
    expected = models["functional"](x, training=False)
    for target, model in models.items():
        folder = str(tmp_path / target)
        model.export(folder, verbose=False)
        assert max_difference(expected, _serve(folder, spec, x, target)) <= 1e-6, target


# The chain's outputs overflow after 3,000 layers of random weights: the round trip is proven
# by the weights (every variable, in order) and the outputs on a small input, bit for bit.
DEEP_BUILD = """\
import sys
import numpy as np
from {module} import build_model
model = build_model()
assert sys.getrecursionlimit() == 1000  # Python's default, restored
model.save({saved!r})
np.save({weights!r}, np.concatenate([np.ravel(w) for w in model.get_weights()]))
np.save({outputs!r}, np.asarray(model(np.full((2, 8), 1e-3, "float32"))))
print(model.count_params())
"""
DEEP_LOAD = """\
import numpy as np
import tensorflow as tf
import {module}
load = getattr({module}, "load_model", tf.keras.models.load_model)
model = load({saved!r})
weights = np.concatenate([np.ravel(w) for w in model.get_weights()])
np.testing.assert_array_equal(weights, np.load({weights!r}))
y = np.asarray(model(np.full((2, 8), 1e-3, "float32")))
np.testing.assert_array_equal(y, np.load({outputs!r}))
print(type(model).__name__, weights.size)
"""


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS)
def test_3000_layer_modules_stand_alone(target: str, tmp_path: Path) -> None:
    """A 3,000-layer chain: the generated module builds in a plain interpreter at Python's
    default recursion limit (the functional module raises it while Keras recurses, then
    restores it), saves, and loads back in another interpreter the way its docstring says
    (the functional module's load_model; tf.keras.models.load_model for the subclass)."""
    spec_path = tmp_path / "chain_3000.yaml"
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from make_spec import chain_spec
    finally:
        sys.path.pop(0)
    spec_path.write_text(chain_spec(3000), encoding="utf-8")
    module = f"chain_{target}"
    out = str(tmp_path / f"{module}.py")
    assert main(["compile", str(spec_path), "--target", target, "-o", out]) == 0
    names = {
        "module": module,
        "saved": str(tmp_path / "m.keras"),
        "outputs": str(tmp_path / "y.npy"),
        "weights": str(tmp_path / "w.npy"),
    }
    loaded = "Functional" if target == "functional" else "Chain3000"
    for script, expect in ((DEEP_BUILD, ["108072"]), (DEEP_LOAD, [loaded, "108072"])):
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(script.format(**names))],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=HANG,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert proc.stdout.split()[-len(expect) :] == expect


@pytest.mark.parametrize("target", TARGETS)
def test_build_honours_the_callers_keras_settings(target: str) -> None:
    """kspec.build_model runs the module in the caller's thread: Keras keeps the dtype policy
    per thread, and a build on a thread of its own ignored mixed precision."""
    import keras

    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = kspec.build_model(ROOT / "examples" / "mnist_mlp.yaml", target)
    finally:
        keras.config.set_dtype_policy("float32")
    assert model.get_layer("hidden1").dtype_policy.name == "mixed_float16"


BLOCK_MAPPING = """
kspec: 1
name: block_mapping
inputs:
  x: {shape: [4]}
blocks:
  pair:
    inputs: [b, a]
    layers:
      - {name: s, type: Add, inputs: [b, a]}
    outputs: s
layers:
  - {name: first, type: Dense, units: 4, inputs: x}
  - {name: second, type: Dense, units: 4, inputs: x}
  - {name: p, block: pair, inputs: {a: first, b: second}}
outputs: p
"""


def test_a_block_takes_its_inputs_in_its_own_order_in_the_run_order() -> None:
    """A block instance is called with a list in the block's order (b, a), whatever order the
    mapping gives: Keras then runs `second` before `first`, and kspec's run order (which the
    subclass target follows when a layer is shared) says the same."""
    import keras

    from kspec.compiler.order import block_inputs_of, run_order

    spec = kspec.loads(BLOCK_MAPPING)
    model = kspec.build_model(spec, "functional")
    keras_order = [
        node.operation.name
        for depth in sorted(model._nodes_by_depth, reverse=True)
        for node in model._nodes_by_depth[depth]
        if not node.is_input and isinstance(node.operation, keras.layers.Layer)
    ]
    ours = [name for name, _ in run_order(spec.graph, {}, block_inputs_of(spec))]
    assert ours == keras_order == ["second", "first", "p"]
