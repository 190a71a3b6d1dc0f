"""Hostile and broken input (docs/security.md, shared/design/hostile-input.md).

The corpus under tests/hostile/:

* ``*.yaml``: broken or hostile specs. Each starts with header comments::

      # expect: KS005 at 6        (an error kspec must report: code and line)
      # message: first defined    (optional: text one of the diagnostics must contain)

* ``*.bin``: inputs that are not UTF-8 text (or hold control characters); their expectations are
  in ``BIN_CASES`` below.
* ``valid/*.yaml``: *valid* specs that carry injection payloads in every string position that
  accepts any string. They must compile, and the payload must only ever be a string constant.

Cases too large to commit (100,000-deep nesting, multi-megabyte files, 10 kB ReDoS probes) are
built at test time from the recipes in ``GENERATED``.

Every payload tries to create ``/tmp/kspec_canary_<case>``; the tests assert that file never
appears (after check, after compile, and after importing the generated module).
"""

from __future__ import annotations

import ast
import glob
import importlib.util
import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import tokenize
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from timing import HANG, child_within, run_child, within

import kspec
from kspec import cli
from kspec.codes import CODES
from kspec.compiler.helpers import RECURSION_LIMIT
from kspec.diagnostics import Diagnostic, KspecError
from kspec.layers import LAYERS, OPS
from kspec.spec import loader, scalars
from kspec.spec.loader import MAX_BYTES, MAX_DEPTH, MAX_NODES, load_text

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests" / "hostile"
VALID = HOSTILE / "valid"
GOLDEN = ROOT / "tests" / "golden" / "source"
YAML_FILES = sorted(HOSTILE.glob("*.yaml"))
BIN_FILES = sorted(HOSTILE.glob("*.bin"))
VALID_FILES = sorted(VALID.glob("*.yaml"))
TARGETS = ("functional", "subclass")

# Time bounds, relative to this machine (tests/timing.py; bench/bounds.md has the ratios
# measured, and each factor is at least five times the largest): a hostile check costs at most
# CHECK_FACTOR reference workloads, a regular expression on a 10 kB probe at most REGEX_FACTOR,
# and a CLI run on a hostile file at most CLI_FACTOR times a small `kspec check` in a child.
CHECK_FACTOR = 100
REGEX_FACTOR = 1
CLI_FACTOR = 25
CANARY_PREFIX = "/tmp/kspec_canary_"
HEADER = re.compile(r"# expect: (KS\d{3}) at (\d+)\Z")


def canary(case: str) -> Path:
    return Path(CANARY_PREFIX + case)


# -- cases ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    expected: frozenset[tuple[str, int]]  # (code, line) pairs that must be among the errors
    messages: tuple[str, ...] = ()
    path: Path | None = None  # a committed file
    recipe: Callable[[], bytes] | None = None  # or bytes built at test time
    alternatives: frozenset[str] = frozenset()  # other acceptable codes at the expected line
    subprocess: bool = False  # run the CLI in a child process (could crash or hang a process)

    def data(self) -> bytes:
        if self.path is not None:
            return self.path.read_bytes()
        assert self.recipe is not None
        return self.recipe()

    def materialize(self, folder: Path) -> Path:
        """The case as a file (generated cases are written into ``folder``)."""
        if self.path is not None:
            return self.path
        out = folder / f"{self.name}.yaml"
        if not out.exists():
            out.write_bytes(self.data())
        return out


def header(path: Path) -> tuple[frozenset[tuple[str, int]], tuple[str, ...]]:
    expected: set[tuple[str, int]] = set()
    messages: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.startswith("#"):
            break
        if raw.startswith("# expect"):
            m = HEADER.fullmatch(raw)
            assert m, f"{path.name}: malformed header line {raw!r}"
            expected.add((m.group(1), int(m.group(2))))
        elif raw.startswith("# message: "):
            messages.append(raw[len("# message: ") :])
    return frozenset(expected), tuple(messages)


BASE = """\
kspec: 1
name: demo
inputs:
  x: {shape: [8]}
layers:
  - name: hidden
    type: Dense
    units: 4
outputs: hidden
"""
DESC = BASE.replace("name: demo\n", "name: demo\ndescription: DESC\n")

# Committed binary cases: file stem -> (acceptable codes, line). The first code is the expected
# one; UTF-16 without a BOM is valid UTF-8 full of NUL bytes, so KS001 or KS004 will do.
BIN_CASES: dict[str, tuple[tuple[str, ...], int]] = {
    "enc_latin1": (("KS004",), 3),
    "enc_cp1252_quotes": (("KS004",), 3),
    "enc_utf16_bom": (("KS004",), 1),
    "enc_utf16le_no_bom": (("KS004", "KS001"), 1),
    "enc_utf16be_no_bom": (("KS004", "KS001"), 1),
    "enc_utf32_bom": (("KS004",), 1),
    "enc_utf8_bom": (("KS004",), 1),
    "enc_lone_surrogate": (("KS004",), 3),
    "enc_overlong_slash": (("KS004",), 3),
    "enc_truncated_sequence": (("KS004",), 10),
    "enc_invalid_start_byte": (("KS004",), 3),
    "ctrl_nul_in_value": (("KS001", "KS004"), 3),
    "ctrl_bel_in_name": (("KS001", "KS004"), 2),
    "ctrl_terminal_escape": (("KS001", "KS004"), 8),
    "ctrl_c1_csi": (("KS001", "KS004"), 3),
    "ctrl_del": (("KS001", "KS004"), 3),
}

N = 100_000


def _b(text: str) -> bytes:
    return text.encode("utf-8")


def _chain_unknown_refs(n: int) -> bytes:
    lines = [BASE.split("layers:")[0] + "layers:", "  - {name: l0, type: Dense, units: 4}"]
    lines += [f"  - {{name: l{i}, type: Dense, units: 4, inputs: m{i}}}" for i in range(1, n)]
    return _b("\n".join([*lines, f"outputs: l{n - 1}", ""]))


def _chain_unknown_params(n: int) -> bytes:
    lines = [BASE.split("layers:")[0] + "layers:", "  - {name: l0, type: Dense, units: 4}"]
    lines += [f"  - {{name: l{i}, type: Dense, units: $q{i}}}" for i in range(1, n)]
    params = ", ".join(f"p{i}: 1" for i in range(n))
    return _b("\n".join([*lines, f"outputs: l{n - 1}", f"params: {{{params}}}", ""]))


def _many_bad_blocks(n: int) -> bytes:
    return _b(BASE + "blocks:\n" + "".join(f"  k{i}: 1\n" for i in range(n)))


# Generated cases: name -> (recipe, code, line). Lines count from 1 in the generated text.
GENERATED: dict[str, tuple[Callable[[], bytes], str, int]] = {
    # nesting: 100,000 levels, flow and block style
    "deep_flow_seq_100k": (lambda: _b(BASE.replace("[8]", "[" * N + "8" + "]" * N)), "KS002", 4),
    "deep_flow_map_100k": (
        lambda: _b(BASE.replace("{shape: [8]}", "{a: " * N + "1" + "}" * N)),
        "KS002",
        4,
    ),
    "deep_compact_block_seq_100k": (
        lambda: _b(BASE.replace("{shape: [8]}", "\n    shape:\n      " + "- " * N + "8")),
        "KS002",
        6,
    ),
    "deep_explicit_keys_100k": (lambda: _b(BASE + "params:\n  " + "? " * N + "x\n"), "KS002", 11),
    "deep_block_indent_1m_spaces": (
        lambda: _b(BASE + "params:\n" + " " * 1_000_000 + "a: 1\n"),
        "KS002",
        11,
    ),
    "deep_block_map_staircase": (
        # as deep as 4 MB allows with one space of indentation per level (about 2,800 levels)
        lambda: _b(BASE + "params:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(2800))),
        "KS002",
        411,  # the pre-scan's bound: indentation deeper than 8 columns per level
    ),
    # nesting that hides from the pre-scan: a quote inside a plain scalar in a flow list, and a
    # comment ended by a line break other than \n (YAML also breaks lines at \r, NEL, LS, PS)
    "deep_prescan_quote_in_plain": (
        lambda: _b(BASE.replace("{shape: [8]}", '{shape: [a ", ' + "[" * N + "]" * N + "]}")),
        "KS002",
        4,
    ),
    "deep_prescan_cr_comment": (
        lambda: _b(BASE + "params: #\r " + "[" * N + "]" * N + "\n"),
        "KS002",
        11,
    ),
    "deep_prescan_nel_comment": (
        lambda: _b(BASE + "params: #\u0085 " + "[" * N + "]" * N + "\n"),
        "KS002",
        11,
    ),
    # size
    "huge_file_5mb": (
        lambda: _b(BASE + ("#" + "x" * 99 + "\n") * 52_000),
        "KS003",
        1,
    ),
    "huge_nodes_at_size_limit": (
        lambda: _b("kspec: 1\nname: demo\nparams:\n  a: [" + "0," * 2_095_000 + "0]\n"),
        "KS003",
        4,
    ),
    "huge_string_3mb": (
        lambda: _b(BASE + "description: '" + "x" * 3_000_000 + "'\n"),
        "KS104",
        10,
    ),
    "huge_int_1m_digits": (
        lambda: _b(BASE.replace("units: 4", "units: " + "9" * 10**6)),
        "KS009",
        8,
    ),
    "huge_many_errors": (lambda: _many_bad_blocks(30_000), "KS102", 11),
    "huge_unknown_references": (lambda: _chain_unknown_refs(1000), "KS202", 7),
    "huge_unknown_params": (lambda: _chain_unknown_params(1000), "KS303", 7),
    # ReDoS probes: 10 kB strings against every pattern of the schema and the loader
    "redos_name_pattern": (
        lambda: _b(BASE.replace("name: demo", "name: " + "a" * 10_000 + "!")),
        "KS104",
        2,
    ),
    "redos_ref_pattern": (
        lambda: _b(BASE.replace("outputs: hidden", "outputs: 'hidden[" + "1" * 10_000 + "'")),
        "KS104",
        9,
    ),
    "redos_expr_pattern": (
        lambda: _b(BASE.replace("units: 4", "units: '$" + "a" * 10_000 + "!'")),
        "KS301",
        8,
    ),
    "redos_expr_braces": (
        lambda: _b(BASE.replace("units: 4", "units: '${" + "}" * 10_000 + "x'")),
        "KS301",
        8,
    ),
    "redos_imports_pattern": (
        lambda: _b(BASE.replace("name: demo", "name: demo\nimports: ['" + "a." * 5_000 + "!']")),
        "KS104",
        3,
    ),
    "redos_type_suggestion": (
        lambda: _b(BASE.replace("type: Dense", "type: D" + "e" * 10_000 + "nse")),
        "KS106",
        7,
    ),
    "redos_flow_hint": (
        # a YAML error on a long line holding `${`: the hint's regex must stay linear
        lambda: _b(BASE + "params: '" + "[" * 30_000 + "' x ${\n"),
        "KS001",
        10,
    ),
}
SUBPROCESS_PREFIXES = ("deep_", "huge_", "int_", "enc_", "ctrl_", "redos_")

# Cases that fail because of a known kspec bug; strict, so a fix shows up as XPASS and the
# entry must then be removed. case -> (reason, the tests it fails). None at present.
_IN_PROCESS = ("expected", "api")
KNOWN_BUGS: dict[str, tuple[str, tuple[str, ...]]] = {}


def _cases() -> list[Case]:
    out = []
    for path in YAML_FILES:
        expected, messages = header(path)
        out.append(
            Case(
                path.stem,
                expected,
                messages,
                path=path,
                subprocess=path.stem.startswith(SUBPROCESS_PREFIXES),
            )
        )
    for path in BIN_FILES:
        codes, line = BIN_CASES[path.stem]
        out.append(
            Case(
                path.stem,
                frozenset({(codes[0], line)}),
                path=path,
                alternatives=frozenset(codes[1:]),
                subprocess=True,
            )
        )
    for name, (recipe, code, line) in GENERATED.items():
        out.append(Case(name, frozenset({(code, line)}), recipe=recipe, subprocess=True))
    return out


CASES = _cases()
BY_NAME = {c.name: c for c in CASES}


def params(test: str, cases: list[Case] | None = None) -> list[Any]:
    out = []
    for case in cases if cases is not None else CASES:
        reason, tests = KNOWN_BUGS.get(case.name, ("", ()))
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if test in tests else []
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


@pytest.fixture
def clean_canary(request: pytest.FixtureRequest) -> Iterator[Path]:
    """The case's canary path, removed before the test and checked after it."""
    case = request.node.callspec.params.get("case")
    name = case.name if isinstance(case, Case) else request.node.name
    path = canary(name)
    path.unlink(missing_ok=True)
    yield path
    assert not path.exists(), f"an attack succeeded: {path} was created"


def _no_canaries() -> None:
    found = glob.glob(CANARY_PREFIX + "*")
    assert not found, f"an attack succeeded somewhere: {found}"


# -- the corpus -------------------------------------------------------------------------------


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 100
    assert len(YAML_FILES) >= 100
    assert len(VALID_FILES) >= 10


def test_committed_files_are_small() -> None:
    for path in [*YAML_FILES, *BIN_FILES, *VALID_FILES]:
        assert path.stat().st_size < 20_000, path.name


def test_every_case_declares_something() -> None:
    for case in CASES:
        assert case.expected, case.name
        assert all(code in CODES for code, _ in case.expected), case.name
    assert {p.stem for p in BIN_FILES} == set(BIN_CASES)


def test_every_row_of_the_design_is_covered() -> None:
    """Each class of hostile-input.md has cases (by file-name prefix)."""
    names = set(BY_NAME)
    rows = {
        "tags": "tag_",
        "aliases": "alias_",
        "deep nesting": "deep_",
        "huge files and numbers": "huge_",
        "integers": "int_",
        "dates": "date_",
        "encodings": "enc_",
        "control characters": "ctrl_",
        "tabs": "tab_",
        "duplicate keys": "dup_",
        "non-string keys": "key_",
        "YAML 1.1 scalars": "yaml11_",
        "NaN and infinity": "nonfinite_",
        "names": "name_",
        "confusables": "confusable_",
        "expressions": "expr_",
        "refused layers": "refused_",
        "custom types": "custom_",
        "imports": "imports_",
        "ReDoS": "redos_",
        "crashes found by the fuzzers": "crash_",
        "composition (extends, include)": "compose_",
    }
    for row, prefix in rows.items():
        assert any(n.startswith(prefix) for n in names), f"no case for {row}"


def _errors(diags: list[Diagnostic]) -> set[tuple[str, int]]:
    return {(d.code, d.line) for d in diags if d.severity == "error"}


def _show(diags: list[Diagnostic]) -> str:
    return "\n".join(f"  {d.code} {d.line}:{d.column} {d.message[:160]!r}" for d in diags[:20])


def _matches(case: Case, diags: list[Diagnostic]) -> bool:
    errors = _errors(diags)
    if case.expected <= errors:
        return True
    # an alternative code at the same line will do (see BIN_CASES)
    return all(
        any((alt, line) in errors for alt in {code, *case.alternatives})
        for code, line in case.expected
    )


@pytest.mark.parametrize("case", params("expected"))
def test_expected_diagnostic(case: Case, tmp_path: Path, clean_canary: Path) -> None:
    """The expected code at the expected line, only kspec codes, and fast: within
    CHECK_FACTOR times the reference workload (tests/timing.py)."""
    path = case.materialize(tmp_path)
    diags = within(lambda: kspec.check(path), CHECK_FACTOR, f"kspec.check of {case.name}")
    assert all(d.code in CODES for d in diags), _show(diags)
    assert _matches(case, diags), f"{case.name}: expected {sorted(case.expected)}, got\n" + _show(
        diags
    )
    for text in case.messages:
        assert any(text in d.message or text in (d.hint or "") for d in diags), (
            f"{case.name}: no diagnostic mentions {text!r}:\n{_show(diags)}"
        )
    _no_canaries()


@pytest.mark.parametrize(
    "case", params("api", [c for c in CASES if not c.name.startswith(("huge_", "redos_"))])
)
def test_api_refuses_to_compile(case: Case, tmp_path: Path, clean_canary: Path) -> None:
    """``to_source`` raises KspecError (nothing else) for every target, and runs nothing."""
    path = case.materialize(tmp_path)
    for target in TARGETS:
        with pytest.raises(KspecError) as exc:
            kspec.to_source(path, target)
        assert _matches(case, exc.value.diagnostics), _show(exc.value.diagnostics)
    _no_canaries()


def _printable_line(text: str) -> bool:
    return all(c == " " or (c.isprintable() and c not in "\u2028\u2029\x85") for c in text)


@pytest.mark.parametrize("case", params("messages", [c for c in CASES if c.path is not None]))
def test_messages_are_single_printable_lines(case: Case) -> None:
    """A diagnostic never carries raw control characters or line breaks from the spec: in CI
    they would forge output lines (GitHub workflow commands) or terminal escapes."""
    for d in kspec.check(case.materialize(Path("/nonexistent"))):
        for text in (d.message, d.hint or "", *d.notes):
            assert _printable_line(text), f"{d.code}: {text!r}"


def _cli_in_process(path: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    status = cli.main([*argv, str(path)])
    out = capsys.readouterr()
    return status, out.out + out.err


@pytest.mark.parametrize("case", params("cli", [c for c in CASES if not c.subprocess]))
def test_cli_in_process(
    case: Case,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    clean_canary: Path,
) -> None:
    """``kspec check`` exits 1 without a traceback; ``kspec compile -o`` writes nothing and
    leaves an existing output untouched."""
    monkeypatch.setenv("NO_COLOR", "1")
    path = case.materialize(tmp_path)
    status, text = _cli_in_process(path, capsys, "check")
    assert status == 1, text
    assert "Traceback" not in text and "internal error" not in text, text
    out = tmp_path / "model.py"
    out.write_text("# the previous output\n", encoding="utf-8")
    before = out.stat()
    for target in TARGETS:
        status, text = _cli_in_process(path, capsys, "compile", "-t", target, "-o", str(out))
        assert status == 1, text
        assert "Traceback" not in text and "internal error" not in text, text
    assert out.read_text(encoding="utf-8") == "# the previous output\n"
    assert out.stat().st_mtime_ns == before.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != f"{case.name}.yaml") == [
        "model.py"
    ]
    _no_canaries()


def _run_cli(*argv: str, factor: float | None = None) -> tuple[int, str]:
    """``kspec ARGV`` in a child process; with ``factor``, its CPU time is bounded by that
    many times a small ``kspec check`` in a child process (tests/timing.py)."""
    env = {**os.environ, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("KSPEC_TRACEBACK", None)
    command = [sys.executable, "-m", "kspec", *argv]
    kwargs: dict[str, Any] = {
        "capture_output": True,
        "text": True,
        "errors": "replace",
        "env": env,
        "cwd": ROOT,
    }
    if factor is None:
        proc = run_child(command, **kwargs)[0]
    else:
        proc = child_within(command, factor, f"kspec {' '.join(argv)}", **kwargs)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("case", params("cli", [c for c in CASES if c.subprocess]))
def test_cli_subprocess(case: Case, tmp_path: Path, clean_canary: Path) -> None:
    """Cases that could crash or hang a process: ``kspec check`` in a child process exits 1
    (not a signal, not 2), prints no traceback, and costs at most CLI_FACTOR times a small
    ``kspec check`` (CPU time of the child process)."""
    path = case.materialize(tmp_path)
    status, text = _run_cli("check", str(path), factor=CLI_FACTOR)
    assert status == 1, f"exit {status}: {text[-2000:]}"
    assert "Traceback" not in text and "internal error" not in text, text[-2000:]
    assert "RecursionError" not in text and "MemoryError" not in text
    _no_canaries()


def _crashes(case: str) -> bool:
    """Whether a known kspec bug makes the case crash the command: it is left out when the
    whole corpus runs in one process (its own tests show the crash)."""
    return "raises" in KNOWN_BUGS.get(case, ("", ()))[0]


def test_cli_json_and_github_formats_for_the_whole_corpus(tmp_path: Path) -> None:
    """All committed cases at once, in the machine formats CI uses: exit 1, valid JSON, one
    annotation per line, no traceback."""
    files = [str(p) for p in [*YAML_FILES, *BIN_FILES] if not _crashes(p.stem)]
    status, text = _run_cli("check", "--format", "json", *files)
    assert status == 1
    payload = json.loads(text[text.index("{") :])
    assert {d["code"] for d in payload["diagnostics"]} <= set(CODES)
    status, text = _run_cli("check", "--format", "github", *files)
    assert status == 1 and "Traceback" not in text
    for line in text.splitlines():
        assert line.startswith(("::error ", "::warning ")), line


def test_check_never_imports_tensorflow_or_custom_modules(tmp_path: Path) -> None:
    """Checking the whole corpus (refused layers and custom modules included) imports neither
    TensorFlow nor Keras nor any module a spec names; a module that would create a canary on
    import sits on sys.path."""
    module = tmp_path / "kspec_canary_module.py"
    module.write_text(
        f"open({str(canary('imported_module'))!r}, 'w').close()\nclass Evil:\n    pass\n",
        encoding="utf-8",
    )
    spec = tmp_path / "custom.yaml"
    spec.write_text(
        BASE.replace("name: demo", "name: demo\nimports: [kspec_canary_module]").replace(
            "type: Dense", "type: kspec_canary_module.Evil"
        ),
        encoding="utf-8",
    )
    files = [str(p) for p in [*YAML_FILES, *BIN_FILES, *VALID_FILES, spec] if not _crashes(p.stem)]
    script = textwrap.dedent(
        """
        import json, sys
        import kspec
        files = json.loads(sys.argv[1])
        for f in files:
            kspec.check(f)
        kspec.to_source(files[-1], "functional")
        kspec.to_source(files[-1], "subclass")
        bad = sorted(m for m in sys.modules
                     if m.split(".")[0] in ("tensorflow", "keras", "kspec_canary_module"))
        print(json.dumps(bad))
        """
    )
    canary("imported_module").unlink(missing_ok=True)
    proc = subprocess.run(
        [sys.executable, "-c", script, json.dumps(files)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        timeout=HANG,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1]) == []
    assert not canary("imported_module").exists()


# -- the same results with and without libyaml ------------------------------------------------


def _load_codes(data: bytes, parser: Any) -> list[tuple[str, int, int]]:
    old = loader._Parser
    loader._Parser = parser
    try:
        _, diags = load_text(data)
    finally:
        loader._Parser = old
    return [(d.code, d.line, d.column) for d in diags]


@pytest.mark.skipif(not getattr(yaml, "__with_libyaml__", False), reason="no libyaml")
@pytest.mark.parametrize(
    "case",
    params(
        "parity",
        [
            c
            for c in CASES
            if not c.name.startswith(("huge_", "redos_flow"))
            and c.name not in ("deep_block_map_staircase",)
        ],
    ),
)
def test_libyaml_and_pure_python_agree(case: Case) -> None:
    """The loader gives the same diagnostics (code, line, column) with libyaml's parser and
    with PyYAML's pure-Python one, so a machine without libyaml is no weaker."""
    data = case.data()
    assert _load_codes(data, yaml.CSafeLoader) == _load_codes(data, yaml.SafeLoader)


# -- canaries are live: the payloads would work against a naive tool ------------------------


def test_canary_payloads_are_live(tmp_path: Path) -> None:
    """Control: the tag and expression payloads do create their canary under PyYAML's unsafe
    loader and under plain ``eval`` (so an absent canary means kspec refused them)."""
    target = tmp_path / "control"
    text = (HOSTILE / "tag_python_object_apply.yaml").read_text(encoding="utf-8")
    text = text.replace(str(canary("tag_python_object_apply")), str(target))
    script = "import sys, yaml; yaml.unsafe_load(open(sys.argv[1]).read())"
    spec = tmp_path / "control.yaml"
    spec.write_text(text, encoding="utf-8")
    subprocess.run([sys.executable, "-c", script, str(spec)], timeout=HANG, check=False)
    assert target.exists()
    target.unlink()
    doc = yaml.safe_load((HOSTILE / "expr_open.yaml").read_text(encoding="utf-8"))
    expr = doc["layers"][0]["units"][2:-1].replace(str(canary("expr_open")), str(target))
    eval(expr, {}).close()  # the control itself: what kspec must never do
    assert target.exists()


# -- valid specs carrying payloads: the generated code ---------------------------------------


def callee(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return callee(node.value) + "." + node.attr
    if isinstance(node, ast.Call):
        return callee(node.func) + "()"
    if isinstance(node, ast.Subscript):
        return callee(node.value) + "[]"
    return f"<{type(node).__name__}>"


def bound_names(tree: ast.AST) -> set[str]:
    """Every name the module binds itself (defs, classes, arguments, assignment targets)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            out.add(node.name)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.alias):
            out.add((node.asname or node.name).split(".")[0])
    return out


def _normal_callee(text: str, bound: set[str]) -> str:
    head, _, rest = text.partition(".")
    if head == "self":
        return "self.<attr>" + ("." + rest.split(".", 1)[1] if "." in rest else "")
    if head in bound and head != "tf":
        head = "<local>"
    text = head + ("." + rest if rest else "")
    for family in ("tf.keras.layers.", "tf.keras.optimizers.", "tf.keras.losses."):
        if text.startswith(family):
            return family + "<class>"
    if text.startswith("tf.keras.metrics."):
        return "tf.keras.metrics.<class>"
    return text


def _stmt_kinds(tree: ast.AST) -> set[str]:
    return {type(n).__name__ for n in ast.walk(tree) if isinstance(n, ast.stmt)}


def _target_shapes(tree: ast.AST) -> set[str]:
    shapes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    shapes.add("name")
                elif isinstance(t, ast.Attribute) and callee(t.value) == "self":
                    shapes.add("self.attr")
                elif isinstance(t, ast.Tuple) and all(isinstance(e, ast.Name) for e in t.elts):
                    shapes.add("names")
                else:
                    shapes.add(ast.dump(t)[:60])
    return shapes


@dataclass
class Allowlist:
    callees: set[str] = field(default_factory=set)
    free_names: set[str] = field(default_factory=set)
    statements: set[str] = field(default_factory=set)
    targets: set[str] = field(default_factory=set)
    dunder_attrs: set[str] = field(default_factory=set)


class _AsTf(ast.NodeTransformer):
    """Reads a module of ``--api keras`` (``import keras``, ``keras.layers.X``) as the same
    module of the default api (``import tensorflow as tf``, ``tf.keras.layers.X``), so one
    allowlist, learnt from both kinds of golden, covers both."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id != "keras":
            return node
        return ast.copy_location(ast.Attribute(ast.Name("tf", node.ctx), "keras", node.ctx), node)

    def visit_Import(self, node: ast.Import) -> ast.AST:
        if [ast.unparse(a) for a in node.names] == ["keras"]:
            return ast.copy_location(ast.Import([ast.alias("tensorflow", "tf")]), node)
        return node


def parse(source: str) -> ast.Module:
    """The module's tree, in the default api's spelling (see ``_AsTf``)."""
    return ast.fix_missing_locations(_AsTf().visit(ast.parse(source)))


def facts(source: str) -> Allowlist:
    tree = parse(source)
    bound = bound_names(tree)
    loaded = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    return Allowlist(
        callees={
            _normal_callee(callee(n.func), bound) for n in ast.walk(tree) if isinstance(n, ast.Call)
        },
        free_names=loaded - bound,
        statements=_stmt_kinds(tree),
        targets=_target_shapes(tree),
        dunder_attrs={
            n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr[:2] == "__"
        },
    )


def _allow_mask_reads(tree: ast.Module, f: Allowlist) -> None:
    """The one ``getattr`` kspec emits (``keep_masks``, kspec/compiler/helpers.py) reads a
    tensor's Keras mask: ``getattr(tensor, "_keras_mask", None)``, a constant attribute. Any
    other use of ``getattr`` stays in ``f`` (and is refused)."""
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "getattr"
    ]
    if calls and all(_is_mask_read(n) for n in calls):
        f.callees.discard("getattr")
        f.free_names.discard("getattr")


def _is_mask_read(call: ast.Call) -> bool:
    args = call.args
    return (
        len(args) == 3
        and not call.keywords
        and isinstance(args[0], ast.Name)
        and ast.unparse(args[1]) == "'_keras_mask'"
        and ast.unparse(args[2]) == "None"
    )


def golden_allowlist() -> Allowlist:
    """What kspec's generated code uses, learnt from the golden files (specs without
    ``imports:``; custom layer types are the only other callees a spec can add)."""
    allow = Allowlist()
    for path in sorted(GOLDEN.glob("*.py")):
        if path.name.startswith("custom_layer."):
            continue
        tree = parse(path.read_text(encoding="utf-8"))
        f = facts(path.read_text(encoding="utf-8"))
        _allow_mask_reads(tree, f)
        allow.callees |= f.callees
        allow.free_names |= f.free_names
        allow.statements |= f.statements
        allow.targets |= f.targets
        allow.dunder_attrs |= f.dunder_attrs
    # the functions expressions may call (kspec.spec.expressions.FUNCTIONS) stay calls
    from kspec.spec.expressions import FUNCTIONS

    allow.free_names |= set(FUNCTIONS)
    allow.callees |= set(FUNCTIONS)
    # compile: entries become Keras classes (kspec.compiler.lower.compile_value)
    allow.callees |= {f"tf.keras.{kind}.<class>" for kind in ("optimizers", "losses", "metrics")}
    # op nodes become calls of their keras.ops function (kspec.compiler.lower.op_call)
    allow.callees |= {f"tf.keras.ops.{name}" for name in OPS}
    return allow


ALLOW = golden_allowlist()
# kspec.compiler.helpers.write_keep_masks, as the goldens hold it (with --api keras it copies
# tensors by a Lambda of keras.ops.copy that hands the mask on)
KEEP_MASKS = {
    ast.dump(n)
    for path in sorted(GOLDEN.glob("*.py"))
    for n in parse(path.read_text(encoding="utf-8")).body
    if isinstance(n, ast.FunctionDef) and n.name == "keep_masks"
}


DEEP_IMPORTS = (
    ["import tensorflow as tf"],
    ["import contextlib", "import sys", "import tensorflow as tf"],
)


def _is_variants_table(node: ast.stmt) -> bool:
    """A spec's ``variants:`` become ``VARIANTS = {...}``: a literal of constants only."""
    targets = [ast.unparse(t) for t in node.targets] if isinstance(node, ast.Assign) else []
    if targets != ["VARIANTS"]:
        return False
    assert isinstance(node, ast.Assign)
    ast.literal_eval(node.value)  # raises on anything but a literal
    return isinstance(node.value, ast.Dict)


def check_generated(source: str, marker: str | None = None) -> bool:
    """The generated module has kspec's shape and nothing else; ``marker`` (the payload's
    canary path) appears only inside string constants. Returns whether it appears at all.
    A module of ``--api keras`` is read in the default api's spelling (``parse``)."""
    tree = parse(source)
    body = tree.body
    # top level: a docstring, `import tensorflow as tf` (a deep model's module: contextlib and
    # sys first, and its recursion limit), then only classes and functions
    assert isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    assert isinstance(body[0].value.value, str)
    imports = [n for n in body if isinstance(n, ast.Import | ast.ImportFrom)]
    assert [ast.unparse(n) for n in imports] in DEEP_IMPORTS
    assert body[1 : 1 + len(imports)] == imports
    rest = body[1 + len(imports) :]
    if len(imports) > 1:
        assert ast.unparse(rest[0]) == f"RECURSION_LIMIT = {RECURSION_LIMIT}"
        rest = rest[1:]
    for node in [n for n in rest if not _is_variants_table(n)]:
        assert isinstance(node, ast.FunctionDef | ast.ClassDef), ast.unparse(node)[:200]
    f = facts(source)
    _allow_mask_reads(tree, f)
    for what in ("callees", "free_names", "statements", "targets", "dunder_attrs"):
        extra = getattr(f, what) - getattr(ALLOW, what)
        assert not extra, f"generated code has {what} kspec never emits: {sorted(extra)}"
    helpers = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "keep_masks"]
    for helper in helpers:  # the one function that may make a Lambda: kspec's own, verbatim
        assert ast.dump(helper) in KEEP_MASKS, ast.unparse(helper)
    for node in ast.walk(tree):
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Attribute) and callee(func).startswith("tf.keras.layers."):
            assert func.attr in LAYERS or (func.attr == "Lambda" and helpers), callee(func)
        if isinstance(func, ast.Attribute) and callee(func).startswith("tf.keras.ops."):
            assert func.attr in OPS or func.attr == "copy", callee(func)  # copy: keep_masks
        if isinstance(node, ast.Constant):
            assert isinstance(node.value, str | int | float | bool | type(None)), node.value
            if isinstance(node.value, float):
                assert node.value == node.value and abs(node.value) != float("inf")
    assert "nan" not in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert "inf" not in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    if marker is None:
        return False
    constants = [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type != tokenize.STRING:
            assert marker not in tok.string, f"{marker} outside a string literal: {tok}"
    return any(marker in c for c in constants)


def test_allowlist_is_learnt_from_the_goldens() -> None:
    assert "tf.keras.layers.<class>" in ALLOW.callees
    assert "tf.keras.Model" in ALLOW.callees
    assert not {"eval", "exec", "open", "__import__", "os", "getattr"} & ALLOW.free_names
    for path in sorted(GOLDEN.glob("*.py")):
        if not path.name.startswith("custom_layer."):
            check_generated(path.read_text(encoding="utf-8"))


def test_generated_checker_catches_injections() -> None:
    """Control: the checker rejects the code a successful injection would produce."""
    good = (GOLDEN / "mnist_mlp.functional.py").read_text(encoding="utf-8")
    attacks = [
        good.replace("import tensorflow as tf", "import tensorflow as tf\nimport os"),
        good.replace(
            "def build_model",
            "__import__('os').system('touch /tmp/kspec_canary_x')\n\n\ndef build_model",
        ),
        good.replace('name="flatten"', "name=open('/tmp/kspec_canary_x').read()"),
        good.replace("import tensorflow as tf", "import tensorflow as tf\nX = eval('1')"),
        good + "\nprint('kspec_canary_x')\n",
    ]
    for attack in attacks:
        with pytest.raises(AssertionError):
            assert check_generated(attack, "kspec_canary_x")


VALID_CASES = [pytest.param(p, id=p.stem) for p in VALID_FILES]


@pytest.mark.parametrize("path", VALID_CASES)
def test_valid_payload_specs_compile_to_plain_strings(path: Path) -> None:
    """A payload in a description, a string param, a call argument or a compile: entry only
    ever becomes ``repr()`` of the string: the module is what kspec always generates."""
    marker = str(canary(path.stem))
    canary(path.stem).unlink(missing_ok=True)
    assert within(lambda: kspec.check(path), CHECK_FACTOR, f"kspec.check of {path.name}") == []
    emitted = [check_generated(kspec.to_source(path, target), marker) for target in TARGETS]
    assert any(emitted), f"{marker} was emitted by neither target"
    assert not canary(path.stem).exists()
    _no_canaries()


def test_file_name_and_param_override_payloads(tmp_path: Path) -> None:
    """The spec's file name and ``--param`` values reach the module docstring: only as
    escaped text."""
    name = 'x"""\nimport os; os.system(\'touch kspec_canary_file_name\') #.yaml'
    path = tmp_path / name
    path.write_text(
        BASE.replace("name: demo", "name: demo\nparams: {note: plain}"), encoding="utf-8"
    )
    marker = "kspec_canary_file_name"
    payload = '"""\nimport os\nos.system(\'touch ' + marker + "') #"
    for target in TARGETS:
        assert check_generated(kspec.to_source(path, target), marker)
        source = kspec.to_source(path, target, note=payload)
        assert check_generated(source, marker)
        assert payload in [
            n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant)
        ]
    _no_canaries()


# -- importing generated code under an audit hook ---------------------------------------------

_AUDIT: dict[str, Any] = {"on": False, "own": None, "events": []}
_INSTALLED: list[bool] = []
_WATCHED = (
    "exec",
    "compile",
    "import",
    "open",
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
    "socket.connect",
    "urllib.Request",
    "os.remove",
    "os.rename",
    "shutil.rmtree",
    "ctypes.dlopen",
    "pickle.find_class",
    "marshal.loads",
    "builtins.input",
    "webbrowser.open",
)


def _allowed_prefixes() -> tuple[str, ...]:
    import site
    import sysconfig

    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages()}
    paths |= {v for v in sysconfig.get_paths().values() if v}
    return (*(str(Path(p).resolve()) for p in paths), "/proc/", "/sys/", "/dev/")


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not _AUDIT["on"] or not event.startswith(_WATCHED):
        return
    if event == "exec" and args and args[0] is _AUDIT["own"]:
        return  # the module's own body, executed by exec_generated
    if event == "import":
        module = str(args[0])
        if module.split(".")[0] in ("tensorflow", "keras", "tf_keras", "numpy", "ml_dtypes"):
            return
    if event == "open":
        path, mode = args[0], str(args[1] or "r")
        if isinstance(path, int):
            return
        text = os.fsdecode(path)
        writes = any(c in mode for c in "wax+")
        if not writes and str(Path(text).resolve()).startswith(_AUDIT["prefixes"]):
            return
    _AUDIT["events"].append((event, repr(args)[:300]))


def exec_generated(source: str, name: str = "kspec_generated_under_audit") -> list[Any]:
    """Import generated ``source`` as a fresh module with the audit hook on; return the events
    it raised beyond the module's own imports (``import tensorflow as tf``)."""
    if not _INSTALLED:
        _AUDIT["prefixes"] = _allowed_prefixes()
        sys.addaudithook(_hook)  # stays installed: a no-op while _AUDIT["on"] is False
        _INSTALLED.append(True)
    code = compile(source, f"<{name}>", "exec")
    module = types.ModuleType(name)
    _AUDIT.update(on=True, own=code, events=[])
    try:
        exec(code, module.__dict__)
    finally:
        _AUDIT["on"] = False
    events = list(_AUDIT["events"])
    _AUDIT["events"] = []
    return events


@pytest.fixture(scope="module")
def tensorflow() -> Any:
    tf = pytest.importorskip("tensorflow")
    # warm up what generated modules touch at import time (lazy Keras imports), hook off
    for path in sorted(GOLDEN.glob("*.py")):
        if not path.name.startswith("custom_layer."):
            exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), {})
    return tf


@pytest.mark.tf
@pytest.mark.parametrize("path", VALID_CASES)
def test_importing_generated_code_runs_nothing(path: Path, tensorflow: Any) -> None:
    """Importing the module generated from a payload spec raises no exec, subprocess, file or
    import audit event beyond the module's own ``import tensorflow as tf``."""
    canary(path.stem).unlink(missing_ok=True)
    for target in TARGETS:
        events = exec_generated(kspec.to_source(path, target), f"gen_{path.stem}_{target}")
        assert events == [], events
    assert not canary(path.stem).exists()


@pytest.mark.tf
def test_audit_hook_sees_an_attack(tensorflow: Any, tmp_path: Path) -> None:
    """Control: the hook does record what a successful injection would do."""
    target = tmp_path / "control"
    source = (GOLDEN / "mnist_mlp.functional.py").read_text(encoding="utf-8")
    attack = source + f"\nopen({str(target)!r}, 'w').close()\nexec('1')\nimport colorsys\n"
    sys.modules.pop("colorsys", None)
    events = {e for e, _ in exec_generated(attack)}
    assert {"open", "exec", "import"} <= events


# -- determinism ----------------------------------------------------------------------------

SPECS_WITH_GOLDENS = [
    p
    for p in sorted((ROOT / "examples").glob("*.yaml"))
    + sorted((ROOT / "tests/specs/good").glob("*.yaml"))
    if (GOLDEN / f"{p.stem}.functional.py").exists()
]
_COMPILE_ALL = textwrap.dedent(
    """
    import json, sys
    from kspec import cli
    specs, out = json.loads(sys.argv[1]), sys.argv[2]
    for spec in specs:
        stem = spec.rsplit("/", 1)[1][: -len(".yaml")]
        for target in ("functional", "subclass"):
            assert cli.main(["compile", spec, "-t", target, "-o", f"{out}/{stem}.{target}.py"]) == 0
    """
)


def _locale_available(name: str) -> bool:
    proc = subprocess.run(
        [sys.executable, "-c", "import locale; locale.setlocale(locale.LC_ALL, '')"],
        env={**os.environ, "LC_ALL": name},
        capture_output=True,
        timeout=HANG,
    )
    return proc.returncode == 0


ENVIRONMENTS = [
    *[
        pytest.param({"PYTHONHASHSEED": str(seed)}, False, id=f"hashseed{seed}")
        for seed in range(5)
    ],
    pytest.param({"PYTHONHASHSEED": "random"}, True, id="other-cwd"),
    pytest.param({"LC_ALL": "C"}, False, id="LC_ALL=C"),
    pytest.param({"LC_ALL": "C.UTF-8"}, False, id="LC_ALL=C.UTF-8"),
    pytest.param(
        {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "TZ": "Pacific/Kiritimati"},
        True,
        id="ascii-locale-no-coercion",
    ),
]


@pytest.mark.parametrize(("env", "elsewhere"), ENVIRONMENTS)
def test_golden_sources_are_byte_identical(
    env: dict[str, str], elsewhere: bool, tmp_path: Path
) -> None:
    """Compiled in a fresh process, whatever the hash seed, working directory, locale or time
    zone, every golden source comes out byte for byte the same."""
    if "LC_ALL" in env and env["LC_ALL"] != "C" and not _locale_available(env["LC_ALL"]):
        pytest.skip(f"locale {env['LC_ALL']} not available")
    out = tmp_path / "out"
    out.mkdir()
    cwd = tmp_path if elsewhere else ROOT
    specs = [str(p) for p in SPECS_WITH_GOLDENS]
    full_env = {**os.environ, **env}
    for key in ("LANG", "LANGUAGE") if "LC_ALL" in env else ():
        full_env.pop(key, None)
    proc = subprocess.run(
        [sys.executable, "-c", _COMPILE_ALL, json.dumps(specs), str(out)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=HANG,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for spec in SPECS_WITH_GOLDENS:
        for target in TARGETS:
            name = f"{spec.stem}.{target}.py"
            assert (out / name).read_bytes() == (GOLDEN / name).read_bytes(), name


# -- nothing lost: an interrupted write leaves the old file ----------------------------------

_KILL_DURING_WRITE = textwrap.dedent(
    """
    import os, signal, sys
    import kspec.files
    from kspec import cli
    where, spec, out = sys.argv[1], sys.argv[2], sys.argv[3]
    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)
    if where == "replace":
        kspec.files.os.replace = die
    elif where == "fsync":
        kspec.files.os.fsync = die
    elif where == "raise":
        def fail(*args, **kwargs):
            raise OSError(28, "No space left on device")
        kspec.files.os.replace = fail
    sys.exit(cli.main(["compile", spec, "-o", out]))
    """
)


@pytest.mark.parametrize("where", ["fsync", "replace", "raise"])
def test_interrupted_compile_leaves_the_old_file(where: str, tmp_path: Path) -> None:
    """SIGKILL just before the rename (or before fsync), or an error from the rename: the old
    output is byte-identical afterwards. After a SIGKILL at most one temporary
    ``.model.py.<random>.tmp`` remains beside it (nobody is left to remove it); after an error
    none does."""
    out = tmp_path / "model.py"
    old = b"# the previous output: it must survive\n" * 100
    out.write_bytes(old)
    spec = ROOT / "examples" / "mnist_mlp.yaml"
    proc = subprocess.run(
        [sys.executable, "-c", _KILL_DURING_WRITE, where, str(spec), str(out)],
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    if where == "raise":
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
    else:
        assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr)
    assert out.read_bytes() == old
    strays = sorted(p.name for p in tmp_path.iterdir() if p.name != "model.py")
    if where == "raise":
        assert strays == []
    else:
        assert len(strays) <= 1, strays
        assert all(re.fullmatch(r"\.model\.py\..+\.tmp", s) for s in strays), strays


def test_check_flag_never_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``compile --check``: up to date -> 0, stale -> 1 with a diff, missing -> 1; the file's
    content and mtime never change and a missing file is not created."""
    spec = str(ROOT / "examples" / "mnist_mlp.yaml")
    out = tmp_path / "model.py"
    golden = (GOLDEN / "mnist_mlp.subclass.py").read_text(encoding="utf-8")
    for content, expected in ((golden, 0), (golden.replace("256", "128"), 1), ("", 1)):
        out.write_text(content, encoding="utf-8")
        os.utime(out, ns=(1_000_000_000, 1_000_000_000))
        capsys.readouterr()
        assert cli.main(["compile", spec, "-o", str(out), "--check"]) == expected
        assert out.read_text(encoding="utf-8") == content
        assert out.stat().st_mtime_ns == 1_000_000_000
        if expected:
            assert "@@" in capsys.readouterr().out or not content
    out.unlink()
    assert cli.main(["compile", spec, "-o", str(out), "--check"]) == 1
    assert not out.exists()
    assert sorted(tmp_path.iterdir()) == []


# -- scale --------------------------------------------------------------------------------------


def _chain_spec() -> Callable[[int], str]:
    spec = importlib.util.spec_from_file_location(
        "kspec_bench_make_spec", ROOT / "bench" / "make_spec.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.chain_spec  # type: ignore[no-any-return]


def _check_and_compile(path: Path) -> float:
    """CPU seconds (not wall: other processes on the machine do not count) to check, load and
    compile both targets."""
    import gc

    gc.collect()
    start = time.process_time()
    assert kspec.check(path) == []
    spec = kspec.load(path)
    for target in TARGETS:
        source = kspec.to_source(spec, target)
        assert source.count("\n") > len(spec.graph.nodes)
    return time.process_time() - start


def test_large_specs_grow_linearly(tmp_path: Path) -> None:
    """3,000 and 10,000 layers check and compile (both targets) without RecursionError, and the
    time per layer at 10,000 is within 2x of that at 1,000 (a growth guard, not a benchmark;
    the best of interleaved runs, in CPU time)."""
    chain_spec = _chain_spec()
    paths = {}
    for n in (1000, 3000, 10_000):
        paths[n] = tmp_path / f"chain_{n}.yaml"
        paths[n].write_text(chain_spec(n), encoding="utf-8")
    _check_and_compile(paths[3000])
    small, large = [], []
    for _ in range(2):
        small += [_check_and_compile(paths[1000]) / 1000 for _ in range(2)]
        large.append(_check_and_compile(paths[10_000]) / 10_000)
    assert min(large) <= 2 * min(small), (
        f"{min(large) * 1e3:.3f} ms/layer at 10,000 vs {min(small) * 1e3:.3f} at 1,000"
    )


# the 3,000-layer chain built with Keras, standalone: tests/test_agreement.py


# -- YAML 1.2 scalars in valid specs --------------------------------------------------------


def test_yaml12_scalars_in_a_valid_spec() -> None:
    """`1e-6` is a float, `no`/`on` are strings, quoted numbers stay strings, `0o17` is 15: the
    generated code says exactly that."""
    text = BASE.replace(
        "units: 4",
        "units: 0o17\n    use_bias: true\n  - name: drop\n    type: Dropout\n    rate: 1e-6",
    ).replace("outputs: hidden", "outputs: drop")
    text = text.replace("name: demo", "name: demo\ndescription: no\nparams: {mode: on, n: '64'}")
    assert kspec.check_text(text) == []
    spec = kspec.loads(text)
    assert spec.description == "no"
    for target in TARGETS:
        source = kspec.to_source(spec, target)
        check_generated(source)
        assert "units=15" in source and "rate=1e-06" in source and "use_bias=True" in source
        assert 'mode="on"' in source and 'n="64"' in source


# -- limits are what the docs say --------------------------------------------------------------


def test_security_doc_names_tests_that_exist() -> None:
    doc = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    names = set(re.findall(r"`(?:test_fuzz\.py::)?(test_\w+)", doc))
    assert len(names) >= 10
    defined = set()
    for module in ("test_hostile.py", "test_fuzz.py"):
        text = (ROOT / "tests" / module).read_text(encoding="utf-8")
        defined |= set(re.findall(r"^def (test_\w+)", text, flags=re.MULTILINE))
    assert names <= defined, sorted(names - defined)


def test_limits_match_the_docs() -> None:
    from kspec.spec import expressions

    doc = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    for value in (MAX_BYTES, MAX_DEPTH, MAX_NODES, scalars.MAX_INT_DIGITS):
        assert f"{value:,}" in doc or str(value) in doc, value
    for value in (expressions.MAX_SOURCE, expressions.MAX_DEPTH, expressions.MAX_LEN):
        assert f"{value:,}" in doc or str(value) in doc, value


def test_max_bytes_can_be_raised_and_lowered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(BASE, encoding="utf-8")
    assert cli.main(["check", "--max-bytes", "50", str(path)]) == 1
    assert "KS003" in capsys.readouterr().err
    assert kspec.check(path, limits=loader.Limits(max_bytes=50))[0].code == "KS003"
    assert kspec.check(path, limits=loader.Limits(max_depth=2))[0].code == "KS002"
    assert kspec.check(path) == []


# -- regular expressions in kspec: none backtracks badly on 10 kB ------------------------------

PROBES = [
    "a" * 10_000 + "!",
    "_" * 10_000 + "[",
    "a[" + "1" * 10_000,
    "$" + "{" * 10_000,
    "${" + "}" * 10_000 + "\n",
    "${" + "x" * 10_000,
    "[" * 10_000 + "x",
    "[" + " " * 10_000 + "${",
    "[" * 10_000 + "' ${",
    ": ${" + "a" * 10_000,
    "," + " " * 10_000 + "a" * 10_000 + "[",
    "1" * 10_000 + "x",
    "0x" + "f" * 10_000 + "g",
    "." + "1" * 10_000 + "e",
    "a." * 5_000 + "!",
    "\t" * 10_000 + "x",
]


def _patterns() -> list[tuple[str, re.Pattern[str], bool]]:
    """(name, pattern, searched) for every regex of kspec's modules and schema. ``searched``:
    whether it is used with ``search`` (unanchored; jsonschema searches schema patterns) rather
    than ``match``/``fullmatch`` only."""
    import inspect
    import pkgutil

    from kspec.schemas import build

    found: dict[str, tuple[re.Pattern[str], bool]] = {}
    for info in pkgutil.walk_packages(kspec.__path__, "kspec."):
        if info.name.endswith("__main__"):
            continue
        try:
            module = importlib.import_module(info.name)
            source = inspect.getsource(module)
        except Exception:  # pragma: no cover - an optional module that needs TensorFlow
            continue
        for attr, value in vars(module).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                searched = re.search(rf"\b{attr}\.(search|sub|findall|finditer|split)\(", source)
                found[f"{info.name}.{attr}"] = (value, bool(searched))

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "pattern" and isinstance(v, str):
                    found[f"schema{where}"] = (re.compile(v), True)
                else:
                    walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")

    walk(build.build(editor=True), "")
    for attr in ("NAME_PATTERN", "REF_PATTERN", "EXPR_PATTERN"):
        found[f"build.{attr}"] = (re.compile(getattr(build, attr)), True)
    unique: dict[tuple[str, bool], tuple[str, re.Pattern[str], bool]] = {}
    for name, (pattern, searched) in found.items():
        unique.setdefault((pattern.pattern, searched), (name, pattern, searched))
    return sorted(unique.values(), key=lambda item: item[0])


REDOS_BUGS: dict[str, str] = {}  # pattern -> reason, for known quadratic patterns (none)


@pytest.mark.parametrize(
    ("pattern", "searched"),
    [
        pytest.param(
            p,
            searched,
            id=name,
            marks=[pytest.mark.xfail(reason=REDOS_BUGS[name], strict=True)]
            if name in REDOS_BUGS
            else [],
        )
        for name, p, searched in _patterns()
    ],
)
def test_no_regex_backtracks_on_10kb(pattern: re.Pattern[str], searched: bool) -> None:
    """Every regular expression in kspec's modules and schema, used the way kspec and
    jsonschema use it (``search`` or ``match``) on adversarial 10 kB strings, answers in well
    under REGEX_FACTOR times the reference workload (tests/timing.py)."""

    def use(probe: str) -> None:
        if searched:
            pattern.search(probe)
        pattern.match(probe)

    for probe in PROBES:
        within(
            lambda probe=probe: use(probe),
            REGEX_FACTOR,
            f"{pattern.pattern!r} on {probe[:20]!r}...",
        )
