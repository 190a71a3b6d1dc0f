"""Mixed precision: Keras' dtype policy while a model is built, trained and compared.

``--dtype-policy mixed_float16`` (or ``mixed_bfloat16``) makes Keras' layers compute in 16 bits
and keep their weights in float32 (the usual way to train faster on GPUs and TPUs). Keras keeps
the policy per thread; ``using`` sets it for the length of a command and restores it. Two
models of the same spec built under a policy compute the same operations in the same precision,
but a 16-bit result is exact only to about 3 (float16) or 2 (bfloat16) significant digits, so
comparisons under a policy use the looser ``tolerance``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

POLICIES = ("mixed_float16", "mixed_bfloat16")
# largest difference two models' outputs may have and still agree, per policy (float32: None)
TOLERANCES = {None: 1e-5, "float32": 1e-5, "mixed_float16": 1e-2, "mixed_bfloat16": 6e-2}


def current() -> str | None:
    """The dtype policy in force (None for Keras' default, float32, or before Keras runs)."""
    import sys

    if "keras" not in sys.modules:
        return None
    name = str(sys.modules["keras"].config.dtype_policy().name)
    return None if name == "float32" else name


def tolerance() -> float:
    """The largest output difference that counts as agreement under the current policy."""
    return TOLERANCES.get(current(), TOLERANCES["mixed_bfloat16"])


@contextlib.contextmanager
def using(policy: str | None) -> Iterator[None]:
    """Run the block under Keras' dtype ``policy`` (None: leave the policy as it is)."""
    if policy is None:
        yield
        return
    if policy not in POLICIES:
        raise ValueError(f"unknown dtype policy {policy!r}; choose one of {', '.join(POLICIES)}")
    from kspec.compiler.runtime import require_keras

    keras = require_keras()
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)
