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

from kspec.compiler import helpers, lower, order
from kspec.compiler.naming import Namespace
from kspec.compiler.source import current_api, keras, layer_call, literal, py_str
from kspec.spec.ir import BlockNode, Graph, LayerNode, Node, OpNode, ShareNode, Spec
from kspec.spec.ir import owner as ir_owner
from kspec.spec.names import pascal_case


def generate(spec: Spec, overrides: Mapping[str, Any] | None = None) -> lower.Lowered:
    """The subclass module for ``spec``."""
    m = lower.Module(spec)
    block_classes = {b.name: m.names.fresh(pascal_case(b.name)) for b in spec.blocks}
    class_name = m.names.fresh(spec.class_name)
    keep = helpers.may_mask(spec) and _clears_masks(spec)
    gen = _Generator(m, block_classes, py_str(f"kspec.{spec.name}"), keep)
    m.start("subclass", overrides)
    if keep:
        helpers.write_keep_masks(m.w)
    for block in spec.blocks:
        m.w.blank(2)
        doc = block.description or f"The block {block.name!r} of the spec."
        gen.klass(block_classes[block.name], keras("layers.Layer"), block.graph, doc, None)
    m.w.blank(2)
    doc = spec.description or f"The model {spec.name!r}."
    args, attrs = gen.klass(class_name, keras("Model"), spec.graph, doc, spec.name)
    if spec.variants:
        m.variants_table(args)
    m.w.blank(2)
    _build_model(m, spec, class_name, attrs)
    return m.finish("subclass", class_name, args)


def _clears_masks(spec: Spec) -> bool:
    graphs = (spec.graph, *(b.graph for b in spec.blocks))
    return any(t in lower.MASK_CLEARING for g in graphs for t in lower.layer_types(g).values())


class _Generator:
    def __init__(
        self, m: lower.Module, block_classes: dict[str, str], package: str, keep_masks: bool
    ):
        self.m, self.w = m, m.w
        self.block_classes = block_classes
        self.package = package
        self.keep_masks = keep_masks
        self.block_inputs = order.block_inputs_of(m.spec)

    def klass(
        self, name: str, base: str, graph: Graph, doc: str, keras_name: str | None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """One class (the model, or a block). Returns its keyword arguments and attributes
        (spec param -> identifier)."""
        w = self.w
        init_ns, args = self.m.param_names(graph)
        attrs = Namespace(attributes=True)
        param_attr = {p: attrs.fresh(p) for p, _ in graph.params}
        layer_attr = {
            n.name: attrs.fresh(n.name) for n in graph.nodes if isinstance(n, LayerNode | BlockNode)
        }
        w.line(f"@{current_api().register}(package={self.package})")
        w.line(f"class {name}({base}):")
        with w.indent():
            w.line(lower.docstring(doc))
            w.line()
            params = [f"{args[p]}={literal(v)}" for p, v in graph.params]
            w.line(f"def __init__({', '.join(['self', *params, '**kwargs'])}):")
            with w.indent():
                if keras_name is not None:
                    w.line(f'kwargs.setdefault("name", {py_str(keras_name)})')
                w.line("super().__init__(**kwargs)")
                for p, _ in graph.params:
                    w.line(f"self.{param_attr[p]} = {args[p]}")
                for node in graph.nodes:
                    self._create(node, layer_attr, args, init_ns)
            w.line()
            rename = {p: f"self.{a}" for p, a in param_attr.items()}
            self._call(graph, layer_attr, rename, model=keras_name is not None)
            w.line()
            w.line("def get_config(self):")
            with w.indent():
                w.line("config = super().get_config()")
                if graph.params:
                    items = [f"{py_str(args[p])}: self.{param_attr[p]}" for p, _ in graph.params]
                    w.line(f"config.update({{{', '.join(items)}}})")
                w.line("return config")
        return args, param_attr

    def _create(
        self, node: Node, layer_attr: dict[str, str], args: dict[str, str], ns: Namespace
    ) -> None:
        """The ``__init__`` line that creates a node's layer (shares create nothing)."""
        w = self.w
        if isinstance(node, LayerNode):
            ctor = layer_call(node.layer, [("name", py_str(node.name))], args)
            w.line(f"self.{layer_attr[node.name]} = {ctor}")
        elif isinstance(node, BlockNode):
            cls = self.block_classes[node.block]
            kw = self.m.block_keywords(node, args)
            attr = layer_attr[node.name]
            if node.repeat is None:
                w.line(f"self.{attr} = {cls}({', '.join([*kw, _name(node)])})")
                if node.trainable is not None:  # after creation: it reaches every sublayer
                    w.line(f"self.{attr}.trainable = {node.trainable}")
                return
            i = ns.fresh("i")
            kw.append(f"name={lower.instance_name(node, i)}")
            comprehension = f"{cls}({', '.join(kw)}) for {i} in {lower.repeat_range(node, args)}"
            w.line(f"self.{attr} = [{comprehension}]")
            if node.trainable is not None:
                instance = ns.fresh("instance")
                w.line(f"for {instance} in self.{attr}:")
                with w.indent():
                    w.line(f"{instance}.trainable = {node.trainable}")

    def _call(
        self, graph: Graph, layer_attr: dict[str, str], rename: dict[str, str], model: bool
    ) -> None:
        w = self.w
        ns = self.m.function_names(params=False)
        if model:
            ns.reserve("training")
        local = lower.locals_for(graph, ns)
        # Keras' fit() calls a model in training mode only if its call() takes `training`; from
        # there Keras hands it on to every layer called inside, blocks' layers included.
        w.line("def call(self, inputs, training=None):" if model else "def call(self, inputs):")
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
            types = lower.layer_types(graph)
            nodes = order.node_order(graph, dict(graph.params), self.block_inputs)
            if nodes != list(graph.nodes):
                w.line("# in the order a Functional model runs them, so that a shared layer")
                w.line("# updates its state (moving statistics, random seeds) in the same order")
            for node in nodes:
                self._node_call(node, local, layer_attr, rename, types, ns)
            w.line(f"return {lower.outputs_source(graph, local)}")

    def _node_call(
        self,
        node: Node,
        local: dict[str, str],
        layer_attr: dict[str, str],
        rename: dict[str, str],
        types: dict[str, str],
        ns: Namespace,
    ) -> None:
        """The ``call`` line(s) of one node: a layer call, or a block instance (a loop over
        the instances of a repeated block)."""
        w = self.w
        out = local[node.name]
        if isinstance(node, BlockNode):
            arg = self.m.block_inputs(node, local)
            attr = layer_attr[node.name]
            if node.repeat is None:
                w.line(f"{out} = self.{attr}({arg})")
                return
            inst = ns.fresh("instance")
            w.line(f"{out} = {arg}")
            w.line(f"for {inst} in self.{attr}:")
            with w.indent():
                w.line(f"{out} = {inst}({out})")
            return
        if isinstance(node, OpNode):
            w.line(f"{out} = {lower.op_call(node, local, rename)}")
            return
        assert isinstance(node, LayerNode | ShareNode)
        owner = ir_owner(node)
        layer_type = types.get(owner)
        if self.keep_masks and layer_type in lower.MASK_CLEARING:
            assert layer_type is not None
            keep = helpers.KEEP_MASKS
            args = lower.mask_keeping_arguments(node, local, rename, layer_type, keep)
        else:
            args = lower.call_arguments(node, local, rename, layer_type)
        w.line(f"{out} = self.{layer_attr[owner]}({args})")


def _name(node: Node) -> str:
    return f"name={py_str(node.name)}"


def _build_model(m: lower.Module, spec: Spec, class_name: str, param_attr: dict[str, str]) -> None:
    w = m.w
    rename = {p: f"model.{a}" for p, a in param_attr.items()}
    w.line(
        "def build_model(variant=None, **params):"
        if spec.variants
        else "def build_model(**params):"
    )
    with w.indent():
        if spec.variants:
            w.line(f'"""Create {class_name}(**params) with the params of ``variant`` (a name in')
            w.line('VARIANTS) under ``params``, and call it once on symbolic inputs."""')
            m.variant_lines()
        else:
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
