"""The documentation site (``make docs``): pages, editions, links, launch links.

The tests read the site that ``make docs`` built in ``docs/_build/{student,instructor}``
(``make test`` builds it in fast mode before the unit tests); an edition that is not built
is built here, in fast mode, from the same cache of executed notebooks.
"""

from __future__ import annotations

import html
import importlib.metadata as md
import json
import re
import sys
import tomllib
import urllib.parse
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

import scrapl_site  # noqa: E402 - after the path set-up

from scrapl_edu.curriculum import SOLUTION, notebook_sources, read_notebook, student_version  # noqa: E402

pytestmark = pytest.mark.xdist_group("docs")
TEXT_SUFFIXES = {".html", ".js", ".txt", ".json", ".ipynb", ".inv", ".css", ".xml"}


def build(edition: str) -> Path:
    """The built edition; built here (fast mode, warnings as errors) if it is missing."""
    return scrapl_site.build_site(edition, ROOT)


@pytest.fixture(scope="module")
def student() -> Path:
    return build("student")


@pytest.fixture(scope="module")
def instructor() -> Path:
    return build("instructor")


class Links(HTMLParser):
    """Every URL a page refers to (``href``/``src``), by tag, and every ``id``."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name in ("href", "src") and value:
                self.refs.append((tag, value))


@cache
def parse(path: Path) -> Links:
    parser = Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def visible_text(path: Path) -> str:
    """A page's text as a reader sees it (tags removed, entities decoded)."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def solution_lines() -> dict[str, list[str]]:
    """Per notebook, the answer lines that the student edition must not contain: the lines
    between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` that appear nowhere in the
    notebook's student edition and are long enough to be specific."""
    out = {}
    for src in notebook_sources():
        nb = read_notebook(src)
        stu_text = "\n".join(c.source for c in student_version(nb).cells)
        lines = []
        for cell in nb.cells:
            for block in SOLUTION.findall(cell.source):
                for line in block.splitlines():
                    line = line.strip()
                    if cell.cell_type == "markdown":  # rendered (emphasis, math, smart quotes):
                        # compare its longest run free of markup and quotes
                        line = max(re.split(r"[*_`$\\\[\]{}|#>'\"]", line), key=len).strip()
                    if len(line) >= 16 and line not in stu_text:
                        lines.append(line)
        out[src.stem] = lines
    return out


def test_every_notebook_is_a_page_of_the_course(student: Path) -> None:
    stems = [p.stem for p in scrapl_site.sources()]
    assert {p.stem for p in notebook_sources()} <= set(stems)
    assert stems, "no notebooks"
    course = visible_text(student / "course.html")
    for stem in stems:
        page = student / "course" / f"{stem}.html"
        assert page.is_file(), f"no page for {stem}"
        assert 'class="cell' in page.read_text(), f"{stem}: no notebook cells on its page"
        assert any(
            ref.endswith(f"course/{stem}.html") for _, ref in parse(student / "course.html").refs
        ), stem
    assert "Part 1" in course and "Part 3" in course


def test_api_reference_documents_the_core(student: Path) -> None:
    ids = parse(student / "api.html").ids
    for name in ("JTFS", "SCRAPLOptimizer", "PathSampler", "theta_importance_sampling"):
        assert f"scrapl_edu.{name}" in ids, f"the API page does not document {name}"
    text = visible_text(student / "api.html")
    assert "Eq. (" in text or "Eq. 1" in text, "the docstrings cite the paper's equations"


def test_glossary_terms_and_links(student: Path) -> None:
    glossary = parse(student / "glossary.html").ids
    terms = {i for i in glossary if i.startswith("term-")}
    assert len(terms) >= 20, terms
    linked = {
        ref.split("#", 1)[1]
        for stem in [p.stem for p in notebook_sources()]
        for _, ref in parse(student / "course" / f"{stem}.html").refs
        if "glossary.html#term-" in ref
    }
    assert len(linked) >= 10, f"course pages link to only {len(linked)} glossary terms"
    assert linked <= terms


def test_student_edition_has_no_answer_and_the_instructor_edition_has_them(
    student: Path, instructor: Path
) -> None:
    answers = solution_lines()
    assert sum(map(len, answers.values())) >= 10, "too few answer lines to test anything"
    files = [p for p in student.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES]
    texts = {
        p: visible_text(p) if p.suffix == ".html" else p.read_text(errors="replace") for p in files
    }
    leaks = [
        (stem, line, str(p.relative_to(student)))
        for stem, lines in answers.items()
        for line in lines
        for p, text in texts.items()
        if line in text
    ]
    assert not leaks, f"answer lines in the student edition: {leaks[:5]}"
    for stem, lines in answers.items():
        if lines:
            assert "raise NotImplementedError()" in visible_text(
                student / "course" / f"{stem}.html"
            )
            text = visible_text(instructor / "course" / f"{stem}.html")
            missing = [line for line in lines if line not in text]
            assert not missing, f"{stem}: the instructor edition lacks {missing[:3]}"


def test_the_answer_key_is_in_the_instructor_edition_only(student: Path, instructor: Path) -> None:
    """The instructor guide holds the explained answer key: never in the student edition."""
    assert (instructor / "instructor_guide.html").is_file()
    assert not (student / "instructor_guide.html").exists()
    leaked = [
        str(p.relative_to(student))
        for p in student.rglob("*.html")
        if "instructor_guide.html" in p.read_text(errors="replace")
    ]
    assert not leaked, f"the student edition links to the instructor guide: {leaked[:5]}"


def test_no_broken_internal_link_and_nothing_from_another_host(student: Path) -> None:
    broken, remote = [], []
    pages = [p for p in student.rglob("*.html") if "_static" not in p.relative_to(student).parts]
    assert len(pages) >= 20, pages
    for page in pages:
        for tag, ref in parse(page).refs:
            url = urllib.parse.urlsplit(ref)
            if url.scheme in ("http", "https"):
                if tag != "a":  # a script, style sheet, image or frame fetched from a host
                    remote.append((str(page.relative_to(student)), ref))
                continue
            if (
                url.scheme in ("data", "mailto", "javascript")
                or ref.startswith("#")
                and not url.path
            ):
                if url.fragment and url.fragment not in parse(page).ids and tag == "a":
                    broken.append((str(page.relative_to(student)), ref))
                continue
            target = (page.parent / urllib.parse.unquote(url.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append((str(page.relative_to(student)), ref))
            elif (
                url.fragment and target.suffix == ".html" and url.fragment not in parse(target).ids
            ):
                broken.append((str(page.relative_to(student)), ref))
    assert not broken, f"{len(broken)} broken internal links, e.g. {broken[:8]}"
    assert not remote, f"resources from other hosts: {remote[:8]}"


def test_math_is_served_by_the_site(student: Path) -> None:
    page = (student / "course" / "00_start_here.html").read_text()
    assert "_static/mathjax/MathJax.js" in page
    assert (student / "_static" / "mathjax" / "MathJax.js").is_file()


# ----------------------------------------------------------------------------- launch links
def _requirement_names(reqs: list[str]) -> set[str]:
    return {
        re.split(r"[<>=!~;\[ ]", r.strip(), maxsplit=1)[0].lower().replace("_", "-") for r in reqs
    }


def _closure(names: set[str]) -> set[str]:
    """The distributions ``names`` install, with their dependencies (as installed here)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        todo += [r for r in _requirement_names([q for q in reqs if "extra ==" not in q])]
    return seen


def test_launch_links_are_well_formed(student: Path) -> None:
    for src in notebook_sources():
        refs = [
            ref for tag, ref in parse(student / "course" / f"{src.stem}.html").refs if tag == "a"
        ]
        binder = [urllib.parse.urlsplit(r) for r in refs if "mybinder.org" in r]
        colab = [urllib.parse.urlsplit(r) for r in refs if "colab.research.google.com" in r]
        assert len(binder) == 1 and len(colab) == 1, (src.stem, binder, colab)
        b, c = binder[0], colab[0]
        assert b.scheme == "https" and b.netloc == "mybinder.org"
        assert re.fullmatch(r"/v2/gh/[\w.-]+/[\w.-]+/[\w.-]+", b.path), b.path
        assert urllib.parse.parse_qs(b.query)["labpath"] == [f"notebooks/{src.stem}.ipynb"]
        assert (ROOT / "notebooks" / f"{src.stem}.ipynb").is_file()
        assert c.scheme == "https" and c.netloc == "colab.research.google.com"
        m = re.fullmatch(
            r"/github/([\w.-]+)/([\w.-]+)/blob/gh-pages/(colab/[\w.-]+\.ipynb)", c.path
        )
        assert m, c.path
        assert (student / m.group(3)).is_file(), f"the site has no {m.group(3)}"


def test_colab_first_cell_installs_what_the_notebook_imports(student: Path) -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    course_extra = [
        r for r in meta["optional-dependencies"]["course"] if not r.startswith("scrapl-edu")
    ]
    installed = _closure(_requirement_names(meta["dependencies"] + course_extra))
    providers = md.packages_distributions()
    for src in notebook_sources():
        text = (student / "colab" / f"{src.stem}.ipynb").read_text()
        nbformat.validate(nbformat.reads(text, as_version=4))
        nb = json.loads(text)
        first = "".join(nb["cells"][0]["source"])
        assert nb["cells"][0]["cell_type"] == "code"
        assert re.search(r'%pip install -q "[^"]*\[course\]"', first), first
        assert "git clone" in first and "%cd " in first and "google.colab" in first
        missing = []
        for module in sorted(scrapl_site.imported_modules(read_notebook(src))):
            if module in sys.stdlib_module_names or module == "scrapl_edu":
                continue
            dists = {d.lower().replace("_", "-") for d in providers.get(module, [])}
            if not dists & installed:
                missing.append((module, sorted(dists)))
        assert not missing, f"{src.stem} imports what [course] does not install: {missing}"
        body = "".join("".join(c["source"]) for c in nb["cells"][1:])
        assert (
            "### BEGIN SOLUTION" not in body
            and "raise NotImplementedError()" in body
            or not any(SOLUTION.search(c.source) for c in read_notebook(src).cells)
        )


def test_imported_modules_reads_import_lines() -> None:
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import numpy as np, torch\nfrom scipy.signal import stft\n  import json\nx = 'import nothing'"
            )
        ]
    )
    assert scrapl_site.imported_modules(nb) == {"numpy", "torch", "scipy", "json"}
