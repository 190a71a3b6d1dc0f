"""kspec: a declarative model-spec compiler for TensorFlow/Keras.

A YAML layer graph is loaded safely, validated against the kspec-1 JSON Schema, checked for
meaning, and lowered to a Keras Functional model or the source of a ``tf.keras.Model`` subclass.
Importing kspec never imports TensorFlow; only building a model does.
"""

from kspec.api import build_model, check, check_text, load, loads, lower, to_source
from kspec.diagnostics import Diagnostic, KspecError
from kspec.spec.ir import Spec
from kspec.weights import load_weights

__version__ = "0.1.0"

__all__ = [
    "Diagnostic",
    "KspecError",
    "Spec",
    "__version__",
    "build_model",
    "check",
    "check_text",
    "load",
    "load_weights",
    "loads",
    "lower",
    "to_source",
]
