"""The Python API: ``load``, ``check``, ``to_source``, ``build_model``.

``spec`` arguments accept a path (``str`` or ``os.PathLike``) or a :class:`Spec` from ``load``.
``variant`` names one of the spec's ``variants:`` (a set of param values, like ``--variant``);
``params`` override the spec's param defaults (on top of the variant's), exactly like ``--param``:
the spec is checked again with them, so ``units=2`` that makes ``${units // 4}`` zero is
reported as an error, not passed to Keras.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from kspec.diagnostics import Diagnostic, KspecError, has_errors
from kspec.freeze import SpecPaths, freeze_model
from kspec.spec import stubs as stublib
from kspec.spec.check import analyze
from kspec.spec.include import compose_document, load_spec
from kspec.spec.ir import Spec
from kspec.spec.loader import Document, Limits, load_text

if TYPE_CHECKING:  # the compiler is imported by the calls that lower (not by `kspec check`)
    from kspec.compiler.lower import Lowered

Target = Literal["functional", "subclass"]
TARGETS: tuple[Target, ...] = ("functional", "subclass")
Api = Literal["tf", "keras"]
APIS: tuple[Api, ...] = ("tf", "keras")


def _document(path: str | os.PathLike[str], limits: Limits | None = None) -> Document:
    doc, diags = load_spec(os.fspath(path), limits, limits.root if limits else None)
    if doc is None or has_errors(diags):
        raise KspecError(diags)
    return doc


def check(
    path: str | os.PathLike[str],
    params: dict[str, Any] | None = None,
    limits: Limits | None = None,
    stubs: Sequence[str] = (),
    variant: str | None = None,
) -> list[Diagnostic]:
    """Every diagnostic for the spec file at ``path`` (empty when it is clean), with the files
    it extends and includes. ``stubs``: stub files (``kspec stubs``) with the signatures to
    check custom layers' arguments against."""
    with _stubs(stubs):
        return analyze_file(path, params, limits, variant)[1]


def _stubs(paths: Sequence[str]) -> contextlib.AbstractContextManager[None]:
    return stublib.using(stublib.read(paths)) if paths else contextlib.nullcontext()


def analyze_file(
    path: str | os.PathLike[str],
    params: dict[str, Any] | None = None,
    limits: Limits | None = None,
    variant: str | None = None,
) -> tuple[Spec | None, list[Diagnostic]]:
    """The checked spec at ``path`` (None if it has errors) and every diagnostic: one read (of
    the spec and the files it extends and includes), one analysis (what ``kspec check`` does)."""
    doc, diags = load_spec(os.fspath(path), limits, limits.root if limits else None)
    if doc is None or has_errors(diags):
        return None, diags
    spec, found = analyze(doc, params, variant=variant)
    return (spec.with_document(doc, params or {}) if spec else None), diags + found


def _compose_text(text: str | bytes, path: str) -> tuple[Document | None, list[Diagnostic]]:
    doc, diags = load_text(text, path)
    if doc is None or has_errors(diags):
        return None, diags
    composed, more = compose_document(doc)
    return composed, diags + more


def check_text(
    text: str | bytes, path: str = "<spec>", stubs: Sequence[str] = ()
) -> list[Diagnostic]:
    """Like :func:`check`, for YAML text (``extends:`` and ``include:`` are relative to
    ``path``'s folder)."""
    doc, diags = _compose_text(text, path)
    if doc is None:
        return diags
    with _stubs(stubs):
        return diags + analyze(doc)[1]


def load(path: str | os.PathLike[str], /, variant: str | None = None, **params: Any) -> Spec:
    """The checked spec at ``path``; raises :class:`KspecError` with every error otherwise."""
    return _analyze(_document(path), params, variant)


def loads(text: str, /, path: str = "<spec>", variant: str | None = None, **params: Any) -> Spec:
    """The checked spec in YAML ``text`` (``path`` names it in diagnostics)."""
    doc, diags = _compose_text(text, path)
    if doc is None or has_errors(diags):
        raise KspecError(diags)
    return _analyze(doc, params, variant)


def _analyze(doc: Document, params: dict[str, Any], variant: str | None = None) -> Spec:
    spec, diags = analyze(doc, params, variant=variant)
    if spec is None:
        raise KspecError(diags)
    return spec.with_document(doc, params)


def _spec(
    spec: str | os.PathLike[str] | Spec, params: dict[str, Any], variant: str | None = None
) -> Spec:
    if isinstance(spec, Spec):
        if not params and variant is None:
            return spec
        if spec.document is None:
            raise ValueError("this Spec was not loaded from a document; pass params to load()")
        keep = {} if variant is not None else spec.overrides  # a new variant: its own values
        return _analyze(spec.document, {**keep, **params}, variant or spec.variant)
    return load(spec, variant, **params)


def lower(
    spec: str | os.PathLike[str] | Spec,
    target: Target = "subclass",
    *,
    variant: str | None = None,
    api: Api = "tf",
    **params: Any,
) -> Lowered:
    """The generated module for ``target`` with what the API needs to run it. ``api``: ``tf``
    (``import tensorflow as tf``, ``tf.keras.Model``) or ``keras`` (``import keras``: runs
    under any Keras 3 backend)."""
    from kspec.compiler import functional, subclass
    from kspec.compiler.source import api_named, emitting

    s = _spec(spec, params, variant)
    generators = {"subclass": subclass.generate, "functional": functional.generate}
    if target not in generators:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    with emitting(api_named(api)):
        return generators[target](s, s.overrides)


def to_source(
    spec: str | os.PathLike[str] | Spec,
    target: Target = "subclass",
    *,
    variant: str | None = None,
    api: Api = "tf",
    **params: Any,
) -> str:
    """The Python source ``kspec compile`` writes: standalone, deterministic, formatted.
    ``api="keras"``: code that imports only ``keras`` (see :func:`lower`)."""
    return lower(spec, target, variant=variant, api=api, **params).source


def build_model(
    spec: str | os.PathLike[str] | Spec,
    /,
    target: Target = "functional",
    *,
    allow_imports: tuple[str, ...] | list[str] = (),
    compiled: bool = False,
    weights: Any = None,
    partial: bool = False,
    freeze: Iterable[str] = (),
    on_weights: Callable[[Any], None] | None = None,
    variant: str | None = None,
    api: Api | None = None,
    **params: Any,
) -> Any:
    """A built ``keras.Model`` for ``spec``: ``functional`` (Functional API) or ``subclass``
    (an instance of the generated ``tf.keras.Model`` subclass, called once on symbolic inputs).
    Both run the exact source ``to_source`` returns. Custom layer modules (``imports:``) are
    imported only if listed in ``allow_imports``. With ``compiled=True`` the model is also
    compiled with the spec's ``compile:`` section. Needs the ``tensorflow`` extra.

    ``weights``: a ``.keras`` or ``.weights.h5`` file, ``"module:function"`` (the module must
    be in ``allow_imports``) or a Keras model, loaded by layer name (see
    :func:`kspec.weights.load_weights`; a shape mismatch raises KS908 unless ``partial``);
    ``on_weights(report)`` receives the :class:`kspec.weights.WeightReport`. ``freeze``:
    layers to make non-trainable (node names, block instances, ``instance/node`` paths),
    frozen before the model is compiled. ``variant``: one of the spec's ``variants:``.
    ``api``: the generated code that runs (see :func:`lower`); by default ``tf`` on the
    TensorFlow backend, ``keras`` on the others."""
    from kspec import backend
    from kspec.compiler import runtime

    s = _spec(spec, params, variant)
    paths = SpecPaths(s, freeze)  # unknown names fail here, before anything is built

    def prepare(model: Any) -> None:
        if weights is not None:
            from kspec.weights import load_weights

            load_weights(
                model,
                weights,
                s,
                partial=partial,
                allow_imports=allow_imports,
                on_report=on_weights,
            )
        freeze_model(model, paths)

    lowered = lower(s, target, api=api or backend.source_api())
    return runtime.build(lowered, s, allow_imports, compiled, prepare)
