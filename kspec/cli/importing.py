"""``kspec import`` (a spec for an existing Keras model) and ``kspec stubs`` (custom layer
signatures for ``check --stubs``)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kspec import api
from kspec.cli.common import (
    EXIT_ERRORS,
    EXIT_OK,
    EXIT_USAGE,
    allowed,
    existing,
    report,
    with_backend,
    with_imports,
)
from kspec.diagnostics import KspecError, has_errors
from kspec.files import write_atomic


def add(sub: Any) -> None:
    m = sub.add_parser(
        "import",
        help="write a spec for an existing Keras Functional or Sequential model",
        description="Write a readable spec for a Functional or Sequential model: a .keras file "
        "(loaded in Keras' safe mode) or module:function returning a model (naming it is your "
        "permission to import the module). Nested models become blocks, keras.ops calls op "
        "nodes, and structure that repeats (named alike, e.g. conv2_block1, conv2_block2; or, "
        "where Keras made the names up, the same layers one after another) becomes blocks.",
    )
    m.add_argument("model", metavar="MODEL", help="model.keras, or module:function")
    m.add_argument("--output", "-o", metavar="SPEC.yaml", help="write here (atomically)")
    m.add_argument("--name", help="the spec's name (default: the model's)")
    m.add_argument(
        "--flat",
        action="store_true",
        help="one node per layer: do not group repeated structure into blocks",
    )
    with_imports(m)
    with_backend(m, precision=False)
    m.set_defaults(func=run_import)

    t = sub.add_parser(
        "stubs",
        help="write custom layer signatures for `kspec check --stubs`",
        description="Import custom layer modules (with your permission) and write the "
        "constructor signatures of their layer classes to a stub file, so that `kspec check "
        "--stubs FILE` checks the arguments of those layers without importing anything.",
    )
    t.add_argument("modules", nargs="+", metavar="MODULE", help="custom layer modules")
    t.add_argument("--output", "-o", metavar="FILE.json", help="write here (atomically)")
    with_imports(t)
    t.set_defaults(func=run_stubs)


def run_import(args: argparse.Namespace) -> int:
    """Write a spec for an existing Keras Functional or Sequential model."""
    from kspec import importer
    from kspec.importer.emit import render

    if args.model.endswith(".keras"):
        existing(args.model)
    allow = list(allowed(args))
    named = importer.source_module(args.model)  # naming module:function permits the module
    try:
        model = importer.load_model(args.model, allow)
        imported = importer.import_model(
            model, args.name, [*allow, *([named] if named else [])], blocks=not args.flat
        )
    except KspecError as exc:
        report(exc.diagnostics)
        return EXIT_USAGE
    report(imported.warnings)
    text = render(imported)
    found = api.check_text(text, args.output or "<imported>")
    if has_errors(found):  # a layer or op this kspec cannot check yet, or an importer bug
        report(found)
        print("kspec: error: the imported spec does not check clean (see above)", file=sys.stderr)
        return EXIT_ERRORS
    if args.output:
        write_atomic(args.output, text)
        nodes = text.count("\n  - ") + text.count("\n      - ")
        print(
            f"wrote {args.output} ({nodes} nodes, {len(imported.blocks)} blocks)", file=sys.stderr
        )
    else:
        sys.stdout.write(text)
    if any(b.by_structure for b in imported.blocks):
        print(
            "kspec: note: the layers of blocks found by structure are named without the "
            "numbers Keras made up (conv1d_5 becomes conv1d in an instance): to load this "
            "model's weights by layer name (--weights), import it with --flat",
            file=sys.stderr,
        )
    if imported.imports:
        flags = " ".join(f"--allow-import {m}" for m in imported.imports)
        print(f"kspec: note: the spec's custom layers need {flags} to build", file=sys.stderr)
    return EXIT_OK


def run_stubs(args: argparse.Namespace) -> int:
    """Write the layer signatures of custom layer modules to a stub file."""
    from kspec.stubgen import stub_text

    text = stub_text(args.modules, allowed(args))
    if args.output:
        write_atomic(args.output, text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK
