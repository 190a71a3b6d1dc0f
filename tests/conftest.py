"""Shared test configuration: the Hypothesis profiles.

Choose one with the environment variable HYPOTHESIS_PROFILE (default ``ci``):

* ``ci``: 100 examples per property, no deadline (a Keras build takes a few hundred ms), the
  same examples on every run;
* ``thorough``: 1,000 examples, for a long fuzzing run before a release;
* ``dev``: 20 examples, for a quick local loop;
* ``ci-jax``: ci with 25 examples, what the JAX run of the agreement property uses under ci.
"""

from __future__ import annotations

import os

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis comes with the dev extra; tests that need it skip
    pass
else:
    _SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]
    # ci: the same examples on every run (a CI result must not depend on luck); thorough and
    # dev draw new ones each time.
    settings.register_profile(
        "ci",
        max_examples=100,
        deadline=None,
        suppress_health_check=_SLOW,
        print_blob=True,
        derandomize=True,
    )
    settings.register_profile(
        "thorough", max_examples=1000, deadline=None, suppress_health_check=_SLOW
    )
    settings.register_profile("dev", max_examples=20, deadline=None, suppress_health_check=_SLOW)
    # the agreement property under JAX in CI (tests/test_property.py): a quarter of ci's examples
    settings.register_profile("ci-jax", settings.get_profile("ci"), max_examples=25)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
