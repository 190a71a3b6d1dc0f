"""``kspec check``: check spec files or folders and report every problem (never imports
TensorFlow, unless ``--build`` asks Keras too)."""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import Any

from kspec import api
from kspec.cli.common import (
    EXIT_ERRORS,
    EXIT_OK,
    UsageError,
    allowed,
    collector_paused,
    params,
    report,
    with_imports,
    with_params,
)
from kspec.diagnostics import Diagnostic, KspecError, has_errors
from kspec.files import find_specs
from kspec.spec import include
from kspec.spec.ir import Spec, describe
from kspec.spec.loader import MAX_BYTES, Limits


def add(sub: Any) -> None:
    c = sub.add_parser(
        "check",
        help="check specs (never imports TensorFlow)",
        description="Check spec files or folders and report every problem.",
    )
    c.add_argument("paths", nargs="+", metavar="PATH", help="spec files or folders")
    c.add_argument(
        "--format",
        choices=["text", "json", "github", "sarif"],
        default="text",
        help="text (default), json, github (workflow annotations) or sarif "
        "(SARIF 2.1.0 for code scanning)",
    )
    c.add_argument(
        "--shapes",
        action="store_true",
        help="also print every node's statically inferred output shape (no TensorFlow)",
    )
    c.add_argument(
        "--build",
        action="store_true",
        help="also build each clean spec with Keras (both targets) and report what Keras "
        "rejects, at the node it names (needs TensorFlow)",
    )
    with_imports(c, "with --build: ")
    c.add_argument(
        "--traceback",
        action="store_true",
        help="with --build: also show Keras' traceback when it rejects a model",
    )
    c.add_argument(
        "--max-bytes",
        type=int,
        default=MAX_BYTES,
        metavar="N",
        help=f"largest spec file accepted (default {MAX_BYTES:,})",
    )
    c.add_argument(
        "--stubs",
        action="append",
        metavar="FILE",
        help="check custom layers' arguments against the signatures in this stub file "
        "(written by `kspec stubs`; repeatable)",
    )
    c.add_argument(
        "--root",
        metavar="DIR",
        help="the folder the files a spec extends or includes must be in (default: the "
        "spec's own folder)",
    )
    c.add_argument("--quiet", "-q", action="store_true", help="no summary line when clean")
    with_params(c)
    c.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kspec.spec import stubs

    files, missing = find_specs(args.paths)
    if missing:
        raise UsageError("no such file or folder: " + ", ".join(missing))
    if not files:
        raise UsageError("no spec files (*.yaml, *.yml) found in " + ", ".join(args.paths))
    limits = Limits(max_bytes=args.max_bytes, root=args.root)
    skipped = include.fragments(files, limits)  # checked through the specs that use them
    files = [f for f in files if f not in skipped]
    overrides = params(args)
    variant = overrides.pop("variant", None)
    diags: list[Diagnostic] = []
    with stubs.using(stubs.read(args.stubs or [])):
        for path in files:
            with collector_paused():
                spec, found = api.analyze_file(path, overrides or None, limits, variant)
            if args.build and not has_errors(found):
                found += _build_diagnostics(path, {**overrides, "variant": variant}, args)
            if args.shapes and spec is not None and not has_errors(found):
                _print_shapes(path, spec)
            diags.extend(found)
    diags = _once(diags)
    report(diags, args.format)
    if args.format == "text" and (not args.quiet or has_errors(diags)):
        line = _summary_line(diags, len(files))
        if skipped and not files:
            line += " (only fragments given: block libraries or bases, checked through the specs "
            line += "that use them)"
        print(line, file=sys.stderr)
    return EXIT_ERRORS if has_errors(diags) else EXIT_OK


def _once(diags: list[Diagnostic]) -> list[Diagnostic]:
    """Each problem once: a base's, found through each of its children (and the base itself),
    is kept as first found."""
    seen: set[tuple[str, int, int, str, str]] = set()
    out = []
    for d in diags:
        key = (d.path, d.line, d.column, d.code, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def _summary_line(diags: list[Diagnostic], files: int) -> str:
    """``checked 3 files: 2 errors in 1 file, 1 warning``."""
    errors = sum(d.severity == "error" for d in diags)
    warnings = len(diags) - errors
    bad = len({d.path for d in diags if d.severity == "error"})
    noun = "file" if files == 1 else "files"
    line = f"checked {files} {noun}: "
    if errors:
        line += f"{errors} error{'s' * (errors != 1)} in {bad} {noun if bad != 1 else 'file'}"
    else:
        line += "no errors"
    return line + (f", {warnings} warning{'s' * (warnings != 1)}" if warnings else "")


def _print_shapes(path: str, spec: Spec) -> None:
    """``check --shapes``: every node's statically inferred output shape, as a table (from the
    walk the check made)."""
    from kspec.layers import format_shape

    table = spec.walk.shapes
    rows = [
        (i.name, "Input", format_shape(table.get((i.name,), [None])[0])) for i in spec.graph.inputs
    ]
    for node in spec.graph.nodes:
        kind = describe(node)
        shapes = table.get((node.name,)) or [None]
        rows.append((node.name, kind, ", ".join(format_shape(s) for s in shapes)))
    width = [max(len(r[k]) for r in rows) for k in range(2)]
    print(f"{path}:")
    for name, kind, shape in rows:
        print(f"  {name:<{width[0]}}  {kind:<{width[1]}}  {shape}")


def _build_diagnostics(
    path: str, overrides: dict[str, Any], args: argparse.Namespace
) -> list[Diagnostic]:
    """``check --build``: build both targets; Keras' objections become diagnostics."""
    for target in api.TARGETS:
        try:
            api.build_model(path, target, allow_imports=allowed(args), **overrides)
        except KspecError as exc:
            if args.traceback and exc.__cause__ is not None:
                traceback.print_exception(exc.__cause__)
            return exc.diagnostics  # the other target would say the same
    return []
