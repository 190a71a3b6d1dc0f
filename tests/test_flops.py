"""FLOPs without TensorFlow: the multiply-adds (MACs) ``summary --static`` counts.

* exact counts by hand for every family that makes multiply-adds, and 0 for those that do not;
* block instances with their own params, repeats, shared layers (every call counts), ops;
* what cannot be counted (an unknown size, a custom layer) is ``?`` and named, never guessed;
* the text and JSON outputs, and :func:`kspec.flops.cost` (a spec's params and MACs for given
  params);
* the independent check: kspec's count equals TensorFlow's profiler's on the built model for
  every example and the layer zoo (tests/fixtures/flops_zoo.yaml), and, marked slow (about
  30 s), for Keras' ResNet50 at 224 x 224 through ``kspec import`` (bench/flops.py writes the
  table to bench/flops.md).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import kspec
import kspec.cli
from kspec.diagnostics import KspecError
from kspec.flops import cost, si
from kspec.summary import render, static_summary, to_json

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
ZOO = ROOT / "tests" / "fixtures" / "flops_zoo.yaml"


def _spec(inputs: dict[str, Any], layers: list[dict[str, Any]], **extra: Any) -> kspec.Spec:
    data = {"kspec": 1, "name": "m", "inputs": inputs, "layers": layers, **extra}
    data.setdefault("outputs", layers[-1]["name"])
    text = json.dumps(data)
    assert kspec.check_text(text) == []
    return kspec.loads(text)


def _macs(spec: kspec.Spec) -> dict[str, int | None]:
    return {r.name: r.macs for r in static_summary(spec).rows}


def test_counts_by_hand() -> None:
    """Every row, worked out by hand (MACs per example; positions x kernel taps x channels):

    conv   Conv2D 4, 3x3 valid on 8x8x3 -> 6x6x4: 36 positions x 9 taps x 3 channels x 4 = 3,888
    dw     DepthwiseConv2D 3x3 same, x2 -> 6x6x8: 36 x 9 x 4 channels x 2 = 2,592
    sep    SeparableConv2D 5, 3x3 stride 2 same -> 3x3x5: 9 x (9 x 8 depthwise + 8 x 5) = 1,008
    up     Conv2DTranspose 2, 2x2 stride 2 on 3x3x5: 9 input positions x 4 taps x 5 x 2 = 360
    bn, pool, flat: 0 (element by element, comparisons, a reshape)
    dense  Dense 10 on 18 features: 180
    lstm   LSTM 6 on 5 steps of 4: 5 x 4 gates x 6 x (4 + 6) = 1,200
    gru    GRU 3: 5 x 3 gates x 3 x (4 + 3) = 315
    bi     Bidirectional(SimpleRNN 2) on 5 x 3: 2 directions x 5 x 2 x (3 + 2) = 100
    td     TimeDistributed(Dense 4) on 5 x 3: 5 x 3 x 4 = 60
    mha    MultiHeadAttention 2 heads, key_dim 3; query td (5 x 4), value gru (5 x 3):
           projections q 5x4x2x3 = 120, k 5x3x2x3 = 90, v 90; scores 2x5x5x3 = 150,
           values 150; output 5x(2x3)x4 = 120: 720
    embed  Embedding: 0 (a lookup)
    conv1d Conv1D 2, 3 on 7 x 8 -> 5 x 2: 5 x 3 x 8 x 2 = 240
    add, relu: 0
    t      op transpose: 0
    mm     op matmul (5 x 4) x (4 x 5): 25 x 4 = 100 (the batch axis counts as 1)
    es     op einsum 'bij,bjk->bik' on (5 x 5), (5 x 4): 5 x 5 x 4 = 100
    half   op multiply by 0.5: 0
    """
    spec = _spec(
        {
            "img": {"shape": [8, 8, 3]},
            "seq": {"shape": [5, 4]},
            "tokens": {"shape": [7], "dtype": "int32"},
        },
        [
            {"name": "conv", "type": "Conv2D", "filters": 4, "kernel_size": 3, "inputs": "img"},
            {"name": "dw", "type": "DepthwiseConv2D", "kernel_size": 3, "padding": "same",
             "depth_multiplier": 2},
            {"name": "sep", "type": "SeparableConv2D", "filters": 5, "kernel_size": 3,
             "strides": 2, "padding": "same"},
            {"name": "up", "type": "Conv2DTranspose", "filters": 2, "kernel_size": 2,
             "strides": 2},
            {"name": "bn", "type": "BatchNormalization"},
            {"name": "pool", "type": "MaxPooling2D"},
            {"name": "flat", "type": "Flatten"},
            {"name": "dense", "type": "Dense", "units": 10},
            {"name": "lstm", "type": "LSTM", "units": 6, "inputs": "seq"},
            {"name": "gru", "type": "GRU", "units": 3, "return_sequences": True, "inputs": "seq"},
            {"name": "bi", "type": "Bidirectional",
             "layer": {"type": "SimpleRNN", "units": 2}},
            {"name": "td", "type": "TimeDistributed", "layer": {"type": "Dense", "units": 4},
             "inputs": "gru"},
            {"name": "mha", "type": "MultiHeadAttention", "num_heads": 2, "key_dim": 3,
             "inputs": {"query": "td", "value": "gru"}},
            {"name": "embed", "type": "Embedding", "input_dim": 100, "output_dim": 8,
             "inputs": "tokens"},
            {"name": "conv1d", "type": "Conv1D", "filters": 2, "kernel_size": 3},
            {"name": "add", "type": "Add", "inputs": ["td", "mha"]},
            {"name": "relu", "type": "Activation", "activation": "relu"},
            {"name": "t", "op": "transpose", "axes": [0, 2, 1], "inputs": "relu"},
            {"name": "mm", "op": "matmul", "inputs": ["relu", "t"]},
            {"name": "es", "op": "einsum", "subscripts": "bij,bjk->bik", "inputs": ["mm", "relu"]},
            {"name": "half", "op": "multiply", "x2": 0.5, "inputs": "es"},
        ],
        outputs=["dense", "lstm", "bi", "conv1d", "half"],
    )  # fmt: skip
    expected = {
        "img": 0, "seq": 0, "tokens": 0, "conv": 3888, "dw": 2592, "sep": 1008, "up": 360,
        "bn": 0, "pool": 0, "flat": 0, "dense": 180, "lstm": 1200, "gru": 315, "bi": 100,
        "td": 60, "mha": 720, "embed": 0, "conv1d": 240, "add": 0, "relu": 0, "t": 0,
        "mm": 100, "es": 100, "half": 0,
    }  # fmt: skip
    assert _macs(spec) == expected
    summary = static_summary(spec)
    assert summary.macs == sum(expected.values()) == 10_863
    assert summary.macs_unknown == ()


def test_more_rules_by_hand() -> None:
    """Grouped and causal convolutions, RNN over stacked cells, EinsumDense, Dot, attention:

    grouped Conv2D 6, 3x3, groups 3 on 6x6x6 -> 4x4x6: 16 x 9 x (6 / 3) x 6 = 1,728
    causal  Conv1D 4, 3, causal, dilation 2 on 10 x 6 -> 10 x 4: 10 x 3 x 6 x 4 = 720
    stacked RNN(StackedRNNCells[LSTMCell 2, GRUCell 3]) on 10 x 4: 10 x (4x2x(4+2) + 3x3x(2+3))
            = 10 x (48 + 45) = 930
    einsum  EinsumDense 'abc,cd->abd' to 5 on 10 x 3: 10 x 3 x 5 = 150
    dot     Dot axes 2 of (10 x 5) and (10 x 5): 10 x 10 x 5 = 500
    luong   Attention (dot scores) of (10 x 5), (10 x 5): 10 x 10 x (5 + 5) = 1,000
    concat  Attention score_mode concat: the scores are element by element; 10 x 10 x 5 = 500
    gate    MultiHeadAttention 1 head, key_dim 2, use_gate, self-attention on 10 x 5:
            q, k, v 10x5x2 = 100 each; scores 10x10x2 = 200, values 200; output 10x2x5 = 100;
            the gate 10x5x2 = 100: 900
    """
    spec = _spec(
        {"img": {"shape": [6, 6, 6]}, "seq": {"shape": [10, 6]}},
        [
            {"name": "grouped", "type": "Conv2D", "filters": 6, "kernel_size": 3, "groups": 3,
             "inputs": "img"},
            {"name": "causal", "type": "Conv1D", "filters": 4, "kernel_size": 3,
             "padding": "causal", "dilation_rate": 2, "inputs": "seq"},
            {"name": "stacked", "type": "RNN", "return_sequences": True,
             "cell": {"type": "StackedRNNCells", "cells": [{"type": "LSTMCell", "units": 2},
                                                           {"type": "GRUCell", "units": 3}]}},
            {"name": "einsum", "type": "EinsumDense", "equation": "abc,cd->abd",
             "output_shape": [10, 5]},
            {"name": "dot", "type": "Dot", "axes": 2, "inputs": ["einsum", "einsum"]},
            {"name": "luong", "type": "Attention", "inputs": ["einsum", "einsum"]},
            {"name": "concat", "type": "Attention", "score_mode": "concat",
             "inputs": ["einsum", "einsum"]},
            {"name": "gate", "type": "MultiHeadAttention", "num_heads": 1, "key_dim": 2,
             "use_gate": True, "inputs": {"query": "einsum", "value": "einsum"}},
        ],
        outputs=["grouped", "dot", "luong", "concat", "gate"],
    )  # fmt: skip
    macs = _macs(spec)
    assert {k: macs[k] for k in ("grouped", "causal", "stacked", "einsum")} == {
        "grouped": 1728,
        "causal": 720,
        "stacked": 930,
        "einsum": 150,
    }
    assert {k: macs[k] for k in ("dot", "luong", "concat", "gate")} == {
        "dot": 500,
        "luong": 1000,
        "concat": 500,
        "gate": 900,
    }


BLOCKS = """
kspec: 1
name: towers
params: {width: 4}
inputs: {x: {shape: [3]}, y: {shape: [3]}}
blocks:
  proj:
    params: {units: 2}
    inputs: [x]
    layers:
      - {name: a, type: Dense, units: $units}
      - {name: b, type: Dense, units: "${units * 2}"}
    outputs: b
layers:
  - {name: stack, block: proj, units: $width, repeat: 2, inputs: x}
  - {name: shared, type: Dense, units: 5, inputs: x}
  - {name: again, share: shared, inputs: y}
  - {name: out, type: Dense, units: 1, inputs: stack}
outputs: [out, shared, again]
"""


def test_blocks_repeats_params_and_shared_layers() -> None:
    """Each instance with its params and its own input size; a shared layer once per call.

    stack_1: Dense 4 on 3 = 12, Dense 8 on 4 = 32: 44;  stack_2: Dense 4 on 8 = 32, + 32: 64
    shared:  Dense 5 on 3, called twice: 2 x 15 = 30;   out: Dense 1 on 8 = 8
    With width 2: stack_1 3x2 + 2x4 = 14, stack_2 4x2 + 8 = 16.
    """
    spec = kspec.loads(BLOCKS)
    assert _macs(spec) == {
        "x": 0, "y": 0, "stack_1": 44, "stack_2": 64, "shared": 30, "out": 8,
    }  # fmt: skip
    assert static_summary(spec).macs == 146
    assert _macs(kspec.loads(BLOCKS, width=2))["stack_2"] == 16
    # the walk's calls, one per instance and per call of the shared layer
    calls = {"/".join(c.path): c.macs() for c in spec.walk.calls}
    assert calls == {
        "stack_1/a": 12, "stack_1/b": 32, "stack_2/a": 32, "stack_2/b": 32, "shared": 15,
        "again": 15, "out": 8,
    }  # fmt: skip


def test_cost_for_params(tmp_path: Path) -> None:
    """``cost``: params and MACs of a spec for given params (checked again with them)."""
    path = tmp_path / "towers.yaml"
    path.write_text(BLOCKS, encoding="utf-8")
    base = cost(path)
    # weights: stack_1 16 + 40, stack_2 36 + 40, shared 20 (once), out 9
    assert (base.params, base.macs, base.flops, base.unknown) == (161, 146, 292, ())
    small = cost(kspec.load(path), width=2)
    # stack_1 (3x2 + 2) + (2x4 + 4), stack_2 (4x2 + 2) + (2x4 + 4), shared 20, out 4 + 1
    assert small.params == 8 + 12 + 10 + 12 + 20 + 5
    assert small.macs == 6 + 8 + 8 + 8 + 30 + 4
    with pytest.raises(KspecError):
        cost(path, width=0)


def test_unknown_sizes_are_named_not_guessed() -> None:
    """A sequence of unknown length: the recurrent layer and the attention after it depend on
    it, the Dense on the last step does not."""
    spec = _spec(
        {"seq": {"shape": [None, 4]}},
        [
            {"name": "lstm", "type": "LSTM", "units": 3, "return_sequences": True},
            {"name": "att", "type": "MultiHeadAttention", "num_heads": 1, "key_dim": 2,
             "inputs": {"query": "lstm", "value": "lstm"}},
            {"name": "pool", "type": "GlobalAveragePooling1D"},
            {"name": "out", "type": "Dense", "units": 2},
        ],
    )  # fmt: skip
    summary = static_summary(spec)
    assert _macs(spec) == {"seq": 0, "lstm": None, "att": None, "pool": 0, "out": 6}
    assert summary.macs == 6
    assert summary.macs_unknown == ("lstm (LSTM)", "att (MultiHeadAttention)")
    text = render(summary)
    assert " Total MACs: unknown (at least 6)\n" in text
    assert " MACs not counted statically: lstm (LSTM), att (MultiHeadAttention)\n" in text
    data = to_json(summary)
    assert (data["total_macs"], data["total_flops"]) == (None, None)
    assert data["macs_not_counted"] == ["lstm (LSTM)", "att (MultiHeadAttention)"]
    assert [layer["macs"] for layer in data["layers"]] == [0, None, None, 0, 6]
    # lstm 4 x 3 x (4 + 3) + 12, att 3 x (3x2 + 2) + (2x3 + 3), out 3x2 + 2
    assert cost(spec).macs is None and cost(spec).params == 96 + 33 + 8


def test_a_custom_layer_is_unknown() -> None:
    spec = kspec.load(ROOT / "tests" / "specs" / "good" / "custom_layer.yaml")
    summary = static_summary(spec)
    assert [(r.name, r.macs) for r in summary.rows] == [
        ("x", 0),
        ("hidden", 64),
        ("gate", None),
        ("out", None),
    ]
    assert summary.macs_unknown == ("gate (kspec_test_layers.Gated)", "out (Dense)")


def test_walk_cut_short_is_unknown_not_counted() -> None:
    """Past the walk's budget (90,000 nested instances) what it did not reach, and the
    instance it stopped in, are unknown and named: never a total that looks complete."""
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
    macs = {r.name: r.macs for r in summary.rows}
    assert (macs["first"], macs["o_1"]) == (16, 300 * 16)
    stopped = next(name for name, m in macs.items() if m is None)
    assert stopped.startswith("o_") and macs["o_300"] is None and macs["last"] is None
    before = 16 + (int(stopped[2:]) - 1) * 4800  # the instances before it, complete
    assert before <= summary.macs < before + 4800  # and the part of it the walk reached
    assert summary.macs_unknown[0] == f"{stopped} (block outer)"
    assert summary.macs_unknown[-1] == "last (Dense)"
    assert " Total MACs: unknown (at least " in render(summary)


def test_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(ROOT / "examples" / "siamese.yaml")
    assert kspec.cli.main(["summary", "--static", path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "Layer (type)        Output Shape  Param #   MACs  Connected to"
    # a shared layer's row counts each of its calls (2 x 32 x 64)
    assert lines[5] == "encoder (Dense)     (None, 64)      2,112  4,096  left, right"
    assert lines[-1] == " Total MACs: 6,160 (6.16 K; FLOPs = 2 x MACs = 12.3 K)"
    assert kspec.cli.main(["summary", "--static", "--format", "json", path]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["total_macs"], data["total_flops"], data["macs_not_counted"]) == (6160, 12320, [])
    assert {layer["name"]: layer["macs"] for layer in data["layers"]} == {
        "left": 0, "right": 0, "encoder": 4096, "code": 2048, "diff": 0, "score": 16,
    }  # fmt: skip


def test_si() -> None:
    assert [si(n) for n in (0, 999, 1000, 81_900, 999_499, 999_500, 3_857_973_248)] == [
        "0", "999", "1 K", "81.9 K", "999 K", "1 M", "3.86 G",
    ]  # fmt: skip


def test_every_layer_with_a_kernel_has_a_rule() -> None:
    """The layers that create weights but make no multiply-adds, exactly: a new layer with a
    kernel must get a ``macs`` rule (or join this list with a reason)."""
    from kspec.layers import LAYERS

    no_products = {
        name
        for name, layer in LAYERS.items()
        if layer.weights is not None and layer.macs is None and name == layer.name
    }
    assert no_products == {
        "BatchNormalization",  # a scale and an offset per element
        "LayerNormalization",
        "GroupNormalization",
        "RMSNormalization",
        "Normalization",  # preprocessing: (x - mean) / std
        "PReLU",  # a slope per element
        "Embedding",  # a lookup
    }


def test_every_layer_example_counts_or_says_unknown() -> None:
    """No rule fails on any layer's coverage example (an int or None, never an exception)."""
    from kspec.layers import LAYERS

    for name, layer in sorted(LAYERS.items()):
        if name != layer.name or layer.example is None:
            continue
        example = layer.example
        node: dict[str, Any] = {"name": "probe", "type": example.node_type or name,
                                **example.args}  # fmt: skip
        if example.node_inputs is not None:
            node["inputs"] = example.node_inputs
        summary = static_summary(_spec(dict(example.inputs), [node]))
        macs = summary.rows[-1].macs
        assert macs is None or macs >= 0, name


# -- the independent check: TensorFlow's profiler on the built model -------------------------


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    pytest.importorskip("tensorflow")
    spec = importlib.util.spec_from_file_location("kspec_bench_flops", ROOT / "bench" / "flops.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["kspec_bench_flops"] = module  # `kspec import kspec_bench_flops:resnet50`
    spec.loader.exec_module(module)
    return module


@pytest.mark.tf
@pytest.mark.parametrize("path", [*EXAMPLES, ZOO], ids=lambda p: p.stem)
def test_agrees_with_the_tensorflow_profiler(path: Path, bench: ModuleType) -> None:
    """Exactly: the profiler's MACs of the contracting ops in the traced graph (unknown
    lengths fixed at bench.LENGTH)."""
    import keras

    from kspec.verify import static_disagreements

    spec, _ = bench.fixed_spec(path)
    try:
        model = kspec.build_model(spec)
        assert static_disagreements(static_summary(spec), model) == []
        result = bench.compare(spec, model)
    finally:
        keras.backend.clear_session()
    assert result.kspec is not None and result.independent > 0
    assert result.kspec == result.independent


@pytest.mark.tf
@pytest.mark.slow
def test_resnet50_agrees_with_the_tensorflow_profiler(bench: ModuleType) -> None:
    """Keras' ResNet50 (v1) at 224 x 224 through ``kspec import``: 3.86 G MACs, both ways."""
    result = bench.resnet50_result()
    assert result.kspec == result.independent == 3_857_973_248
