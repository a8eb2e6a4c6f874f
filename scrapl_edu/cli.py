"""The ``scrapl-edu`` command: the course, the lab and the documentation site.

    scrapl-edu course DIR              # the student edition of the notebooks (and data/) in DIR
    scrapl-edu course DIR --solutions  # the notebooks with their answers (instructors)
    scrapl-edu lab run --preset classroom --loss scrapl --out out/run   # = python -m scrapl_edu.lab
    scrapl-edu docs                    # open the built documentation site (make docs)

The lab's own commands also work without ``lab`` (``scrapl-edu run ...``, ``scrapl-edu
compare ...``), as they did before the command grew ``course`` and ``docs``.

The notebooks and the small data files they read travel in the wheel as package data
(``scrapl_edu/_course/``); in a checkout (an editable install) they are read from
``notebooks/`` and ``data/``. ``course`` needs no optional dependency: the answers are
removed by :mod:`scrapl_edu.edition`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import webbrowser
from pathlib import Path

from scrapl_edu.edition import student_notebook
from scrapl_edu.lab.cli import main as lab_main

__all__ = ["course_root", "main", "site_index", "write_course"]

PACKAGE = Path(__file__).resolve().parent
CHECKOUT = PACKAGE.parent
NOTEBOOK_GLOB = "[0-9][0-9]*_*.ipynb"
OWN_COMMANDS = ("course", "docs", "lab", "-h", "--help")


def course_root() -> Path:
    """The folder holding ``notebooks/`` and ``data/``: the wheel's package data, else the
    checkout this package was imported from."""
    for root in (PACKAGE / "_course", CHECKOUT):
        if any((root / "notebooks").glob(NOTEBOOK_GLOB)):
            return root
    raise FileNotFoundError(
        f"no course notebooks in {PACKAGE / '_course'} or {CHECKOUT}: "
        "reinstall scrapl-edu from its wheel or its repository"
    )


def _write_atomic(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_course(out: Path, solutions: bool = False, force: bool = False) -> list[Path]:
    """Write ``out/notebooks/NN_*.ipynb`` (student edition unless ``solutions``) and copy
    ``out/data/`` (the notebooks read ``../data``). Returns the notebooks written."""
    root = course_root()
    sources = sorted((root / "notebooks").glob(NOTEBOOK_GLOB))
    out = Path(out)
    existing = [
        out / "notebooks" / p.name for p in sources if (out / "notebooks" / p.name).exists()
    ]
    if existing and not force:
        raise FileExistsError(
            f"{len(existing)} notebooks already in {out / 'notebooks'} (e.g. {existing[0].name}): "
            "a student's work is never overwritten; choose another folder or pass --force"
        )
    written = []
    for src in sources:
        nb = json.loads(src.read_text(encoding="utf-8"))
        if not solutions:
            nb = student_notebook(nb)
        target = out / "notebooks" / src.name
        _write_atomic(target, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        written.append(target)
    if (root / "data").is_dir():
        shutil.copytree(root / "data", out / "data", dirs_exist_ok=True)
    return written


def site_index(edition: str = "student") -> Path | None:
    """The built site's ``index.html`` (``$SCRAPL_EDU_SITE``, else the checkout's
    ``docs/_build/<edition>/``), or None when it has not been built."""
    env = os.environ.get("SCRAPL_EDU_SITE", "").strip()
    candidates = [Path(env)] if env else []
    candidates.append(CHECKOUT / "docs" / "_build" / edition)
    for folder in candidates:
        if (folder / "index.html").is_file():
            return folder / "index.html"
    return None


def _course(args: argparse.Namespace) -> int:
    written = write_course(args.dir, solutions=args.solutions, force=args.force)
    edition = "with answers" if args.solutions else "student edition, answers removed"
    print(
        f"{len(written)} notebooks ({edition}) in {args.dir / 'notebooks'}, data in "
        f"{args.dir / 'data'}"
    )
    print(
        f"open them with: jupyter lab {args.dir / 'notebooks'}  (pip install 'scrapl-edu[course]')"
    )
    return 0


def _docs(args: argparse.Namespace) -> int:
    index = site_index(args.edition)
    if index is None:
        print(
            "the documentation site is not built here: run `make docs` in the repository "
            "(or set SCRAPL_EDU_SITE to a built site's folder)",
            file=sys.stderr,
        )
        return 1
    print(index)
    if not args.print_only:
        webbrowser.open(index.as_uri())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``scrapl-edu`` console command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["lab"] or (argv and argv[0] not in OWN_COMMANDS):
        # the lab's own command line, unchanged (``scrapl-edu lab run`` or ``scrapl-edu run``)
        return int(lab_main(argv[1:] if argv[0] == "lab" else argv) or 0)
    parser = argparse.ArgumentParser(prog="scrapl-edu", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("course", help="copy the course notebooks (student edition) into DIR")
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--solutions", action="store_true", help="keep the answers (instructors)")
    p.add_argument("--force", action="store_true", help="overwrite notebooks already in DIR")
    p.set_defaults(func=_course)
    p = sub.add_parser("lab", help="the sound-matching lab (python -m scrapl_edu.lab)")
    p = sub.add_parser("docs", help="open the built documentation site")
    p.add_argument("--edition", choices=("student", "instructor"), default="student")
    p.add_argument(
        "--print",
        dest="print_only",
        action="store_true",
        help="print the path of index.html, do not open a browser",
    )
    p.set_defaults(func=_docs)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (FileExistsError, FileNotFoundError, ValueError) as err:
        print(f"scrapl-edu: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
