"""``kspec plot``: the model graph as an image, like the tutorial's ``plot_model(model,
show_shapes=True, show_layer_names=True, to_file=...)``.

Two sources of the graph, one renderer:

* the built model, through Keras' own ``model_to_dot`` (blocks, which are nested models in the
  functional target, are drawn as clusters with ``expand_nested``);
* the spec itself (``--static``, or when TensorFlow is not installed): a DOT graph written from
  the IR, blocks as clusters, with the statically inferred shapes. No TensorFlow, no pydot.

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
from kspec.spec.ir import Graph, Spec, node_instances
from kspec.spec.shapes import infer

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
    shapes: dict[tuple[str, ...], list[Any]] | None = None,
    show_shapes: bool = True,
    show_names: bool = True,
    rankdir: str = "TB",
) -> str:
    """The spec's graph in DOT: inputs, nodes, edges; block instances as clusters."""
    lines = [
        f"digraph {_quote(spec.name)} {{",
        f"  graph [rankdir={rankdir}, fontname=Helvetica, fontsize=11];",
        "  node [shape=record, fontname=Helvetica, fontsize=11];",
    ]
    blocks = {b.name: b for b in spec.blocks}

    def node_id(prefix: tuple[str, ...], name: str) -> str:
        return _quote("/".join((*prefix, name)))

    def label(title: str, kind: str, path: tuple[str, ...]) -> str:
        head = f"{title}: {kind}" if show_names else kind
        if show_shapes and shapes is not None:
            return _quote(f"{{{head}|{_shape_text(shapes.get(path))}}}")
        return _quote(head)

    def emit(
        graph: Graph,
        prefix: tuple[str, ...],
        feeds: dict[str, str],
        indent: str,
        env: dict[str, Any],
    ) -> dict[str, str]:
        """Draw ``graph``; ``feeds`` maps its input names to the DOT ids feeding them.
        Returns node name -> DOT id of its output. Edges into a cluster are written outside
        it (Graphviz would otherwise draw their source inside the cluster)."""
        out = dict(feeds)
        for node in graph.nodes:
            sources = [out[r.node] for r in node.inputs.all_refs() if r.node in out]
            if node.kind == "block":
                block = blocks[str(node.target)]
                names = node_instances(node, env)
                current = sources
                for inst in names:
                    cluster = _quote("cluster_" + "/".join((*prefix, inst)))
                    lines.append(f"{indent}subgraph {cluster} {{")
                    lines.append(
                        f"{indent}  label={_quote(f'{inst}: {block.name}')}; style=rounded;"
                    )
                    inner_feeds, edges = {}, []
                    for k, inp in enumerate(block.graph.inputs):
                        iid = node_id((*prefix, inst), inp.name)
                        lines.append(
                            f"{indent}  {iid} [label={_quote(inp.name)}, shape=plaintext];"
                        )
                        if k < len(current):
                            edges.append(f"{indent}{current[k]} -> {iid};")
                        inner_feeds[inp.name] = iid
                    inner = emit(
                        block.graph,
                        (*prefix, inst),
                        inner_feeds,
                        indent + "  ",
                        dict(block.graph.params),
                    )
                    lines.append(f"{indent}}}")
                    lines.extend(edges)
                    current = [inner[r.node] for r in block.graph.output_refs()]
                out[node.name] = current[0] if current else node_id(prefix, node.name)
                continue
            nid = node_id(prefix, node.name)
            kind = node.layer.type if node.layer else f"share of {node.target}"
            lines.append(f"{indent}{nid} [label={label(node.name, kind, (*prefix, node.name))}];")
            for src in sources:
                lines.append(f"{indent}{src} -> {nid};")
            out[node.name] = nid
        return out

    feeds = {}
    for inp in spec.graph.inputs:
        iid = node_id((), inp.name)
        shape = "(None, " + ", ".join("None" if d is None else str(d) for d in inp.shape) + ")"
        text = f"{{{inp.name}: Input|{shape}}}" if show_shapes else f"{inp.name}: Input"
        lines.append(f"  {iid} [label={_quote(text)}];")
        feeds[inp.name] = iid
    emit(spec.graph, (), feeds, "  ", spec.params)
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


def static_shapes(spec: Spec) -> dict[tuple[str, ...], list[Any]]:
    """Statically inferred output shapes per node path."""
    return dict(infer(spec))
