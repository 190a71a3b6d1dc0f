"""`kspec compile` (stdout, -o, --check, --param) and the commands that build models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kspec.cli import main

ROOT = Path(__file__).resolve().parent.parent
MLP = str(ROOT / "examples" / "mnist_mlp.yaml")


def test_compile_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", MLP, "--target", "subclass"]) == 0
    out = capsys.readouterr().out
    assert out == (ROOT / "tests/golden/source/mnist_mlp.subclass.py").read_text()


def test_compile_params(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["compile", MLP, "-t", "subclass", "--param", "units=128", "--param", "num_classes=5"])
        == 0
    )
    out = capsys.readouterr().out
    assert "def __init__(self, units=128, num_classes=5, **kwargs):" in out


def test_unknown_param_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compile", MLP, "--param", "unit=3"]) == 1
    err = capsys.readouterr().err
    assert "error[KS215]: --param unit: the spec has no param 'unit'" in err
    assert "did you mean 'units'?" in err


def test_param_that_makes_the_spec_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    # units // 4 becomes 0: reported at the expression's line, not passed on to Keras
    assert main(["compile", MLP, "--param", "units=2"]) == 1
    err = capsys.readouterr().err
    assert (
        "mnist_mlp.yaml:17:12: error[KS105]: `units` of Dense layer 'hidden2' must be >= 1" in err
    )


def test_bad_param_syntax_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["compile", MLP, "--param", "units"])
    assert exc.value.code == 2
    assert "expected NAME=VALUE" in capsys.readouterr().err


def test_output_file_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mnist_mlp.py"
    assert main(["compile", MLP, "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().err
    assert main(["compile", MLP, "-o", str(out), "--check"]) == 0
    assert "up to date" in capsys.readouterr().err
    out.write_text(out.read_text().replace("units=256", "units=512"))
    before = out.read_text()
    assert main(["compile", MLP, "-o", str(out), "--check"]) == 1
    captured = capsys.readouterr()
    assert "-    def __init__(self, units=512" in captured.out  # a unified diff
    assert "+    def __init__(self, units=256" in captured.out
    assert "is stale" in captured.err
    assert out.read_text() == before  # --check never writes


def test_check_of_a_missing_file_is_stale(tmp_path: Path) -> None:
    assert main(["compile", MLP, "-o", str(tmp_path / "none.py"), "--check"]) == 1
    assert not (tmp_path / "none.py").exists()


def test_failed_compile_leaves_the_old_output(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "kspec: 1\nname: m\ninputs: {x: {shape: [3]}}\nlayers: [{name: d, type: Dense}]\n"
        "outputs: d\n"
    )
    out = tmp_path / "m.py"
    out.write_text("previous contents\n")
    assert main(["compile", str(bad), "-o", str(out)]) == 1
    assert out.read_text() == "previous contents\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure while writing (here: in the rename) leaves the old file and no temporary."""
    from kspec import files

    out = tmp_path / "m.py"
    out.write_text("old\n")

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", boom)
    with pytest.raises(OSError):
        files.write_atomic(str(out), "new\n")
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.py"]


def test_python_dash_m() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kspec", "--version"], capture_output=True, text=True, check=True
    )
    assert proc.stdout.startswith("kspec ")


def test_building_without_tensorflow_says_how_to_install(tmp_path: Path) -> None:
    """`kspec summary` with TensorFlow unimportable: exit 2 and the pip command."""
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('tensorflow', 'keras'):\n"
        "            raise ImportError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "kspec", "summary", MLP], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 2
    assert "error[KS901]" in proc.stderr
    assert "pip install 'kspec[tensorflow]'" in proc.stderr
    # checking still works without TensorFlow
    proc = subprocess.run(
        [sys.executable, "-m", "kspec", "check", MLP], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr


@pytest.mark.tf
def test_summary_prints_the_keras_summary(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tensorflow")
    assert main(["summary", MLP, "--param", "units=128"]) == 0
    out = capsys.readouterr().out
    assert 'Model: "mnist_mlp"' in out
    assert "hidden1 (Dense)" in out
    assert "Total params: 104,938" in out


@pytest.mark.tf
@pytest.mark.parametrize("target", ["functional", "subclass"])
def test_keras_errors_are_diagnostics(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A problem only Keras sees (Conv1D with strides and dilation): KS902, Keras' own
    message (not its wrapper's), exit 1, no traceback."""
    pytest.importorskip("tensorflow")
    spec = tmp_path / "add.yaml"
    spec.write_text(
        "kspec: 1\nname: m\ninputs: {x: {shape: [32, 4]}}\nlayers:\n"
        "  - {name: conv, type: Conv1D, filters: 8, kernel_size: 3, strides: 2, "
        "dilation_rate: 2}\noutputs: conv\n"
    )
    assert main(["summary", str(spec), "--target", target]) == 1
    err = capsys.readouterr().err
    assert (
        "error[KS902]: Keras could not build the model: ValueError: `strides > 1` not "
        "supported in conjunction with `dilation_rate > 1`" in err
    )
    assert "Traceback" not in err
