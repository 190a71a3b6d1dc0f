"""Regularization layers: dropout (plain, spatial, Gaussian, alpha), Gaussian noise, activity
regularization. Each passes its input through unchanged in shape and creates no weights.
"""

from __future__ import annotations

from kspec.layers.args import (
    BY_RANK,
    VEC,
)
from kspec.layers.base import (
    Example,
    Layer,
    identity,
    register,
)
from kspec.schemas.types import (
    POS_INT,
    RATE,
    SEED,
    arg,
    list_of,
    nullable,
)

_RATE = {"rate": 0.5}

register(
    "regularization",
    Layer(
        "Dropout",
        doc="Applies dropout to the input (only during training).",
        args={
            "rate": arg(RATE, "Fraction of the input units to drop."),
            "noise_shape": arg(
                nullable(list_of(nullable(POS_INT), 1)),
                "Shape of the binary dropout mask, e.g. [null, 1, features] to share the mask "
                "across timesteps; null entries take the input's size (default: null).",
            ),
            "seed": arg(SEED, "Random seed (default: null)."),
        },
        required=("rate",),
        call_args=("inputs", "training"),
        shape=identity,
        example=Example(VEC, _RATE),
    ),
    *(
        Layer(f"SpatialDropout{r}D", shape=identity, example=Example(BY_RANK[r], _RATE))
        for r in (1, 2, 3)
    ),
    Layer("GaussianDropout", shape=identity, example=Example(VEC, _RATE)),
    Layer("GaussianNoise", shape=identity, example=Example(VEC, {"stddev": 0.1})),
    Layer("AlphaDropout", shape=identity, example=Example(VEC, _RATE)),
    Layer("ActivityRegularization", shape=identity, example=Example(VEC)),
)
