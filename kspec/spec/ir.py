"""The intermediate representation: frozen, slotted dataclasses.

The IR is symbolic: an argument written ``${units // 4}`` stays an :class:`Expr`, so the subclass
target can emit it as an expression over its constructor arguments, and the functional target
evaluates it with the param values in force. Values are plain data (``None``, bool, int, float,
str, tuples) whose leaves may be :class:`Expr`, or a :class:`LayerSpec` for a nested layer.
Passes never mutate the IR; they build new values (``dataclasses.replace``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from kspec.diagnostics import Span
from kspec.spec.expressions import Expr, evaluate

Value = Any  # plain data, Expr leaves, or LayerSpec


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to a node's (or input's) output; ``index`` for ``node[i]``."""

    node: str
    index: int | None = None

    def __str__(self) -> str:
        return self.node if self.index is None else f"{self.node}[{self.index}]"


@dataclass(frozen=True, slots=True)
class Dict:
    """A mapping value (``call:`` constants, ``compile:`` entries), frozen and ordered."""

    items: tuple[tuple[str, Any], ...]

    def get(self, key: str, default: Any = None) -> Any:
        return next((v for k, v in self.items if k == key), default)


@dataclass(frozen=True, slots=True)
class LayerSpec:
    """A layer constructor: a Keras class name and its keyword arguments, in spec order."""

    type: str
    args: tuple[tuple[str, Value], ...]


@dataclass(frozen=True, slots=True)
class NodeInputs:
    """How a node is called.

    ``form``: ``single`` (one ref: ``layer(x)``), ``list`` (``layer([a, b])``, or positional
    arguments for layers whose call takes several tensors) or ``mapping`` (``layer(x,
    initial_state=[h, c])``: ``refs`` pairs a call argument with a ref or a tuple of refs).
    """

    form: Literal["single", "list", "mapping"]
    refs: tuple[Any, ...]

    def all_refs(self) -> list[Ref]:
        if self.form != "mapping":  # refs are Ref objects
            return list(self.refs)
        out: list[Ref] = []
        for item in self.refs:
            value = item[1] if self.form == "mapping" else item
            out.extend(value if isinstance(value, tuple) else [value])
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """One entry of ``layers``; one of the kinds below: a new layer (:class:`LayerNode`), a
    share of an earlier layer (:class:`ShareNode`), a block instance (:class:`BlockNode`) or a
    tensor op (:class:`OpNode`)."""

    name: str
    inputs: NodeInputs
    call: tuple[tuple[str, Value], ...] = ()
    n_outputs: int = 1  # 0: unknown (a custom layer)
    span: Span | None = None
    pointer: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerNode(Node):
    """``type:`` - a new layer."""

    layer: LayerSpec


@dataclass(frozen=True, slots=True, kw_only=True)
class ShareNode(Node):
    """``share:`` - the layer of node ``target`` called again (its weights shared)."""

    target: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockNode(Node):
    """``block:`` - an instance of block ``block`` with params ``args``; ``repeat``: None (one
    instance) or N chained instances; ``trainable: false`` freezes every layer in it."""

    block: str
    args: tuple[tuple[str, Value], ...] = ()
    repeat: int | Expr | None = None
    trainable: bool | None = None  # `trainable:` as written (None: not given)


@dataclass(frozen=True, slots=True, kw_only=True)
class OpNode(Node):
    """``op:`` - a ``keras.ops`` function called on tensors: ``inputs`` (always a mapping) gives
    each tensor parameter its reference (or tuple of references, for a list parameter); ``args``
    are the other parameters, and the operands given as constants."""

    op: str
    args: tuple[tuple[str, Value], ...] = ()


def owner(node: LayerNode | ShareNode) -> str:
    """The node whose layer a layer or share node calls: itself, or its share target."""
    return node.target if isinstance(node, ShareNode) else node.name


def describe(node: Node) -> str:
    """What a node is, for tables and drawings: its layer type, ``share of x``, ``block b``."""
    if isinstance(node, LayerNode):
        return node.layer.type
    if isinstance(node, ShareNode):
        return f"share of {node.target}"
    if isinstance(node, OpNode):
        return f"op {node.op}"
    assert isinstance(node, BlockNode)
    return f"block {node.block}"


def instance_names(name: str, repeat: int | None) -> list[str]:
    """Keras names of a block node's instances: ``name``, or ``name_1`` .. ``name_N``."""
    return [name] if repeat is None else [f"{name}_{i}" for i in range(1, repeat + 1)]


def node_instances(node: BlockNode, env: Mapping[str, Any]) -> list[str]:
    """The instance names of block node ``node`` of a checked spec (``repeat`` under ``env``)."""
    repeat = evaluate(node.repeat, env) if isinstance(node.repeat, Expr) else node.repeat
    return instance_names(node.name, None if repeat is None else int(repeat))


@dataclass(frozen=True, slots=True)
class Input:
    name: str
    shape: tuple[int | Expr | None, ...] = ()
    dtype: str = "float32"
    batch_size: int | None = None
    sparse: bool = False
    ragged: bool = False


Outputs = Any  # Ref (single), tuple[Ref, ...] (list) or tuple[tuple[str, Ref], ...] (mapping)


@dataclass(frozen=True, slots=True)
class Graph:
    """A layer graph: the model's body, or a block's. ``nodes`` are in topological order."""

    params: tuple[tuple[str, Value], ...]
    inputs: tuple[Input, ...]
    nodes: tuple[Node, ...]
    outputs: Outputs
    outputs_form: Literal["single", "list", "mapping"]

    def output_refs(self) -> list[Ref]:
        if self.outputs_form == "single":
            return [self.outputs]
        if self.outputs_form == "list":
            return list(self.outputs)
        return [ref for _, ref in self.outputs]


@dataclass(frozen=True, slots=True)
class Block:
    name: str
    graph: Graph
    description: str = ""


@dataclass(frozen=True, slots=True)
class Spec:
    """A checked spec, ready to lower. ``graph.params`` holds the defaults in force (after
    overrides); ``source`` and ``sha256`` name the file it came from."""

    name: str
    class_name: str
    description: str
    graph: Graph
    blocks: tuple[Block, ...]
    compile: Any
    imports: tuple[str, ...]
    source: str
    sha256: str  # of the spec's text and of every file it was composed from
    # ``variants:``: name -> (param, value) pairs; ``variant``: the one in force (or None)
    variants: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    variant: str | None = None
    # Where it came from, to check it again with other params, and what the checker's walk
    # over its instances found (kspec.spec.walk.Walk: shapes, layer calls) - not part of the
    # IR's value.
    document: Any = field(default=None, compare=False, repr=False)
    overrides: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    walk: Any = field(default=None, compare=False, repr=False)

    def with_document(self, document: Any, overrides: dict[str, Any]) -> Spec:
        return replace(self, document=document, overrides=dict(overrides))

    def block(self, name: str) -> Block:
        for b in self.blocks:
            if b.name == name:
                return b
        raise KeyError(name)

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.graph.params)
