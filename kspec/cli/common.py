"""What the commands share: exit statuses, ``--param`` values, the diagnostics report, the
options several commands take (``--allow-import``, ``--weights``, ``--param``)."""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import shlex
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from kspec.diagnostics import Diagnostic, KspecError, has_errors, write_report
from kspec.spec.loader import MAX_BYTES, load_text

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2

# codes that mean the environment or the command line, not the spec (exit status 2)
ENVIRONMENT = (
    *("KS901", "KS904", "KS907", "KS909", "KS910", "KS913"),
    *("KS916", "KS917", "KS918", "KS919"),  # backends and distribution
)


class UsageError(Exception):
    """A problem with the command line or the environment (exit status 2)."""


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused: checking a large spec makes hundreds of
    thousands of objects (none in reference cycles worth collecting), and scanning them again
    and again as they are made costs a tenth of a `kspec check`. Not for builds (Keras).
    The objects still alive afterwards are left out of later collections (``gc.freeze``):
    the first would otherwise scan them all."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def param(text: str) -> tuple[str, Any]:
    """``--param k=v``; ``v`` is read as a YAML 1.2 scalar or flow list (``128``, ``relu``,
    ``[3, 3]``), like a value in the spec."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    name, raw = text.split("=", 1)
    if not name.isidentifier():
        raise argparse.ArgumentTypeError(f"{name!r} is not a param name")
    doc, diags = load_text(raw or "''", "<--param>")
    if doc is None or has_errors(diags):
        msg = diags[0].message if diags else "invalid value"
        raise argparse.ArgumentTypeError(f"--param {name}: {msg}")
    if isinstance(doc.data, dict):
        raise argparse.ArgumentTypeError(f"--param {name}: a value must be a scalar or a list")
    return name, doc.data


def params(args: argparse.Namespace) -> dict[str, Any]:
    """The command's ``--param`` overrides, and its ``--variant`` as ``variant`` (the keyword
    the API functions take it by)."""
    out = dict(args.param or [])
    if "variant" in out:
        raise UsageError("--param variant=...: to choose a variant, use --variant NAME")
    if getattr(args, "variant", None) is not None:
        out["variant"] = args.variant
    return out


def param_flags(args: argparse.Namespace) -> str:
    """The ``--variant`` and ``--param`` options of this command, to repeat them in a message."""
    flags = [f" --variant {shlex.quote(args.variant)}"] if getattr(args, "variant", None) else []
    for name, value in args.param or []:
        text = value if isinstance(value, str) else json.dumps(value)
        flags.append(f" --param {shlex.quote(f'{name}={text}')}")
    return "".join(flags)


def _source_lines(diags: Sequence[Diagnostic]) -> dict[str, Sequence[str]]:
    """The lines of each file named by ``diags`` (for the caret display)."""
    out: dict[str, Sequence[str]] = {}
    for d in diags:
        if d.path not in out and os.path.isfile(d.path):
            try:
                with open(d.path, encoding="utf-8", errors="replace") as fh:
                    out[d.path] = fh.read(MAX_BYTES).splitlines()
            except OSError:
                out[d.path] = []
    return out


def report(diags: Sequence[Diagnostic], fmt: str = "text") -> None:
    """Diagnostics to stderr as text (with the source line and a caret), or to stdout as
    json, github or sarif."""
    write_report(diags, _source_lines(diags), fmt, sys.stdout if fmt != "text" else sys.stderr)


def failed(exc: KspecError) -> int:
    """Report ``exc``; its exit status."""
    report(exc.diagnostics)
    return EXIT_USAGE if any(d.code in ENVIRONMENT for d in exc.diagnostics) else EXIT_ERRORS


def existing(path: str) -> str:
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    return path


def allowed(args: argparse.Namespace) -> tuple[str, ...]:
    """The custom layer modules ``--allow-import`` permits."""
    return tuple(args.allow_import or ())


def weights_options(args: argparse.Namespace) -> dict[str, Any]:
    """``build_model`` keywords for --weights, --partial, --freeze (the report goes to stderr)."""
    if getattr(args, "partial", False) and not args.weights:
        raise UsageError("--partial needs --weights FILE")
    return {
        "weights": args.weights,
        "partial": getattr(args, "partial", False),
        "freeze": getattr(args, "freeze", None) or (),
        "on_weights": lambda report: sys.stderr.write(report.render()),
    }


# -- options several commands take ---------------------------------------------------------


def with_imports(sp: argparse.ArgumentParser, what: str = "") -> None:
    sp.add_argument(
        "--allow-import",
        action="append",
        metavar="MODULE",
        help=f"{what}allow importing this custom layer module (repeatable)",
    )


def with_weights(sp: argparse.ArgumentParser, freeze: bool = True) -> None:
    sp.add_argument(
        "--weights",
        metavar="FILE",
        help="load weights by layer name from FILE.keras, FILE.weights.h5, or "
        "module:function returning a Keras model (with --allow-import module); prints "
        "what matched on stderr, refuses shapes that differ",
    )
    sp.add_argument(
        "--partial",
        action="store_true",
        help="with --weights: load the layers that fit, leave layers whose shapes differ "
        "as initialised",
    )
    if freeze:
        sp.add_argument(
            "--freeze",
            nargs="+",
            action="extend",
            metavar="NAME",
            help="make these layers non-trainable: nodes, block instances (tower_2) or "
            "paths into them (tower_2/gate); put SPEC before this option",
        )


def with_params(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--param",
        "-p",
        action="append",
        type=param,
        metavar="NAME=VALUE",
        help="override a param's default (repeatable), e.g. --param units=128; on top of --variant",
    )
    sp.add_argument(
        "--variant",
        metavar="NAME",
        help="use the params of one of the spec's variants: (e.g. --variant s)",
    )


def with_target(sp: argparse.ArgumentParser, default: str = "functional") -> None:
    from kspec.api import TARGETS

    sp.add_argument("--target", "-t", choices=list(TARGETS), default=default)


def with_backend(sp: argparse.ArgumentParser, precision: bool = True) -> None:
    """``--backend`` (applied by ``main`` before Keras is imported) and ``--dtype-policy``."""
    from kspec.backend import BACKENDS

    sp.add_argument(
        "--backend",
        choices=BACKENDS,
        help="the Keras backend to run on (default: $KERAS_BACKEND, else tensorflow)",
    )
    if precision:
        from kspec.precision import POLICIES

        sp.add_argument(
            "--dtype-policy",
            choices=POLICIES,
            help="Keras' dtype policy while the model is built and run: mixed_float16 or "
            "mixed_bfloat16 compute in 16 bits with float32 weights",
        )
