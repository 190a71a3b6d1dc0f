"""The safe YAML loader: YAML 1.2 core scalars, the source map, refusals and limits."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from timing import within

import kspec
from kspec.spec import loader
from kspec.spec.loader import Limits, load_file, load_text

ROOT = Path(__file__).resolve().parent.parent

# Hostile input is refused fast: within FAST reference workloads (tests/timing.py; the measured
# ratios are in bench/bounds.md).
FAST = 1


def value(text: str) -> Any:
    doc, diags = load_text(f"a: {text}\n")
    assert doc is not None and not diags, diags
    return doc.data["a"]


def codes(text: str | bytes, **kw: Any) -> list[str]:
    return [d.code for d in load_text(text, **kw)[1]]


def fast_load(text: str | bytes, **kw: Any) -> tuple[Any, list[Any]]:
    """``load_text``, within FAST times the reference workload."""
    return within(lambda: load_text(text, **kw), FAST, f"load_text of {text[:20]!r}...")


# -- YAML 1.2 core scalars --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("false", False),
        ("True", True),
        ("FALSE", False),
        ("no", "no"),
        ("yes", "yes"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("1e-6", 1e-6),
        ("1.5e3", 1500.0),
        ("-2.5", -2.5),
        (".5", 0.5),
        ("0", 0),
        ("-0", 0),
        ("+12", 12),
        ("0o17", 15),
        ("0x1F", 31),
        ("~", None),
        ("null", None),
        ("", None),
        ("2024-01-01", "2024-01-01"),
        ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
        ("1:30", "1:30"),
        ("1_000", "1_000"),
        ("0b101", "0b101"),
        ("'0777'", "0777"),
        ('"true"', "true"),
        ("'1e-6'", "1e-6"),
        ("relu", "relu"),
    ],
)
def test_yaml_12_core_scalars(text: str, expected: Any) -> None:
    got = value(text)
    assert got == expected
    assert type(got) is type(expected)


def test_only_true_and_false_are_booleans() -> None:
    doc, _ = load_text("a: [yes, no, on, off, y, n, true, false]\n")
    assert doc is not None
    assert doc.data["a"] == ["yes", "no", "on", "off", "y", "n", True, False]


@pytest.mark.parametrize("text", ["0777", "00", "012"])
def test_leading_zero_is_ambiguous(text: str) -> None:
    _, diags = load_text(f"a: {text}\n")
    assert [d.code for d in diags] == ["KS009"]
    assert "0o" in (diags[0].hint or "")


@pytest.mark.parametrize("text", [".nan", ".NaN", ".inf", "-.inf", "+.INF", "1e400"])
def test_non_finite_numbers_refused(text: str) -> None:
    assert codes(f"a: {text}\n") == ["KS009"]


def test_huge_integers_refused() -> None:
    assert codes("a: " + "1" * 30 + "\n") == ["KS009"]
    assert codes("a: " + "9" * 5000 + "\n") == ["KS009"]
    assert codes("a: 0x" + "f" * 40 + "\n") == ["KS009"]
    assert value("9" * 19) == int("9" * 19)


# -- the source map ---------------------------------------------------------------------------

SOURCE = """\
kspec: 1
name:   demo
inputs:
  x: {shape: [8]}
layers:
  - name: hidden
    units: 4
  - {name: out, units: 2}
"""


def where(doc: Any, path: tuple[str | int, ...], key: bool = False) -> tuple[int, ...]:
    span = doc.span(path, key=key)
    assert span is not None, path
    return (span.line, span.column, span.end_line, span.end_column)


def test_value_spans_are_one_based() -> None:
    doc, diags = load_text(SOURCE)
    assert doc is not None and not diags
    assert where(doc, ("kspec",))[:2] == (1, 8)
    assert where(doc, ("name",)) == (2, 9, 2, 13)
    assert where(doc, ("inputs", "x", "shape", 0))[:2] == (4, 15)
    assert where(doc, ("layers", 0))[:2] == (6, 5)
    assert where(doc, ("layers", 0, "units"))[:2] == (7, 12)
    assert where(doc, ("layers", 1, "name"))[:2] == (8, 12)


def test_key_spans() -> None:
    doc, _ = load_text(SOURCE)
    assert doc is not None
    assert where(doc, ("kspec",), key=True) == (1, 1, 1, 6)
    assert where(doc, ("layers", 0, "units"), key=True)[:2] == (7, 5)
    assert where(doc, ("layers", 1, "units"), key=True)[:2] == (8, 17)
    # a path without a key of its own (a list item) falls back to its value
    assert where(doc, ("layers", 1), key=True) == where(doc, ("layers", 1))


def test_span_falls_back_to_the_parent() -> None:
    doc, _ = load_text(SOURCE)
    assert doc is not None
    assert where(doc, ("layers", 0, "missing")) == where(doc, ("layers", 0))
    assert where(doc, ("nowhere", 3)) == where(doc, ())


def test_collection_spans_cover_their_extent() -> None:
    doc, _ = load_text(SOURCE)
    assert doc is not None
    assert where(doc, ("inputs", "x")) == (4, 6, 4, 18)
    assert where(doc, ("layers", 1)) == (8, 5, 8, 26)


def test_diagnostics_point_into_the_source() -> None:
    _, diags = load_text("a: 1\nb:\n  c: .nan\n")
    assert [(d.code, d.line, d.column) for d in diags] == [("KS009", 3, 6)]


# -- refusals ---------------------------------------------------------------------------------


def test_duplicate_keys_name_the_first_line() -> None:
    doc, diags = load_text("a: 1\nb:\n  c: 1\n  d: 2\n  c: 3\n")
    assert [(d.code, d.line) for d in diags] == [("KS007", 5)]
    assert "line 3" in diags[0].message
    assert doc is not None and doc.data["b"] == {"c": 1, "d": 2}  # never silently the last


def test_duplicate_keys_in_flow_mapping() -> None:
    _, diags = load_text("a: {b: 1, b: 2}\n")
    assert [(d.code, d.line, d.column) for d in diags] == [("KS007", 1, 11)]


@pytest.mark.parametrize(
    ("text", "what"),
    [("1: a\n", "int"), ("true: a\n", "bool"), ("? [a, b]\n: 1\n", "list"), ("~: a\n", "None")],
)
def test_non_string_keys(text: str, what: str) -> None:
    _, diags = load_text(text)
    assert [d.code for d in diags] == ["KS008"]


def test_anchors_and_aliases_refused() -> None:
    _, diags = load_text("a: &x 1\nb: *x\n")
    assert [(d.code, d.line) for d in diags] == [("KS006", 1), ("KS006", 2)]
    assert "&x" in diags[0].message and "*x" in diags[1].message


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system ['echo pwned']\n",
        "a: !!python/name:os.system\n",
        "a: !!str 1\n",
        "a: !custom x\n",
        "a: !!map {b: 1}\n",
    ],
)
def test_tags_refused(text: str) -> None:
    assert "KS005" in codes(text)


def test_tag_never_builds_objects(tmp_path: Path) -> None:
    canary = tmp_path / "pwned"
    text = f"a: !!python/object/apply:os.system ['touch {canary}']\n"
    assert "KS005" in codes(text)
    assert not canary.exists()


def test_two_documents() -> None:
    _, diags = load_text("a: 1\n---\nb: 2\n")
    assert [(d.code, d.line) for d in diags] == [("KS001", 2)]


@pytest.mark.parametrize("text", ["", "\n\n", "# just a comment\n", "~\n", "---\n"])
def test_empty_file(text: str) -> None:
    doc, diags = load_text(text)
    assert doc is None
    assert [d.code for d in diags] == ["KS001"]
    assert "empty" in diags[0].message


def test_empty_file_on_disk(tmp_path: Path) -> None:
    p = tmp_path / "empty.yaml"
    p.write_bytes(b"")
    assert [d.code for d in kspec.check(str(p))] == ["KS001"]


# -- encodings ------------------------------------------------------------------------------


def test_bom_bytes() -> None:
    doc, diags = load_text(b"\xef\xbb\xbfkspec: 1\n")
    assert doc is None and [(d.code, d.line, d.column) for d in diags] == [("KS004", 1, 1)]


def test_bom_text() -> None:
    assert codes("\ufeffkspec: 1\n") == ["KS004"]


def test_non_utf8_names_the_position() -> None:
    doc, diags = load_text(b"kspec: 1\nname: caf\xe9\n")
    assert doc is None
    assert [(d.code, d.line, d.column) for d in diags] == [("KS004", 2, 10)]
    assert "0xe9" in diags[0].message


def test_non_utf8_file(tmp_path: Path) -> None:
    p = tmp_path / "latin1.yaml"
    p.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    assert [d.code for d in kspec.check(str(p))] == ["KS004"]


def test_utf16_file(tmp_path: Path) -> None:
    p = tmp_path / "utf16.yaml"
    p.write_bytes("kspec: 1\n".encode("utf-16"))
    assert [d.code for d in kspec.check(str(p))] == ["KS004"]


# -- limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[" * 100_000, id="flow-seq-100000"),
        pytest.param("a: " + "[" * 100_000 + "]" * 100_000 + "\n", id="balanced-flow-100000"),
        pytest.param("{a: " * 5000, id="flow-map-5000"),
        pytest.param("{a: " * 5000 + "1" + "}" * 5000 + "\n", id="balanced-map-5000"),
        pytest.param("- " * 100_000 + "x\n", id="block-seq-100000"),
        pytest.param(
            "".join("  " * i + f"k{i}:\n" for i in range(1000)) + "  " * 1000 + "v: 1\n",
            id="block-map-1000",
        ),
        pytest.param("a:\n" + "  - " * 60 + "1\n", id="block-seq-60-spaced"),
        pytest.param("[" * 51 + "]" * 51, id="flow-51"),
    ],
)
def test_depth_limit_is_fast(text: str) -> None:
    doc, diags = fast_load(text)
    assert doc is None
    assert [d.code for d in diags] == ["KS002"]


def test_depth_limit_also_with_the_pure_python_parser(monkeypatch) -> None:
    monkeypatch.setattr(loader, "_Parser", yaml.SafeLoader)
    for text in ("[" * 100_000, "{a: " * 5000, "- " * 100_000 + "x\n"):
        _, diags = fast_load(text)
        assert [d.code for d in diags] == ["KS002"]


def test_nesting_at_the_limit_loads() -> None:
    doc, diags = load_text("[" * 50 + "]" * 50)
    assert doc is not None and not diags
    depth, node = 0, doc.data
    while isinstance(node, list) and node:
        node, depth = node[0], depth + 1
    assert depth == 49


def test_depth_limit_is_configurable() -> None:
    assert codes("a: [[[1]]]\n", limits=Limits(max_depth=3)) == ["KS002"]
    assert codes("a: [[1]]\n", limits=Limits(max_depth=3)) == []


def test_brackets_in_strings_and_comments_are_not_nesting() -> None:
    assert codes('a: "' + "[" * 10_000 + '"\n') == []
    assert codes("a: '" + "{" * 10_000 + "'\n") == []
    assert codes("a: 1  # " + "[" * 10_000 + "\n") == []


def test_large_file_gives_ks003(tmp_path: Path) -> None:
    p = tmp_path / "big.yaml"
    line = "# " + "x" * 97 + "\n"
    p.write_text("kspec: 1\n" + line * (5 * 1024 * 1024 // len(line) + 1), encoding="utf-8")
    assert p.stat().st_size > 5 * 1024 * 1024
    doc, diags = within(lambda: load_file(str(p)), FAST, "load_file of 5 MB")
    assert doc is None and [d.code for d in diags] == ["KS003"]
    assert [d.code for d in kspec.check(str(p))] == ["KS003"]


def test_size_limit_is_configurable() -> None:
    assert codes("a: 1\n" * 100, limits=Limits(max_bytes=100)) == ["KS003"]


def test_node_limit() -> None:
    assert codes("a: [" + "1, " * 100 + "1]\n", limits=Limits(max_nodes=50)) == ["KS003"]


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in itertools.pairwise("abcdefghij"[:levels]):
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_fast() -> None:
    text = billion_laughs()
    assert len(text) < 500
    doc, diags = fast_load(text)
    assert diags and {d.code for d in diags} == {"KS006"}
    # aliases are never expanded
    assert doc is None or all(v is None for v in doc.data["i"])


def test_billion_laughs_check_is_fast(tmp_path: Path) -> None:
    p = tmp_path / "lol.yaml"
    p.write_text("kspec: 1\nname: lol\n" + billion_laughs(), encoding="utf-8")
    diags = within(lambda: kspec.check(str(p)), FAST, "kspec.check of a billion laughs")
    assert {d.code for d in diags} == {"KS006"}


def test_missing_file() -> None:
    doc, diags = load_file("/nonexistent/spec.yaml")
    assert doc is None and [d.code for d in diags] == ["KS000"]


# -- libyaml and the pure-Python parser give the same results ---------------------------------


def _result(text: str | bytes) -> tuple[Any, ...]:
    doc, diags = load_text(text, "spec.yaml")
    return (
        doc.data if doc else None,
        doc.spans if doc else None,
        doc.key_spans if doc else None,
        [(d.code, d.span, d.message, d.hint, d.pointer) for d in diags],
    )


SAME_INPUTS = {
    "example-mnist": (ROOT / "examples" / "mnist_mlp.yaml").read_text(encoding="utf-8"),
    "example-seq2seq": (ROOT / "examples" / "seq2seq.yaml").read_text(encoding="utf-8"),
    "example-blocks": (ROOT / "examples" / "blocks.yaml").read_text(encoding="utf-8"),
    "scalars": "a: [no, yes, 1e-6, 0o17, 0x1F, ~, 2024-01-01, 1:30, 'q', \"d\"]\n",
    "block-scalars": "a: |\n  line one\n  line two\nb: >-\n  folded\n  text\n",
    "duplicate": "a: 1\nb: 2\na: 3\n",
    "anchor-tag": "a: &x !!str 1\nb: *x\n",
    "non-string-key": "1: a\ntrue: b\n",
    "ambiguous-number": "a: 0777\nb: .nan\n",
    "tab": "a:\n\tb: 1\n",
    "two-docs": "a: 1\n---\nb: 2\n",
}


@pytest.mark.parametrize("name", sorted(SAME_INPUTS))
def test_pure_python_parser_gives_identical_results(name: str, monkeypatch) -> None:
    text = SAME_INPUTS[name]
    with_libyaml = _result(text)
    monkeypatch.setattr(loader, "_Parser", yaml.SafeLoader)
    assert _result(text) == with_libyaml


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a: {b: ${units // 4}}\n", id="flow-expression"),
        pytest.param("a: [enc[1], enc[2]]\n", id="flow-index"),
        pytest.param("a: b: c\n", id="mapping-in-plain"),
    ],
)
def test_pure_python_parser_gives_identical_yaml_errors(text: str, monkeypatch) -> None:
    with_libyaml = _result(text)
    monkeypatch.setattr(loader, "_Parser", yaml.SafeLoader)
    assert _result(text) == with_libyaml


@pytest.mark.parametrize(
    "text",
    ["a: {b: ${units // 4}}\n", "a: [enc[1], enc[2]]\n", "a: b: c\n", "a: [1, 2\n"],
)
def test_yaml_errors_same_code_with_either_parser(text: str, monkeypatch) -> None:
    """At least the code (and so the exit status) never depends on libyaml."""
    c_codes = codes(text)
    monkeypatch.setattr(loader, "_Parser", yaml.SafeLoader)
    assert codes(text) == c_codes == ["KS001"]


def test_unclosed_flow_position_same_with_either_parser(monkeypatch) -> None:
    text = "a: [1, 2"  # no final newline
    c_pos = [(d.line, d.column) for d in load_text(text)[1]]
    monkeypatch.setattr(loader, "_Parser", yaml.SafeLoader)
    assert [(d.line, d.column) for d in load_text(text)[1]] == c_pos


def test_libyaml_is_used_when_available() -> None:
    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML built without libyaml")
    assert loader._Parser is yaml.CSafeLoader


def test_too_many_problems_are_counted_not_listed() -> None:
    """30,000 wrong entries: the first 500 in file order are described, then one KS010 that
    says how many more there are (and the check stays fast)."""
    import kspec

    base = "kspec: 1\nname: demo\ninputs:\n  x: {shape: [8]}\nlayers:\n"
    base += "  - {name: d, type: Dense, units: 4}\noutputs: d\nblocks:\n"
    text = base + "".join(f"  k{i}: 1\n" for i in range(30_000))
    diags = within(lambda: kspec.check_text(text), 100, "kspec.check_text of 30,000 keys")
    assert len(diags) == 501
    assert [d.line for d in diags[:3]] == [9, 10, 11]
    assert diags[-1].code == "KS010"
    assert diags[-1].message == "29,500 more problems not shown (kspec shows the first 500)"


def _prescan_by_character(text: str, limit: int) -> tuple[int, int, str] | None:
    """The depth pre-scan with every line read character by character (no plain-line path)."""
    depth, quote = 0, ""
    for number, line in enumerate(text.split("\n"), 1):
        depth, quote, found = loader._prescan_line(line, number, depth, quote, limit)
        if found:
            return found
    return None


def test_prescan_plain_lines_read_as_character_by_character() -> None:
    rng = random.Random(0)
    alphabet = " -?[]{}'\"#\\:,\tax\n\r"
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        for limit in (1, 2, 3):
            assert loader._prescan_depth(text, limit) == _prescan_by_character(text, limit), text
