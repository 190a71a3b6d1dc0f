"""``kspec fit --distribute mirrored`` on 2 logical CPU devices (TensorFlow's
MirroredStrategy, JAX's keras.distribution.DataParallel) against a single-device run with the
same global batch, seed and order: the loss curves agree within ``TOLERANCE`` (the replicas sum
their gradients in another order than one device does). Bounded runs: 2 epochs of 256
examples, subprocess timeouts as a hang guard."""

from __future__ import annotations

import json
from pathlib import Path

import cluster
import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = str(ROOT / "examples" / "mnist_mlp.yaml")
TOLERANCE = 1e-3  # relative, per epoch loss


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


@pytest.mark.tf
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_mirrored_on_two_devices_matches_one_device(data: Path, backend: str) -> None:
    if backend == "jax":
        pytest.importorskip("jax")
    single = _fit(data, backend, f"single-{backend}")
    mirrored = _fit(
        data, backend, f"mirrored-{backend}", "--distribute", "mirrored", "--cpu-devices", "2"
    )
    assert (mirrored["replicas"], mirrored["global_batch"], mirrored["per_replica_batch"]) == (
        2,
        64,
        32,
    )
    losses = zip(single["history"]["loss"], mirrored["history"]["loss"], strict=True)  # type: ignore[index]
    for one, two in losses:
        assert abs(one - two) <= TOLERANCE * abs(one), (one, two)
    a, b = single["weights_sum_abs"], mirrored["weights_sum_abs"]
    assert abs(a - b) <= TOLERANCE * a, (a, b)  # type: ignore[operator]


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
