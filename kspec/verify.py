"""Proving the two targets agree: the checks ``kspec verify``, the tests and the property tests
share. Builds both targets of a spec, compares parameter counts and output shapes, compares the
static summary (``kspec summary --static``) with the functional model layer by layer, copies the
functional model's weights into the subclass model, compares outputs on the same random input,
and round-trips the subclass model through ``model.save`` / ``keras.models.load_model``.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

from kspec.api import build_model
from kspec.compiler.runtime import copy_weights, deep_call, require_tensorflow
from kspec.spec.ir import Spec
from kspec.spec.walk import walk
from kspec.summary import Summary, static_summary

TOLERANCE = 1e-5


@dataclass
class Verification:
    """What ``verify`` measured. ``ok`` when every comparison agrees within ``TOLERANCE``."""

    params: dict[str, int] = field(default_factory=dict)
    shapes: dict[str, list[tuple[int | None, ...]]] = field(default_factory=dict)
    max_difference: float = 0.0
    roundtrip_difference: float | None = None
    static_unknown: tuple[str, ...] = ()  # layers ``kspec summary --static`` cannot count
    static_problems: list[str] = field(default_factory=list)  # where it disagrees with Keras
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _flat(value: Any) -> list[Any]:
    """Outputs as a flat list (dicts in key order, like keras.tree.flatten)."""
    if isinstance(value, dict):
        return [x for k in sorted(value) for x in _flat(value[k])]
    if isinstance(value, list | tuple):
        return [x for v in value for x in _flat(v)]
    return [value]


def sample_inputs(spec: Spec, batch: int = 2, seed: int = 0) -> Any:
    """Random inputs for ``spec``'s model: a tensor, or a dict keyed by input name. Unknown
    sizes become 3; integer inputs stay below every Embedding's ``input_dim``."""
    import numpy as np

    from kspec.spec.expressions import Expr, evaluate

    rng = np.random.default_rng(seed)
    env = spec.params
    vocab = _smallest_vocab(spec)
    out = {}
    for inp in spec.graph.inputs:
        dims = [evaluate(d, env) if isinstance(d, Expr) else d for d in inp.shape]
        shape = [inp.batch_size or batch, *[3 if d is None else d for d in dims]]
        if inp.dtype.startswith(("int", "uint")):
            out[inp.name] = rng.integers(0, vocab, size=shape).astype(inp.dtype)
        elif inp.dtype == "bool":
            out[inp.name] = rng.integers(0, 2, size=shape).astype(bool)
        else:
            out[inp.name] = rng.standard_normal(shape).astype(inp.dtype)
    return next(iter(out.values())) if len(out) == 1 else out


def _smallest_vocab(spec: Spec) -> int:
    """The smallest ``input_dim`` of the Embedding layers the model builds (each block
    instance's with the params it is given), from the checker's walk."""
    found = spec.walk or walk(spec)
    dims = [2**31 - 1]
    for call in found.calls:
        if call.first and call.call.type in ("Embedding", "ReversibleEmbedding"):
            value = call.call.args.get("input_dim")
            if isinstance(value, int) and not isinstance(value, bool):
                dims.append(value)
    return min(dims)


def output_shapes(spec: Spec, model: Any) -> list[tuple[int | None, ...]]:
    """The model's output shapes, from a call on fresh symbolic inputs (a subclass model has
    no ``outputs`` attribute); dict outputs in key order."""
    import keras

    from kspec.spec.expressions import Expr, evaluate

    symbolic = {}
    for inp in spec.graph.inputs:
        shape = tuple(evaluate(d, spec.params) if isinstance(d, Expr) else d for d in inp.shape)
        symbolic[inp.name] = keras.Input(
            shape=shape, dtype=inp.dtype, batch_size=inp.batch_size, name=inp.name
        )
    # a list in the spec's input order: both targets accept it (Keras matches a *symbolic*
    # dict to a Functional model's inputs by sorted key, not by name)
    x = next(iter(symbolic.values())) if len(symbolic) == 1 else list(symbolic.values())
    return [tuple(t.shape) for t in _flat(model(x))]


def _weights(weights: Any) -> int:
    return sum(math.prod(w.shape) for w in weights)


def static_disagreements(summary: Summary, model: Any) -> list[str]:
    """Where ``summary`` (``kspec summary --static``) disagrees with the built functional
    ``model``: each row's layer type, output shapes and weight counts (trainable and not), and
    the totals. What the static summary leaves unknown (``?``) is not a disagreement."""
    import keras

    problems = []
    for row in summary.rows:
        layer = model.get_layer(row.name)
        static_type = row.type.rsplit(".", 1)[-1]  # a custom layer's module.Class
        same = getattr(keras.layers, static_type, None) is type(layer)  # public names
        if row.kind != "block" and not same and static_type != type(layer).__name__:
            problems.append(f"{row.name}: static type {row.type}, Keras {type(layer).__name__}")
        output = layer.output
        shapes = [
            tuple(t.shape) for t in (output if isinstance(output, list | tuple) else [output])
        ]
        known = [s for s in row.shapes if s is not None]
        if known and (
            len(row.shapes) != len(shapes)
            or any(s is not None and s != k for s, k in zip(row.shapes, shapes, strict=False))
        ):
            problems.append(f"{row.name}: static output shapes {row.shapes}, Keras {shapes}")
        keras_count = (_weights(layer.trainable_weights), _weights(layer.non_trainable_weights))
        if row.count is not None and row.count != keras_count:
            problems.append(
                f"{row.name}: static weights {row.count} (trainable, non-trainable), Keras "
                f"{keras_count}"
            )
    totals = (_weights(model.trainable_weights), _weights(model.non_trainable_weights))
    if not summary.unknown and summary.total != totals:
        problems.append(f"total weights: static {summary.total}, Keras {totals}")
    return problems


def max_difference(a: Any, b: Any) -> float:
    import numpy as np

    fa, fb = _flat(a), _flat(b)
    if len(fa) != len(fb):
        return float("inf")
    diffs = [
        float(np.max(np.abs(np.asarray(x) - np.asarray(y)), initial=0.0))
        for x, y in zip(fa, fb, strict=True)
    ]
    return max(diffs, default=0.0)


def verify(
    spec: Spec,
    roundtrip: bool = True,
    allow_imports: tuple[str, ...] | list[str] = (),
    **build: Any,
) -> Verification:
    """Build both targets of ``spec`` and compare them (see the module docstring).
    ``build``: more keywords of :func:`kspec.build_model` for the functional model, such as
    ``weights`` (its weights are copied into the subclass model)."""
    require_tensorflow()
    import keras

    result = Verification()
    functional = build_model(spec, "functional", allow_imports=allow_imports, **build)
    freeze = build.get("freeze", ())
    subclass = build_model(spec, "subclass", allow_imports=allow_imports, freeze=freeze)
    models = {"functional": functional, "subclass": subclass}
    for target, model in models.items():
        result.params[target] = int(model.count_params())
        result.shapes[target] = output_shapes(spec, model)
    if result.params["functional"] != result.params["subclass"]:
        result.problems.append(
            f"parameter counts differ: functional {result.params['functional']:,}, "
            f"subclass {result.params['subclass']:,}"
        )
    if result.shapes["functional"] != result.shapes["subclass"]:
        result.problems.append(
            f"output shapes differ: functional {result.shapes['functional']}, "
            f"subclass {result.shapes['subclass']}"
        )
    summary = static_summary(spec, freeze=freeze)
    result.static_problems = static_disagreements(summary, functional)
    result.problems += [f"kspec summary --static disagrees: {p}" for p in result.static_problems]
    result.static_unknown = summary.unknown
    copy_weights(functional, subclass)
    x = sample_inputs(spec)
    y_functional = functional(x, training=False)
    y_subclass = subclass(x, training=False)
    if type(y_functional) is not type(y_subclass) or (
        isinstance(y_functional, dict) and set(y_functional) != set(y_subclass)
    ):
        result.problems.append(
            f"output structures differ: {type(y_functional).__name__} vs "
            f"{type(y_subclass).__name__}"
        )
    result.max_difference = max_difference(y_functional, y_subclass)
    if not result.max_difference <= TOLERANCE:
        result.problems.append(
            f"outputs differ by up to {result.max_difference:.3g} with the same weights"
        )
    if roundtrip:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, f"{spec.name}.keras")
            deep_call(lambda: subclass.save(path))
            loaded = deep_call(lambda: keras.models.load_model(path))
        result.roundtrip_difference = max_difference(y_subclass, loaded(x, training=False))
        if not result.roundtrip_difference <= TOLERANCE:
            result.problems.append(
                "the saved and reloaded subclass model differs by "
                f"{result.roundtrip_difference:.3g}"
            )
    return result
