"""Reading a Keras Functional or Sequential model's graph into the importer's nodes.

Every call in the graph becomes a node, in Keras' own topological order (its depth-first walk
from the outputs, ``map_graph``): a layer's first call a ``type`` node, its later calls ``share``
nodes, a ``keras.ops`` operation an ``op`` node, a nested Functional or Sequential model a
``block`` node whose block is read the same way (its Keras name kept, so the weights of its
layers keep their name paths). Anything without a spec form is a KS914 error that names the
layer or op, where it is, and what to do.
"""

from __future__ import annotations

import inspect
import re
from collections import Counter
from typing import Any

from kspec.diagnostics import Diagnostic
from kspec.importer import args as arglib
from kspec.importer import ops
from kspec.importer.ir import Block, Graph, Node, Ref, Wiring, error, refs_of, warning
from kspec.importer.names import spec_name

REFUSED_HINT = (
    "write the computation as a layer class in a module you control (or with keras.ops "
    "calls), and import the model again"
)


def graph_function(model: Any, where: str) -> Any:
    """The Functional graph of a model: itself, or a Sequential's inner Functional."""
    import keras

    if isinstance(model, keras.Sequential):
        fn = getattr(model, "_functional", None)
        if fn is None or not model.built:
            raise error(
                "KS906",
                f"{where}: the Sequential model {model.name!r} has no input shape yet, so it has "
                "no graph to read",
                "build it first: start it with keras.Input(shape=...), call it on data, or "
                "call model.build((None, ...))",
            )
        return fn
    if type(model).__name__ == "Functional" or (
        hasattr(model, "_nodes_by_depth") and isinstance(model, keras.Model)
    ):
        return model
    raise error(
        "KS906",
        f"{type(model).__name__} is not a Functional or Sequential model",
        "kspec imports models built with the Functional API (keras.Input -> layers -> "
        "keras.Model) or keras.Sequential; rebuild a subclassed model that way first",
    )


def _is_model(layer: Any) -> bool:
    import keras

    return isinstance(layer, keras.Sequential) or type(layer).__name__ == "Functional"


class Reader:
    """Reads a model and the models nested in it. ``allow``: the modules whose custom layer
    classes may be named (``--allow-import``); ``imports`` collects those used."""

    def __init__(self, allow: set[str]) -> None:
        self.allow = allow
        self.imports: list[str] = []
        self.blocks: list[Block] = []
        self.warnings: list[Diagnostic] = []
        self._owner: dict[int, str] = {}  # id(layer) -> where it is used
        self._block_names: set[str] = set()
        self._bodies: dict[str, Block] = {}  # a block's text -> the block
        self._shared: set[str] = set()  # blocks that several nested models use

    def read(self, model: Any, where: str, block: bool = False) -> Graph:
        """The graph of ``model``. ``block``: read as a block body (inputs without entries,
        outputs a list)."""
        fn = graph_function(model, where)
        walk = _Walk(where)
        inputs: dict[str, dict[str, Any]] = {}
        for tensor in fn.inputs:
            op = tensor._keras_history.operation
            # a name Keras made up (`input_layer_3`): `x` reads better, when there is one input
            auto = len(fn.inputs) == 1 and re.fullmatch(r"input_layer(_[0-9]+)?", op.name)
            if auto and "x" in {spec_name(o.name) for o in fn.operations}:
                auto = None  # a layer is called x
            name = walk.names.fresh("x" if auto else spec_name(op.name))
            walk.alias[_key(tensor)] = Ref(name)
            inputs[name] = {} if block else _input_entry(tensor, op)
        nodes: list[Node] = []
        self._walk(fn, walk, nodes, "")
        if not nodes:
            raise error(
                "KS914",
                f"{where} has no layers (its outputs are its inputs); a spec has at least one",
                "remove the empty model, or give it a layer",
            )
        outputs = _outputs(fn, walk.ref, block)
        if isinstance(outputs, dict):
            outputs = {self._output_name(k, where): r for k, r in outputs.items()}
        return Graph(inputs, _used(nodes, outputs), outputs)

    def _output_name(self, key: str, where: str) -> str:
        name = spec_name(key)
        if name != key:
            self.warnings.append(
                warning(
                    f"{where}: the output {key!r} is named {name!r} in the spec (output "
                    "names are identifiers)"
                )
            )
        return name

    def _walk(self, fn: Any, walk: _Walk, nodes: list[Node], prefix: str) -> None:
        """Append the nodes of the Functional graph ``fn``. A nested model applied more than
        once is written out in place (``prefix``: its name), its layers shared by the later
        applications, so that they keep one set of weights."""
        from keras.src.ops.function import _build_map

        order = _build_map(fn.inputs, fn.outputs)[0]
        # names Keras made up for weightless nodes (`add_17`) count from a process-wide
        # counter: they are numbered again here, so an import is the same in every process
        walk.names.reserved |= {
            spec_name(prefix + k.operation.name) for k in order if not _anonymous(k.operation)
        }
        applied = Counter(id(k.operation) for k in order if _is_model(k.operation))
        for knode in order:
            op = knode.operation
            index = op._inbound_nodes.index(knode)
            if knode.is_input or (id(op), index, 0) in walk.alias:
                continue
            if _is_model(op) and (applied[id(op)] > 1 or prefix):
                self._inline(op, knode, index, walk, nodes, prefix)
                continue
            node = self._node(op, knode, walk.ref, walk.names, walk.where, prefix)
            for i in range(len(knode.outputs)):
                walk.alias[(id(op), index, i)] = Ref(node.name, i if node.n_outputs > 1 else None)
            nodes.append(node)

    def _inline(
        self, model: Any, knode: Any, index: int, walk: _Walk, nodes: list[Node], prefix: str
    ) -> None:
        fn = graph_function(model, walk.where)
        args = [t for t in _flat_tensors(knode.arguments.args)]
        if len(args) != len(fn.inputs):
            raise error(
                "KS914",
                f"{walk.where}: the nested model {model.name!r} is called with "
                f"{len(args)} tensors for its {len(fn.inputs)} inputs",
                REFUSED_HINT,
            )
        scope = walk.scope()  # each application reads the model's tensors anew
        for inner, outer in zip(fn.inputs, args, strict=True):
            scope.alias[_key(inner)] = walk.ref(outer)
        self._walk(fn, scope, nodes, f"{prefix}{model.name}_")
        for i, out in enumerate(fn.outputs):
            walk.alias[(id(model), index, i)] = scope.ref(out)

    # -- one call ---------------------------------------------------------------------------

    def _node(self, op: Any, knode: Any, ref: Any, names: _Names, where: str, prefix: str) -> Node:
        import keras

        label = f"{where}: {_what(op)} {op.name!r}"
        try:
            if not isinstance(op, keras.layers.Layer):
                name = names.anonymous(op.name)
                target, wiring, args, full = ops.op_parts(op, knode, ref)
                return Node(
                    name, "op", target, args, full, wiring, {}, len(knode.outputs), anonymous=True
                )
            first = self._first_use(op, names, where)
            uses = names.uses[id(op)]  # a layer's later calls: name_1, name_2, ...
            names.uses[id(op)] += 1
            if not first:
                name = names.fresh(f"{names.of(id(op))}_{uses}")
            elif _anonymous(op):
                name = names.anonymous(op.name)
            else:
                name = names.fresh(spec_name(prefix + op.name))
            wiring, call = self._call(op, knode, ref, label)
            n_out = len(knode.outputs)
            if not first:
                return Node(
                    name, "share", names.of(id(op)), inputs=wiring, call=call, n_outputs=n_out
                )
            names.remember(id(op), name)
            if _is_model(op):
                block = self._block(op, f"{where} > {op.name!r}")  # applied once here
                return Node(
                    name, "block", block.name, inputs=wiring, n_outputs=n_out, weighted=True
                )
            target = self._layer_type(op, label)
            layer_args, full = arglib.layer_args(op, self._nested)
            return Node(
                name,
                "type",
                target,
                layer_args,
                full,
                wiring,
                call,
                n_out,
                weighted=bool(op.weights),
                anonymous=_anonymous(op),
            )
        except arglib.Unexpressible as exc:
            raise error("KS914", f"{label}: kspec cannot express it: {exc}", REFUSED_HINT) from None

    def _first_use(self, op: Any, names: _Names, where: str) -> bool:
        owner = self._owner.setdefault(id(op), where)
        if owner != where:
            raise error(
                "KS914",
                f"{where}: {_what(op)} {op.name!r} is also used in {owner}; kspec cannot "
                "share a layer between a model and a model nested in it",
                "use the layer in one of them only",
            )
        first = id(op) not in names.first
        return first

    def _layer_type(self, layer: Any, label: str) -> str:
        """``Dense``, or ``module.Class`` for a layer class from a module the user allowed."""
        import keras

        from kspec.layers.catalog import LAYERS, REFUSED

        cls = type(layer)
        public = getattr(keras.layers, cls.__name__, None)
        if public is cls and cls.__name__ in LAYERS:
            return cls.__name__
        if cls.__name__ in REFUSED and (public is cls or cls.__module__.startswith("keras")):
            raise error("KS914", f"{label}: {REFUSED[cls.__name__]}", REFUSED_HINT)
        module, qual = cls.__module__, cls.__qualname__
        if module == "__main__" or "." in qual:
            place = "a function" if "." in qual else "the main script"
            raise error(
                "KS914",
                f"{label}: its class {qual} is defined in {place}, so a spec cannot name it",
                "define the layer class at the top level of an importable module",
            )
        if module not in self.allow:
            raise error(
                "KS903",
                f"{label}: it is the custom layer {module}.{qual}; kspec imports a module only "
                "with your permission",
                f"if you trust the module, pass --allow-import {module}",
            )
        if not arglib.takes_name(cls):
            raise error(
                "KS914",
                f"{label}: {qual}.__init__ takes no `name` argument, and kspec names every layer",
                "add **kwargs to its __init__ and pass them to super().__init__(**kwargs)",
            )
        if module not in self.imports:
            self.imports.append(module)
        return f"{module}.{qual}"

    def _nested(self, layer: Any, key: str) -> Any:
        """A wrapped layer (``Bidirectional``'s ``layer``, an RNN's ``cell``) as a mapping, or
        a list of them (``StackedRNNCells``' ``cells``)."""
        attr = "forward_layer" if key == "layer" and hasattr(layer, "forward_layer") else key
        inner = getattr(layer, attr, None)
        if inner is None:
            raise arglib.Unexpressible(f"its argument `{key}` is not a layer")
        items = list(inner) if isinstance(inner, list | tuple) else [inner]
        out = []
        for item in items:
            target = self._layer_type(item, f"the {key} of {layer.name!r}")
            out.append({"type": target, **arglib.layer_args(item, self._nested)[0]})
        return out if isinstance(inner, list | tuple) else out[0]

    def _call(self, layer: Any, knode: Any, ref: Any, label: str) -> tuple[Wiring, dict[str, Any]]:
        """The tensors a layer call takes, and its constant call arguments."""
        args, kwargs = knode.arguments.args, knode.arguments.kwargs
        try:
            bound = dict(inspect.signature(layer.call).bind(*args, **kwargs).arguments)
        except (TypeError, ValueError):
            bound = {"inputs": args[0] if len(args) == 1 else list(args), **kwargs}
        tensors: dict[str, Any] = {}
        call: dict[str, Any] = {}
        first = next(iter(bound.values()), None)
        for key, value in bound.items():
            if key == "mask" and value is not None and value is _mask_of(first):
                continue  # the mask Keras passes on by itself (an Embedding's mask_zero)
            found = _tensors(value, ref, f"{label}: its call argument `{key}`")
            if found is not None:
                tensors[key] = found
            elif key == "training":
                # Keras records training=False on calls that did not say (so an explicit False
                # looks the same); only training=True is a choice the spec loses
                if value is True:
                    self.warnings.append(
                        warning(
                            f"{label} is called with training=True, which a spec cannot say; "
                            "the spec leaves it out (Keras passes training=True in fit, False "
                            "in predict)",
                        )
                    )
            elif key != "mask" and value is not None:
                try:
                    call[key] = arglib.plain(value)
                except arglib.Unexpressible as exc:
                    raise error("KS914", f"{label}: its call argument `{key}`: {exc}") from None
        keys = list(tensors)
        wiring: Wiring
        if not keys:
            wiring = None
        elif len(keys) == 1 and keys[0] == next(iter(bound)):
            wiring = tensors[keys[0]]
        else:
            wiring = tensors
        return wiring, call

    def _block(self, model: Any, where: str) -> Block:
        """The block of a nested model; models with the same layers (the instances of one
        kspec block, an ensemble of copies) share one."""
        from kspec.importer.emit import graph_text

        graph = self.read(model, where, block=True)
        if not model.trainable:  # a frozen nested model: every layer in it is frozen
            for node in graph.nodes:
                if node.kind == "type" and node.weighted:
                    node.args["trainable"] = node.full["trainable"] = False
        body = graph_text(graph)
        if body in self._bodies:
            block = self._bodies[body]
            self._shared.add(block.name)
            return block
        name = spec_name(model.name)
        k, base = 2, name
        while name in self._block_names:
            name, k = f"{base}_{k}", k + 1
        self._block_names.add(name)
        block = Block(name, {}, graph)
        self._bodies[body] = block
        self.blocks.append(block)
        return block

    def finish(self, top: Graph) -> None:
        """Name a block that several nested models share after what they have in common
        (``stage_1``, ``stage_2`` -> ``stage``)."""
        from kspec.importer.blocks import block_name

        taken = {b.name for b in self.blocks}
        renamed = {}
        for block in self.blocks:
            if block.name in self._shared:
                taken.discard(block.name)
                renamed[block.name] = block.name = block_name(block.name, taken)
        for graph in [top, *(b.graph for b in self.blocks)]:
            for node in graph.nodes:
                if node.kind == "block":
                    node.target = renamed.get(node.target, node.target)


class _Walk:
    """The state of reading one graph: names, and each Keras tensor's reference."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.names = _Names()
        self.alias: dict[tuple[int, int, int], Ref] = {}  # (id(op), node, output) -> ref

    def scope(self) -> _Walk:
        """The same names, with tensors of their own (a nested model's next application)."""
        inner = _Walk(self.where)
        inner.names = self.names
        return inner

    def ref(self, tensor: Any) -> Ref:
        found = self.alias.get(_key(tensor))
        if found is None:
            op = tensor._keras_history.operation
            raise error(
                "KS914",
                f"{self.where}: a tensor from {getattr(op, 'name', op)!r} is used before kspec "
                "read the call that makes it",
                "this is a graph kspec cannot order; please report it",
            )
        return found


def _key(tensor: Any) -> tuple[int, int, int]:
    op, index, out = tensor._keras_history
    return (id(op), index, out)


def _flat_tensors(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [t for k in sorted(value) for t in _flat_tensors(value[k])]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _flat_tensors(v)]
    return [value] if ops.is_tensor(value) else []


def _mask_of(value: Any) -> Any:
    tensor = value[0] if isinstance(value, list | tuple) and value else value
    return getattr(tensor, "_keras_mask", None)


def _used(nodes: list[Node], outputs: Any) -> list[Node]:
    """The nodes the outputs depend on (a mask Keras computes for a layer that then passes it
    on by itself is left with no user)."""
    by_name = {n.name: n for n in nodes}
    needed: set[str] = set()
    stack = [r.name for r in refs_of(outputs)]
    while stack:
        name = stack.pop()
        if name in needed or name not in by_name:
            continue
        needed.add(name)
        node = by_name[name]
        stack += [r.name for r in refs_of(node.inputs)]
        if node.kind == "share":
            stack.append(node.target)
    return [n for n in nodes if n.name in needed]


def _tensors(value: Any, ref: Any, label: str) -> Ref | list[Ref] | None:
    """A call argument as references: one tensor, or a list or tuple of tensors."""
    if ops.is_tensor(value):
        return ref(value)
    if isinstance(value, list | tuple) and value and any(ops.is_tensor(v) for v in value):
        if not all(ops.is_tensor(v) for v in value):
            raise error("KS914", f"{label} mixes tensors and constants", REFUSED_HINT)
        return [ref(v) for v in value]
    if isinstance(value, dict) and any(ops.is_tensor(v) for v in value.values()):
        raise error(
            "KS914", f"{label} is a dict of tensors, which a spec cannot pass", REFUSED_HINT
        )
    return None


def _outputs(fn: Any, ref: Any, block: bool) -> Any:
    struct = getattr(fn, "_outputs_struct", fn.outputs)
    if block:
        flat = [ref(t) for t in fn.outputs]
        return flat[0] if len(flat) == 1 and not isinstance(struct, list | tuple) else flat
    if isinstance(struct, dict):
        return {str(k): ref(t) for k, t in struct.items()}
    if isinstance(struct, list | tuple):
        if not all(ops.is_tensor(t) for t in struct):
            raise error("KS914", "the model's outputs are nested lists, which a spec cannot say")
        return [ref(t) for t in struct]
    return ref(struct)


def _input_entry(tensor: Any, layer: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"shape": list(tensor.shape[1:])}
    if str(tensor.dtype) != "float32":
        entry["dtype"] = str(tensor.dtype)
    if tensor.shape[0] is not None:
        entry["batch_size"] = tensor.shape[0]
    if getattr(tensor, "sparse", False):
        entry["sparse"] = True
    if getattr(tensor, "ragged", False):
        entry["ragged"] = True
    return entry


def _what(op: Any) -> str:
    import keras

    if _is_model(op):
        return "nested model"
    if isinstance(op, keras.layers.Layer):
        return f"{type(op).__name__} layer"
    return f"operation {type(op).__name__}"


_AUTO = re.compile(r"_[0-9]+\Z")


def _anonymous(op: Any) -> bool:
    """A weightless operation whose name Keras made up: a keras.ops call (which cannot be
    named), or a layer named after its class (``re_lu_3`` for an unnamed ReLU)."""
    import keras
    from keras.src.utils.naming import to_snake_case

    if not isinstance(op, keras.layers.Layer):
        return True
    if op.weights or _is_model(op):
        return False
    return _AUTO.sub("", op.name) == to_snake_case(type(op).__name__)


class _Names:
    """Node names in one graph: unique, and the type node of each layer (for shares)."""

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self.reserved: set[str] = set()  # the names of the graph's other nodes
        self.uses: Counter[int] = Counter()  # id(layer) -> calls read so far
        self.first: dict[int, str] = {}

    def anonymous(self, keras_name: str) -> str:
        """A made-up name, numbered in this graph: ``add``, ``add_2``, ..."""
        base = spec_name(_AUTO.sub("", keras_name))
        out, k = base, 2
        while out in self.taken or out in self.reserved:
            out, k = f"{base}_{k}", k + 1
        self.taken.add(out)
        return out

    def fresh(self, wanted: str) -> str:
        out, k = wanted, 2
        while out in self.taken:
            out, k = f"{wanted}_{k}", k + 1
        self.taken.add(out)
        return out

    def remember(self, layer_id: int, name: str) -> None:
        self.first[layer_id] = name

    def of(self, layer_id: int) -> str:
        return self.first[layer_id]
