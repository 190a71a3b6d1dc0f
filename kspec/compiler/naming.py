"""Identifiers for generated source: the one place a spec name becomes a Python name.

Spec names are ASCII identifiers (the schema checks that), but they may still be Python keywords
(``class``), builtins (``input``), names the generated module itself uses (``tf``, ``self``,
``inputs``), attributes of ``keras.Model`` (``layers``, ``output``, ``weights``, ``call``) or each
other after mangling. A :class:`Namespace` hands out a distinct, safe identifier each time it
is asked, deterministically (first come, first served, in spec order); callers keep the
mapping. Keras layer names are never mangled: they stay the spec's names.
"""

from __future__ import annotations

import builtins
import keyword

# Attributes of keras.Model and keras.layers.Layer instances (public ones; private names are
# avoided wholesale, see below). tests/test_naming.py checks this against the installed Keras.
MODEL_ATTRIBUTES = frozenset(
    [
        "activity_regularizer",
        "add_loss",
        "add_metric",
        "add_variable",
        "add_weight",
        "autocast",
        "build",
        "build_from_config",
        "built",
        "call",
        "call_signature_parameters",
        "compile",
        "compile_from_config",
        "compiled",
        "compiled_loss",
        "compiled_metrics",
        "compute_dtype",
        "compute_loss",
        "compute_mask",
        "compute_metrics",
        "compute_output_shape",
        "compute_output_spec",
        "count_params",
        "distribute_reduction_method",
        "distribute_strategy",
        "dtype",
        "dtype_policy",
        "evaluate",
        "export",
        "fit",
        "from_config",
        "get_build_config",
        "get_compile_config",
        "get_config",
        "get_layer",
        "get_metrics_result",
        "get_quantization_layer_structure",
        "get_state_tree",
        "get_weights",
        "input",
        "input_dtype",
        "input_spec",
        "jit_compile",
        "layers",
        "load_own_variables",
        "load_weights",
        "loss",
        "losses",
        "make_predict_function",
        "make_test_function",
        "make_train_function",
        "metrics",
        "metrics_names",
        "metrics_variables",
        "name",
        "non_trainable_variables",
        "non_trainable_weights",
        "output",
        "path",
        "predict",
        "predict_function",
        "predict_on_batch",
        "predict_step",
        "quantization_mode",
        "quantize",
        "quantized_build",
        "quantized_call",
        "rematerialized_call",
        "reset_metrics",
        "run_eagerly",
        "save",
        "save_own_variables",
        "save_weights",
        "set_state_tree",
        "set_weights",
        "stateless_call",
        "stateless_compute_loss",
        "steps_per_execution",
        "summary",
        "supports_jit",
        "supports_masking",
        "symbolic_call",
        "test_function",
        "test_on_batch",
        "test_step",
        "to_json",
        "train_function",
        "train_on_batch",
        "train_step",
        "trainable",
        "trainable_variables",
        "trainable_weights",
        "unrolled_steps_per_execution",
        "variable_dtype",
        "variables",
        "weights",
        "inputs",
        "outputs",
        "optimizer",
        "history",
        "stop_training",
    ]
)

# Names every generated module defines or uses at module level (tf, keras: the two apis).
MODULE_NAMES = frozenset(
    {"tf", "keras", "build_model", "compile_model", "INPUTS", "VARIANTS", "annotations"}
    # what deep or masked models' modules add (kspec/compiler/helpers.py)
    | {"sys", "contextlib", "load_model", "deep_recursion", "RECURSION_LIMIT", "keep_masks"}
)
# Names generated functions use as locals or arguments.
LOCAL_NAMES = frozenset({"self", "inputs", "kwargs", "params", "model", "config", "cls"})
_UNSAFE = (
    frozenset(keyword.kwlist)
    | frozenset(keyword.softkwlist)
    | frozenset(dir(builtins))
    | MODULE_NAMES
    | LOCAL_NAMES
)


class Namespace:
    """Hands out unique, safe identifiers."""

    def __init__(self, reserved: frozenset[str] | set[str] = frozenset(), attributes: bool = False):
        self._taken: set[str] = set(_UNSAFE) | set(reserved)
        if attributes:
            self._taken |= MODEL_ATTRIBUTES

    def fresh(self, wanted: str) -> str:
        """A new identifier based on ``wanted``, never handed out before."""
        base = (
            wanted
            if wanted.isidentifier()
            else "n_" + "".join(c if c.isalnum() else "_" for c in wanted)
        )
        if base.startswith("_"):  # private names could shadow Keras internals
            base = base.lstrip("_") + "_" if base.strip("_") else "n_"
            if base[0].isdigit():  # `_1_conv`: `1_conv_` is not an identifier
                base = "n_" + base
        if not base.isascii():
            base = "n_" + base.encode("ascii", "backslashreplace").hex()
        candidate = base
        if candidate in self._taken:
            candidate = base + "_"
        k = 2
        while candidate in self._taken:
            candidate = f"{base}_{k}"
            k += 1
        self._taken.add(candidate)
        return candidate

    @property
    def taken(self) -> frozenset[str]:
        return frozenset(self._taken)

    def reserve(self, name: str) -> None:
        self._taken.add(name)
