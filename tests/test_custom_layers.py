"""Custom layers named under `imports:`: checked and compiled without importing anything, built
only with explicit permission, and then used by both targets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import kspec
from kspec.cli import main

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "tests" / "specs" / "good" / "custom_layer.yaml"
FIXTURES = str(ROOT / "tests" / "fixtures")


@pytest.fixture(autouse=True)
def fixture_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(FIXTURES)


def test_check_and_compile_import_nothing() -> None:
    sys.modules.pop("kspec_test_layers", None)
    assert kspec.check(SPEC) == []
    source = kspec.to_source(SPEC, "subclass")
    assert "import kspec_test_layers\n" in source
    assert 'kspec_test_layers.Gated(units=8, name="gate")' in source
    assert "kspec_test_layers" not in sys.modules


def test_type_outside_imports_is_an_error() -> None:
    text = SPEC.read_text().replace("imports: [kspec_test_layers]", "imports: []")
    diags = kspec.check_text(text, "custom.yaml")
    assert [(d.code, d.line) for d in diags] == [("KS106", 10)]
    assert diags[0].hint == "add `imports: [kspec_test_layers]` to the spec"


@pytest.mark.parametrize(
    ("type_", "module"),
    [("os.system(1).x", "os"), ("a.class.B", "a.class"), ("a..B", "a.")],
)
def test_only_dotted_names_become_code(type_: str, module: str) -> None:
    text = (
        "kspec: 1\nname: m\n"
        f"imports: [{module!r}]\n"
        "inputs: {x: {shape: [3]}}\n"
        f"layers: [{{name: c, type: {type_!r}}}]\noutputs: c\n"
    )
    codes = {d.code for d in kspec.check_text(text)}
    assert codes & {"KS104", "KS106"}
    with pytest.raises(kspec.KspecError):
        kspec.to_source(kspec.loads(text))


@pytest.mark.tf
def test_building_needs_permission(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tensorflow")
    sys.modules.pop("kspec_test_layers", None)
    with pytest.raises(kspec.KspecError) as exc:
        kspec.build_model(SPEC, "functional")
    (d,) = exc.value.diagnostics
    assert d.code == "KS903"
    assert d.hint is not None and "--allow-import kspec_test_layers" in d.hint
    assert "kspec_test_layers" not in sys.modules
    assert main(["summary", str(SPEC)]) == 1
    assert "error[KS903]" in capsys.readouterr().err
    assert "kspec_test_layers" not in sys.modules


@pytest.mark.tf
def test_both_targets_use_the_custom_layer(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tensorflow")
    from kspec.verify import verify

    spec = kspec.load(SPEC)
    allowed = ["kspec_test_layers"]
    functional = kspec.build_model(spec, "functional", allow_imports=allowed)
    assert type(functional.get_layer("gate")).__name__ == "Gated"
    # hidden 8*8+8, gate's Dense 8*8+8, out 8*2+2
    assert functional.count_params() == 72 + 72 + 18
    result = verify(spec, allow_imports=allowed)
    assert result.ok, result.problems
    assert result.params == {"functional": 162, "subclass": 162}
    assert main(["summary", str(SPEC), "--allow-import", "kspec_test_layers"]) == 0
    assert "gate (Gated)" in capsys.readouterr().out
