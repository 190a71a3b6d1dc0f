"""The published schema as editors use it: with Python's jsonschema, and through the real
client, yaml-language-server (the server behind VS Code's YAML extension, Neovim and Helix),
driven over LSP.

* No false errors: every spec ``kspec check`` accepts (the examples, the specs in docs/, the
  issue's list of forms that used to be flagged) validates, with 0 diagnostics in the editor.
* A fixed set of broken specs gives the expected diagnostic at the expected line, worded for a
  person (the allowed values, "did you mean"), and nothing else.
* Completion at set positions offers the right keys and no other layer's.
* The differential: over the error corpus (tests/specs) and the hostile corpus (tests/hostile),
  where the schema and ``kspec check`` disagree. A schema sees one value at a time, so it
  cannot see the problems of the codes in ``SCHEMA_BLIND``; any other disagreement must be in
  ``KNOWN`` with its reason, and every entry of ``KNOWN`` must still be one.

The yaml-language-server tests skip, saying why, when Node.js or the server is missing
(.ci/run installs both: .ci/editor/package.json pins the server).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from editor_corpus import (
    ROOT,
    YLS_VERSION,
    Spec,
    clean,
    corpus,
    doc_specs,
    examples,
    yaml_language_server,
    yls_settings,
)
from lsp_client import LspSession, uri_of

from kspec.diagnostics import has_errors
from kspec.schemas.build import published, published_path
from kspec.spec.loader import load_text

# Codes whose problems a JSON Schema cannot see, and why.
SCHEMA_BLIND = {
    "KS2": "names, references and the graph: a value's meaning depends on names defined "
    "elsewhere in the spec (unknown references, cycles, duplicates, block params)",
    "KS4": "shapes: worked out across the whole graph",
    "KS5": "composition: the files a spec extends or includes (the schema sees one file)",
    "KS301": "an expression's syntax: the schema checks the $name / ${...} form only",
    "KS302": "what an expression may contain",
    "KS303": "the names an expression uses (params defined elsewhere)",
    "KS304": "an expression's value (evaluation)",
    "KS305": "the type of an expression's value",
}
# Specs where the schema and kspec check disagree for another reason.
KNOWN = {
    "tests/hostile/custom_subprocess_imports_os_only.yaml": "a custom type's module must be "
    "the one listed under imports: (a reference from type: to imports:)",
    "tests/hostile/imports_shadow_build_model.yaml": "imports: naming a module the generated "
    "code uses or Python provides (a list kspec keeps, with Python's builtins)",
    "tests/hostile/imports_shadow_tf.yaml": "imports: naming tf, keras or tensorflow (as above)",
}

BASE = """kspec: 1
name: m
params: {k: 3, dt: float32, units: 64, w: 1.0, act: relu}
imports: [mylayers]
inputs:
  x: {shape: [28, 28, 1], dtype: $dt}
layers:
%s
outputs: out
"""
# Forms kspec accepts that the schema used to flag.
ACCEPTED = {
    "dtype_expression": "  - {name: out, type: Flatten}",
    "kernel_size_expressions": "  - {name: out, type: Conv2D, filters: 8, "
    'kernel_size: ["$k", "$k"]}',
    "kernel_size_mixed": '  - {name: out, type: Conv2D, filters: 8, kernel_size: [3, "$k"]}',
    "target_shape_expression": "  - {name: f, type: Flatten}\n"
    '  - {name: out, type: Reshape, target_shape: ["${units // 8}", -1]}',
    "custom_type": "  - {name: out, type: mylayers.Gated, units: 4}",
    "activation_expression": "  - {name: f, type: Flatten}\n"
    "  - {name: out, type: Dense, units: $units, activation: $act}",
    "nested_expression": "  - {name: f, type: Reshape, target_shape: [28, 28]}\n"
    "  - {name: out, type: Bidirectional, layer: {type: LSTM, units: $units}}",
    "initializer_expression": "  - {name: f, type: Flatten}\n"
    "  - {name: out, type: Dense, units: 4, kernel_initializer: {type: HeNormal, seed: $k}}",
}
ACCEPTED_COMPILE = BASE % "  - {name: out, type: Flatten}" + (
    "compile:\n  optimizer: adam\n  loss: mse\n  loss_weights: [$w]\n"
)


def accepted() -> list[Spec]:
    out = [Spec(f"accepted/{k}.yaml", BASE % v) for k, v in ACCEPTED.items()]
    return [*out, Spec("accepted/loss_weights.yaml", ACCEPTED_COMPILE)]


# name -> (spec text, expected diagnostics: (0-based line, text the message contains))
BROKEN: dict[str, tuple[str, list[tuple[int, str]]]] = {
    "activation_rellu": (
        BASE
        % "  - {name: f, type: Flatten}\n  - {name: out, type: Dense, units: 4, activation: rellu}",
        [(8, 'Valid values: "celu"')],
    ),
    "unknown_key_unit": (
        BASE % "  - {name: f, type: Flatten}\n  - {name: out, type: Dense, unit: 64}",
        [(8, "did you mean `units`?")],
    ),
    "unknown_type": (BASE % "  - {name: out, type: Dnse, units: 4}", [(7, "did you mean Dense?")]),
    "type_in_lower_case": (
        BASE % "  - {name: out, type: conv2d, filters: 4, kernel_size: 3}",
        [(7, "did you mean Conv2D?")],
    ),
    "half_typed_node": (BASE % "  - {name: out, type: Flatten}\n  - ", [(8, "Incorrect type")]),
    "nested_typo": (
        BASE % "  - {name: f, type: Reshape, target_shape: [28, 28]}\n"
        "  - {name: out, type: TimeDistributed, layer: {type: Dense, unit: 3}}",
        [(8, "did you mean `units`?")],
    ),
    "nested_name": (
        BASE % "  - {name: f, type: Reshape, target_shape: [28, 28]}\n"
        "  - {name: out, type: TimeDistributed, layer: {type: Dense, units: 3, name: d}}",
        [(8, "Property name is not allowed")],
    ),
    "refused_lambda": (BASE % "  - {name: out, type: Lambda}", [(7, "is not available")]),
    "no_kind": (BASE % "  - {name: out, units: 3}", [(7, "A node needs `type`")]),
    "empty_type": (BASE % "  - {name: out, type: }", [(7, 'Incorrect type. Expected "string"')]),
    "param_default_expression": (
        (BASE % "  - {name: out, type: Flatten}").replace("w: 1.0", "w: $k"),
        [(2, "plain value, not an expression")],
    ),
    "custom_type_without_imports": (
        (BASE % "  - {name: out, type: mylayers.Gated}").replace("imports: [mylayers]\n", ""),
        [(6, "needs its module under `imports:`")],
    ),
}


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(published())


def _data(spec: Spec) -> object:
    doc, diags = load_text(spec.text, spec.name)
    assert doc is not None and not has_errors(diags), spec.name
    return doc.data


# -- jsonschema ---------------------------------------------------------------------------


def test_published_path_is_the_shipped_file() -> None:
    assert Path(published_path()).name == "kspec-1.schema.json"
    assert json.loads(Path(published_path()).read_text(encoding="utf-8")) == published()


@pytest.mark.parametrize("spec", [*accepted(), *examples()], ids=lambda s: s.name)
def test_accepted_forms_validate(spec: Spec) -> None:
    assert not has_errors(spec.check()), [d.message for d in spec.check()]
    errors = [f"{e.json_path}: {e.message[:100]}" for e in _validator().iter_errors(_data(spec))]
    assert errors == []


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_forms_fail_with_jsonschema_and_kspec(name: str) -> None:
    spec = Spec(f"broken/{name}.yaml", BROKEN[name][0])
    if spec.loads:  # the half-typed node is a null item: kspec says KS102 too
        assert list(_validator().iter_errors(_data(spec)))
    assert has_errors(spec.check())


def _disagreements() -> Iterator[tuple[str, list[str], bool]]:
    """(spec, kspec's error codes, whether the schema finds an error) where they disagree."""
    validator = _validator()
    for spec in [*corpus(), *doc_specs()]:
        if not spec.loads:
            continue  # YAML-level problems: the editor's own parser reports them
        codes = [d.code for d in spec.check() if d.severity == "error"]
        flagged = next(validator.iter_errors(_data(spec)), None) is not None
        if bool(codes) != flagged:
            yield spec.name, codes, flagged


def _blind(code: str) -> bool:
    return code in SCHEMA_BLIND or code[:3] in SCHEMA_BLIND


def test_differential_with_kspec_check() -> None:
    found = list(_disagreements())
    false_errors = [name for name, codes, flagged in found if flagged]
    assert false_errors == [], "the schema flags specs kspec check accepts"
    unexplained = {
        name: codes for name, codes, _ in found if not all(map(_blind, codes)) and name not in KNOWN
    }
    assert unexplained == {}, "new disagreements: explain them in KNOWN (or fix the schema)"
    stale = set(KNOWN) - {name for name, _, _ in found}
    assert stale == set(), "no longer disagreements: remove them from KNOWN"


# -- yaml-language-server ------------------------------------------------------------------

YLS, WHY = yaml_language_server()
needs_yls = pytest.mark.skipif(YLS is None, reason=WHY)


@pytest.fixture(scope="module")
def yls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LspSession, Path]]:
    assert YLS is not None
    folder = tmp_path_factory.mktemp("yls")
    with LspSession(YLS, folder, yls_settings(Path(published_path()))) as session:
        yield session, folder


def _uri(spec: Spec, i: int) -> str:
    """Where the editor has the spec: its own file, or a file beside the Markdown page it is
    in (a modeline's relative path to the schema then resolves as for the page's readers);
    nothing is written there."""
    path = ROOT / spec.name
    if path.suffix not in (".yaml", ".yml") or not path.is_file():
        page = spec.name.split("#")[0]
        folder = (ROOT / page).parent if "#" in spec.name else ROOT / "tests" / "editor"
        path = folder / f"{Path(page).stem}_{i}.kspec.yaml"
    return uri_of(path)


def _open_all(session: LspSession, specs: list[Spec]) -> dict[str, list[dict]]:
    """Open every spec at once (the server checks them side by side); their diagnostics."""
    uris = {}
    for i, spec in enumerate(specs):
        uri = _uri(spec, i)
        uris[spec.name] = (uri, session.published.get(uri, 0))
        session.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": spec.text}},
        )
    out = {name: session.wait_diagnostics(uri, seen) for name, (uri, seen) in uris.items()}
    for uri, _ in uris.values():
        session.close(uri)
    return out


def _messages(diags: list[dict]) -> list[str]:
    return [f"{d['range']['start']['line']}: {d['message'][:120]}" for d in diags]


@needs_yls
def test_yls_version(yls: tuple[LspSession, Path]) -> None:
    session, _ = yls
    assert session.capabilities  # it answered initialize
    lock = Path(__file__).parent.parent / ".ci" / "editor" / "package.json"
    assert json.loads(lock.read_text())["dependencies"]["yaml-language-server"] == YLS_VERSION


@needs_yls
def test_yls_no_diagnostics_on_clean_specs(yls: tuple[LspSession, Path]) -> None:
    session, _folder = yls
    specs = [*examples(), *clean(doc_specs()), *accepted()]
    assert len(specs) > 30
    found = _open_all(session, specs)
    assert {k: _messages(v) for k, v in found.items() if v} == {}


@needs_yls
def test_yls_broken_specs(yls: tuple[LspSession, Path]) -> None:
    session, _folder = yls
    specs = [Spec(f"{name}.yaml", text) for name, (text, _) in BROKEN.items()]
    found = _open_all(session, specs)
    for name, (_, expected) in BROKEN.items():
        got = [(d["range"]["start"]["line"], d["message"]) for d in found[f"{name}.yaml"]]
        assert len(got) == len(expected), (name, got)
        for (line, text), (got_line, message) in zip(expected, got, strict=True):
            assert (got_line, text in message) == (line, True), (name, got)
            assert len(message) < 600, (name, message)  # never all 155 layer types


@needs_yls
def test_yls_agrees_with_jsonschema_on_the_corpus(yls: tuple[LspSession, Path]) -> None:
    session, _folder = yls
    validator = _validator()
    specs = [s for s in corpus() if s.loads]
    found = _open_all(session, specs)
    differ = {
        s.name: _messages(found[s.name])
        for s in specs
        if bool(found[s.name]) != (next(validator.iter_errors(_data(s)), None) is not None)
    }
    assert differ == {}


def _complete(session: LspSession, folder: Path, body: str, name: str) -> list[str]:
    """Completion labels at the ``|`` in a spec whose layers are ``body``."""
    text = BASE % body
    index = text.index("|")
    line = text[:index].count("\n")
    column = index - (text.rfind("\n", 0, index) + 1)
    uri = uri_of(folder / f"complete_{name}.yaml")
    session.open(uri, text.replace("|", "", 1))
    labels = session.completion_labels(uri, line, column)
    session.close(uri)
    return labels


COMPLETIONS = {
    # name: (layers with | at the cursor, labels that must be offered, labels that must not)
    "conv2d": (
        "  - name: out\n    type: Conv2D\n    filters: 8\n    |",
        {"kernel_size", "strides", "padding", "activation", "trainable", "inputs"},
        {"output_padding", "filters", "type", "name", "share", "block", "units", "property"},
    ),
    "average": (
        "  - name: out\n    type: Average\n    inputs: [x, x]\n    |",
        {"trainable", "dtype", "call"},
        {"pool_size", "strides", "padding", "data_format", "inputs"},
    ),
    "half_typed": (
        "  - {name: f, type: Flatten}\n  - |",
        {"name", "type", "share", "block", "inputs", "call"},
        {"units", "repeat", "property"},
    ),
    "share": ("  - name: out\n    share: f\n    |", {"inputs", "call"}, {"type", "block", "units"}),
    "block": ("  - name: out\n    block: b\n    |", {"inputs", "repeat"}, {"type", "share"}),
    "nested": (
        "  - name: out\n    type: TimeDistributed\n    layer:\n      type: Dense\n      |",
        {"units", "activation", "trainable"},
        {"name", "inputs", "call", "layer"},
    ),
    "type_value": ("  - name: out\n    type: |", {"Dense", "Conv2D", "LSTM"}, {"Lambda"}),
    "activation_value": (
        "  - name: out\n    type: Dense\n    activation: |",
        {"relu", "softmax", "null"},
        {"Dense"},
    ),
    # a flow mapping: yaml-language-server needs the key's first letter (kspec lsp does not)
    "flow_partial_key": ("  - {name: out, type: Dense, u|}", {"units", "use_bias"}, {"filters"}),
}


@needs_yls
@pytest.mark.parametrize("name", list(COMPLETIONS))
def test_yls_completion(yls: tuple[LspSession, Path], name: str) -> None:
    session, folder = yls
    body, wanted, unwanted = COMPLETIONS[name]
    labels = set(_complete(session, folder, body, name))
    assert wanted <= labels, wanted - labels
    assert not unwanted & labels, unwanted & labels


@needs_yls
def test_yls_hover_explains_the_argument(yls: tuple[LspSession, Path]) -> None:
    session, folder = yls
    text = (
        BASE
        % "  - {name: f, type: Flatten}\n  - name: out\n    type: Dense\n    units: ${units // 4}"
    )
    uri = uri_of(folder / "hover.yaml")
    assert session.open(uri, text) == []
    hover = session.position_request("hover", uri, 10, 6)
    value = hover["contents"]["value"]
    assert "Dimensionality of the output space" in value
    assert "expression" not in value
