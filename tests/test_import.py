"""`kspec import`: a Keras model -> a readable spec -> both targets, which match the original
(parameter counts, output shapes, and outputs after copying the original's weights by name)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import kspec
from kspec.cli import main
from kspec.spec.ir import BlockNode

pytestmark = pytest.mark.tf
ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden" / "import"
UPDATE = os.environ.get("KSPEC_UPDATE_GOLDEN") == "1"
REGENERATE = "KSPEC_UPDATE_GOLDEN=1 pytest tests/test_import.py -k golden"
GUIDES = "kspec_guide_models"


@pytest.fixture(autouse=True)
def fixture_path(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tensorflow")
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "fixtures"))


def round_trip(
    source: str, tmp_path: Path, *flags: str, capsys: pytest.CaptureFixture[str] | None = None
) -> tuple[kspec.Spec, str]:
    """Import ``source`` with the CLI, check the spec, rebuild both targets and compare each
    with the original."""
    from kspec import importer
    from kspec.importer.roundtrip import compare

    out = tmp_path / "imported.yaml"
    assert main(["import", source, "-o", str(out), *flags]) == 0
    text = out.read_text()
    spec = kspec.load(out)
    allow = [f for f in flags if f != "--allow-import"]
    allow += [m for m in [importer.source_module(source)] if m]  # naming it is permission
    result = compare(importer.load_model(source, allow), spec, allow)
    assert result.ok, result.problems
    assert result.params["functional"] == result.params["subclass"] == result.original_params
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


def test_names_a_spec_cannot_take_are_cleaned_and_weights_still_match(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, text = round_trip("kspec_import_models:odd_names", tmp_path)
    assert "  - {name: a_b, type: Dense, units: 3}" in text
    assert "  - {name: n_1st, type: Dense, units: 3}" in text
    assert "outputs: {out_1: inputs, class: class}" in text
    assert "warning[KS914]: model 'functional" in capsys.readouterr().err


def test_keras_file(tmp_path: Path) -> None:
    import kspec_import_models

    path = tmp_path / "small.keras"
    kspec_import_models.small().save(path)
    round_trip(str(path), tmp_path)


# -- the Keras guides: Sequential, nested, shared, custom ---------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        "sequential_named",  # built by a first call on data: batch size 3
        "sequential_cnn",
        "feature_extractor",  # a Functional model over a Sequential model's graph
        "transfer",  # a frozen Functional model nested in a Sequential one
        "mnist_mlp",
        "autoencoder",  # two nested models
        "ensemble",  # three nested models of one architecture
        "siamese",  # one nested model applied twice
        "tickets",
        "toy_resnet",
        "shared_embedding",
    ],
)
def test_guide_models(model: str, tmp_path: Path) -> None:
    round_trip(f"{GUIDES}:{model}", tmp_path)


@pytest.mark.parametrize(
    ("model", "block", "repeat", "layers", "lines"),
    [
        ("timeseries_transformer", "multi_head_attention_block", 4, 9, 26),
        ("vit_encoder", "multi_head_attention_block", 3, 9, 26),
    ],
)
def test_a_transformer_with_made_up_names_reads_as_one_repeated_block(
    model: str,
    block: str,
    repeat: int,
    layers: int,
    lines: int,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """keras.io's Transformers call a Python function per layer: the names Keras made up say
    nothing, the structure repeats; the layers inside are matched with the original's by order."""
    spec, text = round_trip(f"{GUIDES}:{model}", tmp_path)
    [found] = spec.blocks
    assert (found.name, len(found.graph.nodes)) == (block, layers)
    [node] = [n for n in spec.graph.nodes if isinstance(n, BlockNode)]
    assert (node.name, node.block, node.repeat) == (block, block, repeat)
    assert len(text.splitlines()) == lines
    assert "import it with --flat" in capsys.readouterr().err


def test_unet_stages_read_as_blocks_with_their_filters(tmp_path: Path) -> None:
    """keras.io "Image segmentation with a U-Net-like architecture": four stages up, three
    down, built in loops over the filters: two blocks with a param each."""
    spec, text = round_trip(f"{GUIDES}:unet", tmp_path)
    assert [(b.name, b.graph.params) for b in spec.blocks] == [
        ("separable_conv_block", (("filters", 64),)),
        ("conv_transpose_block", (("filters", 256),)),
    ]
    assert "  - {name: separable_conv2d_block_3, block: separable_conv_block, filters: 256}" in text
    assert "  - {name: conv2d_transpose_block_4, block: conv_transpose_block, filters: 32}" in text
    assert len(text.splitlines()) == 48


def test_sequential_is_a_chain_without_inputs(tmp_path: Path) -> None:
    _, text = round_trip(f"{GUIDES}:sequential_named", tmp_path)
    assert text.splitlines()[3:] == [
        "inputs:",
        "  x: {shape: [3], batch_size: 3}",
        "layers:",
        "  - {name: layer1, type: Dense, units: 2, activation: relu}",
        "  - {name: layer2, type: Dense, units: 3, activation: relu}",
        "  - {name: layer3, type: Dense, units: 4}",
        "outputs: layer3",
    ]


def test_nested_models_become_blocks_named_like_them(tmp_path: Path) -> None:
    spec, text = round_trip(f"{GUIDES}:transfer", tmp_path)
    assert [b.name for b in spec.blocks] == ["base"]
    assert "  - {name: base, block: base}" in text
    # the nested model was frozen: so are its layers
    assert (
        "      - {name: conv, type: Conv2D, filters: 8, kernel_size: 3, activation: relu, " in text
    )
    assert "trainable: false}" in text.split("name: conv,")[1].splitlines()[0]


def test_a_nested_model_applied_twice_is_written_out_with_shares(tmp_path: Path) -> None:
    _, text = round_trip(f"{GUIDES}:siamese", tmp_path)
    assert text.splitlines()[7:12] == [
        "  - {name: embedding_hidden, type: Dense, units: 8, activation: relu, inputs: left}",
        "  - {name: embedding_code, type: Dense, units: 4}",
        "  - {name: embedding_hidden_1, share: embedding_hidden, inputs: right}",
        "  - {name: embedding_code_1, share: embedding_code}",
        "  - {name: distance, type: Subtract, inputs: [embedding_code, embedding_code_1]}",
    ]


def test_custom_layers_need_permission_and_keep_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "custom.keras"
    import kspec_guide_models

    kspec_guide_models.custom_layers().save(model)
    assert main(["import", str(model)]) == 2  # the classes are not registered without it
    capsys.readouterr()
    # naming module:function is permission for that module's own classes
    spec, text = round_trip(f"{GUIDES}:custom_layers", tmp_path)
    assert "imports: [kspec_guide_models]" in text
    assert "  - {name: linear, type: kspec_guide_models.Linear, units: 16}" in text
    assert "note: the spec's custom layers need --allow-import kspec_guide_models" in (
        capsys.readouterr().err
    )
    with pytest.raises(kspec.KspecError) as info:
        kspec.build_model(spec)
    assert [d.code for d in info.value.diagnostics] == ["KS903"]
    round_trip(str(model), tmp_path, "--allow-import", GUIDES)


def test_random_custom_layer_outputs_are_compared_by_shape(tmp_path: Path) -> None:
    import kspec_guide_models
    import numpy as np

    from kspec.importer import to_spec
    from kspec.importer.weights import copy_weights

    original = kspec_guide_models.vae_encoder()
    spec = kspec.loads(to_spec(original, allow_imports=[GUIDES]))
    x = np.random.default_rng(0).standard_normal((2, 784)).astype("float32")
    expected = original(x)
    for target in ("functional", "subclass"):
        rebuilt = kspec.build_model(spec, target, allow_imports=[GUIDES])
        copy_weights(original, rebuilt)
        got = rebuilt(x)
        for a, b in zip(expected[:2], got[:2], strict=True):  # z_mean, z_log_var
            assert np.allclose(a, b, atol=1e-6)
        assert got[2].shape == expected[2].shape  # z: a random sample


# -- what kspec cannot express: clean errors -----------------------------------------------------


@pytest.mark.parametrize(
    ("model", "code", "words"),
    [
        ("lambda_layer", "KS914", "Lambda layer 'double': it runs arbitrary Python code"),
        ("no_name_layer", "KS914", "NoName.__init__ takes no `name` argument"),
        ("sequential_unbuilt", "KS906", "has no input shape yet"),
        ("empty", "KS914", "model 'empty' has no layers"),
        (
            "unsupported_op",
            "KS914",
            "kspec cannot express it: keras.ops.diagonal is not one of the tensor ops",
        ),
    ],
)
def test_what_cannot_be_imported_is_a_clean_error(
    model: str, code: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", f"{GUIDES}:{model}"]) == 2
    err = capsys.readouterr().err
    assert f"error[{code}]" in err and words in err, err
    assert "internal error" not in err


def test_a_custom_layer_from_a_module_not_allowed_says_which_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import kspec_guide_models

    from kspec.importer import import_model

    with pytest.raises(kspec.KspecError) as info:
        import_model(kspec_guide_models.custom_layers())
    [d] = info.value.diagnostics
    assert d.code == "KS903"
    assert "Linear layer 'linear': it is the custom layer kspec_guide_models.Linear" in d.message
    assert d.hint == "if you trust the module, pass --allow-import kspec_guide_models"


def test_a_subclassed_model_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "kspec_import_models:subclassed"]) == 2
    err = capsys.readouterr().err
    assert "error[KS906]: Net is not a Functional or Sequential model" in err


def test_bad_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "no_such_module_x:f"]) == 2
    assert "error[KS906]: cannot import no_such_module_x:f" in capsys.readouterr().err


# -- keras.ops calls and the larger applications ------------------------------------------------


def _golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.yaml"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing {path}; regenerate with {REGENERATE}"
    assert text == path.read_text(), f"{path} is stale; regenerate with {REGENERATE}"


def test_ops_golden() -> None:
    """`x + 3.0`, `x * y`, `1.0 - x`, keras.ops.concatenate / expand_dims / transpose."""
    import kspec_guide_models

    from kspec.importer import to_spec

    _golden("hard_swish_block", to_spec(kspec_guide_models.hard_swish_block()))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ConvNeXtTiny", "MobileNetV3Small"])
def test_applications_with_ops_golden(name: str) -> None:
    import keras

    from kspec.importer import to_spec

    model = getattr(keras.applications, name)(weights=None)
    _golden(name, to_spec(model, allow_imports=["keras.src.applications.convnext"]))


@pytest.mark.slow
def test_resnet50_reads_as_blocks(tmp_path: Path) -> None:
    spec, text = round_trip("kspec_import_models:resnet50", tmp_path)
    assert len(text.splitlines()) < 150
    assert kspec.build_model(spec).count_params() == 25_636_712
    assert [b.name for b in spec.blocks] == ["conv_block", "conv_block_2"]
    assert "  - {name: conv2_block1, block: conv_block, strides: 1}" in text


@pytest.mark.slow
@pytest.mark.parametrize("name", ["efficientnet_v2_b0"])
def test_keras_applications(name: str, tmp_path: Path) -> None:
    spec, _ = round_trip(f"kspec_import_models:{name}", tmp_path)
    assert spec.blocks


def test_the_sequential_stack_of_the_language_doc_is_what_import_writes(tmp_path: Path) -> None:
    """docs/language.md, "A Sequential stack": the Keras model and the spec shown there."""
    import keras
    from keras import layers

    from kspec.importer import to_spec

    doc = (ROOT / "docs" / "language.md").read_text()
    section = doc.split("### 5.1 A Sequential stack")[1].split("## 6.")[0]
    shown = section.split("```yaml\n")[1].split("```")[0]
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1), name="image"),
            layers.Conv2D(32, 3, activation="relu", name="conv"),
            layers.MaxPooling2D(3, name="pool"),
            layers.Flatten(name="flat"),
            layers.Dense(10, activation="softmax", name="probs"),
        ],
        name="stack",
    )
    imported = to_spec(model)
    assert imported.splitlines()[1:] == shown.splitlines()
    spec = kspec.loads(shown)
    assert kspec.build_model(spec).count_params() == model.count_params()
