"""``kspec export``: a spec's model as a TensorFlow SavedModel, an ONNX file or a LiteRT model.

Each format goes through Keras 3's own ``model.export`` (``tf_saved_model``, ``onnx`` through
tf2onnx, ``litert`` through the TensorFlow Lite converter), with an input signature taken from
the spec: its input names, dtypes and shapes (the batch size left free unless ``batch_size``).
Two choices of kspec's own:

* LiteRT models use the LiteRT builtin operators only (Keras would also allow TensorFlow "select"
  ops, which a plain LiteRT runtime cannot run): what kspec writes runs on any LiteRT
  interpreter. A recurrent layer's tensor lists lower to builtins only with a fixed batch size:
  the converter's error then comes with the hint to pass ``--batch-size 1``.
* tf2onnx has no converter for TensorFlow's ``Erfc`` (exact ``gelu`` uses it); kspec registers
  one (``1 - Erf(x)``, ONNX's own ``Erf``) if the installed tf2onnx has none.

Nothing is written unless the artefact passes its check: it is loaded by its own runtime (the
SavedModel's ``serving_default`` signature in TensorFlow, onnxruntime, the LiteRT interpreter)
and run on random inputs, and every output must equal the Keras model's within ``TOLERANCE``
(relative to the largest output value, at least 1). The artefact is built in a temporary folder
beside the output and renamed into place, so a failed export leaves no partial file and an
existing output as it was.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kspec.diagnostics import Diagnostic, KspecError
from kspec.spec.ir import Spec

TOLERANCE = 1e-4
FORMATS = {"savedmodel": "tf_saved_model", "onnx": "onnx", "litert": "litert"}
SUFFIX = {"savedmodel": "", "onnx": ".onnx", "litert": ".tflite"}
RUNTIME = {
    "savedmodel": "TensorFlow (the serving_default signature)",
    "onnx": "onnxruntime",
    "litert": "the LiteRT interpreter (ai-edge-litert)",
}
# format -> (import name, pip name) of what it needs beyond TensorFlow
PACKAGES = {
    "savedmodel": [],
    "onnx": [("tf2onnx", "tf2onnx"), ("onnx", "onnx"), ("onnxruntime", "onnxruntime")],
    "litert": [("ai_edge_litert", "ai-edge-litert")],
}
INSTALL_HINT = "install the export extra: pip install 'kspec[export]'"


@dataclass
class Exported:
    """What :func:`export` wrote and measured."""

    format: str
    path: str
    inputs: list[str] = field(default_factory=list)  # "image (None, 28, 28) float32"
    outputs: list[str] = field(default_factory=list)
    max_difference: float = 0.0
    tolerance: float = TOLERANCE
    runtime: str = ""


NAMES = {"savedmodel": "SavedModel", "onnx": "ONNX model", "litert": "LiteRT model"}


def _diag(code: str, message: str, hint: str | None = None) -> KspecError:
    return KspecError([Diagnostic(code, message, hint=hint)])


def require(fmt: str) -> None:
    """Fail with KS910 (naming what to install) if ``fmt``'s packages are missing."""
    missing = [pip for module, pip in PACKAGES[fmt] if importlib.util.find_spec(module) is None]
    if missing:
        raise _diag(
            "KS910",
            f"exporting to {fmt} needs {', '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed",
            INSTALL_HINT,
        )


def input_signature(spec: Spec, batch_size: int | None = None) -> list[Any]:
    """The model's inputs as ``tf.TensorSpec``s named after the spec's inputs: one spec, or a
    dict by input name (both targets accept a dict)."""
    import tensorflow as tf

    from kspec.spec.expressions import Expr, evaluate

    specs = {}
    for inp in spec.graph.inputs:
        dims = tuple(evaluate(d, spec.params) if isinstance(d, Expr) else d for d in inp.shape)
        batch = inp.batch_size or batch_size
        specs[inp.name] = tf.TensorSpec((batch, *dims), inp.dtype, name=inp.name)
    return [next(iter(specs.values()))] if len(specs) == 1 else [specs]


def export(
    model: Any, spec: Spec, fmt: str, output: str, *, batch_size: int | None = None
) -> Exported:
    """Export ``model`` (built from ``spec``) to ``output`` in ``fmt`` (a key of ``FORMATS``),
    check the artefact with its own runtime, then move it into place (see the module doc).
    KS910: a package is missing; KS911: the converter failed (its message is kept); KS912: the
    artefact does not run, or its outputs differ from Keras'."""
    require(fmt)
    from kspec.backend import needs
    from kspec.compiler.runtime import require_tensorflow
    from kspec.verify import sample_inputs

    needs(
        "tensorflow",
        "kspec export",
        "every export format is made from a TensorFlow graph: run it without KERAS_BACKEND "
        "(or with KERAS_BACKEND=tensorflow); the .keras file of a model trained on another "
        "backend loads there",
    )
    require_tensorflow()
    _check_output(fmt, output)
    signature = input_signature(spec, batch_size)
    result = Exported(fmt, output, runtime=RUNTIME[fmt])
    for s in _flat_specs(signature):
        result.inputs.append(f"{s.name} {tuple(s.shape.as_list())} {s.dtype.name}")
    folder = os.path.dirname(os.path.abspath(output))
    work = tempfile.mkdtemp(prefix=f".{os.path.basename(output)}.", suffix=".tmp", dir=folder)
    try:
        artefact = os.path.join(work, "model" + SUFFIX[fmt])
        _convert(model, fmt, artefact, signature, output)
        inputs = sample_inputs(spec, batch=batch_size or 2)
        named = inputs if isinstance(inputs, dict) else {spec.graph.inputs[0].name: inputs}
        expected = model(inputs, training=False)
        got = _run(fmt, artefact, named)
        batch = _flat_specs(signature)[0].shape[0]  # the outputs' batch size is the inputs'
        result.outputs = [
            f"{name} {(batch, *value.shape[1:])} {value.dtype}" for name, value in got
        ]
        result.max_difference = _compare(expected, got, fmt, _free_sizes(spec, signature))
        _place(artefact, output)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result


def _flat_specs(signature: list[Any]) -> list[Any]:
    first = signature[0]
    return list(first.values()) if isinstance(first, dict) else [first]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Converters print progress and warnings (Python logging, and C++ on stderr)."""
    from kspec.compiler import runtime

    logger = logging.getLogger("tf2onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        if runtime.QUIET:
            with runtime._stderr_silenced():
                yield
        else:
            yield
    finally:
        logger.setLevel(level)


def _convert(model: Any, fmt: str, path: str, signature: list[Any], output: str) -> None:
    from kspec.compiler.runtime import deep_call

    options: dict[str, Any] = {}
    if fmt == "litert":
        import tensorflow as tf

        options["target_spec"] = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}
    if fmt == "onnx":
        _register_erfc()
    try:
        with _quiet():
            deep_call(
                lambda: model.export(
                    path, format=FORMATS[fmt], verbose=False, input_signature=signature, **options
                )
            )
    except Exception as exc:  # the converter's own message is the diagnosis
        message = _converter_message(exc)
        hint = "the message is the converter's own; see docs/deploy.md for what each format takes"
        if "tensor list" in message.lower() or "TensorList" in message:
            hint = (
                "a recurrent layer's loop converts to LiteRT builtins only with a fixed batch "
                "size: pass --batch-size 1 (Python: batch_size=1)"
            )
        raise _diag(
            "KS911", f"the {fmt} converter cannot convert the model: {message}", hint
        ) from exc


def _converter_message(exc: Exception) -> str:
    """The gist of a converter error: its ``error:`` lines without MLIR locations."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    errors = []
    for line in text.splitlines():
        m = re.search(r"error: (?:loc\(.*?\): )?(.*)", line)
        if m and m.group(1).strip() not in errors:
            errors.append(m.group(1).strip())
    lines = errors or [s.strip() for s in text.splitlines() if s.strip()]
    first = "; ".join(lines[:2]) or type(exc).__name__
    return f"{type(exc).__name__}: {first[:600]}"


def _register_erfc() -> None:
    """A tf2onnx handler for ``Erfc`` (exact ``gelu``): ``1 - Erf(x)``, if it has none."""
    import numpy as np
    from tf2onnx import utils
    from tf2onnx.handler import tf_op

    if any("Erfc" in table for table in tf_op.get_opsets().get("", [])):
        return

    class Erfc:
        @classmethod
        def version_9(cls, ctx: Any, node: Any, **kwargs: Any) -> None:
            dtype = utils.map_onnx_to_numpy_type(ctx.get_dtype(node.input[0]))
            one = ctx.make_const(utils.make_name(f"{node.name}_one"), np.array(1, dtype=dtype))
            erf = ctx.make_node("Erf", [node.input[0]], op_name_scope=node.name)
            node.type = "Sub"
            ctx.replace_inputs(node, [one.output[0], erf.output[0]])

    tf_op("Erfc")(Erfc)


def _check_output(fmt: str, output: str) -> None:
    """Refuse an output that exists as something else: a folder for a file format, or a folder
    that is not a SavedModel (replacing it would delete what it holds)."""
    folder = os.path.dirname(os.path.abspath(output))
    problem = None
    if not os.path.isdir(folder):
        problem = f"no such folder: {folder}"
    elif SUFFIX[fmt] and not output.endswith(SUFFIX[fmt]):
        problem = f"a {fmt} file must end in {SUFFIX[fmt]}: {output}"
    elif SUFFIX[fmt] and os.path.isdir(output):
        problem = f"{output} is a folder"
    elif (
        not SUFFIX[fmt]
        and os.path.exists(output)
        and not os.path.isfile(os.path.join(output, "saved_model.pb"))
    ):
        problem = f"{output} exists and is not a SavedModel folder: kspec will not replace it"
    if problem:
        raise _diag("KS911", problem, "choose another output path (-o)")


def _run(fmt: str, path: str, inputs: dict[str, Any]) -> list[tuple[str, Any]]:
    """The artefact's outputs on ``inputs``, by output name, in its output order."""
    from kspec.compiler.runtime import deep_call

    try:
        with _quiet():
            pairs = deep_call(lambda: _outputs(fmt, path, inputs))
    except Exception as exc:
        raise _diag(
            "KS912",
            f"the exported {NAMES[fmt]} does not run in {RUNTIME[fmt]}: {_converter_message(exc)}",
            "the message is the runtime's own; see docs/deploy.md",
        ) from exc
    if fmt == "onnx":  # in the graph's output order already
        return pairs
    # Keras names a signature's outputs output_0, output_1, ... (or by the model's output keys)
    return sorted(pairs, key=lambda kv: _position(kv[0]))


def _outputs(fmt: str, path: str, inputs: dict[str, Any]) -> list[tuple[str, Any]]:
    import numpy as np

    if fmt == "savedmodel":
        import tensorflow as tf

        serve = tf.saved_model.load(path).signatures["serving_default"]
        got = serve(**{k: tf.constant(v) for k, v in inputs.items()})
        return [(k, np.asarray(v)) for k, v in got.items()]
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        return list(zip(names, session.run(names, inputs), strict=True))
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=path).get_signature_runner()
    return [(k, np.asarray(v)) for k, v in runner(**inputs).items()]


def _position(name: str) -> tuple[int, str]:
    m = re.fullmatch(r"output_(\d+)", name)
    return (int(m.group(1)), "") if m else (-1, name)


def _compare(expected: Any, got: list[tuple[str, Any]], fmt: str, unknown: list[str]) -> float:
    """The largest difference between Keras' outputs and the artefact's (relative to the
    largest Keras output, at least 1); KS912 beyond the tolerance or when the outputs do not
    correspond. ``unknown``: the inputs with sizes left free, for the hint."""
    import numpy as np

    what = f"the exported {NAMES[fmt]}"
    hint = "the converter changed what the model computes; see docs/deploy.md"
    if unknown:
        hint = (
            f"the model was traced with sizes left free ({', '.join(unknown)}), and a layer "
            "may compute differently then (Keras' TimeDistributed does over a free time "
            "axis): give those sizes in the spec's inputs, e.g. as a param"
        )
    if isinstance(expected, dict):
        by_name = dict(got)
        if set(by_name) != set(expected):
            raise _diag(
                "KS912", f"{what}'s outputs are {sorted(by_name)}, Keras' {sorted(expected)}"
            )
        pairs = [(k, np.asarray(expected[k]), by_name[k]) for k in sorted(expected)]
    else:
        flat = list(expected) if isinstance(expected, list | tuple) else [expected]
        if len(flat) != len(got):
            raise _diag("KS912", f"{what} has {len(got)} outputs, the Keras model {len(flat)}")
        pairs = [(n, np.asarray(e), g) for e, (n, g) in zip(flat, got, strict=True)]
    worst = 0.0
    for name, want, have in pairs:
        if want.shape != have.shape:
            raise _diag(
                "KS912",
                f"{what}'s output {name!r} has shape {have.shape} where the Keras model's has "
                f"{want.shape}, on the same random inputs",
                hint,
            )
        scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
        difference = float(np.max(np.abs(want.astype(float) - have.astype(float)), initial=0.0))
        if not difference <= TOLERANCE * scale:
            raise _diag(
                "KS912",
                f"{what}'s output {name!r} differs from the Keras model's by up to "
                f"{difference:.3g} (tolerance {TOLERANCE * scale:.3g}) on the same random inputs",
                hint,
            )
        worst = max(worst, difference / scale)
    return worst


def _free_sizes(spec: Spec, signature: list[Any]) -> list[str]:
    """The inputs whose sizes (beyond the batch) are left free."""
    return [s.name for s in _flat_specs(signature) if None in s.shape.as_list()[1:]]


def _place(artefact: str, output: str) -> None:
    """Move the checked artefact to ``output``: one rename for a file; for a SavedModel folder
    that exists already, the old folder is renamed aside first and removed after."""
    if not os.path.isdir(artefact) or not os.path.exists(output):
        os.replace(artefact, output)
        return
    old = f"{artefact}.old"
    os.replace(output, old)
    try:
        os.replace(artefact, output)
    except BaseException:
        os.replace(old, output)
        raise
    shutil.rmtree(old, ignore_errors=True)
