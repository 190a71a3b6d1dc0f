"""Stub files: `kspec stubs` writes a module's layer signatures, `kspec check --stubs` checks
custom layers' arguments against them without importing anything."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import kspec
from kspec.cli import main

ROOT = Path(__file__).resolve().parent.parent
SPEC = """kspec: 1
name: cs
imports: [mylayers, other]
inputs:
  x: {shape: [8]}
layers:
  - {name: lin, type: mylayers.Linear, unit: 4}
  - {name: drop, type: mylayers.ScaledDropout}
  - {name: typo, type: mylayers.Linaer}
  - {name: free, type: other.Anything, whatever: 1}
outputs: free
"""
STUBS = {
    "kspec_stubs": 1,
    "modules": {
        "mylayers": {
            "Linear": {"args": {"units": {"default": 32, "required": False}}, "takes_name": True},
            "ScaledDropout": {"args": {"rate": {"required": True}}, "takes_name": True},
        }
    },
}


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    spec, stubs = tmp_path / "cs.yaml", tmp_path / "mylayers.stubs.json"
    spec.write_text(SPEC)
    stubs.write_text(json.dumps(STUBS))
    return spec, stubs


def test_custom_layer_arguments_are_checked_against_stubs(files: tuple[Path, Path]) -> None:
    spec, stubs = files
    assert kspec.check(spec) == []  # without stubs a custom layer's arguments are not known
    diags = kspec.check(spec, stubs=[str(stubs)])
    assert [(d.code, d.line, d.node) for d in diags] == [
        ("KS101", 7, "lin"),
        ("KS103", 8, "drop"),
        ("KS106", 9, "typo"),
    ]  # other.Anything: no stubs for that module, unchecked as before
    assert diags[0].message == "custom layer mylayers.Linear takes no argument `unit`"
    assert diags[0].hint == "did you mean 'units'?"
    assert diags[2].hint == "did you mean 'Linear'?"


def test_check_command_reads_stubs(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    spec, stubs = files
    assert main(["check", str(spec), "--stubs", str(stubs)]) == 1
    err = capsys.readouterr().err
    assert (
        "cs.yaml:7:40: error[KS101]: custom layer mylayers.Linear takes no argument `unit`" in err
    )
    assert "mylayers" not in sys.modules


@pytest.mark.parametrize(
    "content", ["not json", '{"modules": {}}', '{"kspec_stubs": 1, "modules": []}']
)
def test_a_bad_stub_file_is_ks908(
    files: tuple[Path, Path], content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, stubs = files
    stubs.write_text(content)
    assert main(["check", str(spec), "--stubs", str(stubs)]) == 2
    assert "error[KS915]" in capsys.readouterr().err


@pytest.mark.tf
def test_stubs_command_writes_signatures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("tensorflow")
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "fixtures"))
    out = tmp_path / "guides.json"
    assert main(["stubs", "kspec_guide_models", "-o", str(out)]) == 2
    assert "error[KS903]" in capsys.readouterr().err
    assert not out.exists()
    flags = ["--allow-import", "kspec_guide_models"]
    assert main(["stubs", "kspec_guide_models", "-o", str(out), *flags]) == 0
    classes = json.loads(out.read_text())["modules"]["kspec_guide_models"]
    assert classes["Linear"] == {"args": {"units": {"default": 32, "required": False}},
                                 "takes_name": True}  # fmt: skip
    assert classes["ScaledDropout"]["args"] == {"rate": {"required": True}}
    assert classes["NoName"]["takes_name"] is False
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "kspec: 1\nname: s\nimports: [kspec_guide_models]\ninputs:\n  x: {shape: [8]}\n"
        "layers:\n  - {name: n, type: kspec_guide_models.NoName}\noutputs: n\n"
    )
    assert [d.code for d in kspec.check(spec, stubs=[str(out)])] == ["KS104"]
