"""Indexing (``get_item``): the key forms, their static shapes against Keras' own, the errors at
the line, the emitted subscript, and ``x[:, 0]`` in an imported model."""

from __future__ import annotations

import json
from typing import Any

import pytest

import kspec
from kspec.layers import ShapeError, apply_op
from kspec.layers.base import Call
from kspec.layers.ops_index import key_data

N = None
KEYS: list[tuple[Any, tuple[Any, ...]]] = [
    ([":", 0], (N, 4, 6)),
    ([":", -1, "1:3"], (N, 2, 6)),
    (["...", "1:3", None], (N, 5, 4, 2, 1)),
    ([":", "::2"], (N, 3, 4, 6)),
    ([":", "-2:", "...", 0], (N, 2, 4)),
    ([None, ":", 1], (1, N, 4, 6)),
    (["..."], (N, 5, 4, 6)),
    ([":", "4:1:-1", "0:99"], (N, 3, 4, 6)),
    ([":", 1, 2, 3], (N,)),
]


@pytest.mark.parametrize(("key", "expected"), KEYS)
def test_static_shape(key: Any, expected: tuple[Any, ...]) -> None:
    assert apply_op(Call("get_item", {"key": key}, {"x": (N, 5, 4, 6)})) == [expected]


def test_a_single_item_key_and_unknown_sizes() -> None:
    assert apply_op(Call("get_item", {"key": 0}, {"x": (N, 5)})) == [(5,)]
    assert apply_op(Call("get_item", {"key": [":", "1:"]}, {"x": (N, N)})) == [(N, N)]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ([":", 5], "get_item index 5 is out of range for axis 1 of (None, 5, 4, 6) (size 5)"),
        ([":", -6], "get_item index -6 is out of range for axis 1"),
        ([":", 0, 0, 0, 0], "get_item's key indexes 5 axes of a rank-4 input (None, 5, 4, 6)"),
        (["...", "..."], "get_item's key has more than one '...'"),
    ],
)
def test_rule_errors(key: Any, message: str) -> None:
    with pytest.raises(ShapeError) as info:
        apply_op(Call("get_item", {"key": key}, {"x": (N, 5, 4, 6)}))
    assert info.value.code == "KS406"
    assert message in info.value.message and info.value.hint


CONTEXT = "kspec: 1\nname: m\ninputs:\n  x: {shape: [5, 4]}\nlayers:\n"


@pytest.mark.parametrize(
    ("key", "code"),
    [("[':', 9]", "KS406"), ("[':', '1:2:0']", "KS104"), ("[':', 'a:b']", "KS104"),
     ("[':', 0.5]", "KS104"), ("{a: 1}", "KS104"), ("[]", "KS109")],
)  # fmt: skip
def test_wrong_keys_are_reported_at_the_line(key: str, code: str) -> None:
    text = CONTEXT + f"  - {{name: o, op: get_item, inputs: x, key: {key}}}\noutputs: o\n"
    found = [(d.code, d.line) for d in kspec.check_text(text) if d.severity == "error"]
    assert found == [(code, 6)]


def test_both_targets_emit_the_subscript() -> None:
    text = CONTEXT + (
        "  - {name: a, op: get_item, inputs: x, key: [':', 0]}\n"
        "  - {name: b, op: get_item, inputs: x, key: ['...', '1:3', null]}\n"
        "  - {name: c, op: get_item, inputs: x, key: -1}\n"
        "outputs: [a, b, c]\n"
    )
    for target, indent in (("functional", "    "), ("subclass", "        ")):
        source = kspec.to_source(kspec.loads(text), target)
        assert f"{indent}a = x[:, 0]\n" in source
        assert f"{indent}b = x[..., 1:3, None]\n" in source
        assert f"{indent}c = x[-1]\n" in source


def test_python_keys_become_spec_data() -> None:
    assert key_data((slice(None), 0)) == [":", 0]
    assert key_data((Ellipsis, slice(1, 3), None)) == ["...", "1:3", None]
    assert key_data(slice(None, None, -1)) == "::-1"
    assert key_data(2) == 2


def python_key(key: list[Any]) -> tuple[Any, ...]:
    def item(k: Any) -> Any:
        if k == "...":
            return Ellipsis
        if isinstance(k, str):
            return slice(*(int(p) if p else None for p in k.split(":")))
        return k

    return tuple(item(k) for k in key)


@pytest.mark.tf
def test_static_shapes_and_outputs_match_keras() -> None:
    keras = pytest.importorskip("keras")
    import numpy as np

    layers = [
        {"name": f"k{i}", "op": "get_item", "inputs": "x", "key": key}
        for i, (key, _) in enumerate(KEYS)
    ]
    spec = kspec.loads(
        json.dumps(
            {
                "kspec": 1,
                "name": "keys",
                "inputs": {"x": {"shape": [5, 4, 6]}},
                "layers": layers,
                "outputs": [n["name"] for n in layers],
            }
        )
    )
    x = np.arange(2 * 5 * 4 * 6, dtype="float32").reshape(2, 5, 4, 6)
    for target in ("functional", "subclass"):
        model = kspec.build_model(spec, target)
        got = model(x)
        for (key, expected), out in zip(KEYS, got, strict=True):
            want = x[python_key(key)]
            assert np.array_equal(np.asarray(out), want), key
            assert tuple(2 if d is None else d for d in expected) == want.shape
    keras.backend.clear_session()


@pytest.mark.tf
def test_import_brings_back_indexing(tmp_path: Any) -> None:
    keras = pytest.importorskip("keras")
    import numpy as np

    x = keras.Input((5, 4), name="x")
    y = keras.layers.Dense(3, name="d")(x[:, 0])
    z = keras.layers.Dense(2, name="e")(x)[..., 1:, None]
    model = keras.Model(x, [y, z], name="indexing")
    from kspec.importer import to_spec

    text = to_spec(model)
    assert "op: get_item, key: [':', 0]}" in text
    assert "key: ['...', '1:', null]}" in text
    spec = kspec.loads(text)
    rebuilt = kspec.build_model(spec)
    from kspec.compiler.runtime import copy_weights

    copy_weights(model, rebuilt)
    data = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    for a, b in zip(model(data), rebuilt(data), strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    keras.backend.clear_session()
