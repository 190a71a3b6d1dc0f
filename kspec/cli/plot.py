"""``kspec plot``: the model graph as an image, like Keras' ``plot_model`` (the built model's,
or the spec's own drawing with ``--static`` or without TensorFlow)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from typing import Any

from kspec import api
from kspec.cli.common import (
    EXIT_ERRORS,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    allowed,
    existing,
    params,
    report,
    with_backend,
    with_imports,
    with_params,
)
from kspec.diagnostics import KspecError


def add(sub: Any) -> None:
    g = sub.add_parser(
        "plot",
        help="draw the model graph (png, svg, pdf or dot)",
        description="Draw the model graph with its layer names and output shapes, like Keras' "
        "plot_model. Uses the built model when TensorFlow is installed, the spec itself "
        "(with statically inferred shapes) with --static or without TensorFlow.",
    )
    g.add_argument("spec", metavar="SPEC")
    g.add_argument(
        "--output",
        "-o",
        required=True,
        metavar="FILE",
        help="FILE.png, .svg, .pdf (need Graphviz's dot) or .dot",
    )
    g.add_argument(
        "--shapes",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="show output shapes (default: yes)",
    )
    g.add_argument(
        "--names",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="show layer names (default: yes)",
    )
    g.add_argument(
        "--rankdir",
        choices=["TB", "LR", "BT", "RL"],
        default="TB",
        help="direction of the graph (default: TB, top to bottom)",
    )
    g.add_argument(
        "--static", action="store_true", help="draw from the spec, without building the model"
    )
    with_imports(g)
    with_params(g)
    with_backend(g, precision=False)
    g.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kspec import plot

    existing(args.spec)
    fmt = os.path.splitext(args.output)[1].lstrip(".").lower()
    if fmt not in plot.FORMATS:
        raise UsageError(f"-o must end in one of .{', .'.join(plot.FORMATS)}")
    static = args.static or importlib.util.find_spec("tensorflow") is None
    try:
        spec = api.load(args.spec, **params(args))
        if static:
            text = plot.ir_to_dot(spec, None, args.shapes, args.names, args.rankdir)
        else:
            model = api.build_model(spec, "functional", allow_imports=allowed(args))
            text = plot.keras_dot(model, args.shapes, args.names, args.rankdir)
        plot.render(text, args.output)
    except KspecError as exc:
        report(exc.diagnostics)
        return EXIT_USAGE if any(d.code.startswith("KS9") for d in exc.diagnostics) else EXIT_ERRORS
    how = "from the spec" if static else "from the built model"
    print(f"wrote {args.output} ({how})", file=sys.stderr)
    return EXIT_OK
