"""The house rules between modules: notebooks read public names only; imports stay at the top.

(The layer order itself is an import-linter contract in pyproject.toml, run by `make lint`.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))

# `obj._name`: a private attribute or module of the library read from a notebook
PRIVATE = re.compile(r"\b\w+\._[A-Za-z]")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_use_public_names_only(path: Path) -> None:
    bad = [
        f"{path.name}:{n}: {line.strip()}"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE.search(line)
    ]
    assert not bad, "notebooks must read public names only:\n" + "\n".join(bad)


def test_private_pattern_catches_what_it_should() -> None:
    assert PRIVATE.search("psi = np.stack(jtfs._psi1_f)")
    assert PRIVATE.search("tags = lab._TAGS")
    assert not PRIVATE.search("psi = jtfs.filters('psi1')")
    assert not PRIVATE.search("cls = obj.__class__")
