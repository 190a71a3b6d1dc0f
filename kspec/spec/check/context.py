"""What the checker's stages share: the context that reports, and the drafts they check.

A :class:`Draft` is one node as written, twice: ``sym`` with its expressions parsed (``Expr``
leaves, what the IR keeps) and ``ev`` evaluated with the params in force (what the schema and
the rules check). A :class:`GraphDraft` is the model's or a block's nodes with its inputs,
params and outputs. The stages read drafts, report through the :class:`Ctx`, and the graph
stage turns a clean draft into the IR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from kspec.spec.expressions import Expr
from kspec.spec.ir import Input
from kspec.spec.loader import Path
from kspec.spec.report import Reporter

Kind = Literal["type", "share", "block", "op"]
KINDS: tuple[Kind, ...] = ("type", "share", "block", "op")


@dataclass
class Ctx:
    """The reporter, and what the value stage learnt: which paths hold expressions
    (``expr_paths``) and which failed to evaluate (``failed``: reported once, not again as a
    wrong type); the custom layer modules the spec may use (``imports``)."""

    rep: Reporter
    expr_paths: dict[Path, Expr] = field(default_factory=dict)
    failed: set[Path] = field(default_factory=set)
    imports: tuple[str, ...] = ()

    def line(self, path: Path) -> int | str:
        span = self.rep.doc.span(path)
        return span.line if span else "?"


@dataclass
class Draft:
    """One entry of a ``layers:`` list at ``path``: as written with expressions parsed
    (``sym``) and evaluated (``ev``). Either may be anything YAML allows (the schema says what
    is wrong); the typed views below are None for what is not a proper node (each worked out
    once: the stages ask them of every node, again and again)."""

    path: Path
    sym: Any
    ev: Any
    #: The evaluated mapping, if the entry is a mapping.
    node: dict[str, Any] | None = field(init=False, repr=False, compare=False)
    name: str | None = field(init=False, repr=False, compare=False)
    kinds: list[Kind] = field(init=False, repr=False, compare=False)
    #: ``type`` (a new layer), ``share``, ``block`` or ``op``: exactly one, else None.
    kind: Kind | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        node = self.node = self.ev if isinstance(self.ev, dict) else None
        name = node.get("name") if node is not None else None
        self.name = name if isinstance(name, str) else None
        self.kinds = [k for k in KINDS if k in node] if node is not None else []
        self.kind = self.kinds[0] if len(self.kinds) == 1 else None


@dataclass
class GraphDraft:
    """The model's graph or a block's: its nodes, inputs, params and outputs as written."""

    scope: Literal["model", "block"]
    base: Path  # the path of its `layers` list
    nodes: list[Draft]
    inputs: tuple[Input, ...]
    params: dict[str, Any]
    outputs: Any


@dataclass
class BlockSig:
    """What a block node needs to know of its block: input names, output count, params."""

    inputs: list[str]
    n_outputs: int
    params: dict[str, Any]


def path_of_pointer(pointer: str) -> Path:
    """The document path a JSON pointer names (list indexes as ints)."""
    return tuple(int(p) if p.isdigit() else p for p in pointer.strip("/").split("/"))
