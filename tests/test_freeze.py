"""Freezing for fine-tuning: ``trainable: false`` on a block instance, and ``--freeze NAME``.

* the language: ``trainable`` on a block node is a literal bool, not a block param (KS102,
  KS306), and both targets' generated code set it after creating the instance;
* ``kspec summary --static`` counts frozen weights as non-trainable, by hand and against Keras
  (through ``kspec.verify``, which compares every row's trainable and non-trainable counts);
* ``--freeze`` names: a node, a repeated node (all instances), an instance, a path into one, a
  share node; an unknown name is KS909 with a suggestion.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

import kspec
import kspec.cli
from kspec.freeze import SpecPaths
from kspec.summary import static_summary

SPEC = """\
kspec: 1
name: fine_tune
inputs:
  x: {shape: [16]}
blocks:
  dense_bn:
    params: {units: 32}
    inputs: [x]
    layers:
      - {name: dense, type: Dense, units: $units}
      - {name: bn, type: BatchNormalization}
    outputs: bn
  pair:
    inputs: [x]
    layers:
      - {name: first, block: dense_bn, trainable: true}
      - {name: second, block: dense_bn, trainable: false}
    outputs: second
layers:
  - {name: backbone, block: dense_bn, repeat: 2, trainable: false}
  - {name: stack, block: pair}
  - {name: proj, type: Dense, units: 32}
  - {name: again, share: proj}
  - {name: head, type: Dense, units: 3}
outputs: head
"""
# weights: dense_bn(16 -> 32) = 16*32+32 + 4*32 = 672 (trainable 608 when not frozen: the
# moving mean and variance, 64, never are); dense_bn(32 -> 32) = 1,184 (1,120 trainable);
# proj 1,056; head 99.
BACKBONE = (0, 672 + 1184)
STACK = (1120, 64 + 1184)  # first trainable, second frozen
PROJ, HEAD = (1056, 0), (99, 0)


def _total(*counts: tuple[int, int]) -> tuple[int, int]:
    return sum(c[0] for c in counts), sum(c[1] for c in counts)


def _spec(text: str = SPEC) -> kspec.Spec:
    assert kspec.check_text(text) == []
    return kspec.loads(text)


def _rows(summary: Any) -> dict[str, tuple[int, int] | None]:
    return {r.name: r.count for r in summary.rows if r.kind != "input"}


def test_static_counts_frozen_instances() -> None:
    summary = static_summary(_spec())
    assert _rows(summary) == {
        "backbone_1": (0, 672),
        "backbone_2": (0, 1184),
        "stack": STACK,
        "proj": PROJ,
        "head": HEAD,
    }
    assert summary.total == _total(BACKBONE, STACK, PROJ, HEAD)


def test_static_counts_with_freeze() -> None:
    spec = _spec()
    frozen = static_summary(spec, freeze=["again", "stack/first"])  # a share: its layer
    assert _rows(frozen)["proj"] == (0, 1056)
    assert _rows(frozen)["stack"] == (0, 2 * 1184)  # first and second: all frozen
    assert frozen.total == (99, 672 + 1184 + 1184 + 1184 + 1056)


def test_freeze_names_resolve() -> None:
    paths = SpecPaths(_spec(), ["backbone", "stack/second/dense"])
    assert paths.freeze == (("backbone",), ("stack", "second", "dense"))
    assert paths.frozen(("backbone_2", "bn"))  # a repeated node's name: every instance
    assert paths.frozen(("stack", "second", "dense"))
    assert not paths.frozen(("stack", "first", "dense"))
    assert not paths.frozen(("head",))
    assert paths.location(("stack", "second", "bn")) == "<spec>:11"
    assert paths.location(("backbone_2",)) == "<spec>:20"
    assert paths.chain(("backbone_3x",)) is None
    assert paths.chain(("head", "kernel")) is None  # paths stop at layers


@pytest.mark.parametrize(
    ("name", "message", "hint"),
    [
        ("hed", "cannot freeze 'hed': the model has no layer or block instance 'hed'",
         "did you mean 'head'?"),
        ("stack/secnd", "cannot freeze 'stack/secnd': 'stack' has no layer or block instance "
         "'secnd'", "did you mean 'second'?"),
        ("head/kernel", "cannot freeze 'head/kernel': 'head' has no layer or block instance "
         "'kernel'", "name a node of the spec"),
        ("backbone_0", "cannot freeze 'backbone_0'", "did you mean 'backbone'?"),
        ("backbone_3", "cannot freeze 'backbone_3'", "did you mean 'backbone'?"),  # repeat: 2
        ("", "cannot freeze ''", "name a node of the spec"),
    ],
)  # fmt: skip
def test_unknown_freeze_name_is_ks909(name: str, message: str, hint: str) -> None:
    with pytest.raises(kspec.KspecError) as info:
        SpecPaths(_spec(), [name])
    (diag,) = info.value.diagnostics
    assert diag.code == "KS909"
    assert diag.message.startswith(message)
    assert diag.hint is not None and diag.hint.startswith(hint)


@pytest.mark.parametrize(
    ("value", "code"),
    [("$frozen", "KS306"), ('"${not frozen}"', "KS306"), ("no", "KS102"), ("0", "KS102")],
)
def test_block_trainable_is_a_literal_bool(value: str, code: str) -> None:
    text = SPEC.replace("repeat: 2, trainable: false}", f"repeat: 2, trainable: {value}}}")
    text = text.replace("name: fine_tune\n", "name: fine_tune\nparams: {frozen: true}\n")
    diags = kspec.check_text(text)
    assert [d.code for d in diags] == [code]
    assert diags[0].line == 21


def test_block_trainable_is_not_a_block_param() -> None:
    spec = _spec()
    node = next(n for n in spec.graph.nodes if n.name == "backbone")
    assert node.trainable is False and node.args == ()
    stack = next(n for n in spec.graph.nodes if n.name == "stack")
    assert stack.trainable is None


def test_generated_code_sets_trainable_after_creation() -> None:
    subclass = kspec.to_source(_spec(), "subclass")
    assert "        for instance in self.backbone:\n            instance.trainable = False\n" in (
        subclass
    )
    assert "        self.second.trainable = False\n" in subclass
    functional = kspec.to_source(_spec(), "functional")
    assert "def dense_bn(tensors, units=32, name=None, trainable=True):" in functional
    assert "    model_.trainable = trainable\n" in functional
    assert "def pair(tensors, name=None):" in functional  # no instance of pair sets it
    assert 'dense_bn(first, trainable=False, name="second")' in functional


def _counts(weights: Any) -> int:
    return sum(math.prod(w.shape) for w in weights)


@pytest.mark.tf
def test_both_targets_freeze_and_agree_with_the_static_summary() -> None:
    pytest.importorskip("tensorflow")
    from kspec.verify import verify

    spec = _spec()
    result = verify(spec, roundtrip=True)
    assert result.ok, result.problems  # every row's (trainable, non-trainable) counts too
    expected = _total(BACKBONE, STACK, PROJ, HEAD)
    for target in kspec.api.TARGETS:
        model = kspec.build_model(spec, target)
        assert (_counts(model.trainable_weights), _counts(model.non_trainable_weights)) == (
            expected
        )
        frozen = kspec.build_model(spec, target, freeze=["proj", "stack"])
        assert _counts(frozen.trainable_weights) == 99


def test_cli_summary_static_freeze(capsys: pytest.CaptureFixture[str], tmp_path: Any) -> None:
    path = tmp_path / "ft.yaml"
    path.write_text(SPEC, encoding="utf-8")
    status = kspec.cli.main(["summary", "--static", str(path), "--freeze", "proj", "head"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert " Trainable params: 1,120\n" in out
    status = kspec.cli.main(["summary", "--static", str(path), "--freeze", "nope"])
    out, err = capsys.readouterr()
    assert status == 2
    assert "error[KS909]: cannot freeze 'nope': the model has no layer" in err
