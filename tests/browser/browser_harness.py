"""Real-browser harness: a Jupyter server on 127.0.0.1 driven by Debian's chromium.

The servers run in a throw-away copy of ``notebooks/`` (and ``data/``) under pytest's tmp
dir, with their own Jupyter config/data/runtime/settings dirs, so nothing a user saved is
touched. Every server is started in its own process group and, at teardown, stopped with
its whole process tree (kernels included): no server outlives its test.

Playwright's own browser download cannot work here, so the tests drive the ``chromium``
that apt installs (``tools/install_browser.sh``). Outside CI a missing chromium or
playwright skips these tests; with ``CI`` set it fails them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
LAB_NOTEBOOK = "08_sound_matching_lab.ipynb"
SCREENSHOTS = REPO / "docs" / "screenshots"
CHROMIUM = Path(os.environ.get("SCRAPL_EDU_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Only ever talk to 127.0.0.1: other hosts go to a dead proxy and resolve to nothing
    # (loopback bypasses the proxy). Cheaper than routing every request through Python.
    "--proxy-server=http://127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
SERVER_START_TIMEOUT_S = 120.0
# The lab's default run, in fast mode, on a loaded 2-core machine (kernel start included).
RUN_TIMEOUT_MS = 150_000


def in_ci() -> bool:
    """True when the ``CI`` environment variable says we run in CI (``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> None:
    """Skip locally, fail in CI: CI must run the browser tests, not silently skip them."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set: run tools/install_browser.sh first)", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    """Direct children of ``pid``, read from /proc (Linux)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # "pid (comm) state ppid ...": comm may hold spaces, so split after the ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                kids.append(int(stat.parent.name))
    return kids


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        kids = _children(todo.pop())
        out.extend(kids)
        todo.extend(kids)
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop_process_tree(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM the server's process group (it shuts its kernels down), then SIGKILL leftovers.

    Kernels run in process groups of their own, so their pids are collected first and
    killed explicitly if the server did not take them down.
    """
    tree = _descendants(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in tree:
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@dataclass
class Server:
    """A running Jupyter server (JupyterLab or Voila) on 127.0.0.1."""

    proc: subprocess.Popen[bytes]
    port: int
    token: str
    root: Path
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, n: int = 60) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        return ""


def server_env(home: Path) -> dict[str, str]:
    """Environment for a server: fast mode, and Jupyter state kept under ``home``."""
    env = dict(os.environ)
    for name in ("config", "data", "runtime", "ipython"):
        (home / name).mkdir(parents=True, exist_ok=True)
    env.update(
        SCRAPL_EDU_FAST="1",
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONUNBUFFERED="1",
        # Two shared cores: keep the kernel's torch to one thread.
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    return env


def start_server(
    cmd: list[str],
    *,
    port: int,
    token: str,
    root: Path,
    log: Path,
    env: dict[str, str],
    ready_path: str,
) -> Server:
    """Start ``cmd`` in a new process group; wait until ``ready_path`` answers 200."""
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(proc=proc, port=port, token=token, root=root, log=log)
    url = f"{server.base}{ready_path}"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            pytest.fail(
                f"server exited with {proc.returncode}:\n{server.log_tail()}", pytrace=False
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if time.monotonic() > deadline:
            stop_process_tree(proc)
            pytest.fail(
                f"server not ready on {url} after {SERVER_START_TIMEOUT_S:.0f} s:\n"
                f"{server.log_tail()}",
                pytrace=False,
            )
        time.sleep(0.5)


def make_site(tmp: Path, notebook: Path) -> Path:
    """A throw-away copy of the notebooks (and data) for a server to run in."""
    site = tmp / "site"
    shutil.copytree(
        notebook.parent,
        site / notebook.parent.name,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
    )
    if (REPO / "data").is_dir():
        shutil.copytree(REPO / "data", site / "data")
    return site


def write_lab_settings(settings: Path) -> None:
    """User settings for the test's JupyterLab: no news fetch, no cell virtualisation."""
    files: dict[str, dict[str, Any]] = {
        # Render every cell (no windowing), so widget outputs are always in the DOM.
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for rel, value in files.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


# Voila's lab extensions: jupytext's breaks the Voila page, so it is denied.
VOILA_FLAGS = [
    "--no-browser",
    "--Voila.ip=127.0.0.1",
    "--VoilaConfiguration.extension_denylist=['jupyterlab-jupytext']",
]


# --------------------------------------------------------------------------- browser


def save_screenshot(page: Any, name: str, tmp_path: Path) -> Path:
    """Screenshot to pytest's tmp dir; with ``SCRAPL_EDU_SCREENSHOTS=1`` also refresh the
    README's copy in ``docs/screenshots/`` (so a plain test run leaves the tree clean)."""
    shot = tmp_path / name
    page.screenshot(path=str(shot))
    if os.environ.get("SCRAPL_EDU_SCREENSHOTS", "0") not in ("", "0"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOTS / name)
    return shot
