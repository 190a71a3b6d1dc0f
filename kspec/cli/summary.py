"""``kspec summary``: Keras' ``model.summary()`` of the built model, or with ``--static`` the
same table worked out from the spec (TensorFlow not imported)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kspec import api
from kspec.cli.common import (
    EXIT_OK,
    UsageError,
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


def add(sub: Any) -> None:
    s = sub.add_parser(
        "summary",
        help="print the Keras summary of the built model (or, with --static, from the spec)",
        description="Build the model with Keras and print model.summary(). With --static, "
        "print the same table worked out from the spec without TensorFlow: layer names and "
        "types, statically inferred output shapes, parameter counts and multiply-adds (MACs "
        "per example; FLOPs = 2 x MACs) ('?' where they cannot be known without building).",
    )
    s.add_argument("spec", metavar="SPEC")
    with_target(s)
    s.add_argument(
        "--static",
        action="store_true",
        help="work the summary out from the spec; TensorFlow is not imported (the table is "
        "the same for both targets: they have the same layers and weights)",
    )
    s.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="with --static: a table (default) or JSON for scripts",
    )
    s.add_argument(
        "--variants",
        action="store_true",
        help="with --static: one line per variant of the spec (variants:) with its params, "
        "parameter count and multiply-adds",
    )
    with_weights(s)
    with_imports(s)
    with_params(s)
    with_backend(s)
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    existing(args.spec)
    if args.static:
        if args.weights:
            raise UsageError("--weights needs the built model: leave out --static")
        return _static(args)
    if args.format != "text":
        raise UsageError("--format json needs --static (Keras' own summary is text)")
    if args.variants:
        raise UsageError("--variants needs --static")
    try:
        model = api.build_model(
            args.spec,
            args.target,
            allow_imports=allowed(args),
            **weights_options(args),
            **params(args),
        )
    except KspecError as exc:
        return failed(exc)
    model.summary(print_fn=lambda line, **_: print(line))
    return EXIT_OK


def _static(args: argparse.Namespace) -> int:
    """``summary --static``: the summary from the spec alone (TensorFlow is not imported)."""
    from kspec.summary import render, static_summary, to_json

    if args.variants:
        return _variants(args)
    try:
        spec = api.load(args.spec, **params(args))
        summary = static_summary(spec, freeze=args.freeze or ())
    except KspecError as exc:
        return failed(exc)
    if args.format == "json":
        print(json.dumps(to_json(summary), indent=2))
    else:
        sys.stdout.write(render(summary))
    return EXIT_OK


def _variants(args: argparse.Namespace) -> int:
    """``summary --static --variants``: params, parameters and MACs of every variant."""
    from kspec.summary import render_variants, variant_rows, variants_json

    overrides = params(args)
    if "variant" in overrides:
        raise UsageError("--variants shows every variant: leave out --variant")
    try:
        spec = api.load(args.spec, **overrides)
        rows = variant_rows(spec, lambda name: api.load(args.spec, name, **overrides))
    except KspecError as exc:
        return failed(exc)
    if not spec.variants:
        print(f"{args.spec}: the spec has no variants:", file=sys.stderr)
    if args.format == "json":
        print(json.dumps(variants_json(rows), indent=2))
    else:
        sys.stdout.write(render_variants(rows))
    return EXIT_OK
