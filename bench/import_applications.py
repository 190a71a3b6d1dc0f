"""Round trips of every ``keras.applications`` constructor through ``kspec import``.

    .venv/bin/python bench/import_applications.py                 # all 40 (about an hour)
    .venv/bin/python bench/import_applications.py ResNet50 VGG16  # some

For each model (built with ``weights=None``, in a process of its own): the import time, the
spec's length in lines, its blocks, then both targets rebuilt from the spec and compared with
the original: parameter counts, output shapes, and the largest output difference on the same
random input after copying the original's weights (relative to the largest output). Writes
bench/import_applications.json and bench/import_applications.md. Not part of the test suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Keras' own non-public layer classes that keras.applications uses
ALLOW = ["keras.src.applications.convnext", "keras.src.applications.inception_resnet_v2"]


def measure(name: str) -> dict[str, Any]:
    """One model, in this process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    import kspec
    from kspec.importer import import_model
    from kspec.importer.emit import render
    from kspec.importer.roundtrip import compare

    original = getattr(keras.applications, name)(weights=None)
    row: dict[str, Any] = {"model": name, "layers": len(original.layers)}
    start = time.perf_counter()
    imported = import_model(original, allow_imports=ALLOW)
    text = render(imported)
    row["import_s"] = round(time.perf_counter() - start, 2)
    row["lines"] = len(text.splitlines())
    row["blocks"] = len(imported.blocks)
    start = time.perf_counter()
    flat = render(import_model(original, allow_imports=ALLOW, blocks=False))
    row["flat_import_s"] = round(time.perf_counter() - start, 2)  # without the block finder
    row["flat_lines"] = len(flat.splitlines())
    problems = [d for d in kspec.check_text(text, f"{name}.yaml") if d.severity == "error"]
    if problems:
        row["error"] = f"{problems[0].code}: {problems[0].message}"
        return row
    start = time.perf_counter()
    result = compare(original, kspec.loads(text), ALLOW)
    row["compare_s"] = round(time.perf_counter() - start, 1)
    row["params"] = result.original_params
    row["rebuilt_params"] = result.params
    row["difference"] = result.difference
    row["ok"] = result.ok
    if result.problems:
        row["error"] = "; ".join(result.problems)
    return row


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(measure(sys.argv[2])))
        return
    import keras

    names = sys.argv[1:] or [n for n in dir(keras.applications) if n[0].isupper()]
    rows = []
    for name in names:
        proc = subprocess.run(
            [sys.executable, __file__, "--one", name],
            capture_output=True,
            text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"},
        )
        lines = proc.stdout.strip().splitlines()
        try:
            row = json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError):
            row = {"model": name, "error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = ROOT / "bench" / "import_applications"
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    out.with_suffix(".md").write_text(table(rows))


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "# `kspec import` of keras.applications (weights=None)\n\n"
        "Produced by `bench/import_applications.py`. Import s: reading the model and writing "
        "the spec; of which blocks s: the block finder's share (the import time minus that of "
        "`--flat`). Lines: the imported spec (flat: one node per layer, `--flat`). "
        "Difference: the largest |original - rebuilt| output on the same "
        "random input after copying the original's weights, relative to the largest output.\n\n"
        "| model | layers | import s | of which blocks s | lines | flat lines | blocks "
        "| parameters | functional | subclass | difference (f / s) | result |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n"
    )
    body = []
    for r in rows:
        rebuilt = r.get("rebuilt_params", {})
        diff = r.get("difference", {})
        cells = [
            r["model"],
            str(r.get("layers", "")),
            f"{r['import_s']:.2f}" if "import_s" in r else "",
            f"{max(0.0, r['import_s'] - r['flat_import_s']):.2f}" if "flat_import_s" in r else "",
            str(r.get("lines", "")),
            str(r.get("flat_lines", "")),
            str(r.get("blocks", "")),
            f"{r['params']:,}" if "params" in r else "",
            f"{rebuilt['functional']:,}" if "functional" in rebuilt else "",
            f"{rebuilt['subclass']:,}" if "subclass" in rebuilt else "",
            " / ".join(f"{diff[t]:.1e}" for t in ("functional", "subclass") if t in diff),
            "ok" if r.get("ok") else str(r.get("error", "")).replace("|", "\\|")[:160],
        ]
        body.append("| " + " | ".join(cells) + " |")
    return head + "\n".join(body) + "\n"


if __name__ == "__main__":
    main()
