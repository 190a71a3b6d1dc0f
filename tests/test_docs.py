"""The documentation stays in step with the code: every diagnostic code has its entry in
docs/errors.md (and no entry names a code that does not exist), every code is exercised by the
tests, and the README links to files that exist."""

from __future__ import annotations

import re
from pathlib import Path

from kspec.codes import CODES

ROOT = Path(__file__).resolve().parent.parent


def test_every_code_is_documented_once() -> None:
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (KS\d{3}): (.+)$", text, flags=re.MULTILINE)
    assert [code for code, _ in headings] == list(CODES)
    assert dict(headings) == CODES


def test_every_code_is_exercised_by_a_test() -> None:
    """Each code appears in a test or in a broken spec's `# expect:` header."""
    corpus = "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in (ROOT / "tests").rglob("*")
        if p.suffix in (".py", ".yaml") and p.is_file() and p.name != "test_docs.py"
    )
    missing = [code for code in CODES if code not in corpus]
    assert missing == []


def test_readme_links_exist() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target
