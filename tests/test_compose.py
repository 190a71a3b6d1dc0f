"""Composing specs across files (docs/language.md, "Composing specs"): every merge rule of
``extends:``, block libraries (``include:``), provenance of every diagnostic (text, JSON,
SARIF, GitHub), safety (root folder, cycles, depth, bombs), ``kspec check DIR`` with bases
and libraries, ``compile --check`` when a base changes, and the editor server."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

import kspec
from kspec.cli import main
from kspec.lsp.analysis import check as lsp_check
from kspec.spec.include import MAX_INCLUSIONS, load_spec
from kspec.spec.loader import Limits

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

BASE = """\
kspec: 1
name: base
description: the base
params: {units: 8, classes: 2}
inputs:
  x: {shape: [4]}
layers:
  - {name: a, type: Dense, units: $units}
  - {name: b, type: Dense, units: $units, activation: relu}
  - {name: out, type: Dense, units: $classes}
outputs: out
compile:
  optimizer: {type: Adam, learning_rate: 0.001}
  loss: mse
"""


def write(folder: Path, **files: str) -> None:
    for name, text in files.items():
        path = folder / name.replace("__", "/").replace("_yaml", ".yaml")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def composed(folder: Path, child: str, **more: str) -> Any:
    write(folder, base_yaml=BASE, child_yaml=child, **more)
    doc, diags = load_spec(str(folder / "child.yaml"))
    assert doc is not None, diags
    assert diags == []
    return doc


def nodes(doc: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(n["name"], {k: v for k, v in n.items() if k != "name"}) for n in doc.data["layers"]]


# -- merge rules ----------------------------------------------------------------------------


def test_mappings_merge_by_key_and_the_child_wins(tmp_path: Path) -> None:
    doc = composed(tmp_path, "extends: base.yaml\nname: child\nparams: {units: 16}\n")
    assert doc.data["name"] == "child" and doc.data["description"] == "the base"
    assert doc.data["params"] == {"units": 16, "classes": 2}
    assert "extends" not in doc.data
    spec = kspec.load(tmp_path / "child.yaml")
    assert spec.params == {"units": 16, "classes": 2}


def test_nested_mappings_merge_and_tilde_deletes(tmp_path: Path) -> None:
    doc = composed(
        tmp_path,
        "extends: base.yaml\nname: child\ncompile:\n  optimizer: {learning_rate: 0.01}\n"
        "  ~loss: null\n  loss: mae\n~description: null\n",
    )
    assert doc.data["compile"] == {
        "optimizer": {"type": "Adam", "learning_rate": 0.01},
        "loss": "mae",
    }
    assert "description" not in doc.data


def test_delete_then_write_replaces_a_mapping(tmp_path: Path) -> None:
    doc = composed(
        tmp_path, "extends: base.yaml\ncompile:\n  ~optimizer: null\n  optimizer: {type: SGD}\n"
    )
    assert doc.data["compile"]["optimizer"] == {"type": "SGD"}


def test_other_lists_are_replaced(tmp_path: Path) -> None:
    doc = composed(tmp_path, "extends: base.yaml\ninputs:\n  x: {shape: [6]}\n")
    assert doc.data["inputs"] == {"x": {"shape": [6]}}


def test_layers_edit_by_name(tmp_path: Path) -> None:
    doc = composed(
        tmp_path,
        """\
        extends: base.yaml
        layers:
          - {edit: a, activation: tanh}
          - {name: b, type: Dropout, rate: 0.5}
          - insert_before: out
            layers:
              - {name: c, type: Dense, units: 3}
          - insert_after: a
            layers:
              - {name: a2, type: Dense, units: 5}
          - {name: extra, type: Dense, units: 1}
          - {edit: extra, ~units: null, units: 7}
        """,
    )
    assert nodes(doc) == [
        ("a", {"type": "Dense", "units": "$units", "activation": "tanh"}),
        ("a2", {"type": "Dense", "units": 5}),
        ("b", {"type": "Dropout", "rate": 0.5}),
        ("c", {"type": "Dense", "units": 3}),
        ("out", {"type": "Dense", "units": "$classes"}),
        ("extra", {"type": "Dense", "units": 7}),
    ]


def test_delete_and_chains(tmp_path: Path) -> None:
    write(tmp_path, mid_yaml="extends: base.yaml\nlayers:\n  - {delete: b}\n")
    doc = composed(tmp_path, "extends: mid.yaml\nname: leaf\nparams: {classes: 3}\n")
    assert [n for n, _ in nodes(doc)] == ["a", "out"]
    spec = kspec.load(tmp_path / "child.yaml")
    # a: 4*8+8, out: 8*3+3
    assert kspec.check(tmp_path / "child.yaml") == []
    assert spec.params == {"units": 8, "classes": 3}


def test_blocks_merge_by_name_and_their_layers_edit_by_name(tmp_path: Path) -> None:
    base = BASE.replace(
        "compile:",
        "blocks:\n  mlp:\n    inputs: [x]\n    layers:\n      - {name: d1, type: Dense, "
        "units: 4}\n      - {name: d2, type: Dense, units: 4}\n    outputs: d2\ncompile:",
    )
    write(tmp_path, base_yaml=base)
    write(
        tmp_path,
        child_yaml="extends: base.yaml\nblocks:\n  mlp:\n    layers:\n      - {delete: d1}\n",
    )
    doc, diags = load_spec(str(tmp_path / "child.yaml"))
    assert doc is not None and not diags
    assert [n["name"] for n in doc.data["blocks"]["mlp"]["layers"]] == ["d2"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{delete: bb}", "the base has no node named 'bb'"),
        ("{edit: zz, units: 2}", "the base has no node named 'zz'"),
        ("{insert_after: a}", "needs `layers:`"),
        ("{delete: a, units: 3}", "`delete:` takes nothing else"),
        ("{delete: a, edit: b}", "has both"),
    ],
)
def test_layer_edit_errors(tmp_path: Path, entry: str, message: str) -> None:
    write(tmp_path, base_yaml=BASE, child_yaml=f"extends: base.yaml\nlayers:\n  - {entry}\n")
    diags = kspec.check(tmp_path / "child.yaml")
    assert [(d.code, d.line, d.path) for d in diags] == [("KS508", 3, str(tmp_path / "child.yaml"))]
    assert message in diags[0].message


def test_deleting_a_key_that_is_not_inherited(tmp_path: Path) -> None:
    write(tmp_path, base_yaml=BASE, child_yaml="extends: base.yaml\n~imports: null\n")
    diags = kspec.check(tmp_path / "child.yaml")
    assert [(d.code, d.line) for d in diags] == [("KS509", 2)]


# -- block libraries ------------------------------------------------------------------------

LIB = """\
blocks:
  pair:
    inputs: [x]
    layers:
      - {name: d1, type: Dense, units: 4}
      - {name: d2, type: Dense, units: 4}
    outputs: d2
"""
USER = """\
kspec: 1
name: user
include: [lib/pair.yaml]
inputs:
  x: {shape: [4]}
layers:
  - {name: p, block: pair}
outputs: p
"""


def test_include_a_block_library(tmp_path: Path) -> None:
    write(tmp_path, lib__pair_yaml=LIB, user_yaml=USER)
    spec = kspec.load(tmp_path / "user.yaml")
    assert [b.name for b in spec.blocks] == ["pair"]
    assert kspec.check(tmp_path / "user.yaml") == []


def test_a_block_in_a_library_and_in_the_spec_is_an_error_naming_both(tmp_path: Path) -> None:
    user = USER.replace(
        "outputs: p",
        "outputs: p\nblocks:\n  pair:\n    inputs: [x]\n"
        "    layers: [{name: d, type: Dense, units: 1}]\n    outputs: d",
    )
    write(tmp_path, lib__pair_yaml=LIB, user_yaml=user)
    diags = kspec.check(tmp_path / "user.yaml")
    assert [(d.code, d.line) for d in diags] == [("KS507", 10)]
    lib = str(tmp_path / "lib" / "pair.yaml")
    assert f"in {lib} line 2 and in {tmp_path / 'user.yaml'} line 10" in diags[0].message


def test_a_library_holds_only_blocks(tmp_path: Path) -> None:
    write(tmp_path, lib__pair_yaml=LIB + "params: {a: 1}\n", user_yaml=USER)
    diags = kspec.check(tmp_path / "user.yaml")
    assert [(d.code, d.line, Path(d.path).name) for d in diags] == [("KS510", 8, "pair.yaml")]


# -- provenance -----------------------------------------------------------------------------


def _broken_base(tmp_path: Path) -> Path:
    write(
        tmp_path,
        base_yaml=BASE.replace("activation: relu", "activation: relu, units: ten"),
        child_yaml="# the child\nextends: base.yaml\nname: child\n",
    )
    return tmp_path / "child.yaml"


def test_a_problem_in_the_base_is_reported_in_the_base(tmp_path: Path) -> None:
    child = _broken_base(tmp_path)
    (d,) = kspec.check(child)
    assert (d.code, d.path, d.line) == ("KS007", str(tmp_path / "base.yaml"), 9)
    assert d.notes == (f"{child} line 2 extends {tmp_path / 'base.yaml'}",)


def test_provenance_in_every_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    write(
        tmp_path,
        base_yaml=BASE.replace("units: $classes", "units: $clases"),
        child_yaml="# the child\nextends: base.yaml\nname: child\n",
    )
    child, base = str(tmp_path / "child.yaml"), str(tmp_path / "base.yaml")
    assert main(["check", child]) == 1
    text = capsys.readouterr().err
    assert f"{base}:10:" in text and "error[KS" in text
    assert "   10 |   - {name: out, type: Dense, units: $clases}" in text  # the base's line
    assert f"= note: {child} line 2 extends {base}" in text
    assert main(["check", child, "--format", "json"]) == 1
    (d,) = json.loads(capsys.readouterr().out)["diagnostics"]
    assert (d["path"], d["line"], d["notes"]) == (base, 10, [f"{child} line 2 extends {base}"])
    assert main(["check", child, "--format", "sarif"]) == 1
    (result,) = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == base
    assert location["region"]["startLine"] == 10
    assert main(["check", child, "--format", "github"]) == 1
    assert capsys.readouterr().out.startswith(f"::error file={base.replace(':', '%3A')},line=10,")


def test_provenance_through_a_library(tmp_path: Path) -> None:
    write(
        tmp_path,
        lib__pair_yaml=LIB.replace("units: 4}\n      - {name: d2", "units: -4}\n      - {name: d2"),
        user_yaml=USER,
    )
    diags = kspec.check(tmp_path / "user.yaml")
    assert [(d.path, d.line) for d in diags] == [(str(tmp_path / "lib" / "pair.yaml"), 5)]
    assert (
        diags[0].notes[-1]
        == f"{tmp_path / 'user.yaml'} line 3 includes {tmp_path / 'lib' / 'pair.yaml'}"
    )


def test_the_examples_compose(capsys: pytest.CaptureFixture[str]) -> None:
    for name, count in (("cnn_base", 113_258), ("cnn_wide", 1_926_602), ("cnn_tiny", 2_162)):
        assert main(["summary", str(EXAMPLES / f"{name}.yaml"), "--static"]) == 0
        assert f"Total params: {count:,}" in capsys.readouterr().out
    spec = kspec.load(EXAMPLES / "cnn_tiny.yaml")
    assert [n.name for n in spec.graph.nodes] == ["stem", "stage1", "down", "pool", "logits"]
    assert spec.compile is None  # ~compile: null


# -- safety ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("../outside.yaml", "KS502"),
        ("/etc/hostname", "KS501"),
        ("~/base.yaml", "KS501"),
        ("http://example.com/b.yaml", "KS501"),
        ("file:base.yaml", "KS501"),
        ("[base.yaml]", "KS501"),
        ("nothere.yaml", "KS503"),
        ("child.yaml", "KS504"),
    ],
)
def test_refused_paths(tmp_path: Path, value: str, code: str) -> None:
    folder = tmp_path / "specs"
    write(tmp_path, outside_yaml=BASE)
    write(folder, base_yaml=BASE, child_yaml=f"name: c\nextends: {value}\n")
    diags = kspec.check(folder / "child.yaml")
    assert [(d.code, d.line) for d in diags] == [(code, 2)]


def test_root_lets_a_spec_reach_a_parent_folder(tmp_path: Path) -> None:
    write(tmp_path, base_yaml=BASE, specs__child_yaml="extends: ../base.yaml\nname: c\n")
    child = str(tmp_path / "specs" / "child.yaml")
    assert main(["check", child, "-q"]) == 1
    assert main(["check", child, "-q", "--root", str(tmp_path)]) == 0


def test_a_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    write(tmp_path, outside_yaml=BASE, specs__child_yaml="extends: link.yaml\n")
    (tmp_path / "specs" / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    assert [d.code for d in kspec.check(tmp_path / "specs" / "child.yaml")] == ["KS502"]


def test_an_include_bomb_is_refused_after_a_bounded_number_of_reads(tmp_path: Path) -> None:
    for i in range(12):  # 2**12 inclusions if nothing stopped it
        write(tmp_path, **{f"l{i}_yaml": f"include: [l{i + 1}.yaml, ./l{i + 1}.yaml]\n"})
    write(tmp_path, l12_yaml="blocks: {}\n", spec_yaml=USER.replace("lib/pair.yaml", "l0.yaml"))
    doc, diags = load_spec(str(tmp_path / "spec.yaml"))
    assert doc is None and [d.code for d in diags] == ["KS506"]
    assert f"more than {MAX_INCLUSIONS} inclusions" in diags[0].message


def test_the_byte_budget_is_shared_by_all_files(tmp_path: Path) -> None:
    write(tmp_path, base_yaml=BASE + "#" * 3000 + "\n", child_yaml="extends: base.yaml\n")
    doc, diags = load_spec(str(tmp_path / "child.yaml"), Limits(max_bytes=2000))
    assert doc is None and [(d.code, d.line) for d in diags] == [("KS506", 1)]


# -- kspec check DIR, compile --check, the editor server -----------------------------------


def test_check_a_folder_skips_fragments_and_reports_a_base_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, lib__pair_yaml=LIB, user_yaml=USER)
    assert main(["check", str(tmp_path)]) == 0
    assert "checked 1 file: no errors" in capsys.readouterr().err
    write(
        tmp_path,
        base_yaml=BASE.replace("units: $classes", "units: $clases"),
        a_yaml="extends: base.yaml\nname: a\n",
        b_yaml="extends: base.yaml\nname: b\n",
    )
    assert main(["check", str(tmp_path), "--format", "json"]) == 1
    diags = json.loads(capsys.readouterr().out)["diagnostics"]
    # base.yaml is a complete spec (it has kspec:): checked itself and through a and b, once
    assert [(Path(d["path"]).name, d["line"]) for d in diags] == [("base.yaml", 10)]


def test_compile_check_notices_a_changed_base(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, base_yaml=BASE, child_yaml="extends: base.yaml\nname: child\n")
    child, out = str(tmp_path / "child.yaml"), str(tmp_path / "child.py")
    assert main(["compile", child, "-o", out]) == 0
    assert main(["compile", child, "-o", out, "--check"]) == 0
    # a change to the base that leaves the generated code the same still changes its hash
    write(tmp_path, base_yaml=BASE.replace("description: the base", "description: the base  # x"))
    assert main(["compile", child, "-o", out, "--check"]) == 1
    assert "is stale" in capsys.readouterr().err


def test_the_editor_server_shows_a_base_problem_on_the_extends_line(tmp_path: Path) -> None:
    child = _broken_base(tmp_path)
    result = lsp_check(child.read_text(encoding="utf-8"), str(child))
    (d,) = result.diagnostics
    assert (d.code, d.path, d.line) == ("KS007", str(child), 2)
    assert d.message.startswith(f"in {tmp_path / 'base.yaml'}:9:")
    clean = lsp_check("extends: base.yaml\nname: child\n", str(tmp_path / "ok.yaml"))
    assert clean.diagnostics and all(x.path == str(tmp_path / "ok.yaml") for x in clean.diagnostics)
