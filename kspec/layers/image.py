"""Image preprocessing and augmentation layers: resizing and cropping to a size, and the
augmentations, which keep the image's shape (they transform only in training).
"""

from __future__ import annotations

from typing import Any

from kspec.layers.args import (
    DATA_FORMAT_ARG,
    IMG,
)
from kspec.layers.base import (
    Call,
    Example,
    Layer,
    Shapes,
    Unknown,
    channels_first,
    identity,
    register,
    to_int,
)
from kspec.schemas.types import (
    BOOL,
    INTERPOLATION,
    NUMBER,
    POS_INT,
    arg,
    enum,
)


def _resizing(c: Call) -> Shapes:
    h, w = to_int(c.arg("height")), to_int(c.arg("width"))
    x = c.x
    if len(x) != 4:
        raise Unknown  # Keras reads other ranks as unbatched images: not a model's tensor
    return [(x[0], x[1], h, w) if channels_first(c) else (x[0], h, w, x[3])]


# The augmentations (and the other layers that keep an image's shape), with the arguments
# their coverage example needs.
_FACTOR = {"factor": 0.1}
_AUGMENTATIONS: dict[str, dict[str, Any]] = {
    "AugMix": {},
    "AutoContrast": {},
    "ContrastLimitedAdaptiveHistogramEqualization": {},
    "CutMix": {},
    "Equalization": {},
    "MaxNumBoundingBoxes": {"max_number": 2},
    "MixUp": {},
    "RandAugment": {},
    "RandomBrightness": _FACTOR,
    "RandomColorDegeneration": _FACTOR,
    "RandomColorJitter": {},
    "RandomContrast": _FACTOR,
    "RandomElasticTransform": {},
    "RandomErasing": {},
    "RandomFlip": {},
    "RandomGaussianBlur": {},
    "RandomGrayscale": {},
    "RandomHue": _FACTOR,
    "RandomInvert": {},
    "RandomPerspective": {},
    "RandomPosterization": {"factor": [1, 4], "value_range": [0, 255]},
    "RandomRotation": _FACTOR,
    "RandomSaturation": _FACTOR,
    "RandomSharpness": _FACTOR,
    "RandomShear": {},
    "RandomTranslation": {"height_factor": 0.1, "width_factor": 0.1},
    "RandomZoom": {"height_factor": 0.1},
    "Solarization": {},
}
# Known problems of the installed Keras.
_NOTES = {
    "Equalization": "Keras 3.15 bug: its compute_output_spec returns its input tensor, so the "
    "functional target fails ('part of a cycle'); the subclass target works",
}

register(
    "image",
    Layer(
        "Resizing",
        doc="Resizes images to a target size (height, width).",
        args={
            "height": arg(POS_INT, "Height of the output."),
            "width": arg(POS_INT, "Width of the output."),
            "interpolation": arg(
                INTERPOLATION,
                "Interpolation method; 'area' only with the TensorFlow backend "
                "(default: 'bilinear').",
            ),
            "crop_to_aspect_ratio": arg(
                BOOL,
                "Resize without aspect ratio distortion by cropping the largest centred window "
                "with the target aspect ratio (default: false).",
            ),
            "pad_to_aspect_ratio": arg(
                BOOL,
                "Resize without aspect ratio distortion by padding the short side evenly "
                "(default: false).",
            ),
            "fill_mode": arg(
                enum("constant"),
                "How padded areas are filled with pad_to_aspect_ratio; only 'constant' is "
                "supported (default: 'constant').",
            ),
            "fill_value": arg(NUMBER, "Padding value with pad_to_aspect_ratio (default: 0.0)."),
            "antialias": arg(
                BOOL, "Use an anti-aliasing filter when downsampling (default: false)."
            ),
            "data_format": DATA_FORMAT_ARG,
        },
        required=("height", "width"),
        call_args=("data", "training"),
        shape=_resizing,
        example=Example(IMG, {"height": 4, "width": 4}),
    ),
    *(
        Layer(name, shape=_resizing, example=Example(IMG, {"height": 4, "width": 4}))
        for name in ("CenterCrop", "RandomCrop")
    ),
    *(
        Layer(name, shape=identity, example=Example(IMG, args), note=_NOTES.get(name, ""))
        for name, args in _AUGMENTATIONS.items()
    ),
)
