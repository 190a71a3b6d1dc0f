"""Time bounds that hold on any machine, loaded or not.

No test asserts an absolute time. A test that must show that some input cannot make kspec slow
(an alias bomb, a 5 MB file, a regular expression on a 10 kB string) bounds the CPU time of the
work by a multiple of a *reference workload measured in the same process*: 20 warm
``kspec check`` runs of examples/residual_cnn.yaml. A machine twice as slow is twice as slow at
both. The factors are
generous: bench/bounds.md gives each bound's measured ratio (``python bench/bounds.py``), and
every factor is at least five times that. A check over its bound is measured twice more and the
best of the three counts, so that one unlucky time slice cannot fail a test.

A child process (the CLI) is bounded the same way by its own CPU time (which what other
processes do to the machine does not change) relative to a small ``kspec check`` in a child
process (:func:`child_within`). ``HANG`` seconds guard every child against hanging forever: a
guard, never a performance bound.
"""

from __future__ import annotations

import functools
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import kspec

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_SPEC = ROOT / "examples" / "residual_cnn.yaml"
HANG = 600.0  # seconds: a child process that takes this long is hung, whatever the machine
T = TypeVar("T")


def _cpu(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.process_time()
    result = fn()
    return result, time.process_time() - start


REFERENCE_RUNS = 20  # checks of REFERENCE_SPEC in one reference workload (about 0.05 s)


def _reference_workload() -> None:
    for _ in range(REFERENCE_RUNS):
        kspec.check(REFERENCE_SPEC)


@functools.cache
def reference() -> float:
    """CPU seconds of the reference workload here and now: the best of 3 warm runs."""
    kspec.check(REFERENCE_SPEC)  # load the schema and build the validators first
    return min(_cpu(_reference_workload)[1] for _ in range(3))


def _report(what: str, ratio: float, factor: float) -> None:
    """With KSPEC_REPORT_BOUNDS set, print a bound's measured ratio for bench/bounds.py."""
    if os.environ.get("KSPEC_REPORT_BOUNDS"):
        test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0].split("[")[0]
        print(f"\nBOUND\t{test}\t{factor:g}\t{ratio:.4f}\t{what}")


def within(fn: Callable[[], T], factor: float, what: str = "") -> T:
    """Run ``fn`` (idempotent: it may run up to three times) and assert that its CPU time is
    under ``factor`` times :func:`reference`; returns its result."""
    result, elapsed = _cpu(fn)
    budget = factor * reference()
    for _ in range(2):
        if elapsed < budget:
            break
        result, again = _cpu(fn)
        elapsed = min(elapsed, again)
    _report(what, elapsed / reference(), factor)
    assert elapsed < budget, (
        f"{what or 'the work'} took {elapsed:.3f} s CPU, {elapsed / reference():.1f} times the "
        f"reference workload ({reference():.4f} s); the bound is {factor:g} times"
    )
    return result


def run_child(argv: list[str], **kwargs: Any) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run a child process to its end (``HANG`` guards against a hang); returns it and the CPU
    seconds it used (user and system: what other processes do to the machine does not count)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(argv, timeout=HANG, **kwargs)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return proc, cpu


@functools.cache
def cli_reference() -> float:
    """CPU seconds of ``kspec check examples/mnist_mlp.yaml`` in a child process (interpreter
    start-up and imports included): the best of 3."""
    argv = [sys.executable, "-m", "kspec", "check", str(ROOT / "examples" / "mnist_mlp.yaml")]
    return min(run_child(argv, capture_output=True, check=True)[1] for _ in range(3))


def child_within(
    argv: list[str], factor: float, what: str = "", **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run a child process and assert that its CPU time is under ``factor`` times
    :func:`cli_reference` (measured up to three times, the best counting, like
    :func:`within`); returns the process."""
    proc, cpu = run_child(argv, **kwargs)
    budget = factor * cli_reference()
    for _ in range(2):
        if cpu < budget:
            break
        proc, again = run_child(argv, **kwargs)
        cpu = min(cpu, again)
    _report(what, cpu / cli_reference(), factor)
    assert cpu < budget, (
        f"{what or ' '.join(argv)} took {cpu:.2f} s CPU, {cpu / cli_reference():.1f} times "
        f"`kspec check` of a small spec ({cli_reference():.3f} s); the bound is {factor:g} times"
    )
    return proc
