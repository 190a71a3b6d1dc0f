"""File helpers: finding specs, and writing outputs atomically (temporary file + rename), so
an existing output is never truncated or half-written when something fails."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

SPEC_SUFFIXES = (".yaml", ".yml")


def find_specs(paths: list[str]) -> tuple[list[str], list[str]]:
    """Spec files named by ``paths`` (folders searched recursively for *.yaml / *.yml, in
    sorted order). Returns (files, paths that do not exist)."""
    found: list[str] = []
    missing: list[str] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for sub in sorted(path.rglob("*")):
                if (
                    sub.suffix in SPEC_SUFFIXES
                    and sub.is_file()
                    and not any(part.startswith(".") for part in sub.relative_to(path).parts)
                ):
                    found.append(str(sub))
        elif path.exists():
            found.append(p)
        else:
            missing.append(p)
    return found, missing


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and an atomic rename.
    The file keeps its permissions if it existed."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
