"""The quick validity check (kspec.spec.quick_schema) never says valid where jsonschema finds an
error, for every schema the checker uses; and checking a clean spec does not import jsonschema."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kspec.layers import LAYERS, OPS
from kspec.spec import validate
from kspec.spec.loader import load_file
from kspec.spec.quick_schema import is_valid

ROOT = Path(__file__).resolve().parent.parent
VALUES: list[Any] = [
    *(0, 1, -1, 3, 64, 64.0, 0.5, -0.5, 1e9, True, False, None),
    *("", "x", "relu", "same", "glorot_uniform", "channels_last", "float32", "mean"),
    *([], [1], [3, 3], [None, 3], [2, 2, 2], {}, {"a": 1}),
    {"type": "HeNormal", "seed": 1},
    {"type": "L2", "l2": 0.01},
    (1, 2),  # not JSON: the quick check is unsure, jsonschema decides
]


def _nodes() -> list[dict[str, Any]]:
    found = []
    for path in sorted(ROOT.glob("examples/**/*.yaml")):
        doc, _ = load_file(str(path))
        layers = doc.data.get("layers") if doc is not None else None
        found += [n for n in layers or [] if isinstance(n, dict)]
    return found


def _agrees(kind: str, value: Any) -> bool:
    """False only if the quick check says valid where jsonschema has an error."""
    schema = validate._schema(kind)
    return not is_valid(schema, value, schema) or not list(
        validate._validator(kind).iter_errors(value)
    )


@pytest.mark.parametrize("kind", ["layer", "nested"])
def test_never_valid_where_jsonschema_has_errors(kind: str) -> None:
    rng = random.Random(kind)
    nodes, types = _nodes(), sorted(LAYERS)
    for _ in range(3000):
        node = dict(rng.choice(nodes))
        t = node["type"] if node.get("type") in LAYERS and rng.random() < 0.7 else rng.choice(types)
        node["type"] = t
        for _ in range(rng.randint(0, 3)):
            key = rng.choice([*LAYERS[t].args, *node, "x"])
            node[key] = rng.choice(VALUES)
        node.pop("inputs", None)
        if kind == "nested":
            node.pop("name", None)
        assert _agrees(f"{kind}.{t}", node), node


def test_ops_and_other_kinds() -> None:
    rng = random.Random(0)
    for op in sorted(OPS):
        for _ in range(20):
            value = {k: rng.choice(VALUES) for k in rng.sample(sorted(OPS[op].params), 1)}
            assert _agrees(f"op.{op}", {"name": "n", "op": op, **value}), (op, value)
    for kind in ("share_node", "block_node", "name", "node_inputs", "input", "compile"):
        for value in VALUES:
            assert _agrees(kind, value), (kind, value)


def test_the_top_level() -> None:
    rng = random.Random(1)
    for path in sorted(ROOT.glob("examples/**/*.yaml")):
        doc, _ = load_file(str(path))
        assert doc is not None
        assert _agrees("top", doc.data), path
        for _ in range(30):
            data = dict(doc.data)
            data[rng.choice([*data, "extra"])] = rng.choice(VALUES)
            assert _agrees("top", data), (path, data)


def test_a_clean_check_does_not_import_jsonschema() -> None:
    code = (
        "import sys, kspec; diags = kspec.check(sys.argv[1]); "
        "print(len(diags), 'jsonschema' in sys.modules)"
    )
    spec = str(ROOT / "examples" / "mnist_mlp.yaml")
    out = subprocess.run([sys.executable, "-c", code, spec], capture_output=True, text=True)
    assert out.stdout.split() == ["0", "False"], out.stderr
