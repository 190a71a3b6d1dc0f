"""`kspec import`: a Keras Functional model -> a readable spec -> both targets, which match the
original (parameter counts, output shapes, and outputs with the original weights)."""

from __future__ import annotations

from pathlib import Path

import pytest

import kspec
from kspec.cli import main

pytestmark = pytest.mark.tf
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fixture_path(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tensorflow")
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "fixtures"))


def round_trip(source: str, tmp_path: Path) -> tuple[kspec.Spec, str]:
    """Import ``source``, check the spec, build both targets and compare with the original."""
    import numpy as np

    from kspec import importer
    from kspec.compiler.runtime import copy_weights
    from kspec.verify import max_difference, output_shapes, sample_inputs, verify

    out = tmp_path / "imported.yaml"
    assert main(["import", source, "-o", str(out)]) == 0
    text = out.read_text()
    spec = kspec.load(out)
    original = importer.load_model(source)
    rebuilt = kspec.build_model(spec, "functional")
    assert rebuilt.count_params() == original.count_params()
    assert output_shapes(spec, rebuilt) == output_shapes(spec, original)
    copy_weights(original, rebuilt)
    x = sample_inputs(spec)
    assert max_difference(original(x, training=False), rebuilt(x, training=False)) <= 1e-5
    result = verify(spec, roundtrip=False)  # and the subclass target agrees with the functional
    assert result.ok, result.problems
    assert np.isfinite(result.max_difference)
    return spec, text


def test_small_model(tmp_path: Path) -> None:
    spec, text = round_trip("kspec_import_models:small", tmp_path)
    lines = text.splitlines()
    # the first node takes the input it names, the shared Dense becomes a share node,
    # a chain omits inputs, LSTM states are node[i] references in an inputs mapping
    assert "  - {name: d, type: Dense, units: 4, activation: relu, inputs: x}" in lines
    assert "  - {name: d_1, share: d, inputs: y}" in lines
    assert "  - {name: reshape, type: Reshape, target_shape: [2, 4]}" in lines
    assert (
        "  - {name: dec, type: LSTM, units: 3, inputs: {sequences: reshape, initial_state: "
        "['enc[1]', 'enc[2]']}}"
    ) in lines
    assert "outputs: {out: out, aux: flat}" in lines
    assert "kernel_initializer: {type: HeNormal, seed: 3}" in text
    assert [n.name for n in spec.graph.nodes][:3] == ["d", "d_1", "cat"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2"])
def test_keras_applications(name: str, tmp_path: Path) -> None:
    spec, _ = round_trip(f"kspec_import_models:{name}", tmp_path)
    assert len(spec.graph.nodes) > 150


def test_keras_file(tmp_path: Path) -> None:
    import kspec_import_models

    path = tmp_path / "small.keras"
    kspec_import_models.small().save(path)
    round_trip(str(path), tmp_path)


def test_a_subclassed_model_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "kspec_import_models:subclassed"]) == 2
    err = capsys.readouterr().err
    assert "error[KS906]: Net is not a Functional model" in err


def test_bad_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "no_such_module_x:f"]) == 2
    assert "error[KS906]: cannot import no_such_module_x:f" in capsys.readouterr().err
