"""What the editor tests (test_editor_schema.py, test_lsp.py) open: the examples, the specs in
docs/, the error corpus (tests/specs) and the hostile corpus (tests/hostile); and how they
find and start yaml-language-server.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import kspec
from kspec.diagnostics import Diagnostic, has_errors
from kspec.spec.loader import load_text

ROOT = Path(__file__).resolve().parent.parent
YLS_VERSION = "1.25.0"  # .ci/editor/package.json pins it


@dataclass(frozen=True)
class Spec:
    name: str  # a path relative to the repository, or docs/FILE.md#N
    text: str

    def check(self) -> list[Diagnostic]:
        return kspec.api.check_text(self.text, self.name)

    @property
    def loads(self) -> bool:
        """Whether kspec's loader reads it (the YAML-level problems are the editor's own)."""
        doc, diags = load_text(self.text, self.name)
        return doc is not None and not has_errors(diags)


def _read(path: Path) -> Spec | None:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return None  # no editor opens it as text
    return Spec(str(path.relative_to(ROOT)), text)


def examples() -> list[Spec]:
    return [s for p in sorted((ROOT / "examples").glob("*.yaml")) if (s := _read(p))]


def doc_specs() -> list[Spec]:
    """Every ```yaml block of docs/*.md that is a spec (starts a line with ``kspec: 1``)."""
    out = []
    for md in sorted((ROOT / "docs").glob("*.md")):
        blocks = re.findall(r"```yaml\n(.*?)```", md.read_text(encoding="utf-8"), flags=re.S)
        for i, block in enumerate(blocks):
            if re.search(r"^kspec: 1$", block, flags=re.M):
                out.append(Spec(f"docs/{md.name}#{i}", block))
    return out


def corpus() -> list[Spec]:
    """The error corpus and the hostile corpus (the files that are UTF-8 text; not the
    composition cases' bases and libraries under tests/hostile/compose/, which are fragments
    checked through the cases)."""
    paths = sorted((ROOT / "tests" / "specs").rglob("*.yaml"))
    hostile = ROOT / "tests" / "hostile"
    paths += sorted(
        p for p in hostile.rglob("*") if p.is_file() and p.parent != hostile / "compose"
    )
    return [s for p in paths if (s := _read(p))]


def clean(specs: list[Spec]) -> Iterator[Spec]:
    """The specs ``kspec check`` accepts (warnings allowed)."""
    return (s for s in specs if not has_errors(s.check()))


def yaml_language_server() -> tuple[list[str] | None, str]:
    """The command that starts yaml-language-server over stdio, or None and why not."""
    if shutil.which("node") is None:
        return (
            None,
            "Node.js is not installed (.ci/run installs it; locally: apt-get install nodejs npm)",
        )
    found = os.environ.get("YAML_LANGUAGE_SERVER")
    local = ROOT / ".ci" / "editor" / "node_modules" / ".bin" / "yaml-language-server"
    if not found and local.exists():
        found = str(local)
    found = found or shutil.which("yaml-language-server")
    if not found:
        return None, (
            "yaml-language-server is not installed (.ci/run installs it; locally: "
            "cd .ci/editor && npm ci)"
        )
    return [found, "--stdio"], ""


def yls_settings(schema: Path) -> dict[str, object]:
    """yaml-language-server's settings: the schema for every .yaml file, nothing fetched."""
    from lsp_client import uri_of

    return {
        "yaml": {
            "schemas": {uri_of(schema): ["*.yaml", "*.yml"]},
            "validate": True,
            "completion": True,
            "hover": True,
            "schemaStore": {"enable": False},
            "format": {"enable": False},
        }
    }
