"""Write a chained spec of N Dense + Add residual layers (the shape used in bench/ and tests)."""

from __future__ import annotations

import sys


def chain_spec(n: int, width: int = 8) -> str:
    lines = [
        "kspec: 1",
        f"name: chain_{n}",
        "inputs:",
        f"  x: {{shape: [{width}]}}",
        "layers:",
        f"  - {{name: l0, type: Dense, units: {width}}}",
    ]
    for i in range(1, n):
        if i % 2:
            lines.append(f"  - {{name: l{i}, type: Dense, units: {width}, activation: relu}}")
        else:
            lines.append(f"  - {{name: l{i}, type: Add, inputs: [l{i - 1}, l{i - 2}]}}")
    lines.append(f"outputs: l{n - 1}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(chain_spec(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
