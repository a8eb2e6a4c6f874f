"""The course's format contract, read from the notebooks' sources (``notebooks/NN_*.py``).

Every notebook opens with a header cell and closes with a recap cell::

    # 03 · JTFS as a loss                     <- title: two-digit number, "·", title
    **Objectives**                            <- then a bullet list
    - ...
    **Prerequisites**: 01, 02
    **Study time**: about 40 min              <- reading and doing, not kernel time
    **Paper**: Section 1 (Eq. 2-3), Section 4.1

    ## Recap                                  <- the last markdown cell
    - ...
    **Previous**: [02 · ...](02_joint_time_frequency_scattering.ipynb) · **Next**: [...](...)
    **References**: Section 1, Eq. (2)-(3)

Exercises are nbgrader cells (``### BEGIN SOLUTION`` / ``### END SOLUTION`` in a cell whose
``nbgrader`` metadata says ``"solution": true``; its autograded test cell has grade id
``<id>_test``). The glossary lives in ``00_start_here``: bullets ``- **term** / **alias**: ...``
in markdown cells that start with ``## Glossary``.

This module parses all of that (with markdown-it-py) for the course map of notebook 00,
``make exercises``, ``make book`` and ``tests/test_curriculum.py``. It imports no other
``scrapl_edu`` module.
"""

from __future__ import annotations

import ast
import copy
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CONTRACT_LABELS",
    "Exercise",
    "Header",
    "Recap",
    "asserts_outside_exercises",
    "bold_terms",
    "count_asserts",
    "course_map",
    "default_root",
    "defines",
    "exercises",
    "glossary",
    "header_problems",
    "notebook_sources",
    "notebook_text",
    "parse_header",
    "parse_recap",
    "read_notebook",
    "student_version",
    "term_pattern",
]

#: where the notebooks live in the repository (an editable install / a checkout)
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: bold labels of the format contract and the widgets (not glossary terms): a bold span that
#: is one of these, or starts with one and a space ("Exercise 2"), is not a term
CONTRACT_LABELS = (
    "objectives",
    "prerequisites",
    "study time",
    "paper",
    "previous",
    "next",
    "references",
    "recap",
    "idea",
    "exercise",
    "answer",
    "hint",
    "check",
    "note",
    "predict",
    "try it",
    "run",  # the widgets' button
)
TITLE = re.compile(r"^#\s+(\d{2})\s+·\s+(\S.*?)\s*$")
FIELD = re.compile(r"^\*\*(Prerequisites|Study time|Paper)\*\*\s*:\s*(.+?)\s*$", re.M)
STUDY = re.compile(r"about\s+(\d+)\s*min\b")
LINK = re.compile(r"\*\*(Previous|Next)\*\*\s*:\s*\[[^\]]*\]\(([^)\s]+)\)")
SOLUTION = re.compile(r"### BEGIN SOLUTION(.*?)### END SOLUTION", re.S)


def default_root() -> Path:
    """The notebooks folder: ``$SCRAPL_EDU_NOTEBOOKS``, else the checkout's ``notebooks/``."""
    env = os.environ.get("SCRAPL_EDU_NOTEBOOKS", "").strip()
    return Path(env) if env else NOTEBOOKS


def notebook_sources(root: str | Path | None = None) -> list[Path]:
    """The notebooks' jupytext sources ``NN_*.py`` in ``root``, in course order."""
    root = default_root() if root is None else Path(root)
    if not root.is_dir():
        raise ValueError(f"root must be the notebooks folder, {root} is not a folder")
    return sorted(root.glob("[0-9][0-9]_*.py"))


def read_notebook(path: str | Path) -> Any:
    """A notebook (nbformat node) from a jupytext ``.py`` source or an ``.ipynb`` file."""
    import jupytext  # deferred: only the curriculum tools read notebooks

    path = Path(path)
    if path.suffix not in (".py", ".ipynb"):
        raise ValueError(f"path must be a .py (jupytext) or .ipynb notebook, got {path.name}")
    return jupytext.read(path)


def _md(text: str) -> list[Any]:
    from markdown_it import MarkdownIt  # deferred with jupytext: curriculum tools only

    return MarkdownIt("commonmark").parse(text)


def _first_list_after(tokens: list[Any], marker: str) -> list[str]:
    """Inline text of the items of the first bullet list that follows ``marker``."""
    seen, depth, items = False, 0, []
    for tok in tokens:
        if not seen:
            seen = tok.type == "inline" and marker in tok.content
            continue
        if tok.type == "bullet_list_open":
            depth += 1
        elif tok.type == "bullet_list_close":
            depth -= 1
            if depth == 0:
                break
        elif tok.type == "inline" and depth == 1 and tok.content.strip():
            items.append(tok.content.strip())
    return items


def _markdown_cells(nb: Any) -> list[Any]:
    return [c for c in nb.cells if c.cell_type == "markdown"]


@dataclass(frozen=True)
class Header:
    """The header cell of a notebook (the format contract's first markdown cell)."""

    number: str
    title: str
    objectives: list[str]
    prerequisites: str
    study_minutes: int
    paper: str
    path: Path | None = None

    @property
    def prerequisite_numbers(self) -> list[str]:
        """Notebook numbers named in the prerequisites (``01``, ``02_...ipynb``)."""
        return sorted(set(re.findall(r"(?<![\d.])(\d{2})(?![\d.])", self.prerequisites)))


def header_problems(nb: Any) -> list[str]:
    """What the header cell lacks (empty list: it follows the contract)."""
    cells = _markdown_cells(nb)
    if not cells:
        return ["no markdown cell"]
    src = cells[0].source
    lines = src.strip().splitlines()
    problems = []
    if not lines or not TITLE.match(lines[0]):
        problems.append("the first markdown cell must start with '# NN · Title'")
    if not _first_list_after(_md(src), "**Objectives**"):
        problems.append("no '**Objectives**' line followed by a bullet list")
    fields = dict(FIELD.findall(src))
    for name in ("Prerequisites", "Study time", "Paper"):
        if name not in fields:
            problems.append(f"no '**{name}**: ...' line")
    if "Study time" in fields and not STUDY.search(fields["Study time"]):
        problems.append(f"study time must read 'about N min', got {fields['Study time']!r}")
    return problems


def parse_header(nb: Any, path: str | Path | None = None) -> Header:
    """Parse the header cell; ``ValueError`` lists what is missing."""
    problems = header_problems(nb)
    if problems:
        where = f"{Path(path).name}: " if path else ""
        raise ValueError(where + "; ".join(problems))
    src = _markdown_cells(nb)[0].source
    number, title = TITLE.match(src.strip().splitlines()[0]).groups()
    fields = dict(FIELD.findall(src))
    return Header(
        number=number,
        title=title,
        objectives=_first_list_after(_md(src), "**Objectives**"),
        prerequisites=fields["Prerequisites"],
        study_minutes=int(STUDY.search(fields["Study time"]).group(1)),
        paper=fields["Paper"],
        path=Path(path) if path else None,
    )


@dataclass(frozen=True)
class Recap:
    """The closing cell: recap bullets, previous/next links (``None`` when absent), references."""

    bullets: list[str]
    previous: str | None
    next: str | None
    references: str


def parse_recap(nb: Any) -> Recap:
    """Parse the last markdown cell (``## Recap``); ``ValueError`` says what is missing."""
    cells = _markdown_cells(nb)
    src = cells[-1].source if cells else ""
    if not src.lstrip().startswith("## Recap"):
        raise ValueError("the last markdown cell must start with '## Recap'")
    bullets = _first_list_after(_md(src), "Recap")
    if not bullets:
        raise ValueError("the recap has no bullet list")
    links = dict(LINK.findall(src))
    if "**Previous**" not in src and "**Next**" not in src:
        raise ValueError("the recap has no '**Previous**: [..](NN_name.ipynb)' / '**Next**' line")
    m = re.search(r"\*\*References\*\*\s*:?\s*(.*)", src, re.S)
    if not m or not m.group(1).strip():
        raise ValueError("the recap has no '**References**' with the paper's sections")
    return Recap(bullets, links.get("Previous"), links.get("Next"), m.group(1).strip())


@dataclass(frozen=True)
class Exercise:
    """One nbgrader answer cell and its autograded test cell (``test_source`` None if none)."""

    grade_id: str
    cell_type: str
    source: str
    points: float
    test_id: str | None = None
    test_source: str | None = None
    test_points: float = 0.0
    problems: list[str] = field(default_factory=list)


def _nbgrader(cell: Any) -> dict[str, Any]:
    return dict(cell.get("metadata", {}).get("nbgrader", {}) or {})


def exercises(nb: Any, number: str | None = None) -> list[Exercise]:
    """Every nbgrader solution cell of ``nb`` with its test cell, and what is wrong with it.

    Rules: a grade id ``ex_NN_k`` (``NN`` = ``number`` when given), unique; the answer between
    ``### BEGIN SOLUTION`` and ``### END SOLUTION``; a code answer has a later, locked,
    graded test cell ``ex_NN_k_test`` with points and an ``assert``; a markdown answer is
    graded by hand (``"grade": true`` with points).
    """
    cells = list(nb.cells)
    by_id: dict[str, int] = {}
    for i, c in enumerate(cells):
        gid = _nbgrader(c).get("grade_id")
        if gid:
            by_id.setdefault(gid, i)
    out = []
    ids_seen: set[str] = set()
    for i, cell in enumerate(cells):
        meta = _nbgrader(cell)
        if not meta.get("solution"):
            continue
        gid = str(meta.get("grade_id", ""))
        problems = []
        pat = "ex_" + (number or r"\d{2}") + r"_\d+"
        if not re.fullmatch(pat, gid):
            problems.append(f"grade id {gid!r} is not of the form ex_{number or 'NN'}_k")
        if gid in ids_seen:
            problems.append(f"grade id {gid!r} is used twice")
        ids_seen.add(gid)
        if not SOLUTION.search(cell.source):
            problems.append("no '### BEGIN SOLUTION' ... '### END SOLUTION' block")
        test_id = test_src = None
        test_points = 0.0
        if cell.cell_type == "code":
            j = by_id.get(f"{gid}_test")
            if j is None or j < i:
                problems.append(f"no graded test cell {gid}_test after the answer")
            else:
                tmeta = _nbgrader(cells[j])
                test_id, test_src = f"{gid}_test", cells[j].source
                test_points = float(tmeta.get("points", 0) or 0)
                if not (tmeta.get("grade") and tmeta.get("locked")):
                    problems.append(f"{gid}_test must be graded and locked")
                if test_points <= 0:
                    problems.append(f"{gid}_test has no points")
                if count_asserts(test_src) == 0:
                    problems.append(f"{gid}_test has no assert")
        elif not (meta.get("grade") and float(meta.get("points", 0) or 0) > 0):
            problems.append("a markdown answer must be graded by hand: grade true, points > 0")
        out.append(
            Exercise(
                grade_id=gid,
                cell_type=cell.cell_type,
                source=cell.source,
                points=float(meta.get("points", 0) or 0),
                test_id=test_id,
                test_source=test_src,
                test_points=test_points,
                problems=problems,
            )
        )
    return out


def count_asserts(source: str) -> int:
    """Number of ``assert`` statements in Python code (comments and strings do not count)."""
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return len(re.findall(r"^\s*assert\b", source, re.M))
    return sum(isinstance(node, ast.Assert) for node in ast.walk(tree))


def asserts_outside_exercises(nb: Any) -> int:
    """Asserts in code cells that are neither an answer nor a graded test (the notebook's own)."""
    n = 0
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if cell.cell_type == "code" and not (meta.get("solution") or meta.get("grade")):
            n += count_asserts(cell.source)
    return n


# ----------------------------------------------------------------------------- glossary
def _norm(term: str) -> str:
    term = term.replace("–", "-").replace("—", "-").replace("\u2011", "-")
    term = re.sub(r"\s+", " ", term.strip().lower())
    return term.strip(" .,:;")


def glossary(nb: Any) -> dict[str, list[str]]:
    """Glossary of notebook 00: first name -> all names (the bold names opening each bullet).

    Glossary cells are the markdown cells that start with ``## Glossary``; an entry is a
    bullet ``- **term** / **other name**: definition``.
    """
    out: dict[str, list[str]] = {}
    for cell in _markdown_cells(nb):
        if not cell.source.lstrip().startswith("## Glossary"):
            continue
        for line in cell.source.splitlines():
            m = re.match(r"^\s*[-*]\s+((?:\*\*[^*]+\*\*\s*(?:/\s*)?)+)", line)
            if m:
                names = [n.strip() for n in re.findall(r"\*\*([^*]+)\*\*", m.group(1))]
                out[names[0]] = names
    return out


def bold_terms(nb: Any) -> set[str]:
    """Bold spans of the markdown cells (a bold span introduces a term), less contract labels."""
    out = set()
    for cell in _markdown_cells(nb):
        for tok in _md(cell.source):
            if tok.type != "inline" or not tok.children:
                continue
            kids = tok.children
            for k, child in enumerate(kids[:-2]):
                if child.type == "strong_open" and kids[k + 2].type == "strong_close":
                    text = kids[k + 1].content
                    key = _norm(text)
                    if key and not any(
                        key == lab or key.startswith(lab + " ") for lab in CONTRACT_LABELS
                    ):
                        out.add(text.strip().strip(".:"))
    return out


def term_pattern(name: str) -> re.Pattern[str]:
    """Regex finding ``name`` as a whole word, any case, dash kind, plural 's'."""
    parts = [re.escape(p) for p in _norm(name).split(" ")]
    body = r"\s+".join(parts).replace(r"\-", "[-–—‑]")
    left = r"(?<!\w)" if re.match(r"\w", _norm(name)) else ""
    right = r"(?:s|es)?(?!\w)" if re.search(r"\w$", _norm(name)) else ""
    return re.compile(left + body + right, re.I)


def defines(entries: dict[str, list[str]], term: str) -> bool:
    """True when ``term`` (a bold span, a required term) is one of the glossary's names."""
    key = _norm(re.sub(r"^(the|a|an)\s+", "", term.strip(), flags=re.I))
    for names in entries.values():
        for name in names:
            if term_pattern(name).fullmatch(key):
                return True
    return False


def notebook_text(nb: Any, kinds: Iterable[str] = ("markdown", "code")) -> str:
    """All the cells' sources of the given kinds, joined."""
    return "\n".join(c.source for c in nb.cells if c.cell_type in tuple(kinds))


# ----------------------------------------------------------------------------- course map
def course_map(root: str | Path | None = None) -> list[Header | tuple[Path, str]]:
    """Headers of every notebook in ``root``, in order; ``(path, problem)`` where a header
    does not follow the contract yet (so the map still lists every notebook)."""
    out: list[Header | tuple[Path, str]] = []
    for path in notebook_sources(root):
        nb = read_notebook(path)
        try:
            out.append(parse_header(nb, path))
        except ValueError as err:
            out.append((path, str(err)))
    return out


# ----------------------------------------------------------------------------- student edition
#: what a student's answer cell holds in place of the solution (nbgrader's default stubs)
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"


def student_version(nb: Any) -> Any:
    """The student edition of a notebook: answers removed, outputs cleared.

    nbgrader's ``ClearSolutions`` replaces each ``### BEGIN SOLUTION`` ... ``### END
    SOLUTION`` block (and a solution cell without one) by :data:`CODE_STUB` /
    :data:`TEXT_STUB`; it refuses a solution block in a cell without nbgrader metadata, so a
    notebook whose ``cell_metadata_filter`` dropped the metadata fails here instead of
    leaking its answers. ``ClearHiddenTests`` removes ``### BEGIN HIDDEN TESTS`` blocks,
    ``ClearOutput`` the outputs. The jupytext pairing is dropped: the edition is a plain
    ``.ipynb``. ``nb`` is not modified.
    """
    from nbconvert.preprocessors import ClearOutputPreprocessor  # deferred: tools only
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions  # deferred: tools only

    out = copy.deepcopy(nb)
    resources: dict[str, Any] = {}
    clear = ClearSolutions(code_stub={"python": CODE_STUB}, text_stub=TEXT_STUB)
    for pre in (clear, ClearHiddenTests(), ClearOutputPreprocessor()):
        out, resources = pre.preprocess(out, resources)
    out.metadata.pop("jupytext", None)
    for cell in out.cells:
        cell.metadata.pop("lines_to_next_cell", None)
        if cell.cell_type == "code":
            cell.execution_count = None
    return out
