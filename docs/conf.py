"""Sphinx configuration of the scrapl-edu site (``make docs``; see docs/developer.md).

Environment: ``SCRAPL_EDU_EDITION`` = student (default) | instructor; ``SCRAPL_EDU_FAST=1``
executes the notebooks at CI sizes; ``SCRAPL_EDU_REPOSITORY`` = owner/name of the public
GitHub repository that the launch links point to.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))

import scrapl_site  # noqa: E402 - after the path set-up

EDITION = scrapl_site.edition()

project = "scrapl-edu"
author = "the scrapl-edu developers"
copyright = f"{dt.date.today().year}, {author}"
release = "0.1.0"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinxcontrib.bibtex",
    "scrapl_site",
]

# .py is a notebook format (the jupytext sources): every other .py must be excluded
exclude_patterns = [
    "_build",
    "_ext",
    "conf.py",
    "screenshots",
    "course/*.ipynb",
    "**/.ipynb_checkpoints",
    "README.md",
]
if EDITION == "student":  # the instructor guide holds the answer key
    exclude_patterns += [f"{name}.md" for name in sorted(scrapl_site.INSTRUCTOR_ONLY)]
nb_custom_formats = {
    ".py": [
        "scrapl_site.read_course_notebook",
        {"edition": EDITION, "cache": str(scrapl_site.cache_dir())},
    ]
}
# the notebooks are executed (and cached) before reading: see scrapl_site.execute_missing
nb_execution_mode = "off"
nb_execution_show_tb = True
nb_ipywidgets_js: dict[str, dict[str, str]] = {}  # widgets are frozen: no widget JS from a CDN
nb_output_stderr = "remove"
nb_merge_streams = True

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 4
myst_update_mathjax = False

# MathJax 2.7 served from the site itself (copied from jupyter-server-mathjax at the end)
mathjax_path = f"mathjax/MathJax.js?config={scrapl_site.MATHJAX_CONFIG}"
mathjax2_config = {
    "tex2jax": {
        "inlineMath": [["\\(", "\\)"]],
        "displayMath": [["\\[", "\\]"]],
        "processRefs": False,
        "processEnvironments": False,
    },
    # jupyter-server-mathjax ships the STIX-Web fonts only: without this MathJax asks for
    # its TeX fonts first (a 404)
    "HTML-CSS": {
        "availableFonts": ["STIX-Web"],
        "preferredFont": "STIX-Web",
        "webFont": "STIX-Web",
        "imageFont": None,
    },
    "menuSettings": {"assistiveMML": False},
    "showMathMenu": False,
}

bibtex_bibfiles = ["refs.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_mock_imports: list[str] = []

html_theme = "sphinx_book_theme"
html_title = "scrapl-edu" + (" · instructor edition" if EDITION == "instructor" else "")
html_copy_source = False  # the sources hold the answers
html_show_sourcelink = False
html_static_path = ["_static"]
html_css_files = ["scrapl.css"]
html_theme_options = {
    "use_download_button": False,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "show_toc_level": 2,
    "navigation_with_keys": False,
}
if EDITION == "instructor":
    html_theme_options["announcement"] = (
        "Instructor edition: the answers are shown. Publish the student edition to students."
    )

suppress_warnings: list[str] = []
