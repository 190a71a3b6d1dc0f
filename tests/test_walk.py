"""The one walk over a spec's instances (kspec.spec.walk), and the consumers that read it.

The checker walks every layer call once, in every block instance with that instance's params;
``summary --static``, ``plot --static``, ``check --shapes`` and ``verify`` read what it found.
Two drifts this fixed, each with the test that failed before: ``plot --static`` drew an inner
``repeat: $depth`` with the block's default params instead of the instance's, and ``verify``
picked its sample integers below the block's default Embedding vocabulary instead of the
instance's.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import kspec
from kspec import plot
from kspec.cli import main
from kspec.spec import walk as walking
from kspec.spec.walk import End, Instance, LayerCall
from kspec.summary import static_summary

NESTED_REPEAT = """\
kspec: 1
name: nested
inputs:
  x: {shape: [4]}
blocks:
  leaf:
    inputs: [x]
    layers:
      - {name: d, type: Dense, units: 4}
    outputs: d
  stack:
    params: {depth: 1}
    inputs: [x]
    layers:
      - {name: inner, block: leaf, repeat: $depth}
    outputs: inner
layers:
  - {name: s, block: stack, depth: 3}
outputs: s
"""

VOCAB = """\
kspec: 1
name: vocab
inputs:
  tokens: {shape: [5], dtype: int32}
blocks:
  embed:
    params: {vocab: 1000}
    inputs: [x]
    layers:
      - {name: e, type: Embedding, input_dim: $vocab, output_dim: 4}
    outputs: e
layers:
  - {name: small, block: embed, vocab: 5}
  - {name: pool, type: GlobalAveragePooling1D}
outputs: pool
"""


def test_walk_visits_each_instance_with_its_params() -> None:
    spec = kspec.loads(NESTED_REPEAT)
    found = spec.walk
    assert [s.path for s in found.steps if isinstance(s, Instance)] == [
        ("s",),
        ("s", "inner_1"),
        ("s", "inner_2"),
        ("s", "inner_3"),
    ]
    calls = [s for s in found.steps if isinstance(s, LayerCall)]
    assert [c.path for c in calls] == [("s", f"inner_{i}", "d") for i in (1, 2, 3)]
    assert all(c.first and c.weights() == (20, 0) for c in calls)
    assert sum(isinstance(s, End) for s in found.steps) == 4
    assert found.shapes[("s",)] == [(None, 4)]
    assert found.complete


def test_plot_static_draws_the_instances_params() -> None:
    """Before: one inner instance (the block's default depth: 1) for three built."""
    spec = kspec.loads(NESTED_REPEAT)
    text = plot.ir_to_dot(spec)
    assert re.findall(r'subgraph "cluster_([^"]+)"', text) == [
        "s",
        "s/inner_1",
        "s/inner_2",
        "s/inner_3",
    ]
    assert static_summary(spec).total == (60, 0)  # summary --static always counted three


def test_verify_samples_below_the_instances_vocabulary() -> None:
    """Before: integers up to the block's default input_dim (1000) for an instance of 5."""
    from kspec.verify import _smallest_vocab, sample_inputs

    spec = kspec.loads(VOCAB)
    assert _smallest_vocab(spec) == 5
    np = pytest.importorskip("numpy")
    sample = np.asarray(sample_inputs(spec, batch=64))
    assert int(sample.max()) < 5


def test_consumers_read_the_checkers_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading walks once; summary, plot and the shape table then walk no more."""
    calls: list[Any] = []
    real = walking._walk

    def counting(spec: Any, rep: Any) -> Any:
        calls.append(spec.name)
        return real(spec, rep)

    monkeypatch.setattr(walking, "_walk", counting)
    spec = kspec.loads(NESTED_REPEAT)
    assert calls == ["nested"]
    static_summary(spec)
    plot.ir_to_dot(spec)
    assert calls == ["nested"]


def test_check_shapes_reads_once_and_walks_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kspec.spec import loader

    path = tmp_path / "nested.yaml"
    path.write_text(NESTED_REPEAT, encoding="utf-8")
    reads: list[str] = []
    walks: list[str] = []
    real_load, real_walk = loader.load_file, walking._walk

    def load(p: str, limits: Any = None) -> Any:
        reads.append(p)
        return real_load(p, limits)

    def count_walk(spec: Any, rep: Any) -> Any:
        walks.append(spec.name)
        return real_walk(spec, rep)

    monkeypatch.setattr("kspec.spec.include.load_file", load)
    monkeypatch.setattr(walking, "_walk", count_walk)
    assert main(["check", "--shapes", str(path)]) == 0
    assert (len(reads), len(walks)) == (1, 1)
    out = capsys.readouterr().out
    assert "  s  block stack  (None, 4)" in out


def test_walk_is_bounded_by_evaluations() -> None:
    """Nested repeats of a million layer calls stop at the budget, marked incomplete."""
    text = NESTED_REPEAT.replace("repeat: $depth", "repeat: 1000").replace(
        "- {name: s, block: stack, depth: 3}", "- {name: s, block: stack, repeat: 1000}"
    )
    spec = kspec.loads(text)
    found = spec.walk
    assert not found.complete
    assert found.evaluations <= walking.MAX_EVALUATIONS + 10
    assert static_summary(spec).unknown  # what it did not reach is unknown, never 0
