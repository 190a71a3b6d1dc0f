"""Keras 3 backends: the keras api's generated code imports no TensorFlow and agrees with the
functional target under TensorFlow and under JAX (a subprocess: Keras fixes its backend at its
first import); commands run with --backend and say what to install when a backend is missing;
PyTorch is tested where it is installed."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import cluster
import pytest

import kspec

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
GOLDEN = ROOT / "tests" / "golden" / "source"
# Keras on JAX cannot infer the output shape of a subclass whose TimeDistributed layer sees an
# unknown time axis (JAX's symbolic dimension is not an int): the build is refused as KS902
JAX_REFUSED = {"seq2seq"}


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("golden", sorted(GOLDEN.glob("*.keras.py")), ids=lambda p: p.name)
def test_keras_api_imports_no_tensorflow(golden: Path) -> None:
    imported = _imported(golden)
    assert "tensorflow" not in imported and "keras" in imported, imported
    assert "tf." not in golden.read_text(encoding="utf-8")


def test_every_example_has_keras_goldens() -> None:
    for path in EXAMPLES:
        for target in ("functional", "subclass"):
            assert (GOLDEN / f"{path.stem}.{target}.keras.py").exists()


def _agreement(backend: str, paths: list[Path], *policy: str) -> list[dict[str, object]]:
    run = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "backend_agreement.py"), *policy, *map(str, paths)],
        env=cluster.env(KERAS_BACKEND=backend),
        capture_output=True,
        text=True,
        timeout=cluster.TIMEOUT,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]


@pytest.mark.tf
def test_keras_api_agrees_with_the_functional_target_under_tensorflow() -> None:
    from kspec.compiler.runtime import copy_weights
    from kspec.verify import max_difference, sample_inputs

    for path in EXAMPLES:
        spec = kspec.load(path)
        reference = kspec.build_model(spec, "functional")  # the tf api
        for target in ("functional", "subclass"):
            model = kspec.build_model(spec, target, api="keras")
            assert model.count_params() == reference.count_params(), (path.name, target)
            copy_weights(reference, model)
            x = sample_inputs(spec)
            got = max_difference(reference(x, training=False), model(x, training=False))
            assert got <= 1e-5, (path.name, target, got)


@pytest.mark.tf
@pytest.mark.slow
def test_both_targets_agree_under_jax_without_tensorflow() -> None:
    pytest.importorskip("jax")
    results = _agreement("jax", EXAMPLES)
    assert results[-1] == {"tensorflow_imported": False}
    from test_examples import EXPECTED

    for result in results[:-1]:
        name = Path(str(result["spec"])).stem
        if name in JAX_REFUSED:
            assert result == {"spec": result["spec"], "code": "KS902"}
            continue
        count, shapes = EXPECTED[name]
        assert result["params"] == [count, count], name
        assert [tuple(s) for s in result["shapes"]] == shapes, name  # type: ignore[union-attr]
        assert result["difference"] <= 1e-5, result


@pytest.mark.tf
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_targets_agree_under_a_dtype_policy(policy: str) -> None:
    pytest.importorskip("jax")
    paths = [ROOT / "examples" / f"{n}.yaml" for n in ("mnist_mlp", "residual_cnn", "blocks")]
    results = _agreement("jax", paths, f"--dtype-policy={policy}")
    tolerance = {"mixed_float16": 1e-2, "mixed_bfloat16": 6e-2}[policy]
    for result in results[:-1]:
        assert result["tolerance"] == tolerance
        assert result["difference"] <= tolerance, result


@pytest.mark.tf
def test_fit_trains_on_jax_and_reports_accuracy(tmp_path: Path) -> None:
    pytest.importorskip("jax")
    from kspec.datasets import save_npz, synthetic_mnist

    save_npz(str(tmp_path / "d.npz"), synthetic_mnist(n_train=512, n_test=128))
    run = cluster.kspec(
        [
            *("fit", str(ROOT / "examples" / "mnist_mlp.yaml"), "--data", "d.npz"),
            *("--backend", "jax", "--epochs", "2", "--seed", "7", "-q"),
        ],
        tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "backend: jax" in run.stdout
    # the evaluation on the test arrays, after training (not an epoch's running accuracy)
    evaluation = run.stdout.split("evaluation on the test arrays:")[1]
    accuracy = float(evaluation.split("accuracy:")[1].split()[0])
    assert accuracy > 0.5  # ten classes: chance is 0.1


def _without_torch(args: list[str]) -> subprocess.CompletedProcess[str]:
    """``kspec ARGS`` in a process where PyTorch cannot be imported."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        f"from kspec.cli import main\nsys.exit(main({args!r}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=cluster.env(), capture_output=True, text=True
    )


def test_a_missing_backend_says_what_to_install(tmp_path: Path) -> None:
    run = _without_torch(["summary", str(EXAMPLES[0]), "--backend", "torch"])
    assert run.returncode == 2
    assert "error[KS916]" in run.stderr
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in run.stderr


def test_a_static_summary_needs_no_backend(tmp_path: Path) -> None:
    """``summary --static`` builds nothing: a backend that is not installed does not stop it
    (a CI job may pass the same --backend to every command)."""
    run = _without_torch(["summary", str(EXAMPLES[0]), "--static", "--backend", "torch"])
    assert run.returncode == 0, run.stderr
    assert f'Model: "{kspec.load(EXAMPLES[0]).name}" (static' in run.stdout
    assert run.stderr == ""


def test_an_unknown_backend_is_refused(tmp_path: Path) -> None:
    run = cluster.kspec(["summary", str(EXAMPLES[0])], tmp_path, KERAS_BACKEND="theano")
    assert run.returncode == 2 and "error[KS917]" in run.stderr


def test_export_needs_tensorflow(tmp_path: Path) -> None:
    args = ["export", str(EXAMPLES[0]), "--format", "savedmodel", "-o", "m"]
    run = cluster.kspec(args, tmp_path, KERAS_BACKEND="jax")
    assert run.returncode == 2 and "error[KS918]" in run.stderr
    assert not (tmp_path / "m").exists()


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch not installed")
def test_verify_runs_on_torch(tmp_path: Path) -> None:
    run = cluster.kspec(["verify", str(EXAMPLES[0]), "--backend", "torch"], tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "the targets agree" in run.stdout
