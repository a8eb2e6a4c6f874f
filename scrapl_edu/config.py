"""Run-mode switches read from the environment."""

import os


def fast_mode() -> bool:
    """True when ``SCRAPL_EDU_FAST`` is set to a truthy value (CI's fast mode)."""
    return os.environ.get("SCRAPL_EDU_FAST", "0").strip().lower() not in ("", "0", "false", "no")
