"""The training loop of ``kspec fit --distribute multi-worker``: Keras' own ``train_step`` and
``test_step`` run under ``tf.distribute.MultiWorkerMirroredStrategy`` by ``strategy.run``.

Why not ``model.fit``: in Keras 3 (3.15 with TensorFlow 2.21, and since Keras 3 replaced
tf.keras; tensorflow/tensorflow#72388), ``fit`` under this strategy fails twice: its symbolic
build averages the first distributed batch with ``strategy.reduce`` on a tuple of per-replica
values, which the collective strategy cannot convert to a tensor; and it reduces the scalar
metrics of every step with ``strategy.reduce("MEAN", v, axis=0)``, which has no axis 0. This
loop is the one TensorFlow's multi-worker guide describes for custom training, with Keras'
pieces inside it:

* the model, its optimizer, loss and metrics are built and compiled (from the spec's
  ``compile:`` section) in the strategy's scope by the caller;
* the data is a ``tf.data`` pipeline batched at the global batch, which
  ``experimental_distribute_dataset`` splits across the replicas of all workers (each worker
  keeps its part of every global batch: the batches a single process would see, in the same
  order); a shuffle is seeded alike on every worker; a last batch smaller than the number of
  replicas is left out;
* each step is ``strategy.run(model.train_step)``: Keras' loss (scaled by the replica count),
  gradients summed across replicas by the optimizer, metric updates;
* the metrics live in on-read variables that sum across replicas when read outside a replica,
  so ``model.get_metrics_result()`` after an epoch is the global loss and metrics (what
  single-process ``fit`` reports), read by every worker in the same order.
"""

from __future__ import annotations

from typing import Any

# every worker shuffles alike, with --seed or this one
DEFAULT_SHUFFLE_SEED = 0


def _dataset(
    tf: Any, x: Any, y: Any, batch: int, replicas: int, shuffle: bool, seed: int | None
) -> Any:
    """``x``, ``y`` in global batches; a last batch too small to give every replica an example
    is left out (a replica with no example would average its loss over none: NaN)."""
    count = len(tf.nest.flatten(x)[0])
    data = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        data = data.shuffle(count, seed=DEFAULT_SHUFFLE_SEED if seed is None else seed)
    if 0 < count % batch < replicas:
        data = data.take(count - count % batch)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.batch(batch).with_options(options)


def _split(x: Any, y: Any, fraction: float) -> tuple[Any, Any, Any, Any]:
    """Keras' ``validation_split``: the last ``fraction`` of the arrays, before shuffling."""
    import keras

    count = len(keras.tree.flatten(x)[0])
    cut = int(count * (1 - fraction))

    def head(v: Any) -> Any:
        return keras.tree.map_structure(lambda a: a[:cut], v)

    def tail(v: Any) -> Any:
        return keras.tree.map_structure(lambda a: a[cut:], v)

    return head(x), head(y), tail(x), tail(y)


class Loop:
    """Distributed ``fit`` and ``evaluate`` for a model compiled in ``strategy.scope()``."""

    def __init__(self, strategy: Any, model: Any, global_batch: int, *, chief: bool) -> None:
        import tensorflow as tf

        self.tf, self.strategy, self.model = tf, strategy, model
        self.global_batch, self.chief = global_batch, chief
        self._train = self._step(model.train_step)
        self._test = self._step(model.test_step)

    def _step(self, step: Any) -> Any:
        strategy = self.strategy

        @self.tf.function
        def run(batch: Any) -> None:
            strategy.run(step, args=(batch,))

        return run

    def _data(self, x: Any, y: Any, shuffle: bool, seed: int | None) -> Any:
        replicas = self.strategy.num_replicas_in_sync
        return _dataset(self.tf, x, y, self.global_batch, replicas, shuffle, seed)

    def _epoch(self, step: Any, data: Any) -> dict[str, float]:
        for metric in self.model.metrics:
            metric.reset_state()
        for batch in self.strategy.experimental_distribute_dataset(data):
            step(batch)
        return {k: float(v) for k, v in self.model.get_metrics_result().items()}

    def fit(
        self,
        x: Any,
        y: Any,
        *,
        epochs: int,
        shuffle: bool,
        seed: int | None,
        validation_split: float = 0.0,
        verbose: int | str = "auto",
    ) -> dict[str, list[float]]:
        """Train; the loss and metrics per epoch (``val_`` ones with ``validation_split``),
        like ``model.fit(...).history``; with ``verbose`` (not 0) the chief prints a line per
        epoch."""
        validation = None
        if validation_split:
            x, y, vx, vy = _split(x, y, validation_split)
            validation = self._data(vx, vy, False, None)
        train = self._data(x, y, shuffle, seed)
        history: dict[str, list[float]] = {}
        for epoch in range(epochs):
            logs = self._epoch(self._train, train)
            if validation is not None:
                logs.update({f"val_{k}": v for k, v in self._epoch(self._test, validation).items()})
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
            if verbose and self.chief:
                line = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
                print(f"Epoch {epoch + 1}/{epochs} - {line}", flush=True)
        return history

    def evaluate(self, x: Any, y: Any) -> dict[str, float]:
        """The loss and metrics on ``x``, ``y`` over every worker's part."""
        return self._epoch(self._test, self._data(x, y, False, None))
