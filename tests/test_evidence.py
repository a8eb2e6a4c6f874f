"""The evidence module (notebook 09): numbers read from the committed results, and verdicts
that follow the numbers (a changed result changes the verdict)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from scrapl_edu import viz
from scrapl_edu.lab.evidence import (
    RESULTS_DIR,
    claims,
    cost_accuracy,
    errors_per_parameter,
    load_evidence,
    paired_ablation,
    table3,
)


@pytest.fixture(scope="module")
def ev():
    return load_evidence()


def _summary(name: str) -> dict:
    return json.loads((RESULTS_DIR / name / "summary.json").read_text())


def test_cost_accuracy_reads_the_idle_timings(ev):
    timing = {
        f: json.loads((RESULTS_DIR / "timing" / f / "results.json").read_text())
        for f in ("scrapl_full_run", "jtfs_12_steps")
    }
    pts = {p["label"]: p for p in cost_accuracy(ev)}
    assert pts["SCRAPL"]["ms_per_step"] == timing["scrapl_full_run"]["ms_per_step"]
    assert pts["JTFS (equal steps)"]["ms_per_step"] == timing["jtfs_12_steps"]["ms_per_step"]
    assert not pts["SCRAPL"]["estimated"] and pts["MSS"]["estimated"]
    losses = {e["row"]: e for e in _summary("losses")["entries"]}
    scale = timing["scrapl_full_run"]["ms_per_step"] / losses["scrapl"]["ms_per_step"][0]
    assert pts["MSS"]["ms_per_step"] == pytest.approx(losses["mss"]["ms_per_step"][0] * scale)
    assert pts["SCRAPL"]["theta_l1"][0] == pytest.approx(
        np.mean(losses["scrapl"]["per_seed_theta_l1"])
    )


def test_paired_ablation_matches_scipy_on_the_committed_seeds(ev):
    entries = {e["row"]: e["per_seed_theta_l1"] for e in _summary("ablation")["entries"]}
    by = {p["label"]: p["theta_l1"] for p in paired_ablation(ev)}
    for label, (a, b) in {
        "+ P-Adam": ("scrapl_sampling_only", "scrapl_p_adam"),
        "+ P-SAGA": ("scrapl_p_adam", "scrapl_no_theta_is"),
        "+ θ-IS": ("scrapl_no_theta_is", "scrapl"),
    }.items():
        assert by[label]["p_t"] == pytest.approx(stats.ttest_rel(entries[b], entries[a]).pvalue)
        assert by[label]["improved"] == int(np.sum(np.subtract(entries[b], entries[a]) < 0))


def test_table3_and_per_parameter_rows(ev):
    rows = table3(ev)
    assert [(r["preset"], r["sampling"]) for r in rows] == [
        ("classroom", "uniform"),
        ("classroom", "theta_is"),
        ("classroom_am1-2_fm0.5-1", "uniform"),
        ("classroom_am1-2_fm0.5-1", "theta_is"),
    ]
    assert rows[1]["paper_am"] == 54.9 and rows[1]["paper_fm"] == 48.5
    per = errors_per_parameter(ev)
    assert [r["label"] for r in per][-1] == "P-loss" and len(per) == 5
    fig = viz.plot_errors_per_parameter(per)
    fig2 = viz.plot_accuracy_vs_cost(cost_accuracy(ev))
    assert len(fig.axes) == 1 and len(fig2.axes) == 1


def test_every_claim_is_decided_and_worded(ev):
    found = claims(ev)
    assert len({c.key for c in found}) == len(found) >= 12
    for c in found:
        assert c.paper and c.lab and isinstance(c.agrees, bool)
        assert any(ch.isdigit() for ch in c.lab), f"{c.key}: the lab's side needs its number"


def test_a_changed_result_changes_the_verdict(tmp_path):
    """Copy the results, make P-SAGA hurt on every seed: its verdict flips; others stay."""
    root = tmp_path / "lab"
    shutil.copytree(RESULTS_DIR, root, ignore=shutil.ignore_patterns("*.png", "*.csv", "*.npz"))
    before = {c.key: c.agrees for c in claims(load_evidence(root))}
    f = root / "ablation" / "summary.json"
    s = json.loads(f.read_text())
    s.pop("paired", None)
    base = next(e for e in s["entries"] if e["row"] == "scrapl_p_adam")["per_seed_theta_l1"]
    for e in s["entries"]:
        if e["row"] == "scrapl_no_theta_is":
            e["per_seed_theta_l1"] = [v + 20.0 + i for i, v in enumerate(base)]
    f.write_text(json.dumps(s))
    after = {c.key: c.agrees for c in claims(load_evidence(root))}
    assert before["p_saga_significant"] and not after["p_saga_significant"]
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= {"p_saga_significant", "theta_is_helps_classroom"}
    with pytest.raises(FileNotFoundError, match="no results folder"):
        load_evidence(tmp_path / "nowhere")


def test_results_dir_is_the_repositorys():
    assert RESULTS_DIR == Path(__file__).resolve().parents[1] / "data" / "results" / "lab"
