"""The names a spec may and may not use: reserved params and modules, dotted module names, and
the class name a model name gives. One place for each rule, used by the checker and by the
hypothesis strategy (kspec.testing), so the two never disagree."""

from __future__ import annotations

import builtins
import keyword
import re

# Keyword arguments of keras.Model / Layer constructors: a param with one of these names would
# change how Keras builds the model (``inputs=`` even makes it a Functional model).
RESERVED_PARAMS = frozenset(
    {"name", "dtype", "trainable", "autocast", "inputs", "outputs", "input_shape",
     "batch_input_shape", "dynamic"}
)  # fmt: skip

# Top-level names an `imports:` module may not have: Keras itself (its layers are available by
# name, and refused ones stay refused), and names the generated module uses or Python provides.
RESERVED_MODULES = frozenset(
    {
        "tf",
        "tensorflow",
        "keras",
        "tf_keras",
        "kspec",
        "build_model",
        "compile_model",
        "INPUTS",
        "VARIANTS",
    }
    | set(dir(builtins))
)


def reserved_module(module: str) -> bool:
    """Whether ``module`` cannot be an `imports:` module. Keras' own source modules
    (``keras.src.applications.convnext``, whose ``LayerScale`` keras.applications uses) can:
    their classes are Keras' code, imported only with the user's permission like any other."""
    return module.split(".")[0] in RESERVED_MODULES and not module.startswith("keras.src.")


_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")


def is_dotted_name(text: str) -> bool:
    """``package.module.Name``: identifiers (no keywords) joined by dots. A custom layer's type
    and an import become code, so nothing else may pass."""
    return bool(_DOTTED.match(text)) and not any(keyword.iskeyword(p) for p in text.split("."))


def pascal_case(name: str) -> str:
    """The class name for a model or block name: ``mnist_mlp`` -> ``MnistMlp``."""
    out = "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)
    return out if out and out[0].isalpha() else "Model" + out
