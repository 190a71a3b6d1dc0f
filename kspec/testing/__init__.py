"""Hypothesis strategies that draw valid kspec specs, for fuzzing anything that consumes them.

``specs()`` draws the YAML text of a spec; ``spec_dicts()`` draws the plain mapping that text is
dumped from. Every drawn spec checks clean (``kspec.check_text`` reports no error) and builds in
both targets::

    import kspec
    from hypothesis import given
    from kspec.testing import specs

    @given(specs())
    def test_my_pipeline_handles_every_valid_spec(text):
        spec = kspec.loads(text)
        model = kspec.build_model(spec, target="functional")
        ...

    @given(specs(max_nodes=6, blocks=False))   # smaller graphs, no blocks
    def test_quick(text): ...

What the drawn specs use, across draws: Dense, Conv1D, Conv2D, SeparableConv2D, DepthwiseConv2D
(padding ``same``/``causal``), local and global pooling, Flatten, BatchNormalization,
LayerNormalization, Dropout, Activation, ReLU and other activation layers, Embedding (on
``int32`` inputs), LSTM/GRU/SimpleRNN (``return_sequences``, ``return_state``, ``node[i]``
references to the states, states fed to another RNN as ``initial_state`` through an ``inputs``
mapping), Bidirectional, TimeDistributed, MultiHeadAttention (``{query: a, value: b}``, with
``key``, or positional lists; causal masks and attention scores), the merge layers (Add,
Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot), RepeatVector, Permute,
Reshape, padding/cropping/up-sampling, several inputs, several outputs (a reference, a list or a
named mapping), ``share:`` nodes, blocks (with params, used with different param values, blocks
using blocks, several inputs and outputs, ``inputs`` given as a list or a mapping, ``repeat: N``
or ``repeat: $param`` when the block keeps its input shapes), model and block params with
``$param`` and ``${expr}`` expressions (also in input shapes and ``repeat``), implicit inputs (a
node without ``inputs``), nodes written out of order (references to later nodes), constant
``call:`` arguments, descriptions that need escaping, and names that are hostile to Python code
generators (``class``, ``lambda``, ``self``, ``tf``, ``inputs``, ``layers``, ``max``, ...) for
nodes, inputs, params, blocks, outputs and the model.

To run a built model on data: feed an unknown (``null``) size with :data:`UNKNOWN_DIM`, and an
``int32`` input with integers in ``[0, n)`` where ``n`` is the smallest ``input_dim`` of the
model's Embedding layers (int inputs feed only Embedding layers).

This package imports only hypothesis, yaml and kspec's own name rules (never TensorFlow). The
strategy keeps its own shape oracle (kspec/testing/_oracle.py), independent of kspec's layer
registry on purpose: the property tests compare what each one says.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import yaml
from hypothesis import strategies as st

from kspec.testing._graph import _Ctx, _Tensor
from kspec.testing._graph_steps import Graph
from kspec.testing._oracle import (
    _BASE,
    TT,
    Dim,
)
from kspec.testing._replay import _run_graph
from kspec.testing._settings import (
    _DESCRIPTIONS,
    _OUTPUTS_LIST_OF_ONE,
    FLOAT,
    HOSTILE_NAMES,
    INT,
    RESERVED_PARAMS,
    UNKNOWN_DIM,
)
from kspec.testing._values import _render

__all__ = [
    "HOSTILE_NAMES",
    "RESERVED_PARAMS",
    "UNKNOWN_DIM",
    "spec_dicts",
    "specs",
]


def _input_type(g: Graph) -> tuple[TT, list[Any]]:
    """A model input: its type and its spec shape (sizes may be params)."""
    kind = g.draw(st.integers(0, 3))
    spec: list[Any] = []

    def dim(lo: int, hi: int, unknown: bool = True) -> Dim:
        if unknown and g.chance(4):
            spec.append(None)
            return _BASE
        if g.chance(6):
            p = g.choose([q for q in g.params if q.kind == "size"] or [g.new_param("size")])
            spec.append(f"${p.name}")
            return int(g.env[p.name])
        n = g.draw(st.integers(lo, hi))
        spec.append(n)
        return n

    if kind == 0:
        return TT((dim(2, 8, unknown=False),)), spec
    if kind == 1:
        return TT((dim(3, 8), dim(2, 6, unknown=False))), spec
    if kind == 2:
        return TT((dim(4, 8), dim(4, 8), dim(1, 3, unknown=False))), spec
    return TT((dim(3, 8),), INT), spec


@st.composite
def spec_dicts(
    draw: Callable[..., Any],
    max_nodes: int = 12,
    max_inputs: int = 3,
    blocks: bool = True,
) -> dict[str, Any]:
    """Draw a valid kspec spec as a plain mapping (see :func:`specs` for the YAML text).

    ``max_nodes`` bounds the top-level steps drawn (a step adds one to three nodes; block
    bodies add a few more), ``max_inputs`` the model inputs, ``blocks`` allows blocks."""
    ctx = _Ctx(draw, max_blocks=3 if blocks else 0, max_depth=2 if blocks else 0)
    g = Graph(ctx, [], 0)
    n_inputs = draw(st.integers(1, max_inputs))
    inputs: list[tuple[str, TT, list[Any], str]] = []
    for _ in range(n_inputs):
        tt, shape = _input_type(g)
        name = g.fresh("in")
        inputs.append((name, tt, shape, tt.dtype))
    g.input_names = [n for n, *_ in inputs]
    g.pool = [_Tensor(n, tt, n) for n, tt, *_ in inputs]
    g.implicit = g.input_names[0] if n_inputs == 1 else None
    g.fill(draw(st.integers(1, max_nodes)), budget=max_nodes + 4)
    # outputs: every node nobody uses, and sometimes another tensor too
    outs = g.leaves()
    extra = [t for t in g.pool if t.owner not in g.input_names and t not in outs]
    if extra and g.chance(5):
        outs.append(g.choose(extra))
    form = draw(st.integers(0, 2))
    outputs: Any
    if form == 2 or (form == 1 and len(outs) == 1 and g.chance(3)):
        keys: list[str] = []
        for _ in outs:
            k = draw(st.integers(0, len(HOSTILE_NAMES)))
            key = HOSTILE_NAMES[k - 1] if k else f"out{len(keys) + 1}"
            if key in keys:
                key = f"out{len(keys) + 1}"
            keys.append(key)
        outputs = {k: t.ref for k, t in zip(keys, outs, strict=True)}
    elif len(outs) == 1 and not (_OUTPUTS_LIST_OF_ONE and form == 1 and g.chance(2)):
        outputs = outs[0].ref
    else:
        outputs = [t.ref for t in outs]
    # self-check: the whole graph replays to the same output types
    out_refs = (
        list(outputs.values())
        if isinstance(outputs, dict)
        else ([outputs] if isinstance(outputs, str) else outputs)
    )
    replay = _run_graph(
        g.input_names, [tt for _, tt, *_ in inputs], g.nodes, out_refs, g.env, ctx.blocks
    )
    if replay is None:
        raise AssertionError("kspec.testing drew an invalid model graph")
    g.shuffle()
    k = draw(st.integers(0, 2 * len(HOSTILE_NAMES)))
    spec: dict[str, Any] = {
        "kspec": 1,
        "name": HOSTILE_NAMES[k - 1] if 0 < k <= len(HOSTILE_NAMES) else "drawn_model",
    }
    if g.chance(4):
        spec["description"] = g.choose(_DESCRIPTIONS)
    if g.params:
        spec["params"] = {p.name: p.default for p in g.params}
    spec["inputs"] = {
        n: {"shape": shape, **({"dtype": dtype} if dtype != FLOAT else {})}
        for n, _, shape, dtype in inputs
    }
    if ctx.blocks:
        spec["blocks"] = {name: b.to_dict() for name, b in ctx.blocks.items()}
    spec["layers"] = [_render(n) for n in g.nodes]
    spec["outputs"] = outputs
    return spec


class _Dumper(yaml.SafeDumper):
    """PyYAML writes a value used twice as an anchor and an alias, which kspec refuses."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump(spec: Mapping[str, Any]) -> str:
    """YAML text for a spec mapping (flow style for the innermost mappings, like the examples)."""
    return yaml.dump(
        dict(spec),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=None,
        width=100,
        allow_unicode=True,
    )


def specs(max_nodes: int = 12, max_inputs: int = 3, blocks: bool = True) -> st.SearchStrategy[str]:
    """Draw the YAML text of a valid kspec spec.

    Every drawn spec passes ``kspec.check_text`` with no error and builds in both targets
    (``kspec.build_model(kspec.loads(text), target="functional" | "subclass")``); the targets
    have the same parameters, output structure and shapes and, with the same weights, outputs.
    Draws shrink toward one input, one Dense node and no params or blocks.

    Usage::

        from hypothesis import given
        from kspec.testing import specs

        @given(specs())
        def test_check_is_clean(text):
            assert not [d for d in kspec.check_text(text) if d.severity == "error"]
    """
    return spec_dicts(max_nodes=max_nodes, max_inputs=max_inputs, blocks=blocks).map(dump)
