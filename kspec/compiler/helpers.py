"""Module-level helpers that some generated modules need, and when they need them.

* ``deep_recursion()`` and ``load_model(path)`` (functional target, deep models): Keras builds a
  Functional model by a recursion once per layer of its graph, in ``tf.keras.Model(...)`` and
  again in ``tf.keras.models.load_model``; Python's default limit (1,000) stops it near 1,000
  layers. The generated ``build_model`` raises the limit while it builds, and restores it.
* ``keep_masks(*tensors)`` (subclass target, specs where a Keras mask can exist): Keras'
  ``MultiHeadAttention`` clears the masks of the very tensors it is given. In a Functional model
  the other layers that read those tensors still get their masks (Keras recorded them when the
  graph was built); in a subclass' ``call`` they would silently lose them. So a subclass hands
  ``MultiHeadAttention`` copies that carry the same masks.

Both are emitted only when the spec can need them, so that a small model's module stays as plain
as hand-written Keras.
"""

from __future__ import annotations

from kspec.compiler.source import KERAS_API, Writer, current_api, keras
from kspec.spec.ir import BlockNode, Graph, LayerNode, LayerSpec, Spec

# A graph with this many layer calls (block instances count one each) may be too deep for
# Keras' Functional constructor at Python's default recursion limit, once the caller's own
# frames are counted; a repeat count that is an expression may be anything.
DEEP = 200
# The limit while a deep model is built or loaded: Keras' recursion costs one Python frame per
# layer (no C stack), so this allows models of tens of thousands of layers.
RECURSION_LIMIT = 100_000

# Layers that can put a Keras mask on their output (an Embedding only with mask_zero).
_MASK_SOURCES = frozenset({"Masking", "Embedding"})


def graph_calls(graph: Graph) -> int | None:
    """How many layer calls a graph makes at its own level (a block instance is one), or None
    when a repeat count is an expression."""
    total = 0
    for node in graph.nodes:
        if not isinstance(node, BlockNode) or node.repeat is None:
            total += 1
        elif isinstance(node.repeat, int):
            total += node.repeat
        else:
            return None
    return total


def is_deep(spec: Spec) -> bool:
    """Whether some graph of the spec may be too deep to build at the default recursion limit."""
    for graph in (spec.graph, *(b.graph for b in spec.blocks)):
        calls = graph_calls(graph)
        if calls is None or calls >= DEEP:
            return True
    return False


def _layers(value: object) -> list[LayerSpec]:
    """A layer and the layers nested in its arguments (``TimeDistributed(layer=...)``)."""
    if not isinstance(value, LayerSpec):
        return []
    found = [value]
    for _, arg in value.args:
        found += _layers(arg)
    return found


def _masks(layer: LayerSpec) -> bool:
    if "." in layer.type:  # a custom layer may compute a mask
        return True
    if layer.type not in _MASK_SOURCES:
        return False
    return layer.type != "Embedding" or dict(layer.args).get("mask_zero", False) is not False


def may_mask(spec: Spec) -> bool:
    """Whether a tensor of the spec's model can carry a Keras mask."""
    graphs = (spec.graph, *(b.graph for b in spec.blocks))
    return any(
        _masks(layer)
        for graph in graphs
        for node in graph.nodes
        if isinstance(node, LayerNode)
        for layer in _layers(node.layer)
    )


def write_deep_recursion(w: Writer) -> None:
    """``RECURSION_LIMIT``, ``deep_recursion()`` and ``load_model(path)`` (names that
    ``naming.MODULE_NAMES`` keeps free for them)."""
    limit, deep, load = "RECURSION_LIMIT", "deep_recursion", "load_model"
    w.blank(1)  # right after the imports (isort wants one blank line before a statement)
    w.line(f"# Keras builds a Functional model (here, and in {keras('models.load_model')}) by a")
    w.line("# recursion once per layer: Python's default limit stops it near 1,000 layers.")
    w.line(f"{limit} = {RECURSION_LIMIT:_}")
    w.blank(2)
    w.line("@contextlib.contextmanager")
    w.line(f"def {deep}():")
    with w.indent():
        w.line(f'"""Raise the recursion limit to {limit} while Keras builds this model')
        w.line('(or loads it, or clones it); restore it afterwards."""')
        w.line("limit = sys.getrecursionlimit()")
        w.line(f"sys.setrecursionlimit(max(limit, {limit}))")
        w.line("try:")
        with w.indent():
            w.line("yield")
        w.line("finally:")
        with w.indent():
            w.line("sys.setrecursionlimit(limit)")
    w.blank(2)
    w.line(f"def {load}(path, **kwargs):")
    with w.indent():
        w.line(f'"""{keras("models.load_model")}(path, **kwargs) with room for a deep model."""')
        w.line(f"with {deep}():")
        with w.indent():
            w.line(f"return {keras('models.load_model')}(path, **kwargs)")


KEEP_MASKS = "keep_masks"


def write_keep_masks(w: Writer) -> None:
    """``keep_masks(*tensors)``: copies of tensors that carry the same Keras masks. With the
    keras api the copies are made by a layer that hands its input's mask on: Keras then sets
    the copies' masks in the way of the backend (a JAX array takes no attributes)."""
    w.blank(2)
    w.line(f"def {KEEP_MASKS}(*tensors):")
    with w.indent():
        w.line('"""Copies of ``tensors`` with the same Keras masks: MultiHeadAttention clears')
        w.line('the masks of the tensors it is given, and other layers may still read them."""')
        if current_api() is KERAS_API:
            copy = keras("layers.Lambda")
            w.line(f"copy = {copy}({keras('ops.copy')}, mask=lambda tensor, mask: mask)")
            w.line("return [copy(tensor) for tensor in tensors]")
            return
        w.line(f"copies = [{keras('ops.copy')}(tensor) for tensor in tensors]")
        w.line("for tensor, copy in zip(tensors, copies, strict=True):")
        with w.indent():
            w.line('copy._keras_mask = getattr(tensor, "_keras_mask", None)')
        w.line("return copies")
