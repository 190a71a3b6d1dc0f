"""Running generated source: the only compiler module that imports TensorFlow or Keras.

``build`` executes exactly the source ``kspec compile`` would write (so what the tests check is
what users get), in a fresh module object, in the caller's thread: Keras keeps settings such as
the dtype policy per thread. A deep model needs no help from here: Keras' Functional constructor
recurses once per layer, and the generated functional module raises the recursion limit itself
while it builds (``deep_recursion``, kspec/compiler/helpers.py). ``deep_call`` is for loading
models kspec did not generate (``kspec import``).
"""

from __future__ import annotations

import contextlib
import linecache
import os
import re
import sys
import threading
import types
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from kspec.compiler.lower import Lowered
from kspec.diagnostics import Diagnostic, KspecError
from kspec.spec.ir import Spec

T = TypeVar("T")

INSTALL_HINT = "install it with: pip install 'kspec[tensorflow]'"
STACK_BYTES = 512 * 1024 * 1024
RECURSION_LIMIT = 200_000


QUIET = False  # set by the CLI: hide TensorFlow's C++ start-up chatter on stderr


def require_tensorflow() -> Any:
    """Import TensorFlow, or fail with a diagnostic that says how to install it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        if QUIET and "tensorflow" not in sys.modules:
            with _stderr_silenced():
                import tensorflow as tf
        else:
            import tensorflow as tf
    except ImportError as exc:
        raise KspecError(
            [
                Diagnostic(
                    "KS901",
                    f"this command builds a Keras model and needs TensorFlow, "
                    f"which is not installed ({exc.name or exc})",
                    hint=INSTALL_HINT,
                )
            ]
        ) from None
    return tf


def require_keras() -> Any:
    """Import Keras on the backend ``KERAS_BACKEND`` names (TensorFlow by default, through
    :func:`require_tensorflow`), or fail with a diagnostic that says what to install (KS916)."""
    from kspec import backend

    name = backend.requested()
    if name == backend.DEFAULT:
        require_tensorflow()
    else:
        backend.select(name)
    import keras

    return keras


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null (the C++ logging writes there directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def deep_call(fn: Callable[[], T]) -> T:
    """Run ``fn`` on a thread with a 512 MiB stack and a raised recursion limit, restored
    afterwards. Only the stack of that thread grows; the limit is process-wide while it runs."""
    result: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    old_limit = sys.getrecursionlimit()
    old_size = threading.stack_size()
    try:
        threading.stack_size(STACK_BYTES)
        sys.setrecursionlimit(max(old_limit, RECURSION_LIMIT))
        thread = threading.Thread(target=run, name="kspec-build")
        thread.start()
        thread.join()
    finally:
        threading.stack_size(old_size)
        sys.setrecursionlimit(old_limit)
    if error:
        raise error[0]
    return result[0]


def load_module(lowered: Lowered, name: str | None = None) -> types.ModuleType:
    """Execute generated source as a module (registered in linecache for readable tracebacks)."""
    if lowered.api == "tf":
        require_tensorflow()
    else:
        require_keras()
    module = types.ModuleType(name or f"kspec_generated_{lowered.target}")
    module.__file__ = lowered.filename
    lines = lowered.source.splitlines(keepends=True)
    linecache.cache[lowered.filename] = (len(lowered.source), None, lines, lowered.filename)
    exec(lowered.code, module.__dict__)  # kspec's own output, compiled by check_source
    return module


def check_imports(spec: Spec, allowed: Iterable[str]) -> None:
    """Refuse to run code that imports a module the user has not allowed (KS903)."""
    allowed = set(allowed)
    denied = [m for m in spec.imports if m not in allowed]
    if denied:
        path = spec.document.path if spec.document is not None else spec.source
        span = spec.document.span(("imports",)) if spec.document is not None else None
        flags = " ".join(f"--allow-import {m}" for m in denied)
        raise KspecError(
            [
                Diagnostic(
                    "KS903",
                    f"the spec's custom layers come from {', '.join(map(repr, denied))}; "
                    "kspec imports a module only with your permission",
                    path=path,
                    span=span,
                    pointer="/imports",
                    hint=f"if you trust the module, pass {flags} "
                    f"(Python: allow_imports={denied!r})",
                )
            ]
        )


def build(
    lowered: Lowered,
    spec: Spec | None = None,
    allow_imports: Iterable[str] = (),
    compiled: bool = False,
    prepare: Callable[[Any], None] | None = None,
) -> Any:
    """The built ``keras.Model`` of generated source (its ``build_model()`` with its defaults).

    Custom layer modules must be in ``allow_imports``. ``compiled``: also run the module's
    ``compile_model`` (the spec's ``compile:`` section). ``prepare(model)`` runs between
    building and compiling (loading weights, freezing layers). An exception from Keras becomes
    a KS902 diagnostic, placed at the spec node the message names when it names one (Keras
    quotes layer names in its errors)."""
    if spec is not None:
        check_imports(spec, allow_imports)
    if compiled and spec is not None and spec.compile is None:
        raise ValueError(f"{spec.source} has no compile: section to compile the model with")
    module = load_module(lowered)
    try:
        with warnings.catch_warnings():  # Keras' advice on hand-written layers is noise here
            warnings.simplefilter("ignore", UserWarning)
            model = module.build_model()
            if prepare is not None:
                prepare(model)
            return module.compile_model(model) if compiled else model
    except KspecError:
        raise
    except Exception as exc:  # Keras' own validation: shapes, dtypes, argument values
        raise KspecError([_keras_error(exc, spec)]) from exc


def load_saved(lowered: Lowered, path: str) -> Any:
    """Load a ``.keras`` file saved from a model of ``lowered`` as a user of the generated
    module would: with the module's own ``load_model`` when it has one (a deep functional
    model), else ``keras.models.load_model`` (the module has registered its classes)."""
    module = load_module(lowered)
    load = getattr(module, "load_model", None)
    if load is None:
        import keras

        load = keras.models.load_model
    return load(path)


def _keras_error(exc: Exception, spec: Spec | None) -> Diagnostic:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # Keras wraps an error raised inside call() ("Exception encountered when calling X.call().",
    # "... Error encountered:", "Arguments received by ...") around the original message.
    useful = [
        line
        for line in lines
        if not line.startswith(("Exception encountered", "Arguments received", "•"))
        and not line.endswith("Error encountered:")
    ]
    first = (useful or lines or [type(exc).__name__])[0]
    message = f"Keras could not build the model: {type(exc).__name__}: {first}"
    path, span, pointer, node = "<spec>", None, "", None
    if spec is not None:
        path = spec.document.path if spec.document is not None else spec.source
        graphs = [spec.graph, *(b.graph for b in spec.blocks)]
        for n in (n for g in graphs for n in g.nodes):
            if f"'{n.name}'" in text or f'"{n.name}"' in text or f"name={n.name}" in text:
                span, pointer, node = n.span, n.pointer, n.name
                break
    return Diagnostic(
        "KS902",
        message,
        path=path,
        span=span,
        pointer=pointer,
        node=node,
        hint="check the layer's arguments and the shapes of its inputs",
    )


def _children(layer: Any) -> list[Any]:
    """A container's direct sublayers (Keras' own tracking order), without input layers."""
    return [
        c
        for c in layer._flatten_layers(include_self=False, recursive=False)
        if type(c).__name__ != "InputLayer"
    ]


def _is_block(layer: Any) -> bool:
    """A kspec block: a nested functional model, or a generated Layer subclass (registered in
    the package ``kspec.<spec name>``). A custom layer is not one: its own sublayers may have
    names Keras made up, which differ between two models, so its weights are taken whole, in
    its tracking order, like a built-in layer's."""
    import keras

    cls = type(layer)
    if cls.__name__ == "Functional":
        return True
    return str(keras.saving.get_registered_name(cls)).startswith("kspec.")


def _states(layer: Any) -> list[Any]:
    """A layer's variables that are not weights: the states of its random seed generators
    (Dropout's, MultiHeadAttention's), which decide the random draws in training."""
    weights = {id(w) for w in layer.weights}
    return [v for v in layer.variables if id(v) not in weights]


def layer_map(model: Any, states: bool = False) -> dict[tuple[str, ...], Any]:
    """The layers that have weights (with ``states``, or seed generator states), keyed by the
    path of spec names to them (blocks are walked into), so that two models can be matched
    layer by layer."""
    out: dict[tuple[str, ...], Any] = {}
    stack: list[tuple[tuple[str, ...], Any]] = [((), model)]
    while stack:
        prefix, container = stack.pop()
        for child in _children(container):
            key = (*prefix, child.name)
            if _is_block(child):
                stack.append((key, child))
            elif child.weights or (states and _states(child)):
                out[key] = child
    return out


def weight_map(model: Any, states: bool = False) -> dict[tuple[str, ...], list[Any]]:
    """Weights keyed by the path of spec names to their layer (see ``layer_map``); with
    ``states``, each layer's seed generator states too (after its weights)."""
    return {
        key: list(layer.weights) + (_states(layer) if states else [])
        for key, layer in layer_map(model, states).items()
    }


def copy_weights(src: Any, dst: Any, states: bool = False) -> int:
    """Copy every weight of ``src`` into the same-named layer of ``dst`` (with ``states``, the
    seed generator states too, so that both draw the same dropout masks); returns how many
    variables were copied. Raises ValueError if the two models' layers do not correspond."""
    a, b = weight_map(src, states), weight_map(dst, states)
    if set(a) != set(b):
        missing = sorted("/".join(k) for k in set(a) ^ set(b))
        raise ValueError(f"the models' layers differ: {', '.join(missing[:10])}")
    count = 0
    for key, variables in a.items():
        targets = b[key]
        if len(variables) != len(targets):
            raise ValueError(
                f"layer {'/'.join(key)} has {len(variables)} vs {len(targets)} weights"
            )
        for v, t in zip(variables, targets, strict=True):
            t.assign(v)
            count += 1
    return count
