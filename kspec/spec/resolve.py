"""From a loaded document to the checked IR: expressions, params, schema, names, references.

``analyze`` runs every check it can and reports every problem at once; it returns a
:class:`~kspec.spec.ir.Spec` only when there are no errors. The order:

1. expressions are parsed (and whitelisted) wherever a value may be one;
2. params get their overrides, then values are evaluated (per block instance inside blocks);
3. the top level is validated against the schema, each node against the schema of its kind;
4. graphs are resolved: unique names, implicit chaining, references and ``node[i]``, shares,
   block instances and ``repeat``, cycles, outputs, unused nodes.
"""

from __future__ import annotations

import hashlib
import keyword
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kspec.diagnostics import Diagnostic
from kspec.layers import LAYERS, REFUSED, count_outputs
from kspec.layers.catalog import object_family
from kspec.schemas.build import NODE_KEYS
from kspec.spec import stubs
from kspec.spec import validate as schema
from kspec.spec.expressions import Expr, ExprError, evaluate, is_expression, parse_value
from kspec.spec.ir import (
    Block,
    Dict,
    Graph,
    Input,
    LayerSpec,
    Node,
    NodeInputs,
    Ref,
    Spec,
    instance_names,
)
from kspec.spec.loader import Document, Path
from kspec.spec.names import RESERVED_MODULES, RESERVED_PARAMS, is_dotted_name, pascal_case
from kspec.spec.report import Reporter, did_you_mean, reset_suggestions
from kspec.spec.walk import walk

SUPPORTED_VERSIONS = (1,)


def reserved_module(module: str) -> bool:
    """Whether ``module`` cannot be an `imports:` module. Keras' own source modules
    (``keras.src.applications.convnext``, whose ``LayerScale`` keras.applications uses) can:
    their classes are Keras' code, imported only with the user's permission like any other."""
    return module.split(".")[0] in RESERVED_MODULES and not module.startswith("keras.src.")


_REF = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[([0-9]{1,6})\])?\Z")
_NODE_STRUCTURAL = ("name", "type", "share", "block", "inputs")


@dataclass
class _Ctx:
    rep: Reporter
    expr_paths: dict[Path, Expr] = field(default_factory=dict)
    failed: set[Path] = field(default_factory=set)  # values whose expression failed (reported)
    imports: tuple[str, ...] = ()


# -- expressions in the document ------------------------------------------------------------


def _symbolic(value: Any, path: Path, ctx: _Ctx) -> Any:
    """Replace expression strings by :class:`Expr` (anywhere inside ``value``)."""
    if isinstance(value, str):
        if not value.startswith("$"):
            return value
        try:
            parsed = parse_value(value)
        except ExprError as exc:
            ctx.rep.add(exc.code, exc.message, path, hint=exc.hint)
            ctx.failed.add(path)
            return None
        if isinstance(parsed, Expr):
            ctx.expr_paths[path] = parsed
        return parsed
    if isinstance(value, list):
        return [_symbolic(v, (*path, i), ctx) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _symbolic(v, (*path, k), ctx) for k, v in value.items()}
    return value


def _no_expressions(value: Any, path: Path, ctx: _Ctx, where: str) -> None:
    """Structural positions (names, references, types, param defaults) take no expressions."""
    if is_expression(value):
        ctx.failed.add(path)
        ctx.rep.add(
            "KS306",
            f"expressions are not allowed in {where}",
            path,
            hint="only argument values can be expressions; write the value itself",
        )
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _no_expressions(v, (*path, i), ctx, where)
    elif isinstance(value, dict):
        for k, v in value.items():
            _no_expressions(v, (*path, k), ctx, where)


def _symbolic_node(node: Any, path: Path, ctx: _Ctx) -> Any:
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _NODE_STRUCTURAL:
            _no_expressions(value, (*path, key), ctx, f"`{key}`")
            out[key] = value
        else:
            out[key] = _symbolic(value, (*path, key), ctx)
    return out


def _evaluate(value: Any, env: Mapping[str, Any], path: Path, ctx: _Ctx) -> Any:
    """The plain value of ``value`` under ``env`` (errors reported, the value becomes None)."""
    if isinstance(value, Expr):
        try:
            result = evaluate(value, env)
        except ExprError as exc:
            hint = exc.hint
            if exc.code == "KS303":
                unknown = next(iter(value.names - set(env)), "")
                hint = (
                    "in expressions write True, False and None (Python's spelling)"
                    if unknown in ("true", "false", "null")
                    else did_you_mean(unknown, env) or "params here: " + (", ".join(env) or "none")
                )
            ctx.rep.add(exc.code, exc.message, path, hint=hint)
            ctx.failed.add(path)
            return None
        if isinstance(result, float) and not math.isfinite(result):
            ctx.rep.add("KS304", f"${{{value.source}}} is not a finite number", path)
            ctx.failed.add(path)
            return None
        return result
    if isinstance(value, list):
        return [_evaluate(v, env, (*path, i), ctx) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _evaluate(v, env, (*path, k), ctx) for k, v in value.items()}
    return value


# -- nodes --------------------------------------------------------------------------------


def _node_label(node: dict[str, Any]) -> str:
    name = node.get("name")
    kind = node.get("type") or ("share" if "share" in node else "block")
    return f"{kind} node {name!r}" if isinstance(name, str) else f"{kind} node"


@dataclass
class _BlockSig:
    inputs: list[str]
    n_outputs: int
    params: dict[str, Any]


def _check_layer_args(
    t: str, node_ev: dict[str, Any], path: Path, ctx: _Ctx, name: str | None, nested: bool = False
) -> bool:
    """Check a ``type:`` mapping's layer type and arguments. Returns whether the type is known."""
    if t in REFUSED:
        ctx.rep.add(
            "KS108",
            f"layer type {t} is not available: {REFUSED[t]}",
            (*path, "type"),
            node=name,
            hint="write the computation as a custom layer in a module you "
            "trust and name it under imports: (see docs/language.md)",
        )
        return False
    if t not in LAYERS:
        if "." in t:
            if not is_dotted_name(t):
                ctx.rep.add(
                    "KS106",
                    f"custom layer type {t!r} is not a module.ClassName",
                    (*path, "type"),
                    node=name,
                    hint="write the module's dotted name and the class, e.g. mylayers.Gated",
                )
                return False
            module, cls = t.rsplit(".", 1)
            if cls in REFUSED:  # whatever module it comes from (keras.layers.Lambda, ...)
                ctx.rep.add(
                    "KS108",
                    f"layer type {cls} is not available: {REFUSED[cls]}",
                    (*path, "type"),
                    node=name,
                )
                return False
            if module not in ctx.imports and not reserved_module(module):
                ctx.rep.add(
                    "KS106",
                    f"custom layer type {t!r} comes from module {module!r}, "
                    "which is not listed under imports:",
                    (*path, "type"),
                    node=name,
                    hint=f"add `imports: [{module}]` to the spec",
                )
            else:  # its signature, if `kspec check --stubs` gave one
                stubs.check_custom(t, node_ev, path, ctx.rep, name)
            return False
        ctx.rep.add(
            "KS106",
            f"unknown layer type {t!r}",
            (*path, "type"),
            node=name,
            hint=did_you_mean(t, LAYERS) or "see `kspec schema` for the layer types",
        )
        return False
    label = f"{t} layer {name!r}" if name else f"nested {t} layer"
    schema.validate(
        ("nested." if nested else "layer.") + t, node_ev, path, ctx.rep, ctx, node=name, what=label
    )
    _check_objects(node_ev, path, ctx, name)
    for key, arg_schema in LAYERS[t].args.items():
        inner = node_ev.get(key)
        marker = arg_schema.get("$kspec")
        if marker == "nested_layer" and isinstance(inner, dict):
            items = [(inner, (*path, key))]
        elif marker == "nested_layers" and isinstance(inner, list):
            items = [(v, (*path, key, i)) for i, v in enumerate(inner) if isinstance(v, dict)]
        else:
            continue
        for value, p in items:
            if isinstance(value.get("type"), str):
                _check_layer_args(value["type"], value, p, ctx, name, nested=True)
    return True


def _check_objects(node_ev: dict[str, Any], path: Path, ctx: _Ctx, name: str | None) -> None:
    """``{type: HeNormal, seed: 1}`` for an initializer, regularizer or constraint becomes
    ``tf.keras.initializers.HeNormal(seed=1)``: its type and argument names must be
    identifiers."""
    for arg, value in node_ev.items():
        if object_family(arg) is None or not isinstance(value, dict):
            continue
        t = value.get("type")
        if not (isinstance(t, str) and t.isidentifier() and not keyword.iskeyword(t)):
            ctx.rep.add(
                "KS104",
                f"`{arg}` needs `type:` with a class name, e.g. {{type: HeNormal, seed: 1}}",
                (*path, arg),
                node=name,
            )
        for key in value:
            if not (isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)):
                ctx.rep.add(
                    "KS104",
                    f"{key!r} is not an argument name",
                    (*path, arg, key),
                    key=True,
                    node=name,
                )


def _n_outputs(t: str, args: dict[str, Any], call: dict[str, Any]) -> int:
    """How many tensors a layer call returns (``node[i]`` indexes them); 0 when kspec cannot
    know (a custom layer: its references are not checked)."""
    if t not in LAYERS:
        return 0 if "." in t else 1
    return count_outputs(t, args, call)


def _check_inputs_form(t: str, inputs: Any, path: Path, ctx: _Ctx, name: str | None) -> None:
    """The shape of ``inputs:`` must fit how the layer is called."""
    layer = LAYERS.get(t)
    if layer is None or inputs is None:
        if layer is not None and layer.inputs == "many":
            ctx.rep.add(
                "KS210", f"{t} merges a list of tensors: give `inputs` as a list", path, node=name
            )
        elif layer is not None and layer.inputs == "call" and layer.min_inputs > 1:
            needed = layer.call_args[: layer.min_inputs]
            ctx.rep.add(
                "KS210",
                f"{t} needs {' and '.join(needed)}: give `inputs` as a mapping",
                path,
                node=name,
                hint=f"e.g. inputs: {{{', '.join(f'{k}: ...' for k in needed)}}}",
            )
        return
    p = (*path, "inputs")
    if isinstance(inputs, str):
        if layer.inputs == "many":
            ctx.rep.add(
                "KS210", f"{t} merges a list of tensors: give `inputs` as a list", p, node=name
            )
        elif layer.inputs == "call" and layer.min_inputs > 1:
            ctx.rep.add(
                "KS210",
                f"{t} needs {', '.join(layer.call_args[: layer.min_inputs])}: "
                "give `inputs` as a list or a mapping",
                p,
                node=name,
            )
        return
    if isinstance(inputs, list):
        n = len(inputs)
        if layer.inputs == "one":
            if n != 1:
                ctx.rep.add(
                    "KS210",
                    f"{t} takes one input, got a list of {n}",
                    p,
                    node=name,
                    hint="merge tensors first (Concatenate, Add, ...)",
                )
            return
        hi = layer.max_inputs
        if n < layer.min_inputs or (hi is not None and n > hi):
            want = (
                f"exactly {hi}"
                if hi == layer.min_inputs
                else f"{layer.min_inputs} to {hi}"
                if hi
                else f"at least {layer.min_inputs}"
            )
            ctx.rep.add("KS210", f"{t} takes {want} inputs, got {n}", p, node=name)
        return
    if isinstance(inputs, dict):
        if layer.inputs == "many":
            ctx.rep.add("KS210", f"{t} takes a list of inputs, not a mapping", p, node=name)
            return
        for key in inputs:
            if key not in layer.call_args:
                ctx.rep.add(
                    "KS211",
                    f"{t} has no call argument `{key}`",
                    (*p, key),
                    key=True,
                    node=name,
                    hint=did_you_mean(key, layer.call_args)
                    or "call arguments: " + ", ".join(layer.call_args),
                )
        need = layer.call_args[: max(layer.min_inputs, 1)] if layer.call_args else ()
        for key in need:
            if key not in inputs:
                ctx.rep.add(
                    "KS210", f"{t} needs the call argument `{key}` in `inputs`", p, node=name
                )


def _check_call(t: str | None, call: Any, path: Path, ctx: _Ctx, name: str | None) -> None:
    layer = LAYERS.get(t or "")
    if layer is None or not isinstance(call, dict):
        return
    for key in call:
        if key == "training" and key in layer.call_args:
            ctx.rep.add(
                "KS104",
                "`training` cannot be a constant in `call:`: the model's own training flag "
                "reaches every layer, and the two targets would not agree on which wins",
                (*path, "call", key),
                key=True,
                node=name,
                hint="remove it; Keras passes training=True in fit and False in predict",
            )
        elif key not in layer.call_args:
            ctx.rep.add(
                "KS211",
                f"{t} has no call argument `{key}`",
                (*path, "call", key),
                key=True,
                node=name,
                hint=did_you_mean(key, layer.call_args)
                or "call arguments: " + (", ".join(layer.call_args) or "none"),
            )


def _check_node(node_ev: Any, path: Path, ctx: _Ctx, blocks: dict[str, _BlockSig]) -> None:
    """Per-node checks that need no other node: kind, layer schema, block params."""
    if not isinstance(node_ev, dict):
        return
    name = node_ev.get("name") if isinstance(node_ev.get("name"), str) else None
    kinds = [k for k in ("type", "share", "block") if k in node_ev]
    if not kinds:
        ctx.rep.add(
            "KS103",
            f"node {name!r} needs one of `type` (a new layer), `share` or `block`"
            if name
            else "a node needs `name` and one of `type`, `share` or `block`",
            path,
            node=name,
        )
        return
    if len(kinds) != 1:
        if len(kinds) > 1:
            ctx.rep.add(
                "KS104",
                f"a node has exactly one of `type`, `share`, `block`; this one "
                f"has {', '.join(kinds)}",
                path,
                node=name,
            )
        return
    if "type" in node_ev:
        t = node_ev["type"]
        if not isinstance(t, str):
            return
        if _check_layer_args(t, node_ev, path, ctx, name):
            _check_inputs_form(t, node_ev.get("inputs"), path, ctx, name)
            _check_call(t, node_ev.get("call"), path, ctx, name)
    elif "share" in node_ev:
        schema.validate(
            "share_node", node_ev, path, ctx.rep, ctx, node=name, what=f"share node {name!r}"
        )
    else:
        schema.validate(
            "block_node", node_ev, path, ctx.rep, ctx, node=name, what=f"block node {name!r}"
        )
        b = node_ev.get("block")
        if not isinstance(b, str):
            return
        if b not in blocks:
            ctx.rep.add(
                "KS206",
                f"unknown block {b!r}",
                (*path, "block"),
                node=name,
                hint=did_you_mean(b, blocks)
                or (
                    "blocks defined: " + ", ".join(blocks)
                    if blocks
                    else "define it under `blocks:`"
                ),
            )
            return
        sig = blocks[b]
        for key in node_ev:
            if key not in ("name", "block", "inputs", "repeat") and key not in sig.params:
                ctx.rep.add(
                    "KS213",
                    f"block {b!r} has no param `{key}`",
                    (*path, key),
                    key=True,
                    node=name,
                    hint=did_you_mean(key, sig.params)
                    or "its params: " + (", ".join(sig.params) or "none"),
                )
        if "repeat" in node_ev and sig.n_outputs != len(sig.inputs):
            ctx.rep.add(
                "KS212",
                f"`repeat` chains block {b!r} into itself, but it has "
                f"{len(sig.inputs)} input(s) and {sig.n_outputs} output(s)",
                (*path, "repeat"),
                key=True,
                node=name,
                hint="each instance's outputs feed the next instance's inputs in order: give the "
                "block as many outputs as inputs, or write the instances out as separate nodes",
            )


# -- graphs -------------------------------------------------------------------------------


def _parse_ref(text: Any, path: Path, ctx: _Ctx) -> Ref | None:
    if not isinstance(text, str):
        return None
    m = _REF.match(text)
    if not m:
        return None  # the schema has reported it
    return Ref(m.group(1), int(m.group(2)) if m.group(2) else None)


def _repeat_count(node_ev: dict[str, Any]) -> int | None:
    r = node_ev.get("repeat")
    return r if isinstance(r, int) and not isinstance(r, bool) and r >= 1 else None


def _resolve_graph(
    nodes_sym: list[Any],
    nodes_ev: list[Any],
    inputs: tuple[Input, ...],
    params: tuple[tuple[str, Any], ...],
    outputs_raw: Any,
    base: Path,
    ctx: _Ctx,
    blocks: dict[str, _BlockSig],
    scope: str,
) -> Graph | None:
    rep = ctx.rep
    start_errors = rep.errors
    where: dict[str, Path] = {}  # name -> path of its definition
    for inp in inputs:
        where[inp.name] = (*base[:-1], "inputs")
    n_out: dict[str, int] = {inp.name: 1 for inp in inputs}
    kinds: dict[str, str] = {}
    types: dict[str, str] = {}  # node -> the layer type it calls (its own, or its share's)
    order: list[str] = []
    generated: dict[str, str] = {}  # instance name of a repeated block -> its node
    for i, node in enumerate(nodes_ev):
        path = (*base, i)
        if not isinstance(node, dict) or not isinstance(node.get("name"), str):
            continue
        name = node["name"]
        if not any(k in node for k in ("type", "share", "block")):
            continue  # reported by _check_node (KS103)
        if name in where or name in generated:
            first = where.get(name) or where[generated[name]]
            line = _line(rep, first)
            what = "an input" if any(inp.name == name for inp in inputs) else "a node"
            if name in generated:
                what = f"an instance of the repeated block node {generated[name]!r}"
            rep.add(
                "KS201",
                f"duplicate name {name!r}: already {what} (line {line})",
                (*path, "name"),
                node=name,
                hint="names are unique within a model "
                "(within a block, among its own names); rename one of them",
            )
            continue
        where[name] = path
        order.append(name)
        kind = "type" if "type" in node else "share" if "share" in node else "block"
        kinds[name] = kind
        if kind == "type":
            types[name] = str(node["type"])
            n_out[name] = _n_outputs(str(node["type"]), node, node.get("call") or {})
        elif kind == "block":
            sig = blocks.get(str(node.get("block")))
            n_out[name] = sig.n_outputs if sig else 1
            rc = _repeat_count(node)
            if rc is not None:
                for inst in instance_names(name, rc):
                    if inst in where:
                        line = _line(rep, where[inst])
                        rep.add(
                            "KS201",
                            f"repeated block node {name!r} names its instances "
                            f"{name}_1 .. {name}_{rc}, but {inst!r} is already defined "
                            f"(line {line})",
                            (*path, "name"),
                            node=name,
                        )
                    generated[inst] = name
        else:
            n_out[name] = 1
    # shares: their target must be an earlier-or-later `type` node of this graph
    for i, node in enumerate(nodes_ev):
        if isinstance(node, dict) and "share" in node and isinstance(node.get("name"), str):
            target = node["share"]
            if not isinstance(target, str):
                continue
            if target not in kinds:
                rep.add(
                    "KS205",
                    f"share target {target!r} is not a node of this {scope}",
                    (*base, i, "share"),
                    node=node["name"],
                    hint=did_you_mean(target, [n for n, k in kinds.items() if k == "type"]),
                )
            elif kinds[target] != "type":
                rep.add(
                    "KS205",
                    f"share target {target!r} is a {kinds[target]} node; only a "
                    "`type` node has a layer to share",
                    (*base, i, "share"),
                    node=node["name"],
                )
            else:
                t = str(nodes_ev[_index_of(nodes_ev, target)].get("type"))
                types[node["name"]] = t
                n_out[node["name"]] = _n_outputs(
                    t, nodes_ev[_index_of(nodes_ev, target)], node.get("call") or {}
                )
                _check_inputs_form(t, node.get("inputs"), (*base, i), ctx, node["name"])
                _check_call(t, node.get("call"), (*base, i), ctx, node["name"])

    def ref(text: Any, path: Path, consumer: str | None) -> Ref | None:
        r = _parse_ref(text, path, ctx)
        if r is None:
            return None
        if r.node not in n_out:
            hint = did_you_mean(r.node, n_out)
            if r.node in generated:
                hint = (
                    f"{r.node!r} is an instance of {generated[r.node]!r}; refer to "
                    f"{generated[r.node]!r} for the output of the last instance"
                )
            rep.add(
                "KS202",
                f"unknown reference {r.node!r}",
                path,
                node=consumer,
                hint=hint or ("names here: " + ", ".join(list(n_out)[:20])),
            )
            return None
        count = n_out[r.node]
        if count == 0:  # a custom layer's outputs are unknown until it is built
            return r
        if r.index is None and count > 1:
            rep.add(
                "KS208",
                f"{r.node!r} has {count} outputs; say which one with "
                f"{r.node}[0] .. {r.node}[{count - 1}]",
                path,
                node=consumer,
                hint=f"refer to one of them, e.g. {r.node}[0] (quoted inside [...] or {{...}})",
            )
        elif r.index is not None and r.index >= count:
            rep.add(
                "KS208",
                f"{r.node!r} has {count} output{'s' if count > 1 else ''}; "
                f"index {r.index} is out of range",
                path,
                node=consumer,
                hint=_index_hint(types.get(r.node)),
            )
        return r

    built: list[Node] = []
    deps: dict[str, set[str]] = {}
    prev: str | None = None
    for i, (node, sym) in enumerate(zip(nodes_ev, nodes_sym, strict=True)):
        path = (*base, i)
        if not isinstance(node, dict) or not isinstance(node.get("name"), str):
            prev = None
            continue
        name = node["name"]
        if where.get(name) != path:
            continue
        raw = node.get("inputs")
        if raw is None:
            if prev is None:
                if i == 0 and len(inputs) == 1:
                    ni = NodeInputs("single", (Ref(inputs[0].name),))
                elif i == 0:
                    rep.add(
                        "KS204",
                        f"{name!r} is the first node and has no `inputs`, but the "
                        f"{scope} has {len(inputs)} inputs",
                        path,
                        node=name,
                        hint=f"say which: inputs: {inputs[0].name} (or a list for a merge layer: "
                        f"[{', '.join(x.name for x in inputs)}])",
                    )
                    ni = NodeInputs("single", ())
                else:
                    ni = NodeInputs("single", ())
            else:
                if n_out.get(prev, 1) > 1:
                    rep.add(
                        "KS204",
                        f"{name!r} has no `inputs` and the previous node {prev!r} "
                        f"has {n_out[prev]} outputs",
                        path,
                        node=name,
                        hint=f'say which: inputs: "{prev}[0]"',
                    )
                ni = NodeInputs("single", (Ref(prev),))
        elif isinstance(raw, str):
            r = ref(raw, (*path, "inputs"), name)
            ni = NodeInputs("single", (r,) if r else ())
        elif isinstance(raw, list):
            rs = [ref(x, (*path, "inputs", j), name) for j, x in enumerate(raw)]
            clean = tuple(r for r in rs if r)
            # a list of one for a one-input layer (its own, or the one it shares) is that input
            layer_type = types.get(name)
            one = layer_type in LAYERS and LAYERS[layer_type].inputs == "one"
            ni = NodeInputs("single" if len(raw) == 1 and one else "list", clean)
        elif isinstance(raw, dict):
            pairs: list[tuple[str, Any]] = []
            for key, val in raw.items():
                if isinstance(val, list):
                    rs = [ref(x, (*path, "inputs", key, j), name) for j, x in enumerate(val)]
                    pairs.append((key, tuple(r for r in rs if r)))
                else:
                    r = ref(val, (*path, "inputs", key), name)
                    if r:
                        pairs.append((key, r))
            ni = NodeInputs("mapping", tuple(pairs))
        else:
            ni = NodeInputs("single", ())
        if node.get("block") in blocks and "block" in node:
            sig = blocks[node["block"]]
            given = len(ni.all_refs()) if ni.form != "mapping" else len(ni.refs)
            if given != len(sig.inputs) and rep.errors == start_errors:
                rep.add(
                    "KS210",
                    f"block {node['block']!r} takes {len(sig.inputs)} input(s) "
                    f"({', '.join(sig.inputs)}), got {given}",
                    (*path, "inputs") if raw is not None else path,
                    node=name,
                )
            if ni.form == "mapping":
                for key, _ in ni.refs:
                    if key not in sig.inputs:
                        rep.add(
                            "KS211",
                            f"block {node['block']!r} has no input `{key}`",
                            (*path, "inputs", key),
                            key=True,
                            node=name,
                            hint=did_you_mean(key, sig.inputs),
                        )
        deps[name] = {r.node for r in ni.all_refs()}
        built.append(_make_node(name, node, sym, ni, n_out[name], path, rep))
        prev = name
    # cycles and order: Kahn's algorithm, ties broken by spec order (stable, deterministic)
    index = {n.name: k for k, n in enumerate(built)}
    input_names = {inp.name for inp in inputs}
    indegree = {n.name: len(deps[n.name] - input_names) for n in built}
    users: dict[str, list[str]] = {}
    for n in built:
        for d in deps[n.name] - input_names:
            users.setdefault(d, []).append(n.name)
    ready = sorted((index[n] for n, d in indegree.items() if d == 0))
    ordered: list[Node] = []
    import heapq

    heapq.heapify(ready)
    while ready:
        k = heapq.heappop(ready)
        node = built[k]
        ordered.append(node)
        for u in users.get(node.name, []):
            indegree[u] -= 1
            if indegree[u] == 0:
                heapq.heappush(ready, index[u])
    if len(ordered) < len(built):
        stuck = [n for n in built if indegree[n.name] > 0]
        cycle = _find_cycle({n.name: deps[n.name] & set(indegree) for n in stuck})
        first_node = built[min(index[c] for c in cycle)]
        rep.add(
            "KS203",
            "cycle in the layer graph: " + " -> ".join([*cycle, cycle[0]]),
            _path_of(first_node),
            node=first_node.name,
            hint="a node cannot depend on its own output; check the `inputs` of these nodes",
        )
    # outputs
    outputs: Any
    form: str
    if isinstance(outputs_raw, str):
        form = "single"
        outputs = ref(outputs_raw, (*base[:-1], "outputs"), None)
    elif isinstance(outputs_raw, list) and len(outputs_raw) == 1:
        # Keras returns a tensor for a Functional model with outputs=[x]: both targets do
        form = "single"
        outputs = ref(outputs_raw[0], (*base[:-1], "outputs", 0), None)
    elif isinstance(outputs_raw, list):
        form = "list"
        outputs = tuple(ref(x, (*base[:-1], "outputs", j), None) for j, x in enumerate(outputs_raw))
    elif isinstance(outputs_raw, dict):
        form = "mapping"
        outputs = tuple(
            (k, ref(v, (*base[:-1], "outputs", k), None)) for k, v in outputs_raw.items()
        )
    else:
        return None
    if rep.errors > start_errors:
        return None
    # unused nodes (a warning: Keras would silently drop them from a Functional model)
    used = {r.node for n in ordered for r in n.inputs.all_refs()}
    graph = Graph(params, inputs, tuple(ordered), outputs, form)  # type: ignore[arg-type]
    used |= {r.node for r in graph.output_refs()}
    shared = {n.target for n in ordered if n.kind == "share"}
    for n in ordered:
        if n.name not in used and not (n.name in shared and n.kind == "layer"):
            rep.add(
                "KS214",
                f"node {n.name!r} is not used by any output of the {scope}",
                _path_of(n),
                node=n.name,
                severity="warning",
                hint="remove it, or add it to `outputs`",
            )
    return graph


def _index_hint(layer_type: str | None) -> str | None:
    """Why a node may have fewer outputs than the reference assumes."""
    layer = LAYERS.get(layer_type or "")
    if layer is not None and layer.state_outputs:
        return f"{layer_type} returns its states too only with return_state: true"
    if layer_type == "MultiHeadAttention":
        return (
            "MultiHeadAttention returns its scores too with call: {return_attention_scores: true}"
        )
    return None


def _line(rep: Reporter, path: Path) -> int | str:
    span = rep.doc.span(path)
    return span.line if span else "?"


def _path_of(node: Node) -> Path:
    return tuple(int(p) if p.isdigit() else p for p in node.pointer.strip("/").split("/"))


def _index_of(nodes: list[Any], name: str) -> int:
    for i, n in enumerate(nodes):
        if isinstance(n, dict) and n.get("name") == name:
            return i
    raise KeyError(name)


def _find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle among ``graph`` (every node has an unprocessed dependency), iteratively."""
    start = next(iter(graph))
    seen: dict[str, int] = {}
    path: list[str] = []
    node = start
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = sorted(graph[node])[0]
    cycle = path[seen[node] :]
    return list(reversed(cycle))


def _layer_spec(value: dict[str, Any]) -> LayerSpec:
    t = str(value["type"])
    layer = LAYERS.get(t)
    args = []
    for key, v in value.items():
        if key in ("name", "type", "inputs", "call"):
            continue
        marker = layer.args[key].get("$kspec") if layer and key in layer.args else None
        if marker == "nested_layer" and isinstance(v, dict):
            v = _layer_spec(v)
        elif marker == "nested_layers" and isinstance(v, list):
            v = tuple(_layer_spec(x) if isinstance(x, dict) else _freeze(x) for x in v)
        args.append((key, _freeze(v)))
    return LayerSpec(t, tuple(args))


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return Dict(tuple((k, _freeze(v)) for k, v in value.items()))
    return value


def _make_node(
    name: str,
    ev: dict[str, Any],
    sym: dict[str, Any],
    ni: NodeInputs,
    n_out: int,
    path: Path,
    rep: Reporter,
) -> Node:
    from kspec.spec.loader import pointer

    node = Node(
        name=name,
        kind="layer",
        inputs=ni,
        n_outputs=n_out,
        span=rep.doc.span(path),
        pointer=pointer(path),
        call=tuple((k, _freeze(v)) for k, v in (sym.get("call") or {}).items())
        if "block" not in ev and isinstance(sym.get("call"), dict)
        else (),
    )
    if "type" in ev:
        return replace(node, layer=_layer_spec(sym))
    if "share" in ev:
        return replace(node, kind="share", target=ev["share"])
    args = tuple(
        (k, _freeze(v)) for k, v in sym.items() if k not in ("name", "block", "inputs", "repeat")
    )
    return replace(
        node, kind="block", target=ev["block"], block_args=args, repeat=sym.get("repeat")
    )


# -- the whole spec -----------------------------------------------------------------------


def _inputs(raw: Any, sym: Any) -> tuple[Input, ...]:
    out = []
    if not isinstance(raw, dict):
        return ()
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            continue
        shape = sym[name].get("shape") or []
        out.append(
            Input(
                name,
                tuple(_freeze(s) for s in shape),
                spec.get("dtype", "float32"),
                spec.get("batch_size"),
                bool(spec.get("sparse", False)),
                bool(spec.get("ragged", False)),
            )
        )
    return tuple(out)


def _check_compile(section: dict[str, Any], rep: Reporter) -> None:
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


def analyze(
    doc: Document, overrides: Mapping[str, Any] | None = None, shapes: bool = True
) -> tuple[Spec | None, list[Diagnostic]]:
    """Check ``doc`` completely. Returns the IR when there are no errors, and all diagnostics.
    ``shapes=False`` leaves out static shape inference (for tests that compare it with Keras)."""
    rep = Reporter(doc)
    reset_suggestions()
    data = doc.data
    if not isinstance(data, dict):
        rep.add(
            "KS102", "a spec must be a YAML mapping (kspec: 1, name: ..., inputs: ..., ...)", ()
        )
        return None, rep.finish()
    version = data.get("kspec")
    if "kspec" not in data:
        data = {"kspec": 1, **data}  # reported here; the schema need not say it again
        rep.add(
            "KS103",
            "missing `kspec: 1` (the format version) at the top of the spec",
            (),
            hint="add the line `kspec: 1`",
        )
    elif version not in SUPPORTED_VERSIONS or isinstance(version, bool):
        rep.add(
            "KS107",
            f"unsupported kspec version {version!r}; this kspec reads version "
            + ", ".join(map(str, SUPPORTED_VERSIONS)),
            ("kspec",),
            hint="write `kspec: 1`",
        )
        return None, rep.finish()
    raw_imports = data.get("imports")
    imports: list[Any] = raw_imports if isinstance(raw_imports, list) else []
    for i, module in enumerate(imports):
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
    ctx = _Ctx(
        rep,
        imports=tuple(
            m
            for m in imports
            if isinstance(m, str) and is_dotted_name(m) and not reserved_module(m)
        ),
    )
    # 1. expressions
    sym: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("inputs", "compile"):
            sym[key] = _symbolic(value, (key,), ctx)
        elif key == "layers" and isinstance(value, list):
            sym[key] = [_symbolic_node(n, (key, i), ctx) for i, n in enumerate(value)]
        elif key == "blocks" and isinstance(value, dict):
            sym[key] = {}
            for bname, block in value.items():
                if isinstance(block, dict):
                    b = dict(block)
                    for bk in ("params", "inputs", "outputs"):
                        if bk in b:
                            _no_expressions(b[bk], (key, bname, bk), ctx, f"block `{bk}`")
                    if isinstance(b.get("layers"), list):
                        b["layers"] = [
                            _symbolic_node(n, (key, bname, "layers", i), ctx)
                            for i, n in enumerate(b["layers"])
                        ]
                    sym[key][bname] = b
                else:
                    sym[key][bname] = block
        else:
            if key in ("params", "outputs", "name", "class_name", "imports"):
                _no_expressions(value, (key,), ctx, f"`{key}`")
            sym[key] = value
    # 2. params and overrides
    params = dict(data["params"]) if isinstance(data.get("params"), dict) else {}
    _check_param_names(params, ("params",), rep, block=False)
    for bname, block in (
        (data.get("blocks") or {}).items() if isinstance(data.get("blocks"), dict) else ()
    ):
        if isinstance(block, dict) and isinstance(block.get("params"), dict):
            _check_param_names(block["params"], ("blocks", bname, "params"), rep, block=True)
    for pname, pvalue in (overrides or {}).items():
        if pname not in params:
            rep.add(
                "KS215",
                f"--param {pname}: the spec has no param {pname!r}",
                ("params",),
                hint=did_you_mean(pname, params) or "params: " + (", ".join(params) or "none"),
            )
        else:
            params[pname] = pvalue
    env = params
    # 3. evaluate and validate
    blocks_raw = sym.get("blocks") if isinstance(sym.get("blocks"), dict) else {}
    assert isinstance(blocks_raw, dict)
    block_env = {
        b: dict(v["params"]) if isinstance(v, dict) and isinstance(v.get("params"), dict) else {}
        for b, v in blocks_raw.items()
    }
    ev: dict[str, Any] = {}
    for key, value in sym.items():
        if key == "blocks":
            ev[key] = (
                {
                    b: {
                        **v,
                        "layers": _evaluate(
                            v.get("layers"), block_env[b], ("blocks", b, "layers"), ctx
                        ),
                    }
                    if isinstance(v, dict)
                    else v
                    for b, v in value.items()
                }
                if isinstance(value, dict)
                else value
            )
        elif key in ("inputs", "compile", "layers"):
            ev[key] = _evaluate(value, env, (key,), ctx)
        else:
            ev[key] = value
    structure_ok = schema.validate("top", ev, (), rep, ctx, what="the spec") == 0
    for bname, block in (
        (ev.get("blocks") or {}).items() if isinstance(ev.get("blocks"), dict) else ()
    ):
        what = f"block {bname!r}"
        path = ("blocks", bname)
        structure_ok &= (
            schema.validate("name", bname, path, rep, ctx, what="block name", key=True) == 0
        )
        structure_ok &= schema.validate("block", block, path, rep, ctx, what=what) == 0
    if structure_ok and isinstance(ev.get("compile"), dict):
        _check_compile(ev["compile"], rep)
    sigs: dict[str, _BlockSig] = {}
    for b, v in (ev.get("blocks") or {}).items() if isinstance(ev.get("blocks"), dict) else ():
        if isinstance(v, dict) and isinstance(v.get("inputs"), list):
            outs = v.get("outputs")
            sigs[b] = _BlockSig(
                [str(x) for x in v["inputs"]],
                len(outs) if isinstance(outs, list) else 1,
                block_env[b],
            )
    layers_ev = ev.get("layers") if isinstance(ev.get("layers"), list) else []
    assert isinstance(layers_ev, list)
    for i, node in enumerate(layers_ev):
        _check_node(node, ("layers", i), ctx, sigs)
    _check_blocks(ev, sym, ctx, sigs, env, block_env)
    if not structure_ok:  # references need a sound structure; node-level errors do not stop them
        return None, rep.finish()
    # 4. graphs
    params_t = tuple(params.items())
    inputs = _inputs(ev.get("inputs"), sym.get("inputs"))
    blocks: list[Block] = []
    for b, v in blocks_raw.items():
        assert isinstance(v, dict)
        b_inputs = tuple(Input(str(x)) for x in v["inputs"])
        g = _resolve_graph(
            v["layers"],
            ev["blocks"][b]["layers"],
            b_inputs,
            tuple(block_env[b].items()),
            v["outputs"],
            ("blocks", b, "layers"),
            ctx,
            sigs,
            "block",
        )
        if g is not None:
            blocks.append(Block(b, g, str(v.get("description", ""))))
    graph = _resolve_graph(
        sym["layers"],
        layers_ev,
        inputs,
        params_t,
        data.get("outputs"),
        ("layers",),
        ctx,
        sigs,
        "model",
    )
    _check_block_recursion(blocks_raw, ctx)
    if graph is None or rep.errors:
        return None, rep.finish()
    text = doc.text.encode("utf-8")
    name = str(data["name"])
    spec = Spec(
        name=name,
        class_name=str(data.get("class_name") or pascal_case(name)),
        description=str(data.get("description") or ""),
        graph=graph,
        blocks=tuple(blocks),
        # compile: values are fixed when the source is generated (the params in force)
        compile=_freeze(ev.get("compile")) if ev.get("compile") is not None else None,
        imports=ctx.imports,
        source=os.path.basename(doc.path),
        sha256=hashlib.sha256(text).hexdigest(),
    )
    if shapes:  # the walk over the instances: static shapes, reporting definite problems
        spec = replace(spec, walk=walk(spec, rep))
        if rep.errors:
            return None, rep.finish()
    return spec, rep.finish()


def _check_blocks(
    ev: dict[str, Any],
    sym: dict[str, Any],
    ctx: _Ctx,
    sigs: dict[str, _BlockSig],
    env: dict[str, Any],
    block_env: dict[str, dict[str, Any]],
) -> None:
    """Check each block's nodes with its defaults, and again for each instance's params."""
    blocks = ev.get("blocks") if isinstance(ev.get("blocks"), dict) else {}
    assert isinstance(blocks, dict)
    for b, v in blocks.items():
        if not isinstance(v, dict) or not isinstance(v.get("layers"), list):
            continue
        for i, node in enumerate(v["layers"]):
            _check_node(node, ("blocks", b, "layers", i), ctx, sigs)
    # instances: every distinct set of params a block is used with
    seen: set[tuple[str, str]] = set()
    uses: list[tuple[str, dict[str, Any]]] = []

    def collect(nodes: Any, scope_env: dict[str, Any], base: tuple[Any, ...]) -> None:
        if not isinstance(nodes, list):
            return
        for node in nodes:
            if (
                isinstance(node, dict)
                and isinstance(node.get("block"), str)
                and node["block"] in sigs
            ):
                b = node["block"]
                values = {k: node[k] for k in node if k in sigs[b].params}
                inst_env = {**sigs[b].params, **values}
                key = (b, repr(sorted(inst_env.items(), key=lambda kv: kv[0])))
                if key not in seen and len(seen) < 1000:
                    seen.add(key)
                    uses.append((b, inst_env))

    collect(ev.get("layers"), env, ("layers",))
    k = 0
    while k < len(uses):
        b, inst_env = uses[k]
        k += 1
        block_sym = sym["blocks"][b]
        nodes = _evaluate(block_sym.get("layers"), inst_env, ("blocks", b, "layers"), ctx)
        for i, node in enumerate(nodes or []):
            _check_node(node, ("blocks", b, "layers", i), ctx, sigs)
        collect(nodes, inst_env, ("blocks", b, "layers"))


def _check_block_recursion(blocks: dict[str, Any], ctx: _Ctx) -> None:
    uses = {
        b: {n.get("block") for n in v.get("layers", []) if isinstance(n, dict) and "block" in n}
        if isinstance(v, dict) and isinstance(v.get("layers"), list)
        else set()
        for b, v in blocks.items()
    }
    reported: set[str] = set()
    for start in uses:
        stack = [(start, [start])]
        visited: set[str] = set()
        while stack:
            b, trail = stack.pop()
            for nxt in sorted(x for x in uses.get(b, ()) if isinstance(x, str)):
                if nxt == start:
                    if start not in reported:
                        reported.update(trail)
                        ctx.rep.add(
                            "KS207",
                            "block recursion: " + " -> ".join([*trail, start]),
                            ("blocks", start),
                            key=True,
                            hint="a block cannot contain itself, directly or not",
                        )
                    break
                if nxt not in visited and nxt in uses:
                    visited.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
