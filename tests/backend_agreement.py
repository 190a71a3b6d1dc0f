"""Run by tests/test_backends.py in a subprocess with KERAS_BACKEND set (Keras fixes its
backend at its first import): build both targets of each spec given, copy the functional
model's weights into the subclass model, and print one json line per spec: parameter counts,
output shapes, the largest output difference (or the KS code Keras' refusal became)."""

from __future__ import annotations

import json
import sys

import kspec
from kspec import precision
from kspec.compiler.runtime import copy_weights
from kspec.diagnostics import KspecError
from kspec.verify import max_difference, sample_inputs


def agreement(path: str) -> dict[str, object]:
    spec = kspec.load(path)
    allow = tuple(spec.imports)
    try:
        f = kspec.build_model(spec, "functional", allow_imports=allow)
        s = kspec.build_model(spec, "subclass", allow_imports=allow)
    except KspecError as exc:
        return {"spec": path, "code": exc.diagnostics[0].code}
    copy_weights(f, s)
    x = sample_inputs(spec)
    outputs = [f(x, training=False), s(x, training=False)]
    return {
        "spec": path,
        "params": [f.count_params(), s.count_params()],
        "shapes": [list(t.shape) for t in f.outputs],
        "difference": float(max_difference(*outputs)),
        "tolerance": precision.tolerance(),
    }


def main(argv: list[str]) -> int:
    policy = None
    if argv and argv[0].startswith("--dtype-policy="):
        policy = argv.pop(0).split("=", 1)[1]
    with precision.using(policy):
        for path in argv:
            print(json.dumps(agreement(path)), flush=True)
    print(json.dumps({"tensorflow_imported": "tensorflow" in sys.modules}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
