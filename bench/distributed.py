"""Data-parallel ``kspec fit`` on this machine as a cluster in miniature; writes
bench/distributed.md.

examples/mnist_mlp.yaml on synthetic MNIST (N training examples, global batch 64, seed 7, no
shuffle), one run each:

* TensorFlow: one device; ``--distribute mirrored --cpu-devices 2``; ``--distribute
  multi-worker`` as 2 worker processes on 127.0.0.1 (tests/cluster.py picks the ports and
  writes each worker's TF_CONFIG);
* JAX: one device; ``--distribute mirrored --cpu-devices 2`` (keras.distribution.DataParallel).

It reports each run's training wall time (``fit_seconds`` of ``--history``, from the first
step to the last epoch; the process start-up and imports not counted) and whole-command wall
time, the largest weight difference from the single-process run of the same backend, whether
the 2 workers end with identical weights, and the loss per epoch side by side.

    python bench/distributed.py [EPOCHS [N]]
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import cluster  # noqa: E402

SPEC = str(ROOT / "examples" / "mnist_mlp.yaml")
# (name, backend, extra arguments, workers)
RUNS = [
    ("TF 1 device", "tensorflow", [], 1),
    ("TF mirrored, 2 devices", "tensorflow", ["--distribute", "mirrored", "--cpu-devices", "2"], 1),
    ("TF multi-worker, 2 workers", "tensorflow", ["--distribute", "multi-worker"], 2),
    ("JAX 1 device", "jax", [], 1),
    ("JAX mirrored, 2 devices", "jax", ["--distribute", "mirrored", "--cpu-devices", "2"], 1),
]


def _run(folder: Path, key: str, backend: str, extra: list[str], workers: int, epochs: int) -> Any:
    args = [
        *("fit", SPEC, "--data", "d.npz", "--backend", backend, "-q", "--epochs", str(epochs)),
        *("--batch-size", "64", "--seed", "7", "--no-shuffle", "--save", f"{key}.keras"),
        *("--history", f"{key}-{{task}}.json", *extra),
    ]
    started = time.perf_counter()
    runs = (
        cluster.workers([args] * workers, folder) if workers > 1 else [cluster.kspec(args, folder)]
    )
    wall = time.perf_counter() - started
    for run in runs:
        if run.returncode != 0:
            raise SystemExit(run.stderr[-3000:])
    records = [json.loads((folder / f"{key}-{i}.json").read_text()) for i in range(workers)]
    return records, wall


def _difference(one: Path, two: Path) -> float:
    import keras
    import numpy as np

    a, b = (keras.saving.load_model(p).get_weights() for p in (one, two))
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b, strict=True))


def main() -> None:
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    from kspec.datasets import save_npz, synthetic_mnist

    rows, curves = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        save_npz(str(folder / "d.npz"), synthetic_mnist(n_train=n, n_test=256))
        single: dict[str, str] = {}
        for index, (name, backend, extra, workers) in enumerate(RUNS):
            key = f"run{index}"
            records, wall = _run(folder, key, backend, extra, workers, epochs)
            first = records[0]
            single.setdefault(backend, key)
            difference = _difference(folder / f"{single[backend]}.keras", folder / f"{key}.keras")
            same = len({r["weights_sha256"] for r in records}) == 1
            rows.append(
                f"| {name} | {first['replicas']} | {first['global_batch']} | "
                f"{first['per_replica_batch']} | {first['fit_seconds']:.2f} | {wall:.1f} | "
                f"{difference:.1e} | {('yes' if same else 'NO') if workers > 1 else '-'} |"
            )
            curves[name] = first["history"]["loss"]
            print(rows[-1], flush=True)
    steps = -(-n // 64)
    lines = [
        "# Data-parallel `kspec fit` on one machine",
        "",
        f"Machine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
        f"{platform.python_version()}, shared with other jobs (times vary from run to run). "
        f"Written by `python bench/distributed.py {epochs} {n}`: `kspec fit "
        f"examples/mnist_mlp.yaml`, {n} synthetic MNIST examples, {epochs} epochs of {steps} "
        "steps, global batch 64, `--seed 7 --no-shuffle`. The 2 devices are logical CPU "
        "devices that share the machine's 2 cores, the 2 workers are processes on 127.0.0.1: "
        "this shows that the runs agree, not a speed-up.",
        "",
        "Training s: `fit_seconds` of `--history` (first step to last epoch). Command s: the "
        "whole `kspec fit` (start-up, imports, evaluation, saving; the 2 workers run at once). "
        "Weights vs 1 device: the largest difference of any trained weight from the "
        "single-process run of the same backend (weights are of order 0.1).",
        "",
        "| run | replicas | global batch | per replica | training s | command s | "
        "weights vs 1 device | workers identical |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
        *rows,
        "",
        "Loss per epoch (training loss, as `fit` reports it):",
        "",
        "| epoch | " + " | ".join(curves) + " |",
        "|---:|" + "---:|" * len(curves),
    ]
    for epoch in range(epochs):
        values = " | ".join(f"{c[epoch]:.6f}" for c in curves.values())
        lines.append(f"| {epoch + 1} | {values} |")
    lines += [
        "",
        "The replicas sum their gradients in another order than one device does, so the "
        "results agree to rounding, not bit for bit; Adam magnifies that rounding for a weight "
        "whose gradient is almost zero (it moves such a weight by up to its learning rate, "
        "1e-3, per step whatever the gradient's size). TensorFlow and JAX draw other initial "
        "weights from the same seed, so their curves differ from each other, not from their "
        "own single-process run. tests/test_distributed.py asserts the "
        "same agreement on a smaller run: loss and accuracy per epoch within 1e-3 relative, "
        "weights within 1e-3 absolute, the 2 workers' weights identical.",
        "",
    ]
    (ROOT / "bench" / "distributed.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
