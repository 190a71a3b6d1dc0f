"""YAML parser errors as kspec diagnostics: one wording whichever parser (libyaml or PyYAML's
pure-Python one) found the problem, at its line and column, with a hint for the usual causes (a
tab in the indentation, an unquoted ``${...}`` or ``node[i]`` inside ``[...]`` or ``{...}``)."""

from __future__ import annotations

import re

import yaml

from kspec.diagnostics import Diagnostic, Span

_FLOW_INDEX = re.compile(r"[\[,]\s*[A-Za-z_][A-Za-z0-9_]*\[")


_CANONICAL = (
    # libyaml and PyYAML's pure-Python parser word the same errors differently; kspec says one.
    (
        re.compile(r"(?:did not find expected|expected) ('.' or '.')(?:, but got .*)?$"),
        r"expected \1",
    ),
    (
        re.compile(r"mapping values are not allowed (?:here|in this context)$"),
        "mapping values are not allowed here",
    ),
)


def _in_flow(line: str, at: int) -> bool:
    """Whether position ``at`` of ``line`` is inside a flow collection (``{...}``, ``[...]``),
    roughly: more openings than closings before it. Linear (a hint must not cost more)."""
    before = line[:at]
    return before.count("{") + before.count("[") > before.count("}") + before.count("]")


def _canonical_problem(problem: str) -> str:
    for pattern, replacement in _CANONICAL:
        problem = pattern.sub(replacement, problem)
    return problem


def yaml_error(path: str, err: yaml.YAMLError, text: str) -> Diagnostic:
    lines = text.splitlines()
    if isinstance(err, yaml.reader.ReaderError):  # a character YAML does not allow
        before = text[: err.position]
        line = before.count("\n") + 1
        column = err.position - (before.rfind("\n") + 1) + 1
        char = err.character if isinstance(err.character, str) else chr(err.character)
        return Diagnostic(
            "KS001",
            f"invalid YAML: the control character U+{ord(char):04X} is not allowed",
            hint="remove it; YAML text may hold only printable characters, tabs and line breaks",
            path=path,
            span=Span(line, column, line, column + 1),
        )
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    if "maximum nesting depth" in problem:  # libyaml's own limit (the pure-Python parser has none)
        return Diagnostic(
            "KS002",
            "nesting is too deep",
            path=path,
            span=Span(mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 2)
            if mark
            else None,
            hint="a kspec spec needs only a few levels of nesting",
        )
    line = mark.line + 1 if mark else 1
    column = mark.column + 1 if mark else 1
    problem = _canonical_problem(problem)
    if line > len(lines) and lines:  # at the end of a file without a final newline
        line, column = len(lines), len(lines[-1]) + 1
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    hint = None
    message = f"invalid YAML: {problem}"
    if context:
        message += f" ({context})"
    if "\t" in text[: max(column, 1)] or (text[column - 1 : column] == "\t"):
        message = "invalid YAML: a tab character is used for indentation"
        hint = "YAML allows only spaces for indentation; replace the tabs with spaces"
    elif "${" in text and ("flow" in (context or "") or _in_flow(text, text.index("${"))):
        hint = (
            "inside [...] or {...} YAML ends a plain value at , { } [ ] so a ${...} expression "
            'must be quoted there: write "${...}"'
        )
    elif _FLOW_INDEX.search(text[:1000]):
        hint = 'inside [...] a node[i] reference must be quoted, e.g. inputs: ["enc[1]", "enc[2]"]'
    return Diagnostic(
        "KS001", message, hint=hint, path=path, span=Span(line, column, line, column + 1)
    )
