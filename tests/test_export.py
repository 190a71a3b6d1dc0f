"""``kspec export``: every example to SavedModel, ONNX and LiteRT, each checked by its runtime.

``kspec.export.export`` itself loads the artefact in its own runtime and compares its outputs
with the Keras model's on random inputs (KS912 beyond the tolerance); the tests here check that
it says what it did, and run the artefact once more themselves. What a format cannot take is
listed in ``LIMITS`` with the message the command gives, so that a change (a fixed converter,
a regression) shows. Then: writing is atomic (a failed export leaves no file and an existing
output as it was), missing packages are KS910, the CLI's output and exit statuses.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import kspec
from kspec.cli import main

pytestmark = pytest.mark.tf
ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
FORMATS = ("savedmodel", "onnx", "litert")
SUFFIX = {"savedmodel": "", "onnx": ".onnx", "litert": ".tflite"}

# (example, format) -> (code, start of the message): what cannot be exported as the spec stands
LIMITS = {
    # Keras' TimeDistributed traced over a free time axis loops over the batch size instead
    ("seq2seq", "savedmodel"): (
        "KS912",
        "the exported SavedModel's output 'output_0' has shape (2, 2, 8) where the Keras "
        "model's has (2, 3, 8)",
    ),
    ("seq2seq", "onnx"): (
        "KS912",
        "the exported ONNX model's output 'Identity:0' has shape (2, 2, 8) where the Keras "
        "model's has (2, 3, 8)",
    ),
    # LiteRT builtins: an LSTM's tensor lists need a fixed batch size (--batch-size 1)
    ("seq2seq", "litert"): ("KS911", "the litert converter cannot convert the model: "),
    ("multi_io", "litert"): ("KS911", "the litert converter cannot convert the model: "),
}


def _needs(fmt: str) -> None:
    for module in {"onnx": ["tf2onnx", "onnxruntime"], "litert": ["ai_edge_litert"]}.get(fmt, []):
        pytest.importorskip(module)


def _outputs(fmt: str, path: str, inputs: dict[str, Any]) -> list[Any]:
    """Run the artefact again, independently of kspec.export's own check."""
    import numpy as np

    if fmt == "savedmodel":
        import tensorflow as tf

        serve = tf.saved_model.load(path).signatures["serving_default"]
        out = serve(**{k: tf.constant(v) for k, v in inputs.items()})
    elif fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]
        out = dict(zip(names, session.run(names, inputs), strict=True))
    else:
        from ai_edge_litert.interpreter import Interpreter

        out = Interpreter(model_path=path).get_signature_runner()(**inputs)
    return [np.asarray(out[k]) for k in sorted(out)]


def _export_all(spec: kspec.Spec, folder: Path, batch_size: int | None = None) -> dict[str, Any]:
    """Each format's Exported, or the KspecError it raised."""
    import numpy as np

    from kspec.export import export
    from kspec.verify import sample_inputs

    model = kspec.build_model(spec)
    results: dict[str, Any] = {}
    for fmt in FORMATS:
        _needs(fmt)
        out = str(folder / f"{spec.name}{SUFFIX[fmt]}")
        try:
            results[fmt] = export(model, spec, fmt, out, batch_size=batch_size)
        except kspec.KspecError as exc:
            results[fmt] = exc
            assert not os.path.exists(out)
            continue
        assert results[fmt].max_difference <= 1e-4
        x = sample_inputs(spec, batch=batch_size or 3, seed=5)  # other inputs than the check's
        named = x if isinstance(x, dict) else {spec.graph.inputs[0].name: x}
        y = model(x, training=False)
        want = [np.asarray(y[k]) for k in sorted(y)] if isinstance(y, dict) else [np.asarray(y)]
        for a, b in zip(_outputs(fmt, out, named), want, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)
    assert sorted(os.listdir(folder)) == sorted(
        f"{spec.name}{SUFFIX[f]}" for f, r in results.items() if not isinstance(r, Exception)
    )  # nothing else: no temporary file or folder left behind
    return results


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_exports_to_every_format(path: Path, tmp_path: Path) -> None:
    results = _export_all(kspec.load(path), tmp_path)
    for fmt, result in results.items():
        limit = LIMITS.get((path.stem, fmt))
        if limit is None:
            assert not isinstance(result, Exception), result
            assert result.path.endswith(SUFFIX[fmt])
            continue
        assert isinstance(result, kspec.KspecError), f"{path.stem} {fmt} exports now: update LIMITS"
        (diag,) = result.diagnostics
        assert (diag.code, diag.message[: len(limit[1])]) == limit


def test_what_the_limits_need(tmp_path: Path) -> None:
    """seq2seq with its sizes given exports everywhere (LiteRT with a fixed batch size), and so
    does multi_io's LSTM with --batch-size 1."""
    text = (ROOT / "examples" / "seq2seq.yaml").read_text(encoding="utf-8")
    text = text.replace("{shape: [null, 8]}", "{shape: [$steps, 8]}")
    text = text.replace("  units: 32\n", "  units: 32\n  steps: 6\n")
    (tmp_path / "fixed").mkdir()
    results = _export_all(kspec.loads(text), tmp_path / "fixed", batch_size=1)
    assert all(not isinstance(r, Exception) for r in results.values()), results
    (tmp_path / "batch").mkdir()
    from kspec.export import export

    spec = kspec.load(ROOT / "examples" / "multi_io.yaml")
    _needs("litert")
    done = export(kspec.build_model(spec), spec, "litert", str(tmp_path / "batch" / "m.tflite"),
                  batch_size=1)  # fmt: skip
    assert done.inputs == ["title (1, None) int32", "meta (1, 12) float32"]
    assert done.outputs == ["department (1, 4) float32", "priority (1, 1) float32"]


def test_subclass_target_with_named_inputs(tmp_path: Path) -> None:
    """The subclass model's signature is the spec's, not Keras' guess (args_0, float32)."""
    from kspec.export import export

    spec = kspec.load(ROOT / "examples" / "multi_io.yaml")
    model = kspec.build_model(spec, "subclass")
    for fmt in ("savedmodel", "onnx"):
        _needs(fmt)
        done = export(model, spec, fmt, str(tmp_path / f"m{SUFFIX[fmt]}"))
        assert done.inputs == ["title (None, None) int32", "meta (None, 12) float32"]


SMALL = """\
kspec: 1
name: small
inputs:
  x: {shape: [4]}
layers:
  - {name: out, type: Dense, units: 2, activation: gelu}
outputs: out
"""


def test_cli_export_with_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Pretrained weights go into the artefact: the ONNX model computes the saved model's
    outputs (gelu: tf2onnx converts TensorFlow's Erfc through kspec's handler)."""
    import numpy as np

    _needs("onnx")
    import onnxruntime

    spec = tmp_path / "small.yaml"
    spec.write_text(SMALL, encoding="utf-8")
    trained = kspec.build_model(kspec.load(spec))
    trained.get_layer("out").kernel.assign(np.full((4, 2), 0.25, dtype="float32"))
    trained.save(tmp_path / "trained.keras")
    out = str(tmp_path / "small.onnx")
    capsys.readouterr()
    status = main(["export", str(spec), "-f", "onnx", "-o", out, "--weights",
                   str(tmp_path / "trained.keras")])  # fmt: skip
    err = capsys.readouterr().err
    assert status == 0, err
    lines = err.splitlines()
    assert lines[-4:-1] == [
        f"wrote {out} (onnx, from the functional model)",
        "  inputs:  x (None, 4) float32",
        "  outputs: Identity:0 (None, 2) float32",
    ]
    assert lines[-1].startswith("  checked with onnxruntime on random inputs: max difference ")
    assert lines[-1].endswith("(tolerance 0.0001, relative to the largest output, at least 1)")
    assert "  matched  out  " in err
    x = np.ones((1, 4), dtype="float32")
    (y,) = onnxruntime.InferenceSession(out).run(None, {"x": x})
    np.testing.assert_allclose(y, trained(x).numpy(), atol=1e-6)


def test_failed_export_writes_nothing_and_keeps_the_old_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _needs("litert")
    spec = tmp_path / "rnn.yaml"
    rnn = SMALL.replace("[4]", "[5, 4]").replace(
        "Dense, units: 2, activation: gelu", "LSTM, units: 3"
    )
    spec.write_text(rnn, encoding="utf-8")
    out = tmp_path / "rnn.tflite"
    out.write_bytes(b"previous")
    before = out.stat().st_mtime_ns
    status = main(["export", str(spec), "--format", "litert", "-o", str(out)])
    err = capsys.readouterr().err
    assert status == 1
    assert "error[KS911]: the litert converter cannot convert the model: ConverterError: " in err
    assert "pass --batch-size 1" in err
    assert err.endswith(f"kspec: nothing written to {out}\n")
    assert out.read_bytes() == b"previous" and out.stat().st_mtime_ns == before
    assert sorted(os.listdir(tmp_path)) == ["rnn.tflite", "rnn.yaml"]
    status = main(["export", str(spec), "--format", "litert", "-o", str(out), "--batch-size", "1"])
    assert status == 0, capsys.readouterr().err
    assert out.read_bytes()[4:8] == b"TFL3"  # a flatbuffer with LiteRT's identifier


def test_savedmodel_replaces_a_savedmodel_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "small.yaml"
    spec.write_text(SMALL, encoding="utf-8")
    out = tmp_path / "served"
    assert main(["export", str(spec), "--format", "savedmodel", "-o", str(out)]) == 0
    (out / "marker").write_text("old", encoding="utf-8")
    assert main(["export", str(spec), "--format", "savedmodel", "-o", str(out)]) == 0
    assert (out / "saved_model.pb").is_file() and not (out / "marker").exists()
    mine = tmp_path / "my_folder"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me", encoding="utf-8")
    capsys.readouterr()
    assert main(["export", str(spec), "--format", "savedmodel", "-o", str(mine)]) == 1
    assert "is not a SavedModel folder: kspec will not replace it" in capsys.readouterr().err
    assert (mine / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert sorted(os.listdir(tmp_path)) == ["my_folder", "served", "small.yaml"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "onnx", "-o", "model.tflite"], "a onnx file must end in .onnx"),
        (["--format", "litert", "-o", "no/such/m.tflite"], "no such folder: "),
    ],
)
def test_bad_output_paths(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    Path("small.yaml").write_text(SMALL, encoding="utf-8")
    _needs(argv[1])
    assert main(["export", "small.yaml", *argv]) == 1
    assert message in capsys.readouterr().err


def test_missing_exporter_is_ks910(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name)
    )
    spec = tmp_path / "small.yaml"
    spec.write_text(SMALL, encoding="utf-8")
    assert main(["export", str(spec), "--format", "onnx", "-o", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert "kspec: error[KS910]: exporting to onnx needs onnxruntime, which is not installed" in err
    assert "pip install 'kspec[export]'" in err
    assert sorted(os.listdir(tmp_path)) == ["small.yaml"]
