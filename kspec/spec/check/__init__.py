"""The checker: from a loaded document to the checked IR, by stage.

``analyze`` runs every stage it can and reports every problem at once; it returns a
:class:`~kspec.spec.ir.Spec` only when there are no errors. The stages, in order:

1. top level (:mod:`.top`): a mapping of a supported version, imports, params and overrides;
   expressions parsed wherever a value may be one (:mod:`.values`), then evaluated;
   the top level, each block and the compile section against the schema;
2. nodes (:mod:`.nodes`): each node on its own - kind, layer type and arguments, call form;
3. blocks (:mod:`.blocks`): each block's nodes with its defaults and with every distinct set of
   params its instances give it; recursion;
4. graphs (:mod:`.graph`): names, shares, inputs, order, outputs, unused nodes - the IR;
5. the walk over the instances (:mod:`kspec.spec.walk`): static shapes, layer calls.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from kspec.diagnostics import Diagnostic
from kspec.spec.check import blocks, graph, make, nodes, top
from kspec.spec.check.context import Ctx, GraphDraft
from kspec.spec.ir import Block, Input, Spec
from kspec.spec.loader import Document
from kspec.spec.names import pascal_case
from kspec.spec.report import Reporter, reset_suggestions
from kspec.spec.walk import walk

__all__ = ["analyze"]


def analyze(
    doc: Document,
    overrides: Mapping[str, Any] | None = None,
    shapes: bool = True,
    variant: str | None = None,
) -> tuple[Spec | None, list[Diagnostic]]:
    """Check ``doc`` completely. Returns the IR when there are no errors, and all diagnostics.
    ``variant``: the name of one of the spec's ``variants:`` (its params, then ``overrides``).
    ``shapes=False`` leaves out the walk (for tests that compare it with Keras)."""
    rep = Reporter(doc)
    reset_suggestions()
    data = top.document(doc, rep)
    if data is None:
        return None, rep.finish()
    ctx = Ctx(rep, imports=top.imports(data, rep))
    sections = top.parse(data, ctx)
    top.params(data, overrides, sections, rep, variant)
    top.evaluate(sections, ctx)
    structure_ok = top.validate(sections, ctx)
    sigs = blocks.signatures(sections.blocks_ev, sections.block_env)
    model_nodes = blocks.drafts(sections.sym.get("layers"), sections.ev.get("layers"), ("layers",))
    for d in model_nodes:
        nodes.check_node(d, ctx, sigs)
    blocks.check_instances(sections.blocks_sym, sections.blocks_ev, model_nodes, ctx, sigs)
    if not structure_ok:  # references need a sound structure; node-level errors do not stop them
        return None, rep.finish()
    resolved = []
    for b, v in sections.blocks_sym.items():
        draft = GraphDraft(
            "block",
            ("blocks", b, "layers"),
            blocks.drafts(v["layers"], sections.blocks_ev[b]["layers"], ("blocks", b, "layers")),
            tuple(Input(str(x)) for x in v["inputs"]),
            sections.block_env[b],
            v["outputs"],
        )
        g = graph.resolve(draft, ctx, sigs)
        if g is not None:
            resolved.append(Block(b, g, str(v.get("description", ""))))
    model = GraphDraft(
        "model",
        ("layers",),
        model_nodes,
        make.inputs(sections.ev.get("inputs"), sections.sym.get("inputs")),
        sections.env,
        data.get("outputs"),
    )
    g = graph.resolve(model, ctx, sigs)
    blocks.check_recursion(sections.blocks_sym, ctx)
    if g is None or rep.errors:
        return None, rep.finish()
    ev = sections.ev
    name = str(data["name"])
    spec = Spec(
        name=name,
        class_name=str(data.get("class_name") or pascal_case(name)),
        description=str(data.get("description") or ""),
        graph=g,
        blocks=tuple(resolved),
        # compile: values are fixed when the source is generated (the params in force)
        compile=make.freeze(ev.get("compile")) if ev.get("compile") is not None else None,
        imports=ctx.imports,
        source=os.path.basename(doc.path),
        sha256=doc.digest,
        variants=tuple((v, tuple(values.items())) for v, values in top.variants(data).items()),
        variant=variant,
    )
    if shapes:  # the walk over the instances: static shapes, reporting definite problems
        spec = replace(spec, walk=walk(spec, rep))
        if rep.errors:
            return None, rep.finish()
    return spec, rep.finish()
