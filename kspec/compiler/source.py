"""The one place that turns values into Python source.

Every hole in generated code is filled here: a plain value becomes its ``repr`` (strings
double-quoted the way ruff formats them), an :class:`Expr` becomes its re-emitted AST with
param names renamed, a nested layer becomes a constructor call. No spec string is ever
spliced in as code. ``Writer`` lays the lines out in ruff's format (88 columns; a call that does
not fit is exploded one argument per line with a trailing comma).
"""

from __future__ import annotations

import contextlib
import keyword
import math
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from kspec.layers.catalog import object_family
from kspec.spec.expressions import Expr, to_source
from kspec.spec.ir import Dict, LayerSpec

LINE = 88


@dataclass(frozen=True)
class KerasApi:
    """How generated code names Keras: the import that binds it and the prefix of every Keras
    name. ``TF_API`` (``import tensorflow as tf``, ``tf.keras.Model``: what the tutorial teaches,
    the default) or ``KERAS_API`` (``import keras``: runs under any Keras 3 backend, imports no
    TensorFlow)."""

    name: str  # as --api spells it
    module: str  # the import statement's module
    prefix: str  # tf.keras / keras
    register: str  # the decorator that registers a class as serializable

    def __call__(self, name: str) -> str:
        """The source of a Keras name: ``TF_API("Model")`` -> ``tf.keras.Model``."""
        return f"{self.prefix}.{name}"


TF_API = KerasApi(
    "tf", "tensorflow as tf", "tf.keras", "tf.keras.utils.register_keras_serializable"
)
KERAS_API = KerasApi("keras", "keras", "keras", "keras.saving.register_keras_serializable")
APIS = {a.name: a for a in (TF_API, KERAS_API)}

# The API of the module being generated: set by ``emitting`` for the length of one generation,
# read by every function here that writes a Keras name (nested layers, initializers, ops).
_API: ContextVar[KerasApi] = ContextVar("kspec_keras_api", default=TF_API)


def api_named(name: str | KerasApi) -> KerasApi:
    """``"tf"`` or ``"keras"`` (or an api) -> its :class:`KerasApi`."""
    if isinstance(name, KerasApi):
        return name
    if name not in APIS:
        raise ValueError(f"unknown api {name!r}; choose one of {', '.join(APIS)}")
    return APIS[name]


@contextlib.contextmanager
def emitting(api: KerasApi) -> Iterator[KerasApi]:
    """Generate code for ``api`` inside this block."""
    token = _API.set(api)
    try:
        yield api
    finally:
        _API.reset(token)


def current_api() -> KerasApi:
    return _API.get()


def keras(name: str) -> str:
    """The source of a Keras name in the current api: ``keras("Model")`` -> ``tf.keras.Model``."""
    return _API.get()(name)


def py_str(text: str) -> str:
    """A string literal for ``text``, double-quoted unless that needs more escapes."""
    r = repr(text)
    if r.startswith("'") and '"' not in text:
        r = '"' + r[1:-1].replace("\\'", "'") + '"'
    return r


def literal(value: Any, rename: Mapping[str, str] | None = None) -> str:
    """Source for a value of the IR (plain data, Expr leaves, Dict, LayerSpec)."""
    if isinstance(value, Expr):
        return to_source(value, rename or {})
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):  # the loader refuses these; never emit bare nan/inf
            raise ValueError(f"non-finite float {value!r} cannot be emitted")
        return repr(value)
    if isinstance(value, str):
        return py_str(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(literal(v, rename) for v in value) + "]"
    if isinstance(value, Dict):
        return "{" + ", ".join(f"{py_str(k)}: {literal(v, rename)}" for k, v in value.items) + "}"
    if isinstance(value, LayerSpec):
        return layer_call(value, (), rename)
    raise TypeError(f"cannot emit {type(value).__name__}")


def argument(name: str, value: Any, rename: Mapping[str, str] | None = None) -> str:
    """A layer argument: ``{type: HeNormal, seed: 1}`` for an initializer (regularizer,
    constraint) becomes ``tf.keras.initializers.HeNormal(seed=1)`` when ``HeNormal`` is a class
    of Keras' registry and every argument name an identifier; anything else is data (a
    ``repr``), never code."""
    family = object_family(name)
    if family is not None and isinstance(value, Dict) and _is_registry_call(family, value):
        args = ", ".join(f"{k}={literal(v, rename)}" for k, v in value.items if k != "type")
        return f"{keras(family)}.{value.get('type')}({args})"
    return literal(value, rename)


def _is_registry_call(family: str, value: Dict) -> bool:
    from kspec.layers.catalog import registry_classes

    t = value.get("type")
    return (
        isinstance(t, str)
        and t in registry_classes(family)
        and all(k.isidentifier() and not keyword.iskeyword(k) for k, _ in value.items)
    )


def layer_call(
    layer: LayerSpec, extra: Sequence[tuple[str, str]] = (), rename: Mapping[str, str] | None = None
) -> str:
    """``tf.keras.layers.Dense(units=64, name="dense")`` (one line; ``Writer`` wraps it). A
    custom layer's dotted type (``mylayers.Gated``) is used as written: its module is imported
    at the top of the generated module, and the type was checked to be a dotted identifier."""
    args = [f"{k}={argument(k, v, rename)}" for k, v in layer.args]
    args += [f"{k}={v}" for k, v in extra]
    callee = layer.type if "." in layer.type else keras(f"layers.{layer.type}")
    return f"{callee}({', '.join(args)})"


class Writer:
    """Collects lines with indentation; wraps long calls the way ruff format does."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.level = 0

    def line(self, text: str = "") -> None:
        if not text:
            self.lines.append("")
            return
        pad = "    " * self.level
        for out in wrap(text, len(pad)):
            self.lines.append(pad + out)

    def blank(self, n: int = 1) -> None:
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        self.lines.extend([""] * n)

    def indent(self) -> _Indent:
        return _Indent(self)

    def text(self) -> str:
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        return "\n".join(self.lines) + "\n"


class _Indent:
    def __init__(self, writer: Writer):
        self.writer = writer

    def __enter__(self) -> None:
        self.writer.level += 1

    def __exit__(self, *exc: object) -> None:
        self.writer.level -= 1


def wrap(text: str, indent: int) -> list[str]:
    """Split an over-long line at a bracket pair, recursively, the way ruff format does: the
    last pair whose head and tail both fit (``x = f(\n    a, b\n)(y)``)."""
    if indent + len(text) <= LINE:
        return [text]
    pairs = _depth0_pairs(text)
    if not pairs:
        return [text]
    for open_at, close_at in reversed(pairs):
        if indent + open_at + 1 <= LINE and indent + len(text) - close_at <= LINE:
            break
    head, body, tail = text[: open_at + 1], text[open_at + 1 : close_at], text[close_at:]
    parts = _split_top(body)
    joined = ", ".join(parts)
    if indent + 4 + len(joined) <= LINE and not body.rstrip().endswith(","):
        inner = [joined]
    elif len(parts) == 1 and " for " in parts[0]:  # a comprehension: element, then its loop
        element, loop = parts[0].split(" for ", 1)
        inner = [element, "for " + loop]
    else:
        inner = [p + "," for p in parts]
    out = [head]
    for part in inner:
        out.extend("    " + w for w in wrap(part, indent + 4))
    out.extend(wrap(tail, indent))
    return out


_PAIRS = {"(": ")", "[": "]", "{": "}"}


def _scan(text: str, visit: Callable[[int, str, int], bool]) -> None:
    """Walk ``text`` outside string literals, calling ``visit(index, char, depth)``."""
    depth = 0
    quote = ""
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        else:
            if c in ")]}":
                depth -= 1
            if visit(i, c, depth):
                return
            if c in "([{":
                depth += 1
        i += 1


def _depth0_pairs(text: str) -> list[tuple[int, int]]:
    """The non-empty bracket pairs at depth 0, in order."""
    found: list[tuple[int, int]] = []
    start: list[int] = []

    def visit(i: int, c: str, depth: int) -> bool:
        if c in "([{" and depth == 0:
            start.append(i)
        elif c in ")]}" and depth == 0 and start:
            found.append((start.pop(), i))
        return False

    _scan(text, visit)
    return [p for p in found if p[1] > p[0] + 1]


def _split_top(body: str) -> list[str]:
    """Split ``body`` at its top-level commas."""
    cuts: list[int] = []

    def visit(i: int, c: str, depth: int) -> bool:
        if c == "," and depth == 0:
            cuts.append(i)
        return False

    _scan(body, visit)
    parts, prev = [], 0
    for cut in cuts:
        parts.append(body[prev:cut].strip())
        prev = cut + 1
    last = body[prev:].strip()
    if last:
        parts.append(last)
    return parts


def check_source(source: str, filename: str) -> types.CodeType:
    """Compile generated source before anyone sees it (a syntax error here is kspec's bug);
    the code object is what ``kspec.build_model`` runs."""
    return compile(source, filename, "exec")
