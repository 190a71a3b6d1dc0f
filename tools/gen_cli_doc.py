"""Generate docs/cli.md from tools/cli.md.in, pasting the real output of every command.

Run from the repository root: ``.venv/bin/python tools/gen_cli_doc.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(tempfile.gettempdir(), "kspec-cli-doc")
BIN = os.path.dirname(sys.executable)
NOISE = re.compile(
    r"^(I0000|W0000|E0000|WARNING: All log messages|To enable the following|.*UserWarning|"
    r"  warnings\.warn)"
)
ENV = dict(
    os.environ,
    NO_COLOR="1",
    TF_CPP_MIN_LOG_LEVEL="3",
    PYTHONWARNINGS="ignore",
    COLUMNS="80",
    PATH=BIN + ":" + os.environ["PATH"],
)


def setup() -> None:
    shutil.rmtree(DEMO, ignore_errors=True)
    os.makedirs(DEMO + "/specs")
    for f in ("mnist_mlp.yaml", "siamese.yaml", "blocks.yaml", "mlp_scales.yaml"):
        shutil.copy(os.path.join(ROOT, "examples", f), DEMO + "/specs/" + f)
    shutil.copy(os.path.join(ROOT, "tests", "specs", "good", "custom_layer.yaml"), DEMO + "/specs")
    # the weights `--weights` loads in the examples (a freshly built model, saved)
    save = "import kspec; kspec.build_model('mnist_mlp.yaml').save('mnist_mlp.keras')"
    subprocess.run([BIN + "/python", "-c", save], cwd=DEMO + "/specs", env=ENV, check=True)
    with open(DEMO + "/specs/broken.yaml", "w") as fh:
        fh.write(
            "kspec: 1\n"
            "name: broken\n"
            "inputs:\n"
            "  x: {shape: [8]}\n"
            "layers:\n"
            "  - {name: hidden, type: Dense, unit: 64}\n"
            "  - {name: side, type: Dense, units: 2, inputs: x}\n"
            "  - {name: out, type: Dense, units: 1, inputs: hidden}\n"
            "outputs: out\n"
        )


def clean(text: str) -> str:
    return "\n".join(x for x in text.splitlines() if not NOISE.match(x)).rstrip()


def run(folder: str, cmd: str) -> tuple[str, int]:
    p = subprocess.run(
        cmd,
        shell=True,
        cwd=os.path.join(DEMO, folder),
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )
    return clean(p.stdout + p.stderr), p.returncode


def main() -> None:
    setup()
    template = Path(ROOT, "tools", "cli.md.in").read_text(encoding="utf-8")
    out: list[str] = []
    lines = template.splitlines()
    i = 0
    statuses = []
    while i < len(lines):
        line = lines[i]
        m = re.fullmatch(r"@@(RUN|RUN-EDITED)(?:\[head=(\d+)\])? (\S+) (.*)@@", line)
        if m:
            kind, head, folder, cmd = m.groups()
            folder = "" if folder == "." else folder
            if kind == "RUN-EDITED":
                path = os.path.join(DEMO, folder, "mnist_mlp.yaml")
                original = Path(path).read_text()
                edited = original.replace(
                    "{name: hidden1, type: Dense, units: $units, activation: relu}",
                    "{name: hidden1, type: Dense, units: $units, activation: gelu}",
                )
                assert edited != original
                Path(path).write_text(edited)
                text, rc = run(folder, cmd)
                Path(path).write_text(original)
            else:
                text, rc = run(folder, cmd)
            if head:
                text = "\n".join(text.splitlines()[: int(head)])
            statuses.append((cmd, rc))
            out.append(text)
            i += 1
            continue
        m = re.fullmatch(r"@@PY(?:\[head=(\d+)\])?", line)
        if m:
            head = m.group(1)
            j = lines.index("@@END", i)
            code = "\n".join(lines[i + 1 : j]).strip("\n")
            p = subprocess.run(
                [BIN + "/python", "-c", code],
                cwd=os.path.join(DEMO, "specs"),
                capture_output=True,
                text=True,
                env=ENV,
                timeout=600,
            )
            text = clean(p.stdout + p.stderr)
            if p.returncode != 0:
                raise SystemExit(f"python block failed:\n{code}\n{text}")
            if head:
                text = "\n".join(text.splitlines()[: int(head)]) + "\n..."
            shown = "\n".join(
                x for x in code.splitlines() if "TF_CPP_MIN_LOG_LEVEL" not in x and x != "import os"
            )
            out.append("```python\n" + shown.strip("\n") + "\n```\n")
            out.append("Output:\n")
            out.append("```\n" + text + "\n```")
            i = j + 1
            continue
        if line == "@@SPECEXAMPLE@@":
            code = (
                "from kspec.testing import specs\n"
                "print(specs(max_nodes=3, blocks=False).example(), end='')"
            )
            p = subprocess.run(
                [BIN + "/python", "-c", code], capture_output=True, text=True, env=ENV, timeout=600
            )
            if p.returncode:
                raise SystemExit(p.stderr)
            out.append(clean(p.stdout))
            i += 1
            continue
        out.append(line)
        i += 1
    text = "\n".join(out).rstrip() + "\n"
    Path(ROOT, "docs", "cli.md").write_text(text, encoding="utf-8")
    for cmd, rc in statuses:
        print(rc, cmd)


if __name__ == "__main__":
    sys.exit(main())
