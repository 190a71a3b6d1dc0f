"""`kspec fit` (the tutorial's compile/fit/evaluate from a spec), `kspec verify`, and the
synthetic data set."""

from __future__ import annotations

from pathlib import Path

import pytest

from kspec.cli import main

pytestmark = pytest.mark.tf
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> str:
    pytest.importorskip("tensorflow")
    from kspec.datasets import save_npz, synthetic_mnist

    path = tmp_path_factory.mktemp("data") / "synthetic_mnist.npz"
    save_npz(str(path), synthetic_mnist(n_train=512, n_test=256))
    return str(path)


def test_synthetic_mnist_layout() -> None:
    pytest.importorskip("numpy")
    from kspec.datasets import synthetic_mnist

    (x_train, y_train), (x_test, _) = synthetic_mnist(n_train=20, n_test=10)
    assert x_train.shape == (20, 28, 28) and x_test.shape == (10, 28, 28)
    assert y_train.shape == (20,) and set(y_train) <= set(range(10))
    assert x_train.min() >= 0.0 and x_train.max() <= 1.0


@pytest.mark.parametrize("target", ["functional", "subclass"])
def test_fit_trains_the_tutorial_mlp(
    data: str, target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three epochs on separable synthetic data: accuracy clearly above chance (10 %)."""
    saved = tmp_path / "mlp.keras"
    status = main(
        [
            "fit",
            str(ROOT / "examples" / "mnist_mlp_plain.yaml"),
            "--data",
            data,
            "--epochs",
            "3",
            "--target",
            target,
            "--save",
            str(saved),
            "-q",
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    report = out.split("evaluation on the test arrays:\n", 1)[1]
    lines = dict(line.strip().split(": ") for line in report.splitlines())
    assert set(lines) == {"loss", "accuracy"}
    assert float(lines["accuracy"]) > 0.6
    import keras

    assert keras.models.load_model(saved).count_params() == 218_058


def test_fit_flags_override_compile(data: str, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "fit",
            str(ROOT / "examples" / "mnist_mlp.yaml"),
            "--data",
            data,
            "--epochs",
            "1",
            "--optimizer",
            "sgd",
            "--metrics",
            "accuracy,sparse_top_k_categorical_accuracy",
            "-q",
            "-p",
            "units=32",
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "sparse_top_k_categorical_accuracy:" in out


def test_fit_without_loss_is_a_clear_error(data: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fit", str(ROOT / "examples" / "siamese.yaml"), "--data", data]) == 2
    err = capsys.readouterr().err
    assert "error[KS904]" in err and "has no compile: section with a loss" in err


def test_fit_with_missing_arrays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    bad = tmp_path / "bad.npz"
    np.savez(bad, x_train=np.zeros((2, 28, 28)))
    assert main(["fit", str(ROOT / "examples" / "mnist_mlp.yaml"), "--data", str(bad)]) == 2
    assert "has no array 'y_train'" in capsys.readouterr().err


def test_verify_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(ROOT / "examples" / "siamese.yaml")]) == 0
    out = capsys.readouterr().out
    assert "functional: 3,169 parameters; outputs (None, 1)" in out
    assert "  subclass: 3,169 parameters; outputs (None, 1)" in out
    assert "max output difference with shared weights: 0" in out
    assert "the targets agree" in out
