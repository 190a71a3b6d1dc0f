"""A cluster in miniature for the distributed tests: worker processes on 127.0.0.1, on ports
the test picks (free ones), each with its own ``TF_CONFIG``, run to completion with a timeout
(a hang guard, not a time assertion)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 300  # seconds: a run that has not stopped by then hangs


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports nothing listens on (bound together, then released)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def env(**extra: str) -> dict[str, str]:
    """The environment of a kspec subprocess running this worktree's kspec."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join([str(ROOT), out.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    out["TF_CPP_MIN_LOG_LEVEL"] = "2"
    out.pop("TF_CONFIG", None)
    out.update(extra)
    return out


def kspec(args: Sequence[str], cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """``python -m kspec ARGS`` in one process."""
    return subprocess.run(
        [sys.executable, "-m", "kspec", *args],
        cwd=cwd,
        env=env(**extra),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def workers(
    args_for: Sequence[Sequence[str]], cwd: Path, **extra: str
) -> list[subprocess.CompletedProcess[str]]:
    """Run one ``python -m kspec`` per entry of ``args_for`` as the workers of one cluster
    (``TF_CONFIG`` with free ports on 127.0.0.1); all are waited for, or killed at the
    timeout."""
    ports = free_ports(len(args_for))
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index, args in enumerate(args_for):
        config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "kspec", *args],
                cwd=cwd,
                env=env(TF_CONFIG=config, **extra),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    done = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=TIMEOUT)
            done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return done
