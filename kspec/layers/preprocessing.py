"""Preprocessing layers for numbers, categories and text: rescaling, normalization,
discretization, category encoding, hashing, lookups, text vectorization, spectrograms.

The lookup layers' state normally comes from ``adapt()``: kspec allows them with that state
given as arguments. A vocabulary is a list: Keras also reads a file path there, which kspec
refuses (a spec never makes Keras read files).
"""

from __future__ import annotations

from kspec.layers.args import (
    IMG,
    STRINGS,
    TOKENS,
    VEC,
)
from kspec.layers.base import (
    Call,
    Count,
    Example,
    Layer,
    Shapes,
    Unknown,
    choice,
    identity,
    register,
    to_int,
)
from kspec.layers.normalization import axes_size
from kspec.schemas.types import (
    INT,
    NUMBER,
    STRING,
    arg,
    enum,
    list_of,
    nullable,
)

_INT_PAIR = {"a": {"shape": [1], "dtype": "int32"}, "b": {"shape": [1], "dtype": "int32"}}
_TEXT = {"x": {"shape": [1], "dtype": "string"}}


def _normalization_weights(c: Call) -> Count:
    if c.arg("mean") is not None:
        return 0, 0  # given mean and variance are constants, not weights
    # the mean and variance over the kept axes, and a scalar count
    return 0, 2 * axes_size(c, none_ok=True) + 1


def _stft_weights(c: Call) -> Count:
    """A real and an imaginary kernel (one of them in mode ``imag``/``real``), each
    ``(frame_length, 1, fft_length // 2 + 1)``; ``fft_length`` defaults to the power of two at
    or above ``frame_length``."""
    frame = to_int(c.arg("frame_length", 256))
    fft = c.arg("fft_length") or 1 << max(frame - 1, 0).bit_length()
    kernels = 1 if c.arg("mode", "log") in ("real", "imag") else 2
    return kernels * frame * (to_int(fft) // 2 + 1), 0


def _stft_macs(c: Call) -> int:
    """A strided 1-D convolution of each frame with each kernel: frames x frame_length x
    frequencies x kernels."""
    count, _ = _stft_weights(c)
    frame, time = to_int(c.arg("frame_length", 256)), c.x[1]
    if not isinstance(time, int):
        raise Unknown
    step = to_int(c.arg("frame_step") or frame // 2)
    frames = -(-time // step) if c.arg("padding", "valid") == "same" else (time - frame) // step + 1
    return max(frames, 0) * count


def _category_encoding(c: Call) -> Shapes:
    """Keras' compute_output_shape: the last axis becomes ``num_tokens`` (``one_hot`` adds an
    axis unless the last one is 1)."""
    x, tokens = c.x, to_int(c.arg("num_tokens"))
    mode = choice(c.arg("output_mode", "multi_hot"), "one_hot", "multi_hot", "count")
    if mode == "one_hot" and (x[-1] != 1 or len(x) == 1):
        return [(*x, tokens)]
    return [(*x[:-1], tokens)]


def _int_lookup(c: Call) -> Shapes:
    """Index lookups and hashing in ``int`` mode keep the input's shape."""
    if (
        choice(c.arg("output_mode", "int"), "int", "one_hot", "multi_hot", "count", "tf_idf")
        != "int"
    ):
        raise Unknown
    return [c.x]


def _text_vectorization(c: Call) -> Shapes:
    """``int`` mode with ``output_sequence_length``: (batch, length) for one string per row."""
    x, length = c.x, c.arg("output_sequence_length")
    if c.arg("output_mode", "int") != "int" or length is None or len(x) != 2 or x[1] != 1:
        raise Unknown
    return [(x[0], to_int(length))]


register(
    "preprocessing",
    Layer(
        "Rescaling",
        doc="Rescales input values to a new range: `inputs * scale + offset`.",
        args={
            "scale": arg(
                {"anyOf": [NUMBER, list_of(NUMBER, 1)]},
                "Scale to multiply the inputs by (a number, or one per channel).",
            ),
            "offset": arg(
                {"anyOf": [NUMBER, list_of(NUMBER, 1)]},
                "Offset to add to the inputs (a number, or one per channel) (default: 0.0).",
            ),
        },
        required=("scale",),
        call_args=("inputs",),
        shape=identity,
        example=Example(IMG, {"scale": 0.5}),
    ),
    Layer(
        "Normalization",
        note="give `mean` and `variance`, or call adapt() before use",
        shape=identity,
        weights=_normalization_weights,
        example=Example(VEC, {"mean": 0.5, "variance": 2.0}),
    ),
    Layer(
        "Discretization",
        note="give `bin_boundaries`, or call adapt() (with `num_bins`) before use",
        shape=_int_lookup,
        example=Example(VEC, {"bin_boundaries": [0.0, 1.0]}),
    ),
    Layer(
        "CategoryEncoding",
        shape=_category_encoding,
        example=Example(TOKENS, {"num_tokens": 10}),
    ),
    Layer(
        "Hashing",
        shape=_int_lookup,
        example=Example(STRINGS, {"num_bins": 5}),
    ),
    Layer(
        "HashedCrossing",
        doc="Crosses two categorical features (a list of two tensors) by hashing.",
        inputs="many",
        min_inputs=2,
        max_inputs=2,
        example=Example(_INT_PAIR, {"num_bins": 5}, ["a", "b"]),
    ),
    Layer(
        "StringLookup",
        args={
            "vocabulary": arg(
                nullable(list_of(STRING)),
                "The vocabulary, a list of strings (a file path is not accepted: kspec never "
                "makes Keras read files) (default: null: call adapt() before use).",
            ),
            "idf_weights": arg(
                nullable(list_of(NUMBER)),
                "With output_mode 'tf_idf' only: the inverse document frequency weights, one "
                "per vocabulary term (default: null).",
            ),
        },
        note="give `vocabulary` (a list of strings), or call adapt() before use",
        shape=_int_lookup,
        example=Example(STRINGS, {"vocabulary": ["a", "b"]}),
    ),
    Layer(
        "IntegerLookup",
        args={
            "vocabulary": arg(
                nullable(list_of(INT)),
                "The vocabulary, a list of integers (a file path is not accepted: kspec never "
                "makes Keras read files) (default: null: call adapt() before use).",
            ),
            "idf_weights": arg(
                nullable(list_of(NUMBER)),
                "With output_mode 'tf_idf' only: the inverse document frequency weights, one "
                "per vocabulary term (default: null).",
            ),
        },
        note="give `vocabulary` (a list of integers), or call adapt() before use",
        shape=_int_lookup,
        example=Example({"x": {"shape": [3], "dtype": "int64"}}, {"vocabulary": [1, 2, 3]}),
    ),
    Layer(
        "TextVectorization",
        args={
            "standardize": arg(
                nullable(enum("lower_and_strip_punctuation", "lower", "strip_punctuation")),
                "Standardization applied to the input text; null for none "
                "(default: 'lower_and_strip_punctuation').",
            ),
            "split": arg(
                nullable(enum("whitespace", "character")),
                "How the text is split into tokens; null for no splitting (default: 'whitespace').",
            ),
            "output_mode": arg(
                enum("int", "multi_hot", "count", "tf_idf"),
                "The output: token indices ('int'), or one vector per text ('multi_hot', "
                "'count', 'tf_idf') (default: 'int').",
            ),
            "vocabulary": arg(
                nullable(list_of(STRING)),
                "The vocabulary, a list of strings (a file path is not accepted: kspec never "
                "makes Keras read files) (default: null: call adapt() before use).",
            ),
            "idf_weights": arg(
                nullable(list_of(NUMBER)),
                "With output_mode 'tf_idf' only: the inverse document frequency weights, one "
                "per vocabulary term (default: null).",
            ),
        },
        note="give `vocabulary` (a list of strings), or call adapt() before use",
        shape=_text_vectorization,
        example=Example(_TEXT, {"vocabulary": ["a", "b"], "output_sequence_length": 4}),
    ),
    Layer(
        "MelSpectrogram",
        example=Example({"x": {"shape": [2048]}}),
    ),
    Layer(
        "STFTSpectrogram",
        note="building it needs scipy",
        weights=_stft_weights,
        macs=_stft_macs,
        example=Example({"x": {"shape": [2048, 1]}}),
    ),
)
