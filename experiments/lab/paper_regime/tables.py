"""The paper-regime tables from the finished runs committed in data/results/lab/paper_regime.

The queues (``data/results/lab/paper_regime/queue_{a,...,h}.sh``, commands (21)) run seed by
seed and a session can end between two runs; each finished run's ``results.json`` is
committed. This script rebuilds every comparison's ``table.md`` / ``summary.json`` from the
runs that exist (no training: :func:`scrapl_edu.lab.comparison.aggregate` skips a run that
is not there, and the title says how many seeds each row has), and redraws its
``figure.png`` (the validation curves of every committed seed) and ``paired.png``::

    python -m experiments.lab.paper_regime.tables            # every folder
    python -m experiments.lab.paper_regime.tables chirplet   # the folders named
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from scrapl_edu import viz
from scrapl_edu.lab.comparison import aggregate, validation_curves
from scrapl_edu.lab.regime import PAPER_REGIME_DIR

#: folder -> (preset, rows, title)
TABLES = {
    "chirplet": (
        "classroom_paper",
        ["scrapl", "scrapl_no_theta_is", "scrapl_p_adam", "mss", "p_loss"],
        "classroom chirplet in the paper's regime (lr 1e-4, 4800 steps, batch 8)",
    ),
    "chirplet_jtfs_equal_compute": (
        "classroom_paper",
        ["jtfs"],
        "full JTFS at SCRAPL's compute (480 steps), classroom chirplet, paper regime",
    ),
    "chirplet_jtfs_first_order_equal_compute": (
        "classroom_paper",
        ["jtfs"],
        "full JTFS with the first order (the authors' baseline) at SCRAPL's compute (480 "
        "steps), classroom chirplet, paper regime",
    ),
    "chirplet_jtfs_equal_steps": (
        "classroom_paper",
        ["jtfs"],
        "full JTFS at SCRAPL's steps (4800), classroom chirplet, paper regime",
    ),
    "classroom_psaga_probe8": (
        "classroom",
        ["scrapl_p_adam", "scrapl_no_theta_is"],
        "classroom regime, P-SAGA off / on, applied-step probe = batch (8)",
    ),
    "granular_squared": (
        "classroom_granular_paper",
        ["scrapl_no_theta_is", "scrapl"],
        "classroom granular, paper regime, squared path loss (Eq. 3)",
    ),
    "granular_norm": (
        "classroom_granular_paper",
        ["scrapl_no_theta_is", "scrapl"],
        "classroom granular, paper regime, the authors' norm path loss",
    ),
    "am1-2_fm0.5-1": (
        "classroom_am1-2_fm0.5-1_paper",
        ["scrapl_no_theta_is", "scrapl"],
        "Table 3 in small: classroom am1-2_fm0.5-1, paper regime, uniform vs theta-IS",
    ),
    "chirplet_batch32": (
        "classroom_paper",
        ["scrapl", "scrapl_no_theta_is"],
        "batch-32 control: classroom chirplet, paper regime, batch 32",
    ),
}
SEEDS = [0, 1, 2, 3, 4]  # seeds 3-4: the close theta-IS rows only (queues F and G)


def main(argv: list[str] | None = None) -> None:
    """Rebuild the folders named in ``argv`` (all of :data:`TABLES` when none is named)."""
    names = sys.argv[1:] if argv is None else argv
    unknown = sorted(set(names) - set(TABLES))
    if unknown:
        raise SystemExit(f"unknown folder {unknown}; choose from {sorted(TABLES)}")
    for folder, (preset, rows, title) in TABLES.items():
        if names and folder not in names:
            continue
        out = PAPER_REGIME_DIR / folder
        runs = sorted(p.parent.name for p in out.glob(f"runs/{preset}/*/seed*/results.json"))
        if not runs:
            print(f"{folder}: no finished run yet")
            continue
        found = {
            row: [
                s
                for s in SEEDS
                if (out / "runs" / preset / row / f"seed{s}" / "results.json").exists()
            ]
            for row in rows
        }
        seeds_txt = "; ".join(f"{r}: seeds {v or 'none'}" for r, v in found.items())
        seeds = sorted({s for held in found.values() for s in held})  # the seeds that exist
        summary = aggregate(out, [preset], rows, seeds, title=f"{title} ({seeds_txt})")
        curves = validation_curves(out, [preset], rows, seeds)
        _atomic(
            out / "figure.png",
            lambda f, c=curves, s=summary, t=title: viz.save_lab_comparison(f, c, s, t),
        )
        _atomic(out / "paired.png", lambda f, s=summary, t=title: viz.save_paired_figure(f, s, t))
        print(f"{folder}: {seeds_txt}")


def _atomic(path: Path, draw: Callable[[Path], object]) -> None:
    """Draw into a temporary file beside ``path``, then move it in place (a figure that
    cannot be drawn, e.g. no pair to show, leaves the old one alone)."""
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        if draw(Path(tmp)) is not False and os.path.getsize(tmp) > 0:
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


if __name__ == "__main__":
    main()
