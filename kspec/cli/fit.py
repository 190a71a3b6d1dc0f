"""``kspec fit``: build, compile (the spec's ``compile:`` section or the flags), fit on an
``.npz`` data set, evaluate."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kspec import api
from kspec.backend import requested
from kspec.cli.common import (
    EXIT_OK,
    allowed,
    existing,
    failed,
    params,
    weights_options,
    with_backend,
    with_imports,
    with_params,
    with_target,
    with_weights,
)
from kspec.diagnostics import KspecError
from kspec.distribute import STRATEGIES, Plan


def add(sub: Any) -> None:
    f = sub.add_parser(
        "fit",
        help="train the model on an .npz data set and evaluate it",
        description="Build, compile with the spec's compile: section (or the flags), fit on "
        "x_train/y_train and evaluate on x_test/y_test.",
    )
    f.add_argument("spec", metavar="SPEC")
    f.add_argument(
        "--data",
        required=True,
        metavar="FILE.npz",
        help="arrays x_train, y_train, x_test, y_test (Keras' MNIST layout)",
    )
    f.add_argument("--epochs", type=int, default=3)
    f.add_argument("--batch-size", type=int, default=32)
    f.add_argument("--validation-split", type=float, default=0.0, metavar="F")
    f.add_argument("--save", metavar="MODEL.keras", help="save the trained model (atomically)")
    with_target(f)
    f.add_argument("--optimizer", help="override compile: optimizer (a Keras name)")
    f.add_argument("--loss", help="override compile: loss (a Keras name)")
    f.add_argument("--metrics", help="override compile: metrics, comma-separated")
    f.add_argument("--quiet", "-q", action="store_true", help="one line per epoch")
    f.add_argument(
        "--distribute",
        choices=STRATEGIES,
        help="data-parallel training: mirrored (local devices; tf.distribute.MirroredStrategy, "
        "or keras.distribution.DataParallel on jax) or multi-worker (the processes TF_CONFIG "
        "describes; tensorflow); --batch-size is then the global batch",
    )
    f.add_argument(
        "--cpu-devices",
        type=int,
        metavar="N",
        help="split the CPU into N logical devices (to try --distribute mirrored on one machine)",
    )
    f.add_argument("--seed", type=int, help="seed Keras' random draws (initial weights, dropout)")
    f.add_argument(
        "--no-shuffle", action="store_true", help="keep the training arrays in their order"
    )
    f.add_argument(
        "--history",
        metavar="FILE.json",
        help="write the loss and metrics per epoch, the batch sizes and a digest of the "
        "trained weights here (the chief only, unless FILE has {task}: each worker writes its "
        "own, {task} replaced by its index)",
    )
    with_weights(f)
    with_imports(f)
    with_params(f)
    with_backend(f)
    f.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kspec import distribute, train

    existing(args.spec)
    existing(args.data)
    plans: list[Plan] = []
    try:
        if args.cpu_devices:
            distribute.cpu_devices(args.cpu_devices)
        spec = api.load(args.spec, **params(args))
        spec = train.with_compile(
            spec, args.optimizer, args.loss, args.metrics.split(",") if args.metrics else None
        )
        results = train.fit(
            spec,
            args.data,
            target=args.target,
            epochs=args.epochs,
            batch_size=args.batch_size,
            validation_split=args.validation_split,
            save=args.save,
            allow_imports=allowed(args),
            verbose=2 if args.quiet else "auto",
            distribute=args.distribute,
            seed=args.seed,
            shuffle=not args.no_shuffle,
            history=args.history,
            on_plan=lambda chosen: _report_plan(chosen, plans),
            **weights_options(args),
        )
    except KspecError as exc:
        return failed(exc)
    print(f"backend: {requested()}")
    print("evaluation on the test arrays:")
    for key, value in results.items():
        print(f"  {key}: {value:.5f}")
    if args.save and plans and not plans[0].chief:
        print(f"worker {plans[0].task} trained; the chief saves the model", file=sys.stderr)
    elif args.save:
        print(f"saved the trained model to {args.save}", file=sys.stderr)
    return EXIT_OK


def _report_plan(chosen: Plan, plans: list[Plan]) -> None:
    plans.append(chosen)
    if chosen.strategy != "none":
        print(f"distributed: {chosen.describe()}", file=sys.stderr)
