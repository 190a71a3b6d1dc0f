"""A diagnostics accumulator bound to one document, so every stage reports the same way."""

from __future__ import annotations

import contextvars
import difflib
import unicodedata
from collections.abc import Iterable

from kspec.diagnostics import Diagnostic, Severity
from kspec.spec.loader import Document, Path, pointer

# "Did you mean" compares a word with every candidate: with thousands of unknown names in a
# hostile spec that is quadratic, so each check gets a budget of suggestions.
SUGGESTION_BUDGET = 200
_budget: contextvars.ContextVar[int] = contextvars.ContextVar("suggestions", default=0)


def reset_suggestions() -> None:
    _budget.set(SUGGESTION_BUDGET)


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to ``word`` (case, Unicode compatibility forms ignored), or None
    (also once the check's budget of suggestions is spent)."""
    left = _budget.get()
    if left <= 0:
        return None
    _budget.set(left - 1)
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

    MAX_DIAGNOSTICS = 500  # a hostile file can make millions; nobody reads past the first few

    def __init__(self, doc: Document):
        self.doc = doc
        self.diagnostics: list[Diagnostic] = []
        self.unreported = 0  # problems counted but not described (a hostile file's thousands)
        self.truncated = False  # and some were not even counted
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
        if self.full:
            self.unreported += 1
            return
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
    def full(self) -> bool:
        """Enough problems kept to show the first ones (they are found in file order, mostly):
        more are only counted."""
        return len(self.diagnostics) >= 2 * self.MAX_DIAGNOSTICS

    def finish(self) -> list[Diagnostic]:
        """The diagnostics, in file order, at most ``MAX_DIAGNOSTICS`` of them (then KS010)."""
        ordered = sorted(self.diagnostics, key=lambda d: (d.line, d.column, d.code))
        if len(ordered) <= self.MAX_DIAGNOSTICS and not self.unreported:
            return ordered
        more = max(0, len(ordered) - self.MAX_DIAGNOSTICS) + self.unreported
        count = f"at least {more:,}" if self.truncated else f"{more:,}"
        return [
            *ordered[: self.MAX_DIAGNOSTICS],
            Diagnostic(
                "KS010",
                f"{count} more problems not shown (kspec shows the first {self.MAX_DIAGNOSTICS})",
                path=self.doc.path,
                hint="fix these first, then check again",
            ),
        ]

    @property
    def errors(self) -> int:
        return sum(d.severity == "error" for d in self.diagnostics)
