"""The ``kspec`` command line: argument parsing and output only (the work is in the API).

Exit status: 0 success (no errors), 1 a spec has errors (or ``compile --check`` found a stale
file), 2 usage or environment problems (bad arguments, missing files, TensorFlow not installed).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import shlex
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kspec import api
from kspec.diagnostics import Diagnostic, KspecError, has_errors, write_report
from kspec.files import find_specs, write_atomic
from kspec.spec.ir import Spec, describe
from kspec.spec.loader import MAX_BYTES, Limits, load_text

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with the command line or the environment (exit status 2)."""


def _param(text: str) -> tuple[str, Any]:
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


def _params(items: list[tuple[str, Any]] | None) -> dict[str, Any]:
    return dict(items or [])


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


def _report(diags: Sequence[Diagnostic], fmt: str = "text") -> None:
    write_report(diags, _source_lines(diags), fmt, sys.stdout if fmt != "text" else sys.stderr)


# -- commands -------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    files, missing = find_specs(args.paths)
    if missing:
        raise UsageError("no such file or folder: " + ", ".join(missing))
    if not files:
        raise UsageError("no spec files (*.yaml, *.yml) found in " + ", ".join(args.paths))
    limits = Limits(max_bytes=args.max_bytes)
    params = _params(args.param)
    diags: list[Diagnostic] = []
    for path in files:
        spec, found = api.analyze_file(path, params or None, limits)
        if args.build and not has_errors(found):
            found += _build_diagnostics(path, params, args)
        if args.shapes and spec is not None and not has_errors(found):
            _print_shapes(path, spec)
        diags.extend(found)
    if args.format == "text":
        _report(diags)
        errors = sum(d.severity == "error" for d in diags)
        warnings = len(diags) - errors
        bad = len({d.path for d in diags if d.severity == "error"})
        if not args.quiet or errors:
            noun = "file" if len(files) == 1 else "files"
            summary = (
                f"checked {len(files)} {noun}: "
                + (
                    f"{errors} error{'s' * (errors != 1)} in {bad} {noun if bad != 1 else 'file'}"
                    if errors
                    else "no errors"
                )
                + (f", {warnings} warning{'s' * (warnings != 1)}" if warnings else "")
            )
            print(summary, file=sys.stderr)
    else:
        _report(diags, args.format)
    return EXIT_ERRORS if has_errors(diags) else EXIT_OK


def _existing(path: str) -> str:
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    return path


def _param_flags(args: argparse.Namespace) -> str:
    """The ``--param`` options of this command, to repeat them in a message."""
    flags = []
    for name, value in args.param or []:
        text = value if isinstance(value, str) else json.dumps(value)
        flags.append(f" --param {shlex.quote(f'{name}={text}')}")
    return "".join(flags)


def _output_path(template: str | None, spec: str, several: bool) -> str | None:
    """``-o`` for one spec, or a template for several: ``{dir}/{stem}.py``."""
    if template is None:
        return None
    if several and "{stem}" not in template:
        raise UsageError("with several specs, -o must be a template such as '{dir}/{stem}.py'")
    path = Path(spec)
    return template.format(dir=str(path.parent), stem=path.stem, name=path.name)


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
    path: str, params: dict[str, Any], args: argparse.Namespace
) -> list[Diagnostic]:
    """``check --build``: build both targets; Keras' objections become diagnostics."""
    for target in api.TARGETS:
        try:
            api.build_model(path, target, allow_imports=args.allow_import or (), **params)
        except KspecError as exc:
            if args.traceback and exc.__cause__ is not None:
                traceback.print_exception(exc.__cause__)
            return exc.diagnostics  # the other target would say the same
    return []


def cmd_compile(args: argparse.Namespace) -> int:
    several = len(args.spec) > 1
    if args.check and not args.output:
        raise UsageError("--check needs -o FILE: the generated file to compare with")
    if several and not args.output:
        raise UsageError("with several specs, give -o a template such as '{dir}/{stem}.py'")
    status = EXIT_OK
    for spec in args.spec:
        _existing(spec)
        status = max(status, _compile_one(args, spec, _output_path(args.output, spec, several)))
    return status


def _compile_one(args: argparse.Namespace, spec: str, output: str | None) -> int:
    try:
        source = api.to_source(spec, args.target, **_params(args.param))
    except KspecError as exc:
        _report(exc.diagnostics)
        return EXIT_ERRORS
    if args.check:
        assert output is not None
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
            f"{_param_flags(args)} -o {output}`",
            file=sys.stderr,
        )
        return EXIT_ERRORS
    if output:
        write_atomic(output, source)
        print(f"wrote {output} ({args.target} target)", file=sys.stderr)
    else:
        sys.stdout.write(source)
    return EXIT_OK


# codes that mean the environment or the command line, not the spec (exit status 2)
_ENVIRONMENT = ("KS901", "KS904", "KS907", "KS909", "KS910", "KS913")


def _failed(exc: KspecError) -> int:
    """Report ``exc``; its exit status."""
    _report(exc.diagnostics)
    return EXIT_USAGE if any(d.code in _ENVIRONMENT for d in exc.diagnostics) else EXIT_ERRORS


def _weights_options(args: argparse.Namespace) -> dict[str, Any]:
    """``build_model`` keywords for --weights, --partial, --freeze (the report goes to stderr)."""
    if getattr(args, "partial", False) and not args.weights:
        raise UsageError("--partial needs --weights FILE")
    return {
        "weights": args.weights,
        "partial": getattr(args, "partial", False),
        "freeze": getattr(args, "freeze", None) or (),
        "on_weights": lambda report: sys.stderr.write(report.render()),
    }


def cmd_summary(args: argparse.Namespace) -> int:
    _existing(args.spec)
    if args.static:
        if args.weights:
            raise UsageError("--weights needs the built model: leave out --static")
        return _static_summary(args)
    if args.format != "text":
        raise UsageError("--format json needs --static (Keras' own summary is text)")
    try:
        model = api.build_model(
            args.spec,
            args.target,
            allow_imports=args.allow_import or (),
            **_weights_options(args),
            **_params(args.param),
        )
    except KspecError as exc:
        return _failed(exc)
    model.summary(print_fn=lambda line, **_: print(line))
    return EXIT_OK


def _static_summary(args: argparse.Namespace) -> int:
    """``summary --static``: the summary from the spec alone (TensorFlow is not imported)."""
    from kspec.summary import render, static_summary, to_json

    try:
        spec = api.load(args.spec, **_params(args.param))
        summary = static_summary(spec, freeze=args.freeze or ())
    except KspecError as exc:
        return _failed(exc)
    if args.format == "json":
        print(json.dumps(to_json(summary), indent=2))
    else:
        sys.stdout.write(render(summary))
    return EXIT_OK


def cmd_fit(args: argparse.Namespace) -> int:
    """Build, compile (the spec's compile: section or the flags), fit, evaluate."""
    from kspec import train

    _existing(args.spec)
    _existing(args.data)
    try:
        spec = api.load(args.spec, **_params(args.param))
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
            allow_imports=args.allow_import or (),
            verbose=2 if args.quiet else "auto",
            **_weights_options(args),
        )
    except KspecError as exc:
        return _failed(exc)
    print("evaluation on the test arrays:")
    for key, value in results.items():
        print(f"  {key}: {value:.5f}")
    if args.save:
        print(f"saved the trained model to {args.save}", file=sys.stderr)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    """Build both targets and prove they agree (for a user's own specs, in their CI)."""
    from kspec.verify import verify

    _existing(args.spec)
    try:
        spec = api.load(args.spec, **_params(args.param))
        result = verify(spec, allow_imports=args.allow_import or (), **_weights_options(args))
    except KspecError as exc:
        return _failed(exc)
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
    if result.roundtrip_difference is not None:
        print(f"subclass save/load round trip: max difference {result.roundtrip_difference:.3g}")
    for problem in result.problems:
        print(f"{args.spec}: error: {problem}", file=sys.stderr)
    print(
        "the targets agree" if result.ok else "the targets DISAGREE",
        file=sys.stderr if not result.ok else sys.stdout,
    )
    return EXIT_OK if result.ok else EXIT_ERRORS


def cmd_export(args: argparse.Namespace) -> int:
    """Build (with --weights), export, check the artefact with its runtime, move it in place."""
    from kspec import export

    _existing(args.spec)
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    try:
        export.require(args.format)  # before the build: say what to install at once
        spec = api.load(args.spec, **_params(args.param))
        model = api.build_model(
            spec, args.target, allow_imports=args.allow_import or (), **_weights_options(args)
        )
        done = export.export(model, spec, args.format, args.output, batch_size=args.batch_size)
    except KspecError as exc:
        status = _failed(exc)
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


def cmd_plot(args: argparse.Namespace) -> int:
    """The model graph as an image (Keras' drawing of the built model, or the spec's own)."""
    from kspec import plot

    _existing(args.spec)
    fmt = os.path.splitext(args.output)[1].lstrip(".").lower()
    if fmt not in plot.FORMATS:
        raise UsageError(f"-o must end in one of .{', .'.join(plot.FORMATS)}")
    try:
        spec = api.load(args.spec, **_params(args.param))
        static = args.static or not _tensorflow_installed()
        if static:
            text = plot.ir_to_dot(spec, None, args.shapes, args.names, args.rankdir)
        else:
            model = api.build_model(spec, "functional", allow_imports=args.allow_import or ())
            text = plot.keras_dot(model, args.shapes, args.names, args.rankdir)
        plot.render(text, args.output)
    except KspecError as exc:
        _report(exc.diagnostics)
        return EXIT_USAGE if any(d.code.startswith("KS9") for d in exc.diagnostics) else EXIT_ERRORS
    how = "from the spec" if static else "from the built model"
    print(f"wrote {args.output} ({how})", file=sys.stderr)
    return EXIT_OK


def _tensorflow_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorflow") is not None


def cmd_import(args: argparse.Namespace) -> int:
    """Write a spec for an existing Keras Functional model."""
    from kspec import importer

    if args.model.endswith(".keras"):
        _existing(args.model)
    try:
        model = importer.load_model(args.model)
        text = importer.to_spec(model, args.name)
    except KspecError as exc:
        _report(exc.diagnostics)
        return EXIT_USAGE
    found = api.check_text(text, args.output or "<imported>")
    if has_errors(found):  # a bug in the importer, or a layer kspec does not know
        _report(found)
        print("kspec: error: the imported spec does not check clean (see above)", file=sys.stderr)
        return EXIT_ERRORS
    if args.output:
        write_atomic(args.output, text)
        print(f"wrote {args.output} ({text.count(chr(10) + '  - ')} nodes)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    """What a diagnostic code means, how it arises and how to fix it."""
    from kspec.codes import ENTRIES, explain

    code = args.code.upper()
    if code not in ENTRIES:
        raise UsageError(f"no code {code}; the codes are listed in docs/errors.md")
    sys.stdout.write(explain(code))
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from kspec.schemas.build import published, published_path, render

    if args.path:
        print(published_path())
        return EXIT_OK
    text = render(published())
    if args.output:
        write_atomic(args.output, text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_lsp(args: argparse.Namespace) -> int:
    try:
        from kspec.lsp.server import serve
    except ImportError as exc:
        raise KspecError(
            [
                Diagnostic(
                    "KS913",
                    f"the language server needs pygls, which is not installed ({exc.name})",
                    hint="pip install 'kspec[lsp]'",
                )
            ]
        ) from None
    serve()
    return EXIT_OK


# -- parser --------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    from kspec import __version__
    from kspec.export import FORMATS

    p = argparse.ArgumentParser(
        prog="kspec",
        description="Check YAML model specs and compile them to Keras models "
        "(Functional API, or tf.keras.Model subclass source).",
        epilog="Exit status: 0 ok, 1 errors in a spec (or a stale file with --check), "
        "2 usage or environment problems. Docs: docs/cli.md.",
    )
    p.add_argument("--version", action="version", version=f"kspec {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

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
            type=_param,
            metavar="NAME=VALUE",
            help="override a param's default (repeatable), e.g. --param units=128",
        )

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
    c.add_argument("--quiet", "-q", action="store_true", help="no summary line when clean")
    with_params(c)
    c.set_defaults(func=cmd_check)

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
    k.set_defaults(func=cmd_compile)

    s = sub.add_parser(
        "summary",
        help="print the Keras summary of the built model (or, with --static, from the spec)",
        description="Build the model with Keras and print model.summary(). With --static, "
        "print the same table worked out from the spec without TensorFlow: layer names and "
        "types, statically inferred output shapes, parameter counts and multiply-adds (MACs "
        "per example; FLOPs = 2 x MACs) ('?' where they cannot be known without building).",
    )
    s.add_argument("spec", metavar="SPEC")
    s.add_argument("--target", "-t", choices=list(api.TARGETS), default="functional")
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
    with_weights(s)
    with_imports(s)
    with_params(s)
    s.set_defaults(func=cmd_summary)

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
    f.add_argument("--target", "-t", choices=list(api.TARGETS), default="functional")
    f.add_argument("--optimizer", help="override compile: optimizer (a Keras name)")
    f.add_argument("--loss", help="override compile: loss (a Keras name)")
    f.add_argument("--metrics", help="override compile: metrics, comma-separated")
    f.add_argument("--quiet", "-q", action="store_true", help="one line per epoch")
    with_weights(f)
    with_imports(f)
    with_params(f)
    f.set_defaults(func=cmd_fit)

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
    g.set_defaults(func=cmd_plot)

    m = sub.add_parser(
        "import",
        help="write a spec for an existing Keras Functional model",
        description="Write a readable spec for a Functional model: a .keras file (loaded in "
        "Keras' safe mode) or module:function returning a model (naming it is your permission "
        "to import the module).",
    )
    m.add_argument("model", metavar="MODEL", help="model.keras, or module:function")
    m.add_argument("--output", "-o", metavar="SPEC.yaml", help="write here (atomically)")
    m.add_argument("--name", help="the spec's name (default: the model's)")
    m.set_defaults(func=cmd_import)

    v = sub.add_parser(
        "verify",
        help="build both targets and prove they agree",
        description="Build the functional and subclass models, compare parameter counts and "
        "output shapes, outputs with shared weights, and the subclass model's save/load round "
        "trip. Exit 1 on any difference.",
    )
    v.add_argument("spec", metavar="SPEC")
    with_weights(v, freeze=False)
    with_imports(v)
    with_params(v)
    v.set_defaults(func=cmd_verify)

    x = sub.add_parser(
        "explain",
        help="explain a diagnostic code (e.g. kspec explain KS201)",
        description="Print what a diagnostic code means, an example, and how to fix it.",
    )
    x.add_argument("code", metavar="CODE", help="a code such as KS201")
    x.set_defaults(func=cmd_explain)

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
    e.add_argument("--target", "-t", choices=list(api.TARGETS), default="functional")
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
    e.set_defaults(func=cmd_export)

    j = sub.add_parser(
        "schema",
        help="print the kspec-1 JSON Schema",
        description="Print the JSON Schema of the spec language (for editors).",
    )
    j.add_argument("--output", "-o", metavar="FILE")
    j.add_argument(
        "--path",
        action="store_true",
        help="print where the installed package keeps the schema file (for editor settings)",
    )
    j.set_defaults(func=cmd_schema)

    s = sub.add_parser(
        "lsp",
        help="run the language server (for editors; needs kspec[lsp])",
        description="Run kspec's language server on stdin/stdout: kspec check's diagnostics "
        "as you type, hover with shapes and parameter counts, go to definition, references, "
        "rename, completion. Editors start it themselves (docs/editors.md). Never imports "
        "TensorFlow.",
    )
    s.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default)")
    s.set_defaults(func=cmd_lsp)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from kspec.compiler import runtime

    runtime.QUIET = True
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"kspec: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KspecError as exc:
        _report(exc.diagnostics)
        return EXIT_USAGE if any(d.code.startswith("KS9") for d in exc.diagnostics) else EXIT_ERRORS
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug in kspec: say so plainly, without a traceback
        if os.environ.get("KSPEC_TRACEBACK"):
            raise
        print(
            f"kspec: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in kspec; please report it with the spec that caused it "
            "(set KSPEC_TRACEBACK=1 to see the traceback).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
