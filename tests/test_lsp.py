"""``kspec lsp`` over a real LSP session on stdio (tests/lsp_client.py speaks the protocol the
way editors do): diagnostics equal to ``kspec check --format json`` on the corpus and as the
user types, hover with inferred shapes and parameter counts, go-to-definition, references,
rename, and completion (flow mappings included). TensorFlow is never imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from editor_corpus import ROOT, corpus, examples
from lsp_client import LspSession, uri_of

pytest.importorskip("pygls", reason="kspec lsp needs the lsp extra: pip install 'kspec[lsp]'")

# The server, reporting at exit whether TensorFlow or Keras was ever imported.
SERVER = [
    sys.executable,
    "-c",
    "import atexit, sys; atexit.register(lambda: sys.stderr.write("
    "'IMPORTED %s %s\\n' % ('tensorflow' in sys.modules, 'keras' in sys.modules))); "
    "from kspec.cli import main; sys.exit(main(['lsp']))",
]


@pytest.fixture(scope="module")
def lsp() -> Iterator[LspSession]:
    with LspSession(SERVER, ROOT) as session:
        yield session


def _open(session: LspSession, path: Path, text: str | None = None) -> tuple[str, list[dict]]:
    uri = uri_of(path)
    return uri, session.open(uri, path.read_text(encoding="utf-8") if text is None else text)


def _sort(items: list[dict]) -> list[dict]:
    return sorted(items, key=lambda d: (d["line"], d["column"], d["code"], d["message"]))


def test_diagnostics_equal_kspec_check_json(lsp: LspSession) -> None:
    # an editor never sends a byte-order mark (it strips it on reading): kspec check's KS004
    # for one is a fact about the file the server does not see
    # a spec's problems in a file it extends or includes are reported there by kspec check and
    # on the `extends:` line by the server (tests/test_compose.py): those specs are left out
    specs = [
        s
        for s in [*corpus(), *examples()]
        if not s.text.startswith("\ufeff") and "extends:" not in s.text and "include:" not in s.text
    ]
    assert len(specs) > 200
    uris = {}
    for spec in specs:  # all at once, as when a folder of specs is open
        # named *.kspec.yaml: the server then takes a file without `kspec:` (KS103) as a spec
        uri = uri_of(ROOT / spec.name) + ".kspec.yaml"
        uris[spec.name] = (uri, lsp.published.get(uri, 0))
        lsp.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": spec.text}},
        )
    published = {name: lsp.wait_diagnostics(uri, seen) for name, (uri, seen) in uris.items()}
    paths = [str(ROOT / s.name) for s in specs]
    cli = subprocess.run(
        [sys.executable, "-m", "kspec", "check", "--format", "json", *paths],
        capture_output=True,
        text=True,
        timeout=600,
    )
    expected: dict[str, list[dict]] = {p: [] for p in paths}
    for d in json.loads(cli.stdout)["diagnostics"]:
        expected[d["path"]].append(d)
    differ = []
    for spec in specs:
        got = _sort([{**d["data"], "path": ""} for d in published[spec.name]])
        if got != _sort([{**d, "path": ""} for d in expected[str(ROOT / spec.name)]]):
            differ.append(spec.name)
    assert differ == []
    for uri, _ in uris.values():
        lsp.close(uri)


def test_other_yaml_files_are_left_alone(lsp: LspSession, tmp_path: Path) -> None:
    workflow = "name: ci\non: [push]\njobs:\n  test: {runs-on: ubuntu-latest}\n"
    uri, diags = _open(lsp, tmp_path / "ci.yaml", workflow)
    assert diags == []
    assert lsp.completion_labels(uri, 1, 0) == []
    lsp.close(uri)
    uri, diags = _open(lsp, tmp_path / "model.kspec.yaml", workflow)  # named as a spec
    assert "KS103" in [d["code"] for d in diags]
    lsp.close(uri)


def test_diagnostic_fields(lsp: LspSession) -> None:
    path = ROOT / "tests" / "specs" / "bad" / "schema_unknown_key_unit.yaml"
    uri, diags = _open(lsp, path)
    (d,) = [d for d in diags if d["code"] == "KS101"]
    data = d["data"]
    assert d["source"] == "kspec" and d["severity"] == 1
    assert d["range"]["start"] == {"line": data["line"] - 1, "character": data["column"] - 1}
    assert d["message"] == f"{data['message']}\nhelp: {data['hint']}"
    assert "did you mean 'units'?" in d["message"]
    lsp.close(uri)


def test_diagnostics_as_the_user_types(lsp: LspSession, tmp_path: Path) -> None:
    text = (ROOT / "examples" / "mnist_mlp.yaml").read_text(encoding="utf-8")
    uri, diags = _open(lsp, tmp_path / "typing.yaml", text)
    assert diags == []
    broken = text.replace("units: $units", "unit: $units").replace(
        "activation: softmax", "activation: sofmax"
    )
    diags = lsp.change(uri, broken)
    assert sorted(d["code"] for d in diags) == ["KS101", "KS104"]  # every error at once
    assert lsp.change(uri, text) == []
    lsp.close(uri)


def _at(text: str, needle: str, occurrence: int = 0, offset: int = 0) -> tuple[int, int]:
    """The 0-based line and column of ``needle`` (its ``occurrence``-th) plus ``offset``."""
    index = -1
    for _ in range(occurrence + 1):
        index = text.index(needle, index + 1)
    index += offset
    return text[:index].count("\n"), index - (text.rfind("\n", 0, index) + 1)


def _hover(lsp: LspSession, uri: str, text: str, needle: str, n: int = 0, offset: int = 1) -> str:
    line, col = _at(text, needle, n, offset)
    answer = lsp.position_request("hover", uri, line, col)
    return "" if answer is None else str(answer["contents"]["value"])


@pytest.fixture(scope="module")
def residual(lsp: LspSession) -> Iterator[tuple[str, str]]:
    path = ROOT / "examples" / "residual_cnn.yaml"
    uri, diags = _open(lsp, path)
    assert diags == []
    yield uri, path.read_text(encoding="utf-8")
    lsp.close(uri)


def test_hover_node_shape_and_parameters(lsp: LspSession, residual: tuple[str, str]) -> None:
    uri, text = residual
    hover = _hover(lsp, uri, text, "name: stem", offset=7)
    assert "**stem** — `Conv2D`" in hover
    assert "output shape: `(None, 32, 32, 32)`" in hover
    assert "parameters: 896" in hover  # 3*3*3*32 + 32
    logits = _hover(lsp, uri, text, "name: logits", offset=7)
    assert "output shape: `(None, 10)`" in logits and "parameters: 650" in logits


def test_hover_inside_a_block_shows_each_instance(
    lsp: LspSession, residual: tuple[str, str]
) -> None:
    uri, text = residual
    hover = _hover(lsp, uri, text, "name: conv1", offset=7)
    assert "- in `stage1_1`: `(None, 32, 32, 32)`, 9,216 parameters" in hover  # 3*3*32*32
    assert "- in `stage2_2`: `(None, 16, 16, 64)`, 36,864 parameters" in hover
    repeated = _hover(lsp, uri, text, "name: stage1", offset=7)
    assert "`stage1_2`" in repeated and "18,688" in repeated


def test_hover_param_and_expression_value(lsp: LspSession, residual: tuple[str, str]) -> None:
    uri, text = residual
    assert "`${width * 2}` = `64`" in _hover(lsp, uri, text, '"${width * 2}"', offset=4)
    assert "default: `32`" in _hover(lsp, uri, text, "width: 32", offset=1)
    argument = _hover(lsp, uri, text, "padding: same", offset=2)
    assert argument.startswith("**padding** (Conv2D):")


def _ranges(locations: list[dict]) -> list[tuple[int, int, int]]:
    return sorted(
        (
            r["range"]["start"]["line"],
            r["range"]["start"]["character"],
            r["range"]["end"]["character"],
        )
        for r in locations
    )


def test_definition(lsp: LspSession, residual: tuple[str, str]) -> None:
    uri, text = residual
    line, col = _at(text, "inputs: [bn2, x]", offset=14)  # the block input x
    (found,) = lsp.position_request("definition", uri, line, col)
    assert (found["range"]["start"]["line"], found["range"]["start"]["character"]) == _at(
        text, "inputs: [x]", offset=9
    )
    line, col = _at(text, "block: residual", offset=8)
    (found,) = lsp.position_request("definition", uri, line, col)
    assert found["range"]["start"] == dict(
        zip(("line", "character"), _at(text, "residual:"), strict=True)
    )


def test_references_of_a_param(lsp: LspSession, residual: tuple[str, str]) -> None:
    uri, text = residual
    line, col = _at(text, "width: 32", offset=1)
    params = {"textDocument": {"uri": uri}, "position": {"line": line, "character": col}}
    found = lsp.request(
        "textDocument/references", {**params, "context": {"includeDeclaration": True}}
    )
    expected = [(line, 2, 7)] + [
        (_at(text, w, i, 0)[0], _at(text, w, i, 0)[1] + s, _at(text, w, i, 0)[1] + s + 5)
        for w, i, s in (("$width", 0, 1), ("$width", 1, 1), ("${width", 0, 2), ("${width", 1, 2))
    ]
    assert _ranges(found) == sorted(expected)


def _apply(text: str, edits: list[dict]) -> str:
    lines = text.split("\n")
    for e in sorted(
        edits,
        key=lambda e: (e["range"]["start"]["line"], e["range"]["start"]["character"]),
        reverse=True,
    ):
        r = e["range"]
        line = lines[r["start"]["line"]]
        lines[r["start"]["line"]] = (
            line[: r["start"]["character"]] + e["newText"] + line[r["end"]["character"] :]
        )
    return "\n".join(lines)


def test_rename_a_node_everywhere(lsp: LspSession, tmp_path: Path) -> None:
    text = (ROOT / "examples" / "seq2seq.yaml").read_text(encoding="utf-8")
    uri, _ = _open(lsp, tmp_path / "seq2seq.yaml", text)
    line, col = _at(text, '"enc[2]"', offset=2)
    params = {"textDocument": {"uri": uri}, "position": {"line": line, "character": col}}
    prepared = lsp.request("textDocument/prepareRename", params)
    assert prepared["start"]["character"] == col - 1
    edit = lsp.request("textDocument/rename", {**params, "newName": "encoder"})
    renamed = _apply(text, edit["changes"][uri])
    assert "name: encoder," in renamed and renamed.count("encoder[") == 3
    assert '["encoder[1]", "encoder[2]"]' in renamed and '"encoder[0]"' in renamed
    assert lsp.change(uri, renamed) == []  # still checks clean
    line, col = _at(renamed, '"encoder[2]"', offset=2)
    params = {"textDocument": {"uri": uri}, "position": {"line": line, "character": col}}
    with pytest.raises(Exception, match="already has a node or input named 'dec'"):
        lsp.request("textDocument/rename", {**params, "newName": "dec"})
    with pytest.raises(Exception, match="is not a name"):
        lsp.request("textDocument/rename", {**params, "newName": "2x"})
    lsp.close(uri)


def _complete(lsp: LspSession, tmp_path: Path, text: str, name: str) -> list[str]:
    index = text.index("|")
    line = text[:index].count("\n")
    col = index - (text.rfind("\n", 0, index) + 1)
    uri, _ = _open(lsp, tmp_path / f"{name}.yaml", text.replace("|", "", 1))
    labels = lsp.completion_labels(uri, line, col)
    lsp.close(uri)
    return labels


SPEC = """kspec: 1
name: m
params: {units: 64, rate: 0.1}
inputs:
  x: {shape: [16]}
blocks:
  gate:
    params: {width: 8}
    inputs: [signal]
    layers:
      - {name: g, type: Dense, units: $width}
    outputs: g
layers:
  - {name: h, type: Dense, units: $units}
  - {name: drop, type: Dropout, rate: $rate}
%s
outputs: out
"""
COMPLETIONS = {
    # name: (the last node, with | at the cursor; labels wanted; labels not wanted)
    "flow_mapping_keys": (
        "  - {name: out, type: Dense, |}",
        {"units", "activation", "use_bias", "inputs", "trainable"},
        {"name", "type", "filters", "output_padding"},
    ),
    "block_keys": (
        "  - name: out\n    type: Conv2D\n    filters: 4\n    |",
        {"kernel_size", "strides", "inputs"},
        {"filters", "output_padding", "units"},
    ),
    "references": ("  - {name: out, type: Add, inputs: [h, |]}", {"x", "h", "drop"}, {"out", "g"}),
    "share_targets": ("  - {name: out, share: |}", {"h", "drop"}, {"x", "out"}),
    "blocks": ("  - {name: out, block: |}", {"gate"}, {"h"}),
    "block_params": ("  - {name: out, block: gate, |}", {"width", "repeat", "inputs"}, {"units"}),
    "params": ("  - {name: out, type: Dense, units: $|}", {"$units", "$rate"}, {"$width"}),
    "layer_types": ("  - {name: out, type: |}", {"Dense", "Conv2D"}, {"Lambda"}),
    "argument_values": (
        "  - {name: out, type: Dense, units: 2, activation: |}",
        {"relu", "null"},
        set(),
    ),
    "half_typed_node": ("  - |", {"name", "type", "share", "block"}, {"units"}),
    "nested_layer": (
        "  - {name: out, type: TimeDistributed, layer: {type: Dense, |}}",
        {"units", "activation"},
        {"name", "inputs", "call"},
    ),
}


@pytest.mark.parametrize("name", list(COMPLETIONS))
def test_completion(lsp: LspSession, tmp_path: Path, name: str) -> None:
    body, wanted, unwanted = COMPLETIONS[name]
    labels = set(_complete(lsp, tmp_path, SPEC % body, name))
    assert wanted <= labels, wanted - labels
    assert not unwanted & labels, unwanted & labels


def test_completion_of_references_inside_a_block(lsp: LspSession, tmp_path: Path) -> None:
    text = (SPEC % "  - {name: out, type: Dense, units: 2}").replace(
        "- {name: g, type: Dense, units: $width}",
        "- {name: g, type: Dense, units: $width}\n      - {name: o, type: Add, inputs: [g, |]}",
    )
    assert set(_complete(lsp, tmp_path, text, "in_block")) == {"signal", "g"}


def test_tensorflow_is_never_imported(tmp_path: Path) -> None:
    session = LspSession(SERVER, ROOT)
    try:
        text = (ROOT / "examples" / "residual_cnn.yaml").read_text(encoding="utf-8")
        uri, diags = _open(session, tmp_path / "r.yaml", text)
        assert diags == []
        assert "parameters" in _hover(session, uri, text, "name: stem", offset=7)
        session.completion_labels(uri, *_at(text, "padding: same", offset=9))
    finally:
        session.shutdown()
    assert b"IMPORTED False False\n" in b"".join(session.stderr)


def test_without_pygls_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['pygls'] = None; "  # as if the lsp extra were not installed
        "from kspec.cli import main; sys.exit(main(['lsp']))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "error[KS913]" in proc.stderr and "pip install 'kspec[lsp]'" in proc.stderr
