"""``kspec summary --static``: the TensorFlow-free summary agrees with Keras' built model.

* golden tables for every example (and the JSON form), written without importing TensorFlow;
* weight counts by hand for the rules that matter most (Dense, Conv2D, LSTM, BatchNormalization,
  shared layers, repeated blocks), then against Keras for layers with arguments that change
  their weights (``use_bias``, ``groups``, ``reset_after``, ``trainable``, ...);
* what cannot be counted is ``?`` and named, never guessed.

Every layer class of the catalog is compared with Keras in tests/test_layer_coverage.py, and
every drawn spec in tests/test_property.py (both through ``kspec.verify.static_disagreements``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from timing import HANG

import kspec
import kspec.cli
from kspec.summary import render, static_summary, to_json

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
GOLDEN = ROOT / "tests" / "golden" / "summary"
UPDATE = os.environ.get("KSPEC_UPDATE_GOLDEN") == "1"
REGENERATE = "KSPEC_UPDATE_GOLDEN=1 pytest tests/test_summary.py -k golden"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = kspec.cli.main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_golden_static_summary(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "summary", "--static", str(path))
    assert status == 0, err
    golden = GOLDEN / f"{path.stem}.txt"
    if UPDATE:
        golden.write_text(out, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}; run {REGENERATE}"
    assert out == golden.read_text(encoding="utf-8"), f"run {REGENERATE} if intended"


def _spec(inputs: dict[str, Any], layers: list[dict[str, Any]]) -> kspec.Spec:
    text = json.dumps(
        {"kspec": 1, "name": "m", "inputs": inputs, "layers": layers, "outputs": layers[-1]["name"]}
    )
    assert kspec.check_text(text) == []
    return kspec.loads(text)


def _counts(spec: kspec.Spec) -> dict[str, tuple[int, int] | None]:
    return {r.name: r.count for r in static_summary(spec).rows}


def test_counts_by_hand() -> None:
    spec = _spec(
        {"img": {"shape": [8, 8, 3]}, "seq": {"shape": [5, 4]}},
        [
            {"name": "conv", "type": "Conv2D", "filters": 4, "kernel_size": 3, "inputs": "img"},
            {"name": "bn", "type": "BatchNormalization", "center": False},
            {"name": "flat", "type": "Flatten"},
            {"name": "lstm", "type": "LSTM", "units": 6, "inputs": "seq"},
            {"name": "gru", "type": "GRU", "units": 2, "reset_after": False, "inputs": "seq"},
            {"name": "joined", "type": "Concatenate", "inputs": ["flat", "lstm", "gru"]},
            {"name": "dense", "type": "Dense", "units": 3, "use_bias": False},
            {"name": "again", "share": "dense", "inputs": "joined"},
            {"name": "out", "type": "Add", "inputs": ["dense", "again"]},
        ],
    )
    summary = static_summary(spec)
    assert _counts(spec) == {
        "img": (0, 0),
        "seq": (0, 0),
        "conv": (3 * 3 * 3 * 4 + 4, 0),
        "bn": (4, 2 * 4),  # gamma (no beta); moving mean and variance are not trainable
        "flat": (0, 0),
        "lstm": (4 * (4 * 6 + 6 * 6 + 6), 0),
        "gru": (3 * (4 * 2 + 2 * 2 + 2), 0),  # reset_after: false has one bias
        "joined": (0, 0),
        "dense": ((6 * 6 * 4 + 6 + 2) * 3, 0),  # the share adds no row and no weights
        "out": (0, 0),
    }
    assert summary.total == (112 + 4 + 264 + 42 + 456, 8)
    assert summary.unknown == ()
    dense = next(r for r in summary.rows if r.name == "dense")
    assert dense.connected == ("joined", "joined")  # every tensor the shared layer is called on


def test_repeated_block_rows() -> None:
    text = """
kspec: 1
name: towers
params: {width: 4}
inputs: {x: {shape: [3]}}
blocks:
  step:
    params: {units: 2}
    inputs: [x]
    layers:
      - {name: d, type: Dense, units: $units}
      - {name: n, type: LayerNormalization}
    outputs: d
layers:
  - {name: stack, block: step, units: $width, repeat: 3}
  - {name: out, type: Dense, units: 1}
outputs: out
"""
    summary = static_summary(kspec.loads(text, width=5))
    rows = [(r.name, r.type, r.shapes, r.count, r.connected) for r in summary.rows]
    assert rows == [
        ("x", "InputLayer", [(None, 3)], (0, 0), ()),
        ("stack_1", "block step", [(None, 5)], (3 * 5 + 5 + 10, 0), ("x",)),
        ("stack_2", "block step", [(None, 5)], (5 * 5 + 5 + 10, 0), ("stack_1",)),
        ("stack_3", "block step", [(None, 5)], (5 * 5 + 5 + 10, 0), ("stack_2",)),
        ("out", "Dense", [(None, 1)], (6, 0), ("stack_3",)),
    ]
    assert summary.total == (30 + 40 + 40 + 6, 0)


def test_unknown_is_shown_and_named(capsys: pytest.CaptureFixture[str]) -> None:
    """A custom layer (and what follows it) cannot be counted: '?' and a named total."""
    path = ROOT / "tests" / "specs" / "good" / "custom_layer.yaml"
    status, out, _ = run(capsys, "summary", "--static", str(path))
    assert status == 0
    lines = out.splitlines()
    gate = next(line for line in lines if line.startswith("gate "))
    assert gate.split()[-2] == "?"
    assert " Total params: unknown (at least 72)" in lines  # hidden's 8*8+8
    # out's input comes from the custom layer: its size (and so its weights) are unknown too
    assert " Not counted statically: gate (kspec_test_layers.Gated), out (Dense)" in lines
    data = json.loads(run(capsys, "summary", "--static", "--format", "json", str(path))[1])
    assert data["total_params"] is None
    assert data["not_counted"] == ["gate (kspec_test_layers.Gated)", "out (Dense)"]


def test_walk_cut_short_is_unknown_not_zero() -> None:
    """Past shapes.MAX_EVALUATIONS (90,000 nested block instances here) the walk stops: the
    instances it did not reach, and the layers after them, are unknown, never counted as 0."""
    text = """
kspec: 1
name: nested_repeats
inputs: {x: {shape: [4]}}
blocks:
  inner: {inputs: [x], layers: [{name: d, type: Dense, units: 4}], outputs: d}
  outer: {inputs: [x], layers: [{name: s, block: inner, repeat: 300}], outputs: s}
layers:
  - {name: first, type: Dense, units: 4}
  - {name: o, block: outer, repeat: 300}
  - {name: last, type: Dense, units: 2}
outputs: last
"""
    summary = static_summary(kspec.loads(text))
    rows = {r.name: r for r in summary.rows}
    assert rows["first"].count == (20, 0) and rows["o_1"].count == (300 * 20, 0)
    assert rows["o_300"].count is None and rows["last"].count is None
    assert "o_300 (block outer)" in summary.unknown and "last (Dense)" in summary.unknown
    text_out = render(summary)
    assert " Total params: unknown (at least " in text_out and " more\n" in text_out


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "summary", "--static", "--format", "json", str(ROOT / "examples" / "siamese.yaml")
    )
    assert status == 0
    data = json.loads(out)
    assert data == to_json(static_summary(kspec.load(ROOT / "examples" / "siamese.yaml")))
    assert (data["total_params"], data["trainable_params"], data["non_trainable_params"]) == (
        3169,
        3169,
        0,
    )
    assert data["layers"][2] == {
        "name": "encoder",
        "type": "Dense",
        "output_shapes": [[None, 64]],
        "params": 2112,
        "weights": {"trainable": 2112, "non_trainable": 0},
        "macs": 4096,
        "connected_to": ["left", "right"],
    }


def test_params_and_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = str(ROOT / "examples" / "mnist_mlp.yaml")
    status, out, _ = run(capsys, "summary", "--static", path, "--param", "units=10")
    assert status == 0 and "Total params: 7,902" in out  # 784*10+10 + 10*2+2 + 2*10+10
    bad = tmp_path / "bad.yaml"
    bad.write_text("kspec: 1\nname: m\ninputs: {x: {shape: [2]}}\nlayers: []\noutputs: y\n")
    status, out, err = run(capsys, "summary", "--static", str(bad))
    assert status == 1 and out == "" and "bad.yaml:4:9: error[KS109]" in err
    status, _, err = run(capsys, "summary", "--format", "json", path)
    assert status == 2 and "--format json needs --static" in err


def test_static_summary_never_imports_tensorflow() -> None:
    code = (
        "import sys, kspec.cli; s = kspec.cli.main(['summary', '--static', 'examples/blocks.yaml'"
        "]); print(s, 'tensorflow' in sys.modules, 'keras' in sys.modules, file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=HANG
    )
    assert proc.stderr.strip() == "0 False False"
    assert proc.stdout == (GOLDEN / "blocks.txt").read_text(encoding="utf-8")


def test_render_matches_golden_api() -> None:
    spec = kspec.load(ROOT / "examples" / "blocks.yaml")
    assert render(static_summary(spec)) == (GOLDEN / "blocks.txt").read_text(encoding="utf-8")


# -- against Keras ----------------------------------------------------------------------------

VEC = {"x": {"shape": [6]}}
SEQ = {"x": {"shape": [5, 4]}}
IMG = {"x": {"shape": [8, 8, 6]}}
QKV = {"q": {"shape": [3, 4]}, "v": {"shape": [5, 6]}, "k": {"shape": [5, 2]}}

# id -> (inputs, the layer node): arguments that change the weights Keras creates
AGAINST_KERAS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "dense_no_bias": (VEC, {"type": "Dense", "units": 3, "use_bias": False}),
    "dense_rank3": (SEQ, {"type": "Dense", "units": 3}),
    "dense_frozen": (VEC, {"type": "Dense", "units": 3, "trainable": False}),
    "conv_groups": (IMG, {"type": "Conv2D", "filters": 4, "kernel_size": [3, 1], "groups": 2}),
    "conv_channels_first": (
        IMG,
        {"type": "Conv2D", "filters": 2, "kernel_size": 3, "data_format": "channels_first"},
    ),
    "conv1d_transpose": (SEQ, {"type": "Conv1DTranspose", "filters": 3, "kernel_size": 2}),
    "depthwise_multiplier": (
        IMG,
        {"type": "DepthwiseConv2D", "kernel_size": 3, "depth_multiplier": 2},
    ),
    "separable1d": (
        SEQ,
        {"type": "SeparableConv1D", "filters": 5, "kernel_size": 2, "depth_multiplier": 3},
    ),
    "bn_axis1": (IMG, {"type": "BatchNormalization", "axis": 1, "scale": False}),
    "ln_axes": (IMG, {"type": "LayerNormalization", "axis": [1, 2]}),
    "ln_no_center": (SEQ, {"type": "LayerNormalization", "center": False}),
    "group_norm": (IMG, {"type": "GroupNormalization", "groups": 3, "center": False}),
    "normalization_adapt": (IMG, {"type": "Normalization", "axis": [1, -1]}),
    "reversible_untied": (
        {"x": {"shape": [4], "dtype": "int32"}},
        {"type": "ReversibleEmbedding", "input_dim": 9, "output_dim": 3, "tie_weights": False},
    ),
    "prelu_shared": (IMG, {"type": "PReLU", "shared_axes": [1, 2]}),
    "lstm_no_bias": (SEQ, {"type": "LSTM", "units": 3, "use_bias": False}),
    "simple_rnn": (SEQ, {"type": "SimpleRNN", "units": 7, "return_sequences": True}),
    "bidirectional_backward": (
        SEQ,
        {
            "type": "Bidirectional",
            "layer": {"type": "GRU", "units": 3},
            "backward_layer": {"type": "LSTM", "units": 2, "go_backwards": True},
        },
    ),
    "time_distributed_conv": (
        {"x": {"shape": [3, 8, 8, 2]}},
        {"type": "TimeDistributed", "layer": {"type": "Conv2D", "filters": 4, "kernel_size": 3}},
    ),
    "stacked_cells": (
        SEQ,
        {
            "type": "RNN",
            "cell": {
                "type": "StackedRNNCells",
                "cells": [
                    {"type": "SimpleRNNCell", "units": 5},
                    {"type": "LSTMCell", "units": 2},
                ],
            },
        },
    ),
    "conv_lstm_no_bias": (
        {"x": {"shape": [2, 6, 6, 3]}},
        {"type": "ConvLSTM2D", "filters": 2, "kernel_size": 3, "use_bias": False},
    ),
    "spectral_conv": (
        IMG,
        {
            "type": "SpectralNormalization",
            "layer": {"type": "Conv2D", "filters": 3, "kernel_size": 2},
        },
    ),
    "pipeline": (
        VEC,
        {
            "type": "Pipeline",
            "layers": [{"type": "Dense", "units": 4}, {"type": "Dense", "units": 2}],
        },
    ),
    "einsum_bias": (
        SEQ,
        {
            "type": "EinsumDense",
            "equation": "abc,cd->abd",
            "output_shape": [None, 5],
            "bias_axes": "d",
        },
    ),
    "mha_key_value_dim": (
        QKV,
        {
            "type": "MultiHeadAttention",
            "num_heads": 2,
            "key_dim": 3,
            "value_dim": 4,
            "output_shape": 7,
            "inputs": {"query": "q", "value": "v", "key": "k"},
        },
    ),
    "mha_no_bias": (
        QKV,
        {
            "type": "MultiHeadAttention",
            "num_heads": 3,
            "key_dim": 2,
            "use_bias": False,
            "inputs": {"query": "q", "value": "v"},
        },
    ),
    "gqa_no_bias": (
        {"q": {"shape": [3, 4]}, "v": {"shape": [5, 4]}, "k": {"shape": [5, 2]}},
        {
            "type": "GroupQueryAttention",
            "head_dim": 2,
            "num_query_heads": 4,
            "num_key_value_heads": 2,
            "use_bias": False,
            "inputs": {"query": "q", "value": "v", "key": "k"},
        },
    ),
    "mha_gate": (
        QKV,
        {
            "type": "MultiHeadAttention",
            "num_heads": 2,
            "key_dim": 3,
            "use_gate": True,
            "inputs": {"query": "q", "value": "v", "key": "k"},
        },
    ),
    "gqa_gate": (
        {"q": {"shape": [3, 4]}, "v": {"shape": [5, 4]}},
        {
            "type": "GroupQueryAttention",
            "head_dim": 2,
            "num_query_heads": 2,
            "num_key_value_heads": 1,
            "use_gate": True,
            "inputs": {"query": "q", "value": "v"},
        },
    ),
    "attention_concat_scale": (
        {"q": {"shape": [3, 4]}, "v": {"shape": [5, 4]}},
        {"type": "Attention", "use_scale": True, "score_mode": "concat", "inputs": ["q", "v"]},
    ),
    "additive_no_scale": (
        {"q": {"shape": [3, 4]}, "v": {"shape": [5, 4]}},
        {"type": "AdditiveAttention", "use_scale": False, "inputs": ["q", "v"]},
    ),
}


@pytest.mark.tf
@pytest.mark.parametrize("case", sorted(AGAINST_KERAS))
def test_counts_agree_with_keras(case: str) -> None:
    keras = pytest.importorskip("keras")
    from kspec.verify import static_disagreements

    inputs, node = AGAINST_KERAS[case]
    spec = _spec(inputs, [{"name": "probe", **node}])
    summary = static_summary(spec)
    row = summary.rows[-1]
    assert row.count is not None, "not counted statically"
    try:
        model = kspec.build_model(spec, "functional")
        assert static_disagreements(summary, model) == []
        assert sum(row.count) == model.get_layer("probe").count_params()
    finally:
        keras.backend.clear_session()
