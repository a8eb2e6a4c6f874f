"""Clear outputs and execution counts of the paired notebooks (run after ``jupytext --sync``).

A thin wrapper around nbconvert's ``--clear-output`` (ClearOutputPreprocessor), so the
command stays the same; ``make sync-notebooks`` calls nbconvert directly::

    .venv/bin/jupytext --sync notebooks/X.py && .venv/bin/python tools/strip_notebooks.py notebooks/X.ipynb
    .venv/bin/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb   # the same, all of them

With no argument it clears every notebook in notebooks/.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

NBCONVERT = [sys.executable, "-m", "nbconvert", "--clear-output", "--inplace", "--log-level=WARN"]


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[1] / "notebooks"
    paths = argv or [str(p) for p in sorted(root.glob("*.ipynb"))]
    missing = [p for p in paths if not Path(p).is_file() or not p.endswith(".ipynb")]
    if missing:
        print(f"not a notebook file (*.ipynb): {', '.join(missing)}", file=sys.stderr)
        return 2
    return subprocess.run([*NBCONVERT, *paths], check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
