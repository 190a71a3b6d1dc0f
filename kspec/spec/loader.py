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

import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from kspec.diagnostics import Diagnostic, Span
from kspec.spec.compose import compose

#: The YAML parser whose events are composed: libyaml when installed (tests switch it).
_Parser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Path = tuple[str | int, ...]

MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 50
MAX_NODES = 150_000  # a 10,000-layer spec has about 105,000


@dataclass
class Limits:
    """Loader limits (documented in docs/security.md); override per call or with CLI flags."""

    max_bytes: int = MAX_BYTES  # per file, and in all for a spec composed of several
    max_depth: int = MAX_DEPTH
    max_nodes: int = MAX_NODES
    root: str | None = None  # the folder bases and libraries must be in (default: the spec's)


#: A raw span: ``(line, column, end_line, end_column)`` in the document's own file, or with a
#: fifth item, the index of the file it is in (``Document.origins``: a composed document).
Raw = tuple[int, ...]


@dataclass
class Document:
    """A loaded spec: plain data plus where every value and key came from.

    A document composed from several files (``extends:``, ``include:``; see
    :mod:`kspec.spec.include`) keeps, for each value, the span in the file it was written in:
    ``origins`` lists those files (index 0 is ``path`` itself) with how each came in, and
    ``sources`` their texts (``digest`` hashes them all)."""

    path: str
    text: str
    data: Any
    spans: dict[Path, Raw] = field(default_factory=dict)
    key_spans: dict[Path, Raw] = field(default_factory=dict)
    origins: list[tuple[str, str | None]] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    @property
    def digest(self) -> str:
        """The sha256 of the spec's text, and of every file it was composed from (named
        relative to the spec's folder, so the digest does not depend on where the tree is)."""
        h = hashlib.sha256(self.text.encode("utf-8"))
        here = os.path.dirname(os.path.abspath(self.path))
        for name in sorted(self.sources):
            if name != self.path:
                rel = os.path.relpath(os.path.abspath(name), here).replace(os.sep, "/")
                h.update(b"\0" + rel.encode("utf-8") + b"\0" + self.sources[name].encode("utf-8"))
        return h.hexdigest()

    def span(self, path: Path, key: bool = False) -> Span | None:
        """The span of the value at ``path`` (its key's, with ``key``), else its parent's."""
        if key and path in self.key_spans:
            return self._span(self.key_spans[path])
        while True:
            if path in self.spans:
                return self._span(self.spans[path])
            if not path:
                return None
            path = path[:-1]

    def _span(self, raw: Raw) -> Span:
        return span_of(raw, self.origins)


def span_of(raw: Raw, origins: list[tuple[str, str | None]]) -> Span:
    """The :class:`Span` of a raw span (its file and how it came in, from ``origins``)."""
    if len(raw) == 4 or not raw[4]:
        return Span(raw[0], raw[1], raw[2], raw[3])
    file, via = origins[raw[4]]
    return Span(raw[0], raw[1], raw[2], raw[3], file=file, via=via)


def pointer(path: Path) -> str:
    """The JSON pointer (RFC 6901) of ``path``."""
    text = "/".join(map(str, path))
    if "~" not in text and text.count("/") == len(path) - 1:  # no part to escape
        return "/" + text if path else ""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


# -- pre-scan ----------------------------------------------------------------------------------


def _prescan_depth(text: str, limit: int) -> tuple[int, int, str] | None:
    """Find nesting deeper than ``limit`` in one linear pass, before any YAML parser runs.

    Counts flow brackets that open a collection (outside quotes and comments) and the
    indentation of block lines. Returns ``(line, column, what)`` of the first excess, or None.
    Over-approximates on purpose: a spec nested anywhere near the limit is not a real spec.

    Line by line: what carries over from one line to the next is the depth and the open quote;
    a line outside quotes with no quote or comment character (most of a spec) is read by its
    brackets alone, any other character by character.
    """
    depth, quote = 0, ""
    for number, line in enumerate(text.split("\n"), 1):
        if quote or "'" in line or '"' in line or "#" in line:
            depth, quote, found = _prescan_line(line, number, depth, quote, limit)
        else:
            depth, found = _prescan_plain(line, number, depth, limit)
        if found:
            return found
    return None


_OPENS_AFTER = "\n :-,[{?\t"  # a bracket after one of these opens a flow collection
_BRACKETS = re.compile(r"[\[\]{}]")


def _prescan_plain(
    line: str, number: int, depth: int, limit: int
) -> tuple[int, tuple[int, int, str] | None]:
    """:func:`_prescan_line` for a line outside quotes without quote or comment characters:
    its indentation, then its brackets (after the indentation, a bracket opens a collection
    when the character before it is one of ``_OPENS_AFTER``, or when one is open)."""
    start = len(line) - len(line.lstrip(" -?"))
    if start > limit * 8:
        return depth, (number, limit * 8 + 1, "indentation")
    for m in _BRACKETS.finditer(line, start):
        at = m.start()
        if line[at] in "[{":
            if depth > 0 or at == start or line[at - 1] in _OPENS_AFTER:
                depth += 1
                if depth > limit:
                    return depth, (number, at + 1, "flow collections")
        elif depth > 0:
            depth -= 1
    return depth, None


def _prescan_line(
    line: str, number: int, depth: int, quote: str, limit: int
) -> tuple[int, str, tuple[int, int, str] | None]:
    """One line, character by character: the depth and open quote after it, and the first
    excess in it (or None)."""
    prev = "\n"  # last significant character outside quotes
    col = 0
    in_comment = False
    at_line_start = True
    indent = 0
    for ch in line:
        col += 1
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
                    return depth, quote, (number, col, "indentation")
                if ch != " ":
                    prev = ch
                continue
            at_line_start = False
        if (ch == "#" and prev in " \t\n") or (ch == "#" and col == 1):
            in_comment = True
            continue
        if ch in "'\"" and prev in _OPENS_AFTER:
            quote = ch
            continue
        if ch in "[{" and (depth > 0 or prev in _OPENS_AFTER):
            depth += 1
            if depth > limit:
                return depth, quote, (number, col, "flow collections")
        elif ch in "]}" and depth > 0:
            depth -= 1
        if ch == " " and prev != " ":
            prev = " "
        elif ch != " ":
            prev = ch
    return depth, quote, None


# -- composing -------------------------------------------------------------------------------


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
    doc = Document(path, text, None)
    doc.data, diags = compose(doc, limits.max_nodes, limits.max_depth, _Parser)
    return (doc if doc.data is not None else None), diags


def load_file(path: str, limits: Limits | None = None) -> tuple[Document | None, list[Diagnostic]]:
    """Read and load a spec file; I/O problems become a KS000 diagnostic."""
    limits = limits or Limits()
    try:
        with open(path, "rb") as fh:
            data = fh.read(limits.max_bytes + 1)
    except OSError as exc:
        return None, [Diagnostic("KS000", f"cannot read file: {exc.strerror or exc}", path=path)]
    return load_text(data, path, limits)
