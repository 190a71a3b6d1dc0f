"""kspec's benchmark harness: one command, ratios measured in one run.

    .venv/bin/python bench/run.py            # about 7 minutes on 2 cores
    .venv/bin/python bench/run.py --quick    # fewer repeats and sizes, for a smoke run

Writes bench/results.json and bench/results.md, and (full runs) the results section of
docs/benchmarks.md. Every figure is the median of several runs; every comparison is a ratio of
figures taken in the same run on the same machine, the runs of compared things interleaved.
Not part of the test suite's pass/fail.
"""

from __future__ import annotations

import argparse
import gc
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
    return interleaved({"fn": fn}, repeats)["fn"]


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
    cold = {
        "import_tensorflow_s": lambda: run([PY, "-c", "import tensorflow"]),
        "check_tutorial_s": lambda: run([*KSPEC, "check", mlp]),
        "python_startup_s": lambda: run([PY, "-c", "pass"]),
    }
    out.update(interleaved(cold, repeats))
    out["check_vs_import_tensorflow"] = out["check_tutorial_s"] / out["import_tensorflow_s"]
    for n in sizes:
        spec = folder / f"chain_{n}.yaml"
        spec.write_text(chain_spec(n))
        out[f"check_{n}_s"] = median_time(lambda s=spec: run([*KSPEC, "check", str(s)]), repeats)
        target = folder / f"chain_{n}.py"
        out[f"compile_{n}_s"] = median_time(
            lambda s=spec, t=target: run([*KSPEC, "compile", str(s), "-o", str(t)]), repeats
        )
    out.update(yaml_floor(folder, max(sizes), repeats))
    many = folder / "many"
    many.mkdir(exist_ok=True)
    text = (ROOT / "examples" / "mnist_mlp.yaml").read_text()
    for i in range(1000):
        (many / f"spec_{i:04d}.yaml").write_text(text)
    out["check_1000_files_s"] = median_time(lambda: run([*KSPEC, "check", str(many)]), repeats)
    out.update(in_process(folder, sizes, repeats))
    return out


def yaml_floor(folder: Path, n: int, repeats: int) -> dict[str, float]:
    """``kspec check`` and ``compile`` of the n-layer spec against the floor any YAML tool pays:
    a process that reads the same file with PyYAML's libyaml loader (interleaved runs)."""
    spec, target = folder / f"chain_{n}.yaml", folder / f"chain_{n}.py"
    load = f"import yaml; yaml.load(open({str(spec)!r}), Loader=yaml.CSafeLoader)"
    times = interleaved(
        {
            "yaml": lambda: run([PY, "-c", load]),
            "check": lambda: run([*KSPEC, "check", str(spec)]),
            "compile": lambda: run([*KSPEC, "compile", str(spec), "-o", str(target)]),
        },
        repeats,
    )
    return {
        "floor_layers": n,
        "floor_yaml_s": times["yaml"],
        "floor_check_ratio": times["check"] / times["yaml"],
        "floor_compile_ratio": times["compile"] / times["yaml"],
    }


def in_process(folder: Path, sizes: list[int], repeats: int) -> dict[str, float]:
    """``kspec.check`` and ``kspec.to_source`` in this process: the per-layer work without the
    process start-up (which dwarfs it below 1,000 layers), for the scaling figures."""
    import kspec

    fns: dict[str, Callable[[], Any]] = {}
    for n in sizes:
        path = folder / f"chain_{n}.yaml"
        fns[f"check_{n}_s"] = lambda p=path: kspec.check(p)
        fns[f"compile_{n}_s"] = lambda p=path: kspec.to_source(p, "subclass")
    for fn in fns.values():  # warm up: imports, compiled validators
        fn()
    return {f"in_process_{k}": v for k, v in interleaved(fns, repeats, setup=gc.collect).items()}


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


def hand_written_chain_subclass(n: int, width: int = 8) -> Any:
    """The same model as a hand-written ``keras.Model`` subclass, built the tutorial's way."""
    import keras

    class Chain(keras.Model):
        def __init__(self) -> None:
            super().__init__(name=f"chain_{n}")
            self.steps = [
                keras.layers.Dense(width, name="l0"),
                *(
                    keras.layers.Dense(width, activation="relu", name=f"l{i}")
                    if i % 2
                    else keras.layers.Add(name=f"l{i}")
                    for i in range(1, n)
                ),
            ]

        def call(self, x: Any) -> Any:
            outs = [self.steps[0](x)]
            for i in range(1, n):
                arg = outs[-1] if i % 2 else [outs[i - 1], outs[i - 2]]
                outs.append(self.steps[i](arg))
            return outs[-1]

    model = Chain()
    model(keras.Input(shape=(width,), name="x"))
    return model


def interleaved(
    fns: dict[str, Callable[[], Any]], repeats: int, setup: Callable[[], Any] | None = None
) -> dict[str, float]:
    """The median time of each function, run in turn ``repeats`` times (one round calls each
    once, the order rotating from round to round), so a drift in the machine's speed or
    memory hits every one alike. ``setup`` runs untimed before each call."""
    keys = list(fns)
    times: dict[str, list[float]] = {key: [] for key in keys}
    for r in range(repeats):
        for key in keys[r % len(keys) :] + keys[: r % len(keys)]:
            if setup is not None:
                setup()
            start = time.perf_counter()
            fns[key]()
            times[key].append(time.perf_counter() - start)
    return {key: statistics.median(values) for key, values in times.items()}


def _timed_builds(
    out: dict[str, Any], label: str, spec: Any, baselines: dict[str, Callable[[], Any]], reps: int
) -> None:
    """Time kspec.build_model for both targets, each baseline, and the generated modules run
    directly (the code kspec writes, without kspec: what a person would have typed)."""
    import keras

    import kspec
    from kspec.api import lower
    from kspec.compiler.runtime import deep_call, load_module

    def fresh() -> None:
        keras.backend.clear_session()
        gc.collect()

    # hand-written baselines of deep models need a deep stack; a generated module sees to
    # its own depth (build_model raises the recursion limit while Keras recurses)
    fns = {f"build_{label}_{name}_s": lambda fn=fn: deep_call(fn) for name, fn in baselines.items()}
    for target in ("functional", "subclass"):
        module = load_module(lower(spec, target))
        fns[f"build_{label}_{target}_module_s"] = module.build_model
        fns[f"build_{label}_{target}_s"] = lambda t=target: kspec.build_model(spec, t)
    out.update(interleaved(fns, reps, setup=fresh))
    for target in ("functional", "subclass"):
        out[f"build_{label}_{target}_overhead"] = (
            out[f"build_{label}_{target}_s"] / out[f"build_{label}_{target}_module_s"]
        )
        out[f"build_{label}_{target}_ratio"] = (
            out[f"build_{label}_{target}_s"] / out[f"build_{label}_hand_s"]
        )


def build_overhead(folder: Path, sizes: list[int], repeats: int) -> dict[str, Any]:
    import keras

    import kspec
    from kspec import importer

    out: dict[str, Any] = {}
    for n in sizes:
        baselines = {
            "hand": lambda n=n: hand_written_chain(n),
            "hand_subclass": lambda n=n: hand_written_chain_subclass(n),
        }
        reps = repeats if n <= 300 else repeats // 2 + 1  # a 3,000-layer round: ~80 s
        _timed_builds(out, str(n), kspec.loads(chain_spec(n)), baselines, reps)
        print(f"  built {n}-layer chains", file=sys.stderr)
    # ResNet50-sized: kspec's import of keras.applications.ResNet50 vs Keras building it
    spec = kspec.loads(importer.to_spec(keras.applications.ResNet50(weights=None)))
    resnet = {"hand": lambda: keras.applications.ResNet50(weights=None)}
    _timed_builds(out, "resnet50", spec, resnet, repeats)
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
    models = {"functional": functional, "subclass": subclass}
    calls: dict[str, Callable[[], Any]] = {}
    for name, model in models.items():
        fn = tf.function(lambda t, m=model: m(t, training=False))
        calls[f"predict_{name}"] = lambda m=model: m.predict(x, verbose=0)
        calls[f"tf_function_{name}"] = lambda fn=fn: fn(x).numpy()
    for call in calls.values():  # warm up: tracing and the first predict's set-up
        call()
        call()
    # interleaved, so drift in the machine's speed hits both targets alike
    out.update({f"{key}_s": t for key, t in interleaved(calls, repeats * 10).items()})
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
        f"Medians of {r['repeats']} runs ({r['repeats'] // 2 + 1} for builds over 300 "
        "layers). "
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
        f"| `python -c 'yaml.load(f, Loader=CSafeLoader)'` of the {c['floor_layers']:,}-layer "
        f"spec | {c['floor_yaml_s']:.2f} | the floor any YAML tool pays: `kspec check` "
        f"**{c['floor_check_ratio']:.2f}x** of it (target 1.5), `kspec compile` "
        f"**{c['floor_compile_ratio']:.2f}x** (target 2) |",
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
    labels = [(str(n), f"{n:,}-layer chain") for n in build_sizes]
    labels.append(("resnet50", "ResNet50 (imported spec)"))
    lines += [
        "",
        "## Building models: kspec.build_model vs the same Keras code run directly (in process)",
        "",
        "The generated module's `build_model()` run directly is the identical model written by "
        "hand in the target's style; the ratio is kspec's own overhead (target at most 1.10).",
        "",
        "| model | functional: direct s | kspec s | ratio | subclass: direct s | kspec s | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label in labels:
        cells = []
        for target in ("functional", "subclass"):
            cells += [
                f"{b[f'build_{key}_{target}_module_s']:.2f}",
                f"{b[f'build_{key}_{target}_s']:.2f}",
                f"**{b[f'build_{key}_{target}_overhead']:.2f}**",
            ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Building models: kspec vs hand-written Keras (in process)",
        "",
        "Hand-written: the Functional API script (`keras.applications.ResNet50` for ResNet50), "
        "and for the chains also a hand-written `keras.Model` subclass called on `keras.Input` "
        "the way the tutorial builds it.",
        "",
        "| model | hand-written functional s | hand-written subclass s | kspec functional s "
        "(ratio) | kspec subclass s (ratio to hand-written functional; to subclass) |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, label in labels:
        hand_sub = b.get(f"build_{key}_hand_subclass_s")
        sub_ratio = f"{b[f'build_{key}_subclass_ratio']:.2f}"
        if hand_sub:
            sub_ratio += f"; {b[f'build_{key}_subclass_s'] / hand_sub:.2f}"
        lines.append(
            f"| {label} | {b[f'build_{key}_hand_s']:.2f} | "
            f"{'-' if hand_sub is None else f'{hand_sub:.2f}'} | "
            f"{b[f'build_{key}_functional_s']:.2f} ({b[f'build_{key}_functional_ratio']:.2f}) | "
            f"{b[f'build_{key}_subclass_s']:.2f} ({sub_ratio}) |"
        )
    p = r["runtime"]
    lines += [
        "",
        f"## Runtime parity (residual_cnn, batch of 64; medians of {10 * r['repeats']} "
        "interleaved calls; target 0.95-1.05)",
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
            "Check and compile: `kspec.check` and `kspec.to_source` in process (a whole "
            "process's start-up would hide the per-layer work at 300 layers). Builds: "
            "`kspec.build_model`.",
            "",
            f"| stage | ms/layer at {small:,} | ms/layer at {large:,} | ratio |",
            "|---|---:|---:|---:|",
        ]
        for stage in ("check", "compile"):
            for lo, hi in ((small, large), (1000, 10000)):
                if f"in_process_{stage}_{hi}_s" not in c or f"in_process_{stage}_{lo}_s" not in c:
                    continue
                per = [c[f"in_process_{stage}_{n}_s"] / n for n in (lo, hi)]
                name = stage if (lo, hi) == (small, large) else f"{stage} ({hi:,} vs {lo:,})"
                lines.append(
                    f"| {name} | {1000 * per[0]:.3f} | {1000 * per[1]:.3f} | "
                    f"{per[1] / per[0]:.2f} |"
                )
        for target in ("functional", "subclass"):
            per = [b[f"build_{n}_{target}_s"] / n for n in (small, large)]
            lines.append(
                f"| build, {target} | {1000 * per[0]:.2f} | {1000 * per[1]:.2f} | "
                f"{per[1] / per[0]:.2f} |"
            )
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
    if not args.quick:
        update_docs(text)
    print(text)
    return 0


BEGIN, END = "<!-- results: written by bench/run.py -->", "<!-- end of results -->"


def update_docs(text: str) -> None:
    """Put the results table into docs/benchmarks.md, between its markers."""
    doc = ROOT / "docs" / "benchmarks.md"
    current = doc.read_text(encoding="utf-8")
    head, rest = current.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    body = text.split("\n", 1)[1].replace("\n## ", "\n### ")  # its own title dropped
    doc.write_text(f"{head}{BEGIN}\n{body.strip()}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
