"""``kspec export``: a SavedModel, ONNX or LiteRT artefact of the model, checked by its own
runtime before it is moved into place."""

from __future__ import annotations

import argparse
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
    with_imports,
    with_params,
    with_target,
    with_weights,
)
from kspec.diagnostics import KspecError


def add(sub: Any) -> None:
    from kspec.export import FORMATS

    e = sub.add_parser(
        "export",
        help="export the model as a SavedModel, ONNX or LiteRT, checked by its own runtime",
        description="Build the model (with --weights, the pretrained one) and export it with "
        "Keras' model.export: a TensorFlow SavedModel folder, an ONNX file (tf2onnx) or a "
        "LiteRT .tflite file (builtin ops only). The artefact is loaded by its own runtime "
        "(TensorFlow's serving signature, onnxruntime, the LiteRT interpreter) and must give "
        "the Keras model's outputs on random inputs within 1e-4 before it is moved into place; "
        "a failed export writes nothing. ONNX and LiteRT need pip install 'kspec[export]'.",
    )
    e.add_argument("spec", metavar="SPEC")
    e.add_argument("--format", "-f", required=True, choices=list(FORMATS))
    e.add_argument(
        "--output",
        "-o",
        required=True,
        metavar="OUT",
        help="a folder (savedmodel), OUT.onnx or OUT.tflite",
    )
    with_target(e)
    e.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="fix the batch size of the inputs (default: free); LiteRT needs it for "
        "recurrent layers",
    )
    with_weights(e, freeze=False)
    with_imports(e)
    with_params(e)
    e.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build (with --weights), export, check the artefact with its runtime, move it in place."""
    from kspec import export

    existing(args.spec)
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    try:
        export.require(args.format)  # before the build: say what to install at once
        spec = api.load(args.spec, **params(args))
        model = api.build_model(
            spec, args.target, allow_imports=allowed(args), **weights_options(args)
        )
        done = export.export(model, spec, args.format, args.output, batch_size=args.batch_size)
    except KspecError as exc:
        status = failed(exc)
        print(f"kspec: nothing written to {args.output}", file=sys.stderr)
        return status
    print(f"wrote {done.path} ({args.format}, from the {args.target} model)", file=sys.stderr)
    print(f"  inputs:  {'; '.join(done.inputs)}", file=sys.stderr)
    print(f"  outputs: {'; '.join(done.outputs)}", file=sys.stderr)
    print(
        f"  checked with {done.runtime} on random inputs: max difference "
        f"{done.max_difference:.3g} (tolerance {done.tolerance:g}, relative to the largest "
        "output, at least 1)",
        file=sys.stderr,
    )
    return EXIT_OK
