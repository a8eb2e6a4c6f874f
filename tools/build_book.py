"""Build the read-only edition of the course (``make book``): executed notebooks as static HTML.

    .venv/bin/python tools/build_book.py                       # classroom mode, all -> book/
    SCRAPL_EDU_FAST=1 .venv/bin/python tools/build_book.py     # fast mode (seconds a notebook)
    .venv/bin/python tools/build_book.py --mode fast --out /tmp/b 00 02   # some notebooks

Each ``notebooks/NN_*.py`` is executed top to bottom (nbclient, in ``notebooks/``, one
torch thread) and exported with nbconvert's HTML exporter into ``<out>/NN_*.html``, next to
an ``index.html`` that lists the course (from the notebooks' headers). The pages need no
kernel and no network:

* math: MathJax 2.7 from the ``jupyter-server-mathjax`` package is copied into
  ``<out>/_static/mathjax`` and the pages load it from there (the stock template fetches it
  from a CDN, and without a network the math stays raw ``$...$``);
* widgets: the path explorer, the toggle panels and the dashboard are frozen into static
  HTML with their default figures (:func:`scrapl_edu.static.freeze_widgets`; the stock
  export fetches the widget JavaScript from a CDN and shows nothing offline);
* sound: the players embed their WAV (:mod:`scrapl_edu.sound`);
* links between notebooks (``NN_name.ipynb``) point to the HTML pages.

Publish by copying ``<out>/`` to any static web host (see the README).
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapl_edu.curriculum import (  # noqa: E402 - after the path set-up
    Header,
    notebook_sources,
    parse_header,
    read_notebook,
)
from scrapl_edu.static import freeze_widgets  # noqa: E402

TEMPLATES = ROOT / "tools" / "book_template"
MATHJAX_DIR = "_static/mathjax"
MATHJAX_URL = f"{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
LINK = re.compile(r"(?<![\w/.-])(\d{2}_[A-Za-z0-9_-]+)\.ipynb\b")


def mathjax_source() -> Path:
    """The MathJax 2.7 files that ship with the ``jupyter-server-mathjax`` package."""
    try:
        import jupyter_server_mathjax
    except ImportError as err:  # a dependency of the project: make setup installs it
        raise SystemExit("jupyter-server-mathjax is missing: run make setup") from err
    src = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (src / "MathJax.js").is_file():
        raise SystemExit(f"no MathJax.js in {src}")
    return src


def copy_mathjax(out: Path) -> Path:
    """Copy MathJax next to the pages (once; the localisations other than English skipped)."""
    dest = out / MATHJAX_DIR
    if not (dest / "MathJax.js").is_file():
        src = mathjax_source()

        def skip(folder: str, names: list[str]) -> list[str]:
            if Path(folder).name == "localization":
                return [n for n in names if n != "en"]
            return []

        shutil.copytree(src, dest, ignore=skip, dirs_exist_ok=True)
    return dest


def execute(nb: Any, fast: bool, timeout: int) -> None:
    """Run ``nb`` in place, in notebooks/ (fast or classroom mode, one thread per kernel)."""
    from nbclient import NotebookClient

    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["SCRAPL_EDU_FAST"] = "1" if fast else "0"
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT / "notebooks")}},
        store_widget_state=True,
    )
    client.execute(env=env)


def link_pages(nb: Any, pages: set[str]) -> int:
    """Point links to notebooks of the book (``NN_name.ipynb``) at their pages; returns count."""
    n = 0

    def fix(text: str) -> str:
        nonlocal n

        def sub(m: re.Match[str]) -> str:
            nonlocal n
            if m.group(1) not in pages:
                return m.group(0)
            n += 1
            return f"{m.group(1)}.html"

        return LINK.sub(sub, text)

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = fix(cell.source)
        for out in cell.get("outputs", []):
            for mime in ("text/markdown", "text/html"):
                if mime in out.get("data", {}):
                    value = out["data"][mime]
                    value = "".join(value) if isinstance(value, list) else value
                    out["data"][mime] = fix(value)
    return n


def exporter() -> Any:
    from nbconvert import HTMLExporter

    exp = HTMLExporter(template_name="scrapl_book", extra_template_basedirs=[str(TEMPLATES)])
    exp.mathjax_url = MATHJAX_URL
    return exp


def write_index(out: Path, headers: list[Header], mode: str, seconds: dict[str, float]) -> Path:
    """``index.html``: the course map, one line per page."""
    rows = []
    for h in headers:
        page = f"{h.path.stem}.html"
        objectives = "".join(f"<li>{html.escape(o)}</li>" for o in h.objectives)
        rows.append(
            f"<tr><td>{h.number}</td><td><a class='scrapl-book-page' href='{page}'>"
            f"{html.escape(h.title)}</a></td><td><ul>{objectives}</ul></td>"
            f"<td>{h.study_minutes} min</td><td>{html.escape(h.prerequisites)}</td>"
            f"<td>{html.escape(h.paper)}</td></tr>"
        )
    built = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    total = sum(h.study_minutes for h in headers)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>scrapl-edu · the course</title>
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 72em; margin: 2em auto; padding: 0 1em; }}
table {{ border-collapse: collapse; }} td, th {{ border-bottom: 1px solid #ddd; padding: .4em .6em;
vertical-align: top; text-align: left; }} ul {{ margin: 0; padding-left: 1.1em; }}
.meta {{ color: #666; font-size: 90%; }}
</style></head><body>
<h1>scrapl-edu · a course on SCRAPL</h1>
<p>The executed notebooks of the course, read-only: figures, sound and math, no kernel needed.
To run them, change them and do the exercises, get the repository and open
<code>notebooks/</code> in JupyterLab (notebook 00 says how).</p>
<p class="meta">{len(headers)} notebooks, about {total / 60:.1f} h of study.
Built {built} in {mode} mode.</p>
<table><thead><tr><th>#</th><th>notebook</th><th>objectives</th><th>study time</th>
<th>prerequisites</th><th>paper</th></tr></thead><tbody>
{"".join(rows)}
</tbody></table></body></html>
"""
    target = out / "index.html"
    target.write_text(page, encoding="utf-8")
    return target


def header_or_title(nb: Any, src: Path) -> Header:
    """The notebook's header; a notebook not in the course format yet gets its first heading
    as title (and a warning), so that the book still shows it."""
    try:
        return parse_header(nb, src)
    except ValueError as err:
        print(f"warning: {err}", file=sys.stderr)
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), src.stem)
    title = first.strip().splitlines()[0].lstrip("# ").strip() if first.strip() else src.stem
    return Header(src.name[:2], title, [], "?", 0, "?", src)


def build(
    out: Path,
    only: list[str] | None = None,
    fast: bool = False,
    timeout: int = 1800,
    root: Path = ROOT / "notebooks",
) -> list[Path]:
    """Execute and export the notebooks (all, or the numbers in ``only``); returns the pages."""
    import nbformat

    sources = notebook_sources(root)
    if only:
        unknown = sorted(set(only) - {p.name[:2] for p in sources})
        if unknown:
            raise ValueError(f"no notebook numbered {unknown} in {root}")
        sources = [p for p in sources if p.name[:2] in only]
    if not sources:
        raise ValueError(f"no notebook to build in {root}")
    mode = "fast" if fast else "classroom"
    out.mkdir(parents=True, exist_ok=True)
    copy_mathjax(out)
    exp = exporter()
    stems = [p.stem for p in sources]
    pages, headers, seconds = [], [], {}
    for i, src in enumerate(sources):
        t0 = time.perf_counter()
        nb = read_notebook(src)
        headers.append(header_or_title(nb, src))
        nb.metadata.pop("jupytext", None)
        execute(nb, fast, timeout)
        report = freeze_widgets(nb)
        if report.missing:
            raise RuntimeError(f"{src.name}: widget state not saved for {report.missing}")
        link_pages(nb, set(stems))
        nbformat.validate(nb)
        resources = {
            "metadata": {"name": f"{headers[-1].number} · {headers[-1].title}"},
            "book_prev": f"{stems[i - 1]}.html" if i > 0 else "",
            "book_next": f"{stems[i + 1]}.html" if i + 1 < len(stems) else "",
            "book_mode": f"{mode} mode",
        }
        body, _ = exp.from_notebook_node(nb, resources=resources)
        page = out / f"{src.stem}.html"
        page.write_text(body, encoding="utf-8")
        pages.append(page)
        seconds[src.stem] = time.perf_counter() - t0
        print(f"{page}: {seconds[src.stem]:.1f} s, {report.frozen} widgets frozen", flush=True)
    write_index(out, headers, mode, seconds)
    return pages


def main(argv: list[str] | None = None) -> int:
    from scrapl_edu.config import fast_mode

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", help="notebook numbers (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "book", help="output folder")
    parser.add_argument(
        "--mode",
        choices=("fast", "classroom"),
        default="fast" if fast_mode() else "classroom",
        help="fast: CI sizes; classroom: the real thing (default; SCRAPL_EDU_FAST=1 -> fast)",
    )
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    pages = build(args.out, args.numbers or None, fast=args.mode == "fast", timeout=args.timeout)
    print(
        f"{len(pages)} pages + index.html in {args.out} ({args.mode} mode, "
        f"{time.perf_counter() - t0:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
