"""Editor timings: yaml-language-server validating and completing large specs with the schema.

    .venv/bin/python bench/editor.py                      # the published schema
    .venv/bin/python bench/editor.py --compare OLD.json   # and another schema, interleaved
    .venv/bin/python bench/editor.py --lsp                # and `kspec lsp` (its diagnostics)

For each size (bench/make_spec.py's chain of Dense and Add layers, plus one block-style node
at the end where completion is asked), one edit is made and timed until the server publishes
its diagnostics ("validate"), then a completion is asked in that last node ("complete").
For ``kspec lsp``, "validate" is ``kspec check`` of the text (150 ms pause included).
Medians of ``--repeats`` runs. yaml-language-server waits 200 ms after an edit before it
validates (its debounce): "validate" includes it. "no schema" is the same server with no
schema associated: what YAML parsing alone costs. Needs Node.js and yaml-language-server
(``cd .ci/editor && npm ci``, or YAML_LANGUAGE_SERVER=path). Not part of the test
suite's pass/fail: machines differ; compare figures taken in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from editor_corpus import yaml_language_server  # noqa: E402
from lsp_client import LspSession, uri_of  # noqa: E402
from make_spec import chain_spec  # noqa: E402

SIZES = (250, 1000, 2000, 4000)
PROBE = "  - name: probe\n    type: Dense\n    units: {units}\n    \n"


def server() -> list[str] | None:
    """yaml-language-server as the tests find it (YAML_LANGUAGE_SERVER, .ci/editor, PATH)."""
    return yaml_language_server()[0]


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


Server = tuple[list[str], dict[str, object]]  # command, settings


def measure(
    servers: dict[str, Server], folder: Path, repeats: int
) -> dict[str, dict[int, dict[str, float]]]:
    """All servers running; every edit is made in each in turn (interleaved, so a busy
    machine slows them alike)."""
    sessions = {name: LspSession(argv, folder, conf) for name, (argv, conf) in servers.items()}
    times: dict[str, dict[int, dict[str, list[float]]]] = {name: {} for name in servers}
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
    ap.add_argument("--lsp", action="store_true", help="also time `kspec lsp` on the same edits")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    argv = server()
    if argv is None:
        print(yaml_language_server()[1], file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        schema = folder / "kspec-1.schema.json"
        from kspec.schemas.build import published, render

        schema.write_text(render(published()), encoding="utf-8")
        runs: dict[str, Server] = {
            "no schema": (argv, settings(None)),
            "published": (argv, settings(schema)),
        }
        if args.compare:
            runs["compare"] = (argv, settings(args.compare.resolve()))
        if args.lsp:
            runs["kspec lsp"] = ([sys.executable, "-m", "kspec", "lsp"], {})
        results = measure(runs, folder, args.repeats)
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
