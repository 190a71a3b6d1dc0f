"""Layer name paths of a spec, and freezing layers for fine-tuning.

A built model's layers are named by the spec: ``hidden1`` for a node of the model, ``tower_2``
for the second instance of a block node ``tower`` with ``repeat``, ``tower_2/gate`` for node
``gate`` inside it. :class:`SpecPaths` maps such a path back to the spec nodes that made it
(for reports that name the spec line of each layer) and decides which layers are frozen: those
inside a block instance written with ``trainable: false``, and those named by ``--freeze``
(``freeze=`` in the Python API). A layer node's own ``trainable: false`` is one of its Keras
arguments and needs nothing here.

No TensorFlow: ``kspec summary --static`` counts frozen weights with this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from kspec.diagnostics import Diagnostic, KspecError
from kspec.spec.ir import BlockNode, Graph, Node, ShareNode, Spec, node_instances
from kspec.spec.report import did_you_mean

NodePath = tuple[str, ...]


def _instance_of(node: BlockNode, segment: str, count: int | None) -> bool:
    """``segment`` is an instance name (``name_3``) of the repeated block node ``node``, which
    has ``count`` instances (None: not known here, inside a block)."""
    rest = segment[len(node.name) + 1 :]
    return (
        node.repeat is not None
        and segment.startswith(f"{node.name}_")
        and rest.isdigit()
        and rest[0] != "0"
        and (count is None or int(rest) <= count)
    )


class SpecPaths:
    """Name paths of ``spec``'s layers, with the frozen ones (``freeze``: names or
    ``/``-separated paths, as :meth:`resolve` takes them)."""

    def __init__(self, spec: Spec, freeze: Iterable[str] = ()):
        self.spec = spec
        self._graphs: dict[str | None, dict[str, Node]] = {}
        self._repeated: dict[str | None, list[BlockNode]] = {}
        self._blocks = {b.name: b.graph for b in spec.blocks}
        # the model's own repeated nodes have a known count (a block's depend on its params)
        self._counts = {
            n.name: len(node_instances(n, spec.params))
            for n in spec.graph.nodes
            if isinstance(n, BlockNode) and n.repeat
        }
        self.freeze = tuple(self.resolve(name) for name in freeze)
        self._any_frozen = bool(self.freeze) or any(
            isinstance(n, BlockNode) and n.trainable is False
            for g in (spec.graph, *self._blocks.values())
            for n in g.nodes
        )

    def _index(self, key: str | None) -> tuple[dict[str, Node], list[BlockNode]]:
        if key not in self._graphs:
            graph: Graph = self.spec.graph if key is None else self._blocks[key]
            self._graphs[key] = {n.name: n for n in graph.nodes}
            self._repeated[key] = [
                n for n in graph.nodes if isinstance(n, BlockNode) and n.repeat is not None
            ]
        return self._graphs[key], self._repeated[key]

    def chain(self, path: Sequence[str]) -> list[Node] | None:
        """The spec nodes that ``path`` goes through (a block node for each instance on the
        way, then the node itself), or None if the spec has no such layer. A repeated block
        node's own name stands for each of its instances."""
        key: str | None = None
        out: list[Node] = []
        for depth, segment in enumerate(path):
            if depth and not isinstance(out[-1], BlockNode):
                return None  # inside a layer: kspec's paths stop at layers
            by_name, repeated = self._index(key)
            counts = self._counts if key is None else {}
            node = by_name.get(segment) or next(
                (n for n in repeated if _instance_of(n, segment, counts.get(n.name))), None
            )
            if node is None:
                return None
            out.append(node)
            key = node.block if isinstance(node, BlockNode) else None
        return out

    def location(self, path: Sequence[str]) -> str | None:
        """``file:line`` of the spec node that made the layer at ``path``."""
        chain = self.chain(path)
        if not chain or chain[-1].span is None:
            return None
        doc = self.spec.document
        return f"{doc.path if doc is not None else self.spec.source}:{chain[-1].span.line}"

    def resolve(self, name: str) -> NodePath:
        """A ``--freeze`` name as a path: a node of the model (a repeated block node: all its
        instances), a block instance (``tower_2``) or a path into one (``tower_2/gate``); a
        share node stands for the layer it shares. KS909 if the spec has no such layer."""
        path = tuple(name.split("/"))
        chain = self.chain(path) if all(path) else None
        if chain is None:
            raise KspecError([self._unknown(name, path)])
        last = chain[-1]
        if isinstance(last, ShareNode):
            path = (*path[:-1], last.target)
        return path

    def _unknown(self, name: str, path: NodePath) -> Diagnostic:
        depth = 0  # the first segment that names nothing
        while self.chain(path[: depth + 1]) is not None:
            depth += 1
        scope = self.chain(path[:depth]) or []
        known: list[str] = []
        if not scope or isinstance(scope[-1], BlockNode):
            inner = scope[-1] if scope else None
            known = list(self._index(inner.block if isinstance(inner, BlockNode) else None)[0])
        where = f"{'/'.join(path[:depth])!r}" if scope else "the model"
        doc = self.spec.document
        return Diagnostic(
            "KS909",
            f"cannot freeze {name!r}: {where} has no layer or block instance {path[depth]!r}",
            path=doc.path if doc is not None else self.spec.source,
            hint=did_you_mean(path[depth], known)
            or "name a node of the spec, a block instance (tower_2) or a path into one "
            "(tower_2/gate), as `kspec summary` lists them",
        )

    def frozen(self, path: Sequence[str]) -> bool:
        """Whether the layer at ``path`` is frozen: inside a ``trainable: false`` block
        instance, or at or inside a path given to ``freeze``."""
        if not self._any_frozen:
            return False
        chain = self.chain(path)
        if chain is None:
            return False
        if any(isinstance(n, BlockNode) and n.trainable is False for n in chain):
            return True
        return any(
            len(f) <= len(path) and all(s in (path[i], chain[i].name) for i, s in enumerate(f))
            for f in self.freeze
        )


def frozen_count(count: tuple[int, int] | None) -> tuple[int, int] | None:
    """A frozen layer's ``(trainable, non_trainable)`` counts: all of its weights are
    non-trainable."""
    return None if count is None else (0, count[0] + count[1])


def freeze_model(model: Any, paths: SpecPaths) -> list[str]:
    """Set ``trainable = False`` on each layer of ``model`` (a model built from ``paths.spec``)
    that ``paths`` says is frozen by ``freeze``; returns their names. Block instances with
    ``trainable: false`` are frozen by the generated code itself."""
    from kspec.compiler.runtime import layer_map

    names = []
    for key, layer in layer_map(model).items():
        if paths.freeze and paths.frozen(key) and layer.trainable:
            layer.trainable = False
            names.append("/".join(key))
    return names
