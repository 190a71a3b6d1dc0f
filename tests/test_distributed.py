"""``kspec fit --distribute`` as a cluster in miniature, against a single-process run with the
same global batch, seed and order:

* ``mirrored`` on 2 logical CPU devices (TensorFlow's MirroredStrategy, JAX's
  keras.distribution.DataParallel);
* ``multi-worker``: 2 worker processes on 127.0.0.1 ports the test picks (tests/cluster.py),
  each with its own TF_CONFIG (TensorFlow's MultiWorkerMirroredStrategy, kspec/multiworker.py).
  The workers end with identical weights (the same digest), only the chief saves.

The loss per epoch agrees with the single process within ``TOLERANCE`` (relative) and the
trained weights within ``WEIGHT_TOLERANCE`` (absolute): the replicas sum their gradients in
another order than one device does, and Adam magnifies that rounding for a weight whose
gradient is almost zero. Bounded runs: 2 epochs of 256 examples (4 steps each);
subprocess timeouts only as a hang guard."""

from __future__ import annotations

import json
from pathlib import Path

import cluster
import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = str(ROOT / "examples" / "mnist_mlp.yaml")
TOLERANCE = 1e-3  # relative, per epoch loss
# absolute, per weight (of order 0.1): Adam's learning rate, 1e-3. Adam moves a weight by up to
# about the learning rate per step whatever its gradient's size, so a unit whose gradient is
# almost zero (a nearly dead ReLU) moves by rounding noise's sign. Measured on this test's
# runs: 2e-7 on TensorFlow (both strategies), 4e-4 on JAX (one hidden2 unit) after 8 steps
WEIGHT_TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kspec.datasets import save_npz, synthetic_mnist

    folder = tmp_path_factory.mktemp("distributed")
    save_npz(str(folder / "d.npz"), synthetic_mnist(n_train=256, n_test=64))
    return folder


def _fit(folder: Path, backend: str, name: str, *extra: str) -> dict[str, object]:
    args = [
        *("fit", SPEC, "--data", "d.npz", "--backend", backend, "-q", "--epochs", "2"),
        *("--batch-size", "64", "--seed", "7", "--no-shuffle", "--history", f"{name}.json"),
        *extra,
    ]
    run = cluster.kspec(args, folder)
    assert run.returncode == 0, run.stderr[-3000:]
    return dict(json.loads((folder / f"{name}.json").read_text()))


_SINGLE: dict[tuple[Path, str], dict[str, object]] = {}


def _single(folder: Path, backend: str) -> dict[str, object]:
    """The single-process run (once per backend): its history, and its model saved as
    single-BACKEND.keras."""
    if (folder, backend) not in _SINGLE:
        name = f"single-{backend}"
        _SINGLE[folder, backend] = _fit(folder, backend, name, "--save", f"{name}.keras")
    return _SINGLE[folder, backend]


def _assert_same_curve(one: dict[str, object], two: dict[str, object]) -> None:
    for key in ("loss", "accuracy"):
        curves = zip(one["history"][key], two["history"][key], strict=True)  # type: ignore[index]
        for a, b in curves:
            assert abs(a - b) <= TOLERANCE * abs(a), (key, a, b)


def _weight_difference(one: Path, two: Path) -> float:
    """The largest difference between the weights of two saved models."""
    import keras
    import numpy as np

    a, b = (keras.saving.load_model(p).get_weights() for p in (one, two))
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b, strict=True))


@pytest.mark.tf
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_mirrored_on_two_devices_matches_one_device(data: Path, backend: str) -> None:
    if backend == "jax":
        pytest.importorskip("jax")
    single = _single(data, backend)
    name = f"mirrored-{backend}"
    args = ("--distribute", "mirrored", "--cpu-devices", "2", "--save", f"{name}.keras")
    mirrored = _fit(data, backend, name, *args)
    batches = (mirrored["replicas"], mirrored["global_batch"], mirrored["per_replica_batch"])
    assert batches == (2, 64, 32)
    engine = {
        "tensorflow": "tf.distribute.MirroredStrategy",
        "jax": "keras.distribution.DataParallel",
    }
    assert mirrored["engine"] == engine[backend]
    _assert_same_curve(single, mirrored)
    worst = _weight_difference(data / f"single-{backend}.keras", data / f"{name}.keras")
    assert worst <= WEIGHT_TOLERANCE, worst


@pytest.mark.tf
def test_a_distribution_set_up_wrongly_is_refused(data: Path) -> None:
    """KS919 with exit 2: multi-worker without TF_CONFIG; a global batch that 2 replicas
    cannot split evenly."""
    base = ["fit", SPEC, "--data", "d.npz", "--epochs", "1"]
    run = cluster.kspec([*base, "--distribute", "multi-worker"], data)
    assert run.returncode == 2 and "error[KS919]" in run.stderr
    assert "TF_CONFIG" in run.stderr
    args = [*base, "--distribute", "mirrored", "--cpu-devices", "2", "--batch-size", "33"]
    run = cluster.kspec(args, data)
    assert run.returncode == 2 and "error[KS919]" in run.stderr
    assert "multiple of 2" in run.stderr


@pytest.mark.tf
def test_two_workers_end_alike_and_match_one_process(data: Path) -> None:
    single = _single(data, "tensorflow")
    args = [
        *("fit", SPEC, "--data", "d.npz", "-q", "--epochs", "2", "--batch-size", "64"),
        *("--seed", "7", "--no-shuffle", "--distribute", "multi-worker"),
        *("--history", "worker-{task}.json", "--save", "workers.keras"),
    ]
    runs = cluster.workers([args, args], data)
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
        assert "on 2 workers; global batch 64, per replica 32" in run.stderr
        assert "accuracy:" in run.stdout
    assert "saved the trained model to workers.keras" in runs[0].stderr
    assert "worker 1 trained; the chief saves the model" in runs[1].stderr
    # the evaluation every worker reports is the global one: the same on both
    evaluation = [run.stdout.split("evaluation on the test arrays:")[1] for run in runs]
    assert evaluation[0] == evaluation[1]
    assert "Epoch 2/2 - loss: " in runs[0].stdout  # the chief reports the epochs
    chief, other = (json.loads((data / f"worker-{i}.json").read_text()) for i in (0, 1))
    assert (chief["task"], other["task"], chief["replicas"], chief["workers"]) == (0, 1, 2, 2)
    assert chief["weights_sha256"] == other["weights_sha256"]  # identical weights
    assert chief["history"] == other["history"]
    _assert_same_curve(single, chief)
    assert not list(data.glob(".kspec-*"))  # no worker left a partial checkpoint behind
    worst = _weight_difference(data / "single-tensorflow.keras", data / "workers.keras")
    assert worst <= WEIGHT_TOLERANCE, worst
