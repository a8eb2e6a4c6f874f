"""Test-wide settings and helpers."""

from collections.abc import Sequence
from typing import Any

import pytest
import torch

# Two CPU cores, two xdist workers: one thread each avoids oversubscription (a 3 ms
# synth call took 450 ms with torch's default threads under load).
torch.set_num_threads(1)


# ------------------------------------------------------------------ made-up summaries
def _summary_entry(
    preset: str,
    row: str,
    theta: Sequence[float] = (100.0,),
    param_names: Sequence[str] = ("am_hz", "fm_oct_per_s"),
    **fields: Any,
) -> dict[str, Any]:
    """A complete ``summary.json`` entry (as JSON holds it) of ``row`` on ``preset``.

    ``theta``: test θ L1 per seed (its mean is ``theta_l1`` and every parameter's error);
    the other columns are placeholders; ``fields`` set or add any key (``per_seed``,
    ``applied_diag``, ``drum``, ``am_hz_l1``, ...).
    """
    from scrapl_edu.lab.config import ROWS

    ci = [float(sum(theta) / len(theta)), 1.0]
    entry: dict[str, Any] = {
        "preset": preset,
        "row": row,
        "label": row,
        "n_seeds": len(theta),
        **ROWS[row],
        "theta_l1": ci,
        **{f"{n}_l1": list(ci) for n in param_names},
        "total_var": [0.5, 0.1],
        "conv_rate": 0.0,
        "conv_steps": [float("nan"), float("nan")],
        "ms_per_step": [1.0, 0.1],
        "wall_s": [1.0, 0.1],
        "steps": [10.0, 0.0],
        "param_names": list(param_names),
        "per_seed_theta_l1": list(theta),
    }
    entry.update(fields)
    return entry


@pytest.fixture
def summary_entry():
    """:func:`_summary_entry`: complete entries for made-up comparison summaries."""
    return _summary_entry
