"""Completion: which keys, names or values fit where the cursor is.

The text being typed is seldom valid YAML, so the context comes from the document with a marker
written at the cursor (``- {name: h, type: Dense, |}`` becomes ``... Dense, KSPEC__}``): if
that loads, the marker's place in the data says what is asked, a key of a node (its layer's
arguments), a reference (``inputs:``, ``outputs:``, ``share:``), a block, a layer type, a
param (after ``$``) or one of an argument's values. Flow mappings work like block ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from kspec.lsp import analysis
from kspec.lsp.analysis import Path, Source
from kspec.lsp.symbols import BLOCK_NODE_KEYS, Index, get, scope_of

MARK = "KSPEC__"

TOP_KEYS = {
    "kspec": "Format version: 1.",
    "name": "Model name (the Keras name=).",
    "class_name": "Name of the generated class (default: PascalCase of name).",
    "description": "Docstring of the generated class.",
    "params": "Hyperparameters: name -> default value.",
    "inputs": "Model inputs: name -> {shape, dtype?, batch_size?, sparse?, ragged?}.",
    "layers": "The nodes of the graph, in order.",
    "outputs": "What the model returns: a reference, a list, or output_name -> reference.",
    "blocks": "Reusable sub-graphs: name -> block.",
    "compile": "Arguments of model.compile: optimizer, loss, metrics, loss_weights.",
    "imports": "Modules that may provide custom layer types.",
}
NODE_KEYS = {
    "name": "Unique name of the node (the Keras layer name).",
    "type": "The Keras layer class (a new layer).",
    "share": "Apply the layer of an earlier `type:` node again (same weights).",
    "block": "An instance of a block; the other keys are its params.",
    "inputs": "What the node is applied to (default: the previous node).",
    "call": "Constant keyword arguments of the layer call.",
}
BLOCK_KEYS = {"repeat": "Chain this many instances (named name_1 .. name_N)."}
NESTED_KEYS = ("layer", "backward_layer", "cell")

Kind = Literal["key", "name", "value", "type", "param"]


@dataclass(frozen=True)
class Item:
    label: str
    kind: Kind
    detail: str = ""
    documentation: str = ""
    insert: str = ""  # the text written (default: the label)


@dataclass(frozen=True)
class Context:
    path: Path  # of the key or value being typed
    is_key: bool
    partial: str  # what is typed before the cursor, replaced by the item
    source: Source


def context(text: str, line: int, character: int) -> Context | None:
    """Where the cursor is in the document's structure (0-based line, code-point column)."""
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        return None
    current = lines[line]
    before, after = current[:character], current[character:]
    typed = _typed(before)
    for variant in (MARK, MARK + ": "):
        lines[line] = before + variant + after
        source = analysis.load("\n".join(lines))
        found = _find(source.data, ()) if source else None
        if source is not None and found is not None:
            path, is_key, prefix = found
            if prefix.strip() != prefix or " " in prefix:  # it continued another scalar
                continue
            return Context(path, is_key, typed if prefix.endswith(typed) else prefix, source)
    return None


def _typed(before: str) -> str:
    """What is being typed at the end of ``before``: a word, maybe after ``$`` or ``${``
    (scanned from the end: a regular expression searched over a long line would be
    quadratic)."""
    i = len(before)
    while i > 0 and (before[i - 1].isalnum() or before[i - 1] == "_") and before[i - 1].isascii():
        i -= 1
    if i > 0 and before[i - 1] == "{":
        i -= 1
    if i > 0 and before[i - 1] == "$":
        i -= 1
    return before[i:]


def _find(data: Any, path: Path) -> tuple[Path, bool, str] | None:
    """The marker: its path, whether it is in a key, and the text before it there."""
    stack: list[tuple[Any, Path]] = [(data, path)]
    while stack:
        value, p = stack.pop()
        if isinstance(value, str) and MARK in value:
            return p, False, value.split(MARK, 1)[0]
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(k, str) and MARK in k:
                    return (*p, k), True, k.split(MARK, 1)[0]
                stack.append((v, (*p, k)))
        elif isinstance(value, list):
            stack += [(v, (*p, i)) for i, v in enumerate(value)]
    return None


def complete(ctx: Context, index: Index | None) -> list[Item]:
    path, data = ctx.path, ctx.source.data
    if ctx.partial.startswith("$"):
        return _params(data, scope_of(path), ctx.partial)
    node_path = _node_path(path)
    if ctx.is_key:
        if len(path) == 1:
            return _keys(TOP_KEYS, data)
        holder = path[:-1]
        if holder == node_path:
            return _node_keys(data, holder)
        if _is_nested(holder, node_path):
            return _layer_keys(get(data, holder), nested=True)
        return []
    if node_path is not None and len(path) == len(node_path):  # `- |`: a new node's first key
        return _keys(NODE_KEYS, {})
    if node_path is None:
        if path[:1] == ("outputs",):
            return _tensors(index, "", None)
        if len(path) >= 3 and path[0] == "blocks" and path[2] == "outputs":
            return _tensors(index, str(path[1]), None)
        return []
    key = path[len(node_path)]
    node = get(data, node_path)
    own = node.get("name") if isinstance(node, dict) else None
    if key == "inputs":
        return _tensors(index, scope_of(path), own if isinstance(own, str) else None)
    if key == "share":
        return _tensors(index, scope_of(path), own, layers_only=data)
    if key == "block":
        return _blocks(data)
    if path[-1] == "type" and (len(path) == len(node_path) + 1 or _is_nested(path[:-1], node_path)):
        return [Item(n, "type", "layer", doc) for n, doc in analysis.layer_types()]
    return _values(data, path)


def _node_path(path: Path) -> Path | None:
    if len(path) >= 2 and path[0] == "layers" and isinstance(path[1], int):
        return path[:2]
    if len(path) >= 4 and path[0] == "blocks" and path[2] == "layers" and isinstance(path[3], int):
        return path[:4]
    return None


def _is_nested(holder: Path, node_path: Path | None) -> bool:
    """Whether ``holder`` is a nested layer mapping (``layer:``, ``cell:``, ``layers: [..]``)."""
    if node_path is None or len(holder) <= len(node_path):
        return False
    last = holder[-1]
    return last in NESTED_KEYS or (isinstance(last, int) and holder[-2] in ("layers", "cells"))


def _keys(keys: dict[str, str], present: Any) -> list[Item]:
    have = present if isinstance(present, dict) else {}
    return [Item(k, "key", "", doc, f"{k}: ") for k, doc in keys.items() if _free(k, have)]


def _free(key: str, have: dict[str, Any]) -> bool:
    return key not in have or MARK in key


def _node_keys(data: Any, node_path: Path) -> list[Item]:
    node = get(data, node_path)
    have = {k: v for k, v in node.items() if MARK not in k} if isinstance(node, dict) else {}
    if "type" in have:
        return [
            *_keys({k: NODE_KEYS[k] for k in ("name", "inputs", "call")}, have),
            *_layer_keys(have, nested=False),
        ]
    if "share" in have:
        return _keys({k: NODE_KEYS[k] for k in ("name", "inputs", "call")}, have)
    if "block" in have:
        items = _keys({k: NODE_KEYS[k] for k in ("name", "inputs")} | BLOCK_KEYS, have)
        params = get(data, ("blocks", str(have["block"]), "params"))
        for p, default in params.items() if isinstance(params, dict) else ():
            if p not in have and p not in BLOCK_NODE_KEYS:
                items.append(Item(p, "key", f"block param (default {default!r})", "", f"{p}: "))
        return items
    return _keys(NODE_KEYS, have)


def _layer_keys(mapping: Any, nested: bool) -> list[Item]:
    have = mapping if isinstance(mapping, dict) else {}
    t = have.get("type")
    info = analysis.layer_info(t) if isinstance(t, str) else None
    if info is None:
        return _keys({"type": NODE_KEYS["type"]}, have) if nested else []
    items = _keys({"type": NODE_KEYS["type"]}, have) if nested else []
    for arg in info.arguments:
        if _free(arg.name, have):
            required = " (required)" if arg.name in info.required else ""
            items.append(
                Item(arg.name, "key", f"{info.name}{required}", arg.description, f"{arg.name}: ")
            )
    return items


def _tensors(
    index: Index | None, scope: str, own: str | None, layers_only: Any = None
) -> list[Item]:
    if index is None:
        return []
    items = []
    for d in index.definitions("tensor", scope):
        if d.name == own:
            continue
        node = get(layers_only, d.path[:-1]) if layers_only is not None else None
        if layers_only is not None and not (
            isinstance(node, dict) and "type" in node and d.path[-1] == "name"
        ):
            continue
        items.append(Item(d.name, "name", _what(index, d.path)))
    return items


def _what(index: Index, path: Path) -> str:
    return "input" if path[-1] != "name" else "node"


def _blocks(data: Any) -> list[Item]:
    blocks = get(data, ("blocks",))
    return [Item(b, "name", "block") for b in blocks] if isinstance(blocks, dict) else []


def _params(data: Any, scope: str, partial: str) -> list[Item]:
    params = get(data, ("blocks", scope, "params") if scope else ("params",))
    if not isinstance(params, dict):
        return []
    braces = partial.startswith("${")
    return [
        Item(
            ("${" if braces else "$") + p,
            "param",
            f"param (default {v!r})",
            "",
            ("${" + p if braces else "$" + p),
        )
        for p, v in params.items()
    ]


def _values(data: Any, path: Path) -> list[Item]:
    """The listed values of the argument being written (``padding: same``, activations)."""
    holder = get(data, path[:-1])
    t = holder.get("type") if isinstance(holder, dict) else None
    info = analysis.layer_info(t) if isinstance(t, str) else None
    if info is None:
        return []
    for arg in info.arguments:
        if arg.name == path[-1]:
            return [Item(_yaml(v), "value", info.name) for v in arg.values]
    return []


def _yaml(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
