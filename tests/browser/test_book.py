"""The read-only edition (``make book``) opened in headless Chromium, with no network.

A small book is built in fast mode: notebook 00 and the first notebook that uses a widget
(``SCRAPL_EDU_BOOK_NOTEBOOKS=00,03`` picks others). It is served from 127.0.0.1 (as a
static web host would) and opened in Chromium, which cannot reach any other host
(``CHROMIUM_ARGS``). Each page must show its figures (``img`` elements that decoded, with a
nonzero size), its math typeset by the bundled MathJax (no raw ``$`` left in the rendered
text, no TeX error), its frozen widgets with their default figure, and playable audio; no
request may leave 127.0.0.1. The same page opened from disk (``file://``) must typeset too.
"""

from __future__ import annotations

import functools
import http.server
import os
import socketserver
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_harness import REPO, free_port

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

sys.path.insert(0, str(REPO / "tools"))

MATH_TIMEOUT_MS = 120_000
# MathJax 2.7 declares a placeholder font at about:blank (harmless, refused by Chromium)
HARMLESS = ("about:blank", "data:")


def _chosen() -> list[str]:
    env = os.environ.get("SCRAPL_EDU_BOOK_NOTEBOOKS", "").strip()
    if env:
        return [n.strip() for n in env.split(",")]
    widget_users = [
        p.name[:2]
        for p in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py"))
        if "scrapl_edu.widgets import" in p.read_text() and p.name[:2] != "08"
    ]
    return ["00", *widget_users[:1]]


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Path:
    import build_book

    out = tmp_path_factory.mktemp("book")
    env = {"SCRAPL_EDU_FAST": "1", "OMP_NUM_THREADS": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        build_book.build(out, _chosen(), fast=True, timeout=600)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return out


@pytest.fixture(scope="module")
def site(book: Path) -> Iterator[str]:
    """The book on a static HTTP server at 127.0.0.1."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = socketserver.ThreadingTCPServer(
        ("127.0.0.1", free_port()), functools.partial(Quiet, directory=str(book))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _watch(page: Any, base: str) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"outside": [], "failed": [], "status": []}

    def on_request(req: Any) -> None:
        if not req.url.startswith((base, *HARMLESS)) and not req.url.startswith("file://"):
            seen["outside"].append(req.url)

    page.on("request", on_request)
    page.on(
        "requestfailed",
        lambda r: seen["failed"].append(r.url) if not r.url.startswith(HARMLESS) else None,
    )
    page.on(
        "response",
        lambda r: seen["status"].append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    return seen


RAW_MATH_JS = """() => Array.from(document.querySelectorAll('.jp-RenderedMarkdown')).map(e => {
    const c = e.cloneNode(true);
    c.querySelectorAll('code, pre, script').forEach(x => x.remove());
    return c.textContent;
}).join('\\n')"""

IMAGES_JS = """() => Array.from(document.querySelectorAll('.jp-OutputArea img')).map(i => ({
    ok: i.complete && i.naturalWidth > 0,
    w: i.getBoundingClientRect().width, h: i.getBoundingClientRect().height,
    cls: i.className}))"""


def _typeset(page: Any) -> None:
    page.wait_for_selector("body[data-mathjax=typeset]", state="attached", timeout=MATH_TIMEOUT_MS)


def test_book_pages_show_figures_math_widgets_and_sound(site: str, book: Path, page: Any) -> None:
    seen = _watch(page, site)
    page.goto(site + "/index.html")
    links = page.locator("a.scrapl-book-page")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    pages = sorted(p.name for p in book.glob("[0-9][0-9]_*.html"))
    assert sorted(hrefs) == pages and len(pages) == len(_chosen()), (hrefs, pages)

    for i, href in enumerate(hrefs):
        page.goto(f"{site}/{href}")
        _typeset(page)
        n_math = page.locator(".MathJax, .MathJax_Display").count()
        assert n_math > 0, f"{href}: no typeset math"
        errors = page.evaluate(
            "() => document.querySelectorAll('.noError, .MathJax_Error, .merror').length"
        )
        assert errors == 0, f"{href}: {errors} TeX errors"
        raw = page.evaluate(RAW_MATH_JS)
        assert "$" not in raw, f"{href}: raw math left: {raw[max(0, raw.find('$') - 80) :][:160]!r}"

        images = page.evaluate(IMAGES_JS)
        assert images, f"{href}: no figure"
        bad = [im for im in images if not (im["ok"] and im["w"] > 10 and im["h"] > 10)]
        assert not bad, f"{href}: figures that did not render: {bad}"

        if "scrapl-static" in (book / href).read_text():  # a page with a widget
            frozen = page.locator(".scrapl-static img.scrapl-static-figure")
            assert frozen.count() >= 1, f"{href}: the frozen widget lost its figure"
            assert frozen.first.is_visible()

        players = page.locator("audio")
        if href.startswith("00_"):
            assert players.count() >= 1, "notebook 00 plays a chirplet"
        for k in range(players.count()):
            duration = players.nth(k).evaluate(
                """a => new Promise(ok => { if (a.readyState >= 1) ok(a.duration);
                   else { a.addEventListener('loadedmetadata', () => ok(a.duration));
                          a.load(); setTimeout(() => ok(-1), 10000); } })"""
            )
            assert duration > 0, f"{href}: audio player {k} does not decode ({duration})"

        nxt = page.locator("a.scrapl-book-next")
        if i + 1 < len(hrefs):
            assert nxt.get_attribute("href") == hrefs[i + 1]
        else:
            assert nxt.count() == 0

    assert not seen["outside"], f"requests left 127.0.0.1: {seen['outside']}"
    assert not seen["failed"] and not seen["status"], (seen["failed"], seen["status"])


def test_book_typesets_from_disk(book: Path, page: Any) -> None:
    """Opened as a file (no server at all), the bundled MathJax still typesets."""
    page.goto((book / sorted(p.name for p in book.glob("00_*.html"))[0]).as_uri())
    _typeset(page)
    assert page.locator(".MathJax, .MathJax_Display").count() > 0
    assert "$" not in page.evaluate(RAW_MATH_JS)
