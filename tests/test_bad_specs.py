"""The corpus of broken specs under tests/specs/bad/: each file states what kspec must report.

Every file starts with header comment lines::

    # expect: KS201 at 9             (an error: code and line)
    # expect-warning: KS214 at 12    (a warning)

``kspec.check`` must report exactly those (code, line) pairs among its errors (and, when a
file declares warnings, among its warnings); ``kspec check FILE`` must exit 1 (0 when the file
only declares warnings) and print the first diagnostic as ``path:line:col: error[CODE]: ...``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import kspec
from kspec import cli

BAD = Path(__file__).parent / "specs" / "bad"
FILES = sorted(BAD.glob("*.yaml"))

HEADER = re.compile(r"# expect(-warning)?: (KS\d{3}) at (\d+)\Z")

# Cases that fail because of a kspec bug (repro in /tmp/kspec_bugs/); strict, so a fix shows up
# as XPASS and the entry must then be removed.
KNOWN_BUGS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Expected:
    errors: frozenset[tuple[str, int]]
    warnings: frozenset[tuple[str, int]]


def expectations(path: Path) -> Expected:
    """The ``# expect`` lines at the top of ``path`` (a comment block before any YAML)."""
    errors: set[tuple[str, int]] = set()
    warnings: set[tuple[str, int]] = set()
    for raw in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        if not raw.startswith("#"):
            break
        if not raw.startswith("# expect"):
            continue
        m = HEADER.fullmatch(raw)
        assert m, f"{path.name}: malformed header line {raw!r}"
        (warnings if m.group(1) else errors).add((m.group(2), int(m.group(3))))
    return Expected(frozenset(errors), frozenset(warnings))


def _params(test: str) -> list[object]:
    out = []
    for f in FILES:
        marks = []
        if (test, f.name) in KNOWN_BUGS:
            marks.append(pytest.mark.xfail(reason=KNOWN_BUGS[(test, f.name)], strict=True))
        out.append(pytest.param(f, id=f.stem, marks=marks))
    return out


def test_corpus_is_large_enough() -> None:
    assert len(FILES) >= 40


def test_every_file_declares_something() -> None:
    for f in FILES:
        first = f.read_text(encoding="utf-8").splitlines()[0]
        assert HEADER.fullmatch(first), f"{f.name} must start with a '# expect' line"
        exp = expectations(f)
        assert exp.errors or exp.warnings, f.name


@pytest.mark.parametrize("path", _params("expected"))
def test_expected_diagnostics(path: Path) -> None:
    exp = expectations(path)
    diags = kspec.check(str(path))
    errors = {(d.code, d.line) for d in diags if d.severity == "error"}
    shown = "\n".join(f"  {d.code} {d.line}:{d.column} {d.message}" for d in diags)
    assert errors == exp.errors, f"{path.name}: got\n{shown}"
    if exp.warnings:
        warnings = {(d.code, d.line) for d in diags if d.severity == "warning"}
        assert warnings == exp.warnings, f"{path.name}: got\n{shown}"


@pytest.mark.parametrize("path", _params("unique"))
def test_one_diagnostic_per_problem(path: Path) -> None:
    """No two diagnostics with the same code at the same line and column (one problem, one
    message)."""
    keys = [(d.code, d.line, d.column) for d in kspec.check(str(path))]
    assert len(keys) == len(set(keys)), keys


@pytest.mark.parametrize("path", _params("cli"))
def test_cli_check(path: Path, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    exp = expectations(path)
    diags = kspec.check(str(path))
    status = cli.main(["check", str(path)])
    err = capsys.readouterr().err
    assert status == (1 if exp.errors else 0), err
    # The first line shown is the first expected diagnostic in (line, column, code) order.
    declared = [(code, line, "error") for code, line in exp.errors]
    declared += [(code, line, "warning") for code, line in exp.warnings]
    first = min(
        (d.line, d.column, d.code, d.severity)
        for d in diags
        if (d.code, d.line, d.severity) in declared
    )
    line, col, code, severity = first
    prefix = f"{path}:{line}:{col}: {severity}[{code}]:"
    assert err.splitlines()[0].startswith(prefix), err
    assert "Traceback" not in err
