"""``variants:``: named sets of param values (docs/language.md, "Variants"), ``--variant`` on
the commands, ``variant=`` in the API, ``VARIANTS`` and ``build_model(variant=...)`` in the
generated source of both targets, and ``kspec summary --static --variants``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import kspec
from kspec.cli import main

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "mlp_scales.yaml"

# 784*w+w + (depth-1)*(w*w+w) + w*10+10
COUNTS = {None: 269_322, "n": 50_890, "s": 118_282, "m": 335_114}
MACS = {None: 268_800, "n": 50_816, "s": 118_016, "m": 334_336}

TABLE = """\
variant  params in force                     parameters     MACs  FLOPs
-        width=256, depth=2, num_classes=10     269,322  268,800  538 K
n        width=64, depth=1, num_classes=10       50,890   50,816  102 K
s        width=128, depth=2, num_classes=10     118,282  118,016  236 K
m        width=256, depth=3, num_classes=10     335,114  334,336  669 K
"""


def test_load_with_a_variant_and_params_on_top() -> None:
    assert kspec.load(SPEC, variant="s").params == {"width": 128, "depth": 2, "num_classes": 10}
    spec = kspec.load(SPEC, variant="n", depth=3)
    assert spec.params == {"width": 64, "depth": 3, "num_classes": 10}
    assert spec.variant == "n"
    assert [v for v, _ in spec.variants] == ["n", "s", "m"]


def test_summary_static_variants(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", str(SPEC), "--static", "--variants"]) == 0
    assert capsys.readouterr().out == TABLE
    assert main(["summary", str(SPEC), "--static", "--variants", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["variants"]
    assert [(r["variant"], r["total_params"], r["total_macs"]) for r in rows] == [
        (v, COUNTS[v], MACS[v]) for v in (None, "n", "s", "m")
    ]
    assert rows[1]["params"] == {"width": 64, "depth": 1, "num_classes": 10}


@pytest.mark.parametrize("variant", ["n", "s", "m"])
def test_summary_static_with_one_variant(variant: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", str(SPEC), "--static", "--variant", variant]) == 0
    assert f"Total params: {COUNTS[variant]:,}" in capsys.readouterr().out


def test_variant_on_check_and_compile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SPEC), "--variant", "m", "-q"]) == 0
    assert main(["check", str(SPEC), "--variant", "xl"]) == 1
    err = capsys.readouterr().err
    assert "error[KS512]: --variant xl: the spec has no variant 'xl'" in err
    assert "help: variants: n, s, m" in err
    out = tmp_path / "m.py"
    assert main(["compile", str(SPEC), "--variant", "m", "-o", str(out)]) == 0
    source = out.read_text(encoding="utf-8")
    assert "with --variant m" in source
    assert "class MlpScales(tf.keras.Model)" in source
    assert "def __init__(self, width=256, depth=3, num_classes=10, **kwargs):" in source
    assert main(["compile", str(SPEC), "--variant", "m", "-o", str(out), "--check"]) == 0
    assert main(["compile", str(SPEC), "--variant", "s", "-o", str(out), "--check"]) == 1
    assert "--variant s" in capsys.readouterr().err  # the command to run again


def test_a_param_named_variant_on_the_command_line_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", str(SPEC), "--param", "variant=3"]) == 2


@pytest.mark.parametrize("target", ["functional", "subclass"])
def test_generated_source_has_the_variants_table(target: str) -> None:
    source = kspec.to_source(SPEC, target)
    assert (
        'VARIANTS = {\n    "n": {"width": 64, "depth": 1},\n    "s": {"width": 128, "depth": 2},\n'
        '    "m": {"width": 256, "depth": 3},\n}\n'
    ) in source
    assert "def build_model(variant=None, **params):" in source


@pytest.mark.parametrize("target", ["functional", "subclass"])
def test_build_model_with_a_variant(target: str) -> None:
    pytest.importorskip("tensorflow")
    for variant in ("n", "s"):
        model = kspec.build_model(SPEC, target, variant=variant)
        assert model.count_params() == COUNTS[variant]
    namespace: dict[str, object] = {}
    exec(compile(kspec.to_source(SPEC, target), "m", "exec"), namespace)
    build = namespace["build_model"]
    assert build(variant="m").count_params() == COUNTS["m"]  # type: ignore[operator]
    assert build(variant="n", depth=2).count_params() == 50_890 + 64 * 64 + 64  # type: ignore[operator]


def test_variants_must_set_declared_params(tmp_path: Path) -> None:
    spec = tmp_path / "v.yaml"
    spec.write_text(
        SPEC.read_text(encoding="utf-8").replace("n: {width: 64, depth: 1}", "n: {widht: 64}"),
        encoding="utf-8",
    )
    diags = kspec.check(spec)
    assert [(d.code, d.line, d.column) for d in diags] == [("KS511", 12, 7)]
    assert diags[0].hint == "did you mean 'width'?"


def test_a_variant_that_is_not_a_mapping_is_a_schema_error(tmp_path: Path) -> None:
    spec = tmp_path / "v.yaml"
    spec.write_text(
        SPEC.read_text(encoding="utf-8").replace("n: {width: 64, depth: 1}", "n: 3"),
        encoding="utf-8",
    )
    assert [(d.code, d.line) for d in kspec.check(spec)] == [("KS102", 12)]
