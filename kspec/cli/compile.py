"""``kspec compile``: the Python source of a spec's model (``--check``: is a file up to date)."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path
from typing import Any

from kspec import api
from kspec.cli.common import (
    EXIT_ERRORS,
    EXIT_OK,
    UsageError,
    collector_paused,
    existing,
    param_flags,
    params,
    report,
    with_params,
)
from kspec.diagnostics import KspecError
from kspec.files import write_atomic
from kspec.spec import include


def add(sub: Any) -> None:
    k = sub.add_parser(
        "compile",
        help="generate Python source for a spec",
        description="Generate the Python source of a spec's model.",
    )
    k.add_argument(
        "spec",
        metavar="SPEC",
        nargs="+",
        help="spec file(s); with several, -o is a template: '{dir}/{stem}.py'",
    )
    k.add_argument(
        "--target",
        "-t",
        choices=list(api.TARGETS),
        default="subclass",
        help="subclass (a tf.keras.Model subclass, default) or functional",
    )
    k.add_argument(
        "--api",
        choices=list(api.APIS),
        default="tf",
        help="how the code names Keras: tf (import tensorflow as tf; tf.keras.Model, default) "
        "or keras (import keras: runs under KERAS_BACKEND=jax, torch or tensorflow)",
    )
    k.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write here (atomically), not stdout; {dir}, {stem}, {name} are the "
        "spec's folder, name without suffix, and file name",
    )
    k.add_argument(
        "--check",
        action="store_true",
        help="compare with FILE instead of writing: exit 1 and a diff if stale",
    )
    with_params(k)
    k.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    several = len(args.spec) > 1
    if args.check and not args.output:
        raise UsageError("--check needs -o FILE: the generated file to compare with")
    if several and not args.output:
        raise UsageError("with several specs, give -o a template such as '{dir}/{stem}.py'")
    status = EXIT_OK
    for spec in args.spec:
        existing(spec)
    skipped = include.fragments(args.spec)  # a block library or partial base: no module
    for spec in args.spec:
        if spec in skipped:
            print(
                f"{spec}: a fragment (block library or base), compiled with its specs",
                file=sys.stderr,
            )
            continue
        status = max(status, _compile_one(args, spec, _output_path(args.output, spec, several)))
    return status


def _output_path(template: str | None, spec: str, several: bool) -> str | None:
    """``-o`` for one spec, or a template for several: ``{dir}/{stem}.py``."""
    if template is None:
        return None
    if several and "{stem}" not in template:
        raise UsageError("with several specs, -o must be a template such as '{dir}/{stem}.py'")
    path = Path(spec)
    return template.format(dir=str(path.parent), stem=path.stem, name=path.name)


def _compile_one(args: argparse.Namespace, spec: str, output: str | None) -> int:
    try:
        with collector_paused():
            source = api.to_source(spec, args.target, api=args.api, **params(args))
    except KspecError as exc:
        report(exc.diagnostics)
        return EXIT_ERRORS
    if args.check:
        assert output is not None
        return _check_current(args, spec, output, source)
    if output:
        write_atomic(output, source)
        print(f"wrote {output} ({args.target} target, {args.api} api)", file=sys.stderr)
    else:
        sys.stdout.write(source)
    return EXIT_OK


def _check_current(args: argparse.Namespace, spec: str, output: str, source: str) -> int:
    """``--check``: exit 0 if ``output`` holds ``source``, else a diff and exit 1."""
    try:
        with open(output, encoding="utf-8") as fh:
            current = fh.read()
    except FileNotFoundError:
        current = ""
    if current == source:
        print(f"{output} is up to date", file=sys.stderr)
        return EXIT_OK
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        source.splitlines(keepends=True),
        f"{output} (on disk)",
        f"{output} (from {spec})",
    )
    sys.stdout.writelines(diff)
    print(
        f"{output} is stale: run `kspec compile {spec} --target {args.target}"
        f"{'' if args.api == 'tf' else ' --api ' + args.api}"
        f"{param_flags(args)} -o {output}`",
        file=sys.stderr,
    )
    return EXIT_ERRORS
