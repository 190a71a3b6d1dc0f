"""The functional target: a module whose ``build_model(**params)`` builds the model with the
Functional API (``tf.keras.Input`` -> layers -> ``tf.keras.Model(inputs, outputs)``).

Each block becomes a function that builds a nested functional model for the shapes of the
tensors it is given, and applies it; so ``summary()`` shows the block as one layer, like the
subclass target's block layer, and both targets have the same weights in the same places.
``kspec.build_model(..., target="functional")`` runs exactly this source.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from kspec.compiler import helpers, lower
from kspec.compiler.naming import Namespace
from kspec.compiler.source import keras, layer_call, literal, py_str
from kspec.spec.ir import Block, BlockNode, Graph, LayerNode, OpNode, ShareNode, Spec
from kspec.spec.ir import owner as ir_owner


def generate(spec: Spec, overrides: Mapping[str, Any] | None = None) -> lower.Lowered:
    """The functional module for ``spec``."""
    m = lower.Module(spec)
    # a block function takes the Keras name as `name=`: no function may itself be `name`
    funcs = {
        b.name: m.names.fresh(b.name if b.name != "name" else "name_block") for b in spec.blocks
    }
    deep = helpers.is_deep(spec)
    m.start("functional", overrides, ("contextlib", "sys") if deep else ())
    if deep:
        helpers.write_deep_recursion(m.w)
    for block in spec.blocks:
        m.w.blank(2)
        _block_function(m, block, funcs)
    m.w.blank(2)
    ns, args = m.param_names(spec.graph)
    signature = ", ".join(f"{args[p]}={literal(v)}" for p, v in spec.graph.params)
    w = m.w
    build = "build_model"
    if spec.variants:  # build_model(variant=None, **params) calls the function of the params
        build = m.names.fresh("build_from_params")
        _variant_function(m, args, build)
        w.blank(2)
    w.line(f"def {build}({signature}):")
    with w.indent():
        w.line(lower.docstring(spec.description or f"Build the model {spec.name!r}."))
        if deep:
            w.line("with deep_recursion():")
        with w.indent() if deep else contextlib.nullcontext():
            _build_body(m, spec, ns, args, funcs)
    return m.finish("functional", None, args)


def _variant_function(m: lower.Module, args: dict[str, str], build: str) -> None:
    m.variants_table(args)
    m.w.blank(2)
    m.w.line("def build_model(variant=None, **params):")
    with m.w.indent():
        m.w.line('"""Build the model: the params of ``variant`` (a name in VARIANTS), then')
        m.w.line(f'``params`` on top (the keyword arguments of {build})."""')
        m.variant_lines()
        m.w.line(f"return {build}(**params)")


def _build_body(
    m: lower.Module, spec: Spec, ns: Namespace, args: dict[str, str], funcs: dict[str, str]
) -> None:
    """The body of ``build_model``: inputs, one line per node, the model."""
    w = m.w
    local = lower.locals_for(spec.graph, ns)
    for inp in spec.graph.inputs:
        w.line(f"{local[inp.name]} = {lower.keras_input(inp, args)}")
    _body(m, spec.graph, local, args, ns, funcs)
    inputs = _inputs(spec.graph, local)
    outputs = lower.outputs_source(spec.graph, local)
    w.line(f"return {keras('Model')}(inputs={inputs}, outputs={outputs}, name={py_str(spec.name)})")


def _inputs(graph: Graph, local: dict[str, str]) -> str:
    names = [local[i.name] for i in graph.inputs]
    return names[0] if len(names) == 1 else "[" + ", ".join(names) + "]"


def _block_function(m: lower.Module, block: Block, funcs: dict[str, str]) -> None:
    w, graph = m.w, block.graph
    ns, args = m.param_names(graph)
    tensors = ns.fresh("tensors")
    name_arg = ns.fresh("name")  # block params cannot be called `name` (KS209), so it is free
    params = [*(f"{args[p]}={literal(v)}" for p, v in graph.params), f"{name_arg}=None"]
    # `trainable:` on an instance: set on the nested model after creation, which reaches
    # every layer inside (only blocks that have such an instance take the argument, under
    # this name: no block param may be called `trainable`, KS209)
    trainable = ns.fresh("trainable") if block.name in _trainable_blocks(m.spec) else None
    if trainable:
        params.append(f"{trainable}=True")
    w.line(f"def {funcs[block.name]}({', '.join([tensors, *params])}):")
    with w.indent():
        w.line(lower.docstring(f"Apply the block {block.name!r} (a nested functional model)."))
        local = lower.locals_for(graph, ns)
        single = len(graph.inputs) == 1
        for k, inp in enumerate(graph.inputs):
            t = tensors if single else f"{tensors}[{k}]"
            w.line(
                f"{local[inp.name]} = {keras('Input')}(batch_shape={t}.shape, dtype={t}.dtype, "
                f"name={py_str(inp.name)})"
            )
        _body(m, graph, local, args, ns, funcs)
        outputs = lower.outputs_source(graph, local)
        model = ns.fresh("model")
        w.line(
            f"{model} = {keras('Model')}(inputs={_inputs(graph, local)}, outputs={outputs}, "
            f"name={name_arg})"
        )
        if trainable:
            w.line(f"{model}.trainable = {trainable}")
        w.line(f"return {model}({tensors})")


def _trainable_blocks(spec: Spec) -> set[str]:
    """The blocks that have an instance with ``trainable:``."""
    graphs = [spec.graph, *(b.graph for b in spec.blocks)]
    return {
        n.block
        for g in graphs
        for n in g.nodes
        if isinstance(n, BlockNode) and n.trainable is not None
    }


def _body(
    m: lower.Module,
    graph: Graph,
    local: dict[str, str],
    args: dict[str, str],
    ns: Namespace,
    funcs: dict[str, str],
) -> None:
    """One line per node: ``x = tf.keras.layers.Dense(...)(prev)``. A shared layer gets a
    variable of its own, created before its first use (a share may come before its target in
    the graph's order), so that every use calls the same layer object."""
    w = m.w
    shared = sorted({n.target for n in graph.nodes if isinstance(n, ShareNode)})
    layer_var = {name: ns.fresh(f"{name}_layer") for name in shared}
    owners = {n.name: n.layer for n in graph.nodes if isinstance(n, LayerNode)}
    created: set[str] = set()
    types = lower.layer_types(graph)
    for node in graph.nodes:
        out = local[node.name]
        if isinstance(node, BlockNode):
            _block_call(m, node, local, args, ns, funcs[node.block])
            continue
        if isinstance(node, OpNode):
            w.line(f"{out} = {lower.op_call(node, local, args)}")
            continue
        assert isinstance(node, LayerNode | ShareNode)
        owner = ir_owner(node)
        call_args = lower.call_arguments(node, local, args, types.get(owner))
        ctor = layer_call(owners[owner], [("name", py_str(owner))], args)
        if owner not in layer_var:
            w.line(f"{out} = {ctor}({call_args})")
            continue
        if owner not in created:
            w.line(f"{layer_var[owner]} = {ctor}")
            created.add(owner)
        w.line(f"{out} = {layer_var[owner]}({call_args})")


def _block_call(
    m: lower.Module,
    node: BlockNode,
    local: dict[str, str],
    args: dict[str, str],
    ns: Namespace,
    func: str,
) -> None:
    w = m.w
    out = local[node.name]
    arg = m.block_inputs(node, local)
    kw = m.block_keywords(node, args)
    if node.trainable is not None:
        kw.append(f"trainable={node.trainable}")
    if node.repeat is None:
        w.line(f"{out} = {func}({', '.join([arg, *kw, f'name={py_str(node.name)}'])})")
        return
    i = ns.fresh("i")
    w.line(f"{out} = {arg}")
    w.line(f"for {i} in {lower.repeat_range(node, args)}:")
    with w.indent():
        w.line(f"{out} = {func}({', '.join([out, *kw, f'name={lower.instance_name(node, i)}'])})")
