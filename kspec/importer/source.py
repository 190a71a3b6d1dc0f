"""Where an imported model comes from: a ``.keras`` file (loaded in Keras' safe mode) or
``module:function`` (naming it on the command line is the permission to import the module)."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from kspec.compiler.runtime import deep_call, require_keras
from kspec.importer.ir import error


def source_module(source: str) -> str | None:
    """The module a ``module:function`` source names (None for a file)."""
    if source.endswith(".keras") or ":" not in source:
        return None
    return source.partition(":")[0]


def load_model(source: str, allow_imports: Iterable[str] = ()) -> Any:
    """A Keras model from ``path.keras`` or ``module:function`` (or ``module:model``, a model
    object). The ``allow_imports`` modules are imported first, so that the custom layer
    classes they register are known when a ``.keras`` file is loaded."""
    require_keras()
    import keras

    for module in allow_imports:
        try:
            importlib.import_module(module)
        except Exception as exc:
            raise error("KS906", f"cannot import {module}: {type(exc).__name__}: {exc}") from None
    if source.endswith(".keras"):
        try:
            return deep_call(lambda: keras.models.load_model(source, safe_mode=True))
        except Exception as exc:
            raise error(
                "KS906",
                f"cannot load {source}: {type(exc).__name__}: {exc}",
                "a model with custom layers needs their module: --allow-import MODULE",
            ) from None
    if ":" not in source:
        raise error(
            "KS906",
            f"{source!r} is neither a .keras file nor module:function",
            "e.g. kspec import model.keras, or kspec import mypkg.models:build",
        )
    module_name, _, func_name = source.partition(":")
    try:
        value = getattr(importlib.import_module(module_name), func_name)
    except Exception as exc:
        raise error("KS906", f"cannot import {source}: {type(exc).__name__}: {exc}") from None
    if isinstance(value, keras.Model) or not callable(value):
        return value
    try:
        return deep_call(value)
    except Exception as exc:
        raise error("KS906", f"calling {source}() failed: {type(exc).__name__}: {exc}") from None
