"""Packaging hook (the metadata lives in pyproject.toml): the wheel carries the course.

``build_py`` copies the notebooks (``notebooks/NN_*.ipynb``, the paired editions of the
jupytext sources) and ``data/`` into ``scrapl_edu/_course/``, where ``scrapl-edu course
DIR`` finds them. An editable install reads them from the checkout instead.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithCourse(build_py):
    """``build_py`` that also copies the course files into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "scrapl_edu" / "_course"
        notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
        if not notebooks:
            raise SystemExit(f"no notebooks in {ROOT / 'notebooks'}: the wheel needs the course")
        (target / "notebooks").mkdir(parents=True, exist_ok=True)
        for nb in notebooks:
            shutil.copy2(nb, target / "notebooks" / nb.name)
        if (ROOT / "data").is_dir():
            shutil.copytree(
                ROOT / "data",
                target / "data",
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            )


setup(cmdclass={"build_py": BuildPyWithCourse})
