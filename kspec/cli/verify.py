"""``kspec verify``: build both targets and prove they agree (parameters, shapes, outputs with
shared weights, save/load; with ``--train``, training)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kspec import api
from kspec.cli.common import (
    EXIT_ERRORS,
    EXIT_OK,
    allowed,
    existing,
    failed,
    params,
    weights_options,
    with_backend,
    with_imports,
    with_params,
    with_weights,
)
from kspec.diagnostics import KspecError


def add(sub: Any) -> None:
    v = sub.add_parser(
        "verify",
        help="build both targets and prove they agree",
        description="Build the functional and subclass models, compare parameter counts and "
        "output shapes, outputs with shared weights, and both models' save/load round trip. "
        "Exit 1 on any difference.",
    )
    v.add_argument("spec", metavar="SPEC")
    with_weights(v, freeze=False)
    v.add_argument(
        "--train",
        action="store_true",
        help="also train both models alike (same weights, seeds, optimizer and batches: one "
        "train_on_batch step, then a short fit) and compare their losses and weights",
    )
    with_imports(v)
    with_params(v)
    with_backend(v)
    v.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kspec.verify import verify

    existing(args.spec)
    try:
        spec = api.load(args.spec, **params(args))
        result = verify(
            spec, allow_imports=allowed(args), train=args.train, **weights_options(args)
        )
    except KspecError as exc:
        return failed(exc)
    for target in api.TARGETS:
        shapes = ", ".join(str(s) for s in result.shapes[target])
        print(f"{target:>10}: {result.params[target]:,} parameters; outputs {shapes}")
    static = "agrees with the functional model, layer by layer"
    if result.static_problems:
        static = "DISAGREES with the functional model (below)"
    if result.static_unknown:
        static += f" (not counted statically: {', '.join(result.static_unknown)})"
    print(f"static summary (summary --static): {static}")
    print(f"max output difference with shared weights: {result.max_difference:.3g}")
    for name, difference in result.roundtrip.items():
        print(f"{name} save/load round trip: max difference {difference:.3g}")
    if result.train is not None:
        losses = result.train.losses
        print(
            f"training (train_on_batch, then fit): losses {_losses(losses['functional'])} "
            f"and {_losses(losses['subclass'])}; weights afterwards differ by up to "
            f"{result.train.weight_difference:.3g}"
        )
    for problem in result.problems:
        print(f"{args.spec}: error: {problem}", file=sys.stderr)
    print(
        "the targets agree" if result.ok else "the targets DISAGREE",
        file=sys.stderr if not result.ok else sys.stdout,
    )
    return EXIT_OK if result.ok else EXIT_ERRORS


def _losses(values: list[float]) -> str:
    return "/".join(f"{v:.6g}" for v in values)
