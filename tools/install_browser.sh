#!/usr/bin/env bash
# Install what the real-browser tests (tests/browser) need on a fresh machine:
#   - Debian's chromium (apt), which the tests drive through /usr/bin/chromium;
#   - Playwright's Python package in the venv (normally there already via `.[dev]`).
# Never run `playwright install`: its own browser download fails here.
# Idempotent: apt is skipped when /usr/bin/chromium exists, pip when playwright imports.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PY:-.venv/bin/python}"
PLAYWRIGHT_SPEC="${PLAYWRIGHT_SPEC:-playwright>=1.65,<2}"

if [ -x /usr/bin/chromium ]; then
    echo "install_browser: chromium present ($(/usr/bin/chromium --version 2>/dev/null | head -n1))"
else
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    echo "install_browser: installing chromium with apt"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium
fi

if "$PY" -c "import playwright.sync_api" 2>/dev/null; then
    echo "install_browser: playwright present"
else
    echo "install_browser: installing $PLAYWRIGHT_SPEC into $PY"
    "$PY" -m pip install -q "$PLAYWRIGHT_SPEC"
fi
