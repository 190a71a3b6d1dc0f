"""``kspec check`` and ``kspec compile`` agree: a spec that check passes compiles, in both
targets, to source that parses, and builds (or Keras' objection comes back as a diagnostic
with a KS code); never an internal error.

Drawn from kspec.testing's valid specs, then mutated: an argument set to an edge value (0,
-1, null, "", a list of the wrong length, a string for a number...), a key dropped, the type
changed (to another layer, an empty or non-string type, a dotted name), ``inputs`` or
``repeat`` rewired. Most mutants fail the check (that is fine); the property is about the
ones that pass. The first regression cases are the nodes whose ``type`` is empty, null or a
number (check passed them; compile stopped with "internal error: SyntaxError").
"""

from __future__ import annotations

import ast
import copy
from typing import Any

import pytest

pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kspec
from kspec.codes import CODES
from kspec.diagnostics import KspecError, has_errors
from kspec.layers import LAYERS
from kspec.testing import dump, spec_dicts

EDGE_VALUES: list[Any] = [
    0, -1, 1, 2, 7, 10**6, 1.5, -0.5, 0.0, 1e-9, None, "", "x", "same", "valid", "causal",
    "relu", "channels_first", True, False, [], [0], [1], [1, 1], [3, 3, 3], [2, -1],
    [[1, 1], [0, 2]],
    {}, {"type": "HeNormal"}, {"type": "HeNormal", "seed": 3}, "$nope", "${1 // 1}",
]  # fmt: skip
TYPES: list[Any] = [*sorted(LAYERS)[::7], "Dense", "mylayers.Gated", "", None, 5]


def _nodes(spec: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = list(spec["layers"])
    for block in (spec.get("blocks") or {}).values():
        nodes += block["layers"]
    return [n for n in nodes if isinstance(n, dict)]


@st.composite
def mutants(draw: st.DrawFn) -> str:
    spec = copy.deepcopy(draw(spec_dicts(max_nodes=5)))
    for _ in range(draw(st.integers(1, 2))):
        node = draw(st.sampled_from(_nodes(spec)))
        op = draw(st.sampled_from(["argument", "argument", "drop", "type", "inputs", "repeat"]))
        layer = LAYERS.get(node.get("type")) if isinstance(node.get("type"), str) else None
        if op == "argument" and layer is not None and layer.args:
            node[draw(st.sampled_from(sorted(layer.args)))] = draw(st.sampled_from(EDGE_VALUES))
        elif op == "drop" and len(node) > 1:
            del node[draw(st.sampled_from(sorted(k for k in node if k != "name")))]
        elif op == "type" and "type" in node:
            node["type"] = draw(st.sampled_from(TYPES))
        elif op == "inputs":  # any node's name, its own included
            names = [n["name"] for n in _nodes(spec) if n.get("name") is not None]
            names = [n for n in names if isinstance(n, str)] or ["nowhere"]
            node["inputs"] = draw(st.sampled_from([*names, names[:2], names[-1:]]))
        elif op == "repeat" and "block" in node:
            node["repeat"] = draw(st.sampled_from([1, 2, 0, "$nope"]))
    return dump(spec)


def _check_passes(text: str) -> bool:
    """Whether ``kspec check`` accepts ``text`` (a crash of the checker fails the test)."""
    return not has_errors(kspec.check_text(text))


def _compile_or_report(text: str) -> list[str]:
    """The generated sources of both targets, each parsed; a KspecError must carry KS codes.
    Anything else raised is the bug this test is for."""
    sources = []
    for target in kspec.api.TARGETS:
        try:
            source = kspec.to_source(kspec.loads(text), target)
        except KspecError as exc:
            assert exc.diagnostics and all(d.code in CODES for d in exc.diagnostics)
            continue
        ast.parse(source)
        compile(source, f"<{target}>", "exec")
        sources.append(source)
    return sources


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(mutants())
def test_what_check_passes_compiles(text: str) -> None:
    if not _check_passes(text):
        return
    assert len(_compile_or_report(text)) == 2


@pytest.mark.tf
@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(mutants())
def test_what_check_passes_builds_or_is_reported(text: str) -> None:
    pytest.importorskip("tensorflow")
    if not _check_passes(text):
        return
    for target in kspec.api.TARGETS:
        try:
            kspec.build_model(kspec.loads(text), target)
        except KspecError as exc:  # Keras' objection, at the node it names (KS902)
            assert exc.diagnostics and all(d.code in CODES for d in exc.diagnostics)


NODE_TYPES = {"empty": "type: ", "null": "type: null", "number": "type: 5"}


@pytest.mark.parametrize("case", list(NODE_TYPES))
def test_node_type_not_a_name_is_reported_or_compiles(case: str) -> None:
    text = (
        "kspec: 1\nname: m\ninputs:\n  x: {shape: [4]}\nlayers:\n"
        f"  - {{name: out, {NODE_TYPES[case]}}}\noutputs: out\n"
    )
    if has_errors(kspec.check_text(text)):
        return  # reported: what the fixed checker does
    _compile_or_report(text)


def test_self_reference_is_reported() -> None:
    """A node that uses itself and a node written after it: check stopped with KeyError (in
    resolve._find_cycle) instead of reporting the cycle (KS203)."""
    text = (
        "kspec: 1\nname: m\ninputs:\n  x: {shape: [2]}\n  y: {shape: [4]}\nlayers:\n"
        "  - {name: z, type: Add, inputs: [z, b]}\n"
        "  - {name: b, type: Dense, units: 2, inputs: x}\n"
        "outputs: [z, b]\n"
    )
    assert "KS203" in [d.code for d in kspec.check_text(text)]


def test_list_for_a_boolean_is_reported() -> None:
    """A list where a boolean belongs: check stopped with TypeError (in validate._report)."""
    text = (
        "kspec: 1\nname: m\ninputs:\n  x: {shape: [null, 2]}\nlayers:\n"
        "  - {name: out, type: LSTM, units: 2, return_sequences: []}\noutputs: out\n"
    )
    assert "KS102" in [d.code for d in kspec.check_text(text)]
