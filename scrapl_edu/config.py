"""Run-mode switches read from the environment, by entry points only.

The command line, the demo, the notebooks and the dashboard call :func:`fast_mode` and pass
the answer down (``make_config(..., fast=...)``, :func:`scrapl_edu.presets.shrink`); library
code takes it as an argument and never reads the environment itself.
"""

import os


def fast_mode() -> bool:
    """True when ``SCRAPL_EDU_FAST`` is set to a truthy value (CI's fast mode)."""
    return os.environ.get("SCRAPL_EDU_FAST", "0").strip().lower() not in ("", "0", "false", "no")
