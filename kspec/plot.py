"""``kspec plot``: the model graph as an image, like the tutorial's ``plot_model(model,
show_shapes=True, show_layer_names=True, to_file=...)``.

Two sources of the graph, one renderer:

* the built model, through Keras' own ``model_to_dot`` (blocks, which are nested models in the
  functional target, are drawn as clusters with ``expand_nested``);
* the spec itself (``--static``, or when TensorFlow is not installed): a DOT graph written from
  the checker's walk over the spec's instances, blocks as clusters, with the statically inferred
  shapes. No TensorFlow, no pydot.

Either way the DOT text is written as is (``.dot``) or handed to Graphviz's ``dot`` program
(``.png``, ``.svg``, ``.pdf``); the output file is replaced atomically.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import Any

from kspec.diagnostics import Diagnostic, KspecError
from kspec.files import write_atomic
from kspec.spec.ir import Spec, describe
from kspec.spec.walk import Instance, LayerCall, Walk, walk

FORMATS = ("png", "svg", "pdf", "dot")
INSTALL_GRAPHVIZ = (
    "install Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
    "conda: conda install graphviz), or write a .dot file and render it elsewhere"
)


def _quote(text: str) -> str:
    """A DOT string literal (identifiers and shapes only reach here, but escape anyway)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _shape_text(shapes: list[Any] | None) -> str:
    if not shapes:
        return "?"
    parts = [
        "?"
        if s is None
        else "("
        + ", ".join("None" if d is None else str(d) for d in s)
        + ("," if len(s) == 1 else "")
        + ")"
        for s in shapes
    ]
    return parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"


def ir_to_dot(
    spec: Spec,
    found: Walk | None = None,
    show_shapes: bool = True,
    show_names: bool = True,
    rankdir: str = "TB",
) -> str:
    """The spec's graph in DOT, from the checker's walk over its instances (``found``, or
    ``spec.walk``): inputs, layer calls, edges; block instances as clusters (each with the
    params it is given, so an inner ``repeat: $depth`` draws as many instances as it builds)."""
    found = found or spec.walk or walk(spec)
    lines = [
        f"digraph {_quote(spec.name)} {{",
        f"  graph [rankdir={rankdir}, fontname=Helvetica, fontsize=11];",
        "  node [shape=record, fontname=Helvetica, fontsize=11];",
    ]

    def node_id(path: tuple[str, ...]) -> str:
        return _quote("/".join(path))

    def label(title: str, kind: str, path: tuple[str, ...]) -> str:
        head = f"{title}: {kind}" if show_names else kind
        if show_shapes:
            return _quote(f"{{{head}|{_shape_text(found.shapes.get(path))}}}")
        return _quote(head)

    for inp in spec.graph.inputs:
        shape = "(None, " + ", ".join("None" if d is None else str(d) for d in inp.shape) + ")"
        text = f"{{{inp.name}: Input|{shape}}}" if show_shapes else f"{inp.name}: Input"
        lines.append(f"  {node_id((inp.name,))} [label={_quote(text)}];")
    # edges into a cluster are written after it (Graphviz would otherwise draw their source
    # inside the cluster)
    pending: list[list[str]] = []
    for step in found.steps:
        indent = "  " * (len(pending) + 1)
        if isinstance(step, LayerCall):
            node = step.node
            kind = describe(node)
            nid = node_id(step.path)
            lines.append(f"{indent}{nid} [label={label(node.name, kind, step.path)}];")
            lines.extend(f"{indent}{node_id(src)} -> {nid};" for src in step.sources if src)
        elif isinstance(step, Instance):
            cluster = _quote("cluster_" + "/".join(step.path))
            lines.append(f"{indent}subgraph {cluster} {{")
            title = f"{step.path[-1]}: {step.block.name}"
            lines.append(f"{indent}  label={_quote(title)}; style=rounded;")
            edges = []
            for k, inp in enumerate(step.block.graph.inputs):
                iid = node_id((*step.path, inp.name))
                lines.append(f"{indent}  {iid} [label={_quote(inp.name)}, shape=plaintext];")
                source = step.sources[k] if k < len(step.sources) else None
                if source:
                    edges.append(f"{indent}{node_id(source)} -> {iid};")
            pending.append(edges)
        else:
            edges = pending.pop()
            lines.append(f"{'  ' * (len(pending) + 1)}}}")
            lines.extend(edges)
    lines.append("}")
    return "\n".join(lines) + "\n"


def keras_dot(model: Any, show_shapes: bool, show_names: bool, rankdir: str) -> str:
    """Keras' own drawing of a built model (``keras.utils.model_to_dot``), as DOT text."""
    import keras

    dot = keras.utils.model_to_dot(
        model,
        show_shapes=show_shapes,
        show_layer_names=show_names,
        rankdir=rankdir,
        expand_nested=True,
    )
    return str(dot.to_string())


def render(dot_text: str, output: str) -> None:
    """Write ``dot_text`` to ``output``: as is for .dot, else through Graphviz's ``dot``."""
    fmt = os.path.splitext(output)[1].lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(f"{output}: the output must end in one of .{', .'.join(FORMATS)}")
    if fmt == "dot":
        write_atomic(output, dot_text)
        return
    program = shutil.which("dot")
    if program is None:
        raise KspecError(
            [
                Diagnostic(
                    "KS905",
                    f"Graphviz's `dot` program is needed to write .{fmt} files and is not "
                    "installed",
                    hint=INSTALL_GRAPHVIZ,
                )
            ]
        )
    folder = os.path.dirname(os.path.abspath(output))
    fd, tmp = tempfile.mkstemp(prefix=".kspec-plot-", suffix=f".{fmt}", dir=folder)
    os.close(fd)
    try:
        proc = subprocess.run(
            [program, f"-T{fmt}", "-o", tmp],
            input=dot_text,
            text=True,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if proc.returncode != 0:
            raise KspecError(
                [
                    Diagnostic(
                        "KS905",
                        f"Graphviz's dot failed: {proc.stderr.strip()[:300]}",
                        hint="write a .dot file to see the graph kspec produced",
                    )
                ]
            )
        os.replace(tmp, output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
