"""The documentation site (``make docs``, student edition) in headless Chromium, offline.

The site is served from 127.0.0.1 (as a static web host would) and opened in Chromium,
which cannot reach any other host (``CHROMIUM_ARGS``). The home page, a course page, the
glossary and the API page must load; the course page must show its math typeset by the
site's own MathJax, a figure, a playable audio player and a frozen widget with its figure;
no request may go to another host, and none may fail. The site is the one ``make docs``
built (``docs/_build/student``); when it is missing it is built here in fast mode.
"""

from __future__ import annotations

import functools
import http.server
import re
import socketserver
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_harness import REPO, free_port

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

SITE = REPO / "docs" / "_build" / "student"
MATH_TIMEOUT_MS = 120_000
# MathJax 2.7 declares a placeholder font at about:blank (harmless, refused by Chromium)
HARMLESS = ("about:blank", "data:", "blob:")


@pytest.fixture(scope="module")
def built(chromium_path: Path) -> Path:
    sys.path.insert(0, str(REPO / "docs" / "_ext"))
    import scrapl_site

    return scrapl_site.build_site("student", REPO)


@pytest.fixture(scope="module")
def site(built: Path) -> Iterator[str]:
    """The site on a static HTTP server at 127.0.0.1."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = socketserver.ThreadingTCPServer(
        ("127.0.0.1", free_port()), functools.partial(Quiet, directory=str(built))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def course_page(built: Path) -> str:
    """The first course page with math, a figure, an audio player and a frozen widget."""
    for page in sorted((built / "course").glob("*.html")):
        text = page.read_text()
        if all(k in text for k in ('class="math', "<img", "<audio", "scrapl-static-figure")):
            return f"course/{page.name}"
    raise AssertionError("no course page has math, a figure, audio and a frozen widget")


def watch(page: Any, base: str) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"outside": [], "failed": [], "status": []}

    def on_request(req: Any) -> None:
        if not req.url.startswith((base, *HARMLESS)):
            seen["outside"].append(req.url)

    page.on("request", on_request)

    def on_failed(req: Any) -> None:
        # a load cut short by the next page.goto is aborted, not failed
        if not req.url.startswith(HARMLESS) and "ERR_ABORTED" not in (req.failure or ""):
            seen["failed"].append(f"{req.url} {req.failure}")

    page.on("requestfailed", on_failed)
    page.on(
        "response",
        lambda r: seen["status"].append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    return seen


RAW_MATH_JS = r"""() => Array.from(document.querySelectorAll('.math')).filter(
    e => /\\\(|\\\[|\$/.test(Array.from(e.childNodes).filter(n => n.nodeType === 3)
        .map(n => n.textContent).join(''))).length"""

IMAGES_JS = """() => Array.from(document.querySelectorAll('.cell_output img')).map(i => ({
    ok: i.complete && i.naturalWidth > 0,
    w: i.getBoundingClientRect().width, h: i.getBoundingClientRect().height}))"""

AUDIO_JS = """a => new Promise(ok => { if (a.readyState >= 1) ok(a.duration);
    else { a.addEventListener('loadedmetadata', () => ok(a.duration));
           a.load(); setTimeout(() => ok(-1), 10000); } })"""


def test_site_offline_home_course_glossary_api(site: str, built: Path, page: Any) -> None:
    seen = watch(page, site)

    page.goto(f"{site}/index.html")
    assert "scrapl-edu" in page.title()
    links = page.locator("a[href*='course/']")
    assert links.count() >= len(list((REPO / "notebooks").glob("[0-9][0-9]*_*.py")))

    href = course_page(built)
    page.goto(f"{site}/{href}")
    page.wait_for_selector("body[data-mathjax=typeset]", state="attached", timeout=MATH_TIMEOUT_MS)
    assert page.locator(".MathJax, .MathJax_Display").count() > 0, f"{href}: no typeset math"
    errors = page.evaluate("() => document.querySelectorAll('.MathJax_Error, .merror').length")
    assert errors == 0, f"{href}: {errors} TeX errors"
    assert page.evaluate(RAW_MATH_JS) == 0, f"{href}: math left as TeX source"

    images = page.evaluate(IMAGES_JS)
    assert images, f"{href}: no figure"
    bad = [im for im in images if not (im["ok"] and im["w"] > 10 and im["h"] > 10)]
    assert not bad, f"{href}: figures that did not render: {bad}"

    frozen = page.locator(".scrapl-static img.scrapl-static-figure")
    assert frozen.count() >= 1 and frozen.first.is_visible(), (
        f"{href}: frozen widget lost its figure"
    )

    players = page.locator("audio")
    assert players.count() >= 1
    for k in range(players.count()):
        duration = players.nth(k).evaluate(AUDIO_JS)
        assert duration > 0, f"{href}: audio player {k} does not decode ({duration})"

    launch = page.locator("a[href^='https://colab.research.google.com/']")
    assert launch.count() == 1, "a Colab link on the course page"

    with_terms = next(
        p
        for p in sorted((built / "course").glob("*.html"))
        if "glossary.html#term-" in p.read_text()
    )
    page.goto(f"{site}/course/{with_terms.name}")
    term = page.locator("a[href*='glossary.html#term-']").first
    target = term.get_attribute("href")
    assert target, "a glossary link on the course page"
    term.click()
    page.wait_for_load_state()
    anchor = target.split("#", 1)[1]
    assert re.search(r"/glossary\.html$", page.url.split("#")[0]), page.url
    assert page.locator(f"[id='{anchor}']").count() == 1
    assert page.locator("dl.glossary dt").count() >= 20

    page.goto(f"{site}/api.html")
    for name in ("JTFS", "SCRAPLOptimizer", "PathSampler", "theta_importance_sampling"):
        assert page.locator(f"[id='scrapl_edu.{name}']").count() == 1, name

    page.goto(f"{site}/search.html?q=P-SAGA")
    page.wait_for_selector("#search-results ul li", timeout=60_000)

    assert not seen["outside"], f"requests left 127.0.0.1: {seen['outside']}"
    assert not seen["failed"] and not seen["status"], (seen["failed"], seen["status"])


def test_course_page_typesets_from_disk(built: Path, page: Any) -> None:
    """Opened as a file (no server at all), the bundled MathJax still typesets."""
    page.goto((built / course_page(built)).as_uri())
    page.wait_for_selector("body[data-mathjax=typeset]", state="attached", timeout=MATH_TIMEOUT_MS)
    assert page.locator(".MathJax, .MathJax_Display").count() > 0
