"""The sound-matching lab in a real JupyterLab, driven by chromium.

Open notebook 08, run all cells (the notebook's default run), switch P-SAGA off, press Run,
and check that the displayed result and the live figure are redrawn with P-SAGA off.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from browser_harness import RUN_TIMEOUT_MS, Server, save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# How a result reports P-SAGA switched off: "P-SAGA off", "P-SAGA: off", "P-SAGA ✗", …
P_SAGA_OFF = re.compile(r"P-SAGA\W{0,3}(off|✗|✘|no|false)\b|P-SAGA\W{0,3}[✗✘]", re.IGNORECASE)


def figure_digest(page: Any) -> str | None:
    """A short fingerprint of the data of the dashboard's live plotly figure.

    jupyterlab-plotly first shows the figure's PNG fallback and draws the interactive
    plot on the PNG's ``mouseenter``, which this sends (a real hover is not reliable
    here: no event fires when the page changes under a pointer that does not move).
    None while no interactive figure is drawn (for example between two redraws).
    """
    from playwright.sync_api import Error

    try:
        page.locator(".scrapl-plot img.plot-img").last.dispatch_event("mouseenter", timeout=2_000)
        return page.locator(".scrapl-plot .js-plotly-plot").last.evaluate(
            "el => { const s = JSON.stringify(el.data); let h = 0;"
            " for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;"
            " return s.length + ':' + h; }",
            timeout=2_000,
        )
    except Error:
        return None


def plot_dom(page: Any) -> str:
    """The live figure's DOM without its image data (for failure messages)."""
    return page.locator(".scrapl-plot").first.evaluate(
        "el => el.innerHTML.replace(/base64,[^\"]*/g, 'base64,...').slice(0, 2000)"
    )


def wait_for_new_figure(page: Any, before: str | None, seconds: float = 60.0) -> str | None:
    """Poll until the live figure differs from ``before`` (returns the last fingerprint)."""
    deadline = time.monotonic() + seconds
    now = figure_digest(page)
    while (now is None or now == before) and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        now = figure_digest(page)
    return now


def run_all_cells(page: Any) -> None:
    """Run ▸ Run All Cells, through the menu as a user would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def test_lab_notebook_reacts_to_p_saga_toggle(
    jupyterlab: Server, lab_notebook: Path, page: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    problems: list[str] = []  # page errors and console errors, reported if a check fails
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    url = f"{jupyterlab.base}/lab/tree/{lab_notebook.parent.name}/{lab_notebook.name}"
    page.goto(f"{url}?token={jupyterlab.token}")
    # The notebook is open and its kernel is up.
    expect(page.locator(".jp-NotebookPanel .jp-Notebook").first).to_be_visible(timeout=90_000)
    # Wait until the notebook's session has its kernel, idle, before running anything.
    expect(page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\| Idle"))).to_have_count(
        1, timeout=90_000
    )
    run_all_cells(page)

    status = page.locator(".scrapl-status").first
    result = page.locator(".scrapl-result").first
    expect(status).to_contain_text("Run 1 finished", timeout=RUN_TIMEOUT_MS)
    before = (result.text_content() or "").strip()
    assert before, "the result widget is empty after the default run"
    assert not P_SAGA_OFF.search(before), f"default run should have P-SAGA on: {before!r}"
    page.locator(".scrapl-plot").first.scroll_into_view_if_needed()
    figure_before = wait_for_new_figure(page, None)
    assert figure_before is not None, (
        f"no interactive plotly figure after run 1: {problems} {plot_dom(page)}"
    )

    toggle = page.locator(".scrapl-toggle-p-saga input[type='checkbox']").first
    toggle.scroll_into_view_if_needed()
    toggle.uncheck()
    page.locator(".scrapl-run-button").first.click()

    # Wait for the redraw of the result itself, not only for the status label.
    expect(status).to_contain_text("Run 2 finished", timeout=RUN_TIMEOUT_MS)
    expect(result).not_to_have_text(before, timeout=30_000)
    expect(result).to_contain_text(P_SAGA_OFF, timeout=30_000)
    after = (result.text_content() or "").strip()
    assert after != before
    # the live figure was redrawn by the second run too
    page.locator(".scrapl-plot").first.scroll_into_view_if_needed()
    figure_after = wait_for_new_figure(page, figure_before)
    assert figure_after is not None, (
        f"no interactive plotly figure after run 2: {problems} {plot_dom(page)}"
    )
    assert figure_after != figure_before, "the live figure was not redrawn by run 2"

    result.scroll_into_view_if_needed()
    save_screenshot(page, "lab_browser.png", tmp_path)
