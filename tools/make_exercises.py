"""Write the student edition of the notebooks (``make exercises``): answers removed.

    .venv/bin/python tools/make_exercises.py                 # every notebook -> exercises/
    .venv/bin/python tools/make_exercises.py --out DIR 00 03  # some notebooks, elsewhere

The sources are the jupytext ``notebooks/NN_*.py`` files (they carry the nbgrader cell
metadata); each becomes ``<out>/NN_*.ipynb`` through :func:`scrapl_edu.curriculum.student_version`
(nbgrader's ClearSolutions, ClearHiddenTests, and cleared outputs). ``exercises/`` is build
output (git-ignored). Students open it next to ``notebooks/`` so that relative paths such as
``../data`` still resolve.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapl_edu.curriculum import (  # noqa: E402 - after the path set-up
    exercises,
    notebook_sources,
    read_notebook,
    student_version,
)


def build(out: Path, only: list[str] | None = None, root: Path = ROOT / "notebooks") -> list[Path]:
    """Write the student editions of the notebooks (all, or those whose number is in ``only``)."""
    sources = notebook_sources(root)
    if only:
        unknown = sorted(set(only) - {p.name[:2] for p in sources})
        if unknown:
            raise ValueError(f"no notebook numbered {unknown} in {root}")
        sources = [p for p in sources if p.name[:2] in only]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sources:
        nb = read_notebook(src)
        n = len(exercises(nb))
        target = out / f"{src.stem}.ipynb"
        nbformat.write(student_version(nb), target)
        written.append(target)
        print(f"{target}: {n} exercises")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", help="notebook numbers (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "exercises", help="output folder")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    written = build(args.out, args.numbers or None)
    print(f"{len(written)} student notebooks in {args.out} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
