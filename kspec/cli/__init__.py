"""The ``kspec`` command line: argument parsing and output only (the work is in the API).

One module per command (or family of small commands), each with its parser (``add``) and its
``run``; :mod:`kspec.cli.common` holds what they share. Exit status: 0 success (no errors), 1 a
spec has errors (or ``compile --check`` found a stale file), 2 usage or environment problems
(bad arguments, missing files, TensorFlow not installed).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from kspec.cli import check, compile, export, fit, importing, info, plot, summary, verify
from kspec.cli.common import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, UsageError, report
from kspec.diagnostics import KspecError

__all__ = ["EXIT_ERRORS", "EXIT_OK", "EXIT_USAGE", "UsageError", "main", "parser"]

# in the order `kspec --help` lists them
_COMMANDS = (check, compile, summary, fit, plot, importing, verify, export, info)


def parser() -> argparse.ArgumentParser:
    from kspec import __version__

    p = argparse.ArgumentParser(
        prog="kspec",
        description="Check YAML model specs and compile them to Keras models "
        "(Functional API, or tf.keras.Model subclass source).",
        epilog="Exit status: 0 ok, 1 errors in a spec (or a stale file with --check), "
        "2 usage or environment problems. Docs: docs/cli.md.",
    )
    p.add_argument("--version", action="version", version=f"kspec {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in _COMMANDS:
        command.add(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from kspec import backend, precision
    from kspec.compiler import runtime

    runtime.QUIET = True
    try:
        # before anything imports Keras; a --static run builds nothing and needs no backend
        if hasattr(args, "backend") and not getattr(args, "static", False):
            backend.select(args.backend)
        with precision.using(getattr(args, "dtype_policy", None)):
            return int(args.func(args))
    except UsageError as exc:
        print(f"kspec: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KspecError as exc:
        report(exc.diagnostics)
        return EXIT_USAGE if any(d.code.startswith("KS9") for d in exc.diagnostics) else EXIT_ERRORS
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
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


if __name__ == "__main__":
    raise SystemExit(main())
