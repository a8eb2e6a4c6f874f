"""P-SAGA's cut of the applied step's variance, read from the v2 ablation runs (no new run).

Each SCRAPL run records ``applied_diag`` at steps 0, 100, ..., 400. The rows ``+ P-Adam``
(P-SAGA off) and ``+ P-Adam + P-SAGA`` (on), both with uniform π, differ by P-SAGA alone;
per seed, :func:`scrapl_edu.lab.applied.variance_ratio` after the warm-up (steps 200-400).
Writes ``applied_variance.md`` next to this file.
"""

import json
from pathlib import Path

import numpy as np

from scrapl_edu.lab.applied import variance_ratio

HERE = Path(__file__).parent
lines = []
for folder, preset in (("ablation", "classroom"), ("ablation_granular", "classroom_granular")):
    runs = HERE / folder / "runs" / preset
    off_dir, on_dir = runs / "scrapl_p_adam", runs / "scrapl_no_theta_is"
    seeds = sorted(
        int(p.name[4:])
        for p in off_dir.glob("seed*")
        if (p / "results.json").exists() and (on_dir / p.name / "results.json").exists()
    )
    if not seeds:
        continue
    lines += [
        f"### {preset} ({folder}/)",
        "",
        "| seed | variance off / on, steps 200-400 | per step (200, 300, 400) | cos off / on |",
        "|---|---|---|---|",
    ]
    ratios = []
    for s in seeds:
        off = json.loads((off_dir / f"seed{s}" / "results.json").read_text())["applied_diag"]
        on = json.loads((on_dir / f"seed{s}" / "results.json").read_text())["applied_diag"]
        vr = variance_ratio(off, on, after_step=200)
        ratios.append(vr["ratio"])
        per = ", ".join(f"{x:.2f}" for x in vr["per_step"])
        cos = f"{vr['base_cos']:.3f} / {vr['treated_cos']:.3f}"
        lines.append(f"| {s} | {vr['ratio']:.2f}x | {per} | {cos} |")
    r = np.array(ratios)
    lines += [
        "",
        f"Mean ratio {r.mean():.2f}x (geometric {np.exp(np.log(r).mean()):.2f}x), "
        f"range {r.min():.2f}-{r.max():.2f}, lower with P-SAGA on {(r > 1).sum()}/{len(r)} seeds.",
        "",
    ]
(HERE / "applied_variance.md").write_text("\n".join(lines))
print("\n".join(lines))
