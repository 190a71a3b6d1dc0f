"""The bundled examples: they check clean, compile to the golden sources, and (with TensorFlow)
build in both targets with the exact parameter counts and output shapes below, agree output for
output with shared weights, and round-trip through model.save / keras.models.load_model."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kspec
import kspec.cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
GOOD = sorted((ROOT / "tests" / "specs" / "good").glob("*.yaml"))
GOLDEN = ROOT / "tests" / "golden" / "source"
UPDATE = os.environ.get("KSPEC_UPDATE_GOLDEN") == "1"
REGENERATE = "KSPEC_UPDATE_GOLDEN=1 pytest tests/test_examples.py -k golden"

# Parameter counts worked out by hand (see docs/language.md's examples), and output shapes.
EXPECTED = {
    "mnist_mlp": (218_058, [(None, 10)]),  # 784*256+256 + 256*64+64 + 64*10+10
    "mnist_mlp_plain": (218_058, [(None, 10)]),
    "mobilenet_v3_block": (11_322, [(None, 10)]),
    "text_attention": (36_420, [(None, 4)]),
    "residual_cnn": (208_010, [(None, 10)]),
    "multi_io": (653_157, [(None, 4), (None, 1)]),  # dict outputs, in key order
    "siamese": (3_169, [(None, 1)]),  # shared layers count once
    "seq2seq": (15_240, [(None, None, 8)]),
    "blocks": (8_065, [(None, 1)]),
    "hostile_names": (731, [(None, 2), (None, 2)]),
    "deep_residual": (108_081, [(None, 1)]),  # 72 + 1500 * 72 + 9
    "custom_layer": (162, [(None, 2)]),  # 8*8+8 + the gate's 8*8+8 + 8*2+2
    # stem 27*32+4*32, stage1 2*(288*32+4*32), down 288*64+4*64, stage2 2*(576*64+4*64), 64*10+10
    "cnn_base": (113_258, [(None, 10)]),
    "cnn_wide": (1_926_602, [(None, 10)]),  # width 64, a third stage (down2, stage3)
    "cnn_tiny": (2_162, [(None, 10)]),  # width 8, down at 8, no stage2: 248+1216+608+90
    "mlp_scales": (269_322, [(None, 10)]),  # 784*256+256 + 256*256+256 + 256*10+10
}
TARGETS = ("functional", "subclass")


def ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


@pytest.mark.parametrize("path", EXAMPLES + GOOD, ids=ids(EXAMPLES + GOOD))
def test_checks_clean(path: Path) -> None:
    assert kspec.check(path) == []


def test_every_example_has_expectations() -> None:
    assert {p.stem for p in EXAMPLES + GOOD} == set(EXPECTED)


def golden_path(path: Path, target: str, api: str = "tf") -> Path:
    """``mnist_mlp.subclass.py`` (the tf api), ``mnist_mlp.subclass.keras.py`` (the keras api)."""
    return GOLDEN / f"{path.stem}.{target}{'' if api == 'tf' else '.' + api}.py"


@pytest.mark.parametrize("api", kspec.api.APIS)
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("path", EXAMPLES + GOOD, ids=ids(EXAMPLES + GOOD))
def test_golden_source(path: Path, target: str, api: str) -> None:
    source = kspec.to_source(path, target, api=api)
    golden = golden_path(path, target, api)
    if UPDATE:
        golden.write_text(source, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}; run {REGENERATE}"
    assert source == golden.read_text(encoding="utf-8"), (
        f"generated source for {path.name} ({target}, api {api}) changed; "
        f"if intended, run {REGENERATE}"
    )


@pytest.mark.skipif(
    shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
    reason="ruff not installed",
)
def test_golden_sources_are_formatted_and_lint_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    files = sorted(str(p) for p in GOLDEN.glob("*.py"))
    fmt = subprocess.run(
        [ruff, "format", "--isolated", "--check", *files], capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
    lint = subprocess.run([ruff, "check", "--isolated", *files], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_generated_source_never_imports_kspec() -> None:
    for golden in GOLDEN.glob("*.py"):
        text = golden.read_text(encoding="utf-8")
        keras_api = golden.name.endswith(".keras.py")
        assert ("import keras" if keras_api else "import tensorflow as tf") in text
        assert "kspec" not in [
            line.split()[1] for line in text.splitlines() if line.startswith(("import ", "from "))
        ]


def test_deterministic_across_hash_seeds(tmp_path: Path) -> None:
    """Byte-identical output whatever PYTHONHASHSEED and working directory."""
    outputs = set()
    for seed in range(5):
        env = {**os.environ, "PYTHONHASHSEED": str(seed)}
        for target in TARGETS:
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "kspec",
                    "compile",
                    str(ROOT / "examples" / "blocks.yaml"),
                    "--target",
                    target,
                ],
                capture_output=True,
                text=True,
                env=env,
                cwd=tmp_path if seed % 2 else ROOT,
                check=True,
            )
            outputs.add((target, proc.stdout))
    assert len(outputs) == 2


def test_params_change_the_defaults_only() -> None:
    source = kspec.to_source(
        ROOT / "examples" / "mnist_mlp.yaml", "subclass", units=128, num_classes=5
    )
    assert "def __init__(self, units=128, num_classes=5, **kwargs):" in source
    assert "units=units // 4" in source  # expressions stay expressions over the arguments
    assert "--param units=128, --param num_classes=5" in source


# -- with TensorFlow --------------------------------------------------------------------------

tf_only = pytest.mark.tf


@tf_only
@pytest.mark.parametrize(
    "path",
    [p for p in EXAMPLES + GOOD if p.stem != "deep_residual"],
    ids=ids([p for p in EXAMPLES + GOOD if p.stem != "deep_residual"]),
)
def test_targets_build_and_agree(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tensorflow")
    from kspec.verify import verify

    monkeypatch.syspath_prepend(str(ROOT / "tests" / "fixtures"))  # custom_layer's module
    params, shapes = EXPECTED[path.stem]
    spec = kspec.load(path)
    result = verify(spec, allow_imports=spec.imports)
    assert result.params == {"functional": params, "subclass": params}
    assert result.shapes == {"functional": shapes, "subclass": shapes}
    assert result.ok, result.problems
    assert result.roundtrip == {"functional": 0.0, "subclass": 0.0}


@tf_only
@pytest.mark.parametrize("target", TARGETS)
def test_deep_residual_builds(target: str) -> None:
    """1,500 chained residual blocks: past Keras' recursion limit at default settings."""
    pytest.importorskip("tensorflow")
    from kspec.verify import output_shapes

    spec = kspec.load(ROOT / "tests" / "specs" / "good" / "deep_residual.yaml")
    model = kspec.build_model(spec, target)
    assert model.count_params() == EXPECTED["deep_residual"][0]
    assert output_shapes(spec, model) == [(None, 1)]


@tf_only
def test_tutorial_workflow_from_the_generated_module(tmp_path: Path) -> None:
    """`kspec compile ... -o mnist_mlp.py`, then `from mnist_mlp import MnistMlp, build_model`."""
    pytest.importorskip("tensorflow")
    out = tmp_path / "mnist_mlp.py"
    assert (
        kspec.cli.main(
            [
                "compile",
                str(ROOT / "examples" / "mnist_mlp.yaml"),
                "-o",
                str(out),
                "--target",
                "subclass",
            ]
        )
        == 0
    )
    code = (
        "from mnist_mlp import MnistMlp, build_model; m = build_model(units=128); "
        "print(type(m).__name__, m.count_params(), m.units)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    # 784*128+128 + 128*32+32 + 32*10+10
    assert proc.stdout.split() == ["MnistMlp", "104938", "128"]


def test_compile_section_is_emitted() -> None:
    source = kspec.to_source(ROOT / "examples" / "residual_cnn.yaml", "functional")
    assert "def compile_model(model):" in source
    assert "optimizer=tf.keras.optimizers.Adam(learning_rate=0.001)," in source
    assert "loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)," in source
    assert "compile_model" not in kspec.to_source(ROOT / "examples" / "siamese.yaml")


@tf_only
@pytest.mark.parametrize("target", TARGETS)
def test_compiled_multi_output_model_trains(target: str) -> None:
    """`compiled=True` applies the spec's compile: section (per-output losses and weights);
    one epoch of fit on random data runs and reports both outputs' losses."""
    pytest.importorskip("tensorflow")
    import numpy as np

    spec = kspec.load(ROOT / "examples" / "multi_io.yaml", vocab=50, embed=4)
    model = kspec.build_model(spec, target, compiled=True)
    rng = np.random.default_rng(0)
    x = {
        "title": rng.integers(0, 50, (16, 6)).astype("int32"),
        "meta": rng.standard_normal((16, 12)).astype("float32"),
    }
    y = {
        "priority": rng.integers(0, 2, (16, 1)).astype("float32"),
        "department": rng.integers(0, 4, (16,)).astype("int32"),
    }
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert {"loss", "priority_loss", "department_loss"} <= set(history.history)
    assert np.isfinite(history.history["loss"][0])
