"""The direction of imports: text -> IR -> code, and TensorFlow only where models are built.

``kspec/spec``, ``kspec/schemas`` and ``kspec/layers`` (the checker, the schema, the layer
registry) import nothing from ``kspec/compiler`` and no TensorFlow, Keras or NumPy, at module
level or inside functions; ``kspec/compiler`` imports TensorFlow only in ``runtime.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "kspec"
HEAVY = ("tensorflow", "keras", "numpy", "jax", "torch")


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (relative imports made absolute)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module if node.level == 0 else f"kspec.{node.module}")
    return out


def _modules(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize(
    "path", _modules("spec", "schemas", "layers"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_front_end_imports_no_compiler_and_no_tensorflow(path: Path) -> None:
    imported = _imports(path)
    assert not {m for m in imported if m.startswith("kspec.compiler")}, imported
    assert not {m for m in imported if m.split(".")[0] in HEAVY}, imported


@pytest.mark.parametrize("path", _modules("compiler"), ids=lambda p: p.name)
def test_only_the_runtime_imports_tensorflow(path: Path) -> None:
    heavy = {m for m in _imports(path) if m.split(".")[0] in HEAVY}
    assert not heavy or path.name == "runtime.py", heavy


def test_layers_do_not_import_the_checker() -> None:
    """The registry is below the checker: it knows layers, not specs."""
    for path in _modules("layers"):
        imported = _imports(path)
        assert not {m for m in imported if m.startswith("kspec.spec")}, (path.name, imported)
