"""The exact text ``kspec check`` prints for representative broken specs.

Each golden file under tests/golden/errors/ holds the whole stderr of
``NO_COLOR=1 kspec check tests/specs/bad/<name>.yaml`` run from the repository root: the
diagnostics with their source lines, carets and hints, and the summary line. A change in
wording, position or layout shows up here as a diff.

Regenerate after an intended change with::

    KSPEC_UPDATE_GOLDEN=1 pytest tests/test_golden_errors.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kspec import cli

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "errors"
UPDATE = os.environ.get("KSPEC_UPDATE_GOLDEN") == "1"
REGENERATE = "KSPEC_UPDATE_GOLDEN=1 pytest tests/test_golden_errors.py"

CASES = (
    "yaml_flow_expr_unquoted",
    "yaml_flow_index_unquoted",
    "yaml_tab_indent",
    "yaml_duplicate_key",
    "schema_unknown_key_unit",
    "schema_use_bias_no",
    "schema_activation_rellu",
    "meaning_tutorial_dense1",
    "meaning_ref_index_out_of_range",
    "meaning_unused_node_with_error",
    "expr_true_division",
    "expr_unknown_param",
)


def _render(name: str, capsys: pytest.CaptureFixture[str], monkeypatch) -> tuple[int, str]:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("NO_COLOR", "1")
    capsys.readouterr()
    status = cli.main(["check", f"tests/specs/bad/{name}.yaml"])
    captured = capsys.readouterr()
    assert captured.out == "", "kspec check writes text diagnostics to stderr only"
    return status, captured.err


def test_cases_exist() -> None:
    assert len(CASES) == 12
    for name in CASES:
        assert (ROOT / "tests" / "specs" / "bad" / f"{name}.yaml").is_file(), name


@pytest.mark.parametrize("name", CASES)
def test_golden_error_text(name: str, capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    status, text = _render(name, capsys, monkeypatch)
    assert status == 1
    golden = GOLDEN / f"{name}.txt"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8", newline="\n")
        return
    if not golden.is_file():
        pytest.fail(f"{golden.relative_to(ROOT)} is missing; create it with: {REGENERATE}")
    expected = golden.read_text(encoding="utf-8")
    if text != expected:
        import difflib

        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"{golden.relative_to(ROOT)} (golden)",
                "kspec check (now)",
            )
        )
        pytest.fail(
            f"`kspec check tests/specs/bad/{name}.yaml` output changed:\n{diff}\n"
            f"If the change is intended, regenerate the golden files with: {REGENERATE}",
            pytrace=False,
        )


def test_no_stale_golden_files() -> None:
    """Every golden file belongs to a case (a renamed case must not leave its old file)."""
    if not GOLDEN.is_dir():
        pytest.skip("no golden files yet")
    extra = sorted(p.name for p in GOLDEN.glob("*.txt") if p.stem not in CASES)
    assert not extra, f"golden files without a case: {extra}; delete them"
