"""``--weights``: pretrained weights into a model built from a (changed) spec, by layer name.

The source is a ``.keras`` file (``model.save``, ``kspec fit --save``), a ``.weights.h5`` file
(``model.save_weights``), ``module:function`` returning a Keras model (imported only if the
module is allowed, like custom layers: KS903), or in Python a Keras model itself.

Files are read with h5py, never deserialised into a model: Keras writes each layer's own
variables to a group of the weights file with the layer's ``name`` beside them, so the file
gives the path of layer names to every variable (``tower_2/gate``) whatever the model's class
or target. The model gives the same paths (:func:`kspec.compiler.runtime.layer_map`, down into
each layer's own sublayers: a ``Bidirectional``'s ``forward_lstm/lstm_cell``), and each layer
compares and loads its variables through Keras' own ``save_own_variables`` /
``load_own_variables``. So an edited spec takes what still fits: a new head is *missing* (it
keeps its initial weights), the old head *unused*; a layer whose shapes changed is a
*mismatch*, refused (KS908, at the spec line of the layer) unless ``partial``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from kspec.diagnostics import Diagnostic, KspecError
from kspec.freeze import NodePath, SpecPaths
from kspec.spec.ir import Spec

Store = dict[str, Any]  # one layer's own variables, keyed "0", "1", ... as Keras saves them
SUFFIXES = (".keras", ".weights.h5")


@dataclass
class LayerMatch:
    """One layer of the model (``path`` as ``layer_map`` keys it) and what the source has."""

    path: NodePath
    status: Literal["matched", "missing", "mismatch"]
    arrays: int  # the model's variables in this layer
    location: str | None = None  # file:line of the spec node that made it
    differences: list[str] = field(default_factory=list)  # "kernel: (64, 10) in the file, ..."


@dataclass
class WeightReport:
    """What ``--weights`` found: every layer of the model with weights, and what of the source
    no layer took (``unused``: path, arrays). ``loaded``: the layers whose weights were set."""

    source: str
    layers: list[LayerMatch]
    unused: list[tuple[NodePath, int]]
    loaded: list[NodePath] = field(default_factory=list)
    refused: bool = False  # a mismatch without ``partial``: nothing was loaded
    _assign: list[tuple[Any, Store]] = field(default_factory=list, repr=False)

    def count(self, status: str) -> int:
        return sum(m.status == status for m in self.layers)

    def render(self) -> str:
        """The report as lines of text (``kspec ... --weights`` prints it on stderr)."""
        rows = [(m.status, "/".join(m.path), m.location or "", _detail(m)) for m in self.layers] + [
            ("unused", "/".join(p), "", f"in the file only ({n} arrays)") for p, n in self.unused
        ]
        width = [max((len(r[k]) for r in rows), default=0) for k in range(3)]
        lines = [f"weights from {self.source}:"]
        lines += [
            f"  {s:<{width[0]}}  {p:<{width[1]}}  {loc:<{width[2]}}  {d}".rstrip()
            for s, p, loc, d in rows
        ]
        loaded = set(self.loaded)
        arrays = sum(m.arrays for m in self.layers if m.path in loaded)
        total = sum(m.arrays for m in self.layers)
        counts = (
            f"{self.count('matched')} matched, {self.count('missing')} missing from the file, "
            f"{self.count('mismatch')} mismatched, {len(self.unused)} unused in the file"
        )
        if self.refused:
            lines.append(f"nothing loaded: {counts}")
        else:
            lines.append(
                f"loaded {len(loaded)} of {len(self.layers)} layers with weights ({arrays} of "
                f"{total} arrays): {counts}"
            )
        return "\n".join(lines) + "\n"


def _detail(m: LayerMatch) -> str:
    if m.status == "matched":
        return f"{m.arrays} arrays"
    if m.status == "missing":
        return "not in the file: keeps its initial weights"
    return "; ".join(m.differences)


# -- reading the source -----------------------------------------------------------------------


def _error(message: str, hint: str | None = None, path: str = "<weights>") -> KspecError:
    return KspecError([Diagnostic("KS907", message, path=path, hint=hint)])


@contextlib.contextmanager
def open_source(source: Any, allow_imports: Iterable[str] = ()) -> Iterator[dict[NodePath, Store]]:
    """The source's layers: path of layer names -> that layer's stored variables (h5py
    datasets, read when loaded; the file stays open inside the ``with``)."""
    if not isinstance(source, str | os.PathLike):
        yield _model_stores(source)
        return
    text = os.fspath(source)
    if not text.endswith(SUFFIXES) and ":" in text and not os.path.exists(text):
        yield _model_stores(_call(text, allow_imports))
        return
    if not os.path.exists(text):
        raise _error(f"no such weights file: {text}", path=text)
    if not text.endswith(SUFFIXES):
        raise _error(
            f"{text} is not a .keras or .weights.h5 file",
            "give a file written by model.save('x.keras') or model.save_weights("
            "'x.weights.h5'), or module:function returning a Keras model",
            text,
        )
    import h5py

    with contextlib.ExitStack() as stack:
        try:
            handle = _keras_member(stack, text) if text.endswith(".keras") else text
            stores = _h5_stores(stack.enter_context(h5py.File(handle, "r")))
        except (OSError, zipfile.BadZipFile, KeyError) as exc:
            raise _error(f"cannot read weights from {text}: {exc}", path=text) from None
        yield stores


def _keras_member(stack: contextlib.ExitStack, path: str) -> Any:
    """The weights file inside a ``.keras`` archive (a zip; a folder when saved unzipped)."""
    if os.path.isdir(path):
        return os.path.join(path, "model.weights.h5")
    archive = stack.enter_context(zipfile.ZipFile(path))
    return stack.enter_context(archive.open("model.weights.h5"))  # stored, so seekable


def _h5_stores(h5: Any) -> dict[NodePath, Store]:
    """Each group that has a ``vars`` subgroup is a saved object; Keras writes the layer's
    name as that subgroup's ``name`` attribute (older files: the group's key stands in)."""
    import h5py

    out: dict[NodePath, Store] = {}
    stack: list[tuple[Any, NodePath]] = [(h5, ())]
    while stack:
        group, chain = stack.pop()
        for key in group:
            child = group[key]
            if key == "vars" or not isinstance(child, h5py.Group):
                continue
            if not chain and key == "optimizer":  # the optimizer's state, not the model's
                continue
            own = child.get("vars")
            sub = chain
            if isinstance(own, h5py.Group):
                name = own.attrs.get("name", key)
                sub = (*chain, name.decode() if isinstance(name, bytes) else str(name))
                arrays = {k: v for k, v in own.items() if isinstance(v, h5py.Dataset)}
                if arrays:
                    out.setdefault(sub, arrays)
            stack.append((child, sub))
    return out


def _call(source: str, allow_imports: Iterable[str]) -> Any:
    """The model ``module:function`` returns (the module must be allowed: KS903)."""
    from kspec.compiler.runtime import deep_call, require_keras

    module_name, _, func_name = source.partition(":")
    if module_name not in set(allow_imports):
        raise KspecError(
            [
                Diagnostic(
                    "KS903",
                    f"the weights come from module {module_name!r}; kspec imports a module "
                    "only with your permission",
                    path=source,
                    hint=f"if you trust the module, pass --allow-import {module_name} "
                    f"(Python: allow_imports=[{module_name!r}])",
                )
            ]
        )
    require_keras()
    try:
        func = getattr(importlib.import_module(module_name), func_name)
        model = deep_call(func)
    except Exception as exc:  # the user's code: any failure is theirs to see
        raise _error(f"cannot get a model from {source}: {type(exc).__name__}: {exc}") from None
    if not hasattr(model, "save_own_variables"):
        raise _error(f"{source} returned {type(model).__name__}, not a Keras model")
    return model


def _model_stores(model: Any) -> dict[NodePath, Store]:
    return {path: store for path, (_, store) in _walk(model).items()}


def _walk(model: Any) -> dict[NodePath, tuple[Any, Store]]:
    """Every layer of ``model`` with variables of its own, by path of names, with what its
    ``save_own_variables`` writes."""
    from kspec.compiler.runtime import _children

    out: dict[NodePath, tuple[Any, Store]] = {}
    stack: list[tuple[Any, NodePath]] = [(c, (c.name,)) for c in _children(model)]
    while stack:
        layer, path = stack.pop()
        store: Store = {}
        layer.save_own_variables(store)
        if store:
            out.setdefault(path, (layer, store))
        stack.extend((c, (*path, c.name)) for c in _children(layer))
    return out


# -- matching and loading ---------------------------------------------------------------------


def _shape(value: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in value.shape)


def _compare(layer: Any, want: Store, have: Store, prefix: str) -> list[str]:
    """How ``have`` (the source) differs from ``want`` (the model's own variables)."""
    own = (*layer._trainable_variables, *layer._non_trainable_variables)  # Keras' save order
    names = [str(getattr(v, "name", "")) for v in own]
    label = {k: (names[int(k)] if k.isdigit() and int(k) < len(names) else "") or k for k in want}
    out = []
    if set(want) != set(have):
        out.append(f"{prefix}{len(have)} arrays in the file, {len(want)} in the model")
    for key in sorted(set(want) & set(have), key=lambda k: (len(k), k)):
        if _shape(want[key]) != _shape(have[key]):
            out.append(
                f"{prefix}{label[key]}: {_shape(have[key])} in the file, {_shape(want[key])} "
                "in the model"
            )
    return out


def _under(path: NodePath, keys: dict[NodePath, Any]) -> NodePath | None:
    """The longest prefix of ``path`` that is a key of ``keys``: the spec layer it is in."""
    return next((path[:i] for i in range(len(path), 0, -1) if path[:i] in keys), None)


def match(
    model: Any, stores: dict[NodePath, Store], source: str, paths: SpecPaths | None = None
) -> WeightReport:
    """Compare ``model``'s layers with ``stores`` (from :func:`open_source`); nothing is
    loaded yet (:func:`apply`). ``paths``: the spec's, to name the line of each layer."""
    from kspec.compiler.runtime import layer_map

    keys = list(layer_map(model))
    order = {layer.name: i for i, layer in enumerate(model.layers)}
    keys.sort(key=lambda k: (order.get(k[0], len(order)), k))
    # each spec layer's own sublayers (a wrapper's inner layer, an LSTM's cell), both sides
    mine: dict[NodePath, dict[NodePath, tuple[Any, Store]]] = {k: {} for k in keys}
    for p, entry in _walk(model).items():
        key = _under(p, mine)
        if key is not None:
            mine[key][p[len(key) :]] = entry
    theirs: dict[NodePath, dict[NodePath, NodePath]] = {}
    for p in stores:
        key = _under(p, mine)
        if key is not None:
            theirs.setdefault(key, {})[p[len(key) :]] = p
    report = WeightReport(source, [], [])
    used: set[NodePath] = set()
    for key in keys:
        canonical, src = _canonical(mine[key]), theirs.get(key, {})
        by_canonical = {c: src[r] for r, c in _canonical(src).items()}
        found = {r: by_canonical.get(canonical[r]) for r in mine[key]}
        used.update(f for f in found.values() if f is not None)
        arrays = sum(len(store) for _, store in mine[key].values())
        location = paths.location(key) if paths is not None else None
        if not any(found.values()):
            report.layers.append(LayerMatch(key, "missing", arrays, location))
            continue
        differences = []
        for rel, (layer, store) in mine[key].items():
            inner = "/".join(rel)
            have = found[rel]
            if have is None:
                differences.append(f"{inner}: not in the file")
            else:
                differences += _compare(layer, store, stores[have], f"{inner}: " if inner else "")
        if differences:
            report.layers.append(LayerMatch(key, "mismatch", arrays, location, differences))
            continue
        report.layers.append(LayerMatch(key, "matched", arrays, location))
        report._assign += [
            (layer, stores[f])
            for (layer, _), f in zip(mine[key].values(), found.values(), strict=True)
            if f is not None
        ]
    report.unused = _unused(stores, used)
    return report


_SUFFIX = re.compile(r"(.*?)(?:_(\d+))?")


def _canonical(rels: Iterable[NodePath]) -> dict[NodePath, NodePath]:
    """Paths below a spec layer with Keras' numbered names (``dense_5``) replaced by the rank
    among siblings of the same base name: a sublayer the spec does not name (a wrapper's inner
    layer) is named by a counter, so the same layer saved elsewhere may be ``dense_5``."""
    rels = list(rels)
    out: dict[NodePath, NodePath] = {(): ()}
    for depth in range(1, max(map(len, rels), default=0) + 1):
        deep = [r for r in rels if len(r) >= depth]
        groups: dict[tuple[NodePath, str], set[str]] = {}
        for rel in deep:
            m = _SUFFIX.fullmatch(rel[depth - 1])
            assert m is not None  # the pattern matches every string
            groups.setdefault((out[rel[: depth - 1]], m.group(1)), set()).add(rel[depth - 1])
        rank = {
            (parent, name): f"{base}#{i}"
            for (parent, base), names in groups.items()
            for i, name in enumerate(sorted(names, key=lambda n: (len(n), n)))  # dense, dense_1
        }
        for rel in deep:
            parent = out[rel[: depth - 1]]
            out[rel[:depth]] = (*parent, rank[(parent, rel[depth - 1])])
    return {r: out[r] for r in rels}


def _unused(stores: dict[NodePath, Store], used: set[NodePath]) -> list[tuple[NodePath, int]]:
    """The source's layers no model layer took, each under its highest ancestor of which
    nothing was taken (a removed block instance is one line, not one per layer)."""
    taken = {p[:i] for p in used for i in range(1, len(p) + 1)}
    out: dict[NodePath, int] = {}
    for path in sorted(set(stores) - used):
        top = next(path[:i] for i in range(1, len(path) + 1) if path[:i] not in taken)
        out[top] = out.get(top, 0) + len(stores[path])
    return list(out.items())


def apply(report: WeightReport) -> None:
    """Load every matched layer's weights (through the layer's ``load_own_variables``)."""
    import numpy as np

    for layer, store in report._assign:
        layer.load_own_variables({k: _array(v, np) for k, v in store.items()})
    report.loaded = [m.path for m in report.layers if m.status == "matched"]


def _array(value: Any, np: Any) -> Any:
    if hasattr(value, "attrs"):  # an h5py dataset; bfloat16 is stored as raw 16-bit words
        data = value[()]
        if value.attrs.get("dtype") == "bfloat16":
            import ml_dtypes

            data = np.asarray(data, dtype=ml_dtypes.bfloat16)
        return data
    return np.asarray(value)


def problems(
    report: WeightReport, spec: Spec | None, partial: bool, paths: SpecPaths | None = None
) -> list[Diagnostic]:
    """Why the weights cannot be loaded: a layer whose shapes differ (KS908, at the spec node
    that made it; none with ``partial``), or no layer of the model that can take its weights."""
    path = "<spec>"
    if spec is not None:
        path = spec.document.path if spec.document is not None else spec.source
    out = []
    for m in report.layers if not partial else ():
        if m.status != "mismatch":
            continue
        chain = paths.chain(m.path) if paths is not None else None
        node = chain[-1] if chain else None
        out.append(
            Diagnostic(
                "KS908",
                f"the weights of layer {'/'.join(m.path)!r} in {report.source} do not fit it: "
                + "; ".join(m.differences),
                path=path,
                span=node.span if node is not None else None,
                pointer=node.pointer if node is not None else "",
                node=node.name if node is not None else None,
                hint="a layer whose shapes changed starts afresh under a new name; or pass "
                "--partial (Python: partial=True) to load the layers that fit and leave "
                "the others as initialised",
            )
        )
    if out or not report.layers or report.count("matched"):
        return out
    names = [*("/".join(m.path) for m in report.layers if m.status == "mismatch")]
    names += ["/".join(p) for p, _ in report.unused]
    return [
        Diagnostic(
            "KS908",
            f"none of the model's {len(report.layers)} layers with weights can take the weights "
            f"in {report.source} ({report.count('missing')} missing from the file, "
            f"{report.count('mismatch')} mismatched); the file has: "
            + (", ".join(names[:6]) + (", ..." if len(names) > 6 else "") or "no weights"),
            path=path,
            hint="give the weights of a model built from this spec (or an earlier version of "
            "it): layers are matched by name",
        )
    ]


def load_weights(
    model: Any,
    source: Any,
    spec: Spec | None = None,
    *,
    partial: bool = False,
    allow_imports: Iterable[str] = (),
    on_report: Callable[[WeightReport], None] | None = None,
) -> WeightReport:
    """Load ``source``'s weights into ``model`` (built from ``spec``: the report then names the
    spec line of each layer) by layer name path; returns the report. Raises
    :class:`KspecError` (KS908) on a shape mismatch unless ``partial``, and when no layer
    matches; KS907 when the source cannot be read. ``on_report`` sees the report first, also
    when loading is refused."""
    name = os.fspath(source) if isinstance(source, str | os.PathLike) else type(source).__name__
    paths = SpecPaths(spec) if spec is not None else None
    with open_source(source, allow_imports) as stores:
        report = match(model, stores, name, paths)
        refused = problems(report, spec, partial, paths)
        report.refused = bool(refused)
        if not refused:
            apply(report)
    if on_report is not None:
        on_report(report)
    if refused:
        raise KspecError(refused)
    return report
