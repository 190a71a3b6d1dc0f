"""The YAML text of an imported spec: one flow mapping per node, ``inputs`` left out where a
node takes the previous node's output (a chain reads like a Sequential stack)."""

from __future__ import annotations

from typing import Any

import yaml

from kspec.importer.ir import Expr, Graph, Imported, Node, Ref, map_refs


def _flow(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9, sort_keys=False)
    return text.strip().removesuffix("...").strip()


def _data(value: Any) -> Any:
    """Plain data for YAML: a string that starts with ``$`` is escaped (``$$``) unless it is
    one of the importer's expressions."""
    if isinstance(value, Expr):
        return str(value)
    if isinstance(value, str):
        return "$" + value if value.startswith("$") else value
    if isinstance(value, dict):
        return {k: _data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_data(v) for v in value]
    return value


def _plain_refs(value: Any) -> Any:
    return map_refs(value, lambda r: r.text())


def node_entry(node: Node, previous: str | None) -> dict[str, Any]:
    """The spec mapping of a node; ``previous`` is the tensor an omitted ``inputs`` means."""
    entry: dict[str, Any] = {"name": node.name, node.kind: node.target}
    wiring = node.inputs
    implicit = isinstance(wiring, Ref) and wiring.index is None and wiring.name == previous
    show_inputs = wiring is not None and not implicit
    if node.kind == "op" and show_inputs:  # keras.ops style: the tensors, then the constants
        entry["inputs"] = _plain_refs(wiring)
    entry.update(_data(node.args))
    if node.repeat is not None:
        entry["repeat"] = node.repeat
    if node.kind != "op" and show_inputs:
        entry["inputs"] = _plain_refs(wiring)
    if node.call:
        entry["call"] = _data(node.call)
    return entry


def _layer_lines(graph: Graph, indent: str) -> list[str]:
    previous = next(iter(graph.inputs)) if len(graph.inputs) == 1 else None
    lines = []
    for node in graph.nodes:
        lines.append(f"{indent}- {_flow(node_entry(node, previous))}")
        previous = node.name if node.n_outputs == 1 else None
    return lines


def graph_text(graph: Graph) -> str:
    """A block body's text (equal texts: equal blocks)."""
    lines = [_flow(list(graph.inputs)), *_layer_lines(graph, ""), _flow(_plain_refs(graph.outputs))]
    return "\n".join(lines)


def render(spec: Imported) -> str:
    """The spec's YAML text."""
    lines = [
        "# Imported by kspec from a Keras model; check it with `kspec check`.",
        "kspec: 1",
        f"name: {spec.name}",
    ]
    if spec.imports:
        lines.append(f"imports: {_flow(spec.imports)}")
    lines.append("inputs:")
    lines += [f"  {name}: {_flow(entry)}" for name, entry in spec.graph.inputs.items()]
    if spec.blocks:
        lines.append("blocks:")
    for block in spec.blocks:
        lines.append(f"  {block.name}:")
        if block.description:
            lines.append(f"    description: {_flow(block.description)}")
        if block.params:
            lines.append(f"    params: {_flow(_data(block.params))}")
        lines.append(f"    inputs: {_flow(list(block.graph.inputs))}")
        lines.append("    layers:")
        lines += _layer_lines(block.graph, "      ")
        lines.append(f"    outputs: {_flow(_plain_refs(block.graph.outputs))}")
    lines.append("layers:")
    lines += _layer_lines(spec.graph, "  ")
    lines.append(f"outputs: {_flow(_plain_refs(spec.graph.outputs))}")
    return "\n".join(lines) + "\n"
