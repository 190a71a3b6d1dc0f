"""Time a deep model's generated modules standalone and write bench/deep.md.

For an N-layer chain (bench/make_spec.py; default 3,000) and each target: ``kspec compile`` to a
module, then in a fresh ``python`` at default recursion settings ``from m import build_model;
build_model()``, ``model.save("m.keras")``, and in another fresh ``python`` the load a user would
do (the functional module's ``load_model``, ``tf.keras.models.load_model`` for the subclass).
Each step's wall time is measured inside the child (the imports not counted).

    python bench/deep.py [N]
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from make_spec import chain_spec  # noqa: E402

BUILD = """\
import sys, time
from {module} import build_model
t = time.perf_counter(); model = build_model(); built = time.perf_counter() - t
assert sys.getrecursionlimit() == 1000
t = time.perf_counter(); model.save("m.keras"); saved = time.perf_counter() - t
print(built, saved)
"""
LOAD = """\
import time
import tensorflow as tf
import {module}
load = getattr({module}, "load_model", tf.keras.models.load_model)
t = time.perf_counter(); load("m.keras"); print(time.perf_counter() - t)
"""


def _child(code: str, cwd: str) -> list[float]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return [float(x) for x in proc.stdout.strip().splitlines()[-1].split()]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / f"chain_{n}.yaml"
        spec.write_text(chain_spec(n), encoding="utf-8")
        for target in ("functional", "subclass"):
            module = f"chain_{target}"
            subprocess.run(
                [sys.executable, "-m", "kspec", "compile", str(spec), "--target", target,
                 "-o", str(Path(folder) / f"{module}.py")],
                check=True, capture_output=True,
            )  # fmt: skip
            built, saved = _child(BUILD.format(module=module), folder)
            (loaded,) = _child(LOAD.format(module=module), folder)
            rows.append(f"| {target} | {built:.1f} | {saved:.1f} | {loaded:.1f} |")
    text = (
        f"# A {n:,}-layer spec's generated modules, standalone\n\n"
        f"Machine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
        f"{platform.python_version()}. Written by `python bench/deep.py {n}`: each step in a "
        "fresh interpreter at Python's default recursion limit, wall seconds (imports not "
        "counted).\n\n"
        "| target | `build_model()` s | `model.save` s | load s |\n|---|---:|---:|---:|\n"
        + "\n".join(rows)
        + "\n"
    )
    (ROOT / "bench" / "deep.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
