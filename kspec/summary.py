"""``kspec summary --static``: the model summary worked out from the spec, without TensorFlow.

One row per layer of the functional model, in spec order, as Keras' ``model.summary()`` lists
them: the inputs (``InputLayer``), each layer once (a shared layer's row lists every tensor it is
called on), and one row per block instance (``tower_1``, ``tower_2`` for ``repeat: 2``) counting
the weights of every layer inside it. Output shapes and the layer calls come from the checker's
walk over the instances (:mod:`kspec.spec.walk`), weight counts from each layer's rule
(:mod:`kspec.layers`), as are the multiply-adds (MACs, :mod:`kspec.flops`); what cannot be
worked out statically is shown as ``?`` and named under the totals. tests/test_summary.py
checks each row against the built Keras model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from kspec import flops
from kspec.freeze import SpecPaths, frozen_count
from kspec.layers import Count, Shape, Shapes, canonical, format_shape
from kspec.spec.ir import BlockNode, LayerNode, OpNode, Ref, ShareNode, Spec, node_instances
from kspec.spec.walk import LayerCall, NodePath, Walk, walk


@dataclass(frozen=True)
class Row:
    name: str
    kind: Literal["input", "layer", "op", "block"]
    type: str  # "InputLayer", a layer class, or "block NAME"
    shapes: Shapes
    count: Count | None  # (trainable, non-trainable); None: not known statically
    connected: tuple[str, ...]
    macs: int | None = 0  # multiply-adds per example; None: not known statically


@dataclass(frozen=True)
class Summary:
    name: str
    rows: tuple[Row, ...]
    total: Count  # of the layers counted
    unknown: tuple[str, ...]  # "name (Type)" of layers whose weights could not be counted
    macs: int = 0  # multiply-adds per example, of the calls counted
    macs_unknown: tuple[str, ...] = ()  # "path (Type)" of the calls that could not be


def total(counts: Iterable[Count]) -> Count:
    """The sum of (trainable, non-trainable) counts."""
    trainable = frozen = 0
    for t, f in counts:
        trainable, frozen = trainable + t, frozen + f
    return trainable, frozen


def static_summary(spec: Spec, found: Walk | None = None, freeze: Iterable[str] = ()) -> Summary:
    """The summary of ``spec`` from the walk the checker made over it (``found``, or
    ``spec.walk``; walked here only for a spec that was not checked with shapes); ``freeze``:
    layers frozen as by ``--freeze`` (a block instance's ``trainable: false`` is always
    honoured)."""
    found = found or spec.walk or walk(spec)
    paths = SpecPaths(spec, freeze)
    # keyed by the layer's own node (a share written above its target may build it)
    built: dict[NodePath, LayerCall] = {
        (*c.path[:-1], c.owner.name): c for c in found.calls if c.first
    }
    table = found.shapes
    shares: dict[str, list[Ref]] = {}
    for node in spec.graph.nodes:
        if isinstance(node, ShareNode):
            shares.setdefault(node.target, []).extend(node.inputs.all_refs())
    # a repeated block node's outputs are its last instance's (Keras names it name_N)
    last = {
        n.name: node_instances(n, spec.params)[-1]
        for n in spec.graph.nodes
        if isinstance(n, BlockNode) and n.repeat
    }

    def names(refs: Sequence[Ref]) -> tuple[str, ...]:
        return tuple(str(Ref(last.get(r.node, r.node), r.index)) for r in refs)

    counts = {
        path: frozen_count(c.weights()) if paths.frozen(path) else c.weights()
        for path, c in built.items()
    }
    # every instance the walk reached has an entry (one made of ops only counts nothing)
    by_instance: dict[str, list[Count | None]] = {
        i.path[0]: [] for i in found.instances if len(i.path) == 1
    }
    for path, count in counts.items():
        if len(path) > 1:
            by_instance.setdefault(path[0], []).append(count)
    rows = [Row(i.name, "input", "InputLayer", table.get((i.name,), [None]), (0, 0), ()) for i in
            spec.graph.inputs]  # fmt: skip
    for node in spec.graph.nodes:
        if isinstance(node, LayerNode):
            refs = [*node.inputs.all_refs(), *shares.get(node.name, ())]
            rows.append(
                Row(
                    node.name,
                    "layer",
                    canonical(node.layer.type),
                    table.get((node.name,), [None]),
                    counts.get((node.name,)),
                    names(refs),
                )
            )
        elif isinstance(node, OpNode):
            row = Row(
                node.name,
                "op",
                f"op {node.op}",
                table.get((node.name,), [None]),
                (0, 0),
                names(node.inputs.all_refs()),
            )
            rows.append(row)
        elif isinstance(node, BlockNode):
            rows.extend(_block_rows(node, spec, table, by_instance, names(node.inputs.all_refs())))
    known = total(c for c in counts.values() if c is not None)
    unknown = [f"{'/'.join(p)} ({built[p].call.type})" for p, c in counts.items() if c is None]
    # rows the walk never reached (a hostile spec past the walk's budget)
    unknown += [f"{r.name} ({r.type})" for r in rows if r.count is None and
                ((r.name,) not in built and r.name not in by_instance)]  # fmt: skip
    macs = flops.count(found)
    rows = [replace(r, macs=macs.rows.get(r.name)) if r.kind != "input" else r for r in rows]
    missed = [f"{r.name} ({r.type})" for r in rows if r.kind != "input" and macs.missing(r.name)]
    return Summary(
        spec.name, tuple(rows), known, tuple(unknown), macs.total, (*macs.unknown, *missed)
    )


def _block_rows(
    node: BlockNode,
    spec: Spec,
    table: Mapping[NodePath, Shapes],
    by_instance: Mapping[str, list[Count | None]],
    connected: tuple[str, ...],
) -> list[Row]:
    """One row per instance of a block node; each counts the layers inside it."""
    names = node_instances(node, spec.params)
    outputs = len(table.get((names[-1],), [None]))
    rows = []
    previous: Sequence[str] = connected
    for inst in names:
        inside = by_instance.get(inst)  # None: the walk did not reach this instance
        known = [c for c in inside or () if c is not None]
        count = total(known) if inside is not None and len(known) == len(inside) else None
        rows.append(
            Row(
                inst,
                "block",
                f"block {node.block}",
                table.get((inst,), [None]),
                count,
                tuple(previous),
            )
        )
        previous = [inst] if outputs == 1 else [f"{inst}[{i}]" for i in range(outputs)]
    return rows


# -- output -----------------------------------------------------------------------------------


def _shapes_text(shapes: Shapes) -> str:
    if len(shapes) == 1:
        return format_shape(shapes[0]) if shapes[0] is not None else "?"
    return "[" + ", ".join(format_shape(s) if s is not None else "?" for s in shapes) + "]"


def _count_text(count: Count | None) -> str:
    return "?" if count is None else f"{count[0] + count[1]:,}"


def render(summary: Summary) -> str:
    """The summary as a table like Keras' ``model.summary()``, with each row's multiply-adds."""
    header = ("Layer (type)", "Output Shape", "Param #", "MACs", "Connected to")
    cells = [
        (
            f"{r.name} ({r.type})",
            _shapes_text(r.shapes),
            _count_text(r.count),
            "?" if r.macs is None else f"{r.macs:,}",
            ", ".join(r.connected) or "-",
        )
        for r in summary.rows
    ]
    width = [max(len(c[k]) for c in [header, *cells]) for k in range(5)]

    def line(c: Sequence[str]) -> str:
        left = f"{c[0]:<{width[0]}}  {c[1]:<{width[1]}}"
        return f"{left}  {c[2]:>{width[2]}}  {c[3]:>{width[3]}}  {c[4]}".rstrip()

    rule = "  ".join("─" * w for w in width)
    trainable, frozen = summary.total
    lines = [
        f'Model: "{summary.name}" (static: worked out from the spec, TensorFlow not imported)',
        line(header),
        rule,
        *map(line, cells),
        rule,
    ]
    if summary.unknown:
        lines += [
            f" Total params: unknown (at least {trainable + frozen:,})",
            " Not counted statically: "
            + ", ".join(summary.unknown[:10])
            + (f" and {len(summary.unknown) - 10:,} more" if len(summary.unknown) > 10 else ""),
        ]
    else:
        lines += [
            f" Total params: {trainable + frozen:,}",
            f" Trainable params: {trainable:,}",
            f" Non-trainable params: {frozen:,}",
        ]
    return "\n".join(lines + _macs_lines(summary)) + "\n"


def _macs_lines(summary: Summary) -> list[str]:
    macs, unknown = summary.macs, summary.macs_unknown
    if unknown:
        more = f" and {len(unknown) - 10:,} more" if len(unknown) > 10 else ""
        return [
            f" Total MACs: unknown (at least {macs:,})",
            " MACs not counted statically: " + ", ".join(unknown[:10]) + more,
        ]
    return [f" Total MACs: {macs:,} ({flops.si(macs)}; FLOPs = 2 x MACs = {flops.si(2 * macs)})"]


def to_json(summary: Summary) -> dict[str, Any]:
    def shape(s: Shape | None) -> list[int | None] | None:
        return None if s is None else list(s)

    def count(c: Count | None) -> dict[str, int] | None:
        return None if c is None else {"trainable": c[0], "non_trainable": c[1]}

    return {
        "version": 1,
        "model": summary.name,
        "layers": [
            {
                "name": r.name,
                "type": r.type,
                "output_shapes": [shape(s) for s in r.shapes],
                "params": None if r.count is None else r.count[0] + r.count[1],
                "weights": count(r.count),
                "macs": r.macs,
                "connected_to": list(r.connected),
            }
            for r in summary.rows
        ],
        "total_params": None if summary.unknown else sum(summary.total),
        "trainable_params": None if summary.unknown else summary.total[0],
        "non_trainable_params": None if summary.unknown else summary.total[1],
        "not_counted": list(summary.unknown),
        "total_macs": None if summary.macs_unknown else summary.macs,
        "total_flops": None if summary.macs_unknown else 2 * summary.macs,
        "macs_not_counted": list(summary.macs_unknown),
    }


def variant_rows(spec: Spec, load: Callable[[str], Spec]) -> list[tuple[str, Spec, Summary]]:
    """``summary --static --variants``: each of ``spec``'s variants, loaded by ``load(name)``,
    with its static summary (the spec's defaults first, as variant ``-``)."""
    rows = [("-", spec, static_summary(spec))]
    for name, _ in spec.variants:
        s = load(name)
        rows.append((name, s, static_summary(s)))
    return rows


def _variant_params(spec: Spec) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in spec.graph.params)


def render_variants(rows: Sequence[tuple[str, Spec, Summary]]) -> str:
    """One line per variant: its params, its parameter count and its multiply-adds."""
    table = [("variant", "params in force", "parameters", "MACs", "FLOPs")]
    for name, spec, summary in rows:
        count = "?" if summary.unknown else f"{sum(summary.total):,}"
        macs = "?" if summary.macs_unknown else f"{summary.macs:,}"
        fl = "?" if summary.macs_unknown else flops.si(2 * summary.macs)
        table.append((name, _variant_params(spec), count, macs, fl))
    width = [max(len(r[k]) for r in table) for k in range(5)]

    def line(r: Sequence[str]) -> str:
        left = f"{r[0]:<{width[0]}}  {r[1]:<{width[1]}}"
        return f"{left}  {r[2]:>{width[2]}}  {r[3]:>{width[3]}}  {r[4]:>{width[4]}}".rstrip()

    return "\n".join([line(table[0]), *(line(r) for r in table[1:])]) + "\n"


def variants_json(rows: Sequence[tuple[str, Spec, Summary]]) -> dict[str, Any]:
    """The JSON of ``summary --static --variants --format json``."""
    return {
        "model": rows[0][1].name,
        "variants": [
            {
                "variant": None if name == "-" else name,
                "params": dict(spec.graph.params),
                "total_params": None if summary.unknown else sum(summary.total),
                "total_macs": None if summary.macs_unknown else summary.macs,
                "total_flops": None if summary.macs_unknown else 2 * summary.macs,
            }
            for name, spec, summary in rows
        ],
    }
