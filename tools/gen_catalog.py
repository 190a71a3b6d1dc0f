"""Generate kspec's Keras layer data from the installed Keras, and docs/layers.md from it.

Run from the repository root with the project's virtualenv after upgrading Keras:
``.venv/bin/python tools/gen_catalog.py``. It writes

* ``kspec/schemas/keras_layers.json``: every public ``keras.layers`` class (constructor
  arguments with their JSON defaults and one-sentence descriptions, ``call`` parameters, one-line
  summary, aliases), whether kspec allows or refuses it (and why), and the Keras registries kspec
  validates names against (activations, initializers, regularizers, constraints, optimizers,
  losses, metrics). TensorFlow-free to read; deterministic (sorted keys, two-space indent).
* ``docs/layers.md``: the table of every layer class, from that data and kspec's layer records
  (kspec/layers/).

``tests/test_catalog.py`` regenerates both in memory and fails when the committed files differ.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import re
import sys
import warnings
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_FILE = os.path.join(ROOT, "kspec", "schemas", "keras_layers.json")
DOCS_FILE = os.path.join(ROOT, "docs", "layers.md")

FALLBACK = "See the Keras documentation."

# Layers that carry code or read files: never available.
REFUSED_CODE = {
    "Lambda": "it runs arbitrary Python code stored in the model",
    "TFSMLayer": "it loads a TensorFlow SavedModel (code and graphs) from a path",
    "JaxLayer": "it wraps arbitrary JAX functions",
    "FlaxLayer": "it wraps arbitrary Flax modules",
    "TorchModuleWrapper": "it wraps arbitrary PyTorch modules",
}
# Not a layer a spec can create: Keras makes it from the model's inputs.
REFUSED_OTHER = {
    "InputLayer": "model inputs are declared under `inputs:` (keras.Input creates the InputLayer)",
}
ABSTRACT_REASON = "it is an abstract base class: its call() computes nothing ({detail})"

# Sample values for required constructor arguments, to try constructing each class (a class that
# cannot be constructed or called with them is abstract). Strings name layers to nest.
SAMPLES: dict[str, Any] = {
    "activation": "relu",
    "axes": 1,
    "cell": "LSTMCell",
    "cells": ["LSTMCell"],
    "dims": [1],
    "equation": "ab,bc->ac",
    "factor": 0.1,
    "filters": 2,
    "head_dim": 2,
    "height": 2,
    "height_factor": 0.1,
    "input_dim": 4,
    "kernel_size": 1,
    "key_dim": 2,
    "layer": "SimpleRNN",
    "layers": ["Dense"],
    "max_number": 2,
    "n": 2,
    "num_bins": 2,
    "num_heads": 2,
    "num_key_value_heads": 1,
    "num_query_heads": 2,
    "output_dim": 2,
    "output_shape": 2,
    "output_size": 2,
    "pool_size": 2,
    "rate": 0.5,
    "scale": 1.0,
    "stddev": 0.1,
    "target_shape": [2],
    "units": 2,
    "width": 2,
    "width_factor": 0.1,
}
NESTED_SAMPLES = {"Dense": {"units": 2}, "SimpleRNN": {"units": 2}, "LSTMCell": {"units": 2}}

# Names model.compile accepts besides the registries (keras/src/trainers/compile_utils.py):
# "accuracy"/"acc" pick Binary/Categorical/SparseCategoricalAccuracy, "crossentropy"/"ce" the
# matching crossentropy, from the shapes of the targets and predictions.
COMPILE_METRIC_NAMES = ("acc", "accuracy")
COMPILE_LOSS_NAMES = ("ce", "crossentropy")

# -- docstrings ------------------------------------------------------------------------------

_ENTRY = re.compile(r"^(\s*)(\*{0,2}[A-Za-z_][A-Za-z0-9_]*)(?:\s*\([^)]*\))?:(?:\s+(.*))?$")
_ABBREV = ("e.g.", "i.e.", "etc.", "vs.", "approx.", "resp.", "Eq.", "cf.")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


_DEFAULT_NOTE = re.compile(r"\s*\((?:defaults?(?: to|:|=)?|by default)\b[^()]*\)", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (whitespace collapsed, "(default ...)" notes dropped),
    ending with a full stop; a first sentence of fewer than four words ("Integer.") takes the
    next one too."""
    text = _DEFAULT_NOTE.sub("", " ".join(text.split()))
    if not text:
        return ""
    protected = text
    for i, abbr in enumerate(_ABBREV):
        protected = protected.replace(abbr, f"\x00{i}\x00")
    sentences = []
    start = 0
    for match in _SENTENCE_END.finditer(protected):
        sentences.append(protected[start : match.end()].strip())
        start = match.end()
    if protected[start:].strip():
        sentences.append(protected[start:].strip())
    taken: list[str] = []
    for sentence in sentences:
        taken.append(sentence)
        if len(" ".join(taken).split()) >= 4 or len(taken) == 3:
            break
    out = " ".join(taken)
    for i, abbr in enumerate(_ABBREV):
        out = out.replace(f"\x00{i}\x00", abbr)
    out = out.strip()
    if out.endswith(":"):
        out = out[:-1] + "."
    if not out.endswith((".", "!", "?")):
        out += "."
    return out[:1].upper() + out[1:]


def docstring_args(doc: str | None) -> dict[str, str]:
    """Argument name -> first sentence of its description, from a docstring's ``Args:``."""
    if not doc:
        return {}
    lines = inspect.cleandoc(doc).splitlines()
    out: dict[str, str] = {}
    i = 0
    while i < len(lines):
        if lines[i].strip() in ("Args:", "Arguments:"):
            base = _indent(lines[i])
            level: int | None = None
            current: str | None = None
            parts: list[str] = []
            i += 1
            while i < len(lines):
                line = lines[i]
                if line.strip() and _indent(line) <= base:
                    break
                m = _ENTRY.match(line) if line.strip() else None
                if m and (level is None or _indent(line) <= level + 1):
                    if current is not None:
                        out.setdefault(current, first_sentence(" ".join(parts)))
                    level = _indent(line) if level is None else level
                    current = m.group(2).lstrip("*")
                    parts = [m.group(3) or ""]
                elif current is not None and line.strip():
                    parts.append(line.strip())
                elif current is not None and not line.strip() and parts and parts[-1] != "":
                    parts.append("")
                i += 1
            if current is not None:
                out.setdefault(current, first_sentence(" ".join(parts)))
            continue
        i += 1
    return {k: v for k, v in out.items() if v and v != "."}


def summary(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    paragraph = doc.split("\n\n")[0]
    return first_sentence(paragraph) or f"Keras {cls.__name__} layer."


# -- values ----------------------------------------------------------------------------------


def json_value(value: Any) -> tuple[bool, Any]:
    """``(True, value as JSON)`` for a plain JSON value (tuples become lists), else False."""
    if value is None or isinstance(value, (bool, int, str)):
        return True, value
    if isinstance(value, float):
        return (True, value) if math.isfinite(value) else (False, None)
    if isinstance(value, (tuple, list)):
        items = [json_value(v) for v in value]
        if all(ok for ok, _ in items):
            return True, [v for _, v in items]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        pairs = {k: json_value(v) for k, v in value.items()}
        if all(ok for ok, _ in pairs.values()):
            return True, {k: v for k, (_, v) in pairs.items()}
    return False, None


def stable_repr(value: Any) -> str:
    """A repr without memory addresses (functions and objects by qualified name)."""
    if inspect.isfunction(value) or inspect.isclass(value) or inspect.isbuiltin(value):
        return f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', value)}"
    if isinstance(value, float):
        return repr(value)
    text = repr(value)
    if " at 0x" in text:
        return f"<{type(value).__module__}.{type(value).__qualname__} object>"
    return text


def constructor_args(cls: type, docs: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for name, p in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        entry: dict[str, Any] = {
            "name": name,
            "required": p.default is inspect.Parameter.empty,
            "description": docs.get(name, FALLBACK),
        }
        if p.default is not inspect.Parameter.empty:
            ok, value = json_value(p.default)
            if ok:
                entry["default"] = value
            else:
                entry["default_repr"] = stable_repr(p.default)
        out.append(entry)
    return out


def mro_docs(cls: type, stop: type) -> dict[str, str]:
    """Argument descriptions from ``cls``'s docstring, then its bases' (up to ``stop``)."""
    docs: dict[str, str] = {}
    for klass in cls.__mro__:
        if klass is stop or klass is object:
            break
        for k, v in docstring_args(klass.__doc__).items():
            docs.setdefault(k, v)
    return docs


def call_params(cls: type) -> list[str]:
    return [
        name
        for name, p in inspect.signature(cls.call).parameters.items()
        if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


# -- layers ----------------------------------------------------------------------------------


def public_layers(keras: Any) -> dict[str, tuple[type, list[str]]]:
    """Canonical name -> (class, aliases): every public keras.layers class that is a Layer.

    The canonical name is the class's own name when it is public, else its first public name."""
    by_class: dict[type, list[str]] = {}
    for name in sorted(dir(keras.layers)):
        obj = getattr(keras.layers, name)
        if not name.startswith("_") and isinstance(obj, type) and issubclass(obj, keras.Layer):
            by_class.setdefault(obj, []).append(name)
    out = {}
    for cls, names in by_class.items():
        canonical = cls.__name__ if cls.__name__ in names else names[0]
        out[canonical] = (cls, sorted(n for n in names if n != canonical))
    return dict(sorted(out.items()))


def _sample(keras: Any, name: str) -> Any:
    value = SAMPLES[name]
    if name in ("layer", "cell"):
        return getattr(keras.layers, value)(**NESTED_SAMPLES[value])
    if name in ("layers", "cells"):
        return [getattr(keras.layers, v)(**NESTED_SAMPLES[v]) for v in value]
    return value


def abstract_reason(keras: Any, cls: type) -> str | None:
    """Why ``cls`` cannot be a node (abstract), or None: its call() is Layer's own (computes
    nothing), or it cannot be constructed with sample values of its required arguments."""
    base = keras.Layer
    if cls.call is base.call:
        return ABSTRACT_REASON.format(detail="it does not override Layer.call")
    required = [
        name
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self"
        and p.default is inspect.Parameter.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if any(name not in SAMPLES for name in required):
        missing = [n for n in required if n not in SAMPLES]
        print(f"gen_catalog: no sample value for {cls.__name__}{missing}; assumed constructible")
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cls(**{name: _sample(keras, name) for name in required})
    except NotImplementedError as exc:
        return ABSTRACT_REASON.format(detail=f"constructing it raises NotImplementedError: {exc}")
    except TypeError as exc:
        if "abstract" in str(exc):
            return f"it is an abstract class ({exc})"
    except Exception:  # invalid sample values (ValueError...): still constructible
        pass
    return None


def layer_entry(keras: Any, cls: type, aliases: list[str]) -> dict[str, Any]:
    return {
        "aliases": aliases,
        "summary": summary(cls),
        "args": constructor_args(cls, mro_docs(cls, keras.Layer)),
        "call": call_params(cls),
        "adapt": callable(getattr(cls, "adapt", None)),
    }


# -- registries ------------------------------------------------------------------------------


def _gets(module: Any, identifier: Any) -> bool:
    """Whether ``module.get(identifier)`` works. An ImportError counts as working: the object
    needs an optional package (STFT: scipy), and the data must not depend on what is installed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module.get(identifier)
    except ImportError:
        return True
    except Exception:
        return False
    return True


def _registry(
    module: Any, public: Any, base: type, snake_only: bool, with_args: bool
) -> dict[str, Any]:
    """Names ``module.get`` accepts (verified), and the concrete classes a ``{type: ...}``
    mapping may name (with their constructor arguments when ``with_args``). ``snake_only``:
    names are the snake_case identifiers only (class names go in mappings); otherwise class
    names that ``get`` accepts are names too (``optimizer: Adam``). ``public``: the public
    module (``keras.initializers``), which must export every class listed."""
    table = module.ALL_OBJECTS_DICT
    names = set()
    for name, obj in table.items():
        if obj is base or (snake_only and name != name.lower()):
            continue
        if inspect.isclass(obj) and _wrapper(obj):
            continue
        if _gets(module, name):
            names.add(name)
    classes: dict[str, Any] = {}
    needs_arguments = []
    for obj in module.ALL_OBJECTS:
        if not inspect.isclass(obj) or obj is base or not issubclass(obj, base) or _wrapper(obj):
            continue
        name = obj.__name__
        if name not in table and name.lower() not in table:
            continue
        if getattr(public, name, None) is not obj:
            continue  # generated code writes tf.keras.<kind>.<name>: it must be public
        if not snake_only and _gets(module, name):
            names.add(name)
        if with_args:
            classes[name] = constructor_args(obj, docstring_args(obj.__doc__))
            if not _gets(module, {"class_name": name, "config": {}}):
                needs_arguments.append(name)  # e.g. Constant: its from_config needs `value`
        else:
            classes[name] = []
    out = {"names": sorted(names), "classes": dict(sorted(classes.items()))}
    if with_args:
        out["needs_arguments"] = sorted(needs_arguments)
    return out


def _wrapper(cls: type) -> bool:
    """A class that wraps a function or another object given to its constructor."""
    params = inspect.signature(cls.__init__).parameters
    return any(
        p in params and params[p].default is inspect.Parameter.empty
        for p in ("fn", "inner_optimizer", "optimizers", "optimizer_map")
    )


def registries(keras: Any) -> dict[str, Any]:
    from keras.src import (
        activations,
        constraints,
        initializers,
        losses,
        metrics,
        optimizers,
        regularizers,
    )

    acts = []
    for name in sorted(activations.ALL_OBJECTS_DICT):
        try:
            activations.get(name)
        except Exception:
            continue
        acts.append(name)
    out = {
        "activations": {"names": acts, "classes": {}},
        "initializers": _registry(
            initializers, keras.initializers, initializers.Initializer, True, True
        ),
        "regularizers": _registry(
            regularizers, keras.regularizers, regularizers.Regularizer, True, True
        ),
        "constraints": _registry(
            constraints, keras.constraints, constraints.Constraint, True, True
        ),
        "optimizers": _registry(optimizers, keras.optimizers, optimizers.Optimizer, False, False),
        "losses": _registry(losses, keras.losses, losses.Loss, False, False),
        "metrics": _registry(metrics, keras.metrics, metrics.Metric, False, False),
    }
    out["losses"]["compile_names"] = list(COMPILE_LOSS_NAMES)
    out["metrics"]["compile_names"] = list(COMPILE_METRIC_NAMES)
    return out


# -- the whole document ------------------------------------------------------------------------


def generate() -> dict[str, Any]:
    """The data document for the installed Keras (imports it)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    layers: dict[str, Any] = {}
    refused: dict[str, str] = {}
    for name, (cls, aliases) in public_layers(keras).items():
        layers[name] = layer_entry(keras, cls, aliases)
        reason = REFUSED_CODE.get(name) or REFUSED_OTHER.get(name)
        if reason is None:
            reason = abstract_reason(keras, cls)
        if reason is not None:
            refused[name] = reason
    return {
        "generator": "tools/gen_catalog.py",
        "keras_version": keras.__version__,
        "layers": layers,
        "refused": refused,
        "registries": registries(keras),
    }


def render_data(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# -- docs/layers.md --------------------------------------------------------------------------


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_docs(data: dict[str, Any]) -> str:
    """docs/layers.md for ``data`` with the records of kspec/layers/ (kspec.layers.catalog)."""
    sys.path.insert(0, ROOT)
    from kspec.layers.catalog import EXCLUDED, assemble

    cat = assemble(data)
    names = sorted(data["layers"])
    allowed = [n for n in names if n in cat.layers]
    refused = [n for n in names if n in cat.refused]
    adapt = [n for n in allowed if cat.layers[n].adapt]
    lines = [
        "# Keras layers in kspec",
        "",
        "<!-- Generated by tools/gen_catalog.py from the installed Keras: do not edit. -->",
        "",
        f"Keras {data['keras_version']}: **{len(allowed)} allowed**, **{len(refused)} refused**, "
        f"**{len(names)} layer classes** in `keras.layers` "
        f"({sum(len(data['layers'][n]['aliases']) for n in names)} more names are aliases).",
        "",
        "A node's `type:` is the class name (an alias works too). Every argument listed is a "
        "constructor argument of the class; besides them every layer takes `trainable` and "
        "`dtype`. Arguments left out everywhere (not YAML values, or handled by kspec): "
        + ", ".join(f"`{a}`" for a in sorted(EXCLUDED - {"dtype", "trainable"}))
        + ". `kspec schema` prints the types and descriptions of every argument.",
        "",
        "Initializers, regularizers and constraints take a name (`he_normal`, `l2`) or a "
        "mapping `{type: ClassName, ...arguments}` (`{type: HeNormal, seed: 1}`, "
        "`{type: L2, l2: 0.01}`); activations take a name.",
        "",
        "## Preprocessing layers that learn from data",
        "",
        "These layers are allowed, but their state comes from `adapt()` on training data, "
        "which a spec cannot do: give the state as arguments (`vocabulary`, `mean` and "
        "`variance`, `bin_boundaries`), or call `adapt()` on the built model's layer before "
        "training. A vocabulary is a list in the spec: a file path is refused.",
        "",
    ]
    for n in adapt:
        lines.append(f"- `{n}`: {cat.layers[n].note or 'call adapt() before use'}")
    lines += [
        "",
        "## Every layer class",
        "",
        "| class | kspec | arguments |",
        "| --- | --- | --- |",
    ]
    for n in names:
        entry = data["layers"][n]
        label = f"`{n}`" + (
            " (alias " + ", ".join(f"`{a}`" for a in entry["aliases"]) + ")"
            if entry["aliases"]
            else ""
        )
        if n in cat.refused:
            status, args = f"refused: {_cell(cat.refused[n])}", ""
        else:
            layer = cat.layers[n]
            status = "allowed" + (" (adapt)" if layer.adapt else "")
            if layer.note:
                status += f": {_cell(layer.note)}"
            args = ", ".join(f"**{a}**" if a in layer.required else a for a in layer.args)
        lines.append(f"| {label} | {status} | {args or '-'} |")
    lines += ["", "Arguments in **bold** are required.", ""]
    return "\n".join(lines)


def main() -> int:
    data = generate()
    with open(DATA_FILE, "w", encoding="utf-8") as fh:
        fh.write(render_data(data))
    print(f"wrote {os.path.relpath(DATA_FILE, ROOT)}", file=sys.stderr)
    with open(DOCS_FILE, "w", encoding="utf-8") as fh:
        fh.write(render_docs(data))
    print(f"wrote {os.path.relpath(DOCS_FILE, ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
