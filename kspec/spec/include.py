"""Composing a spec from several files: ``extends: base.yaml`` and ``include: [blocks.yaml]``.

:func:`load_spec` reads a spec and, when it names other files, composes one
:class:`~kspec.spec.loader.Document` from them (the rules are in :mod:`kspec.spec.merge`). Every
value keeps the span of the file it was written in, so every later diagnostic names that file,
with a note saying how it came in (``model.yaml line 3 extends base.yaml``).

Safety (docs/security.md): a path is relative to the file that names it, must be a plain
relative path (no URL, no absolute path) and must stay inside the root folder (the top spec's
folder unless ``root`` says otherwise, symbolic links resolved); a cycle, a chain deeper than
``MAX_CHAIN``, more than ``MAX_INCLUSIONS`` inclusions in all (an include bomb: one file
included many times through diamonds) or more than ``Limits.max_bytes`` bytes read in all are
refused, each at the line that names the file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Any

from kspec.diagnostics import Diagnostic, Span
from kspec.spec.loader import Document, Limits, Raw, load_file, span_of
from kspec.spec.merge import Loc, lift, lower, merge
from kspec.spec.report import reset_suggestions

MAX_CHAIN = 16  # files in one chain of extends/include
MAX_INCLUSIONS = 64  # inclusions in all, counting a file each time it is reached
COMPOSE_KEYS = ("extends", "include")
LIBRARY_KEYS = frozenset({"kspec", "description", "blocks", "include"})
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def composes(data: Any) -> bool:
    """Whether a document's data names other files."""
    return isinstance(data, dict) and any(k in data for k in COMPOSE_KEYS)


def load_spec(
    path: str, limits: Limits | None = None, root: str | None = None
) -> tuple[Document | None, list[Diagnostic]]:
    """Read the spec at ``path`` and compose it with the files it names."""
    limits = limits or Limits()
    doc, diags = load_file(path, limits)
    if doc is None or not composes(doc.data) or any(d.severity == "error" for d in diags):
        return doc, diags
    return compose_document(doc, limits, root)


def compose_document(
    doc: Document, limits: Limits | None = None, root: str | None = None
) -> tuple[Document | None, list[Diagnostic]]:
    """``doc`` (already loaded) composed with the files it names; ``doc`` itself if it names
    none. None when a file could not be composed (the diagnostics say why)."""
    if not composes(doc.data):
        return doc, []
    reset_suggestions()
    folder = os.path.dirname(os.path.abspath(doc.path))
    asm = _Assembly(doc, limits or Limits(), os.path.realpath(root or folder))
    try:
        loc = asm.compose(doc, 0, [os.path.realpath(doc.path)])
    except _Stop:
        loc = None
    if loc is None or asm.diags:
        return None, asm.diags
    out = Document(doc.path, doc.text, None, origins=asm.origins, sources=asm.sources)
    out.data = lower(loc, out.spans, out.key_spans)
    return out, []


class _Stop(Exception):
    """A limit was reached: composing stops at once (one diagnostic says where)."""


def _via(edges: list[str]) -> str:
    """How a file came in: the chain of edges from the top spec, long chains shortened."""
    if len(edges) > 4:
        edges = [*edges[:2], f"... ({len(edges) - 4} more)", *edges[-2:]]
    return ", ".join(edges)


@dataclass
class _Assembly:
    """One composition: the files read (``origins``: display path and how it came in)."""

    top: Document
    limits: Limits
    root: str
    origins: list[tuple[str, str | None]] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    diags: list[Diagnostic] = field(default_factory=list)
    inclusions: int = 0
    bytes_read: int = 0
    edges: dict[int, list[str]] = field(default_factory=dict)  # file -> how it came in
    _docs: dict[str, tuple[Document, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.origins.append((self.top.path, None))
        self.sources[self.top.path] = self.top.text
        self.bytes_read = len(self.top.text.encode("utf-8"))

    def span(self, raw: Raw | None) -> Span | None:
        return None if raw is None else span_of(raw, self.origins)

    def fail(self, code: str, message: str, raw: Raw | None, hint: str | None = None) -> None:
        self.diags.append(
            Diagnostic(code, message, hint=hint, path=self.top.path, span=self.span(raw))
        )

    # -- composing ------------------------------------------------------------------------

    def compose(self, doc: Document, file: int, chain: list[str]) -> Loc | None:
        """The :class:`Loc` tree of ``doc`` (file ``file``) with its base and libraries."""
        loc = lift(doc.data, doc.spans, doc.key_spans, file)
        if not isinstance(loc.value, dict):
            return loc
        own: dict[str, Loc] = dict(loc.value)
        base_ref, include_ref = own.pop("extends", None), own.pop("include", None)
        blocks = self._blocks(doc, file, own, include_ref, chain)
        if blocks is not None:
            own["blocks"] = blocks
        child = Loc(own, loc.span, loc.key)
        if base_ref is None:
            return child
        if not isinstance(base_ref.value, str):
            self.fail(
                "KS501",
                "`extends:` takes one file name (a string)",
                base_ref.span,
                "one base per spec; a base may extend another",
            )
            return None
        base = self._read(doc, file, base_ref, "extends", chain)
        if base is None:
            return None
        if not isinstance(base.value, dict):
            return child
        return merge(base, child, self.fail)

    def _blocks(
        self, doc: Document, file: int, own: dict[str, Loc], ref: Loc | None, chain: list[str]
    ) -> Loc | None:
        """The file's ``blocks`` with its libraries' (None: no change); a name defined twice
        is an error naming both files and lines."""
        if ref is None:
            return None
        items = ref.value if isinstance(ref.value, list) else [ref]
        if not all(isinstance(i.value, str) for i in items) or not items:
            self.fail(
                "KS501",
                "`include:` takes a list of file names (strings)",
                ref.span,
                "include: [blocks/conv.yaml]",
            )
            return None
        found: dict[str, Loc] = {}
        for item in items:
            lib = self._read(doc, file, item, "includes", chain)
            if lib is None or not isinstance(lib.value, dict):
                continue
            for key, value in lib.value.items():
                if key not in LIBRARY_KEYS:
                    self.fail(
                        "KS510",
                        f"a block library holds only `blocks:` (and `include:`); found `{key}`",
                        value.key,
                        "move the key to the spec, or use `extends:` for a base spec",
                    )
            libblocks = lib.value.get("blocks")
            if libblocks is not None and isinstance(libblocks.value, dict):
                self._add_blocks(found, libblocks.value)
        mine = own.get("blocks")
        if mine is not None and isinstance(mine.value, dict):
            self._add_blocks(found, mine.value)
            return Loc(found, mine.span, mine.key)
        return Loc(found, ref.span, ref.key)

    def _add_blocks(self, found: dict[str, Loc], blocks: dict[str, Loc]) -> None:
        for name, block in blocks.items():
            first = found.get(name)
            if first is None:
                found[name] = block
                continue
            here, there = self.span(first.key), self.span(block.key)
            self.fail(
                "KS507",
                f"block {name!r} is defined twice: in {self._where(here)} and in "
                f"{self._where(there)}",
                block.key,
                "rename one of them, or include only one of the files",
            )

    def _where(self, span: Span | None) -> str:
        if span is None:
            return self.top.path
        return f"{span.file or self.top.path} line {span.line}"

    def _read(self, doc: Document, file: int, ref: Loc, verb: str, chain: list[str]) -> Loc | None:
        """The composed tree of the file ``ref`` names (relative to ``doc``), or None."""
        name = ref.value
        assert isinstance(name, str)
        if _URL.match(name) or name.startswith(("//", "\\\\")):
            self.fail(
                "KS501",
                f"{name!r} is a URL; kspec reads only files in the spec's folder",
                ref.span,
                "copy the file next to the spec and name it by a relative path",
            )
            return None
        if os.path.isabs(name) or name.startswith("~"):
            self.fail(
                "KS501",
                f"{name!r} is an absolute path; paths are relative to {doc.path}",
                ref.span,
                "name the file relative to the spec that includes it",
            )
            return None
        target = os.path.normpath(os.path.join(os.path.dirname(doc.path), name))
        real = os.path.realpath(target)
        if os.path.commonpath([real, self.root]) != self.root:
            self.fail(
                "KS502",
                f"{name!r} is outside the spec's root folder {self.root}",
                ref.span,
                "keep bases and libraries under the spec's folder, or pass "
                "--root DIR (root= in the API)",
            )
            return None
        if real in chain:
            cycle = " -> ".join(os.path.basename(p) for p in [*chain[chain.index(real) :], real])
            self.fail(
                "KS504",
                f"{doc.path} {verb} {target}, which is already being read: a cycle ({cycle})",
                ref.span,
                "remove one of the links",
            )
            return None
        if len(chain) >= MAX_CHAIN:
            self.fail(
                "KS505",
                f"more than {MAX_CHAIN} files in a chain of extends/include",
                ref.span,
                "flatten the chain",
            )
            raise _Stop
        self.inclusions += 1
        if self.inclusions > MAX_INCLUSIONS:
            self.fail(
                "KS506",
                f"more than {MAX_INCLUSIONS} inclusions in all (a file included "
                "again and again through several paths)",
                ref.span,
                "include each library once, from the spec that needs it",
            )
            raise _Stop
        line = ref.span[0] if ref.span else 1
        edges = [*self.edges.get(file, []), f"{doc.path} line {line} {verb} {target}"]
        loaded = self._load(target, real, ref, edges)
        if loaded is None:
            return None
        sub, index = loaded
        self.bytes_read += len(sub.text.encode("utf-8"))
        if self.bytes_read > self.limits.max_bytes:
            self.fail(
                "KS506",
                f"the spec and its files are more than {self.limits.max_bytes:,} bytes in all",
                ref.span,
                "split the files, or raise the limit with --max-bytes",
            )
            raise _Stop
        return self.compose(sub, index, [*chain, real])

    def _load(
        self, target: str, real: str, ref: Loc, edges: list[str]
    ) -> tuple[Document, int] | None:
        if real in self._docs:
            return self._docs[real]
        if not os.path.isfile(real):
            self.fail(
                "KS503",
                f"{ref.value!r}: no such file ({target})",
                ref.span,
                "paths are relative to the file that names them",
            )
            return None
        budget = Limits(
            max(0, self.limits.max_bytes - self.bytes_read),
            self.limits.max_depth,
            self.limits.max_nodes,
        )
        sub, diags = load_file(target, budget)
        if sub is None or any(d.severity == "error" for d in diags):
            for d in diags:
                if d.code == "KS003" and d.span is None:  # the budget, not the file alone
                    self.fail(
                        "KS506",
                        f"the spec and its files are more than "
                        f"{self.limits.max_bytes:,} bytes in all",
                        ref.span,
                        "split the files, or raise the limit with --max-bytes",
                    )
                else:
                    self.diags.append(replace(d, notes=(*d.notes, _via(edges))))
            return None
        self.origins.append((target, _via(edges)))
        self.edges[len(self.origins) - 1] = edges
        self.sources[target] = sub.text
        self._docs[real] = (sub, len(self.origins) - 1)
        return self._docs[real]


_TOP_KEY = re.compile(r"^kspec\s*:", re.MULTILINE)


def fragments(files: list[str], limits: Limits | None = None) -> set[str]:
    """The files among ``files`` that are fragments, without a ``kspec:`` line of their own:
    block libraries (only ``blocks:``, ``include:``, ``description:``), and files another of
    ``files`` extends or includes (a partial base). ``kspec check`` checks them through the
    specs that use them, not on their own."""
    named: set[str] = set()
    for path in files:
        try:
            with open(path, "rb") as fh:
                raw = fh.read((limits or Limits()).max_bytes + 1)
        except OSError:
            continue
        if b"extends" not in raw and b"include" not in raw:
            continue
        doc, _ = load_file(path, limits)
        if doc is None or not composes(doc.data):
            continue
        refs = [doc.data.get("extends"), doc.data.get("include")]
        for ref in refs:
            for name in ref if isinstance(ref, list) else [ref]:
                if isinstance(name, str) and not _URL.match(name) and not os.path.isabs(name):
                    named.add(os.path.realpath(os.path.join(os.path.dirname(path), name)))
    out = set()
    for path in files:
        if os.path.realpath(path) in named:
            try:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
            except OSError:
                continue
            if not _TOP_KEY.search(text):
                out.add(path)
        elif _is_library(path, limits):
            out.add(path)
    return out


def _is_library(path: str, limits: Limits | None) -> bool:
    try:
        with open(path, "rb") as fh:
            raw = fh.read((limits or Limits()).max_bytes + 1)
    except OSError:
        return False
    if b"blocks" not in raw or _TOP_KEY.search(raw.decode("utf-8", "replace")):
        return False
    doc, _ = load_file(path, limits)
    data = doc.data if doc is not None else None
    return isinstance(data, dict) and "blocks" in data and set(data) <= LIBRARY_KEYS
