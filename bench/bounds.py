"""Measure the ratios behind the tests' time bounds and write bench/bounds.md.

The tests bound the CPU time of hostile work by a factor times a reference workload measured in
the same process (tests/timing.py); no test asserts an absolute time. This runs those tests
with KSPEC_REPORT_BOUNDS=1, collects every measured ratio, and writes, per test, its factor,
the largest ratio and the margin between them (the tests keep it at 5 or more).

    python bench/bounds.py            # writes bench/bounds.md
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = [
    "tests/test_hostile.py::test_expected_diagnostic",
    "tests/test_hostile.py::test_valid_payload_specs_compile_to_plain_strings",
    "tests/test_hostile.py::test_cli_subprocess",
    "tests/test_hostile.py::test_no_regex_backtracks_on_10kb",
    "tests/test_loader.py",
    "tests/test_expressions.py::test_bounds",
    "tests/test_shapes.py",
]


def collect() -> list[tuple[str, float, float, str]]:
    """(test, factor, ratio, what) for every bounded measurement."""
    env = {**os.environ, "KSPEC_REPORT_BOUNDS": "1"}
    argv = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *TESTS]
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:])
        raise SystemExit("the bounded tests failed; see above")
    rows = []
    for line in proc.stdout.splitlines():
        if line.startswith("BOUND\t"):
            _, test, factor, ratio, what = line.split("\t", 4)
            rows.append((test, float(factor), float(ratio), what))
    return rows


def table(rows: list[tuple[str, float, float, str]]) -> str:
    by_test: dict[str, list[tuple[float, float, str]]] = {}
    for test, factor, ratio, what in rows:
        by_test.setdefault(test, []).append((ratio, factor, what))
    lines = [
        "| test | measurements | factor | largest ratio | margin | largest for |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for test, measured in sorted(by_test.items()):
        ratio, factor, what = max(measured)
        margin = f"{factor / ratio:.0f}x" if ratio > 0 else "-"
        what = what.replace("|", "\\|")[:60]
        lines.append(
            f"| `{test}` | {len(measured)} | {factor:g} | {ratio:.3f} | {margin} | {what} |"
        )
    return "\n".join(lines)


def main() -> None:
    rows = collect()
    text = (
        "# The tests' time bounds, measured\n\n"
        f"Machine: {os.cpu_count()} CPUs, {platform.machine()}, Python "
        f"{platform.python_version()}. Written by `python bench/bounds.py`.\n\n"
        "Each bounded test measures the CPU time of its work and divides it by a reference "
        "workload measured in the same process (tests/timing.py: 20 warm `kspec check` runs of "
        "examples/residual_cnn.yaml; for a child process, the CPU time of `kspec check "
        "examples/mnist_mlp.yaml` in a child process). A test fails when the ratio reaches its "
        "factor; the margin is how far below it the largest ratio measured here stays.\n\n"
        + table(rows)
        + "\n"
    )
    (ROOT / "bench" / "bounds.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
