"""Every notebook is a jupytext pair: ``notebooks/NN_*.py`` (the source) + ``.ipynb``.

The ``.ipynb`` must hold the same cells as the ``.py``, no outputs or execution counts, and a
``python3`` kernelspec. Re-sync after editing a ``.py``::

    .venv/bin/jupytext --sync notebooks/*.py && .venv/bin/python tools/strip_notebooks.py
"""

from __future__ import annotations

import json
from pathlib import Path

import jupytext
import pytest

NB = Path(__file__).resolve().parents[1] / "notebooks"
SOURCES = sorted(NB.glob("[0-9][0-9]_*.py"))


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_notebooks_are_numbered_from_00() -> None:
    numbers = [p.name[:2] for p in SOURCES]
    assert len(numbers) >= 9 and numbers[0] == "00" and len(set(numbers)) == len(numbers), numbers


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_pair_has_same_cells(py: Path) -> None:
    ipynb = py.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: run jupytext --sync {py.name}"
    a = jupytext.read(py)
    b = jupytext.read(ipynb)
    assert _cells(a) == _cells(b), f"{py.name} and {ipynb.name} differ: run jupytext --sync"


@pytest.mark.parametrize("py", SOURCES, ids=lambda p: p.stem)
def test_ipynb_is_clean(py: Path) -> None:
    raw = json.loads(py.with_suffix(".ipynb").read_text())
    assert raw["metadata"]["kernelspec"]["name"] == "python3"
    for cell in raw["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{py.stem}: a code cell has outputs"
            assert cell.get("execution_count") is None, f"{py.stem}: execution count set"
    fmt = raw["metadata"].get("jupytext", {}).get("formats", "")
    assert "py:percent" in fmt, f"{py.stem}: not paired with py:percent ({fmt!r})"
