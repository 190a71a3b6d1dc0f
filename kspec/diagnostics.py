"""Diagnostics: what every stage reports, and how it is shown.

A :class:`Diagnostic` is plain data (a stable code, a severity, a message, an optional hint and
where it happened). Stages return lists of them; nothing here decides control flow. Rendering
lives here too, so the CLI and the Python API show the same text.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal, TextIO

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Span:
    """A region of the source, 1-based lines and columns; ``end_column`` is exclusive.

    ``file``: the file the region is in, when it is not the document's own (a value a spec
    inherited from its base or an included block library); ``via`` then says how that file
    came in (``model.yaml line 3 extends base.yaml``). A :class:`Diagnostic` at such a span
    names that file and carries ``via`` as a note."""

    line: int
    column: int
    end_line: int
    end_column: int
    file: str | None = None
    via: str | None = None


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a spec.

    ``code`` is stable (``KS101``) and documented in docs/errors.md; ``pointer`` is the JSON
    pointer of the offending value in the document (``/layers/2/units``); ``node`` the name of
    the spec node it concerns, when there is one.
    """

    code: str
    message: str
    severity: Severity = "error"
    hint: str | None = None
    path: str = "<spec>"
    span: Span | None = None
    pointer: str = ""
    node: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        span = self.span
        if span is not None and span.file is not None:  # a value written in another file
            object.__setattr__(self, "path", span.file)
            if span.via and span.via not in self.notes:
                object.__setattr__(self, "notes", (*self.notes, span.via))
        # a message quotes spec text: keep it one printable line (see ``printable``)
        for name in ("message", "hint"):
            value = getattr(self, name)
            if value is not None and not value.isprintable():
                object.__setattr__(self, name, printable(value))
        if not all(n.isprintable() for n in self.notes):
            object.__setattr__(self, "notes", tuple(printable(n) for n in self.notes))

    @property
    def line(self) -> int:
        return self.span.line if self.span else 1

    @property
    def column(self) -> int:
        return self.span.column if self.span else 1

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["line"], data["column"] = self.line, self.column
        if self.span:
            data["end_line"], data["end_column"] = self.span.end_line, self.span.end_column
        del data["span"]  # its file is ``path``, its ``via`` one of the notes
        data["notes"] = list(self.notes)
        return data


class KspecError(Exception):
    """Raised by the Python API when a spec has errors; carries every diagnostic."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = list(diagnostics)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        first = errors[0] if errors else self.diagnostics[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{first.path}:{first.line}:{first.column}: {first.message}{more}")


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    return (d.path, d.line, d.column, d.code)


# -- rendering -------------------------------------------------------------------------------


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if colour else text


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\n``, ``\\x1b``): a message quotes spec
    text, which must not start a new output line (a forged CI annotation) or reach the
    terminal as an escape sequence."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _source_line(text: str) -> str:
    """A source line for display: control characters become ``?`` (columns stay in place)."""
    return "".join(c if c.isprintable() or c == "\t" else "?" for c in text)


def render_text(d: Diagnostic, source_lines: Sequence[str] | None, colour: bool = False) -> str:
    """``path:line:col: error[KS101]: message``, the source line, a caret under the span, hints."""
    sev = _paint(f"{d.severity}[{d.code}]", "1;31" if d.severity == "error" else "1;33", colour)
    message = printable(d.message)
    if d.span is None and d.path == "<spec>":  # not about a file (e.g. TensorFlow missing)
        out = [f"kspec: {sev}: {message}"]
    else:
        out = [f"{printable(d.path)}:{d.line}:{d.column}: {sev}: {message}"]
    if d.span and source_lines and 0 < d.span.line <= len(source_lines):
        text = source_lines[d.span.line - 1].rstrip("\r\n")
        shown = _source_line(text.expandtabs(1)[:200])
        start = min(d.span.column - 1, len(shown))
        end = d.span.end_column - 1 if d.span.end_line == d.span.line else len(shown)
        width = max(1, min(end, len(shown)) - start)
        gutter = f"{d.span.line:>5} | "
        out.append(gutter + shown)
        out.append(
            " " * (len(gutter) - 2) + "| " + " " * start + _paint("^" * width, "1;32", colour)
        )
    if d.hint:
        out.append(f"      = help: {printable(d.hint)}")
    for note in d.notes:
        out.append(f"      = note: {printable(note)}")
    return "\n".join(out)


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    """The stable JSON form: ``{"version": 1, "diagnostics": [...]}`` (see docs/cli.md)."""
    return json.dumps(
        {"version": 1, "diagnostics": [d.to_json() for d in diagnostics]}, indent=2, sort_keys=True
    )


def _gh_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def render_github(d: Diagnostic) -> str:
    """A GitHub Actions workflow command (an annotation on the pull request's diff)."""
    kind = "error" if d.severity == "error" else "warning"
    props = f"file={_gh_escape(printable(d.path), True)},line={d.line},col={d.column}"
    if d.span:
        props += f",endLine={d.span.end_line},endColumn={d.span.end_column}"
    message = printable(d.message + (f" (help: {d.hint})" if d.hint else ""))
    return f"::{kind} {props},title={d.code}::{_gh_escape(message)}"


def render_sarif(diagnostics: Sequence[Diagnostic]) -> str:
    """SARIF 2.1.0, for code-scanning UIs: one run, a rule per code used, a result per
    diagnostic with its region (1-based lines and columns, end column exclusive as in kspec)."""
    from kspec import __version__
    from kspec.codes import CODES, ENTRIES, cause

    used = sorted({d.code for d in diagnostics})
    rules = [
        {
            "id": code,
            "name": "".join(
                w.capitalize()
                for w in CODES.get(code, code).replace("-", " ").split()
                if w.isalnum()
            ),
            "shortDescription": {"text": CODES.get(code, code)},
            **(
                {
                    "fullDescription": {"text": " ".join(cause(code).split())},
                    "help": {
                        "text": " ".join(ENTRIES[code].fix.split())
                        + f" See docs/errors.md, section {code} (or `kspec explain {code}`)."
                    },
                }
                if code in ENTRIES
                else {"help": {"text": f"See docs/errors.md, section {code}."}}
            ),
        }
        for code in used
    ]
    results = []
    for d in diagnostics:
        text = d.message + (f" (help: {d.hint})" if d.hint else "")
        location: dict[str, object] = {
            "artifactLocation": {"uri": d.path.replace(os.sep, "/")},
        }
        if d.span:
            location["region"] = {
                "startLine": d.span.line,
                "startColumn": d.span.column,
                "endLine": d.span.end_line,
                "endColumn": d.span.end_column,
            }
        results.append(
            {
                "ruleId": d.code,
                "ruleIndex": used.index(d.code),
                "level": "error" if d.severity == "error" else "warning",
                "message": {"text": text},
                "locations": [{"physicalLocation": location}],
            }
        )
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kspec",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, indent=2)


def write_report(
    diagnostics: Sequence[Diagnostic],
    sources: dict[str, Sequence[str]],
    fmt: str = "text",
    stream: TextIO | None = None,
) -> None:
    """Write ``diagnostics`` in ``fmt`` (text, json, github, sarif) to ``stream``."""
    stream = stream or sys.stdout
    ordered = sorted(diagnostics, key=sort_key)
    if fmt == "json":
        stream.write(render_json(ordered) + "\n")
        return
    if fmt == "github":
        for d in ordered:
            stream.write(render_github(d) + "\n")
        return
    if fmt == "sarif":
        stream.write(render_sarif(ordered) + "\n")
        return
    colour = use_colour(stream)
    for d in ordered:
        stream.write(render_text(d, sources.get(d.path), colour) + "\n")
