"""Which Keras 3 backend runs the models: TensorFlow (the default), JAX or PyTorch.

Keras fixes its backend when it is first imported, from ``KERAS_BACKEND``; so ``select`` (what
``--backend`` calls) sets that variable before anything imports Keras, and refuses to switch
once Keras runs on another backend. A missing backend package is a KS916 diagnostic with the
command that installs it, never an ImportError. Nothing here imports Keras or a backend at
module level: ``kspec check`` and ``kspec compile`` stay free of both.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Literal

from kspec.diagnostics import Diagnostic, KspecError

BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT = "tensorflow"
# the package each backend imports, and how to install it
PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
INSTALL = {
    "tensorflow": "pip install 'kspec[tensorflow]'",
    "jax": "pip install 'kspec[jax]'",
    # the default torch wheel brings CUDA (gigabytes); the CPU build is enough for kspec
    "torch": "pip install torch --index-url https://download.pytorch.org/whl/cpu",
}


def requested() -> str:
    """The backend Keras will use (or uses): ``KERAS_BACKEND``, else TensorFlow."""
    if "keras" in sys.modules:
        return str(sys.modules["keras"].backend.backend())
    return os.environ.get("KERAS_BACKEND") or DEFAULT


def source_api() -> Literal["tf", "keras"]:
    """The api of the generated code kspec runs: ``tf`` (``tf.keras``, what ``kspec compile``
    writes by default) on TensorFlow, ``keras`` on the other backends (no TensorFlow import)."""
    return "tf" if requested() == DEFAULT else "keras"


def select(name: str | None = None) -> str:
    """Run Keras on ``name`` (None: ``KERAS_BACKEND``, else TensorFlow); returns the backend.
    KS917 for an unknown backend or one Keras cannot switch to any more; KS916 when the
    backend's package (or Keras) is not installed."""
    chosen = name or os.environ.get("KERAS_BACKEND") or DEFAULT
    if chosen not in BACKENDS:
        raise _error(
            "KS917",
            f"unknown Keras backend {chosen!r} (from {'--backend' if name else 'KERAS_BACKEND'})",
            f"choose one of {', '.join(BACKENDS)}",
        )
    if "keras" in sys.modules:
        running = str(sys.modules["keras"].backend.backend())
        if running != chosen:
            raise _error(
                "KS917",
                f"Keras already runs on {running} in this process and cannot switch to {chosen}",
                f"set KERAS_BACKEND={chosen} before Keras is first imported (a new process)",
            )
    os.environ["KERAS_BACKEND"] = chosen
    require(chosen)
    return chosen


def require(backend: str) -> None:
    """KS916 unless ``backend``'s package and Keras are installed (TensorFlow brings Keras;
    its absence is KS901, see :func:`kspec.compiler.runtime.require_tensorflow`)."""
    if backend == DEFAULT:
        return
    missing = [
        package
        for package in (PACKAGES[backend], "keras")
        if sys.modules.get(package) is None and importlib.util.find_spec(package) is None
    ]
    if missing:
        raise _error(
            "KS916",
            f"the Keras backend {backend} needs {' and '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed",
            f"install it with: {INSTALL[backend]}",
        )


def needs(backend: str, what: str, hint: str) -> None:
    """KS918 unless Keras runs on ``backend``: ``what`` is only available there."""
    running = requested()
    if running != backend:
        raise _error("KS918", f"{what} needs the {backend} backend; Keras runs on {running}", hint)


def _error(code: str, message: str, hint: str) -> KspecError:
    return KspecError([Diagnostic(code, message, hint=hint)])
