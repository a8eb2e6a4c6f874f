"""Fixtures for the real-browser tests; the machinery lives in ``browser_harness``."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LAB_NOTEBOOK,
    NOTEBOOKS,
    VOILA_FLAGS,
    Server,
    free_port,
    make_site,
    server_env,
    skip_or_fail,
    start_server,
    stop_process_tree,
    write_lab_settings,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: real-browser tests (JupyterLab / Voila driven by chromium)"
    )


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item, so fixtures can tell a failed test."""
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        skip_or_fail(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail("the playwright Python package is not installed (pip install playwright)")
    return CHROMIUM


@pytest.fixture(scope="session")
def lab_notebook() -> Path:
    """The notebook under test: the sound-matching lab."""
    path = NOTEBOOKS / LAB_NOTEBOOK
    if not path.is_file():
        pytest.fail(f"{path} is missing", pytrace=False)
    return path


@pytest.fixture
def jupyterlab(chromium_path: Path, tmp_path: Path, lab_notebook: Path) -> Iterator[Server]:
    """JupyterLab on 127.0.0.1 (known token) serving a copy of ``notebooks/``."""
    site = make_site(tmp_path, lab_notebook)
    port, token = free_port(), secrets.token_hex(16)
    settings = tmp_path / "lab-user-settings"
    write_lab_settings(settings)
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        "--allow-root",  # CI runs as root
        f"--ServerApp.root_dir={site}",
        f"--IdentityProvider.token={token}",
        "--ServerApp.password=",
        "--LabApp.news_url=None",
        "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={tmp_path / 'lab-workspaces'}",
    ]
    server = start_server(
        cmd,
        port=port,
        token=token,
        root=site,
        log=tmp_path / "jupyterlab.log",
        env=server_env(tmp_path / "jupyter-home"),
        ready_path=f"/api/status?token={token}",
    )
    try:
        yield server
    finally:
        stop_process_tree(server.proc)


@pytest.fixture
def voila(chromium_path: Path, tmp_path: Path, lab_notebook: Path) -> Iterator[Server]:
    """Voila serving a copy of the lab notebook, as the README command does."""
    site = make_site(tmp_path, lab_notebook)
    port = free_port()
    nb = site / lab_notebook.parent.name / lab_notebook.name
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(nb),
        f"--port={port}",
        "--Voila.port_retries=0",
        *VOILA_FLAGS,
    ]
    server = start_server(
        cmd,
        port=port,
        token="",
        root=nb.parent,
        log=tmp_path / "voila.log",
        env=server_env(tmp_path / "jupyter-home"),
        ready_path="/voila/static/voila.js",
    )
    try:
        yield server
    finally:
        stop_process_tree(server.proc)


@pytest.fixture
def page(chromium_path: Path, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A chromium page; ``CHROMIUM_ARGS`` confine it to 127.0.0.1."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            pg = context.new_page()
            pg.set_default_timeout(60_000)
            yield pg
            rep = getattr(request.node, "rep_call", None)
            if rep is not None and rep.failed:
                shot = tmp_path / "failure.png"
                with contextlib.suppress(Exception):
                    pg.screenshot(path=str(shot), full_page=True)
                    print(f"browser screenshot at failure: {shot}")
            context.close()
        finally:
            browser.close()
