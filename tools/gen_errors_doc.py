# ruff: noqa: E501  (the document text is pasted as written)
"""Generate docs/errors.md from the codes' entries (kspec/codes.py): run every example through
the real kspec and paste its output.

Run from the repository root with the project's virtualenv:
``.venv/bin/python tools/gen_errors_doc.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from kspec.codes import CODES, ENTRIES, cause  # noqa: E402

KSPEC = os.path.join(os.path.dirname(sys.executable), "kspec")
PY = sys.executable
GEN = os.path.join(tempfile.gettempdir(), "kspec-errors-doc")
NOISE = re.compile(
    r"^(I0000|W0000|E0000|WARNING: All log messages|To enable the following|.*UserWarning|"
    r"  warnings\.warn|\d\. |Exception encountered: )"
)


def run(code: str, n: int, text: str | bytes | None, args: list[str], env_py: str | None = None):
    folder = os.path.join(GEN, code, str(n))
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    if text is not None:
        mode = "wb" if isinstance(text, bytes) else "w"
        with open(os.path.join(folder, "spec.yaml"), mode) as fh:
            fh.write(text)
    cmd = [PY, "-c", env_py] if env_py is not None else [KSPEC, *args]
    env = dict(os.environ, NO_COLOR="1", TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    p = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, env=env, timeout=300)
    out = (p.stdout + p.stderr).splitlines()
    out = [line for line in out if not NOISE.match(line)]
    return "\n".join(out).rstrip(), p.returncode


TITLE = """# kspec diagnostics

Every problem kspec reports has a stable code. This page explains each code, in code order:
what causes it, a minimal spec that produces it, the exact message kspec prints, and how to fix
it.
"""

INTRO = """## Reading a diagnostic

kspec prints diagnostics like a compiler:

```
spec.yaml:9:15: error[KS102]: `use_bias` of Dense layer 'hidden' must be a boolean (true or false), got 'no'
    9 |     use_bias: no
      |               ^^
      = help: kspec reads YAML 1.2: only true and false are booleans; 'no' is a string
```

- The first line is `path:line:column: severity[CODE]: message`. Lines and columns count from 1.
- Then the source line, with carets under the offending value or key (omitted when a problem
  has no position, such as an unreadable file).
- Then `= help:` with a suggestion ("did you mean ...?"), when kspec has one, and `= note:` lines
  with more context, when there are any.

`kspec check` reports every problem in every file it is given (it does not stop at the first),
sorted by file, line and column, and ends with a summary line such as
`checked 1 file: 2 errors in 1 file, 1 warning`. In text form the diagnostics go to standard
error; with `--format json` or `--format github` they go to standard output. Colours are used only
on a terminal, and never when the `NO_COLOR` environment variable is set.

### Severities

- `error`: the spec cannot be compiled or built as it is.
- `warning`: the spec is valid but probably not what you meant (KS214). Warnings are shown but
  do not change the exit status.

### Exit statuses

| status | meaning |
|---|---|
| 0 | no errors (there may be warnings); `compile --check`: the file is up to date |
| 1 | at least one spec has an error; `compile --check`: the file is stale; `summary`: Keras could not build the model |
| 2 | a usage or environment problem: bad command-line arguments, a path given to `check` that does not exist, no spec files in a folder, TensorFlow not installed (KS901); also an internal error in kspec (`kspec: internal error: ...`, a bug to report) |

### Machine-readable output

`kspec check --format json` prints all diagnostics as one JSON document, and
`kspec check --format github` prints one GitHub Actions workflow command per diagnostic, so that
errors appear as annotations on a pull request's diff. Both are described in
[cli.md](cli.md#check---format-json).

### Codes

| range | stage |
|---|---|
| KS000–KS010 | reading the file and YAML |
| KS101–KS109 | the structure of the spec and the layers' arguments (the schema) |
| KS201–KS215 | names, references and the graph |
| KS401–KS409 | shapes (static inference) |
| KS301–KS306 | expressions |
| KS501–KS512 | composition (`extends:`, `include:`) and variants |
| KS901–KS915 | the environment, Keras, permissions, data, Graphviz, import, weights, export, editor support, stub files |

In the examples below each spec is saved as `spec.yaml` and checked with `kspec check spec.yaml`
unless the example says otherwise.

"""


def main() -> None:
    out = [TITLE, "## Contents\n", "- [Reading a diagnostic](#reading-a-diagnostic)"]
    for code, title in CODES.items():
        anchor = re.sub(r"[^a-z0-9 -]", "", f"{code}: {title}".lower()).replace(" ", "-")
        out.append(f"- [{code}: {title}](#{anchor})")
    out.append("")
    out.append(INTRO.rstrip() + "\n")
    for code, title in CODES.items():
        e = ENTRIES[code]
        out.append(f"## {code}: {title}\n")
        out.append("**Cause.** " + cause(code).strip() + "\n")
        for n, example in enumerate(e.examples):
            intro, text = example.intro, example.spec
            result, rc = run(code, n, text, example.args, example.python)
            if code not in result:
                raise SystemExit(f"{code} example {n}: code not in output:\n{result}")
            label = "Example" if len(e.examples) == 1 else f"Example {n + 1}"
            out.append(f"**{label}.** {intro}".rstrip() + "\n")
            if text is not None:
                shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
                shown = shown.lstrip("\ufeff")
                if code != "KS004" or n == 0:
                    out.append("```yaml\n" + shown.rstrip("\n") + "\n```\n")
            result = result.replace("\ufeff", "")
            out.append("```\n" + result + "\n```\n")
            out.append(f"Exit status: {rc}.\n")
        out.append("**Fix.** " + e.fix.strip() + "\n")
    text = "\n".join(out).rstrip() + "\n"
    with open(os.path.join(ROOT, "docs", "errors.md"), "w", encoding="utf-8") as fh:
        fh.write(text)
    print("wrote docs/errors.md", len(text))


if __name__ == "__main__":
    main()
