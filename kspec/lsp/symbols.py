"""The names of a spec and every place they are written: what go-to-definition, find
references, rename, hover and completion of references work from.

A name is a *tensor* (a node, or an input: they share one namespace), a *block* or a *param*,
in a *scope*: ``""`` for the model, a block's name for the names inside that block. Each
occurrence is a definition (``name: conv``, an ``inputs:`` key, a ``params:`` key, a
``blocks:`` key, a block's ``inputs:`` item) or a reference (``inputs: conv``, ``"enc[1]"``,
``share: conv``, ``outputs:``, ``block: conv_bn``, a block node's param keys, ``$units`` and
``${units // 4}``), with the exact range of the name in the text.

Built from the loaded document alone (not from the checked spec), so it works while the spec
still has errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from kspec.lsp.analysis import Path, Source, Span, expression_names, is_expression

Kind = Literal["tensor", "block", "param"]
Key = tuple[Kind, str, str]  # kind, scope, name

_REF = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\[[0-9]+\])?\Z")
# keys of a block node that are not the block's params
BLOCK_NODE_KEYS = ("name", "block", "inputs", "repeat")


@dataclass(frozen=True)
class Occurrence:
    kind: Kind
    scope: str
    name: str
    line: int  # 0-based
    start: int  # code points
    end: int
    definition: bool
    path: Path  # of the value (or key) in the document

    @property
    def key(self) -> Key:
        return (self.kind, self.scope, self.name)

    def contains(self, line: int, character: int) -> bool:
        return line == self.line and self.start <= character <= self.end


@dataclass
class Index:
    occurrences: list[Occurrence]

    def at(self, line: int, character: int) -> Occurrence | None:
        for occ in self.occurrences:
            if occ.contains(line, character):
                return occ
        return None

    def of(self, key: Key) -> list[Occurrence]:
        return [o for o in self.occurrences if o.key == key]

    def definitions(self, kind: Kind, scope: str) -> list[Occurrence]:
        return [o for o in self.occurrences if o.definition and o.kind == kind and o.scope == scope]


def build(source: Source) -> Index:
    """Every occurrence of a name in ``source``, in file order."""
    found = _Collector(source)
    found.spec(source.data)
    found.out.sort(key=lambda o: (o.line, o.start))
    return Index(found.out)


class _Collector:
    def __init__(self, source: Source) -> None:
        self.src = source
        self.out: list[Occurrence] = []

    # -- placing a name ----------------------------------------------------------------------

    def _add(
        self, kind: Kind, scope: str, name: str, span: Span | None, offset: int, definition: bool,
        path: Path,
    ) -> None:  # fmt: skip
        """Record ``name`` found ``offset`` characters into the scalar at ``span`` (past an
        opening quote), if the text there is indeed the name (a scalar with escapes or over
        several lines is left out rather than given a wrong range)."""
        if span is None or span.line != span.end_line or not 0 < span.line <= len(self.src.lines):
            return
        text = self.src.lines[span.line - 1]
        start = span.column - 1
        if text[start : start + 1] in ("'", '"'):
            start += 1
        start += offset
        if text[start : start + len(name)] != name:
            return
        self.out.append(
            Occurrence(kind, scope, name, span.line - 1, start, start + len(name), definition, path)
        )

    def value(self, kind: Kind, scope: str, path: Path, definition: bool = False) -> None:
        v = get(self.src.data, path)
        m = _REF.match(v) if isinstance(v, str) else None
        if m is not None and (kind == "tensor" or m.group(2) is None):
            self._add(kind, scope, m.group(1), self.src.value_span(path), 0, definition, path)

    def key(self, kind: Kind, scope: str, path: Path, definition: bool = True) -> None:
        name = path[-1]
        if isinstance(name, str):
            self._add(kind, scope, name, self.src.key_span(path), 0, definition, path)

    def refs(self, scope: str, path: Path) -> None:
        """A reference, a list of them, or a mapping whose values are either."""
        v = get(self.src.data, path)
        if isinstance(v, str):
            self.value("tensor", scope, path)
        elif isinstance(v, list):
            for i in range(len(v)):
                self.refs(scope, (*path, i))
        elif isinstance(v, dict):
            for k in v:
                self.refs(scope, (*path, k))

    def expressions(self, scope: str, path: Path) -> None:
        """Param names used by the expressions anywhere in the value at ``path``."""
        v = get(self.src.data, path)
        if isinstance(v, str):
            if is_expression(v):
                span = self.src.value_span(path)
                for name, offset in expression_names(v):
                    self._add("param", scope, name, span, offset, False, path)
        elif isinstance(v, list):
            for i in range(len(v)):
                self.expressions(scope, (*path, i))
        elif isinstance(v, dict):
            for k in v:
                self.expressions(scope, (*path, k))

    # -- the spec ------------------------------------------------------------------------------

    def spec(self, data: Any) -> None:
        if not isinstance(data, dict):
            return
        for name in _keys(data.get("params")):
            self.key("param", "", ("params", name))
        for name in _keys(data.get("inputs")):
            self.key("tensor", "", ("inputs", name))
        self.expressions("", ("inputs",))
        self.expressions("", ("compile",))
        self.nodes("", ("layers",))
        self.refs("", ("outputs",))
        blocks = data.get("blocks")
        for bname in _keys(blocks):
            self.key("block", "", ("blocks", bname))
            block = get(data, ("blocks", bname))
            if not isinstance(block, dict):
                continue
            base: Path = ("blocks", bname)
            for pname in _keys(block.get("params")):
                self.key("param", bname, (*base, "params", pname))
            for i, item in enumerate(_items(block.get("inputs"))):
                if isinstance(item, str):
                    self.value("tensor", bname, (*base, "inputs", i), definition=True)
            self.nodes(bname, (*base, "layers"))
            self.refs(bname, (*base, "outputs"))

    def nodes(self, scope: str, path: Path) -> None:
        for i, node in enumerate(_items(get(self.src.data, path))):
            if isinstance(node, dict):
                self.node(scope, (*path, i), node)

    def node(self, scope: str, path: Path, node: dict[str, Any]) -> None:
        if "name" in node:
            self.value("tensor", scope, (*path, "name"), definition=True)
        if "inputs" in node:
            self.refs(scope, (*path, "inputs"))
        if "share" in node:
            self.value("tensor", scope, (*path, "share"))
        block = node.get("block")
        if "block" in node:
            self.value("block", "", (*path, "block"))
        for key in node:
            if key in ("name", "inputs", "share", "type", "block"):
                continue
            if isinstance(block, str) and key not in BLOCK_NODE_KEYS:
                self.key("param", block, (*path, key), definition=False)
            self.expressions(scope, (*path, key))


def get(data: Any, path: Path) -> Any:
    """The value at ``path`` in plain data, or None."""
    for p in path:
        if isinstance(data, dict) and isinstance(p, str):
            data = data.get(p)
        elif isinstance(data, list) and isinstance(p, int) and 0 <= p < len(data):
            data = data[p]
        else:
            return None
    return data


def _keys(value: Any) -> Iterable[str]:
    return [k for k in value if isinstance(k, str)] if isinstance(value, dict) else []


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def scope_of(path: Path) -> str:
    """The scope a document path is in: a block's name, or ``""`` for the model."""
    if len(path) >= 2 and path[0] == "blocks" and isinstance(path[1], str):
        return path[1]
    return ""
