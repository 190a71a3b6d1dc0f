"""docs/errors.md is generated from the codes' entries (kspec/codes.py) by
tools/gen_errors_doc.py: every entry's cause, example specs and fix appear there as written,
in code order, and ``kspec explain`` prints the same entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from kspec.cli import main
from kspec.codes import CODES, ENTRIES, cause, explain

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
REGENERATE = "regenerate it: .venv/bin/python tools/gen_errors_doc.py"


def _section(code: str) -> str:
    start = DOC.index(f"## {code}: {CODES[code]}\n")
    end = DOC.find("\n## KS", start + 1)
    return DOC[start : end if end > 0 else len(DOC)]


@pytest.mark.parametrize("code", list(ENTRIES))
def test_entry_is_in_the_doc(code: str) -> None:
    section = _section(code)
    entry = ENTRIES[code]
    assert "**Cause.** " + cause(code).strip() in section, REGENERATE
    assert "**Fix.** " + entry.fix.strip() in section, REGENERATE
    for example in entry.examples:
        if isinstance(example.spec, str) and not example.spec.startswith("\ufeff"):
            assert example.spec.rstrip("\n") in section, REGENERATE


def test_entries_are_complete() -> None:
    for code, entry in ENTRIES.items():
        assert entry.title and entry.cause.strip() and entry.fix.strip(), code


def test_explain(capsys: pytest.CaptureFixture[str]) -> None:
    assert explain("KS201").startswith("KS201: duplicate name\n")
    assert main(["explain", "ks201"]) == 0
    assert capsys.readouterr().out == explain("KS201")
    assert main(["explain", "KS999"]) == 2
    assert "no code KS999" in capsys.readouterr().err
