"""The commands about kspec itself: ``explain CODE``, ``schema``, ``lsp``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kspec.cli.common import EXIT_OK, UsageError
from kspec.diagnostics import Diagnostic, KspecError
from kspec.files import write_atomic


def add(sub: Any) -> None:
    x = sub.add_parser(
        "explain",
        help="explain a diagnostic code (e.g. kspec explain KS201)",
        description="Print what a diagnostic code means, an example, and how to fix it.",
    )
    x.add_argument("code", metavar="CODE", help="a code such as KS201")
    x.set_defaults(func=run_explain)

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
    j.set_defaults(func=run_schema)

    s = sub.add_parser(
        "lsp",
        help="run the language server (for editors; needs kspec[lsp])",
        description="Run kspec's language server on stdin/stdout: kspec check's diagnostics "
        "as you type, hover with shapes and parameter counts, go to definition, references, "
        "rename, completion. Editors start it themselves (docs/editors.md). Never imports "
        "TensorFlow.",
    )
    s.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default)")
    s.set_defaults(func=run_lsp)


def run_explain(args: argparse.Namespace) -> int:
    """What a diagnostic code means, how it arises and how to fix it."""
    from kspec.codes import ENTRIES, explain

    code = args.code.upper()
    if code not in ENTRIES:
        raise UsageError(f"no code {code}; the codes are listed in docs/errors.md")
    sys.stdout.write(explain(code))
    return EXIT_OK


def run_schema(args: argparse.Namespace) -> int:
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


def run_lsp(args: argparse.Namespace) -> int:
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
