"""Custom layer signatures from a stub file, so that ``kspec check`` validates the arguments
of a custom layer (``type: mylayers.Gated``) without importing its module.

``kspec stubs mylayers --allow-import mylayers -o mylayers.stubs.json`` writes the file (it
imports the module once, with permission); ``kspec check --stubs mylayers.stubs.json`` reads
it. The file is JSON::

    {"kspec_stubs": 1,
     "modules": {"mylayers": {"Gated": {"args": {"units": {"required": true},
                                                 "rate": {"default": 0.1}},
                                        "takes_name": true}}}}

A module the file does not cover is checked as before (its arguments are not known). TensorFlow-
free; the checker calls :func:`check_custom` from one place.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from kspec.diagnostics import Diagnostic, KspecError
from kspec.spec.report import Reporter, did_you_mean

VERSION = 1
# keys of a `type:` node that are not constructor arguments of its class
STRUCTURAL = frozenset({"name", "type", "inputs", "call", "trainable", "dtype"})


@dataclass(frozen=True)
class Signature:
    """A layer class's constructor arguments: name -> whether it must be given."""

    required: dict[str, bool] = field(default_factory=dict)
    takes_name: bool = True


@dataclass(frozen=True)
class Stubs:
    modules: dict[str, dict[str, Signature]]
    source: str = "<stubs>"


_ACTIVE: ContextVar[Stubs | None] = ContextVar("kspec_stubs", default=None)


def _bad(path: str, why: str) -> KspecError:
    return KspecError(
        [
            Diagnostic(
                "KS915",
                f"{path} is not a kspec stub file: {why}",
                path=path,
                hint="write it with `kspec stubs MODULE --allow-import MODULE -o FILE`",
            )
        ]
    )


def read(paths: Sequence[str]) -> Stubs | None:
    """The signatures in the stub files at ``paths`` (None for no files)."""
    modules: dict[str, dict[str, Signature]] = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError) as exc:
            raise _bad(path, str(exc)) from None
        if not isinstance(data, dict) or data.get("kspec_stubs") != VERSION:
            raise _bad(path, f'expected {{"kspec_stubs": {VERSION}, "modules": ...}}')
        raw = data.get("modules")
        if not isinstance(raw, dict):
            raise _bad(path, "`modules` must be a mapping")
        for module, classes in raw.items():
            if not isinstance(classes, dict):
                raise _bad(path, f"`modules.{module}` must be a mapping")
            modules[str(module)] = {str(c): _signature(path, c, s) for c, s in classes.items()}
    return Stubs(modules, ", ".join(paths)) if paths else None


def _signature(path: str, cls: str, data: Any) -> Signature:
    args = data.get("args") if isinstance(data, dict) else None
    if not isinstance(args, dict):
        raise _bad(path, f"class {cls} needs `args`, a mapping")
    required = {
        str(k): bool(v.get("required", False)) if isinstance(v, dict) else False
        for k, v in args.items()
    }
    return Signature(required, bool(data.get("takes_name", True)))


@contextlib.contextmanager
def using(stubs: Stubs | None) -> Iterator[None]:
    """Check custom layers against ``stubs`` inside this ``with`` block."""
    token = _ACTIVE.set(stubs)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def check_custom(
    type_name: str, node: dict[str, Any], path: tuple[Any, ...], rep: Reporter, name: str | None
) -> None:
    """Report the arguments of a custom layer node that its stub signature does not take, and
    the required ones it lacks. Silent when no stub file covers the layer's module."""
    stubs = _ACTIVE.get()
    module, cls = type_name.rsplit(".", 1)
    if stubs is None or module not in stubs.modules:
        return
    classes = stubs.modules[module]
    sig = classes.get(cls)
    if sig is None:
        rep.add(
            "KS106",
            f"module {module} has no layer class {cls} (according to {stubs.source})",
            (*path, "type"),
            node=name,
            hint=did_you_mean(cls, classes) or "regenerate the stubs if the module changed",
        )
        return
    for key in node:
        if key not in STRUCTURAL and key not in sig.required:
            rep.add(
                "KS101",
                f"custom layer {type_name} takes no argument `{key}`",
                (*path, key),
                key=True,
                node=name,
                hint=did_you_mean(key, sig.required)
                or f"its arguments: {', '.join(sig.required) or 'none'}",
            )
    for arg, required in sig.required.items():
        if required and arg not in node:
            rep.add(
                "KS103",
                f"custom layer {type_name} needs the argument `{arg}`",
                path,
                node=name,
                hint=f"add `{arg}: ...` to the node",
            )
    if not sig.takes_name:
        rep.add(
            "KS104",
            f"custom layer {type_name} takes no `name` argument, and kspec names every layer",
            (*path, "type"),
            node=name,
            hint="add **kwargs to its __init__ and pass them to super().__init__(**kwargs)",
        )
