"""Proving the two targets agree: the checks ``kspec verify``, the tests and the property tests
share. Builds both targets of a spec, compares parameter counts and output shapes, compares the
static summary (``kspec summary --static``) with the functional model layer by layer, copies the
functional model's weights into the subclass model, compares outputs on the same random input,
and round-trips both models through ``model.save`` / ``load_model`` (the generated module's
own ``load_model`` for a deep functional model). With ``train=True`` it also trains both alike
and compares losses and weights (:mod:`kspec.verify_train`).
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

from kspec.api import build_model, lower
from kspec.backend import source_api
from kspec.compiler.runtime import copy_weights, load_saved, require_keras
from kspec.precision import TOLERANCES, tolerance
from kspec.spec.ir import Spec
from kspec.spec.walk import walk
from kspec.summary import Summary, static_summary
from kspec.verify_train import TrainAgreement, train_agreement

TOLERANCE = TOLERANCES[None]  # without a dtype policy (see kspec.precision)


@dataclass
class Verification:
    """What ``verify`` measured. ``ok`` when every comparison agrees within ``TOLERANCE`` (under
    a dtype policy, ``kspec.precision.tolerance()``)."""

    params: dict[str, int] = field(default_factory=dict)
    shapes: dict[str, list[tuple[int | None, ...]]] = field(default_factory=dict)
    max_difference: float = 0.0
    roundtrip: dict[str, float] = field(default_factory=dict)  # target -> save/load difference
    train: TrainAgreement | None = None  # with train=True
    static_unknown: tuple[str, ...] = ()  # layers ``kspec summary --static`` cannot count
    static_problems: list[str] = field(default_factory=list)  # where it disagrees with Keras
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def roundtrip_difference(self) -> float | None:
        """The larger of the two targets' save/load differences (None without a round trip)."""
        return max(self.roundtrip.values()) if self.roundtrip else None


def _flat(value: Any) -> list[Any]:
    """Outputs as a flat list (dicts in key order, like keras.tree.flatten)."""
    if isinstance(value, dict):
        return [x for k in sorted(value) for x in _flat(value[k])]
    if isinstance(value, list | tuple):
        return [x for v in value for x in _flat(v)]
    return [value]


def sample_inputs(spec: Spec, batch: int = 2, seed: int = 0, free: int = 3) -> Any:
    """Random inputs for ``spec``'s model: a tensor, or a dict keyed by input name. Unknown
    sizes become ``free``; integer inputs stay below every Embedding's ``input_dim``."""
    import numpy as np

    from kspec.spec.expressions import Expr, evaluate

    rng = np.random.default_rng(seed)
    env = spec.params
    vocab = _smallest_vocab(spec)
    out = {}
    for inp in spec.graph.inputs:
        dims = [evaluate(d, env) if isinstance(d, Expr) else d for d in inp.shape]
        shape = [inp.batch_size or batch, *[free if d is None else d for d in dims]]
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
        if row.kind == "op":  # Keras names an op's operation itself; it has no weights
            continue
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
    """The largest |a - b| over the outputs (inf if their structures differ). A NaN in both
    at the same place agrees (an average over an axis of size 0 is NaN in both models); a NaN in
    one only is a difference of NaN."""
    import numpy as np

    fa, fb = _flat(a), _flat(b)
    if len(fa) != len(fb):
        return float("inf")
    diffs = []
    for x, y in zip(fa, fb, strict=True):
        xa, ya = np.asarray(x), np.asarray(y)
        if xa.shape != ya.shape:
            return float("inf")
        both = np.isnan(xa) & np.isnan(ya) if xa.dtype.kind == "f" else False
        diffs.append(float(np.max(np.where(both, 0.0, np.abs(xa - ya)), initial=0.0)))
    return max(diffs, default=0.0)


def roundtrip_outputs(lowered: Any, model: Any, x: Any) -> Any:
    """``model`` saved to a ``.keras`` file and loaded back the way a user of its module would
    (see :func:`kspec.compiler.runtime.load_saved`); its outputs on ``x``."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        loaded = load_saved(lowered, path)
    return loaded(x, training=False)


def _compare(result: Verification, spec: Spec, models: dict[str, Any], freeze: Any = ()) -> None:
    """Parameter counts, output shapes and the static summary."""
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
    result.static_problems = static_disagreements(summary, models["functional"])
    result.problems += [f"kspec summary --static disagrees: {p}" for p in result.static_problems]
    result.static_unknown = summary.unknown


def verify(
    spec: Spec,
    roundtrip: bool = True,
    allow_imports: tuple[str, ...] | list[str] = (),
    train: bool = False,
    **options: Any,
) -> Verification:
    """Build both targets of ``spec`` and compare them (see the module docstring).
    ``options``: more keywords of :func:`kspec.build_model` for the functional model, such as
    ``weights`` (its weights are copied into the subclass model) and ``freeze``."""
    require_keras()
    result = Verification()
    api = source_api()
    lowered = {t: lower(spec, t, api=api) for t in ("functional", "subclass")}
    freeze = options.get("freeze", ())
    models = {
        "functional": build_model(spec, "functional", allow_imports=allow_imports, **options),
        "subclass": build_model(spec, "subclass", allow_imports=allow_imports, freeze=freeze),
    }
    functional, subclass = models["functional"], models["subclass"]
    _compare(result, spec, models, freeze)
    copy_weights(functional, subclass)
    x = sample_inputs(spec)
    outputs = {t: m(x, training=False) for t, m in models.items()}
    y_functional, y_subclass = outputs["functional"], outputs["subclass"]
    if type(y_functional) is not type(y_subclass) or (
        isinstance(y_functional, dict) and set(y_functional) != set(y_subclass)
    ):
        result.problems.append(
            f"output structures differ: {type(y_functional).__name__} vs "
            f"{type(y_subclass).__name__}"
        )
    result.max_difference = max_difference(y_functional, y_subclass)
    if not result.max_difference <= tolerance():
        result.problems.append(
            f"outputs differ by up to {result.max_difference:.3g} with the same weights"
        )
    for target, model in models.items() if roundtrip else ():
        result.roundtrip[target] = max_difference(
            outputs[target], roundtrip_outputs(lowered[target], model, x)
        )
        if not result.roundtrip[target] <= tolerance():
            result.problems.append(
                f"the saved and reloaded {target} model differs by {result.roundtrip[target]:.3g}"
            )
    if train:
        result.train = train_agreement(spec, functional, subclass)
        result.problems += result.train.problems
    return result
