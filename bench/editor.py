"""Editor timings: yaml-language-server validating and completing large specs with the schema.

    .venv/bin/python bench/editor.py                      # the published schema
    .venv/bin/python bench/editor.py --compare OLD.json   # and another schema, interleaved

For each size (bench/make_spec.py's chain of Dense and Add layers, plus one block-style node
at the end where completion is asked), one edit is made and timed until the server publishes
its diagnostics ("validate"), then a completion is asked in that last node ("complete").
Medians of ``--repeats`` runs. yaml-language-server waits 200 ms after an edit before it
validates (its debounce): "validate" includes it. "no schema" is the same server with no
schema associated: what YAML parsing alone costs. Needs Node.js and yaml-language-server
(``npm install yaml-language-server``, or YAML_LANGUAGE_SERVER=path). Not part of the test
suite's pass/fail: machines differ; compare figures taken in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from lsp_client import LspSession, uri_of  # noqa: E402
from make_spec import chain_spec  # noqa: E402

SIZES = (250, 1000, 2000, 4000)
PROBE = "  - name: probe\n    type: Dense\n    units: {units}\n    \n"


def server() -> list[str] | None:
    found = os.environ.get("YAML_LANGUAGE_SERVER") or shutil.which("yaml-language-server")
    local = ROOT / "node_modules" / ".bin" / "yaml-language-server"
    if not found and local.exists():
        found = str(local)
    return [found, "--stdio"] if found else None


def spec_text(n: int, units: int) -> tuple[str, int]:
    """A chain of ``n`` layers plus the probe node; the 0-based line of its blank key line."""
    text = chain_spec(n)
    head, tail = text.rsplit("outputs:", 1)
    full = head + PROBE.format(units=units) + "outputs:" + tail
    return full, head.count("\n") + 3


def settings(schema: Path | None) -> dict[str, object]:
    yaml: dict[str, object] = {
        "validate": True,
        "completion": True,
        "hover": True,
        "schemaStore": {"enable": False},
        "format": {"enable": False},
    }
    if schema is not None:
        yaml["schemas"] = {uri_of(schema): ["*.yaml"]}
    return {"yaml": yaml}


def measure(
    argv: list[str], schemas: dict[str, Path | None], folder: Path, repeats: int
) -> dict[str, dict[int, dict[str, float]]]:
    """One server per schema, all running; every edit is made in each in turn (interleaved,
    so a busy machine slows them alike)."""
    sessions = {name: LspSession(argv, folder, settings(path)) for name, path in schemas.items()}
    times: dict[str, dict[int, dict[str, list[float]]]] = {name: {} for name in schemas}
    try:
        for name, s in sessions.items():  # each loads its schema here
            s.open(uri_of(folder / f"warm-{len(name)}.yaml"), spec_text(4, 8)[0])
        for n in SIZES:
            text, line = spec_text(n, 8)
            for name, s in sessions.items():
                s.open(uri_of(folder / f"chain_{n}.yaml"), text)
                times[name][n] = {"validate": [], "complete": []}
            for i in range(repeats):
                edited, _ = spec_text(n, 9 + i % 2)
                for name, s in sessions.items():
                    uri = uri_of(folder / f"chain_{n}.yaml")
                    start = time.perf_counter()
                    s.change(uri, edited)
                    times[name][n]["validate"].append(time.perf_counter() - start)
                    start = time.perf_counter()
                    s.completion_labels(uri, line, 4)
                    times[name][n]["complete"].append(time.perf_counter() - start)
            for s in sessions.values():
                s.close(uri_of(folder / f"chain_{n}.yaml"))
    finally:
        for s in sessions.values():
            s.shutdown()
    return {
        name: {
            n: {f"{k}_s": round(statistics.median(v), 3) for k, v in per.items()}
            for n, per in by_size.items()
        }
        for name, by_size in times.items()
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--compare", type=Path, help="another schema file to time the same way")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    argv = server()
    if argv is None:
        print("yaml-language-server not found (npm install yaml-language-server)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        schema = folder / "kspec-1.schema.json"
        from kspec.schemas.build import published, render

        schema.write_text(render(published()), encoding="utf-8")
        runs: dict[str, Path | None] = {"no schema": None, "published": schema}
        if args.compare:
            runs["compare"] = args.compare.resolve()
        results = measure(argv, runs, folder, args.repeats)
    print(f"{'layers':>7}  " + "  ".join(f"{name:>22}" for name in results))
    print(f"{'':>7}  " + "  ".join(f"{'validate  complete':>22}" for _ in results))
    for n in SIZES:
        cells = [
            f"{r[n]['validate_s']:>9.2f} s {r[n]['complete_s']:>7.2f} s" for r in results.values()
        ]
        print(f"{n:>7}  " + "  ".join(f"{c:>22}" for c in cells))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
