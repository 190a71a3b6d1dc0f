"""A small synchronous Language Server Protocol client for the editor tests.

It starts a server as a subprocess, speaks JSON-RPC 2.0 with ``Content-Length`` framing over
its stdin/stdout (the way VS Code, Neovim and Helix talk to yaml-language-server and to
``kspec lsp``), answers the requests servers send to clients (``workspace/configuration``,
``client/registerCapability``, ...) and collects ``textDocument/publishDiagnostics``.

Every wait is bounded (``timeout``): a server that stops answering fails the test instead of
hanging it. Used by tests/test_editor_schema.py, tests/test_lsp.py and bench/editor.py.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TIMEOUT = 120.0  # seconds: far beyond any expected answer, so only a hung server hits it


class LspError(Exception):
    """The server answered with an error, died, or did not answer in time."""


def uri_of(path: str | os.PathLike[str]) -> str:
    return Path(path).resolve().as_uri()


class LspSession:
    """One server process and the client side of its session.

    ``settings`` answers ``workspace/configuration`` (section name -> value).
    """

    def __init__(
        self,
        argv: Sequence[str],
        root: str | os.PathLike[str],
        settings: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        initialization_options: Any = None,
    ) -> None:
        self.settings = settings or {}
        self._proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self._next_id = 0
        self._lock = threading.Lock()
        self._responses: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._cond = threading.Condition()
        self.diagnostics: dict[str, list[dict[str, Any]]] = {}  # uri -> latest
        self.published: dict[str, int] = {}  # uri -> how many publications so far
        self.notifications: list[dict[str, Any]] = []
        self.versioned = False  # whether the server says which version its diagnostics are of
        self.stderr: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        self.versions: dict[str, int] = {}
        self.capabilities: dict[str, Any] = self.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": uri_of(root),
                "workspaceFolders": [{"uri": uri_of(root), "name": "specs"}],
                "initializationOptions": initialization_options,
                "capabilities": {
                    "workspace": {"configuration": True, "workspaceFolders": True},
                    "textDocument": {
                        "publishDiagnostics": {"relatedInformation": True},
                        "completion": {
                            "completionItem": {
                                "snippetSupport": True,
                                "documentationFormat": ["markdown", "plaintext"],
                            }
                        },
                        "hover": {"contentFormat": ["markdown", "plaintext"]},
                        "rename": {"prepareSupport": True},
                    },
                },
            },
        )["capabilities"]
        self.notify("initialized", {})
        if self.settings:
            self.notify("workspace/didChangeConfiguration", {"settings": self.settings})

    # -- wire ------------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self._proc.stdin is not None
        with self._lock:
            self._proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self._proc.stdin.flush()

    def _drain_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self.stderr.append(line)

    def _read(self) -> None:
        stream = self._proc.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    self._closed()
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            if length is None:
                continue
            message = json.loads(stream.read(length))
            self._dispatch(message)

    def _closed(self) -> None:
        for q in list(self._responses.values()):
            q.put({"error": {"message": "the server closed its output"}})

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message and ("result" in message or "error" in message):
            q = self._responses.get(message["id"])
            if q is not None:
                q.put(message)
            return
        method = message.get("method", "")
        if "id" in message:  # a request from the server
            self._send({"id": message["id"], "result": self._answer(method, message["params"])})
            return
        with self._cond:
            if method == "textDocument/publishDiagnostics":
                params = message["params"]
                uri = params["uri"]
                version = params.get("version")
                if version is not None:
                    self.versioned = True
                elif self.versioned and not params["diagnostics"]:
                    return  # the clearing that follows a close: about no version being waited for
                self.diagnostics[uri] = params["diagnostics"]
                self.published[uri] = self.published.get(uri, 0) + 1
            else:
                self.notifications.append(message)
            self._cond.notify_all()

    def _answer(self, method: str, params: Any) -> Any:
        if method == "workspace/configuration":
            return [self.settings.get(item.get("section", ""), None) for item in params["items"]]
        return None  # registerCapability, workDoneProgress/create, ...

    # -- requests --------------------------------------------------------------------------

    def request(self, method: str, params: Any, timeout: float = TIMEOUT) -> Any:
        with self._lock:
            self._next_id += 1
            ident = self._next_id
        q: queue.Queue[dict[str, Any]] = queue.Queue()
        self._responses[ident] = q
        self._send({"id": ident, "method": method, "params": params})
        try:
            answer = q.get(timeout=timeout)
        except queue.Empty:
            raise LspError(f"{method}: no answer in {timeout} s") from None
        finally:
            del self._responses[ident]
        if "error" in answer:
            raise LspError(f"{method}: {answer['error'].get('message')}")
        return answer.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    # -- documents -------------------------------------------------------------------------

    def open(self, uri: str, text: str, language: str = "yaml") -> list[dict[str, Any]]:
        """Open a document; return the diagnostics the server publishes for it."""
        seen = self.published.get(uri, 0)
        self.versions[uri] = 1
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}},
        )
        return self.wait_diagnostics(uri, seen)

    def change(self, uri: str, text: str) -> list[dict[str, Any]]:
        """Replace a document's text; return the diagnostics published for the new text."""
        seen = self.published.get(uri, 0)
        self.versions[uri] += 1
        self.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": self.versions[uri]},
                "contentChanges": [{"text": text}],
            },
        )
        return self.wait_diagnostics(uri, seen)

    def close(self, uri: str) -> None:
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def wait_diagnostics(
        self, uri: str, seen: int, timeout: float = TIMEOUT
    ) -> list[dict[str, Any]]:
        """The diagnostics of the first publication for ``uri`` after the ``seen``-th."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.published.get(uri, 0) <= seen:
                left = deadline - time.monotonic()
                if left <= 0 or self._proc.poll() is not None:
                    raise LspError(f"no diagnostics published for {uri} in {timeout} s")
                self._cond.wait(min(left, 1.0))
            return self.diagnostics[uri]

    def position_request(self, method: str, uri: str, line: int, character: int) -> Any:
        """``textDocument/<method>`` at a 0-based position."""
        return self.request(
            f"textDocument/{method}",
            {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}},
        )

    def completion_labels(self, uri: str, line: int, character: int) -> list[str]:
        result = self.position_request("completion", uri, line, character)
        items = result.get("items", []) if isinstance(result, dict) else result or []
        return [item["label"] for item in items]

    def shutdown(self) -> None:
        try:
            if self._proc.poll() is None:
                self.request("shutdown", None, timeout=30)
                self.notify("exit", None)
                self._proc.wait(timeout=30)
        except (LspError, OSError, subprocess.TimeoutExpired):
            pass
        finally:
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
                if stream is not None:
                    stream.close()

    def __enter__(self) -> LspSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
