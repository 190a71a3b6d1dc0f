"""The importer's own intermediate form: a Keras graph read into plain data (nodes with their
arguments and wiring), which the block finder rewrites and the writer prints as YAML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kspec.diagnostics import Diagnostic, KspecError


class Expr(str):
    """A value the spec writes as an expression (``$filters``, ``${filters * 4}``); any other
    string that starts with ``$`` is data, written with ``$$``."""


@dataclass(frozen=True)
class Ref:
    """A tensor: the output of node (or input) ``name``; ``index`` when it has several."""

    name: str
    index: int | None = None

    def text(self) -> str:
        return self.name if self.index is None else f"{self.name}[{self.index}]"


# What a node is applied to: one tensor, a list, or a mapping call argument -> tensor(s).
Wiring = Ref | list[Ref] | dict[str, Ref | list[Ref]] | None


def refs_of(wiring: Any) -> list[Ref]:
    """Every tensor in ``wiring`` (or in an outputs structure), in order."""
    if isinstance(wiring, Ref):
        return [wiring]
    if isinstance(wiring, dict):
        return [r for v in wiring.values() for r in refs_of(v)]
    if isinstance(wiring, list):
        return [r for v in wiring for r in refs_of(v)]
    return []


def map_refs(wiring: Any, fn: Any) -> Any:
    """``wiring`` with every :class:`Ref` replaced by ``fn(ref)``."""
    if isinstance(wiring, Ref):
        return fn(wiring)
    if isinstance(wiring, dict):
        return {k: map_refs(v, fn) for k, v in wiring.items()}
    if isinstance(wiring, list):
        return [map_refs(v, fn) for v in wiring]
    return wiring


@dataclass
class Node:
    """One spec node. ``kind`` is ``type``, ``share``, ``op`` or ``block``; ``target`` the layer
    type, shared node, op name or block name. ``args`` are what the spec writes (constructor
    arguments that differ from Keras' defaults, op constants, block params); ``full`` are the
    same with the defaults, which the block finder compares between instances."""

    name: str
    kind: str
    target: str
    args: dict[str, Any] = field(default_factory=dict)
    full: dict[str, Any] = field(default_factory=dict)
    inputs: Wiring = None
    call: dict[str, Any] = field(default_factory=dict)
    n_outputs: int = 1
    weighted: bool = False
    anonymous: bool = False  # a weightless node with a name Keras made up (``add_3``)
    repeat: int | None = None


@dataclass
class Graph:
    """A model's or a block's graph: inputs (name -> the spec's input entry; empty entries in a
    block), nodes in a topological order, outputs (a Ref, a list, or a mapping name -> Ref)."""

    inputs: dict[str, dict[str, Any]]
    nodes: list[Node]
    outputs: Any


@dataclass
class Block:
    name: str
    params: dict[str, Any]
    graph: Graph
    description: str | None = None
    by_structure: bool = False  # found by structure: its layers lost Keras' made-up numbering


@dataclass
class Imported:
    """The spec of an imported model, and what the importer had to leave out (warnings)."""

    name: str
    graph: Graph
    blocks: list[Block] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)


def error(code: str, message: str, hint: str | None = None) -> KspecError:
    """An import problem (exit status 2 from the command line)."""
    return KspecError([Diagnostic(code, message, hint=hint)])


def warning(message: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic("KS914", message, severity="warning", hint=hint)
