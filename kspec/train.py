"""``kspec fit``: build, compile, fit and evaluate a spec's model on arrays from an .npz file.

The .npz layout is Keras' MNIST one: ``x_train``, ``y_train``, ``x_test``, ``y_test``. A model
with several inputs reads ``x_train_<input>`` / ``x_test_<input>`` for each input name; one
with named outputs reads ``y_train_<output>`` / ``y_test_<output>``. Files are read with
``allow_pickle=False``: an .npz cannot carry code.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from kspec.api import Target, build_model
from kspec.compiler.runtime import deep_call
from kspec.diagnostics import Diagnostic, KspecError
from kspec.distribute import Plan, plan
from kspec.spec.ir import Dict, Spec


def _error(message: str, path: str, hint: str | None = None) -> KspecError:
    return KspecError([Diagnostic("KS904", message, path=path, hint=hint)])


def load_arrays(spec: Spec, path: str) -> tuple[Any, Any, Any, Any]:
    """(x_train, y_train, x_test, y_test) shaped for ``spec``'s inputs and outputs."""
    import numpy as np

    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise _error(f"cannot read {path} as an .npz file: {exc}", path) from None
    keys = set(data.files)
    inputs = [i.name for i in spec.graph.inputs]
    outputs = [k for k, _ in spec.graph.outputs] if spec.graph.outputs_form == "mapping" else None

    def arrays(prefix: str, names: list[str] | None) -> Any:
        if names is None or (len(names) == 1 and prefix in keys):
            if prefix not in keys:
                raise _error(
                    f"{path} has no array {prefix!r} (it has {', '.join(sorted(keys))})",
                    path,
                    "the layout is Keras' MNIST one: x_train, y_train, x_test, "
                    "y_test (see docs/tutorial.md)",
                )
            value = data[prefix]
            return {names[0]: value} if names and prefix.startswith("y") else value
        missing = [f"{prefix}_{n}" for n in names if f"{prefix}_{n}" not in keys]
        if missing:
            raise _error(
                f"{path} has no array {missing[0]!r}",
                path,
                f"a model with several {'inputs' if prefix[0] == 'x' else 'outputs'} "
                f"reads {prefix}_<name> for each of: {', '.join(names)}",
            )
        return {n: data[f"{prefix}_{n}"] for n in names}

    x_names = inputs if len(inputs) > 1 else None
    return (
        arrays("x_train", x_names),
        arrays("y_train", outputs),
        arrays("x_test", x_names),
        arrays("y_test", outputs),
    )


def with_compile(
    spec: Spec, optimizer: str | None, loss: str | None, metrics: list[str] | None
) -> Spec:
    """``spec`` with its ``compile:`` section overridden by command-line names."""
    items = dict(spec.compile.items) if spec.compile is not None else {}
    if optimizer:
        items["optimizer"] = optimizer
    if loss:
        items["loss"] = loss
    if metrics is not None:
        items["metrics"] = tuple(metrics)
    if "loss" not in items:
        raise _error(
            f"{spec.source} has no compile: section with a loss, and none was given",
            spec.source,
            "add compile: {optimizer: adam, loss: ..., metrics: [...]} to "
            "the spec, or pass --loss (and --optimizer, --metrics)",
        )
    items.setdefault("optimizer", "adam")
    return replace(spec, compile=Dict(tuple(items.items())))


def fit(
    spec: Spec,
    data: str,
    *,
    target: Target = "functional",
    epochs: int = 3,
    batch_size: int = 32,
    validation_split: float = 0.0,
    save: str | None = None,
    verbose: int | str = "auto",
    allow_imports: tuple[str, ...] | list[str] = (),
    distribute: str | None = None,
    seed: int | None = None,
    shuffle: bool = True,
    history: str | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    **build: Any,
) -> dict[str, float]:
    """Fit on ``data``'s train arrays, evaluate on its test arrays; return loss and metrics.
    ``build``: more keywords of :func:`kspec.build_model` (``weights``, ``partial``,
    ``freeze``, ``on_weights``): fine-tuning from pretrained weights, with frozen layers.
    ``distribute``: a strategy of :mod:`kspec.distribute` (``batch_size`` is then the global
    batch; ``on_plan`` receives the plan); ``seed`` seeds Keras' random draws;
    ``history``: write the losses and metrics per epoch there (json; the chief only, unless
    the path has ``{task}``, which each worker replaces with its index)."""
    x_train, y_train, x_test, y_test = load_arrays(spec, data)
    chosen = plan(distribute, batch_size)
    if on_plan is not None:
        on_plan(chosen)
    if seed is not None:
        import keras

        keras.utils.set_random_seed(seed)
    with chosen.scope():
        model = build_model(spec, target, allow_imports=allow_imports, compiled=True, **build)
        loop = _loop(chosen, model, batch_size)
        started = time.perf_counter()
        per_epoch = loop.fit(
            x_train,
            y_train,
            epochs=epochs,
            shuffle=shuffle,
            seed=seed,
            validation_split=validation_split,
            verbose=verbose,
        )
        seconds = time.perf_counter() - started
        results = loop.evaluate(x_test, y_test)
    if history and (chosen.chief or "{task}" in history):
        path = history.replace("{task}", str(chosen.task))
        _write_history(path, per_epoch, chosen, model, seconds)
    if save and chosen.chief:
        _save_atomic(model, save)
    return {k: float(v) for k, v in results.items()}


class _KerasFit:
    """Keras' own ``fit`` and ``evaluate`` (one device, or a strategy they support)."""

    def __init__(self, model: Any, batch_size: int) -> None:
        self.model, self.batch_size = model, batch_size

    def fit(self, x: Any, y: Any, *, seed: int | None, **options: Any) -> dict[str, list[float]]:
        # seed: set before the model was built (keras.utils.set_random_seed)
        return dict(self.model.fit(x, y, batch_size=self.batch_size, **options).history)

    def evaluate(self, x: Any, y: Any) -> dict[str, float]:
        return dict(self.model.evaluate(x, y, verbose=0, return_dict=True))


def _loop(chosen: Plan, model: Any, batch_size: int) -> Any:
    """What trains ``model``: Keras' ``fit``, except under multi-worker, where it fails in
    Keras 3 (kspec/multiworker.py says how)."""
    if chosen.strategy == "multi-worker":
        from kspec.multiworker import Loop

        return Loop(chosen.runner, model, batch_size, chief=chosen.chief)
    return _KerasFit(model, batch_size)


def _write_history(
    path: str, per_epoch: dict[str, list[float]], chosen: Plan, model: Any, seconds: float
) -> None:
    """The losses and metrics per epoch, how the run was distributed, the training's wall
    seconds, and a digest of the trained weights (two runs that end with the same weights have
    the same digest)."""
    import numpy as np

    weights = [np.asarray(w, dtype="float64") for w in model.get_weights()]
    record = {
        "history": {k: [float(v) for v in vs] for k, vs in per_epoch.items()},
        "strategy": chosen.strategy,
        "engine": chosen.engine,
        "replicas": chosen.replicas,
        "workers": chosen.workers,
        "task": chosen.task,
        "global_batch": chosen.global_batch,
        "per_replica_batch": chosen.per_replica_batch,
        "fit_seconds": seconds,
        "weights_sha256": hashlib.sha256(b"".join(w.tobytes() for w in weights)).hexdigest(),
        "weights_sum_abs": float(sum(np.abs(w).sum() for w in weights)),
    }
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=2)
        fh.write("\n")


def _save_atomic(model: Any, path: str) -> None:
    """``model.save`` to a temporary file beside ``path``, then rename over it."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".kspec-", suffix=os.path.basename(path), dir=folder)
    os.close(fd)
    try:
        deep_call(lambda: model.save(tmp))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
