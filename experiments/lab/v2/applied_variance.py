"""P-SAGA's cut of the applied step's variance, read from the v2 ablation summaries (no run).

Each SCRAPL run records ``applied_diag`` at steps 0, 100, ..., 400, and each ablation's
``summary.json`` keeps it per seed. The rows ``+ P-Adam`` (P-SAGA off) and
``+ P-Adam + P-SAGA`` (on), both with uniform π, differ by P-SAGA alone (Eq. 9); per seed,
:func:`scrapl_edu.lab.evidence.applied_variance` after the warm-up (steps 200-400). Writes
``data/results/lab/v2/applied_variance.md``. The command that made it (data/results/lab/
commands.sh, (15)), from the repository root::

    .venv/bin/python -m experiments.lab.v2.applied_variance
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scrapl_edu.lab.comparison import load_summary
from scrapl_edu.lab.evidence import ABLATIONS, APPLIED_AFTER_STEP, applied_variance

#: the v2 results this reads (the ablations' summaries) and writes beside
RESULTS = Path(__file__).resolve().parents[3] / "data" / "results" / "lab" / "v2"


def report(results: Path = RESULTS) -> str:
    """The markdown of ``applied_variance.md`` from the ablations' summaries under ``results``."""
    lines = []
    for folder, preset in ABLATIONS.values():
        found = applied_variance(
            load_summary(results / folder), preset, after_step=APPLIED_AFTER_STEP
        )
        if not found:
            continue
        lines += [
            f"### {preset} ({folder}/)",
            "",
            "| seed | variance off / on, steps 200-400 | per step (200, 300, 400) | cos off / on |",
            "|---|---|---|---|",
        ]
        for vr in found:
            per = ", ".join(f"{x:.2f}" for x in vr["per_step"])
            cos = f"{vr['base_cos']:.3f} / {vr['treated_cos']:.3f}"
            lines.append(f"| {vr['seed']} | {vr['ratio']:.2f}x | {per} | {cos} |")
        r = np.array([vr["ratio"] for vr in found])
        lines += [
            "",
            f"Mean ratio {r.mean():.2f}x (geometric {np.exp(np.log(r).mean()):.2f}x), "
            f"range {r.min():.2f}-{r.max():.2f}, lower with P-SAGA on {(r > 1).sum()}/{len(r)} seeds.",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    text = report()
    (RESULTS / "applied_variance.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
