"""`kspec plot`: the tutorial's plot_model from a spec (Keras' drawing of the built model), and
the TensorFlow-free drawing from the spec itself (blocks as clusters, static shapes)."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

import kspec
from kspec import plot
from kspec.cli import main

ROOT = Path(__file__).resolve().parent.parent
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot not installed")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (and proof that it is a PNG)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_static_dot_has_clusters_edges_and_shapes() -> None:
    spec = kspec.load(ROOT / "examples" / "residual_cnn.yaml")
    text = plot.ir_to_dot(spec)
    # repeat: $depth (2) instances of the residual block, one downsample block
    for cluster in ("stage1_1", "stage1_2", "down", "stage2_1", "stage2_2"):
        assert f'subgraph "cluster_{cluster}"' in text
    assert '"stage1_2/add" [label="{add: Add|(None, 32, 32, 32)}"];' in text
    assert '"stem" -> "stage1_1/x";' in text
    assert '"logits" [label="{logits: Dense|(None, 10)}"];' in text
    assert text.count("subgraph") == 5


def test_static_dot_without_shapes_or_names() -> None:
    spec = kspec.load(ROOT / "examples" / "mnist_mlp.yaml")
    text = plot.ir_to_dot(spec, None, show_shapes=False, show_names=False, rankdir="LR")
    assert "rankdir=LR" in text
    assert '"hidden1" [label="Dense"];' in text


def test_dot_output_needs_no_graphviz(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(plot.shutil, "which", lambda name: None)
    out = tmp_path / "mlp.dot"
    assert (
        main(["plot", str(ROOT / "examples" / "mnist_mlp.yaml"), "--static", "-o", str(out)]) == 0
    )
    assert out.read_text().startswith('digraph "mnist_mlp" {')
    png = tmp_path / "mlp.png"
    assert (
        main(["plot", str(ROOT / "examples" / "mnist_mlp.yaml"), "--static", "-o", str(png)]) == 2
    )
    err = capsys.readouterr().err
    assert "error[KS905]: Graphviz's `dot` program is needed to write .png files" in err
    assert "apt-get install graphviz" in err
    assert not png.exists()


def test_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plot", str(ROOT / "examples" / "mnist_mlp.yaml"), "-o", "graph.jpg"]) == 2
    assert "-o must end in one of .png, .svg, .pdf, .dot" in capsys.readouterr().err


@needs_dot
def test_static_png(tmp_path: Path) -> None:
    out = tmp_path / "blocks.png"
    assert main(["plot", str(ROOT / "examples" / "blocks.yaml"), "--static", "-o", str(out)]) == 0
    width, height = png_size(out)
    assert width > 200 and height > 400


@needs_dot
@pytest.mark.tf
def test_keras_plot_png_like_the_tutorial(tmp_path: Path) -> None:
    """plot_model(model, show_shapes=True, show_layer_names=True, to_file=...)."""
    pytest.importorskip("tensorflow")
    out = tmp_path / "mnist_mlp.png"
    assert main(["plot", str(ROOT / "examples" / "mnist_mlp.yaml"), "-o", str(out)]) == 0
    width, height = png_size(out)
    assert width > 300 and height > 600  # five boxes stacked: input, flatten, 3 x Dense
    svg = tmp_path / "mnist_mlp.svg"
    assert main(["plot", str(ROOT / "examples" / "mnist_mlp.yaml"), "-o", str(svg)]) == 0
    text = svg.read_text()
    for name in ("image", "flatten", "hidden1", "hidden2", "probs"):
        assert name in text
    assert "(None, 784)" in text  # shapes are shown
