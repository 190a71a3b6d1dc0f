"""The functional target: a module whose ``build_model(**params)`` builds the model with the
Functional API (``tf.keras.Input`` -> layers -> ``tf.keras.Model(inputs, outputs)``).

Each block becomes a function that builds a nested functional model for the shapes of the
tensors it is given, and applies it; so ``summary()`` shows the block as one layer, like the
subclass target's block layer, and both targets have the same weights in the same places.
``kspec.build_model(..., target="functional")`` runs exactly this source.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kspec.compiler import lower
from kspec.compiler.naming import Namespace
from kspec.compiler.source import Writer, check_source, layer_call, literal, py_str
from kspec.spec.ir import Block, Graph, Node, Spec


def generate(spec: Spec, overrides: Mapping[str, Any] | None = None) -> lower.Lowered:
    """The functional module for ``spec``."""
    module = Namespace()
    block_funcs = {b.name: module.create(b.name) for b in spec.blocks}
    blocks = {b.name: b for b in spec.blocks}
    w = Writer()
    for line in lower.header(spec, "functional", overrides):
        w.line(line)
    w.line()
    w.line("import tensorflow as tf")
    block_params = {b.name: lower.param_names(b.graph, module)[1] for b in spec.blocks}
    for block in spec.blocks:
        w.blank(2)
        _block_function(w, block, block_funcs, blocks, module, block_params)
    w.blank(2)
    ns, args = lower.param_names(spec.graph, module)
    signature = ", ".join(f"{args[p]}={literal(v)}" for p, v in spec.graph.params)
    w.line(f"def build_model({signature}):")
    with w.indent():
        w.line(lower.docstring(spec.description or f"Build the model {spec.name!r}."))
        local = lower.locals_for(spec.graph, ns)
        for inp in spec.graph.inputs:
            w.line(f"{local[inp.name]} = {lower.keras_input(inp, args)}")
        _body(w, spec.graph, local, args, ns, block_funcs, blocks, block_params)
        ins = [local[i.name] for i in spec.graph.inputs]
        inputs = ins[0] if len(ins) == 1 else "[" + ", ".join(ins) + "]"
        outputs = lower.outputs_source(spec.graph, local)
        w.line(
            f"return tf.keras.Model(inputs={inputs}, outputs={outputs}, name={py_str(spec.name)})"
        )
    source = w.text()
    filename = f"<kspec {spec.source} functional>"
    check_source(source, filename)
    return lower.Lowered(source, "functional", None, args, filename)


def _block_function(
    w: Writer,
    block: Block,
    block_funcs: dict[str, str],
    blocks: dict[str, Block],
    module: Namespace,
    block_params: dict[str, dict[str, str]],
) -> None:
    graph = block.graph
    ns, args = lower.param_names(graph, module)
    name_arg = ns.fresh("name")
    tensors = ns.fresh("tensors")
    signature = ", ".join(
        [tensors, *(f"{args[p]}={literal(v)}" for p, v in graph.params), f"{name_arg}=None"]
    )
    w.line(f"def {block_funcs[block.name]}({signature}):")
    with w.indent():
        doc = f"Apply the block {block.name!r} (a nested functional model) to ``{tensors}``."
        w.line(lower.docstring(doc))
        local = lower.locals_for(graph, ns)
        single = len(graph.inputs) == 1
        for k, inp in enumerate(graph.inputs):
            t = tensors if single else f"{tensors}[{k}]"
            w.line(
                f"{local[inp.name]} = tf.keras.Input(batch_shape={t}.shape, dtype={t}.dtype, "
                f"name={py_str(inp.name)})"
            )
        _body(w, graph, local, args, ns, block_funcs, blocks, block_params)
        ins = [local[i.name] for i in graph.inputs]
        inputs = ins[0] if single else "[" + ", ".join(ins) + "]"
        outputs = lower.outputs_source(graph, local)
        w.line(f"model = tf.keras.Model(inputs={inputs}, outputs={outputs}, name={name_arg})")
        w.line(f"return model({tensors})")


def _body(
    w: Writer,
    graph: Graph,
    local: dict[str, str],
    args: dict[str, str],
    ns: Namespace,
    block_funcs: dict[str, str],
    blocks: dict[str, Block],
    block_params: dict[str, dict[str, str]],
) -> None:
    shared = {n.target for n in graph.nodes if n.kind == "share"}
    layer_var = {name: ns.fresh(f"{name}_layer") for name in sorted(s for s in shared if s)}
    types = {n.name: n.layer.type for n in graph.nodes if n.layer is not None}
    for node in graph.nodes:
        out = local[node.name]
        if node.kind == "block":
            _block_call(w, node, local, args, ns, block_funcs, blocks, block_params)
            continue
        owner = node.name if node.kind == "layer" else str(node.target)
        call_args = lower.call_arguments(node, local, args, types.get(owner))
        if node.kind == "layer":
            assert node.layer is not None
            ctor = layer_call(node.layer, [("name", py_str(node.name))], args)
            if owner in layer_var:
                w.line(f"{layer_var[owner]} = {ctor}")
                w.line(f"{out} = {layer_var[owner]}({call_args})")
            else:
                w.line(f"{out} = {ctor}({call_args})")
        else:
            w.line(f"{out} = {layer_var[owner]}({call_args})")


def _block_call(
    w: Writer,
    node: Node,
    local: dict[str, str],
    args: dict[str, str],
    ns: Namespace,
    block_funcs: dict[str, str],
    blocks: dict[str, Block],
    block_params: dict[str, dict[str, str]],
) -> None:
    out = local[node.name]
    func = block_funcs[str(node.target)]
    arg = lower.block_inputs(node, blocks[str(node.target)].graph.inputs, local)
    kw = lower.keyword_args(node, block_params[str(node.target)], args)
    if node.repeat is None:
        w.line(f"{out} = {func}({', '.join([arg, *kw, f'name={py_str(node.name)}'])})")
        return
    i = ns.fresh("i")
    w.line(f"{out} = {arg}")
    w.line(f"for {i} in {lower.repeat_range(node, args)}:")
    with w.indent():
        name = f"name={lower.instance_name(node, i)}"
        w.line(f"{out} = {func}({', '.join([out, *kw, name])})")
