"""Project hygiene: environment.yml mirrors pyproject.toml, CI runs the README's test command."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _norm(req: str) -> str:
    return re.sub(r"\s+", "", req).lower()


def _env_pip_requirements() -> list[str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    reqs, in_pip = [], False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("- pip:"):
            in_pip = True
            continue
        if in_pip and stripped.startswith("- "):
            item = stripped[2:].strip()
            if item != "-e .":
                reqs.append(item)
        elif in_pip and stripped and not stripped.startswith("#"):
            in_pip = False
    return reqs


def _declared() -> list[str]:
    """The base dependencies and every extra, without the extras' references to the
    package itself (``scrapl-edu[course]``)."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta["optional-dependencies"].values():
        reqs += [r for r in extra if not _norm(r).startswith("scrapl-edu")]
    return reqs


def test_environment_yml_mirrors_pyproject():
    assert sorted(set(map(_norm, _declared()))) == sorted(map(_norm, _env_pip_requirements()))


def test_install_in_parts():
    """The base package is the library and the lab; notebook, cluster and reference tools
    are extras, and [dev] is all of them (what `make setup` installs)."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = {re.split(r"[<>=!\[ ]", _norm(d))[0] for d in meta["dependencies"]}
    assert {"torch", "numpy", "scipy", "tqdm"} <= base
    assert not base & {
        "jupyterlab",
        "ipywidgets",
        "plotly",
        "voila",
        "nbgrader",
        "dask",
        "distributed",
        "kymatio",
        "sphinx",
    }
    extras = meta["optional-dependencies"]
    assert set(extras) >= {"course", "cluster", "reference", "docs", "dev"}
    assert any(
        _norm(r).startswith("scrapl-edu[")
        and all(e in r for e in ("course", "cluster", "reference", "docs"))
        for r in extras["dev"]
    )
    assert ".[dev]" in (ROOT / "Makefile").read_text()


def test_pins_this_machine_needs():
    deps = [
        _norm(d)
        for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    ]
    assert "scipy<1.17" in deps  # kymatio 0.3.0 imports scipy.special.sph_harm
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert "kymatio==0.3.0" in [_norm(d) for d in extras["reference"]]
    torch_req = next(d for d in deps if d.startswith("torch"))
    from packaging.specifiers import SpecifierSet

    assert "2.13.0" in SpecifierSet(torch_req[len("torch") :])


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    assert "make test" in readme and "make demo" in readme
