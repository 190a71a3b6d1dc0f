"""How the names of an imported spec correspond to the names of the Keras model it came from.

A spec node's name is the Keras layer's name (:func:`spec_name`: characters other than letters,
digits and ``_`` become ``_``; a name that starts with a digit gets ``n_`` in front, since spec
names start with a letter). When ``kspec import`` groups repeated structure into blocks, a flat
layer ``conv2_block1_1_conv`` becomes the layer ``n_1_conv`` of the block instance
``conv2_block1``, and a nested Keras model ``encoder`` with a layer ``dense`` becomes the block
instance ``encoder`` with its layer ``dense``. One rule matches both: **two layers correspond
when their name paths have the same** :func:`weight_key`: the names joined with ``_``, each
cleaned like :func:`spec_name` does but without the ``n_`` it adds. So
``("conv2_block1", "n_1_conv")`` and ``("conv2_block1_1_conv",)`` both give
``conv2_block1_1_conv``, and ``("encoder", "dense")`` gives ``encoder_dense``.

TensorFlow-free: a loader that matches weights by name (a weights file of the original model)
uses :func:`weight_key` too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")
_NUMBERED = re.compile(r"\An_(?=[0-9])")


def spec_name(keras_name: str) -> str:
    """The spec name for a Keras layer, model or input name."""
    clean = _NOT_IDENTIFIER.sub("_", keras_name) or "n_"
    return "n_" + clean if clean[0].isdigit() else clean


def _part(name: str) -> str:
    return _NUMBERED.sub("", _NOT_IDENTIFIER.sub("_", name), count=1) if name else name


def weight_key(path: Sequence[str]) -> str:
    """The key under which the layer at ``path`` (its name, preceded by the names of the models
    or blocks that contain it) matches a layer of another model."""
    return "_".join(_part(name) for name in path)
