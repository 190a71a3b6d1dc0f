"""Composing plain data from YAML parser events, iteratively, with the span of every value and
key: tags, anchors, aliases, duplicate and non-string keys refused; plain scalars resolved by
the YAML 1.2 core schema (:func:`kspec.spec.loader.resolve_plain`); node count and depth bounded.

Spans are kept as tuples while composing (a 10,000-layer spec has 100,000 of them) and become
:class:`~kspec.diagnostics.Span` objects only when a diagnostic asks (``Document.span``).
"""

from __future__ import annotations

from typing import Any

import yaml

from kspec.diagnostics import Diagnostic, Span
from kspec.spec.scalars import NOT_STRINGS, NUMBER_START, ScalarError, resolve_plain
from kspec.spec.yaml_errors import yaml_error

_MAP_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")
_ANCHOR_HINT = "kspec refuses anchors and aliases; repeat the value or use a block"
Raw = tuple[int, int, int, int]


class _Marker:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


_NO_KEY = _Marker("NO_KEY")
_BAD_KEY = _Marker("BAD_KEY")
_SCALAR, _MAPPING, _SEQUENCE = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
_ENDS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_SKIPPED = (yaml.StreamStartEvent, yaml.StreamEndEvent, yaml.DocumentEndEvent)
_STREAM_END = yaml.StreamEndEvent


class _Stop(Exception):
    """Composing cannot go on (the diagnostics say why)."""


class _TooDeep(Exception):
    """libyaml's own nesting limit stopped it."""


def compose(doc: Any, max_nodes: int, max_depth: int, parser: Any) -> tuple[Any, list[Diagnostic]]:
    """``doc``'s data, composed from ``parser``'s events (None if that failed), and the
    diagnostics."""
    try:
        return Composer(doc, max_nodes, max_depth).run(parser)
    except _TooDeep:
        if parser is yaml.SafeLoader:
            raise
        # libyaml stops at its own limit (1,000 levels) while scanning ahead; the pure-Python
        # parser reaches kspec's limit first and says where (it stops there, so its cost is
        # bounded too)
        doc.spans.clear()
        doc.key_spans.clear()
        return Composer(doc, max_nodes, max_depth).run(yaml.SafeLoader)


class Composer:
    """One document being composed (see the module docstring)."""

    def __init__(self, doc: Any, max_nodes: int, max_depth: int):
        self.doc = doc
        self.path = doc.path
        self.spans: dict[Any, Raw] = doc.spans
        self.key_spans: dict[Any, Raw] = doc.key_spans
        self.max_nodes, self.max_depth = max_nodes, max_depth
        self.diags: list[Diagnostic] = []
        self._lines: list[str] = []
        # Each stack entry: [container, its path, pending key (or _NO_KEY), key span, keys seen]
        self.stack: list[list[Any]] = []
        self.root: list[Any] = []
        self.documents = 0

    def fail(self, code: str, message: str, raw: Raw | None, hint: str | None = None) -> None:
        span = Span(*raw) if raw else None
        self.diags.append(Diagnostic(code, message, hint=hint, path=self.path, span=span))

    def written(self, raw: Raw) -> str:
        """The source text of a one-line span (errors quote what the user wrote)."""
        if not self._lines:
            self._lines.extend(self.doc.text.splitlines())
        lines = self._lines
        line = lines[raw[0] - 1] if raw[0] <= len(lines) else ""
        end = raw[3] - 1 if raw[2] == raw[0] else len(line)
        return line[raw[1] - 1 : end].strip() or line.strip()

    def run(self, parser: Any) -> tuple[Any, list[Diagnostic]]:
        """Compose the document's data with ``parser``'s events; returns it (None when
        composing failed) and the diagnostics."""
        try:
            self._events(parser)
        except _Stop:
            return None, self.diags
        except yaml.YAMLError as err:
            if "maximum nesting depth" in str(getattr(err, "problem", "")):
                raise _TooDeep from None
            return None, [*self.diags, yaml_error(self.path, err, self.doc.text)]
        if not self.root or self.root[0] is None:
            self.fail(
                "KS001",
                "the file is empty; a spec is a YAML mapping",
                (1, 1, 1, 2),
                "start with 'kspec: 1'",
            )
            return None, self.diags
        return self.root[0], self.diags

    def _events(self, parser: Any) -> None:
        """Compose from the events of ``parser`` (a PyYAML loader class) read one by one."""
        loader = parser(self.doc.text)
        try:
            self._compose(loader.get_event)
        finally:
            loader.dispose()

    def _compose(self, next_event: Any) -> None:
        """The hot loop (a 10,000-layer spec has 100,000 events): plain scalars, list items,
        mapping keys and values are handled inline; everything rarer by a method."""
        spans, key_spans, stack = self.spans, self.key_spans, self.stack
        count, limit = 0, self.max_nodes
        while True:
            event = next_event()
            count += 1
            cls = type(event)
            if cls in _ENDS:
                p = stack.pop()[1]
                if p in spans:
                    e = event.end_mark
                    spans[p] = (*spans[p][:2], e.line + 1, e.column + 1)
                continue
            if cls in _SKIPPED:
                if cls is _STREAM_END:
                    return
                continue
            sm, em = event.start_mark, event.end_mark
            line, col, end_line, end_col = sm.line + 1, sm.column + 1, em.line + 1, em.column + 1
            # a span on one line is at least one character long
            raw = (line, col, end_line, end_col if end_col > col or end_line != line else col + 1)
            if count > limit:
                self._too_many(raw)
            if cls is _SCALAR and not event.anchor and not event.tag:
                value = event.value
                if not event.style and (value in NOT_STRINGS or value[0] in NUMBER_START):
                    try:  # a plain scalar that may be something else than a string
                        value = resolve_plain(value)
                    except ScalarError as exc:
                        self.fail(exc.code, exc.message, raw, exc.hint)
                        value = None
            elif cls is yaml.DocumentStartEvent:
                self._document(raw)
                continue
            else:
                value = self._value(event, cls, raw)
            if not stack:
                p = self._root(value, raw)
            else:
                top = stack[-1]
                container = top[0]
                if type(container) is list:
                    p = (*top[1], len(container))
                    container.append(value)
                    spans[p] = raw
                elif top[2] is not _NO_KEY:  # the value of the pending key
                    key, top[2] = top[2], _NO_KEY
                    p = None if key is _BAD_KEY else (*top[1], key)
                    if p is not None:
                        container[key] = value
                        spans[p] = raw
                        key_spans[p] = top[3]
                elif type(value) is str and value not in top[4]:  # a new key
                    top[4][value] = top[3] = raw
                    top[2] = value
                    p = None
                else:
                    self._key(top, value, raw)
                    p = None
            if cls is _MAPPING or cls is _SEQUENCE:
                if len(stack) >= self.max_depth:
                    self.fail("KS002", f"nesting is deeper than {self.max_depth} levels", raw)
                    raise _Stop
                stack.append([value, p if p is not None else ("?",), _NO_KEY, None, {}])

    def _too_many(self, raw: Raw) -> None:
        self.diags = [
            Diagnostic(
                "KS003", f"more than {self.max_nodes:,} YAML nodes", path=self.path, span=Span(*raw)
            )
        ]
        raise _Stop

    def _root(self, value: Any, raw: Raw) -> Any:
        self.root.append(value)
        self.spans[()] = raw
        return ()

    def _document(self, raw: Raw) -> None:
        self.documents += 1
        if self.documents > 1:
            self.fail(
                "KS001",
                "more than one YAML document in the file",
                raw,
                "a spec file holds exactly one document; remove the '---' separator",
            )
            raise _Stop

    def _value(self, event: Any, cls: type, raw: Raw) -> Any:
        """The plain value of a scalar, mapping or sequence start, or alias event."""
        if cls is yaml.AliasEvent:
            self.fail("KS006", f"YAML alias *{event.anchor} is not allowed", raw, _ANCHOR_HINT)
            return None
        if event.anchor:
            self.fail("KS006", f"YAML anchor &{event.anchor} is not allowed", raw, _ANCHOR_HINT)
        tag = event.tag
        if tag and not (cls is not _SCALAR and tag in _MAP_TAGS and event.implicit):
            self.fail(
                "KS005",
                f"YAML tag {self.written(raw).split()[0]} is not allowed",
                raw,
                "kspec never builds objects from tags; remove the tag",
            )
        if cls is _SCALAR:
            if event.style not in (None, ""):
                return event.value
            try:
                return resolve_plain(event.value)
            except ScalarError as exc:
                self.fail(exc.code, exc.message, raw, exc.hint)
                return None
        return {} if cls is _MAPPING else []

    def _key(self, top: list[Any], value: Any, raw: Raw) -> None:
        """A mapping key: a string, not seen before in the mapping."""
        if type(value) is str and value not in top[4]:
            top[4][value] = raw
            top[2], top[3] = value, raw
        elif type(value) is not str:
            kind = (
                "a mapping"
                if isinstance(value, dict)
                else "a list"
                if isinstance(value, list)
                else f"{self.written(raw)!r}, which YAML reads as "
                + ("null" if value is None else f"the {type(value).__name__} {value!r}")
            )
            self.fail(
                "KS008",
                f"mapping keys must be strings; this key is {kind}",
                raw,
                "quote the key if it is meant as a string",
            )
            top[2] = _BAD_KEY
        elif value in top[4]:
            first = top[4][value]
            self.fail(
                "KS007",
                f"duplicate key {value!r} (first defined at line {first[0]})",
                raw,
                "remove one of them; YAML would silently keep only the last",
            )
            top[2] = _BAD_KEY
