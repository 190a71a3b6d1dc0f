"""``kspec check`` and ``kspec schema`` as users and CI scripts call them."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from timing import HANG

from kspec import cli
from kspec.diagnostics import Diagnostic, Span, write_report
from kspec.spec.loader import load_file

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
BAD = ROOT / "tests" / "specs" / "bad"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml")) + sorted(EXAMPLES.glob("*.yml"))


@pytest.fixture(autouse=True)
def _no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(ROOT)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = cli.main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


# -- exit status and summary ------------------------------------------------------------------


def test_examples_are_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert EXAMPLE_FILES
    status, out, err = run(capsys, "check", "examples/")
    assert status == 0, err
    assert out == ""
    n = len(EXAMPLE_FILES)
    assert err == f"checked {n} file{'s' * (n != 1)}: no errors\n"


def test_each_example_file(capsys: pytest.CaptureFixture[str]) -> None:
    for f in EXAMPLE_FILES:
        status, _, err = run(capsys, "check", str(f.relative_to(ROOT)))
        assert (status, err) == (0, "checked 1 file: no errors\n"), f


def test_quiet_prints_nothing_when_clean(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "check", "--quiet", "examples")
    assert (status, out, err) == (0, "", "")


def test_folder_mixing_good_and_bad(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    (folder / "nested").mkdir(parents=True)
    shutil.copy(EXAMPLES / "mnist_mlp.yaml", folder / "good.yaml")
    shutil.copy(EXAMPLES / "siamese.yaml", folder / "nested" / "also_good.yml")
    shutil.copy(BAD / "schema_activation_rellu.yaml", folder / "nested" / "bad.yaml")
    (folder / "notes.txt").write_text("not a spec", encoding="utf-8")
    status, _, err = run(capsys, "check", str(folder))
    assert status == 1, err
    lines = err.splitlines()
    assert lines[0].startswith(f"{folder / 'nested' / 'bad.yaml'}:11:17: error[KS104]:")
    assert lines[-1] == "checked 3 files: 1 error in 1 file"


def test_several_paths(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(
        capsys,
        "check",
        "examples/mnist_mlp.yaml",
        "tests/specs/bad/schema_unknown_key_unit.yaml",
        "tests/specs/bad/meaning_tutorial_dense1.yaml",
    )
    assert status == 1
    assert err.splitlines()[-1] == "checked 3 files: 2 errors in 2 files"


def test_warnings_alone_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "check", "tests/specs/bad/meaning_unused_node.yaml")
    assert status == 0
    assert err.splitlines()[-1] == "checked 1 file: no errors, 1 warning"


def test_missing_path_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "check", "examples", "no/such/spec.yaml")
    assert status == 2
    assert out == ""
    assert "no such file or folder: no/such/spec.yaml" in err
    assert "Traceback" not in err


def test_folder_without_specs_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "readme.md").write_text("# nothing here\n", encoding="utf-8")
    status, _, err = run(capsys, "check", str(tmp_path))
    assert status == 2
    assert "no spec files" in err


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["check"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        cli.main(["check", "--format", "xml", "examples"])
    assert info.value.code == 2


def test_unknown_param_override(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "check", "examples/mnist_mlp.yaml", "--param", "unit=3")
    assert status == 1
    assert "error[KS215]" in err and "did you mean 'units'?" in err


def test_param_override_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    # units // 4 becomes 0: Dense(units=0) is refused, not passed on to Keras
    status, _, err = run(capsys, "check", "examples/mnist_mlp.yaml", "--param", "units=2")
    assert status == 1
    assert "error[KS105]" in err


# -- output formats ---------------------------------------------------------------------------


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys,
        "check",
        "--format",
        "json",
        "tests/specs/bad/schema_activation_rellu.yaml",
        "tests/specs/bad/schema_unknown_key_unit.yaml",
    )
    assert status == 1
    assert err == ""
    data = json.loads(out)
    assert data["version"] == 1
    diags = data["diagnostics"]
    assert [(d["code"], d["line"], d["column"]) for d in diags] == [
        ("KS104", 11, 17),
        ("KS101", 11, 5),  # `unit`, with "it needs `units`": one error, not two
    ]
    for d in diags:
        for key in ("code", "line", "column", "pointer", "message", "severity", "path"):
            assert key in d, key
        assert isinstance(d["line"], int) and isinstance(d["column"], int)
    assert diags[0]["pointer"] == "/layers/0/activation"
    assert diags[0]["hint"] == "did you mean 'relu'?"
    assert diags[1]["pointer"] == "/layers/0/unit"
    assert diags[1]["message"].endswith("(it needs `units`)")


def test_json_format_clean(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "check", "--format", "json", "examples")
    assert status == 0
    assert json.loads(out) == {"version": 1, "diagnostics": []}


def test_github_format(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "check", "--format", "github", "tests/specs/bad/schema_unknown_key_unit.yaml"
    )
    assert status == 1
    lines = out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("::error file=tests/specs/bad/schema_unknown_key_unit.yaml,line=")
    assert ",title=KS101::" in lines[0]
    assert "(help: did you mean 'units'?)" in lines[0]


def test_github_format_warning_and_escaping(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(
        capsys, "check", "--format", "github", "tests/specs/bad/meaning_unused_node.yaml"
    )
    assert out.startswith("::warning file=")
    d = Diagnostic("KS101", "a%b\nc", path="x:y,z.yaml", span=Span(1, 1, 1, 2))
    stream = io.StringIO()
    write_report([d], {}, "github", stream)
    assert stream.getvalue() == (
        "::error file=x%3Ay%2Cz.yaml,line=1,col=1,endLine=1,endColumn=2,title=KS101::a%25b\\nc\n"
    )


# -- colour ---------------------------------------------------------------------------------


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_escape_codes_when_not_a_tty(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR")
    _, _, err = run(capsys, "check", "tests/specs/bad/meaning_unused_node_with_error.yaml")
    assert "\033[" not in err


def test_no_color_respected_on_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    assert cli.main(["check", "tests/specs/bad/meaning_unused_node_with_error.yaml"]) == 1
    assert "\033[" not in tty.getvalue()
    assert "error[KS104]" in tty.getvalue()


def test_colour_on_a_tty_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR")
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    assert cli.main(["check", "tests/specs/bad/meaning_unused_node_with_error.yaml"]) == 1
    assert "\033[1;31merror[KS104]\033[0m" in tty.getvalue()
    assert "\033[1;33mwarning[KS214]\033[0m" in tty.getvalue()


# -- kspec schema ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def published_schema() -> dict[str, object]:
    buf = io.StringIO()
    old, sys.stdout = sys.stdout, buf
    try:
        assert cli.main(["schema"]) == 0
    finally:
        sys.stdout = old
    return json.loads(buf.getvalue())


def test_schema_is_draft_2020_12(published_schema: dict[str, object]) -> None:
    assert published_schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(published_schema)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_examples_validate_against_the_published_schema(
    path: Path, published_schema: dict[str, object]
) -> None:
    doc, diags = load_file(str(path))
    assert doc is not None and not diags
    validator = jsonschema.Draft202012Validator(published_schema)
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(doc.data)]
    assert not errors, errors


def test_published_schema_rejects_a_typo(published_schema: dict[str, object]) -> None:
    doc, _ = load_file(str(EXAMPLES / "mnist_mlp.yaml"))
    assert doc is not None
    doc.data["layers"][1]["unit"] = doc.data["layers"][1].pop("units")
    validator = jsonschema.Draft202012Validator(published_schema)
    assert list(validator.iter_errors(doc.data))


def test_schema_output_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], published_schema: dict[str, object]
) -> None:
    target = tmp_path / "kspec-1.schema.json"
    status, out, _ = run(capsys, "schema", "-o", str(target))
    assert status == 0 and out == ""
    assert json.loads(target.read_text(encoding="utf-8")) == published_schema


# -- never imports TensorFlow -----------------------------------------------------------------


def test_check_never_imports_tensorflow() -> None:
    code = (
        "import sys, kspec.cli; kspec.cli.main(['check','examples']); "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False False"
    assert "no errors" in proc.stderr


def test_check_of_bad_specs_never_imports_tensorflow() -> None:
    paths = [str(p.relative_to(ROOT)) for p in sorted(BAD.glob("*.yaml"))]
    code = (
        "import sys, kspec.cli; status = kspec.cli.main(['check', '-q', *sys.argv[1:]]); "
        "print(status, 'tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *paths], cwd=ROOT, capture_output=True, text=True, timeout=HANG
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stdout.split() == ["1", "False", "False"]


def test_python_dash_m(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kspec", "check", "examples"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.endswith("no errors\n")
