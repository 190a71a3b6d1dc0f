"""Hover, go-to-definition, references and rename over one document, without the protocol:
plain functions of the document's text, its check result and its name index (positions are
0-based lines and code-point columns; :mod:`kspec.lsp.server` converts them for the client).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from kspec.lsp import analysis, symbols
from kspec.lsp.analysis import Facts, Path, Result, Source
from kspec.lsp.symbols import Index, Occurrence, get, scope_of

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}\Z")


@dataclass
class State:
    """What the server knows about one open document."""

    text: str
    result: Result
    index: Index | None  # of ``text``; None when it does not load as YAML
    last_good: Result | None = None  # the last check without errors (its facts stay useful)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> Source | None:
        return self.result.source


def new_state(text: str, path: str, previous: State | None) -> State:
    result = analysis.check(text, path)
    source = result.source or analysis.load(text, path)
    index = symbols.build(source) if source is not None else None
    if result.source is None and source is not None:
        result.source = source
    good = result if result.spec is not None else (previous.last_good if previous else None)
    return State(text, result, index, good)


# -- definitions and references ----------------------------------------------------------


def definitions(state: State, line: int, character: int) -> list[Occurrence]:
    occ = state.index.at(line, character) if state.index else None
    if occ is None or state.index is None:
        return []
    return [o for o in state.index.of(occ.key) if o.definition]


def references(state: State, line: int, character: int, declaration: bool) -> list[Occurrence]:
    occ = state.index.at(line, character) if state.index else None
    if occ is None or state.index is None:
        return []
    return [o for o in state.index.of(occ.key) if declaration or not o.definition]


def prepare_rename(state: State, line: int, character: int) -> Occurrence | None:
    occ = state.index.at(line, character) if state.index else None
    if occ is None or state.index is None:
        return None
    if not any(o.definition for o in state.index.of(occ.key)):
        return None  # a name the spec does not define (a typo): nothing to rename
    return occ


def rename(state: State, line: int, character: int, new: str) -> list[Occurrence] | str:
    """The occurrences to replace by ``new``, or why the rename is refused."""
    occ = prepare_rename(state, line, character)
    if occ is None or state.index is None:
        return "no node, input, block or param name here"
    if not NAME.match(new):
        return f"{new!r} is not a name: letters, digits and _, not starting with a digit"
    clash = (occ.kind, occ.scope, new)
    if new != occ.name and any(o.definition for o in state.index.of(clash)):
        where = f"block {occ.scope!r}" if occ.scope else "the model"
        return f"{where} already has a {_word(occ.kind)} named {new!r}"
    return state.index.of(occ.key)


def _word(kind: str) -> str:
    return {"tensor": "node or input", "block": "block", "param": "param"}[kind]


# -- hover -------------------------------------------------------------------------------------


def hover(state: State, line: int, character: int) -> str | None:
    """Markdown for the position: a name's shape, parameters or value; an argument's
    meaning; an expression's value."""
    occ = state.index.at(line, character) if state.index else None
    if occ is not None:
        return _hover_name(state, occ)
    source = state.source
    found = source.at(line + 1, character + 1) if source else None
    if source is None or found is None:
        return None
    path, is_key = found
    value = get(source.data, path)
    if not is_key and isinstance(value, str) and analysis.is_expression(value):
        return _hover_expression(source, path, value)
    return _hover_argument(source, path, is_key)


def _hover_name(state: State, occ: Occurrence) -> str | None:
    assert state.index is not None and state.source is not None
    defs = [o for o in state.index.of(occ.key) if o.definition]
    if not defs:
        return f"`{occ.name}`: not defined here"
    d = defs[0]
    data = state.source.data
    if occ.kind == "param":
        return _hover_param(state, occ, d)
    if occ.kind == "block":
        return _hover_block(data, d.name)
    node_path = d.path[:-1]
    node = get(data, node_path)
    if d.path[-1] == "name" and isinstance(node, dict):
        return _hover_node(state, d, node)
    return _hover_input(state, d)


def _facts(state: State) -> dict[tuple[str, ...], Facts]:
    good = state.last_good
    return good.facts() if good is not None else {}


def _stale(state: State) -> str:
    if state.result.spec is None and state.last_good is not None:
        return "\n\n*(shapes and counts from the last version without errors)*"
    if state.result.spec is None:
        return "\n\n*(shapes and counts appear once the spec checks clean)*"
    return ""


def _shape(shapes: tuple[Any, ...]) -> str:
    def one(s: Any) -> str:
        if s is None:
            return "?"
        return (
            "("
            + ", ".join("None" if d is None else str(d) for d in s)
            + ("," if len(s) == 1 else "")
            + ")"
        )

    return ", ".join(one(s) for s in shapes)


def _count(count: tuple[int, int] | None) -> str:
    if count is None:
        return "? (not known statically)"
    trainable, frozen = count
    extra = f" ({trainable:,} trainable, {frozen:,} non-trainable)" if frozen else ""
    return f"{trainable + frozen:,}{extra}"


def _facts_lines(facts: Facts | None) -> list[str]:
    if facts is None:
        return []
    return [f"output shape: `{_shape(facts.shapes)}`", f"parameters: {_count(facts.params)}"]


def _hover_node(state: State, d: Occurrence, node: dict[str, Any]) -> str:
    facts = _facts(state)
    if "type" in node:
        kind = f"`{node['type']}`"
        info = analysis.layer_info(str(node["type"]))
        doc = info.doc if info else ""
    elif "share" in node:
        kind, doc = f"share of `{node['share']}` (same weights, no new ones)", ""
    else:
        kind = f"block `{node.get('block')}`" + (f" × {node['repeat']}" if "repeat" in node else "")
        doc = ""
    lines = [f"**{d.name}** — {kind}", ""]
    if d.scope == "":
        lines += _facts_lines(facts.get((d.name,)))
        instances = sorted(p for p in facts if len(p) == 1 and p[0].startswith(d.name + "_"))
        for inst in instances[:8] if "repeat" in node else ():
            lines.append(_instance_line(inst[0], facts[inst]))
    else:  # inside a block: one line per instance of the block
        for path in sorted(p for p in facts if len(p) == 2 and p[1] == d.name)[:8]:
            lines.append(_instance_line(path[0], facts[path], "in "))
    if doc:
        lines += ["", doc]
    return "\n".join(lines).rstrip() + _stale(state)


def _instance_line(name: str, facts: Facts, prefix: str = "") -> str:
    return f"- {prefix}`{name}`: `{_shape(facts.shapes)}`, {_count(facts.params)} parameters"


def _hover_input(state: State, d: Occurrence) -> str:
    assert state.source is not None
    if d.scope:
        return f"**{d.name}** — input of block `{d.scope}`"
    spec = get(state.source.data, ("inputs", d.name))
    lines = [f"**{d.name}** — model input", ""]
    if isinstance(spec, dict):
        lines.append(
            f"shape: `{json.dumps(spec.get('shape'))}`, dtype: `{spec.get('dtype', 'float32')}`"
        )
    lines += _facts_lines(_facts(state).get((d.name,)))[:1]
    return "\n".join(lines)


def _env(data: Any, scope: str) -> dict[str, Any]:
    params = get(data, ("blocks", scope, "params") if scope else ("params",))
    return dict(params) if isinstance(params, dict) else {}


def _hover_param(state: State, occ: Occurrence, d: Occurrence) -> str:
    assert state.source is not None
    data = state.source.data
    default = get(data, d.path)
    owner = f"param of block `{d.scope}`" if d.scope else "param of the model"
    lines = [f"**{d.name}** — {owner}", "", f"default: `{json.dumps(default)}`"]
    used = get(data, occ.path)
    if not occ.definition and isinstance(used, str) and analysis.is_expression(used):
        lines.append(_value_line(used, _env(data, scope_of(occ.path)), occ.scope))
    return "\n".join(lines)


def _value_line(text: str, env: dict[str, Any], scope: str) -> str:
    ok, value = analysis.evaluate(text, env)
    defaults = "the block's default params" if scope else "the params' defaults"
    if ok:
        return f"`{text}` = `{json.dumps(value)}` (with {defaults})"
    return f"`{text}`: {value}"


def _hover_expression(source: Source, path: Path, text: str) -> str:
    scope = scope_of(path)
    lines = [_value_line(text, _env(source.data, scope), scope)]
    argument = _hover_argument(source, path, True)
    return "\n\n".join([*lines, argument] if argument else lines)


def _hover_block(data: Any, name: str) -> str:
    block = get(data, ("blocks", name))
    if not isinstance(block, dict):
        return f"**{name}** — block"
    params = block.get("params") if isinstance(block.get("params"), dict) else {}
    lines = [f"**{name}** — block", ""]
    if block.get("description"):
        lines += [str(block["description"]), ""]
    ins, outs = json.dumps(block.get("inputs")), json.dumps(block.get("outputs"))
    lines.append(f"inputs: `{ins}` → outputs: `{outs}`")
    if params:
        lines.append("params: " + ", ".join(f"`{k}={json.dumps(v)}`" for k, v in params.items()))
    return "\n".join(lines)


def _layer_of(data: Any, path: Path) -> tuple[str | None, str]:
    """The layer type of the mapping holding ``path``'s key, and that key."""
    key = path[-1] if path else ""
    holder = get(data, path[:-1])
    t = holder.get("type") if isinstance(holder, dict) else None
    return (t if isinstance(t, str) else None), str(key)


def _hover_argument(source: Source, path: Path, is_key: bool) -> str | None:
    """An argument's meaning (hovering its key or its value), a layer type's summary."""
    t, key = _layer_of(source.data, path)
    if t is None:
        return None
    if key == "type":
        why = analysis.refused(t)
        if why:
            return f"**{t}** is not available: {why}"
        info = analysis.layer_info(t)
        return f"**{t}** — {info.doc}" if info else None
    info = analysis.layer_info(t)
    if info is None:
        return None
    for arg in info.arguments:
        if arg.name == key:
            return f"**{key}** ({info.name}): {arg.description}"
    return None
