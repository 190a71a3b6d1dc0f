"""Safe YAML loading with a source map.

PyYAML's own loaders build Python objects from tags, expand aliases, keep the last of
duplicate keys, resolve YAML 1.1 scalars (``no`` is False, ``0777`` is 511) and recurse once per
nesting level. kspec uses none of that: it reads the parser's *events* (libyaml when available,
the pure-Python parser otherwise: same events, same results) and composes plain data itself,
iteratively, recording the span of every key and value. It refuses tags, anchors, aliases,
duplicate and non-string keys, resolves plain scalars by the YAML 1.2 core schema, and enforces
size and depth limits before the parser sees the text (PyYAML's parsers are quadratic in
nesting depth and libyaml's C composer crashes on deep input).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from kspec.diagnostics import Diagnostic, Span

Path = tuple[str | int, ...]

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 50
MAX_NODES = 150_000  # a 10,000-layer spec has about 105,000
MAX_INT_DIGITS = 19

_Parser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Limits:
    """Loader limits (documented in docs/security.md); override per call or with CLI flags."""

    max_bytes: int = MAX_BYTES
    max_depth: int = MAX_DEPTH
    max_nodes: int = MAX_NODES


@dataclass
class Document:
    """A loaded spec: plain data plus where every value and key came from."""

    path: str
    text: str
    data: Any
    spans: dict[Path, tuple[int, int, int, int]] = field(default_factory=dict)
    key_spans: dict[Path, tuple[int, int, int, int]] = field(default_factory=dict)

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def span(self, path: Path, key: bool = False) -> Span | None:
        """The span of the value at ``path`` (its key's, with ``key``), else its parent's."""
        if key and path in self.key_spans:
            return Span(*self.key_spans[path])
        while True:
            if path in self.spans:
                return Span(*self.spans[path])
            if not path:
                return None
            path = path[:-1]


def pointer(path: Path) -> str:
    """The JSON pointer (RFC 6901) of ``path``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


# -- YAML 1.2 core schema scalars -----------------------------------------------------------

_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_SPECIAL_FLOAT = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
_NUMBER_START = frozenset("-+.0123456789")  # every number pattern above starts with one


class _ScalarError(Exception):
    def __init__(self, code: str, message: str, hint: str | None = None):
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


def resolve_plain(text: str) -> Any:
    """The value of a plain (unquoted) scalar under the YAML 1.2 core schema."""
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if text[0] not in _NUMBER_START:  # a name such as `Dense` or `relu`: no pattern can match
        return text
    if _INT.match(text):
        digits = text.lstrip("+-")
        if len(digits) > 1 and digits.startswith("0"):
            raise _ScalarError(
                "KS009",
                f"ambiguous number {text!r}: YAML 1.1 reads a leading zero as octal, YAML 1.2 "
                "as decimal",
                f"write {int(text)} (decimal) or 0o{digits.lstrip('0') or '0'} (octal), "
                f"or quote it for a string",
            )
        if len(digits) > MAX_INT_DIGITS:
            raise _ScalarError(
                "KS009",
                f"integer with {len(digits)} digits is too large (kspec allows at most "
                f"{MAX_INT_DIGITS} digits)",
            )
        return int(text)
    if _OCT.match(text) or _HEX.match(text):
        if len(text) > MAX_INT_DIGITS + 2:
            raise _ScalarError("KS009", f"integer {text[:24]}... is too large")
        return int(text, 0)
    if _FLOAT.match(text) or _SPECIAL_FLOAT.match(text):
        value = float(
            text.replace(".inf", "inf")
            .replace(".Inf", "inf")
            .replace(".INF", "inf")
            .replace(".nan", "nan")
            .replace(".NaN", "nan")
            .replace(".NAN", "nan")
        )
        if not math.isfinite(value):
            raise _ScalarError(
                "KS009",
                f"{text!r} is not a finite number; kspec accepts only finite numbers",
                "use a large finite value, or null where the argument accepts None",
            )
        return value
    return text


# -- pre-scan ----------------------------------------------------------------------------------


def _prescan_depth(text: str, limit: int) -> tuple[int, int, str] | None:
    """Find nesting deeper than ``limit`` in one linear pass, before any YAML parser runs.

    Counts flow brackets that open a collection (outside quotes and comments) and the
    indentation of block lines. Returns ``(line, column, what)`` of the first excess, or None.
    Over-approximates on purpose: a spec nested anywhere near the limit is not a real spec.
    """
    depth = 0
    quote = ""
    prev = "\n"  # last significant character outside quotes
    line, col = 1, 0
    in_comment = False
    at_line_start = True
    indent = 0
    for ch in text:
        col += 1
        if ch == "\n":
            line, col = line + 1, 0
            in_comment, at_line_start, indent = False, True, 0
            if not quote:
                prev = "\n"
            continue
        if in_comment:
            continue
        if quote:
            if ch == quote:
                quote = ""
                prev = "x"
            elif ch == "\\" and quote == '"':
                quote = '"\\'
            elif quote == '"\\':
                quote = '"'
            continue
        if at_line_start:
            if ch in " -?":
                indent += 1
                if indent > limit * 8:
                    return line, col, "indentation"
                if ch != " ":
                    prev = ch
                continue
            at_line_start = False
        if (ch == "#" and prev in " \t\n") or (ch == "#" and col == 1):
            in_comment = True
            continue
        if ch in "'\"" and prev in "\n :-,[{?\t":
            quote = ch
            continue
        if ch in "[{" and (depth > 0 or prev in "\n :-,[{?\t"):
            depth += 1
            if depth > limit:
                return line, col, "flow collections"
        elif ch in "]}" and depth > 0:
            depth -= 1
        if ch == " " and prev != " ":
            prev = " "
        elif ch != " ":
            prev = ch
    return None


# -- composing -------------------------------------------------------------------------------


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


def _yaml_error(path: str, err: yaml.YAMLError, text: str) -> Diagnostic:
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


def _fail(
    path: str, code: str, message: str, span: Span | None, hint: str | None = None
) -> list[Diagnostic]:
    return [Diagnostic(code, message, hint=hint, path=path, span=span)]


def load_text(
    text_or_bytes: str | bytes, path: str = "<spec>", limits: Limits | None = None
) -> tuple[Document | None, list[Diagnostic]]:
    """Load YAML text; return the document, or None and the diagnostics that stopped it."""
    limits = limits or Limits()
    size = len(text_or_bytes)
    if size > limits.max_bytes:
        return None, _fail(
            path,
            "KS003",
            f"file is {size:,} bytes; the limit is {limits.max_bytes:,} bytes",
            None,
            "split the model into smaller specs, or raise the limit with --max-bytes",
        )
    if isinstance(text_or_bytes, bytes):
        if text_or_bytes.startswith(b"\xef\xbb\xbf"):
            return None, _fail(
                path,
                "KS004",
                "file starts with a UTF-8 byte-order mark",
                Span(1, 1, 1, 2),
                "save the file as UTF-8 without a BOM",
            )
        try:
            text = text_or_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            before = text_or_bytes[: exc.start]
            line = before.count(b"\n") + 1
            col = exc.start - (before.rfind(b"\n") + 1) + 1
            return None, _fail(
                path,
                "KS004",
                f"file is not valid UTF-8 (byte 0x{text_or_bytes[exc.start]:02x} at "
                f"offset {exc.start})",
                Span(line, col, line, col + 1),
                "save the file as UTF-8",
            )
    else:
        text = text_or_bytes
        if text.startswith("\ufeff"):
            return None, _fail(
                path,
                "KS004",
                "file starts with a byte-order mark",
                Span(1, 1, 1, 2),
                "save the file as UTF-8 without a BOM",
            )
    deep = _prescan_depth(text, limits.max_depth)
    if deep:
        line, col, what = deep
        return None, _fail(
            path,
            "KS002",
            f"nesting of {what} is deeper than {limits.max_depth} levels",
            Span(line, col, line, col + 1),
            "a kspec spec needs only a few levels of nesting",
        )
    return _compose(text, path, limits)


_MAP_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_ANCHOR_HINT = "kspec refuses anchors and aliases; repeat the value or use a block"


def _compose(
    text: str, path: str, limits: Limits, parser: Any = None
) -> tuple[Document | None, list[Diagnostic]]:
    """Build plain data from parser events, iteratively, recording every span.

    Spans are kept as tuples while composing (a 10,000-layer spec has 100,000 of them) and
    become :class:`Span` objects only when a diagnostic asks (``Document.span``).
    """
    doc = Document(path, text, None)
    spans, key_spans = doc.spans, doc.key_spans
    diags: list[Diagnostic] = []

    def fail(code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        diags.append(Diagnostic(code, message, hint=hint, path=path, span=span))

    lines: list[str] = []

    def written(raw: tuple[int, int, int, int]) -> str:
        """The source text of a one-line span (errors quote what the user wrote)."""
        if not lines:
            lines.extend(text.splitlines())
        line = lines[raw[0] - 1] if raw[0] <= len(lines) else ""
        end = raw[3] - 1 if raw[2] == raw[0] else len(line)
        return line[raw[1] - 1 : end].strip() or line.strip()

    # Each stack entry: [container, its path, pending key (or _NO_KEY), key span, keys seen]
    stack: list[list[Any]] = []
    root: list[Any] = []
    documents = 0
    count = 0
    scalar_cls, mapping_cls, sequence_cls = (
        yaml.ScalarEvent,
        yaml.MappingStartEvent,
        yaml.SequenceStartEvent,
    )
    end_classes = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    skip_classes = (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)
    try:
        event: Any
        for event in yaml.parse(text, Loader=parser or _Parser):
            count += 1
            cls = type(event)
            if cls in end_classes:
                top = stack.pop()
                p = top[1]
                if p in spans:
                    e = event.end_mark
                    spans[p] = (*spans[p][:2], e.line + 1, e.column + 1)
                continue
            if cls in skip_classes:
                continue
            sm, em = event.start_mark, event.end_mark
            raw = (
                sm.line + 1,
                sm.column + 1,
                em.line + 1,
                max(em.column + 1, sm.column + 2) if em.line == sm.line else em.column + 1,
            )
            if count > limits.max_nodes:
                return None, [
                    Diagnostic(
                        "KS003",
                        f"more than {limits.max_nodes:,} YAML nodes",
                        path=path,
                        span=Span(*raw),
                    )
                ]
            if cls is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    fail(
                        "KS001",
                        "more than one YAML document in the file",
                        Span(*raw),
                        "a spec file holds exactly one document; remove the '---' separator",
                    )
                    return None, diags
                continue
            if cls is yaml.AliasEvent:
                fail(
                    "KS006", f"YAML alias *{event.anchor} is not allowed", Span(*raw), _ANCHOR_HINT
                )
                value: Any = None
            else:
                if event.anchor:
                    fail(
                        "KS006",
                        f"YAML anchor &{event.anchor} is not allowed",
                        Span(*raw),
                        _ANCHOR_HINT,
                    )
                tag = event.tag
                if tag and not (cls is not scalar_cls and tag in _MAP_TAGS and event.implicit):
                    fail(
                        "KS005",
                        f"YAML tag {written(raw).split()[0]} is not allowed",
                        Span(*raw),
                        "kspec never builds objects from tags; remove the tag",
                    )
                if cls is scalar_cls:
                    if event.style in (None, ""):
                        try:
                            value = resolve_plain(event.value)
                        except _ScalarError as exc:
                            fail(exc.code, exc.message, Span(*raw), exc.hint)
                            value = None
                    else:
                        value = event.value
                elif cls is mapping_cls:
                    value = {}
                elif cls is sequence_cls:
                    value = []
                else:  # pragma: no cover - every event class is handled above
                    continue
            # attach the value to its parent
            if not stack:
                root.append(value)
                p = ()
                spans[p] = raw
            else:
                top = stack[-1]
                container = top[0]
                if type(container) is list:
                    p = (*top[1], len(container))
                    container.append(value)
                    spans[p] = raw
                elif top[2] is _NO_KEY:  # the value is a key
                    p = None
                    if type(value) is not str:
                        kind = (
                            "a mapping"
                            if isinstance(value, dict)
                            else "a list"
                            if isinstance(value, list)
                            else f"{written(raw)!r}, which YAML reads as "
                            + ("null" if value is None else f"the {type(value).__name__} {value!r}")
                        )
                        fail(
                            "KS008",
                            f"mapping keys must be strings; this key is {kind}",
                            Span(*raw),
                            "quote the key if it is meant as a string",
                        )
                        top[2] = _BAD_KEY
                    elif value in top[4]:
                        first = top[4][value]
                        fail(
                            "KS007",
                            f"duplicate key {value!r} (first defined at line {first[0]})",
                            Span(*raw),
                            "remove one of them; YAML would silently keep only the last",
                        )
                        top[2] = _BAD_KEY
                    else:
                        top[4][value] = raw
                        top[2], top[3] = value, raw
                else:
                    key = top[2]
                    top[2] = _NO_KEY
                    if key is _BAD_KEY:
                        p = None
                    else:
                        p = (*top[1], key)
                        container[key] = value
                        spans[p] = raw
                        key_spans[p] = top[3]
            if cls is mapping_cls or cls is sequence_cls:
                if len(stack) >= limits.max_depth:
                    fail("KS002", f"nesting is deeper than {limits.max_depth} levels", Span(*raw))
                    return None, diags
                stack.append([value, p if p is not None else ("?",), _NO_KEY, None, {}])
    except yaml.YAMLError as err:
        if "maximum nesting depth" in str(getattr(err, "problem", "")) and parser is None:
            # libyaml stops at its own limit (1,000 levels) while scanning ahead; the
            # pure-Python parser reaches kspec's limit first and says where (it stops there,
            # so its cost is bounded too)
            return _compose(text, path, limits, yaml.SafeLoader)
        return None, [*diags, _yaml_error(path, err, text)]
    if not root or root[0] is None:
        fail(
            "KS001",
            "the file is empty; a spec is a YAML mapping",
            Span(1, 1, 1, 2),
            "start with 'kspec: 1'",
        )
        return None, diags
    doc.data = root[0]
    return doc, diags


class _Marker:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


_NO_KEY = _Marker("NO_KEY")
_BAD_KEY = _Marker("BAD_KEY")


def load_file(path: str, limits: Limits | None = None) -> tuple[Document | None, list[Diagnostic]]:
    """Read and load a spec file; I/O problems become a KS000 diagnostic."""
    limits = limits or Limits()
    try:
        with open(path, "rb") as fh:
            data = fh.read(limits.max_bytes + 1)
    except OSError as exc:
        return None, [Diagnostic("KS000", f"cannot read file: {exc.strerror or exc}", path=path)]
    return load_text(data, path, limits)
