"""Proving the two targets train alike: ``kspec verify --train``, the tests and the property
tests share this.

The functional model's weights and random seed states (Dropout's, MultiHeadAttention's) are
copied into the subclass model; both are compiled alike (SGD with momentum, mean squared error
on every output, no XLA) and trained on the same data with the same global seed: one
``train_on_batch`` step, then one epoch of ``fit`` over a few batches, unshuffled. The loss of
the step, the loss of the epoch and every variable afterwards (weights, BatchNormalization's
moving statistics) must agree within ``TRAIN_TOLERANCE``.

What a layer draws at random in training (Dropout's masks, GaussianNoise) is the same in both
targets when each such layer is called once per step: both start from the same seed state and
draw in turn. A random layer *shared* by several nodes is called several times per step, and the
two targets may call it in a different order; their draws then differ. kspec does not hide
this: the comparison reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kspec.compiler.runtime import copy_weights, weight_map
from kspec.spec.ir import Spec

TRAIN_TOLERANCE = 1e-4  # absolute, on each loss and on every variable after the steps
LEARNING_RATE = 0.01
FIT_BATCHES = 3


@dataclass
class TrainAgreement:
    """What :func:`train_agreement` measured: each target's losses (the ``train_on_batch``
    step, then the ``fit`` epoch), and the largest differences."""

    losses: dict[str, list[float]] = field(default_factory=dict)
    loss_difference: float = 0.0
    weight_difference: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _batch_size(spec: Spec, default: int) -> int:
    fixed = {i.batch_size for i in spec.graph.inputs if i.batch_size is not None}
    return fixed.pop() if len(fixed) == 1 else default


def _targets(model: Any, x: Any, seed: int) -> Any:
    """Random float targets shaped like the model's outputs on ``x`` (same structure)."""
    import keras
    import numpy as np

    rng = np.random.default_rng(seed)
    outputs = model(x, training=False)
    return keras.tree.map_structure(
        lambda t: rng.standard_normal(tuple(t.shape)).astype("float32"), outputs
    )


def _train(model: Any, data: list[tuple[Any, Any]], batch: int, seed: int) -> list[float]:
    """Compile ``model`` and train it: one step on ``data[0]``, one epoch of fit on ``data[1]``."""
    import keras

    keras.utils.set_random_seed(seed)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum=0.9),
        loss="mse",
        jit_compile=False,
    )
    (x1, y1), (x2, y2) = data
    step = model.train_on_batch(x1, y1, return_dict=True)
    history = model.fit(x2, y2, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    return [float(step["loss"]), float(history.history["loss"][-1])]


def _largest_difference(a: Any, b: Any) -> tuple[float, str]:
    """The largest absolute difference between the two models' variables, and where."""
    import numpy as np

    wa, wb = weight_map(a), weight_map(b)
    worst, where = 0.0, ""
    for key, variables in wa.items():
        for va, vb in zip(variables, wb[key], strict=True):
            diff = float(np.max(np.abs(np.asarray(va) - np.asarray(vb)), initial=0.0))
            if not diff <= worst:  # NaN counts as the worst
                worst, where = diff, f"{'/'.join(key)} ({va.name})"
    return worst, where


def train_agreement(
    spec: Spec, functional: Any, subclass: Any, seed: int = 0, free: int = 3
) -> TrainAgreement:
    """Train both targets' models alike from the same state and compare them (see the module
    docstring). The models are changed: compiled, trained, and the subclass model's weights
    overwritten with the functional model's first. ``free``: the size of unknown input axes."""
    from kspec.verify import sample_inputs

    result = TrainAgreement()
    copy_weights(functional, subclass, states=True)
    batch = _batch_size(spec, 4)
    step_x = sample_inputs(spec, batch=batch, seed=seed + 1, free=free)
    fit_x = sample_inputs(spec, batch=batch * FIT_BATCHES, seed=seed + 2, free=free)
    data = [(step_x, _targets(functional, step_x, seed + 3))]
    data.append((fit_x, _targets(functional, fit_x, seed + 4)))
    for target, model in (("functional", functional), ("subclass", subclass)):
        result.losses[target] = _train(model, data, batch, seed)
    f, s = result.losses["functional"], result.losses["subclass"]
    result.loss_difference = max(abs(a - b) for a, b in zip(f, s, strict=True))
    if not result.loss_difference <= TRAIN_TOLERANCE:
        result.problems.append(
            f"training losses differ: functional {f}, subclass {s} "
            "(the train_on_batch step, then the fit epoch)"
        )
    result.weight_difference, where = _largest_difference(functional, subclass)
    if not result.weight_difference <= TRAIN_TOLERANCE:
        result.problems.append(
            f"after training, the weights differ by up to {result.weight_difference:.3g} "
            f"(at {where})"
        )
    return result
