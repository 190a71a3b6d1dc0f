"""Block definitions, and their graphs replayed for any input types and params: what a block
instance outputs, computed from the drawn body."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kspec.testing._oracle import (
    TT,
    _layer_out,
    _pos,
    _shareable,
)
from kspec.testing._values import (
    Param,
    _ev,
    _render,
)

# -- graphs and blocks, replayed for any input types and params ---------------------------


@dataclass
class BlockDef:
    name: str
    params: list[Param]
    inputs: list[str]
    example: list[TT]  # the input types it was drawn for
    nodes: list[dict[str, Any]]
    outputs: list[str]
    outputs_list: bool  # outputs written as a list (even of one)
    description: str | None = None

    def env(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        return {**{p.name: p.default for p in self.params}, **overrides}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.description:
            out["description"] = self.description
        if self.params:
            out["params"] = {p.name: p.default for p in self.params}
        out["inputs"] = list(self.inputs)
        out["layers"] = [_render(n) for n in self.nodes]
        out["outputs"] = (
            list(self.outputs) if self.outputs_list or len(self.outputs) > 1 else self.outputs[0]
        )
        return out


def _split_ref(ref: str) -> tuple[str, int | None]:
    if ref.endswith("]"):
        name, index = ref[:-1].split("[")
        return name, int(index)
    return ref, None


def _run_graph(
    input_names: Sequence[str],
    ins: Sequence[TT],
    nodes: Sequence[dict[str, Any]],
    outputs: Sequence[str],
    env: Mapping[str, Any],
    blocks: Mapping[str, BlockDef],
) -> list[TT] | None:
    """Replay a graph: the types of its outputs, or None if some node would be invalid."""
    values: dict[str, list[TT]] = {n: [tt] for n, tt in zip(input_names, ins, strict=True)}
    built: dict[str, tuple[str, dict[str, Any], dict[str, Any], TT]] = {}

    def ref(r: str) -> TT | None:
        name, index = _split_ref(r)
        got = values.get(name)
        if got is None:
            return None
        if index is None:
            return got[0] if len(got) == 1 else None
        return got[index] if index < len(got) else None

    def resolve(raw: Any) -> Any:
        if isinstance(raw, str):
            return ref(raw)
        if isinstance(raw, list):
            items = [ref(r) for r in raw]
            return None if any(i is None for i in items) else items
        if isinstance(raw, dict):
            out = {k: resolve(v) for k, v in raw.items()}
            return None if any(v is None for v in out.values()) else out
        return None

    def names(raw: Any) -> set[str]:
        if isinstance(raw, str):
            return {_split_ref(raw)[0]}
        items = raw.values() if isinstance(raw, dict) else raw
        return {n for item in items for n in names(item)}

    # a node without `inputs` takes the previous node in spec order (or the only input)
    pending: list[tuple[dict[str, Any], Any]] = []
    previous: str | None = input_names[0] if len(input_names) == 1 else None
    for node in nodes:
        ev = _ev(node, env)
        raw = ev.get("inputs", previous)
        if raw is None:
            return None
        pending.append((ev, raw))
        previous = ev["name"]
    # evaluate in dependency order (a node may refer to a later one)
    while pending:
        ready = [
            (ev, raw)
            for ev, raw in pending
            if names(raw) <= set(values) and ("share" not in ev or ev["share"] in built)
        ]
        if not ready:
            return None
        ev, raw = ready[0]
        pending.remove((ev, raw))
        got = resolve(raw)
        if got is None:
            return None
        outs = _node_out(ev, got, built, blocks)
        if outs is None:
            return None
        values[ev["name"]] = outs
    result = [ref(r) for r in outputs]
    return None if any(r is None for r in result) else result  # type: ignore[return-value]


def _node_out(
    ev: dict[str, Any],
    got: Any,
    built: dict[str, tuple[str, dict[str, Any], dict[str, Any], TT]],
    blocks: Mapping[str, BlockDef],
) -> list[TT] | None:
    """The output types of one evaluated node called on ``got``."""
    call = ev.get("call") or {}
    if "block" in ev:
        b = blocks[ev["block"]]
        inner_env = b.env(
            {k: v for k, v in ev.items() if k not in ("name", "block", "inputs", "repeat")}
        )
        if isinstance(got, dict):
            if set(got) != set(b.inputs):
                return None
            current = [got[k] for k in b.inputs]
        else:
            current = [got] if isinstance(got, TT) else list(got)
        repeat = ev.get("repeat")
        count = 1 if repeat is None else repeat
        if not _pos(count) or (repeat is not None and len(b.inputs) != len(b.outputs)):
            return None
        outs = None
        for _ in range(count):
            if len(current) != len(b.inputs):
                return None
            outs = _run_graph(b.inputs, current, b.nodes, b.outputs, inner_env, blocks)
            if outs is None:
                return None
            current = outs
        return outs
    arg: Any = [got] if isinstance(got, TT) else got
    main = arg[0] if isinstance(arg, list) else None
    if isinstance(got, dict):
        main = got.get("sequences") or got.get("query") or got.get("inputs")
    if "share" in ev:
        target = built.get(ev["share"])
        if target is None or not isinstance(arg, list) or len(arg) != 1:
            return None
        if not _shareable(target[0], target[3], arg[0]):
            return None
        return _layer_out(target[0], target[1], arg, {**target[2], **call})
    t = ev["type"]
    a = {k: v for k, v in ev.items() if k not in ("name", "type", "inputs", "call")}
    outs = _layer_out(t, a, arg, call)
    if outs is not None and isinstance(main, TT):
        built[ev["name"]] = (t, a, call, main)
    return outs
