"""``--weights``: pretrained weights into an edited spec, matched by layer name path.

A spec is trained with ``kspec fit --save``; the spec is then edited the usual ways (a new
head, a head of another size, a changed input size, a block repeated once more) and built with
``--weights``: the report names every layer with its spec line, unchanged layers compute what
they computed before, a shape mismatch is refused (KS908 at the layer's line) unless
``--partial``. Sources: ``.keras`` and ``.weights.h5`` of either target, ``module:function``
(only with ``--allow-import``), a Keras model in Python. ``fit --weights --freeze`` fine-tunes
the head only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import kspec
from kspec.cli import main

pytestmark = pytest.mark.tf
ROOT = Path(__file__).resolve().parent.parent

BASE = """\
kspec: 1
name: classifier
inputs:
  features: {shape: [8]}
layers:
  - {name: hidden1, type: Dense, units: 16, activation: relu}
  - {name: hidden2, type: Dense, units: 8, activation: relu}
  - {name: probs, type: Dense, units: 3, activation: softmax}
outputs: probs
compile: {optimizer: adam, loss: sparse_categorical_crossentropy}
"""
NEW_HEAD = BASE.replace("name: probs, type: Dense, units: 3", "name: labels, type: Dense, units: 5")
NEW_HEAD = NEW_HEAD.replace("outputs: probs", "outputs: labels")
RESIZED_HEAD = BASE.replace("units: 3", "units: 5")
WIDER_INPUT = BASE.replace("shape: [8]", "shape: [12]")


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """BASE trained one epoch with `kspec fit --save` (a .keras file), and its folder."""
    pytest.importorskip("tensorflow")
    import numpy as np

    folder = tmp_path_factory.mktemp("weights")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 0).astype("int32")
    data = folder / "data.npz"
    np.savez(data, x_train=x[:64], y_train=y[:64], x_test=x[64:], y_test=y[64:])
    spec = write(folder, "base.yaml", BASE)
    saved = folder / "base.keras"
    assert main(["fit", spec, "--data", str(data), "--epochs", "1", "--save", str(saved)]) == 0
    return {"folder": str(folder), "keras": str(saved), "data": str(data), "spec": spec}


def _hidden(model: Any, x: Any) -> Any:
    """hidden2's output: the part of the model an edited head leaves unchanged."""
    import keras

    return keras.Model(model.inputs, model.get_layer("hidden2").output)(x)


def test_new_head_loads_the_rest(
    trained: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    import keras
    import numpy as np

    folder = Path(trained["folder"])
    spec = write(folder, "new_head.yaml", NEW_HEAD)
    status, out, err = run(capsys, "summary", spec, "--weights", trained["keras"])
    assert status == 0, err
    assert err == (
        f"weights from {trained['keras']}:\n"
        f"  matched  hidden1  {spec}:6  2 arrays\n"
        f"  matched  hidden2  {spec}:7  2 arrays\n"
        f"  missing  labels   {spec}:8  not in the file: keeps its initial weights\n"
        f"  unused   probs    {'':<{len(spec) + 2}}  in the file only (2 arrays)\n"
        "loaded 2 of 3 layers with weights (4 of 6 arrays): 2 matched, 1 missing from the "
        "file, 0 mismatched, 1 unused in the file\n"
    )
    assert 'Model: "classifier"' in out
    base = keras.models.load_model(trained["keras"])
    x = np.random.default_rng(1).standard_normal((4, 8)).astype("float32")
    for target in kspec.api.TARGETS:
        model = kspec.build_model(spec, target, weights=trained["keras"])
        if target == "functional":
            np.testing.assert_array_equal(
                _hidden(model, {"features": x}), _hidden(base, {"features": x})
            )
        for name in ("hidden1", "hidden2"):
            for a, b in zip(
                model.get_layer(name).weights, base.get_layer(name).weights, strict=True
            ):
                np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert model.get_layer("labels").kernel.shape == (8, 5)


def test_mismatch_is_refused_then_partial_loads_the_rest(
    trained: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    import keras
    import numpy as np

    spec = write(Path(trained["folder"]), "resized.yaml", RESIZED_HEAD)
    status, out, err = run(capsys, "verify", spec, "--weights", trained["keras"])
    assert status == 1
    assert out == ""
    assert (
        f"  mismatch  probs    {spec}:8  kernel: (8, 3) in the file, (8, 5) in the model; "
        "bias: (3,) in the file, (5,) in the model\n"
        "nothing loaded: 2 matched, 0 missing from the file, 1 mismatched, 0 unused in the "
        "file\n"
    ) in err
    assert (
        f"{spec}:8:5: error[KS908]: the weights of layer 'probs' in {trained['keras']} do not "
        "fit it: kernel: (8, 3) in the file, (8, 5) in the model; bias: (3,) in the file, (5,) "
        "in the model\n"
    ) in err
    assert "--partial" in err.splitlines()[-1]

    status, out, err = run(capsys, "verify", spec, "--weights", trained["keras"], "--partial")
    assert status == 0, err
    assert "loaded 2 of 3 layers with weights (4 of 6 arrays)" in err
    assert "the targets agree" in out
    base = keras.models.load_model(trained["keras"])
    model = kspec.build_model(spec, weights=trained["keras"], partial=True)
    np.testing.assert_array_equal(
        model.get_layer("hidden2").kernel, base.get_layer("hidden2").kernel
    )
    with pytest.raises(kspec.KspecError) as info:
        kspec.build_model(spec, weights=trained["keras"])
    assert [d.code for d in info.value.diagnostics] == ["KS908"]


def test_changed_input_size_mismatches_the_first_layer(trained: dict[str, str]) -> None:
    reports: list[Any] = []
    spec = kspec.loads(WIDER_INPUT, path="wider.yaml")
    kspec.build_model(spec, weights=trained["keras"], partial=True, on_weights=reports.append)
    (report,) = reports
    assert [(m.path, m.status) for m in report.layers] == [
        (("hidden1",), "mismatch"),
        (("hidden2",), "matched"),
        (("probs",), "matched"),
    ]
    assert report.layers[0].differences == ["kernel: (8, 16) in the file, (12, 16) in the model"]
    assert report.layers[0].location == "wider.yaml:6"


BLOCKS = """\
kspec: 1
name: towers
params: {depth: 2}
inputs:
  x: {shape: [6]}
blocks:
  dense_bn:
    inputs: [x]
    layers:
      - {name: dense, type: Dense, units: 6}
      - {name: bn, type: BatchNormalization}
    outputs: bn
layers:
  - {name: tower, block: dense_bn, repeat: $depth, inputs: x}
  - {name: encode, type: Bidirectional, layer: {type: LSTM, units: 3}, inputs: x_seq}
  - {name: joined, type: Concatenate, inputs: [tower, encode]}
  - {name: out, type: Dense, units: 2, inputs: joined}
outputs: out
"""
BLOCKS = BLOCKS.replace("  x: {shape: [6]}\n", "  x: {shape: [6]}\n  x_seq: {shape: [4, 6]}\n")


@pytest.mark.parametrize("source", ["subclass", "functional"])
def test_weights_h5_of_either_target_into_a_block_repeated_once_more(
    source: str, tmp_path: Path
) -> None:
    """.weights.h5 (and the sublayers of a Bidirectional LSTM) across targets; repeat 2 -> 3."""
    import numpy as np

    base = kspec.build_model(kspec.loads(BLOCKS), source)
    path = str(tmp_path / "towers.weights.h5")
    base.save_weights(path)
    deeper = kspec.loads(BLOCKS, path="deeper.yaml", depth=3)
    other = "functional" if source == "subclass" else "subclass"
    reports: list[Any] = []
    model = kspec.build_model(deeper, other, weights=path, on_weights=reports.append)
    (report,) = reports
    status = {"/".join(m.path): m.status for m in report.layers}
    assert status == {
        "tower_1/dense": "matched",
        "tower_1/bn": "matched",
        "tower_2/dense": "matched",
        "tower_2/bn": "matched",
        "tower_3/dense": "missing",
        "tower_3/bn": "missing",
        "encode": "matched",
        "out": "matched",
    }
    assert report.unused == []
    assert {m.location for m in report.layers if m.path[-1] == "bn"} == {"deeper.yaml:12"}
    encode = next(m for m in report.layers if m.path == ("encode",))
    assert encode.arrays == 6  # forward and backward lstm_cell: kernel, recurrent, bias
    for a, b in zip(
        base.get_layer("encode").weights, model.get_layer("encode").weights, strict=True
    ):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_module_function_needs_permission(
    trained: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    monkeypatch.syspath_prepend(str(ROOT / "tests" / "fixtures"))
    source = "kspec_weights_models:mlp"
    status, _, err = run(capsys, "summary", trained["spec"], "--weights", source)
    assert status == 1
    assert "error[KS903]: the weights come from module 'kspec_weights_models'" in err
    assert "pass --allow-import kspec_weights_models" in err
    allow = ["--allow-import", "kspec_weights_models"]
    status, _, err = run(capsys, "summary", trained["spec"], "--weights", source, *allow)
    assert status == 0, err
    assert "loaded 3 of 3 layers with weights (6 of 6 arrays)" in err
    import kspec_weights_models  # type: ignore[import-not-found]

    hand = kspec_weights_models.mlp()
    model = kspec.build_model(trained["spec"], weights=hand)  # a Keras model, in Python
    np.testing.assert_array_equal(
        model.get_layer("hidden1").kernel, hand.get_layer("hidden1").kernel
    )
    status, _, err = run(
        capsys, "summary", trained["spec"], "--weights", "kspec_weights_models:not_a_model", *allow
    )
    assert status == 2
    assert "error[KS907]: kspec_weights_models:not_a_model returned int, not a Keras model" in err


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("absent.keras", None, "no such weights file"),
        ("weights.npz", b"PK", "is not a .keras or .weights.h5 file"),
        ("broken.keras", b"not a zip", "cannot read weights from"),
        ("broken.weights.h5", b"not hdf5", "cannot read weights from"),
    ],
)
def test_unreadable_weights_are_ks907(
    trained: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: bytes | None,
    message: str,
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    status, _, err = run(capsys, "summary", trained["spec"], "--weights", str(path))
    assert status == 2
    assert "error[KS907]: " in err and message in err
    assert "Traceback" not in err and "internal error" not in err


def test_weights_of_another_model_match_nothing(
    trained: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = kspec.build_model(kspec.loads(BLOCKS))
    path = str(tmp_path / "other.weights.h5")
    other.save_weights(path)
    status, _, err = run(capsys, "summary", trained["spec"], "--weights", path, "--partial")
    assert status == 1
    assert "error[KS908]: none of the model's 3 layers with weights can take the weights" in err
    assert "the file has: encode, out, tower_1, tower_2\n" in err


def test_fit_fine_tunes_the_new_head_only(
    trained: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    import keras
    import numpy as np

    folder = Path(trained["folder"])
    spec = write(folder, "fine_tune.yaml", NEW_HEAD.replace("units: 5", "units: 3"))
    saved = str(folder / "fine_tuned.keras")
    status, _, err = run(
        capsys,
        "fit",
        spec,
        "--data",
        trained["data"],
        "--epochs",
        "2",
        "--weights",
        trained["keras"],
        "--freeze",
        "hidden1",
        "hidden2",
        "--save",
        saved,
        "-q",
    )
    assert status == 0, err
    base, tuned = keras.models.load_model(trained["keras"]), keras.models.load_model(saved)
    for name in ("hidden1", "hidden2"):
        assert not tuned.get_layer(name).trainable
        np.testing.assert_array_equal(tuned.get_layer(name).kernel, base.get_layer(name).kernel)
    assert tuned.get_layer("labels").trainable
    assert len(tuned.trainable_weights) == 2


def test_usage_errors(trained: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "summary", trained["spec"], "--partial")
    assert (status, err) == (2, "kspec: error: --partial needs --weights FILE\n")
    status, _, err = run(capsys, "summary", "--static", trained["spec"], "--weights", "x.keras")
    assert status == 2 and "leave out --static" in err


WRAPPERS = """\
kspec: 1
name: wrappers
inputs:
  x: {shape: [4, 6]}
layers:
  - {name: encode, type: Bidirectional, layer: {type: LSTM, units: 3, return_sequences: true}}
  - {name: step, type: TimeDistributed, layer: {type: Dense, units: 2}}
outputs: step
"""


def test_wrapped_layers_match_whatever_keras_numbered_them(tmp_path: Path) -> None:
    """The spec names the wrapper, not the layer inside it: Keras numbers that one (`dense_7`
    in a session that made seven Dense layers before), so it is matched by its base name."""
    import keras
    import numpy as np

    x = keras.Input((4, 6), name="x")
    h = keras.layers.Bidirectional(
        keras.layers.LSTM(3, return_sequences=True, name="lstm_3"), name="encode"
    )(x)
    y = keras.layers.TimeDistributed(keras.layers.Dense(2, name="dense_7"), name="step")(h)
    hand = keras.Model(x, y)
    path = str(tmp_path / "hand.weights.h5")
    hand.save_weights(path)
    reports: list[Any] = []
    model = kspec.build_model(kspec.loads(WRAPPERS), weights=path, on_weights=reports.append)
    assert [(m.path, m.status, m.arrays) for m in reports[0].layers] == [
        (("encode",), "matched", 6),
        (("step",), "matched", 2),
    ]
    data = np.random.default_rng(2).standard_normal((2, 4, 6)).astype("float32")
    np.testing.assert_allclose(model(data), hand(data), atol=1e-6)
