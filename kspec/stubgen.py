"""``kspec stubs``: write the constructor signatures of a module's Keras layer classes to a stub
file that ``kspec check --stubs`` reads (:mod:`kspec.spec.stubs`), so that a spec's custom
layers are checked without importing their module. Importing the module runs its code: the
command does it only for modules the user allows."""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Iterable
from typing import Any

from kspec.compiler.runtime import require_keras
from kspec.diagnostics import Diagnostic, KspecError
from kspec.spec.stubs import VERSION


def signatures(module_name: str) -> dict[str, Any]:
    """The layer classes defined in ``module_name``: class name -> its stub entry."""
    require_keras()
    import keras

    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise KspecError(
            [Diagnostic("KS906", f"cannot import {module_name}: {type(exc).__name__}: {exc}")]
        ) from None
    out: dict[str, Any] = {}
    for name, cls in sorted(vars(module).items()):
        if not (inspect.isclass(cls) and issubclass(cls, keras.layers.Layer)):
            continue
        if cls.__module__ != module_name or name != cls.__name__:
            continue  # imported from elsewhere, or an alias
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        args: dict[str, Any] = {}
        for p in params:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name == "name":
                continue
            entry: dict[str, Any] = {"required": p.default is p.empty}
            if p.default is not p.empty and _json(p.default):
                entry["default"] = p.default
            args[p.name] = entry
        takes_name = any(p.name == "name" or p.kind is p.VAR_KEYWORD for p in params)
        out[name] = {"args": args, "takes_name": takes_name}
    return out


def _json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def stub_text(modules: Iterable[str], allowed: Iterable[str]) -> str:
    """The stub file for ``modules``; each must be in ``allowed`` (KS903 otherwise)."""
    allowed = set(allowed)
    denied = [m for m in modules if m not in allowed]
    if denied:
        flags = " ".join(f"--allow-import {m}" for m in denied)
        raise KspecError(
            [
                Diagnostic(
                    "KS903",
                    f"writing stubs imports {', '.join(map(repr, denied))}; kspec imports a "
                    "module only with your permission",
                    hint=f"if you trust the module, pass {flags}",
                )
            ]
        )
    data = {"kspec_stubs": VERSION, "modules": {m: signatures(m) for m in modules}}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
