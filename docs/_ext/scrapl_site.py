"""Sphinx extension of the scrapl-edu site: the course pages from the jupytext sources.

* **Course pages.** Every ``notebooks/NN_*.py`` (the jupytext source, found by pattern, so
  a new notebook becomes a page) is linked into ``docs/course/`` when the build starts and
  read by myst-nb through :func:`read_course_notebook`.
* **Execution, once.** The notebooks are executed before the pages are read (nbclient,
  in ``notebooks/``, one torch thread per kernel, ``SCRAPL_EDU_DOCS_JOBS`` kernels at a
  time) and stored in a jupyter-cache per mode (``docs/_build/.jupyter_cache/fast`` or
  ``.../classroom``); a notebook whose code has not changed is not executed again, and the
  student and instructor editions share the same executions.
* **Two editions.** ``SCRAPL_EDU_EDITION=student`` (the default) shows each exercise as a
  student gets it (the answer replaced by nbgrader's stub, its output removed, hidden tests
  removed); ``instructor`` shows the answers.
* **Offline pages.** Widgets are frozen into static HTML from their saved state
  (:func:`scrapl_edu.static.freeze_widgets`); MathJax 2.7 from the
  ``jupyter-server-mathjax`` package is copied into ``_static/mathjax``.
* **Glossary links.** A bold term of a notebook that notebook 00's glossary defines links
  to the glossary page (``{term}``); ``{scrapl-glossary}`` writes that page.
* **Launch links.** Each course page opens with a Binder link (the repository's
  ``environment.yml``) and a Colab link to ``colab/NN_*.ipynb`` of the published site: the
  student edition whose first cell installs the package (:func:`colab_notebook`).
"""

from __future__ import annotations

import concurrent.futures as futures
import json
import multiprocessing
import os
import re
import shutil
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
NOTEBOOKS = ROOT / "notebooks"
COURSE_DIR = DOCS / "course"
SOURCE_GLOB = "[0-9][0-9]*_*.py"
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe"
IPYNB_LINK = re.compile(r"(?<![\w/.-])(\d{2}[A-Za-z0-9]*_[A-Za-z0-9_-]+)\.ipynb\b")
BOLD = re.compile(r"\*\*([^*\n`$\[\]{}<>|]+?)\*\*")
CONTRACT = (
    "objectives",
    "prerequisites",
    "study time",
    "paper",
    "recap",
    "previous",
    "next",
    "references",
    "exercise",
    "answer",
    "prediction",
    "check",
)

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- settings
def edition() -> str:
    """``student`` (default) or ``instructor``, from ``SCRAPL_EDU_EDITION``."""
    value = os.environ.get("SCRAPL_EDU_EDITION", "student").strip() or "student"
    if value not in ("student", "instructor"):
        raise ValueError(f"SCRAPL_EDU_EDITION must be student or instructor, got {value!r}")
    return value


def mode() -> str:
    """``fast`` when ``SCRAPL_EDU_FAST`` is set (CI sizes), else ``classroom``."""
    sys.path.insert(0, str(ROOT))
    from scrapl_edu.config import fast_mode

    return "fast" if fast_mode() else "classroom"


def cache_dir() -> Path:
    return DOCS / "_build" / ".jupyter_cache" / mode()


def sources() -> list[Path]:
    """The course notebooks' jupytext sources, in course order."""
    return sorted(NOTEBOOKS.glob(SOURCE_GLOB))


def repository() -> str:
    """``owner/name`` of the public GitHub repository the launch links point to."""
    return os.environ.get("SCRAPL_EDU_REPOSITORY", "scrapl-edu/scrapl-edu").strip()


def binder_url(stem: str, repo: str | None = None, ref: str = "main") -> str:
    """A Binder link that builds the repository's ``environment.yml`` and opens ``stem``."""
    repo = repo or repository()
    path = urllib.parse.quote(f"notebooks/{stem}.ipynb", safe="")
    return f"https://mybinder.org/v2/gh/{repo}/{ref}?labpath={path}"


def colab_url(stem: str, repo: str | None = None, branch: str = "gh-pages") -> str:
    """A Colab link to the published site's ``colab/<stem>.ipynb`` (GitHub Pages branch)."""
    repo = repo or repository()
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/colab/{stem}.ipynb"


# ----------------------------------------------------------------------------- execution
def _read_py(path: Path) -> Any:
    import jupytext

    return jupytext.reads(path.read_text(encoding="utf-8"), fmt="py:percent")


def cell_timeout() -> int:
    """Seconds a cell may run: ``SCRAPL_EDU_DOCS_CELL_TIMEOUT``, else 600 in fast mode and
    1800 in classroom mode."""
    env = os.environ.get("SCRAPL_EDU_DOCS_CELL_TIMEOUT", "").strip()
    return int(env) if env else (600 if mode() == "fast" else 1800)


def _execute(path: str, timeout: int) -> tuple[str, Any, float]:
    """Execute one notebook in ``notebooks/`` (a worker process); returns it executed.

    A cell that outlives ``timeout`` or a kernel that dies is retried once with a fresh
    kernel (a kernel can sit idle while its client waits for a message that never comes,
    as voila-dashboards/voila#1428 describes); a second failure, or any error raised by a
    cell, stops the build.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    t0 = time.perf_counter()
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    for attempt in (1, 2):
        nb = _read_py(Path(path))
        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(NOTEBOOKS)}},
            store_widget_state=True,
        )
        try:
            client.execute(env=env)
            break
        except (CellTimeoutError, DeadKernelError) as err:
            if attempt == 2:
                raise
            print(
                f"scrapl-site: {Path(path).name}: {type(err).__name__}, run again with a "
                "fresh kernel",
                file=sys.stderr,
                flush=True,
            )
    return path, with_outputs(_read_py(Path(path)), nb), time.perf_counter() - t0


def with_outputs(source: Any, executed: Any) -> Any:
    """``source`` with the outputs of ``executed`` (the same notebook, run): the cell
    metadata stays the source's (nbclient adds timings, which jupyter-cache would hash)."""
    for cell, run in zip(source.cells, executed.cells, strict=True):
        if cell.cell_type == "code":
            cell.outputs = run.outputs
            cell.execution_count = run.execution_count
    for key in ("widgets", "language_info"):
        if key in executed.metadata:
            source.metadata[key] = executed.metadata[key]
    return source


def execute_missing(jobs: int | None = None, timeout: int | None = None) -> dict[str, float]:
    """Execute every course notebook whose code is not in the cache; returns seconds each."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(cache_dir())
    todo = []
    for src in sources():
        try:
            cache.match_cache_notebook(_read_py(src))
        except KeyError:
            todo.append(src)
    if not todo:
        return {}
    jobs = jobs or int(os.environ.get("SCRAPL_EDU_DOCS_JOBS", "2"))
    timeout = timeout or cell_timeout()
    logger.info(f"scrapl-site: executing {len(todo)} notebooks ({mode()} mode, {jobs} at a time)")
    seconds: dict[str, float] = {}
    ctx = multiprocessing.get_context("spawn")
    with futures.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        running = [pool.submit(_execute, str(src), timeout) for src in todo]
        for fut in futures.as_completed(running):
            path, nb, sec = fut.result()  # an error in a notebook stops the build here
            cache.cache_notebook_bundle(
                CacheBundleIn(nb, uri=path), check_validity=False, overwrite=True
            )
            seconds[Path(path).stem] = sec
            logger.info(f"scrapl-site: {Path(path).name} executed in {sec:.0f} s")
    return seconds


# ----------------------------------------------------------------------------- reading
_GLOSSARY: dict[str, list[str]] | None = None


def glossary_entries() -> dict[str, list[str]]:
    """Notebook 00's glossary: first name -> all names (read once)."""
    global _GLOSSARY
    if _GLOSSARY is None:
        from scrapl_edu.curriculum import glossary

        first = sources()[0]
        _GLOSSARY = glossary(_read_py(first))
    return _GLOSSARY


def glossary_target(span: str) -> str | None:
    """The glossary name a bold span stands for (plural, article and case allowed)."""
    from scrapl_edu.curriculum import _norm, term_pattern

    key = _norm(re.sub(r"^(the|a|an)\s+", "", span.strip(), flags=re.I))
    if not key or any(key == c or key.startswith(c + " ") for c in CONTRACT):
        return None
    for names in glossary_entries().values():
        for name in names:
            if term_pattern(name).fullmatch(key):
                return name
    return None


def link_terms(source: str) -> str:
    """Bold glossary terms of a markdown cell become links to the glossary."""

    def sub(m: re.Match[str]) -> str:
        target = glossary_target(m.group(1))
        if target is None:
            return m.group(0)
        return f"**{{term}}`{m.group(1)} <{target}>`**"

    return BOLD.sub(sub, source)


MD_LINK = re.compile(r"\[([^\]\n]+)\]\((\d{2}[A-Za-z0-9]*_[A-Za-z0-9_-]+)\.ipynb\)")
#: an interactive plotly figure needs plotly.js from a CDN: the site shows its PNG twin
PLOTLY_MIME = "application/vnd.plotly.v1+json"


def link_pages(text: str, markdown_cell: bool = True) -> str:
    """Links to ``NN_name.ipynb`` point at the course page built from ``NN_name.py``: a
    ``{doc}`` role in a markdown cell, a relative ``.html`` link in an output (outputs are
    rendered as plain CommonMark)."""

    def known(stem: str) -> bool:
        return (NOTEBOOKS / f"{stem}.py").is_file()

    if markdown_cell:
        text = MD_LINK.sub(
            lambda m: f"{{doc}}`{m.group(1)} <{m.group(2)}>`" if known(m.group(2)) else m.group(0),
            text,
        )
    return IPYNB_LINK.sub(lambda m: f"{m.group(1)}.html" if known(m.group(1)) else m.group(0), text)


def _stem_of(text: str) -> str | None:
    for src in sources():
        if src.read_text(encoding="utf-8") == text:
            return src.stem
    return None


def launch_cell(stem: str) -> Any:
    import nbformat

    return nbformat.v4.new_markdown_cell(
        f"[Open in Binder]({binder_url(stem)}) · [Open in Colab]({colab_url(stem)})"
        " · {doc}`how to run the course <../get_started>`",
        metadata={"tags": ["scrapl-launch"]},
    )


def read_course_notebook(text: str, edition: str = "student", cache: str = "") -> Any:
    """myst-nb reader of a course page: the jupytext source with the cached outputs, the
    widgets frozen, glossary and page links, launch links, and the edition's exercises."""
    import jupytext
    from jupyter_cache import get_cache

    from scrapl_edu.curriculum import student_version
    from scrapl_edu.static import freeze_widgets

    nb = jupytext.reads(text, fmt="py:percent")
    try:
        _, nb = get_cache(cache or cache_dir()).merge_match_into_notebook(nb)
    except KeyError as err:
        raise RuntimeError(f"a course notebook is not in the cache {cache}: {err}") from err
    report = freeze_widgets(nb)
    if report.missing:
        raise RuntimeError(f"widget state not saved for {report.missing}")
    if edition == "student":
        stu = student_version(nb)
        for cell, new in zip(nb.cells, stu.cells, strict=True):
            if cell.source == new.source:
                continue
            cell.source = new.source
            if cell.cell_type == "code":
                cell.outputs = []  # an answer's output would give it away
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            source = link_pages(cell.source)
            if not cell.source.lstrip().startswith("## Glossary"):
                source = link_terms(source)
            cell.source = source
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/markdown" in data:
                value = data["text/markdown"]
                value = "".join(value) if isinstance(value, list) else value
                data["text/markdown"] = link_pages(value, markdown_cell=False)
            if PLOTLY_MIME in data and "image/png" in data:
                del data[PLOTLY_MIME]
    stem = _stem_of(text)
    if stem is not None:
        nb.cells.insert(1, launch_cell(stem))
    return nb


# ----------------------------------------------------------------------------- Colab
def imported_modules(nb: Any) -> set[str]:
    """Top-level modules a notebook imports (``import x``, ``from x import``)."""
    found = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            m = re.match(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w., ]+))", line)
            if not m:
                continue
            names = [m.group(1)] if m.group(1) else m.group(2).split(",")
            for name in names:
                name = name.strip().split(" ")[0].split(".")[0]
                if name and not name.startswith("_"):
                    found.add(name)
    return found


def colab_install_source(repo: str | None = None) -> str:
    repo = repo or repository()
    return (
        "# Colab: get the course files and install scrapl-edu with its course extra.\n"
        "# Elsewhere (JupyterLab on your machine, Binder) this cell does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f"    !git clone --depth 1 https://github.com/{repo}.git /content/scrapl-edu\n"
        '    %pip install -q "/content/scrapl-edu[course]"\n'
        "    %cd /content/scrapl-edu/notebooks\n"
    )


def colab_notebook(src: Path, repo: str | None = None) -> dict[str, Any]:
    """The student edition of ``src`` with a first cell that installs the package (Colab)."""
    import nbformat

    from scrapl_edu.curriculum import student_version

    nb = student_version(_read_py(src))
    nb.cells.insert(
        0,
        nbformat.v4.new_code_cell(colab_install_source(repo), metadata={"tags": ["colab-install"]}),
    )
    nb.metadata["colab"] = {"name": src.stem, "provenance": []}
    nb.metadata["accelerator"] = "NONE"
    return json.loads(nbformat.writes(nb))


# ----------------------------------------------------------------------------- directives
class GlossaryDirective(SphinxDirective):
    """``{scrapl-glossary}``: notebook 00's glossary as Sphinx terms, in its sections."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from scrapl_edu.curriculum import _markdown_cells

        nb = _read_py(sources()[0])
        self.env.note_dependency(str(sources()[0]))
        lines: list[str] = []
        for cell in _markdown_cells(nb):
            text = cell.source.strip()
            if not text.startswith("## Glossary"):
                continue
            title = text.splitlines()[0].removeprefix("## Glossary").strip(" :") or "Terms"
            lines += [f"## {title[0].upper() + title[1:]}", "", "```{glossary}", ":sorted:"]
            entry: list[str] = []
            for line in text.splitlines()[1:] + ["- **"]:
                m = re.match(r"^\s*[-*]\s+((?:\*\*[^*]+\*\*\s*(?:/\s*)?)+):?\s*(.*)$", line)
                if (m or line.startswith("- **")) and entry:
                    lines += entry + [""]
                    entry = []
                if m:
                    names = [n.strip() for n in re.findall(r"\*\*([^*]+)\*\*", m.group(1))]
                    entry = [*names, f"  {m.group(2)}"]
                elif entry and line.strip():
                    entry.append(f"  {line.strip()}")
            lines += ["```", ""]
        node = nodes.container()
        self.state.nested_parse(StringList(lines), self.content_offset, node)
        return node.children


class CourseMapDirective(SphinxDirective):
    """``{scrapl-course-map}``: one line per notebook (from the headers), as a table."""

    has_content = False
    option_spec = {"part": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        from scrapl_edu.curriculum import parse_header

        rows = ["| # | notebook | study time | you will |", "|---|---|---|---|"]
        for src in sources():  # every page, also one whose header is not in the format yet
            self.env.note_dependency(str(src))
            try:
                h = parse_header(_read_py(src), src)
            except ValueError:
                rows.append(f"| {src.name.split('_')[0]} | {{doc}}`/course/{src.stem}` | | |")
                continue
            first = h.objectives[0].rstrip(";.") if h.objectives else ""
            rows.append(
                f"| {h.number} | {{doc}}`{h.title} </course/{src.stem}>` "
                f"| {h.study_minutes} min | {first} |"
            )
        node = nodes.container()
        self.state.nested_parse(StringList(rows), self.content_offset, node)
        return node.children


# ----------------------------------------------------------------------------- events
#: the site's own top-level pages; any other ``docs/*.md`` (the instructor guide, the lab's
#: refused inputs, a grading page) is listed under "More" on the home page
OWN_PAGES = {
    "index",
    "get_started",
    "course",
    "glossary",
    "paper_map",
    "library",
    "api",
    "results",
    "teaching",
    "scale",
    "developer",
    "bibliography",
    "cite",
}


#: pages of the instructor edition only: the instructor guide holds the answer key
INSTRUCTOR_ONLY = {"instructor_guide"}


def extra_pages() -> list[str]:
    skip = OWN_PAGES | (INSTRUCTOR_ONLY if edition() == "student" else set())
    return sorted(p.stem for p in DOCS.glob("*.md") if p.stem not in skip)


def on_source_read(app: Sphinx, docname: str, content: list[str]) -> None:
    """Add the pages other parts of the project write (``docs/*.md``) to the home page."""
    if docname == "index" and extra_pages():
        content[0] += (
            "\n```{toctree}\n:hidden:\n:caption: More\n\n" + "\n".join(extra_pages()) + "\n```\n"
        )


def link_course_sources(app: Sphinx) -> None:
    """``docs/course/NN_*.py`` -> ``notebooks/NN_*.py`` (links made fresh at each build)."""
    COURSE_DIR.mkdir(exist_ok=True)
    for old in COURSE_DIR.glob("*.py"):
        if old.is_symlink():
            old.unlink()
    for src in sources():
        (COURSE_DIR / src.name).symlink_to(os.path.relpath(src, COURSE_DIR))


def on_builder_inited(app: Sphinx) -> None:
    link_course_sources(app)
    if app.builder.format == "html" or app.builder.name == "linkcheck":
        execute_missing()


def copy_mathjax(outdir: Path) -> None:
    import jupyter_server_mathjax

    src = Path(jupyter_server_mathjax.__file__).parent / "static"
    dest = outdir / "_static" / "mathjax"
    if (dest / "MathJax.js").is_file():
        return

    def skip(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if n != "en"] if Path(folder).name == "localization" else []

    shutil.copytree(src, dest, ignore=skip, dirs_exist_ok=True)


def on_build_finished(app: Sphinx, exc: Exception | None) -> None:
    if exc is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    copy_mathjax(out)
    colab = out / "colab"
    colab.mkdir(exist_ok=True)
    for src in sources():
        (colab / f"{src.stem}.ipynb").write_text(
            json.dumps(colab_notebook(src), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    (out / "edition.json").write_text(
        json.dumps(
            {
                "edition": edition(),
                "mode": mode(),
                "built": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            }
        )
        + "\n"
    )


LITERAL = re.compile(r"(``.*?``)")


def escape_bars(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """Docstrings write norms as ``|w|``: outside literals, a bar is text, not a
    reStructuredText substitution."""
    for i, line in enumerate(lines):
        parts = LITERAL.split(line)
        lines[i] = "".join(
            part if part.startswith("``") else part.replace("|", "\\|") for part in parts
        )


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("scrapl-glossary", GlossaryDirective)
    app.add_directive("scrapl-course-map", CourseMapDirective)
    app.connect("builder-inited", on_builder_inited)
    app.connect("build-finished", on_build_finished)
    app.connect("source-read", on_source_read)
    app.connect("autodoc-process-docstring", escape_bars)
    app.add_js_file(
        None,
        type="text/x-mathjax-config",
        body="MathJax.Hub.Register.StartupHook('End', function () { MathJax.Hub.Queue("
        "function () { document.body.setAttribute('data-mathjax', 'typeset'); }); });",
    )
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}


__all__ = [
    "binder_url",
    "colab_notebook",
    "colab_url",
    "edition",
    "imported_modules",
    "read_course_notebook",
]


def build_site(edition_name: str, root: Path | None = None) -> Path:
    """The built edition in ``docs/_build/<edition>``; built here in fast mode (warnings as
    errors, as ``make docs-fast``) if it is missing. Used by the tests of the site."""
    import subprocess

    docs = DOCS if root is None else Path(root) / "docs"
    out = docs / "_build" / edition_name
    if not (out / "index.html").is_file() or not (out / "edition.json").is_file():
        env = dict(
            os.environ, SCRAPL_EDU_EDITION=edition_name, SCRAPL_EDU_FAST="1", OMP_NUM_THREADS="1"
        )
        doctrees = docs / "_build" / ".doctrees" / edition_name
        cmd = [sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-q", "-b", "html"]
        subprocess.run(
            [*cmd, "-d", str(doctrees), str(docs), str(out)], env=env, check=True, cwd=docs.parent
        )
    meta = json.loads((out / "edition.json").read_text())
    if meta.get("edition") != edition_name:
        raise RuntimeError(f"{out} holds the {meta.get('edition')!r} edition, not {edition_name!r}")
    return out
