"""The nbgrader course of scrapl-edu: write ``course/source/`` from the notebooks, and check
that it grades itself (``make grade-check``).

    .venv/bin/python tools/make_course.py source           # course/source/<assignment>/
    .venv/bin/python tools/make_course.py check            # make grade-check
    .venv/bin/python tools/make_course.py check 04 08      # some assignments only

One assignment per notebook, named like the notebook (``04_random_paths``); its source is the
notebook's jupytext ``.py`` file, which carries the nbgrader cell metadata, written as a
plain ``.ipynb``. ``nbgrader_config.py`` (repository root) points nbgrader at ``course/``, so
after ``source`` the ordinary ``nbgrader generate_assignment`` / ``autograde`` /
``formgrader`` commands work from the repository root.

``check`` is what CI runs. For every assignment it generates the release (nbgrader's
``generate_assignment``: solutions cleared, cells locked and checksummed), then autogrades
two submissions: the *solution edition* (the source notebook, answers in) and the *blank
student edition* (the release, untouched). It passes when the solution edition scores full
marks on every auto-graded cell and the blank edition zero on every auto-graded cell; cells
graded by hand (the capstone's text) are listed, not scored. (nbgrader scores a graded cell 0 if it
raises *or writes to stderr*: a warning in a test cell costs the student the points.) The notebooks run in fast mode
(``SCRAPL_EDU_FAST=1``, one thread per kernel), ``--jobs`` assignments at a time, each in its
own course folder under ``course/check/`` (its own gradebook, so that runs do not share a
database); the score table is written to ``course/check/scores.md``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapl_edu.curriculum import notebook_sources, read_notebook  # noqa: E402

COURSE = ROOT / "course"
#: notebooks by fast-mode run time, longest first (the order ``check`` grades them in)
LONGEST_FIRST = ("08", "10", "06", "07", "03", "05", "02", "04", "00", "09", "01")
#: seconds a cell may run in ``check`` (fast mode; a stalled kernel is retried once)
CELL_TIMEOUT_S = 300
#: the two submissions of ``check``: student id -> which edition it submits
EDITIONS = {"solution": "source", "blank": "release"}


def assignment_names(
    only: list[str] | None = None, notebooks: Path = ROOT / "notebooks"
) -> list[str]:
    """Assignment names (the notebooks' stems), all or those whose number is in ``only``."""
    names = [p.stem for p in notebook_sources(notebooks)]
    if only:
        unknown = sorted(set(only) - {n[:2] for n in names})
        if unknown:
            raise ValueError(f"no notebook numbered {unknown} in {notebooks}")
        names = [n for n in names if n[:2] in only]
    return names


def write_source(course: Path = COURSE, only: list[str] | None = None) -> list[Path]:
    """``course/source/<name>/<name>.ipynb`` from ``notebooks/<name>.py`` (metadata kept)."""
    written = []
    for name in assignment_names(only):
        nb = read_notebook(ROOT / "notebooks" / f"{name}.py")
        nb.metadata.pop("jupytext", None)
        for cell in nb.cells:
            cell.metadata.pop("lines_to_next_cell", None)
        folder = course / "source" / name
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{name}.ipynb"
        nbformat.write(nb, target)
        written.append(target)
    return written


def _config(root: Path):
    """nbgrader_config.py with the course root moved to ``root``."""
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    cfg.CourseDirectory.root = str(root)
    # fast mode: no cell needs minutes; a kernel that stalls (idle, its reply lost: the
    # upstream stall the browser test retries for Voilà) is cut after this and retried once
    cfg.Execute.timeout = CELL_TIMEOUT_S
    return cfg


@dataclass
class CellScore:
    """One graded cell of one submission."""

    assignment: str
    student: str
    cell: str
    score: float | None  # None: graded by hand
    max_score: float


def _grade_one(name: str, student: str, course: Path) -> tuple[list[CellScore], float, str]:
    """Generate the release of ``name`` and autograde ``student``'s edition, in a course
    folder of its own; returns the cell scores, the seconds taken and nbgrader's log on error."""
    import warnings

    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    warnings.filterwarnings("ignore", module="nbgrader")  # sqlalchemy's session notes
    t0 = time.perf_counter()
    root = course / "check" / f"{name}-{student}"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(course / "source" / name, root / "source" / name)
    cfg = _config(root)
    api = NbGraderAPI(CourseDirectory(config=cfg), config=cfg)
    out = api.generate_assignment(name, force=True, create=True)
    if not out["success"]:
        return [], time.perf_counter() - t0, out.get("error", "") + out.get("log", "")
    edition = root / EDITIONS[student] / name
    shutil.copytree(edition, root / "submitted" / student / name)
    out = api.autograde(name, student, force=True, create=True)
    log = "" if out["success"] else out.get("error", "") + out.get("log", "")
    graded = root / "autograded" / student / name / f"{name}.ipynb"
    if graded.is_file():
        outputs = [
            o for c in nbformat.read(graded, as_version=4).cells for o in c.get("outputs", [])
        ]
        if any(o.get("ename") == "CellTimeoutError" for o in outputs):
            log += f"\nTIMEOUT: a cell ran past {CELL_TIMEOUT_S} s"
    scores = []
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        try:
            sub = gb.find_submission(name, student)
        except Exception as e:  # autograde failed before recording the submission
            return [], time.perf_counter() - t0, log + f"\n{e}"
        for nb in sub.notebooks:
            for grade in nb.grades:
                hand = grade.needs_manual_grade or grade.cell.cell_type == "markdown"
                scores.append(
                    CellScore(
                        name,
                        student,
                        grade.name,
                        None if hand else float(grade.auto_score or 0.0),
                        float(grade.max_score),
                    )
                )
    return scores, time.perf_counter() - t0, log


def check(course: Path = COURSE, only: list[str] | None = None, jobs: int = 2) -> int:
    """``make grade-check``: full marks for the solution edition, zero for the blank one."""
    t0 = time.perf_counter()
    names = assignment_names(only)
    shutil.rmtree(course / "check", ignore_errors=True)
    write_source(course, only)
    # nbgrader runs `alembic` (its database migrations) from PATH: the environment's bin first
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    os.environ.setdefault("SCRAPL_EDU_FAST", "1")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    # the ledger of sealed predictions lives in each autograded folder (the kernel's cwd)
    os.environ.pop("SCRAPL_EDU_PREDICTIONS", None)
    tasks = [(n, s) for n in names for s in EDITIONS]
    # the longest notebooks first keeps both workers busy to the end (fast-mode order, measured)
    tasks.sort(key=lambda t: LONGEST_FIRST.index(t[0][:2]) if t[0][:2] in LONGEST_FIRST else 99)
    results: dict[tuple[str, str], tuple[list[CellScore], float, str]] = {}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(_grade_one, n, s, course): (n, s) for n, s in tasks}
        for fut in as_completed(futures):
            n, s = futures[fut]
            results[(n, s)] = fut.result()
            print(f"  {n} [{s}]: {results[(n, s)][1]:.0f} s", flush=True)
        retry = [t for t, r in results.items() if "TIMEOUT:" in r[2]]
        for n, s in retry:  # once: a stalled kernel is not the notebook's fault
            print(f"  {n} [{s}]: a cell timed out, grading it again", flush=True)
            results[(n, s)] = pool.submit(_grade_one, n, s, course).result()
    problems, rows = (
        [],
        ["| assignment | cell | points | solution | blank |", "|---|---|---|---|---|"],
    )
    totals = {s: 0.0 for s in EDITIONS}
    total_max, hand_points = 0.0, 0.0
    for n in names:
        by_cell: dict[str, dict[str, CellScore]] = {}
        for s in EDITIONS:
            scores, _, log = results[(n, s)]
            if log:
                problems.append(f"{n} [{s}]: nbgrader failed:\n{log[-3000:]}")
            for sc in scores:
                by_cell.setdefault(sc.cell, {})[s] = sc
        if not by_cell:
            problems.append(f"{n}: no graded cell recorded")
        for cell, per in by_cell.items():
            sol, blank = per.get("solution"), per.get("blank")
            ref = sol or blank
            if ref.score is None and (sol is None or sol.score is None):
                hand_points += ref.max_score
                rows.append(f"| {n} | {cell} | {ref.max_score:g} | by hand | by hand |")
                continue
            total_max += ref.max_score
            s_sol = sol.score if sol else None
            s_blank = blank.score if blank else None
            totals["solution"] += s_sol or 0.0
            totals["blank"] += s_blank or 0.0
            rows.append(f"| {n} | {cell} | {ref.max_score:g} | {s_sol} | {s_blank} |")
            if s_sol != ref.max_score:
                problems.append(
                    f"{n}/{cell}: the solution edition scores {s_sol} of {ref.max_score:g}"
                )
            if s_blank != 0.0:
                problems.append(f"{n}/{cell}: the blank edition scores {s_blank}, not 0")
    elapsed = time.perf_counter() - t0
    summary = (
        f"{len(names)} assignments, auto-graded points: solution {totals['solution']:g} / "
        f"{total_max:g}, blank {totals['blank']:g} / {total_max:g}; "
        f"{hand_points:g} points graded by hand; {elapsed:.0f} s with {jobs} jobs"
    )
    (course / "check").mkdir(parents=True, exist_ok=True)
    (course / "check" / "scores.md").write_text("\n".join(rows) + f"\n\n{summary}\n")
    print(summary)
    if problems:
        print("\n".join(["grade-check FAILED:"] + problems))
        return 1
    print(f"grade-check passed (table: {course / 'check' / 'scores.md'})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("source", "check"))
    parser.add_argument("numbers", nargs="*", help="notebook numbers (default: all)")
    parser.add_argument("--course", type=Path, default=COURSE, help="course folder")
    parser.add_argument("--jobs", type=int, default=2, help="assignments graded at a time")
    args = parser.parse_args(argv)
    if args.command == "source":
        written = write_source(args.course, args.numbers or None)
        print(f"{len(written)} assignments in {args.course / 'source'}")
        return 0
    return check(args.course, args.numbers or None, jobs=args.jobs)


if __name__ == "__main__":
    raise SystemExit(main())
