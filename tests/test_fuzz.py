"""Fuzzers (hypothesis) whose only allowed outcomes are success or kspec diagnostics.

* bytes: arbitrary bytes, and YAML-ish text built from a grammar of tokens spliced into real
  specs, go through ``kspec.check_text``: it returns diagnostics with known codes, never raises;
  when it reports no error the spec compiles to code of kspec's own shape.
* structure: each example spec, as plain data, gets hostile strings (control characters, quotes,
  backslashes, line breaks, code payloads) in every position that accepts any string; when the
  result checks clean, the generated modules differ from those of a neutral placeholder string
  in string constants only, and importing them raises no audit event beyond their own imports.

Profiles: ``HYPOTHESIS_PROFILE=ci`` (the default) or ``thorough``, from tests/conftest.py; when
no conftest registers them, this module does (ci: 200 examples, thorough: 5,000). Importing
generated modules runs half the profile's examples.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import functools
import os
import traceback
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, reject, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from test_hostile import ALLOW, check_generated, exec_generated

import kspec
from kspec.codes import CODES
from kspec.diagnostics import Diagnostic

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
TARGETS = ("functional", "subclass")

_CONFTEST = ROOT / "tests" / "conftest.py"
if not (_CONFTEST.exists() and "register_profile" in _CONFTEST.read_text(encoding="utf-8")):
    for _name, _examples in (("ci", 200), ("thorough", 5000)):
        try:  # Hypothesis has a built-in "ci" profile (derandomized, no database): keep its rest
            _parent = settings.get_profile(_name)
        except InvalidArgument:
            _parent = settings.get_profile("default")
        # registered already, and not to be redefined: keep it
        with contextlib.suppress(InvalidArgument):
            settings.register_profile(
                _name,
                parent=_parent,
                max_examples=_examples,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
CHEAP = settings(PROFILE, deadline=None)
COMPILING = settings(PROFILE, deadline=None)  # about 30 ms an example: as cheap as the rest
IMPORTING = settings(PROFILE, deadline=None, max_examples=max(PROFILE.max_examples // 2, 10))


# Exceptions from known kspec bugs (each has a deterministic, strict-xfail case in the corpus of
# tests/test_hostile.py and a repro in /tmp/kspec_bugs/): an example that hits one is discarded,
# so the fuzzers keep looking for new bugs. (exception type, kspec function raising it).
KNOWN_BUGS: dict[tuple[type[BaseException], str], str] = {}


def _known_bug(exc: BaseException) -> str | None:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/kspec/" in f.filename]
    if not frames:
        return None
    return KNOWN_BUGS.get((type(exc), frames[-1].name))


def check_text(text: str | bytes, path: str = "<spec>") -> list[Diagnostic]:
    """``kspec.check_text``; an example that hits a known bug is rejected (see KNOWN_BUGS).
    ``path`` places the text, for the ``extends:`` and ``include:`` of a composed example."""
    try:
        return kspec.check_text(text, path)
    except Exception as exc:
        if _known_bug(exc):
            event("known kspec bug: " + str(_known_bug(exc)))
            reject()
        raise


def assert_only_diagnostics(diags: Any) -> None:
    assert isinstance(diags, list)
    for d in diags:
        assert isinstance(d, Diagnostic), d
        assert d.code in CODES, d
        assert d.severity in ("error", "warning"), d
        assert isinstance(d.message, str) and d.message, d
        assert d.line >= 1 and d.column >= 1, d


def compiles_to_kspec_shape(text: str | bytes) -> None:
    """After a clean check: both targets compile to code of kspec's own shape."""
    spec = kspec.loads(text.decode("utf-8") if isinstance(text, bytes) else text)
    for target in TARGETS:
        check_generated(kspec.to_source(spec, target))


# -- a. bytes and YAML-ish text --------------------------------------------------------------

SEEDS = [p.read_text(encoding="utf-8") for p in EXAMPLES] + [
    "kspec: 1\nname: demo\ninputs:\n  x: {shape: [8]}\nlayers:\n"
    "  - {name: hidden, type: Dense, units: 4}\noutputs: hidden\n"
]
TOKENS = [
    "[", "]", "{", "}", ":", ": ", ",", "- ", "? ", "&a ", "*a", "&b [", "*b", "<<: *a",
    "!!", "!!python/object/apply:os.system ['touch /tmp/kspec_canary_fuzz'] ", "!x ", "! ",
    "!!str ", "!!binary ", "${", "$", "$$", "${units // 2}", "${__import__('os')}",
    "${().__class__}", "${" + "(" * 300, '"', "'", "\\", "\\n", "\n", "\r", "\r\n", "\t", " ",
    "  ", "    ", "#", " # ", "0", "1", "-1", "9" * 25, "0777", "0x1F", "0o17", "1e-6", "1e400",
    ".nan", ".inf", "-.Inf", "1:30", "2001-12-14", "true", "True", "no", "yes", "on", "~",
    "null", "kspec: 1", "kspec: 2", "name: demo", "name: a;b", "description: ", "layers:",
    "inputs:", "outputs: hidden", "type: Dense", "type: Lambda", "type: os.system",
    "imports: [os]", "units: ", "params: ", "blocks:", "share: hidden", "block: b",
    "repeat: 3", "call: {training: false}", "x", "hidden", "hidden[1]", "---", "...",
    "%YAML 1.1\n", "%TAG !p! tag:yaml.org,2002:python/\n", "|\n", ">\n", "|-\n", "\x00",
    "\x07", "\x1b[2J", "\ufeff", "\u2028", "\x85", "\u202e", "é", "ﬁlters", "а", "ｘ",
    "\U0001f600", "\ud7ff", "\ue000",
]  # fmt: skip
yamlish = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    """A real spec with grammar tokens inserted at, or replacing text at, random places."""
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 3))
        text = text[:at] + draw(yamlish) + text[at + cut :]
    return text


@CHEAP
@given(st.binary(max_size=2000))
def test_bytes_never_raise(data: bytes) -> None:
    diags = check_text(data)
    assert_only_diagnostics(diags)
    event("errors" if any(d.severity == "error" for d in diags) else "clean")
    if not any(d.severity == "error" for d in diags):
        compiles_to_kspec_shape(data)


@CHEAP
@given(st.one_of(yamlish, mutated_specs()))
def test_yamlish_text_never_raises(text: str) -> None:
    diags = check_text(text)
    assert_only_diagnostics(diags)
    assert_only_diagnostics(check_text(text.encode("utf-8", "surrogatepass")))
    event(min((d.code for d in diags if d.severity == "error"), default="clean"))
    if not any(d.severity == "error" for d in diags):
        compiles_to_kspec_shape(text)


@CHEAP
@given(mutated_specs())
def test_bytes_of_mutated_specs_never_raise(text: str) -> None:
    """The same texts as bytes in other encodings (not UTF-8: a diagnostic, never a crash)."""
    for codec in ("utf-16", "utf-16-le", "latin-1", "cp1252"):
        try:
            data = text.encode(codec)
        except UnicodeEncodeError:
            continue
        assert_only_diagnostics(check_text(data))


# -- b. structure: hostile strings in every position that accepts any string ----------------

PAYLOADS = [
    '"""',
    "'''",
    '"""; import os; os.system("touch /tmp/kspec_canary_fuzz"); """',
    "'; import os; os.system('touch /tmp/kspec_canary_fuzz')",
    "\"); __import__('os').system('touch /tmp/kspec_canary_fuzz') #",
    "\\",
    "\\'",
    '\\"',
    "x\r\nimport os\r\n",
    "# kspec_canary_fuzz",
    "${__import__('os').system('touch /tmp/kspec_canary_fuzz')}",
    "$$",
    "{0.__class__} %s %(x)s",
    "\x00\x1b[2J\x7f\x85\u2028\u2029\u202e\ufeff",
    "\\N{BEL} \\x00 \\u0041",
    'ends with a quote "',
    "ends with a backslash \\",
]
hostile_text = st.one_of(
    st.sampled_from(PAYLOADS),
    st.text(max_size=80),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40),
    st.text(st.sampled_from("\"'\\\n\r\t #${}()[];:,.=-x\x00\x1b\x85\u2028"), max_size=40),
    st.lists(st.sampled_from(PAYLOADS), min_size=2, max_size=4).map("".join),
).filter(lambda s: len(s) <= 4000)


def _data(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


EXAMPLE_DATA = {p.stem: _data(p) for p in EXAMPLES}
# where each example lives: a spliced composed example (cnn_wide.yaml extends cnn_base.yaml)
# is checked in its folder, so that its bases and libraries are found
EXAMPLE_PATH = {p.stem: str(p) for p in EXAMPLES}
PLACEHOLDER = "kspec fuzz placeholder"


def positions(data: dict[str, Any]) -> list[tuple[str, ...]]:
    """Places that accept any string: the model's and each block's description, a new string
    param, and the name argument of a compile: metric (when the spec has compile:)."""
    out: list[tuple[str, ...]] = [("description",), ("params", "fuzz_note")]
    for block in data.get("blocks") or {}:
        out.append(("blocks", block, "description"))
    if isinstance(data.get("compile"), dict):
        out.append(("compile", "metrics", "name"))
    return out


def splice(example: str, where: tuple[str, ...], value: str) -> str:
    data = copy.deepcopy(EXAMPLE_DATA[example])
    if where[0] == "compile":
        data["compile"]["metrics"] = [{"type": "AUC", "name": value}]
    elif where[0] == "params":
        data.setdefault("params", {})
        data["params"] = {**(data["params"] or {}), where[1]: value}
    else:
        node = data
        for key in where[:-1]:
            node = node[key]
        node[where[-1]] = value
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=False)


def _normal(source: str) -> str:
    """The module's AST with every string constant blanked: what a string cannot change."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
    return ast.dump(tree)


@functools.cache
def placeholder_sources(example: str, where: tuple[str, ...]) -> tuple[str, ...] | None:
    text = splice(example, where, PLACEHOLDER)
    path = EXAMPLE_PATH[example]
    if any(d.severity == "error" for d in check_text(text, path)):
        return None
    spec = kspec.loads(text, path)
    return tuple(kspec.to_source(spec, t) for t in TARGETS)


@st.composite
def spliced(draw: st.DrawFn) -> tuple[str, tuple[str, ...], str, str]:
    example = draw(st.sampled_from(sorted(EXAMPLE_DATA)))
    where = draw(st.sampled_from(positions(EXAMPLE_DATA[example])))
    value = draw(hostile_text)
    return example, where, value, splice(example, where, value)


def test_positions_compile_with_a_placeholder() -> None:
    """Every position the fuzzer splices into is a real one: with a neutral string each spec
    still checks clean, and the string reaches the generated code."""
    for example, data in EXAMPLE_DATA.items():
        for where in positions(data):
            sources = placeholder_sources(example, where)
            assert sources is not None, (example, where)
            assert any(PLACEHOLDER in s for s in sources), (example, where)


@COMPILING
@given(spliced())
def test_spliced_strings_stay_strings(case: tuple[str, tuple[str, ...], str, str]) -> None:
    example, where, value, text = case
    diags = check_text(text, EXAMPLE_PATH[example])
    assert_only_diagnostics(diags)
    if any(d.severity == "error" for d in diags):
        event("spec has errors")
        return
    event("compiled")
    reference = placeholder_sources(example, where)
    assert reference is not None
    spec = kspec.loads(text, EXAMPLE_PATH[example])
    for target, ref in zip(TARGETS, reference, strict=True):
        source = kspec.to_source(spec, target)
        check_generated(source)
        assert _normal(source) == _normal(ref), f"{value!r} changed the code of {example}"
        if "kspec_canary_fuzz" in value:
            check_generated(source, "kspec_canary_fuzz")
    assert not Path("/tmp/kspec_canary_fuzz").exists()


@st.composite
def drawn_spliced(draw: st.DrawFn) -> tuple[str, str, str]:
    """A drawn valid spec (kspec.testing: hostile names, blocks, expressions) with a hostile
    description and string param; and the same spec with a neutral placeholder."""
    from kspec.testing import spec_dicts

    data = draw(spec_dicts(max_nodes=6))
    value = draw(hostile_text)
    texts = []
    for text in (value, PLACEHOLDER):
        d = copy.deepcopy(data)
        d["description"] = text
        d["params"] = {**(d.get("params") or {}), "fuzz_note": text}
        texts.append(yaml.safe_dump(d, sort_keys=False, allow_unicode=False))
    return value, texts[0], texts[1]


@COMPILING
@given(drawn_spliced())
def test_spliced_strings_stay_strings_in_drawn_specs(case: tuple[str, str, str]) -> None:
    value, text, reference = case
    assert not any(d.severity == "error" for d in check_text(reference)), reference
    diags = check_text(text)
    assert_only_diagnostics(diags)
    if any(d.severity == "error" for d in diags):
        event("spec has errors")
        return
    event("compiled")
    spec, ref = kspec.loads(text), kspec.loads(reference)
    for target in TARGETS:
        source = kspec.to_source(spec, target)
        check_generated(source)
        assert _normal(source) == _normal(kspec.to_source(ref, target)), value


def test_allowlist_knows_the_generators_calls() -> None:
    assert "tf.keras.Input" in ALLOW.callees


@pytest.fixture(scope="module")
def tensorflow() -> Any:
    tf = pytest.importorskip("tensorflow")
    # warm up the lazy Keras imports the generated modules trigger, with the audit hook off
    for example in sorted(EXAMPLE_DATA):
        sources = placeholder_sources(example, ("description",))
        assert sources is not None
        for source in sources:
            exec(compile(source, f"<warm-up {example}>", "exec"), {})
    return tf


@pytest.mark.tf
def test_importing_spliced_modules_runs_nothing(tensorflow: Any) -> None:
    """Import (exec in a fresh module) the modules generated from spliced specs with an audit
    hook recording exec, subprocess, os.system, open and import events: none may appear."""

    @IMPORTING
    @given(spliced())
    def run(case: tuple[str, tuple[str, ...], str, str]) -> None:
        example, _, value, text = case
        path = EXAMPLE_PATH[example]
        if any(d.severity == "error" for d in check_text(text, path)):
            event("spec has errors")
            return
        event("imported")
        spec = kspec.loads(text, path)
        for target in TARGETS:
            events = exec_generated(kspec.to_source(spec, target), f"fuzz_{example}_{target}")
            assert events == [], (value, events)
        assert not Path("/tmp/kspec_canary_fuzz").exists()

    run()
