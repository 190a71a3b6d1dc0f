"""The one walk over a checked spec's instances.

Every layer call of the model, in the order the model runs it, inside every block instance (a
block node with ``repeat: 3`` is three instances, each with the params it is given), is visited
once: its arguments are evaluated with the params in force there, its input shapes are known from
the calls before it, the layer registry (:mod:`kspec.layers`) gives its output shapes, and the
call that builds each layer (its first) is marked, so its weights count there. The result, a
:class:`Walk`, is what shape inference reports from, and what ``summary --static``, ``plot``,
``check --shapes`` and ``verify`` read; nothing walks the model again.

Only definite problems are reported (KS401-KS409), at the node that consumes the offending
tensor: a shape that Keras would reject when building the model. Whenever a rule cannot be
applied for sure, the result is unknown and nothing is reported: never a false error.

The walk is iterative: each graph run is a generator that hands block instances to a driver
loop, so neither ``repeat: 1500`` nor nested blocks grow the Python stack; and it is bounded
(:data:`MAX_EVALUATIONS`), so a hostile spec (nested repeats) cannot take forever. TensorFlow-free.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kspec.layers import (
    BAD_VALUE,
    OPS,
    Call,
    Count,
    Nested,
    Shape,
    ShapeError,
    Shapes,
    Unknown,
    apply_op,
    apply_shape,
    apply_weights,
    check_share,
    constant_shape,
    make_call,
)
from kspec.layers.macs import apply_macs, apply_op_macs
from kspec.spec.expressions import Expr, ExprError, evaluate
from kspec.spec.ir import (
    Block,
    BlockNode,
    Dict,
    Graph,
    LayerNode,
    LayerSpec,
    Node,
    NodeInputs,
    OpNode,
    Ref,
    ShareNode,
    Spec,
    instance_names,
)
from kspec.spec.ir import owner as ir_owner
from kspec.spec.report import Reporter

NodePath = tuple[str, ...]
#: A tensor as the walk knows it: its shape (None: unknown) and the path of the call (or input)
#: that produced it.
Tensor = tuple[Shape | None, NodePath | None]

#: How many node evaluations one walk may make (block instances included); past it the
#: remaining shapes are left unknown.
MAX_EVALUATIONS = 50_000


@dataclass(slots=True)
class LayerCall:
    """One call of a layer: ``path`` names it (``("stage1_2", "conv")`` for node ``conv`` in the
    second instance of ``stage1``), ``owner`` is the node whose layer it calls (itself, or the
    target of a ``share:``), ``call`` what the registry's rules are applied to, ``first``
    whether it builds the layer, ``sources`` the paths that produced its inputs."""

    path: NodePath
    node: LayerNode | ShareNode
    owner: LayerNode
    call: Call
    outputs: Shapes
    first: bool
    sources: tuple[NodePath | None, ...]

    def weights(self) -> Count | None:
        """The weights this call creates (None: not known statically); (0, 0) unless ``first``."""
        if not self.first:
            return (0, 0)
        try:
            return apply_weights(self.call)
        except Unknown:
            return None

    def macs(self) -> int | None:
        """The multiply-adds of this call, per example (every call counts, a shared layer's
        too; None: not known statically). See :mod:`kspec.layers.macs`."""
        try:
            return apply_macs(self.call)
        except (Unknown, ShapeError):
            return None


@dataclass(slots=True)
class OpCall:
    """One op node's call: ``call.type`` is the op, ``call.inputs`` each tensor parameter's
    shape (a constant's too). Ops have no weights."""

    path: NodePath
    node: OpNode
    call: Call
    outputs: Shapes
    sources: tuple[NodePath | None, ...]

    def macs(self) -> int | None:
        """The multiply-adds of this call, per example (None: not known statically)."""
        try:
            return apply_op_macs(self.call)
        except (Unknown, ShapeError):
            return None


@dataclass(frozen=True)
class Instance:
    """One block instance: ``path`` names it, ``env`` holds its params, ``sources`` the paths
    that produced its inputs."""

    path: NodePath
    node: BlockNode
    block: Block
    env: Mapping[str, Any]
    inputs: Shapes
    sources: tuple[NodePath | None, ...]


@dataclass(frozen=True)
class End:
    """The end of an instance's steps."""

    instance: Instance


Step = LayerCall | OpCall | Instance | End


@dataclass
class Walk:
    """What the walk found: every node path's output shapes (inputs and block instances too),
    and the steps in the order the model runs them. ``complete`` is False when the walk was
    cut short (:data:`MAX_EVALUATIONS`): what it did not reach is unknown."""

    shapes: dict[NodePath, Shapes] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    complete: bool = True
    evaluations: int = 0

    @property
    def calls(self) -> list[LayerCall]:
        return [s for s in self.steps if isinstance(s, LayerCall)]

    @property
    def instances(self) -> list[Instance]:
        return [s for s in self.steps if isinstance(s, Instance)]

    def model_outputs(self, spec: Spec) -> Shapes:
        """The model's output shapes in Keras' flattened order (mapping outputs by sorted key)."""
        graph = spec.graph

        def shape(ref: Ref) -> Shape | None:
            outs = self.shapes.get((ref.node,))
            i = ref.index or 0
            return outs[i] if outs is not None and i < len(outs) else None

        if graph.outputs_form == "mapping":
            return [shape(ref) for _, ref in sorted(graph.outputs, key=lambda kv: kv[0])]
        return [shape(ref) for ref in graph.output_refs()]


# -- values ---------------------------------------------------------------------------------


def value(v: Any, env: Mapping[str, Any]) -> Any:
    """A plain value: expressions evaluated with ``env`` (BAD_VALUE when that fails), tuples as
    lists, Dict as dict."""
    if isinstance(v, Expr):
        try:
            return evaluate(v, env)
        except ExprError:
            return BAD_VALUE
    if isinstance(v, tuple):
        return [value(x, env) for x in v]
    if isinstance(v, Dict):
        return {k: value(x, env) for k, x in v.items}
    return v


def evaluate_args(layer: LayerSpec, env: Mapping[str, Any]) -> dict[str, Any]:
    """``layer``'s arguments as plain values under ``env``, nested layers as ``Nested``."""
    return {key: _evaluated(v, env) for key, v in layer.args}


def _evaluated(v: Any, env: Mapping[str, Any]) -> Any:
    if isinstance(v, LayerSpec):
        return Nested(v.type, evaluate_args(v, env))
    if isinstance(v, tuple) and any(isinstance(x, LayerSpec) for x in v):
        return [_evaluated(x, env) for x in v]  # StackedRNNCells' cells, Pipeline's layers
    return value(v, env)


# -- the walk -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    """A block instance to run: the driver runs its graph and sends back its outputs."""

    instance: Instance
    inputs: list[Tensor]
    trail: tuple[tuple[str, Node], ...]


@dataclass
class _State:
    rep: Reporter | None
    blocks: dict[str, Block]
    walk: Walk
    reported: set[tuple[str, str]] = field(default_factory=set)


def _path_of(node: Node) -> tuple[str | int, ...]:
    """The document path of a node (its ``pointer`` split; list indexes as ints)."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in node.pointer.split("/")[1:]]
    return tuple(
        int(p) if k and parts[k - 1] == "layers" and p.isdigit() else p for k, p in enumerate(parts)
    )


def _report(st: _State, node: Node, trail: tuple[tuple[str, Node], ...], err: ShapeError) -> None:
    if st.rep is None or (err.code, node.pointer) in st.reported:
        return
    st.reported.add((err.code, node.pointer))
    notes: tuple[str, ...] = ()
    if trail:
        chain = " > ".join(name for name, _ in trail)
        outer = trail[0][1]
        line = f" at line {outer.span.line}" if outer.span else ""
        notes = (f"in block instance {chain} (block node {outer.name!r}{line})",)
    st.rep.add(err.code, err.message, _path_of(node), hint=err.hint, node=node.name, notes=notes)


def _ref(values: Mapping[str, list[Tensor]], ref: Ref) -> Tensor:
    outs = values.get(ref.node)
    i = ref.index or 0
    if outs is None or i >= len(outs):
        return None, None
    return outs[i]


def _layer_inputs(
    ni: NodeInputs, values: Mapping[str, list[Tensor]]
) -> tuple[Any, list[str], list[NodePath | None]]:
    """The shapes a layer node is called on (in the structure the registry's calls take),
    labels naming them, and the paths that produced them."""
    sources = [_ref(values, r)[1] for r in ni.all_refs()]
    if ni.form == "single":
        if not ni.refs:
            return None, [], sources
        return _ref(values, ni.refs[0])[0], [str(ni.refs[0])], sources
    if ni.form == "list":
        return [_ref(values, r)[0] for r in ni.refs], [str(r) for r in ni.refs], sources
    out: dict[str, Any] = {}
    labels: list[str] = []
    for key, v in ni.refs:
        if isinstance(v, tuple):
            out[key] = [_ref(values, r)[0] for r in v]
            labels.extend(str(r) for r in v)
        else:
            out[key] = _ref(values, v)[0]
            labels.append(str(v))
    return out, labels, sources


def _run(
    st: _State,
    graph: Graph,
    env: Mapping[str, Any],
    inputs: Sequence[Tensor],
    prefix: NodePath,
    trail: tuple[tuple[str, Node], ...],
) -> Generator[_Request, list[Tensor], list[Tensor]]:
    """Walk ``graph``; yields block instances for the driver to run."""
    w = st.walk
    values: dict[str, list[Tensor]] = {}
    for inp, (shape, _) in zip(graph.inputs, inputs, strict=False):
        w.evaluations += 1
        values[inp.name] = [(shape, (*prefix, inp.name))]
        w.shapes[(*prefix, inp.name)] = [shape]
    owners = {n.name: n for n in graph.nodes if isinstance(n, LayerNode)}
    built: dict[str, Call] = {}  # layer -> the call that built it
    first_node: dict[str, str] = {}
    for node in graph.nodes:
        w.evaluations += 1
        path = (*prefix, node.name)
        unknown: list[Tensor] = [(None, path)] * max(node.n_outputs, 1)
        if w.evaluations > MAX_EVALUATIONS:
            w.complete = False
            values[node.name] = unknown
            continue
        if isinstance(node, BlockNode):
            outs = yield from _block_node(st, node, env, values, prefix, trail)
        elif isinstance(node, OpNode):
            outs = _op_node(st, node, env, values, prefix, trail)
        else:
            assert isinstance(node, LayerNode | ShareNode)
            owner = owners.get(ir_owner(node))
            outs = unknown
            if owner is not None:
                outs = _layer_node(st, node, owner, env, values, (built, first_node), prefix, trail)
        if len(outs) != node.n_outputs and node.n_outputs:  # 0: a custom layer's, unknown
            outs = unknown
        values[node.name] = outs
        w.shapes[path] = [shape for shape, _ in outs]
    return [_ref(values, r) for r in graph.output_refs()]


def _layer_node(
    st: _State,
    node: LayerNode | ShareNode,
    owner: LayerNode,
    env: Mapping[str, Any],
    values: Mapping[str, list[Tensor]],
    builds: tuple[dict[str, Call], dict[str, str]],
    prefix: NodePath,
    trail: tuple[tuple[str, Node], ...],
) -> list[Tensor]:
    built, first_node = builds
    path = (*prefix, node.name)
    inputs, labels, sources = _layer_inputs(node.inputs, values)
    call = make_call(
        owner.layer.type,
        evaluate_args(owner.layer, env),
        inputs,
        {k: value(v, env) for k, v in node.call},
        labels,
    )
    earlier = built.get(owner.name)
    if earlier is None:  # this call builds the layer (even on a shape not known here)
        built[owner.name] = call
        first_node[owner.name] = node.name
    shapes: Shapes = [None] * max(node.n_outputs, 1)
    try:
        outs = apply_shape(call)
        if earlier is not None:
            x = _main(call)
            if x is not None:
                check_share(earlier, x, owner.name, first_node[owner.name])
        shapes = outs
    except Unknown:
        pass
    except ShapeError as err:
        _report(st, node, trail, err)
    st.walk.steps.append(
        LayerCall(path, node, owner, call, shapes, earlier is None, tuple(sources))
    )
    return [(shape, path) for shape in shapes]


def _op_node(
    st: _State,
    node: OpNode,
    env: Mapping[str, Any],
    values: Mapping[str, list[Tensor]],
    prefix: NodePath,
    trail: tuple[tuple[str, Node], ...],
) -> list[Tensor]:
    path = (*prefix, node.name)
    op = OPS[node.op]
    args = {k: value(v, env) for k, v in node.args}
    given = dict(node.inputs.refs)
    inputs: dict[str, Any] = {}
    labels: list[str] = []
    for param in op.tensors:
        if param in given:
            refs = given[param]
            if isinstance(refs, tuple):
                inputs[param] = [_ref(values, r)[0] for r in refs]
                labels.extend(str(r) for r in refs)
            else:
                inputs[param] = _ref(values, refs)[0]
                labels.append(str(refs))
        elif param in args:
            inputs[param] = constant_shape(args[param])
    call = Call(node.op, args, inputs, {}, labels)
    shapes: Shapes = [None] * max(node.n_outputs, 1)
    try:
        shapes = apply_op(call)
    except Unknown:
        pass
    except ShapeError as err:
        _report(st, node, trail, err)
    sources = tuple(_ref(values, r)[1] for r in node.inputs.all_refs())
    st.walk.steps.append(OpCall(path, node, call, shapes, sources))
    return [(shape, path) for shape in shapes]


def _main(call: Call) -> Shape | None:
    try:
        return call.x
    except Unknown:
        return None


def _block_node(
    st: _State,
    node: BlockNode,
    env: Mapping[str, Any],
    values: Mapping[str, list[Tensor]],
    prefix: NodePath,
    trail: tuple[tuple[str, Node], ...],
) -> Generator[_Request, list[Tensor], list[Tensor]]:
    path = (*prefix, node.name)
    unknown: list[Tensor] = [(None, path)] * max(node.n_outputs, 1)
    block = st.blocks.get(node.block)
    if block is None:
        return unknown
    repeat: int | None = None
    if node.repeat is not None:
        r = value(node.repeat, env)
        if not isinstance(r, int) or isinstance(r, bool) or r < 1:
            return unknown
        repeat = r
    inst_env = dict(block.graph.params)
    for key, v in node.args:
        evaluated = value(v, env)
        if evaluated is BAD_VALUE:
            inst_env.pop(key, None)  # expressions using it cannot be evaluated: unknown
        else:
            inst_env[key] = evaluated
    if node.inputs.form == "mapping":
        by_name = dict(node.inputs.refs)
        refs = [by_name.get(i.name) for i in block.graph.inputs]
    else:
        refs = list(node.inputs.all_refs())
    tensors: list[Tensor] = [_ref(values, r) if isinstance(r, Ref) else (None, None) for r in refs]
    outs = unknown
    for inst in instance_names(node.name, repeat):
        if st.walk.evaluations > MAX_EVALUATIONS:
            st.walk.complete = False
            return unknown
        instance = Instance(
            (*prefix, inst),
            node,
            block,
            inst_env,
            [shape for shape, _ in tensors],
            tuple(source for _, source in tensors),
        )
        outs = yield _Request(instance, tensors, (*trail, (inst, node)))
        if repeat is not None:
            st.walk.shapes[(*prefix, inst)] = [shape for shape, _ in outs]
        tensors = outs
    return outs


def _input_shape(shape: Sequence[Any], batch: int | None, env: Mapping[str, Any]) -> Shape:
    dims: list[int | None] = []
    for d in shape:
        v = value(d, env)
        dims.append(int(v) if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else None)
    return (batch, *dims)


def walk(spec: Spec, rep: Reporter | None = None) -> Walk:
    """Walk ``spec`` (see the module docstring); definite shape problems go to ``rep``.

    Paths: ``("hidden1",)`` for a node of the model, ``("stage1", "conv")`` for node ``conv``
    inside block instance ``stage1`` (``("stage1_2", "conv")`` for the second instance of a
    repeated block node; ``("stage1",)`` is then the last instance's outputs), and inputs too
    (``("image",)``).
    """
    with paused_gc():
        return _walk(spec, rep)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Python's cycle collector paused: the walk allocates tens of thousands of small, acyclic
    records, and the collector's passes over them cost more than the walk itself (measured:
    2.3x). Whatever cycle is made meanwhile is collected once it resumes."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _walk(spec: Spec, rep: Reporter | None) -> Walk:
    st = _State(rep, {b.name: b for b in spec.blocks}, Walk())
    env = spec.params
    inputs: list[Tensor] = [
        (_input_shape(i.shape, i.batch_size, env), None) for i in spec.graph.inputs
    ]
    stack: list[tuple[Generator[_Request, list[Tensor], list[Tensor]], Instance | None]] = [
        (_run(st, spec.graph, env, inputs, (), ()), None)
    ]
    sent: list[Tensor] | None = None
    while stack:
        gen, _ = stack[-1]
        try:
            request = gen.send(sent)  # type: ignore[arg-type]
        except StopIteration as stop:
            _, instance = stack.pop()
            if instance is not None:
                st.walk.steps.append(End(instance))
            sent = stop.value
            continue
        inst = request.instance
        st.walk.steps.append(inst)
        graph = inst.block.graph
        stack.append((_run(st, graph, inst.env, request.inputs, inst.path, request.trail), inst))
        sent = None
    return st.walk
