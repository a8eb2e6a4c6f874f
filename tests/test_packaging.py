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


def test_environment_yml_mirrors_pyproject():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = meta["dependencies"] + meta["optional-dependencies"]["dev"]
    assert sorted(map(_norm, declared)) == sorted(map(_norm, _env_pip_requirements()))


def test_pins_this_machine_needs():
    deps = [
        _norm(d)
        for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    ]
    assert "scipy<1.17" in deps  # kymatio 0.3.0 imports scipy.special.sph_harm
    assert "kymatio==0.3.0" in deps
    torch_req = next(d for d in deps if d.startswith("torch"))
    from packaging.specifiers import SpecifierSet

    assert "2.13.0" in SpecifierSet(torch_req[len("torch") :])


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    assert "make test" in readme and "make demo" in readme
