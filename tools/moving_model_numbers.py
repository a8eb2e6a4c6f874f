"""The moving-model numbers of notebooks 05 (Adam vs P-Adam) and 06 (P-SAGA), written down.

    .venv/bin/python tools/moving_model_numbers.py                 # classroom sizes
    SCRAPL_EDU_FAST=1 .venv/bin/python tools/moving_model_numbers.py  # the notebooks' fast sizes

Runs :func:`scrapl_edu.lessons.paired_runs` with the notebooks' settings (seeds 0-3) and
writes ``data/results/curriculum/moving_model_<mode>.json`` and ``.md``: per seed and paired
(mean difference, 95% CI, paired t-test, seeds better), as the paper's Table 6.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scrapl_edu import lessons, toy  # noqa: E402 - after the path set-up
from scrapl_edu.config import fast_mode  # noqa: E402

SEEDS = [0, 1, 2, 3]


def main() -> None:
    fast = fast_mode()
    mode = "fast" if fast else "classroom"
    P = toy.make_problem(fast=fast).n_paths
    steps = 50 if fast else 2 * P
    out: dict = {"mode": mode, "P": P, "steps": steps, "seeds": SEEDS}
    lines = [f"# Moving-model numbers of notebooks 05-06 ({mode} mode, P = {P}, {steps} steps)", ""]

    t0 = time.perf_counter()
    r5 = lessons.paired_runs(
        ["Adam", "P-Adam"], SEEDS, steps, probe_every=8 if fast else 6, fast=fast
    )
    a, b = r5.arm("Adam"), r5.arm("P-Adam")
    half = steps // 2
    out["05"] = {
        "cos_drawn_first_half": r5.cos_drawn[:, :, :half].mean(2).tolist(),
        "cos_drawn_second_half": r5.cos_drawn[:, :, half:].mean(2).tolist(),
        "cos_full": np.nanmean(r5.cos_full, 2).tolist(),
        "theta_error_end": r5.theta_error[:, :, -1].tolist(),
        "loss_ratio": r5.loss_ratio.tolist(),
        "arms": r5.arms,
        "seconds": time.perf_counter() - t0,
    }
    lines += ["## 05: Adam vs P-Adam", "", lessons.paired_table(r5, "Adam", "P-Adam"), ""]
    for name, key in (("1st half", "cos_drawn_first_half"), ("2nd half", "cos_drawn_second_half")):
        v = np.asarray(out["05"][key])
        lines.append(
            f"- cos(step, drawn path), {name}: Adam {v[a].round(2)}, P-Adam {v[b].round(2)}"
        )
    v = np.asarray(out["05"]["cos_full"])
    lines += [f"- cos(step, full gradient): Adam {v[a].round(2)}, P-Adam {v[b].round(2)}", ""]

    t0 = time.perf_counter()
    r6 = lessons.paired_runs(
        ["P-Adam", "P-Adam + P-SAGA"],
        SEEDS,
        steps,
        probe_every=8,
        table_every=10 if fast else 21,
        fast=fast,
    )
    a, b = r6.arm("P-Adam"), r6.arm("P-Adam + P-SAGA")
    late = r6.table_steps >= steps // 2
    same = (r6.var_applied[b] / r6.var_no_table[b])[:, late].mean(1)
    between = r6.var_applied[b][:, late].mean(1) / r6.var_applied[a][:, late].mean(1)
    lag = np.nanmean(r6.table_lag[b][:, late], 1)
    extra = r6.memory["P-Adam + P-SAGA"]["bytes_used"] - r6.memory["P-Adam"]["bytes_used"]
    out["06"] = {
        "variance_ratio_same_state": same.tolist(),
        "variance_ratio_between_runs": between.tolist(),
        "table_lag": lag.tolist(),
        "mean_shift": r6.mean_shift[b].mean(0).tolist(),
        "unvisited_share": (1 - r6.n_visited[b] / P).mean(0).tolist(),
        "table_steps": r6.table_steps.tolist(),
        "theta_error_end": r6.theta_error[:, :, -1].tolist(),
        "saga_extra_bytes": extra,
        "seconds": time.perf_counter() - t0,
    }
    lines += [
        "## 06: P-Adam vs P-Adam + P-SAGA",
        "",
        lessons.paired_table(r6, "P-Adam", "P-Adam + P-SAGA"),
        "",
        f"- variance of the step, table on / off at the same state (2nd half): {same.round(2)}",
        f"- variance, P-SAGA run / P-Adam run (2nd half): {between.round(2)}",
        f"- relative lag of the table's entries (2nd half): {lag.round(2)}",
        f"- P-SAGA's extra optimizer state (seed 0, |w| = {r6.n_weights}): {extra} bytes",
        "",
        f"Command: `{'SCRAPL_EDU_FAST=1 ' if fast else ''}OMP_NUM_THREADS=1 "
        ".venv/bin/python tools/moving_model_numbers.py`",
    ]
    folder = ROOT / "data/results/curriculum"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"moving_model_{mode}.json").write_text(json.dumps(out, indent=1))
    (folder / f"moving_model_{mode}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
