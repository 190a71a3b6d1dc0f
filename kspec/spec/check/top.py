"""The top-level stage: the document is a mapping of the supported version, its imports,
params and overrides, its sections with their expressions parsed and evaluated, and its
structure (the top level, each block, the compile section) against the schema.

Each node is checked against its own kind's and type's schema later (the node stage), so an
error speaks of the argument that is wrong and never of some other layer type.
"""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kspec.schemas.build import NODE_KEYS
from kspec.spec import validate as schema
from kspec.spec.check.context import Ctx
from kspec.spec.check.values import evaluate_value, no_expressions, symbolic, symbolic_node
from kspec.spec.loader import Document, Path
from kspec.spec.names import RESERVED_PARAMS, is_dotted_name, reserved_module
from kspec.spec.report import Reporter, did_you_mean

SUPPORTED_VERSIONS = (1,)


def document(doc: Document, rep: Reporter) -> dict[str, Any] | None:
    """The document's data if it is a spec of a version this kspec reads (else None, reported);
    a missing ``kspec:`` is reported and assumed 1."""
    data = doc.data
    if not isinstance(data, dict):
        rep.add(
            "KS102", "a spec must be a YAML mapping (kspec: 1, name: ..., inputs: ..., ...)", ()
        )
        return None
    version = data.get("kspec")
    if "kspec" not in data:
        rep.add(
            "KS103",
            "missing `kspec: 1` (the format version) at the top of the spec",
            (),
            hint="add the line `kspec: 1`",
        )
        return {"kspec": 1, **data}  # reported here; the schema need not say it again
    if version not in SUPPORTED_VERSIONS or isinstance(version, bool):
        rep.add(
            "KS107",
            f"unsupported kspec version {version!r}; this kspec reads version "
            + ", ".join(map(str, SUPPORTED_VERSIONS)),
            ("kspec",),
            hint="write `kspec: 1`",
        )
        return None
    return data


def imports(data: dict[str, Any], rep: Reporter) -> tuple[str, ...]:
    """The modules the spec may take custom layers from (each checked to be one)."""
    raw = data.get("imports")
    modules: list[Any] = raw if isinstance(raw, list) else []
    for i, module in enumerate(modules):
        if isinstance(module, str) and not is_dotted_name(module):
            rep.add(
                "KS104",
                f"import {module!r} is not a module name",
                ("imports", i),
                hint="a dotted module name such as mypkg.layers",
            )
        elif isinstance(module, str) and reserved_module(module):
            rep.add(
                "KS104",
                f"imports: {module!r} cannot be a custom layer module",
                ("imports", i),
                hint="Keras' own layers are available by name (type: Dense); a custom module "
                "must not be named like a name the generated code uses (tf, keras, tensorflow, "
                "build_model, compile_model, Python's builtins)",
            )
    return tuple(
        m for m in modules if isinstance(m, str) and is_dotted_name(m) and not reserved_module(m)
    )


@dataclass
class Sections:
    """The document with its expressions parsed (``sym``) and evaluated (``ev``), the model's
    params in force (``env``) and each block's default params (``block_env``)."""

    sym: dict[str, Any]
    ev: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    block_env: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def blocks_sym(self) -> dict[str, Any]:
        blocks = self.sym.get("blocks")
        return blocks if isinstance(blocks, dict) else {}

    @property
    def blocks_ev(self) -> dict[str, Any]:
        blocks = self.ev.get("blocks")
        return blocks if isinstance(blocks, dict) else {}


def parse(data: dict[str, Any], ctx: Ctx) -> Sections:
    """Every expression string parsed (and refused where structure is written)."""
    sym: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("inputs", "compile"):
            sym[key] = symbolic(value, (key,), ctx)
        elif key == "layers" and isinstance(value, list):
            sym[key] = [symbolic_node(n, (key, i), ctx) for i, n in enumerate(value)]
        elif key == "blocks" and isinstance(value, dict):
            sym[key] = {name: _symbolic_block(name, b, ctx) for name, b in value.items()}
        else:
            if key in ("params", "outputs", "name", "class_name", "imports"):
                no_expressions(value, (key,), ctx, f"`{key}`")
            sym[key] = value
    return Sections(sym)


def _symbolic_block(name: str, block: Any, ctx: Ctx) -> Any:
    if not isinstance(block, dict):
        return block
    b = dict(block)
    for key in ("params", "inputs", "outputs"):
        if key in b:
            no_expressions(b[key], ("blocks", name, key), ctx, f"block `{key}`")
    if isinstance(b.get("layers"), list):
        b["layers"] = [
            symbolic_node(n, ("blocks", name, "layers", i), ctx) for i, n in enumerate(b["layers"])
        ]
    return b


def params(
    data: dict[str, Any],
    overrides: Mapping[str, Any] | None,
    sections: Sections,
    rep: Reporter,
    variant: str | None = None,
) -> None:
    """The params in force (defaults, then the variant's values, then overrides) and each
    block's defaults; reserved names, unknown overrides and variants are reported."""
    env = dict(data["params"]) if isinstance(data.get("params"), dict) else {}
    _check_param_names(env, ("params",), rep, block=False)
    blocks = data.get("blocks") if isinstance(data.get("blocks"), dict) else {}
    for bname, block in (blocks or {}).items():
        if isinstance(block, dict) and isinstance(block.get("params"), dict):
            _check_param_names(block["params"], ("blocks", bname, "params"), rep, block=True)
    declared = set(env)
    for pname, pvalue in _variant(data, variant, declared, rep).items():
        env[pname] = pvalue
    for pname, pvalue in (overrides or {}).items():
        if pname not in env:
            rep.add(
                "KS215",
                f"--param {pname}: the spec has no param {pname!r}",
                ("params",),
                hint=did_you_mean(pname, env) or "params: " + (", ".join(env) or "none"),
            )
        else:
            env[pname] = pvalue
    sections.env = env
    sections.block_env = {
        b: dict(v["params"]) if isinstance(v, dict) and isinstance(v.get("params"), dict) else {}
        for b, v in sections.blocks_sym.items()
    }


def evaluate(sections: Sections, ctx: Ctx) -> None:
    """Every section's values under the params in force (a block's under its defaults)."""
    ev: dict[str, Any] = {}
    for key, value in sections.sym.items():
        if key == "blocks" and isinstance(value, dict):
            ev[key] = {
                b: {
                    **v,
                    "layers": evaluate_value(
                        v.get("layers"), sections.block_env[b], ("blocks", b, "layers"), ctx
                    ),
                }
                if isinstance(v, dict)
                else v
                for b, v in value.items()
            }
        elif key in ("inputs", "compile", "layers"):
            ev[key] = evaluate_value(value, sections.env, (key,), ctx)
        else:
            ev[key] = value
    sections.ev = ev


def validate(sections: Sections, ctx: Ctx) -> bool:
    """The top level, each block (and its name) and the compile section against the schema.
    True when the structure is sound enough to resolve references."""
    rep, ev = ctx.rep, sections.ev
    ok = schema.validate("top", _top_level(ev), (), rep, ctx, what="the spec") == 0
    for bname, block in sections.blocks_ev.items():
        path = ("blocks", bname)
        ok &= schema.validate("name", bname, path, rep, ctx, what="block name", key=True) == 0
        ok &= schema.validate("block", block, path, rep, ctx, what=f"block {bname!r}") == 0
    if ok and isinstance(ev.get("compile"), dict):
        check_compile(ev["compile"], rep)
    return ok


def _top_level(ev: dict[str, Any]) -> dict[str, Any]:
    """The top level as the schema checks it. Its ``layers:`` must be a non-empty list of
    mappings (each node is checked against its own schema later): a list of mappings is
    checked as its first item alone, the same answer as all 10,000 of a large spec's."""
    layers = ev.get("layers")
    if isinstance(layers, list) and len(layers) > 1 and all(isinstance(n, dict) for n in layers):
        return {**ev, "layers": layers[:1]}
    return ev


def check_compile(section: dict[str, Any], rep: Reporter) -> None:
    """``{type: Name, ...}`` entries of ``compile:`` become ``tf.keras.<kind>.Name(...)`` in
    generated code: their type and argument names must be identifiers."""

    def entry(value: Any, path: Path) -> None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                entry(item, (*path, i))
        elif isinstance(value, dict) and "type" in value:
            t = value["type"]
            if not (isinstance(t, str) and t.isidentifier() and not keyword.iskeyword(t)):
                rep.add(
                    "KS104",
                    f"compile type {t!r} is not a class name",
                    (*path, "type"),
                    hint="e.g. {type: Adam, learning_rate: 0.001}",
                )
            for key in value:
                if not (key.isidentifier() and not keyword.iskeyword(key)):
                    rep.add("KS104", f"{key!r} is not an argument name", (*path, key), key=True)
        elif isinstance(value, dict):  # per-output mapping
            for key, item in value.items():
                entry(item, (*path, key))

    for key in ("optimizer", "loss", "metrics"):
        if key in section:
            entry(section[key], ("compile", key))


def _check_param_names(params: dict[str, Any], base: Path, rep: Reporter, block: bool) -> None:
    for pname in params:
        if pname in RESERVED_PARAMS:
            rep.add(
                "KS209",
                f"param name {pname!r} is reserved: the generated class passes "
                f"`{pname}` to Keras itself",
                (*base, pname),
                key=True,
                hint=f"rename it, e.g. {pname}_",
            )
        elif block and pname in NODE_KEYS:
            rep.add(
                "KS209",
                f"block param name {pname!r} is reserved: `{pname}:` is a key of every node, "
                "so an instance could not set it",
                (*base, pname),
                key=True,
                hint=f"rename it, e.g. {pname}_",
            )


def variants(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The spec's ``variants:`` (name -> param values), the well-formed part of it."""
    raw = data.get("variants")
    if not isinstance(raw, dict):
        return {}
    return {k: dict(v) for k, v in raw.items() if isinstance(v, dict)}


def _variant(
    data: dict[str, Any], variant: str | None, declared: set[str], rep: Reporter
) -> dict[str, Any]:
    """The values of ``variant`` (checked: every variant sets only declared params)."""
    table = variants(data)
    for vname, values in table.items():
        for pname in values:
            if pname not in declared:
                rep.add(
                    "KS511",
                    f"variant {vname!r} sets {pname!r}, which is not a param of the spec",
                    ("variants", vname, pname),
                    key=True,
                    hint=did_you_mean(pname, declared)
                    or "params: " + (", ".join(declared) or "none"),
                )
    if table and "variant" in declared:
        rep.add(
            "KS511",
            "a spec with variants cannot have a param named 'variant': "
            "`build_model(variant=...)` takes that name",
            ("params", "variant"),
            key=True,
            hint="rename the param",
        )
    if variant is None:
        return {}
    if variant not in table:
        rep.add(
            "KS512",
            f"--variant {variant}: the spec has no variant {variant!r}",
            ("variants",) if table else (),
            key=bool(table),
            hint=did_you_mean(variant, table) or "variants: " + (", ".join(table) or "none"),
        )
        return {}
    return {k: v for k, v in table[variant].items() if k in declared}
