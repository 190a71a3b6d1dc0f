"""kspec's benchmark harness: one command, ratios measured in one run.

    .venv/bin/python bench/run.py            # about 10 minutes on 2 cores
    .venv/bin/python bench/run.py --quick    # fewer repeats and sizes, for a smoke run

Writes bench/results.json and bench/results.md (docs/benchmarks.md quotes the latter). Every
figure is the median of several runs; every comparison is a ratio of figures taken in the same
run on the same machine. Not part of the test suite's pass/fail.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from make_spec import chain_spec  # noqa: E402

PY = sys.executable
KSPEC = [PY, "-m", "kspec"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(cmd: list[str], **kw: Any) -> None:
    subprocess.run(cmd, check=True, capture_output=True, env=ENV, **kw)


def machine() -> dict[str, Any]:
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


# -- 1, 2 and 5: check and compile --------------------------------------------------------------


def check_and_compile(folder: Path, sizes: list[int], repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    mlp = str(ROOT / "examples" / "mnist_mlp.yaml")
    out["import_tensorflow_s"] = median_time(lambda: run([PY, "-c", "import tensorflow"]), repeats)
    out["check_tutorial_s"] = median_time(lambda: run([*KSPEC, "check", mlp]), repeats)
    out["check_vs_import_tensorflow"] = out["check_tutorial_s"] / out["import_tensorflow_s"]
    out["python_startup_s"] = median_time(lambda: run([PY, "-c", "pass"]), repeats)
    for n in sizes:
        spec = folder / f"chain_{n}.yaml"
        spec.write_text(chain_spec(n))
        out[f"check_{n}_s"] = median_time(lambda s=spec: run([*KSPEC, "check", str(s)]), repeats)
        target = folder / f"chain_{n}.py"
        out[f"compile_{n}_s"] = median_time(
            lambda s=spec, t=target: run([*KSPEC, "compile", str(s), "-o", str(t)]), repeats
        )
    many = folder / "many"
    many.mkdir(exist_ok=True)
    text = (ROOT / "examples" / "mnist_mlp.yaml").read_text()
    for i in range(1000):
        (many / f"spec_{i:04d}.yaml").write_text(text)
    out["check_1000_files_s"] = median_time(lambda: run([*KSPEC, "check", str(many)]), repeats)
    return out


# -- 3 and 5: build overhead against hand-written Keras ------------------------------------------


def hand_written_chain(n: int, width: int = 8) -> Any:
    """The Keras code a person would write for chain_spec(n)."""
    import keras

    x = keras.Input(shape=(width,), name="x")
    layers = [keras.layers.Dense(width, name="l0")(x)]
    for i in range(1, n):
        if i % 2:
            layers.append(keras.layers.Dense(width, activation="relu", name=f"l{i}")(layers[-1]))
        else:
            layers.append(keras.layers.Add(name=f"l{i}")([layers[i - 1], layers[i - 2]]))
    return keras.Model(inputs=x, outputs=layers[-1], name=f"chain_{n}")


def build_overhead(folder: Path, sizes: list[int], repeats: int) -> dict[str, Any]:
    import keras

    import kspec
    from kspec.compiler.runtime import deep_call

    out: dict[str, Any] = {}
    for n in sizes:
        spec = kspec.loads(chain_spec(n))

        def by_hand(n: int = n) -> None:
            keras.backend.clear_session()
            deep_call(lambda: hand_written_chain(n))

        def by_kspec(target: str, spec: Any = spec) -> None:
            keras.backend.clear_session()
            kspec.build_model(spec, target)

        reps = repeats if n <= 300 else 1
        hand = median_time(by_hand, reps)
        out[f"build_{n}_hand_s"] = hand
        for target in ("functional", "subclass"):
            t = median_time(lambda target=target: by_kspec(target), reps)
            out[f"build_{n}_{target}_s"] = t
            out[f"build_{n}_{target}_ratio"] = t / hand
    # ResNet50-sized: kspec's import of keras.applications.ResNet50 vs Keras building it
    from kspec import importer

    spec = kspec.loads(importer.to_spec(keras.applications.ResNet50(weights=None)))

    def resnet_by_hand() -> None:
        keras.backend.clear_session()
        keras.applications.ResNet50(weights=None)

    hand = median_time(resnet_by_hand, repeats)
    out["build_resnet50_hand_s"] = hand
    for target in ("functional", "subclass"):

        def build(target: str = target) -> None:
            keras.backend.clear_session()
            kspec.build_model(spec, target)

        t = median_time(build, repeats)
        out[f"build_resnet50_{target}_s"] = t
        out[f"build_resnet50_{target}_ratio"] = t / hand
    return out


# -- 4: runtime parity ------------------------------------------------------------------------


def runtime_parity(repeats: int) -> dict[str, Any]:
    import numpy as np
    import tensorflow as tf

    import kspec
    from kspec.compiler.runtime import copy_weights

    spec = kspec.load(ROOT / "examples" / "residual_cnn.yaml")
    functional = kspec.build_model(spec, "functional")
    subclass = kspec.build_model(spec, "subclass")
    copy_weights(functional, subclass)
    x = np.random.default_rng(0).standard_normal((64, 32, 32, 3)).astype("float32")
    out: dict[str, Any] = {}
    for name, model in (("functional", functional), ("subclass", subclass)):
        model.predict(x, verbose=0)  # warm up
        out[f"predict_{name}_s"] = median_time(lambda m=model: m.predict(x, verbose=0), repeats * 3)
        fn = tf.function(lambda t, m=model: m(t, training=False))
        fn(x)
        out[f"tf_function_{name}_s"] = median_time(lambda fn=fn: fn(x).numpy(), repeats * 3)
    out["predict_ratio"] = out["predict_subclass_s"] / out["predict_functional_s"]
    out["tf_function_ratio"] = out["tf_function_subclass_s"] / out["tf_function_functional_s"]
    return out


# -- report -----------------------------------------------------------------------------------


def report(results: dict[str, Any], sizes: list[int], build_sizes: list[int]) -> str:
    r = results
    lines = ["# kspec benchmark results", ""]
    m = r["machine"]
    lines += [
        f"Machine: {m['cpus']} CPUs, {m['processor']}, {m['platform']}; Python "
        f"{m['python']}, TensorFlow {m['tensorflow']}, Keras {m['keras']}. "
        f"Medians of {r['repeats']} runs (1 run for builds over 300 layers). "
        f"Total harness time: {r['total_s']:.0f} s.",
        "",
    ]
    c = r["check"]
    lines += [
        "## Checking and compiling (whole processes, cold)",
        "",
        "| what | seconds | note |",
        "|---|---:|---|",
        f"| `python -c 'import tensorflow'` | {c['import_tensorflow_s']:.2f} | |",
        f"| `python -c pass` (interpreter start-up) | {c['python_startup_s']:.2f} | |",
        f"| `kspec check examples/mnist_mlp.yaml` | {c['check_tutorial_s']:.2f} | "
        f"ratio to importing TensorFlow: **{c['check_vs_import_tensorflow']:.3f}** "
        "(target < 0.1) |",
    ]
    for n in sizes:
        lines.append(
            f"| `kspec check` {n:,}-layer spec | {c[f'check_{n}_s']:.2f} | "
            f"{1000 * c[f'check_{n}_s'] / n:.3f} ms/layer |"
        )
    for n in sizes:
        lines.append(
            f"| `kspec compile` {n:,}-layer spec | {c[f'compile_{n}_s']:.2f} | "
            f"{1000 * c[f'compile_{n}_s'] / n:.3f} ms/layer |"
        )
    lines.append(
        f"| `kspec check` on 1,000 spec files, one call | {c['check_1000_files_s']:.2f} | "
        f"{c['check_1000_files_s']:.2f} ms/file |"
    )
    b = r["build"]
    lines += [
        "",
        "## Building models: kspec vs hand-written Keras (in process)",
        "",
        "| model | hand-written Keras s | functional s (ratio) | subclass s (ratio) |",
        "|---|---:|---:|---:|",
    ]
    for n in [*build_sizes, "resnet50"]:
        label = f"{n:,}-layer chain" if isinstance(n, int) else "ResNet50 (imported spec)"
        lines.append(
            f"| {label} | {b[f'build_{n}_hand_s']:.2f} | {b[f'build_{n}_functional_s']:.2f} "
            f"({b[f'build_{n}_functional_ratio']:.2f}) | {b[f'build_{n}_subclass_s']:.2f} "
            f"({b[f'build_{n}_subclass_ratio']:.2f}) |"
        )
    p = r["runtime"]
    lines += [
        "",
        "## Runtime parity (residual_cnn, batch of 64)",
        "",
        "| call | functional s | subclass s | ratio |",
        "|---|---:|---:|---:|",
        f"| `model.predict` | {p['predict_functional_s']:.4f} | "
        f"{p['predict_subclass_s']:.4f} | {p['predict_ratio']:.3f} |",
        f"| `tf.function` call | {p['tf_function_functional_s']:.4f} | "
        f"{p['tf_function_subclass_s']:.4f} | {p['tf_function_ratio']:.3f} |",
    ]
    small, large = min(build_sizes[1:] or build_sizes), max(build_sizes)
    if small != large:
        lines += [
            "",
            f"## Scaling: time per layer at {large:,} vs {small:,} layers (target within 1.5x)",
            "",
            "| stage | ratio |",
            "|---|---:|",
        ]
        for stage in ("check", "compile"):
            if f"{stage}_{large}_s" in c and f"{stage}_{small}_s" in c:
                ratio = (c[f"{stage}_{large}_s"] / large) / (c[f"{stage}_{small}_s"] / small)
                lines.append(f"| {stage} (whole process) | {ratio:.2f} |")
        for target in ("functional", "subclass"):
            ratio = (b[f"build_{large}_{target}_s"] / large) / (
                b[f"build_{small}_{target}_s"] / small
            )
            lines.append(f"| build, {target} | {ratio:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and sizes")
    args = ap.parse_args()
    repeats = 2 if args.quick else 5
    sizes = [100, 1000] if args.quick else [100, 300, 1000, 3000, 10000]
    build_sizes = [30, 300] if args.quick else [30, 300, 3000]
    start = time.perf_counter()
    results: dict[str, Any] = {"repeats": repeats, "machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("checking and compiling ...", file=sys.stderr)
        results["check"] = check_and_compile(folder, sizes, repeats)
        print("building ...", file=sys.stderr)
        results["build"] = build_overhead(folder, build_sizes, repeats)
        print("runtime parity ...", file=sys.stderr)
        results["runtime"] = runtime_parity(repeats)
    results["total_s"] = time.perf_counter() - start
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    text = report(results, sizes, build_sizes)
    (ROOT / "bench" / "results.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
