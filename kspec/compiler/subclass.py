"""The subclass target: Python source of a ``tf.keras.Model`` subclass.

Layers are created in ``__init__`` (whose keyword arguments are the spec's params, with their
defaults), wired in ``call``; ``get_config`` returns the params so that ``model.save`` and
``keras.models.load_model`` round-trip, and the class is registered as serializable. Each
block becomes a ``tf.keras.layers.Layer`` subclass of the same shape. ``build_model(**params)``
returns a built instance. The source imports only tensorflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kspec.compiler import lower
from kspec.compiler.naming import Namespace
from kspec.compiler.source import Writer, check_source, layer_call, literal, py_str
from kspec.spec.ir import Block, Graph, Node, Spec
from kspec.spec.resolve import pascal_case


def generate(spec: Spec, overrides: Mapping[str, Any] | None = None) -> lower.Lowered:
    """The subclass module for ``spec``."""
    module = Namespace()
    class_name = module.create(spec.class_name)
    block_classes = {b.name: module.create(pascal_case(b.name)) for b in spec.blocks}
    blocks = {b.name: b for b in spec.blocks}
    block_params = {b.name: lower.param_names(b.graph, module)[1] for b in spec.blocks}
    package = py_str(f"kspec.{spec.name}")
    w = Writer()
    for line in lower.header(spec, "subclass", overrides):
        w.line(line)
    w.line()
    w.line("import tensorflow as tf")
    for block in spec.blocks:
        w.blank(2)
        _class(
            w,
            block_classes[block.name],
            "tf.keras.layers.Layer",
            block.graph,
            block.description or f"The block {block.name!r} of the spec.",
            package,
            None,
            block_classes,
            module,
            blocks,
            block_params,
        )
    w.blank(2)
    params = _class(
        w,
        class_name,
        "tf.keras.Model",
        spec.graph,
        spec.description or f"The model {spec.name!r}.",
        package,
        spec.name,
        block_classes,
        module,
        blocks,
        block_params,
    )
    w.blank(2)
    _build_model(w, spec, class_name, params)
    source = w.text()
    filename = f"<kspec {spec.source} subclass>"
    check_source(source, filename)
    return lower.Lowered(source, "subclass", class_name, params, filename)


def _class(
    w: Writer,
    name: str,
    base: str,
    graph: Graph,
    doc: str,
    package: str,
    keras_name: str | None,
    block_classes: dict[str, str],
    module: Namespace,
    blocks: dict[str, Block],
    block_params: dict[str, dict[str, str]],
) -> dict[str, str]:
    """One class (the model, or a block); returns spec param -> keyword argument."""
    init_ns, args = lower.param_names(graph, module)
    attrs = Namespace(attributes=True)
    param_attr = {p: attrs.create(p) for p, _ in graph.params}
    layer_attr = {n.name: attrs.create(n.name) for n in graph.nodes if n.kind != "share"}
    self_rename = {p: f"self.{a}" for p, a in param_attr.items()}
    w.line(f"@tf.keras.utils.register_keras_serializable(package={package})")
    w.line(f"class {name}({base}):")
    with w.indent():
        w.line(lower.docstring(doc))
        w.line()
        signature = ", ".join(
            ["self", *(f"{args[p]}={literal(v)}" for p, v in graph.params), "**kwargs"]
        )
        w.line(f"def __init__({signature}):")
        with w.indent():
            if keras_name is not None:
                w.line(f'kwargs.setdefault("name", {py_str(keras_name)})')
            w.line("super().__init__(**kwargs)")
            for p, _ in graph.params:
                w.line(f"self.{param_attr[p]} = {args[p]}")
            for node in graph.nodes:
                if node.kind == "layer":
                    assert node.layer is not None
                    ctor = layer_call(node.layer, [("name", py_str(node.name))], args)
                    w.line(f"self.{layer_attr[node.name]} = {ctor}")
                elif node.kind == "block":
                    cls = block_classes[str(node.target)]
                    kw = lower.keyword_args(node, block_params[str(node.target)], args)
                    if node.repeat is None:
                        kw.append(f"name={py_str(node.name)}")
                        w.line(f"self.{layer_attr[node.name]} = {cls}({', '.join(kw)})")
                    else:
                        i = init_ns.fresh("i")
                        kw.append(f"name={lower.instance_name(node, i)}")
                        w.line(f"self.{layer_attr[node.name]} = [")
                        with w.indent():
                            w.line(f"{cls}({', '.join(kw)})")
                            w.line(f"for {i} in {lower.repeat_range(node, args)}")
                        w.line("]")
        w.line()
        _call(w, graph, layer_attr, self_rename, module, blocks)
        w.line()
        w.line("def get_config(self):")
        with w.indent():
            w.line("config = super().get_config()")
            if graph.params:
                items = ", ".join(
                    f"{py_str(args[p])}: self.{param_attr[p]}" for p, _ in graph.params
                )
                w.line(f"config.update({{{items}}})")
            w.line("return config")
    return args


def _call(
    w: Writer,
    graph: Graph,
    layer_attr: dict[str, str],
    rename: dict[str, str],
    module: Namespace,
    blocks: dict[str, Block],
) -> None:
    ns = Namespace(set(module.taken))
    local = lower.locals_for(graph, ns)
    w.line("def call(self, inputs):")
    with w.indent():
        names = [local[i.name] for i in graph.inputs]
        if len(names) == 1:
            w.line(f"{names[0]} = inputs")
        else:
            keys = ", ".join(f"inputs[{py_str(i.name)}]" for i in graph.inputs)
            w.line("if isinstance(inputs, dict):")
            with w.indent():
                w.line(f"{', '.join(names)} = {keys}")
            w.line("else:")
            with w.indent():
                w.line(f"{', '.join(names)} = inputs")
        for node in graph.nodes:
            _wire(w, node, graph, local, layer_attr, rename, ns, blocks)
        w.line(f"return {lower.outputs_source(graph, local)}")


def _wire(
    w: Writer,
    node: Node,
    graph: Graph,
    local: dict[str, str],
    layer_attr: dict[str, str],
    rename: dict[str, str],
    ns: Namespace,
    blocks: dict[str, Block],
) -> None:
    out = local[node.name]
    if node.kind == "block":
        # Blocks are called with their inputs in the block's own input order.
        arg = lower.block_inputs(node, blocks[str(node.target)].graph.inputs, local)
        attr = layer_attr[node.name]
        if node.repeat is None:
            w.line(f"{out} = self.{attr}({arg})")
        else:
            inst = ns.fresh("instance")
            w.line(f"{out} = {arg}")
            w.line(f"for {inst} in self.{attr}:")
            with w.indent():
                w.line(f"{out} = {inst}({out})")
        return
    owner = node.name if node.kind == "layer" else str(node.target)
    layer_type = node.layer.type if node.layer else _shared_type(owner, graph)
    args = lower.call_arguments(node, local, rename, layer_type)
    w.line(f"{out} = self.{layer_attr[owner]}({args})")


def _shared_type(owner: str, graph: Graph) -> str | None:
    for n in graph.nodes:
        if n.name == owner and n.layer is not None:
            return n.layer.type
    return None


def _build_model(w: Writer, spec: Spec, class_name: str, params: dict[str, str]) -> None:
    attrs = Namespace(attributes=True)
    rename = {p: f"model.{attrs.create(p)}" for p, _ in spec.graph.params}
    w.line("def build_model(**params):")
    with w.indent():
        w.line(f'"""Create {class_name}(**params) and call it once on symbolic inputs."""')
        w.line(f"model = {class_name}(**params)")
        ins = [lower.keras_input(i, rename) for i in spec.graph.inputs]
        if len(ins) == 1:
            w.line(f"model({ins[0]})")
        else:
            items = ", ".join(
                f"{py_str(i.name)}: {src}" for i, src in zip(spec.graph.inputs, ins, strict=True)
            )
            w.line(f"model({{{items}}})")
        w.line("return model")
