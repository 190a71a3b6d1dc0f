"""The language server's one door into kspec.

Everything ``kspec lsp`` uses of kspec's internals goes through this module: the loader and
its source map (where each value and key is), the checker (``analyze``: the diagnostics of
``kspec check``), static shapes and parameter counts (the checker's walk, ``summary``), the
expression language, and the layer catalog. The rest of :mod:`kspec.lsp` works on the plain
values defined here, so when kspec's stages move, only this file follows them.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from kspec.diagnostics import Diagnostic, has_errors
from kspec.layers import LAYERS, REFUSED, canonical
from kspec.spec import expressions
from kspec.spec.check import analyze
from kspec.spec.include import compose_document
from kspec.spec.ir import Spec
from kspec.spec.loader import Document, load_text

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Span:
    """Where a value or key is: 1-based line and columns (code points; ``end`` exclusive)."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass
class Source:
    """A loaded spec: its plain data and the positions of its values and keys."""

    data: Any
    lines: list[str]
    _doc: Document

    def value_span(self, path: Path) -> Span | None:
        raw = self._doc.spans.get(path)
        return Span(*raw) if raw else None

    def key_span(self, path: Path) -> Span | None:
        raw = self._doc.key_spans.get(path)
        return Span(*raw) if raw else None

    def at(self, line: int, column: int) -> tuple[Path, bool] | None:
        """The innermost value or key at a 1-based position: its path, and whether it is the
        key. Linear in the document (for a hover, not for every keystroke)."""
        best: tuple[int, Path, bool] | None = None
        for table, is_key in ((self._doc.spans, False), (self._doc.key_spans, True)):
            for path, (l0, c0, l1, c1) in table.items():
                if (l0, c0) <= (line, column) <= (l1, c1):
                    depth = 2 * len(path) + is_key  # a key is inside its own value's path
                    if best is None or depth > best[0]:
                        best = (depth, path, is_key)
        return (best[1], best[2]) if best else None


def load(text: str, path: str = "<spec>") -> Source | None:
    """The spec in ``text`` as data with positions, or None when it is not loadable YAML."""
    doc, diags = load_text(text, path)
    if doc is None or has_errors(diags):
        return None
    return Source(doc.data, text.splitlines(), doc)


@dataclass(frozen=True)
class Facts:
    """What kspec knows statically about one layer (or block instance) of a checked spec."""

    type: str
    shapes: tuple[tuple[int | None, ...] | None, ...]
    params: tuple[int, int] | None  # (trainable, non-trainable); None: not known statically


@dataclass
class Result:
    """One check of a document: ``kspec check``'s diagnostics, and the spec when clean."""

    diagnostics: list[Diagnostic]
    spec: Spec | None
    source: Source | None
    _facts: dict[tuple[str, ...], Facts] | None = field(default=None, repr=False)

    def facts(self) -> dict[tuple[str, ...], Facts]:
        """Node path (``("conv",)``, ``("stage_1", "conv")`` inside a block instance) ->
        :class:`Facts`; empty without a clean spec. Worked out on first use."""
        if self._facts is None:
            self._facts = _facts(self.spec) if self.spec is not None else {}
        return self._facts


def check(text: str, path: str) -> Result:
    """Check ``text`` exactly as ``kspec check PATH`` checks the file (same diagnostics). A
    problem in a file it extends or includes is shown on its ``extends:`` (``include:``) line,
    the message saying where it is; positions (hover, completion) are the buffer's own."""
    doc, diags = load_text(text, path)
    if doc is None or has_errors(diags):
        return Result(diags, None, None)
    source = Source(doc.data, text.splitlines(), doc)
    composed, more = compose_document(doc)
    if composed is None:
        return Result(diags + _here(more, doc), None, source)
    spec, found = analyze(composed)
    return Result(diags + _here(more + found, doc), spec, source)


def _here(diags: list[Diagnostic], doc: Document) -> list[Diagnostic]:
    """``diags`` with those in other files moved to the line that brings those files in."""
    out = []
    for d in diags:
        if d.path == doc.path:
            out.append(d)
            continue
        key = "extends" if "extends" in doc.data else "include"
        out.append(
            replace(
                d,
                message=f"in {d.path}:{d.line}:{d.column}: {d.message}",
                path=doc.path,
                span=doc.span((key,), key=True),
            )
        )
    return out


def diagnostic_json(d: Diagnostic) -> dict[str, object]:
    """A diagnostic as ``kspec check --format json`` writes it."""
    return d.to_json()


def _facts(spec: Spec) -> dict[tuple[str, ...], Facts]:
    """Each layer's type, shapes and weights, from the checker's walk over the instances."""
    from kspec.spec.walk import walk
    from kspec.summary import static_summary

    found = spec.walk or walk(spec)
    table = found.shapes
    out = {
        c.path: Facts(c.call.type, tuple(table.get(c.path) or (None,)), c.weights())
        for c in found.calls
        if c.first
    }
    for row in static_summary(spec).rows:  # inputs and block instances, counted as Keras does
        out.setdefault((row.name,), Facts(row.type, tuple(row.shapes), row.count))
    return out


# -- the catalog --------------------------------------------------------------------------


@dataclass(frozen=True)
class Argument:
    name: str
    description: str
    values: tuple[Any, ...]  # the allowed values when they are a short list (enum)


@dataclass(frozen=True)
class LayerInfo:
    name: str
    doc: str
    arguments: tuple[Argument, ...]
    required: tuple[str, ...]
    call_args: tuple[str, ...]


NODE_KEYS = ("name", "type", "inputs", "call")
BASE_ARGUMENTS = (
    Argument("trainable", "Whether the layer's weights are updated in training.", (True, False)),
    Argument("dtype", "The layer's dtype or mixed-precision policy (default: float32).", ()),
)


def layer_types() -> list[tuple[str, str]]:
    """Every layer type a spec may name, with its one-line summary."""
    return [(name, LAYERS[name].doc) for name in sorted(LAYERS)]


def refused(name: str) -> str | None:
    """Why a layer type is refused, or None."""
    return REFUSED.get(name)


@cache
def layer_info(name: str) -> LayerInfo | None:
    layer = LAYERS.get(name)
    if layer is None:
        return None
    args = tuple(
        Argument(key, str(schema.get("description", "")), _enum_values(schema))
        for key, schema in layer.args.items()
    )
    return LayerInfo(
        canonical(name), layer.doc, (*args, *BASE_ARGUMENTS), layer.required, layer.call_args
    )


def _enum_values(schema: Mapping[str, Any]) -> tuple[Any, ...]:
    """The values an argument takes when its schema lists them (padding, activation names)."""
    from kspec.schemas.build import strict_document

    found: list[Any] = []
    stack = [schema]
    while stack:
        s = stack.pop()
        if "enum" in s:
            found += s["enum"]
        if s.get("type") == "null":
            found.append(None)
        ref = s.get("$ref", "")
        if ref.startswith("#/$defs/") and ref.endswith("_name"):
            stack.append(strict_document()["$defs"][ref.rsplit("/", 1)[1]])
        stack += [b for b in s.get("anyOf", ()) if isinstance(b, dict)]
    return tuple(dict.fromkeys(found)) if found and len(found) <= 64 else ()


# -- expressions ------------------------------------------------------------------------------


# Words of the expression language itself; any other name is a param (even one named like a
# Python keyword, such as ``lambda``, which kspec accepts).
_OPERATORS = frozenset({"and", "or", "not", "if", "else", "True", "False", "None"})


def is_expression(value: Any) -> bool:
    return expressions.is_expression(value)


def expression_names(text: str) -> Iterator[tuple[str, int]]:
    """The param names an expression string uses, with their offsets in ``text``
    (``${units // 4}``: ``("units", 2)``; ``$units``: ``("units", 1)``). Nothing for text
    that is not a valid expression."""
    if not expressions.is_expression(text):
        return
    if not text.startswith("${"):
        if text[1:].isidentifier():
            yield text[1:], 1
        return
    source = text[2:-1] if text.endswith("}") else text[2:]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return
    line_starts = [0]
    for line in source.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.NAME or tok.string in _OPERATORS:
            continue
        after = tokens[i + 1].string if i + 1 < len(tokens) else ""
        if tok.string in expressions.FUNCTIONS and after == "(":
            continue
        row, col = tok.start
        yield tok.string, 2 + line_starts[row - 1] + col


def evaluate(text: str, env: Mapping[str, Any]) -> tuple[bool, Any]:
    """``(True, value)`` of an expression string under ``env``, or ``(False, message)``."""
    try:
        parsed = expressions.parse_value(text)
        if not isinstance(parsed, expressions.Expr):
            return True, parsed
        return True, expressions.evaluate(parsed, env)
    except expressions.ExprError as exc:
        return False, exc.message
