"""``kspec lsp``: the language server (pygls), over stdio.

Diagnostics are exactly ``kspec check``'s, published as the user types (a short pause after
the last change); hover, definition, references, rename and completion answer from the latest
text (checked again first if it changed since). Positions are converted between kspec's
code-point columns and the client's encoding (UTF-16 by default) by pygls' codec.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from kspec import __version__
from kspec.diagnostics import Diagnostic
from kspec.lsp import analysis, completion, features
from kspec.lsp.features import State
from kspec.lsp.symbols import Occurrence

DELAY = 0.15  # seconds after the last change before checking again (typing is not interrupted)
KINDS = {
    "key": lsp.CompletionItemKind.Property,
    "name": lsp.CompletionItemKind.Reference,
    "type": lsp.CompletionItemKind.Class,
    "param": lsp.CompletionItemKind.Variable,
    "value": lsp.CompletionItemKind.Value,
}


class RequestFailed(JsonRpcException):
    """LSP's RequestFailed: the request was valid, but cannot be carried out (a rename to a
    name that is taken)."""

    CODE = -32803


class KspecServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("kspec", __version__)
        self.states: dict[str, State] = {}
        self.pending: dict[str, asyncio.TimerHandle] = {}

    def state(self, uri: str) -> tuple[TextDocument, State | None]:
        """The document and its state for its current text (checked now if it changed);
        None for a YAML file that is not a spec."""
        doc = self.workspace.get_text_document(uri)
        current = self.states.get(uri)
        if current is None or current.text != doc.source:
            self.refresh(uri)
        return doc, self.states.get(uri)

    def schedule(self, uri: str) -> None:
        handle = self.pending.pop(uri, None)
        if handle is not None:
            handle.cancel()
        self.pending[uri] = asyncio.get_running_loop().call_later(DELAY, self.refresh, uri)

    def refresh(self, uri: str) -> None:
        """Check the document's text and publish its diagnostics."""
        handle = self.pending.pop(uri, None)
        if handle is not None:
            handle.cancel()
        doc = self.workspace.get_text_document(uri)
        if not is_spec(uri, doc.source):  # another YAML file (a CI workflow...): not ours
            self.states.pop(uri, None)
            self.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[], version=doc.version)
            )
            return
        path = to_fs_path(uri) or uri
        state = features.new_state(doc.source, path, self.states.get(uri))
        self.states[uri] = state
        diagnostics = [_diagnostic(doc, d) for d in state.result.diagnostics]
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=doc.version)
        )


SPEC_SUFFIXES = (".kspec.yaml", ".kspec.yml")
_TOP_KSPEC = re.compile(r"^kspec[ \t]*:", re.MULTILINE)


def is_spec(uri: str, text: str) -> bool:
    """Whether a YAML document is a kspec spec: named ``*.kspec.yaml``, or with a top-level
    ``kspec:`` key. Editors start the server for every YAML file; the others are left alone."""
    return uri.endswith(SPEC_SUFFIXES) or _TOP_KSPEC.search(text) is not None


def _position(doc: TextDocument, line: int, column: int) -> lsp.Position:
    """A 0-based line and code-point column as the client counts."""
    return doc.position_codec.position_to_client_units(doc.lines, lsp.Position(line, column))


def _range(doc: TextDocument, line: int, start: int, end_line: int, end: int) -> lsp.Range:
    return lsp.Range(_position(doc, line, start), _position(doc, end_line, end))


def _server_position(doc: TextDocument, pos: lsp.Position) -> tuple[int, int]:
    p = doc.position_codec.position_from_client_units(
        doc.lines, lsp.Position(pos.line, pos.character)
    )
    return p.line, p.character


def _diagnostic(doc: TextDocument, d: Diagnostic) -> lsp.Diagnostic:
    if d.span is None:
        where = lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
    else:
        s = d.span
        where = _range(doc, s.line - 1, s.column - 1, s.end_line - 1, s.end_column - 1)
    text = d.message
    if d.hint:
        text += f"\nhelp: {d.hint}"
    for note in d.notes:
        text += f"\nnote: {note}"
    return lsp.Diagnostic(
        range=where,
        message=text,
        severity=lsp.DiagnosticSeverity.Error
        if d.severity == "error"
        else lsp.DiagnosticSeverity.Warning,
        code=d.code,
        source="kspec",
        data=analysis.diagnostic_json(d),  # the same object as `kspec check --format json`
    )


def _location(uri: str, doc: TextDocument, occ: Occurrence) -> lsp.Location:
    return lsp.Location(uri, _range(doc, occ.line, occ.start, occ.line, occ.end))


server = KspecServer()


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: KspecServer, params: lsp.DidOpenTextDocumentParams) -> None:
    ls.refresh(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: KspecServer, params: lsp.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: KspecServer, params: lsp.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    handle = ls.pending.pop(uri, None)
    if handle is not None:
        handle.cancel()
    ls.states.pop(uri, None)
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
def hover(ls: KspecServer, params: lsp.HoverParams) -> lsp.Hover | None:
    doc, state = ls.state(params.text_document.uri)
    if state is None:
        return None
    line, char = _server_position(doc, params.position)
    text = features.hover(state, line, char)
    if text is None:
        return None
    return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, text))


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
def definition(ls: KspecServer, params: lsp.DefinitionParams) -> list[lsp.Location]:
    uri = params.text_document.uri
    doc, state = ls.state(uri)
    if state is None:
        return []
    line, char = _server_position(doc, params.position)
    return [_location(uri, doc, o) for o in features.definitions(state, line, char)]


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
def references(ls: KspecServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
    uri = params.text_document.uri
    doc, state = ls.state(uri)
    if state is None:
        return []
    line, char = _server_position(doc, params.position)
    found = features.references(state, line, char, params.context.include_declaration)
    return [_location(uri, doc, o) for o in found]


@server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
def prepare_rename(ls: KspecServer, params: lsp.PrepareRenameParams) -> lsp.Range | None:
    doc, state = ls.state(params.text_document.uri)
    if state is None:
        return None
    line, char = _server_position(doc, params.position)
    occ = features.prepare_rename(state, line, char)
    return None if occ is None else _range(doc, occ.line, occ.start, occ.line, occ.end)


@server.feature(lsp.TEXT_DOCUMENT_RENAME)
def rename(ls: KspecServer, params: lsp.RenameParams) -> lsp.WorkspaceEdit:
    uri = params.text_document.uri
    doc, state = ls.state(uri)
    if state is None:
        raise RequestFailed("not a kspec spec")
    line, char = _server_position(doc, params.position)
    found = features.rename(state, line, char, params.new_name)
    if isinstance(found, str):
        raise RequestFailed(found)
    edits = [
        lsp.TextEdit(_range(doc, o.line, o.start, o.line, o.end), params.new_name) for o in found
    ]
    return lsp.WorkspaceEdit(changes={uri: edits})


@server.feature(
    lsp.TEXT_DOCUMENT_COMPLETION,
    lsp.CompletionOptions(trigger_characters=["$", "{", "[", ","]),
)
def complete(ls: KspecServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    doc, state = ls.state(params.text_document.uri)
    line, char = _server_position(doc, params.position)
    ctx = completion.context(doc.source, line, char) if state is not None else None
    if ctx is None or state is None:
        return lsp.CompletionList(is_incomplete=False, items=[])
    start = max(0, char - len(ctx.partial))
    where = _range(doc, line, start, line, char)
    items: list[lsp.CompletionItem] = []
    for item in completion.complete(ctx, state.index):
        documentation: Any = (
            lsp.MarkupContent(lsp.MarkupKind.Markdown, item.documentation)
            if item.documentation
            else None
        )
        items.append(
            lsp.CompletionItem(
                label=item.label,
                kind=KINDS[item.kind],
                detail=item.detail or None,
                documentation=documentation,
                text_edit=lsp.TextEdit(where, item.insert or item.label),
                filter_text=item.label,
            )
        )
    return lsp.CompletionList(is_incomplete=False, items=items)


def serve() -> None:
    """Run the server on stdin/stdout until the client says exit."""
    logging.getLogger("pygls").setLevel(logging.WARNING)
    server.start_io()
