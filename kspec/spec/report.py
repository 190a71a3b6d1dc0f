"""A diagnostics accumulator bound to one document, so every stage reports the same way."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable

from kspec.diagnostics import Diagnostic, Severity
from kspec.spec.loader import Document, Path, pointer


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to ``word`` (case, Unicode compatibility forms ignored), or None."""
    pool = list(candidates)

    def norm(s: str) -> str:
        return unicodedata.normalize("NFKC", s).casefold()

    by_norm = {norm(c): c for c in pool}
    if norm(word) in by_norm:
        return by_norm[norm(word)]
    match = difflib.get_close_matches(norm(word), list(by_norm), n=1, cutoff=0.6)
    return by_norm[match[0]] if match else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    best = suggest(word, candidates)
    return f"did you mean {best!r}?" if best else None


class Reporter:
    """Collects diagnostics for ``doc``; ``at(path)`` finds the line and column."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.diagnostics: list[Diagnostic] = []
        self._seen: set[tuple[str, str, str]] = set()

    def add(
        self,
        code: str,
        message: str,
        path: Path = (),
        *,
        hint: str | None = None,
        key: bool = False,
        node: str | None = None,
        severity: Severity = "error",
        notes: tuple[str, ...] = (),
    ) -> None:
        ptr = pointer(path)
        ident = (code, ptr, message)
        if ident in self._seen:  # the same problem seen again (a block checked per instance)
            return
        self._seen.add(ident)
        self.diagnostics.append(
            Diagnostic(
                code,
                message,
                severity=severity,
                hint=hint,
                path=self.doc.path,
                span=self.doc.span(path, key=key),
                pointer=ptr,
                node=node,
                notes=notes,
            )
        )

    @property
    def errors(self) -> int:
        return sum(d.severity == "error" for d in self.diagnostics)
