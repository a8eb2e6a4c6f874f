"""The house rules between modules: notebooks read public names only; imports stay at the top.

(The layer order itself is an import-linter contract in pyproject.toml, run by `make lint`.)
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))
MODULES = sorted((ROOT / "scrapl_edu").rglob("*.py"))

# optional heavy dependencies a function may import late (plotting, notebook and tooling
# stacks, the MSS baselines, dask, scipy); anything else is imported at the top of the module
DEFERRABLE = {
    "matplotlib", "plotly", "ipywidgets", "IPython", "auraloss", "dask", "scipy",
    "jupytext", "markdown_it", "nbconvert", "nbgrader", "nbclient",
}  # fmt: skip

# the transform, losses, sampler, θ-IS, optimizer and diagnostics: every late import says why
CORE = {
    "checks", "filters", "ops", "jtfs_plan", "jtfs", "sampling", "losses", "theta_is",
    "optim", "diagnostics", "__init__",
}  # fmt: skip

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


def _imports_in_functions(path: Path) -> list[tuple[int, str, str]]:
    """(line, imported module, source line) of every import inside a function body."""
    text = path.read_text()
    lines = text.splitlines()
    out = []
    for fn in ast.walk(ast.parse(text)):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.ImportFrom):
                name = "." * node.level + (node.module or "")
            elif isinstance(node, ast.Import):
                name = node.names[0].name
            else:
                continue
            out.append((node.lineno, name, lines[node.lineno - 1].strip()))
    return out


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(ROOT)) for p in MODULES])
def test_no_late_imports_except_heavy_optional_ones(path: Path) -> None:
    """APIS #7: no module imports another inside a function, except to defer a heavy one."""
    bad = [
        f"{path.name}:{n}: {line}"
        for n, name, line in _imports_in_functions(path)
        if name.startswith((".", "scrapl_edu")) or name.split(".")[0] not in DEFERRABLE
    ]
    assert not bad, "import at the top of the module instead:\n" + "\n".join(bad)


@pytest.mark.parametrize("name", sorted(CORE))
def test_core_late_imports_say_why(name: str) -> None:
    path = ROOT / "scrapl_edu" / f"{name}.py"
    silent = [
        f"{path.name}:{n}: {line}"
        for n, _, line in _imports_in_functions(path)
        if "# deferred" not in line
    ]
    assert not silent, "say why the import is deferred (# deferred: ...):\n" + "\n".join(silent)


def test_late_import_scan_finds_them() -> None:
    found = _imports_in_functions(ROOT / "scrapl_edu" / "losses.py")
    assert [name for _, name, _ in found] == ["auraloss"]
