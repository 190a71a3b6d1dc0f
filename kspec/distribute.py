"""``kspec fit --distribute``: data-parallel training on the engines Keras already runs on.

* ``mirrored`` on TensorFlow: ``tf.distribute.MirroredStrategy`` over the local devices (the
  GPUs, else the logical CPU devices ``--cpu-devices N`` makes); on JAX:
  ``keras.distribution.DataParallel`` over ``jax.devices()``.
* ``multi-worker`` on TensorFlow: ``tf.distribute.MultiWorkerMirroredStrategy`` over the
  processes ``TF_CONFIG`` describes (each runs the same command with its own ``TF_CONFIG``).

The model is built and compiled inside the strategy's scope; ``batch_size`` is the global batch
(split evenly across the replicas); only the chief (the first worker) writes files. PyTorch
has no distribution here (KS918). See docs/distributed.md.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kspec.backend import requested
from kspec.diagnostics import Diagnostic, KspecError

STRATEGIES = ("mirrored", "multi-worker")


@dataclass
class Plan:
    """A distribution strategy, ready to build a model in: its ``scope`` and its numbers."""

    strategy: str  # mirrored, multi-worker (or "none")
    engine: str  # what runs it: tf.distribute.MirroredStrategy, keras.distribution.DataParallel
    replicas: int
    global_batch: int
    workers: int = 1
    chief: bool = True  # the one process that writes checkpoints and files
    task: int = 0  # this worker's index in TF_CONFIG
    scope: Callable[[], contextlib.AbstractContextManager[Any]] = field(
        default=contextlib.nullcontext, repr=False
    )
    # the tf.distribute strategy object (multi-worker trains with it: kspec/multiworker.py)
    runner: Any = field(default=None, repr=False)

    @property
    def per_replica_batch(self) -> int:
        return self.global_batch // self.replicas

    def describe(self) -> str:
        where = f"{self.replicas} replica{'s' * (self.replicas != 1)}"
        if self.workers > 1:
            where += f" on {self.workers} workers"
        return (
            f"{self.strategy}: {self.engine} over {where}; global batch {self.global_batch}, "
            f"per replica {self.per_replica_batch}"
        )


def _error(code: str, message: str, hint: str) -> KspecError:
    return KspecError([Diagnostic(code, message, hint=hint)])


def cpu_devices(count: int) -> None:
    """Split the host CPU into ``count`` logical devices (before the backend starts): for
    TensorFlow ``tf.config.set_logical_device_configuration``, for JAX the XLA flag
    ``--xla_force_host_platform_device_count``."""
    if count < 1:
        raise ValueError("--cpu-devices must be at least 1")
    if requested() == "jax":
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()
        return
    if requested() != "tensorflow":
        raise _error(
            "KS918",
            f"--cpu-devices needs the tensorflow or jax backend; Keras runs on {requested()}",
            "run with --backend tensorflow or --backend jax",
        )
    from kspec.compiler.runtime import require_tensorflow

    tf = require_tensorflow()
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
    )


def plan(strategy: str | None, batch_size: int) -> Plan:
    """The plan for ``strategy`` (None: one device) on the backend Keras runs on."""
    if strategy is None:
        return Plan("none", "one device", 1, batch_size)
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    backend = requested()
    if backend == "tensorflow":
        made = _tensorflow(strategy, batch_size)
    elif backend == "jax" and strategy == "mirrored":
        made = _jax(batch_size)
    else:
        raise _error(
            "KS918",
            f"--distribute {strategy} is not available on the {backend} backend",
            "mirrored runs on tensorflow and jax, multi-worker on tensorflow (for JAX on "
            "several hosts see docs/distributed.md)",
        )
    if made.global_batch % made.replicas:
        raise _error(
            "KS919",
            f"the global batch {batch_size} does not split evenly across {made.replicas} replicas",
            f"use a --batch-size that is a multiple of {made.replicas}",
        )
    return made


def _tensorflow(strategy: str, batch_size: int) -> Plan:
    from kspec.compiler.runtime import require_tensorflow

    tf = require_tensorflow()
    if strategy == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
        s = tf.distribute.MirroredStrategy(devices)
        name = "tf.distribute.MirroredStrategy"
        return Plan(strategy, name, s.num_replicas_in_sync, batch_size, scope=s.scope)
    config = _tf_config()
    s = tf.distribute.MultiWorkerMirroredStrategy()
    workers = len(config["cluster"].get("worker", [])) + len(config["cluster"].get("chief", []))
    task = config["task"]
    chief = task["type"] == "chief" or (
        task["type"] == "worker" and task["index"] == 0 and "chief" not in config["cluster"]
    )
    name = "tf.distribute.MultiWorkerMirroredStrategy"
    return Plan(
        strategy,
        name,
        s.num_replicas_in_sync,
        batch_size,
        workers,
        chief,
        task["index"] + (task["type"] == "worker" and "chief" in config["cluster"]),
        s.scope,
        runner=s,
    )


def _tf_config() -> dict[str, Any]:
    """``TF_CONFIG``, checked enough that a mistake is a diagnostic, not a hang."""
    raw = os.environ.get("TF_CONFIG")
    hint = (
        'set TF_CONFIG on each worker: {"cluster": {"worker": ["host1:port", "host2:port"]}, '
        '"task": {"type": "worker", "index": 0}} (see docs/distributed.md)'
    )
    if not raw:
        raise _error("KS919", "--distribute multi-worker needs TF_CONFIG, which is not set", hint)
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"]
        task = config["task"]
        ok = isinstance(workers, list) and task["type"] in ("worker", "chief")
        ok = ok and isinstance(task["index"], int)
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise _error("KS919", "TF_CONFIG does not describe a cluster and this worker's task", hint)
    return dict(config)


def _jax(batch_size: int) -> Plan:
    import jax
    import keras

    devices = jax.devices()
    distribution = keras.distribution.DataParallel(devices=devices)

    @contextlib.contextmanager
    def scope() -> Iterator[None]:
        before = keras.distribution.distribution()
        keras.distribution.set_distribution(distribution)
        try:
            yield
        finally:
            keras.distribution.set_distribution(before)

    return Plan(
        "mirrored", "keras.distribution.DataParallel", len(devices), batch_size, scope=scope
    )
