"""The student edition of a notebook without nbgrader: answers and hidden tests removed.

The installed package (``scrapl-edu course DIR``) must write the student edition with its
base dependencies only, so this module does on a plain ``.ipynb`` dictionary (JSON) what
nbgrader's ``ClearSolutions``, ``ClearHiddenTests`` and nbconvert's ``ClearOutput`` do in
:func:`scrapl_edu.curriculum.student_version` (the tests check both give the same cells):

* in a cell whose ``nbgrader`` metadata says ``solution``, each ``### BEGIN SOLUTION`` ...
  ``### END SOLUTION`` region becomes the stub (indented like the ``BEGIN`` line); a
  solution cell without such a region becomes the stub as a whole;
* ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` regions are removed;
* outputs and execution counts are cleared, the jupytext pairing is dropped.

A solution region outside a solution cell is refused (it would leak an answer).
"""

from __future__ import annotations

import copy
import re
from typing import Any

__all__ = ["CODE_STUB", "TEXT_STUB", "student_cells", "student_notebook"]

#: what a student's answer cell holds in place of the solution (nbgrader's default stubs)
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _is_solution(cell: dict[str, Any]) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution", False))


def _replace_regions(source: str, begin: str, end: str, stub: list[str] | None) -> tuple[str, bool]:
    """Replace (``stub``) or drop (``None``) every ``begin`` ... ``end`` region of ``source``."""
    out: list[str] = []
    inside = found = False
    for line in source.split("\n"):
        if begin in line:
            if inside:
                raise ValueError(f"nested {begin!r} in a cell:\n{source}")
            inside = found = True
            indent = re.match(r"\s*", line).group(0)  # type: ignore[union-attr]
            out.extend(indent + s for s in stub or [])
        elif end in line:
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"no {end!r} after {begin!r} in a cell:\n{source}")
    return "\n".join(out), found


def student_cells(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cells with answers and hidden tests removed and outputs cleared (a new list)."""
    out = []
    for cell in copy.deepcopy(cells):
        kind = cell.get("cell_type")
        stub = CODE_STUB if kind == "code" else TEXT_STUB
        source, replaced = _replace_regions(
            _source(cell), BEGIN_SOLUTION, END_SOLUTION, stub.split("\n")
        )
        if replaced and not _is_solution(cell):
            raise ValueError(
                "a solution region in a cell without nbgrader solution metadata would leak "
                f"its answer:\n{_source(cell)}"
            )
        if _is_solution(cell) and not replaced:
            source = stub
        source, _ = _replace_regions(source, BEGIN_HIDDEN, END_HIDDEN, None)
        cell["source"] = source
        cell.get("metadata", {}).pop("lines_to_next_cell", None)
        if kind == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        out.append(cell)
    return out


def student_notebook(nb: dict[str, Any]) -> dict[str, Any]:
    """A student edition of the notebook ``nb`` (an nbformat 4 dictionary); ``nb`` is kept."""
    out = copy.deepcopy(nb)
    out["cells"] = student_cells(nb.get("cells", []))
    out.get("metadata", {}).pop("jupytext", None)
    return out
