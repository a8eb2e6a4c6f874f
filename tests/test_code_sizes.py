"""The README's measured sizes are today's (issue 17): ``tools/code_sizes.py --check``."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import code_sizes  # noqa: E402


def test_readme_states_the_measured_sizes() -> None:
    written = code_sizes.readme_line()
    assert written is not None, "README.md has no 'Measured sizes' line (tools/code_sizes.py)"
    measured = code_sizes.sizes_line()
    assert written.startswith(measured), f"README: {written}\nmeasured: {measured}"


def test_sizes_are_measured_not_written() -> None:
    # the largest function is at least as long as every function the walk finds
    sizes = [n for n, _ in code_sizes.functions()]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > 1
    assert code_sizes.largest_file()[0] >= max(sizes)
