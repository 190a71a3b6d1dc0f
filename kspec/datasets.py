"""Small synthetic data sets in Keras' MNIST layout, for examples and tests (no download).

``synthetic_mnist()`` returns ``(x_train, y_train), (x_test, y_test)`` like
``keras.datasets.mnist.load_data()``: 28x28 float images and integer labels 0..9. Each class is
a fixed random prototype image plus noise, so a small MLP separates the classes in a few
epochs; accuracy far above chance (10 %) shows that training works.

Write one to a file with ``python -m kspec.datasets synthetic_mnist.npz``; for real MNIST, see
docs/tutorial.md.
"""

from __future__ import annotations

import sys
from typing import Any


def synthetic_mnist(
    n_train: int = 1024, n_test: int = 256, noise: float = 1.0, seed: int = 0
) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """Ten classes of 28x28 images in [0, 1]: a class prototype plus Gaussian noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    prototypes = (rng.random((10, 28, 28)) > 0.5).astype("float32")

    def make(n: int) -> tuple[Any, Any]:
        labels = rng.integers(0, 10, size=n).astype("int64")
        images = prototypes[labels] + noise * rng.standard_normal((n, 28, 28)).astype("float32")
        return np.clip(images, 0.0, 1.0).astype("float32"), labels

    return make(n_train), make(n_test)


def save_npz(path: str, data: tuple[tuple[Any, Any], tuple[Any, Any]]) -> None:
    """Save in the layout ``kspec fit --data`` reads: x_train, y_train, x_test, y_test."""
    import numpy as np

    (x_train, y_train), (x_test, y_test) = data
    np.savez_compressed(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m kspec.datasets OUTPUT.npz", file=sys.stderr)
        return 2
    save_npz(args[0], synthetic_mnist())
    print(f"wrote {args[0]} (synthetic MNIST: 1024 train, 256 test images)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
