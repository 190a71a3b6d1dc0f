"""What CI uses: SARIF output, `check --build`, `compile --check` on several specs, and the
pre-commit hooks' definitions."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from kspec.cli import main, parser

ROOT = Path(__file__).resolve().parent.parent
BAD = "tests/specs/bad/schema_unknown_key_unit.yaml"


@pytest.fixture(autouse=True)
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_sarif(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["check", "--format", "sarif", BAD, "tests/specs/bad/meaning_unused_node.yaml"]) == 1
    )
    sarif = json.loads(capsys.readouterr().out)
    assert sarif["version"] == "2.1.0"
    (run,) = sarif["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["KS101", "KS214"]
    assert rules[0]["shortDescription"]["text"] == "unknown key"
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("KS214", "warning"),
        ("KS101", "error"),
    ] or [(r["ruleId"], r["level"]) for r in results] == [("KS101", "error"), ("KS214", "warning")]
    unit = next(r for r in results if r["ruleId"] == "KS101")
    location = unit["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == BAD
    assert location["region"] == {"startLine": 11, "startColumn": 5, "endLine": 11, "endColumn": 9}
    assert rules[unit["ruleIndex"]]["id"] == "KS101"
    assert "did you mean 'units'?" in unit["message"]["text"]


def test_compile_check_several_specs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("mnist_mlp", "siamese"):
        shutil.copy(ROOT / "examples" / f"{name}.yaml", tmp_path)
    specs = [str(tmp_path / "mnist_mlp.yaml"), str(tmp_path / "siamese.yaml")]
    template = "{dir}/{stem}_model.py"
    assert main(["compile", *specs, "-o", template]) == 0
    assert sorted(p.name for p in tmp_path.glob("*.py")) == [
        "mnist_mlp_model.py",
        "siamese_model.py",
    ]
    assert main(["compile", "--check", *specs, "-o", template]) == 0
    (tmp_path / "siamese_model.py").write_text("stale\n")
    capsys.readouterr()
    assert main(["compile", "--check", *specs, "-o", template]) == 1
    err = capsys.readouterr().err
    assert "mnist_mlp_model.py is up to date" in err
    assert "siamese_model.py is stale" in err


def test_several_specs_need_a_template(capsys: pytest.CaptureFixture[str]) -> None:
    specs = ["examples/mnist_mlp.yaml", "examples/siamese.yaml"]
    assert main(["compile", *specs, "-o", "out.py"]) == 2
    assert "-o must be a template" in capsys.readouterr().err


def test_pre_commit_hooks_run_kspec_commands() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert [h["id"] for h in hooks] == ["kspec-check", "kspec-compile-check"]
    for hook in hooks:
        argv = shlex.split(hook["entry"])
        assert argv[0] == "kspec"
        # the entry plus its default args plus a file name parse as a kspec command line
        parser().parse_args([*argv[1:], *hook.get("args", []), "examples/mnist_mlp.yaml"])
        assert hook["language"] == "python"


@pytest.mark.tf
def test_check_build_reports_what_keras_rejects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("tensorflow")
    spec = tmp_path / "add.yaml"
    spec.write_text(
        "kspec: 1\nname: m\ninputs: {x: {shape: [32, 4]}}\nlayers:\n"
        "  - {name: conv, type: Conv1D, filters: 8, kernel_size: 3, strides: 2, "
        "dilation_rate: 2}\noutputs: conv\n"
    )
    assert main(["check", str(spec)]) == 0  # the checker alone does not know this rule
    capsys.readouterr()
    assert main(["check", "--build", str(spec), "examples/mnist_mlp.yaml"]) == 1
    err = capsys.readouterr().err
    assert "error[KS902]" in err
    assert "`strides > 1` not supported in conjunction with `dilation_rate > 1`" in err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "checked 2 files: 1 error in 1 file"


def test_check_shapes_prints_the_inferred_shapes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--shapes", "examples/seq2seq.yaml"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "examples/seq2seq.yaml:"
    rows = {line.split()[0]: line.split(None, 2)[2] for line in lines[1:]}
    assert rows["enc"] == "(None, None, 32), (None, 32), (None, 32)"  # return_state: 3 outputs
    assert rows["join"] == "(None, None, 64)"
    assert rows["head"] == "(None, None, 8)"
