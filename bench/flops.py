"""kspec's static multiply-adds (``summary --static``) against an independent count: TensorFlow's
profiler on the graph of the built Keras model.

    .venv/bin/python bench/flops.py           # the examples, the layer zoo and ResNet50
    .venv/bin/python bench/flops.py --quick   # without ResNet50

Writes bench/flops.md. The independent count traces the model at batch 1 into a graph
(``tf.function``) and asks ``tf.compat.v1.profiler`` (``float_operation``) for the FLOPs of every
node that runs (and of the functions they call, e.g. the XLA function Keras runs a grouped
convolution in); the MACs are half the FLOPs of the nodes that contract an axis
(:data:`CONTRACTING`: MatMul, BatchMatMul, Conv2D, Conv3D, depthwise and transposed
convolutions, Einsum). It knows nothing of kspec's rules: it reads op types, their
shapes and attributes in the graph TensorFlow runs. Two adjustments are needed for the profiler
to see every product, neither of which changes the arithmetic: recurrent layers are rebuilt with
``unroll: true`` (the profiler counts a ``while`` loop's body once, not once per step), and the
profiler is taught ``Einsum`` (which it does not count), by the products its equation makes. A
spec with an input of unknown size (a sequence of any length) is counted at length
:data:`LENGTH`. tests/test_flops.py runs the same comparison on the small models.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import kspec  # noqa: E402
from kspec.flops import si  # noqa: E402
from kspec.summary import static_summary  # noqa: E402

#: The op types whose products are multiply-adds (the profiler's FLOPs of each are 2 x MACs).
CONTRACTING = frozenset(
    {
        "MatMul",
        "BatchMatMul",
        "BatchMatMulV2",
        "BatchMatMulV3",
        "Conv2D",
        "Conv3D",
        "DepthwiseConv2dNative",
        "Conv2DBackpropInput",
        "Einsum",
    }
)
#: The length given to inputs of unknown size.
LENGTH = 16
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
ZOO = ROOT / "tests" / "fixtures" / "flops_zoo.yaml"


@dataclass(frozen=True)
class Result:
    model: str
    kspec: int | None  # kspec's static MACs
    independent: int  # the profiler's, on the built model
    all_flops: int  # the profiler's FLOPs of every op (element-wise ones too)
    note: str = ""

    @property
    def ratio(self) -> float:
        return math.nan if self.kspec is None else self.kspec / self.independent


def _register_einsum() -> None:
    """Teach the profiler Einsum: with two operands, one product per combination of the
    letters of the equation (the sizes read from the graph); one operand makes none."""
    from tensorflow.python.framework import ops

    def einsum_flops(graph: Any, node: Any) -> Any:
        left = node.attr["equation"].s.decode().split("->")[0].split(",")
        sizes: dict[str, int] = {}
        for letters, name in zip(left, node.input, strict=True):
            tensor = graph.get_tensor_by_name(name if ":" in name else f"{name}:0")
            sizes.update(zip(letters, tensor.shape.as_list(), strict=True))
        return ops.OpStats("flops", 2 * math.prod(sizes.values()) if len(left) == 2 else 0)

    with contextlib.suppress(KeyError):  # registered by an earlier call in this process
        ops.RegisterStatistics("Einsum", "flops")(einsum_flops)


def profile(model: Any) -> Counter[str]:
    """The profiler's FLOPs of ``model`` at batch 1, by op type."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    _register_einsum()
    specs = [tf.TensorSpec((1, *x.shape[1:]), x.dtype) for x in model.inputs]
    fn = tf.function(
        lambda *xs: model(list(xs) if len(xs) > 1 else xs[0], training=False), autograph=False
    )
    concrete = fn.get_concrete_function(*specs)
    calls = {"PartitionedCall", "StatefulPartitionedCall"}
    library: dict[str, Any] = {}
    frozen = None
    if any(op.type in calls for op in concrete.graph.get_operations()):
        # The frozen copy (variables as constants) gives the kernels' shapes inside the
        # functions the graph calls (Keras compiles grouped convolutions with XLA, as one).
        frozen = convert_variables_to_constants_v2(concrete).graph
        library = {f.signature.name: f for f in frozen.as_graph_def().library.function}
    return _profile_graph(concrete.graph, frozen, library)


def _live(graph: Any) -> set[str]:
    """The ops ``graph``'s outputs depend on: what TensorFlow runs (it prunes the others, e.g.
    a step Keras traces only to learn a cell's output shape)."""
    stack = [t.op for t in graph.outputs]
    live: set[str] = set()
    while stack:
        op = stack.pop()
        if op.name not in live:
            live.add(op.name)
            stack.extend(t.op for t in op.inputs)
            stack.extend(op.control_inputs)
    return live


def _profile_graph(graph: Any, frozen: Any, library: dict[str, Any]) -> Counter[str]:
    """The profiler's FLOPs of the ops of ``graph`` that run, by type, and of the functions
    they call."""
    import tensorflow as tf
    from tensorflow.python.framework.function_def_to_graph import function_def_to_graph

    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    root = tf.compat.v1.profiler.profile(
        graph, run_meta=tf.compat.v1.RunMetadata(), cmd="scope", options=options
    )
    live = _live(graph)
    by_type: Counter[str] = Counter()
    stack = list(root.children)
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.float_ops and node.name in live:
            by_type[graph.get_operation_by_name(node.name).type] += node.float_ops
    for op in (graph.get_operation_by_name(name) for name in live):
        if op.type in ("While", "StatelessWhile"):
            raise ValueError(f"{op.name}: a loop, whose body the profiler would count once")
        if op.type in ("PartitionedCall", "StatefulPartitionedCall"):
            # the frozen call passes the kernel (a constant) where the traced one passes the
            # variable; the traced graph knows the shapes of the other inputs
            twin = frozen.get_operation_by_name(op.name)
            shapes = [
                t.shape if t.shape.is_fully_defined() else traced.shape
                for t, traced in zip(twin.inputs, op.inputs, strict=True)
            ]
            body = function_def_to_graph(library[twin.get_attr("f").name], input_shapes=shapes)
            by_type += _profile_graph(body, body, library)
    return by_type


def unrolled(model: Any) -> Any:
    """``model`` rebuilt from its config with every recurrent layer unrolled (the same
    arithmetic, one graph node per step); ``model`` itself if it has none."""
    import keras

    config = json.loads(model.to_json())
    if not _unroll(config):
        return model
    return keras.models.model_from_json(json.dumps(config))


def _unroll(node: Any) -> bool:
    found = False
    if isinstance(node, dict):
        if node.get("unroll") is False:
            node["unroll"] = True
            found = True
        for value in node.values():
            found = _unroll(value) or found
    elif isinstance(node, list):
        for value in node:
            found = _unroll(value) or found
    return found


def independent(model: Any) -> tuple[int, int]:
    """(MACs of the contracting ops, FLOPs of every op) by the profiler, at batch 1."""
    flops = profile(unrolled(model))
    contracting = sum(n for op, n in flops.items() if op in CONTRACTING)
    return contracting // 2, sum(flops.values())


def fixed_spec(path: Path, length: int = LENGTH) -> tuple[kspec.Spec, str]:
    """The spec at ``path``, its inputs' unknown sizes set to ``length`` (and a note saying
    so)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    fixed = []
    for name, inp in (data.get("inputs") or {}).items():  # a child may inherit its inputs
        if None in inp["shape"]:
            inp["shape"] = [length if d is None else d for d in inp["shape"]]
            fixed.append(name)
    note = f"{', '.join(fixed)} at length {length}" if fixed else ""
    return kspec.loads(json.dumps(data), path=str(path)), note


def compare(spec: kspec.Spec, model: Any, note: str = "", name: str = "") -> Result:
    """kspec's static count for ``spec`` against the profiler's for ``model``."""
    summary = static_summary(spec)
    macs = None if summary.macs_unknown else summary.macs
    count, everything = independent(model)
    return Result(name or spec.name, macs, count, everything, note)


def examples() -> Iterator[Result]:
    """Every example and the layer zoo, built by kspec from the spec."""
    for path in [*EXAMPLES, ZOO]:
        spec, note = fixed_spec(path)
        yield compare(spec, kspec.build_model(spec), note, path.name)


def resnet50() -> Any:
    import keras

    return keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3))


def resnet50_result() -> Result:
    """``kspec import`` of Keras' ResNet50 (224 x 224), against the profiler on Keras' own
    model."""
    from kspec.cli import main

    sys.modules.setdefault("kspec_bench_flops", sys.modules[__name__])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "resnet50.yaml"
        if main(["import", "kspec_bench_flops:resnet50", "-o", str(out)]) != 0:
            raise SystemExit("kspec import of ResNet50 failed")
        spec = kspec.load(out)
    return compare(spec, resnet50(), "`kspec import` of the Keras model; 224 x 224", "ResNet50")


def table(results: list[Result]) -> str:
    lines = [
        "| model | kspec MACs | profiler MACs | ratio | profiler FLOPs, all ops | note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        mine = "unknown" if r.kspec is None else f"{r.kspec:,} ({si(r.kspec)})"
        lines.append(
            f"| {r.model} | {mine} | {r.independent:,} ({si(r.independent)}) | {r.ratio:.4f} "
            f"| {r.all_flops:,} ({si(r.all_flops)}) | {r.note} |"
        )
    return "\n".join(lines)


def report(results: list[Result], seconds: float) -> str:
    import tensorflow as tf

    return f"""# FLOPs: kspec's static count against TensorFlow's profiler

Made by `.venv/bin/python bench/flops.py` (TensorFlow {tf.__version__}, {seconds:.0f} s).
MACs are multiply-adds per example (batch 1); 1 MAC = 2 FLOPs. "kspec MACs" is the total of
`kspec summary --static`, from the spec alone. "profiler MACs" is half the FLOPs that
`tf.compat.v1.profiler` counts for the contracting ops (MatMul, BatchMatMul, Conv2D, Conv3D,
DepthwiseConv2dNative, Conv2DBackpropInput, Einsum) in the graph TensorFlow traces for the built
Keras model at batch 1: only the ops the outputs depend on, the functions they call included,
recurrent layers unrolled (the profiler counts a loop's body once), Einsum counted by its
equation (the profiler has no rule for it). The examples are built by kspec from the spec;
ResNet50 is Keras' own model, and kspec counts the spec `kspec import` writes for it. The last
column is the profiler's total over every op (biases, activations, normalization, pooling,
softmax... included): what keras-flops reports.

{table(results)}

Tolerance: none. The two agree exactly (ratio 1.0000); tests/test_flops.py asserts equality for
every example and the zoo (`tests/fixtures/flops_zoo.yaml`: every convolution kind, the
recurrent layers and wrappers, the attention layers, Dot, EinsumDense, matmul and einsum ops)
and, marked slow, for ResNet50. Where they would differ: the profiler counts a transposed
convolution with `padding: valid` as output positions x kernel / strides, an approximation
(kspec counts each input position times each kernel tap, exactly); the zoo uses
`padding: same`, where the two formulas agree. And TensorFlow runs a *dilated* depthwise or
separable convolution on a padded space-to-batch copy of its input, so it makes more products
than the arithmetic needs (a 3x3 SeparableConv2D with `dilation_rate: 2` on 5x5x12, padding
same: 3,888 depthwise MACs in the graph, 2,700 in kspec's count); the zoo leaves dilation to
Conv1D, which TensorFlow runs directly.

Keras' ResNet50 is ResNet v1, whose stride-2 blocks put the stride on the first 1x1
convolution: 3.86 G MACs at 224 x 224, as the paper's "3.8 billion FLOPs (multiply-adds)". The
"4.1 G" often quoted is torchvision's ResNet-50 v1.5, which moves the stride to the 3x3
convolution.
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="leave out ResNet50")
    args = parser.parse_args()
    start = time.perf_counter()
    results = list(examples())
    if not args.quick:
        results.append(resnet50_result())
    text = report(results, time.perf_counter() - start)
    (ROOT / "bench" / "flops.md").write_text(text, encoding="utf-8")
    print(table(results))
    return 0 if all(r.ratio == 1.0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
