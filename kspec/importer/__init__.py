"""``kspec import``: write a readable spec for an existing Keras model.

The model comes from a ``.keras`` file or ``module:function`` (:mod:`kspec.importer.source`).
Its graph is read into nodes (:mod:`~kspec.importer.graph`: layers, shared layers, ``keras.ops``
operations, nested Functional and Sequential models as blocks), repeated structure is grouped
into blocks (:mod:`~kspec.importer.blocks`), and the result is printed as YAML
(:mod:`~kspec.importer.emit`). Names keep a documented correspondence with the original model's
(:mod:`~kspec.importer.names`), which :mod:`~kspec.importer.weights` uses to copy weights.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kspec.compiler.runtime import deep_call
from kspec.importer.ir import Imported
from kspec.importer.names import spec_name, weight_key
from kspec.importer.source import load_model, source_module

__all__ = ["import_model", "load_model", "source_module", "spec_name", "to_spec", "weight_key"]


def import_model(
    model: Any,
    name: str | None = None,
    allow_imports: Iterable[str] = (),
    blocks: bool = True,
) -> Imported:
    """The spec of ``model`` as the importer's data (with its warnings). Custom layer classes
    may come from the ``allow_imports`` modules only. ``blocks``: group repeated structure."""
    from kspec.importer import blocks as blocklib
    from kspec.importer.graph import Reader, graph_function

    reader = Reader(set(allow_imports))
    label = f"model {model.name!r}" if hasattr(model, "name") else "the model"
    graph_function(model, label)
    graph = deep_call(lambda: reader.read(model, label))
    reader.finish(graph)
    spec = Imported(
        spec_name(name or model.name), graph, reader.blocks, reader.imports, reader.warnings
    )
    if blocks:
        blocklib.find_blocks(spec)
    return spec


def to_spec(
    model: Any, name: str | None = None, allow_imports: Iterable[str] = (), blocks: bool = True
) -> str:
    """The YAML text of a spec for ``model`` (see :func:`import_model`)."""
    from kspec.importer.emit import render

    return render(import_model(model, name, allow_imports, blocks))
