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
    ABLATIONS,
    CLAIMS,
    RESULTS_DIR,
    applied_variance,
    claims,
    cost_accuracy,
    errors_per_parameter,
    load_evidence,
    paired_ablation,
    table3,
)
from scrapl_edu.lab.summary import Summary

#: the claims table as the committed results give it, captured from ``claims`` before it
#: became the data table :data:`CLAIMS` (rerun results change it: update it with them)
CLAIMS_TABLE = Path(__file__).parent / "fixtures" / "claims_v2.json"


@pytest.fixture(scope="module")
def ev():
    return load_evidence()


def _summary(name: str) -> Summary:
    return Summary.load(RESULTS_DIR / name)


def _timings(root: Path) -> dict[str, dict]:
    found = [json.loads(p.read_text()) for p in (root / "timing").glob("*/results.json")]
    return {t["config"]["loss"]: t for t in found}


def test_cost_accuracy_reads_the_idle_timings(ev):
    timing = _timings(RESULTS_DIR)
    assert set(timing) == {"scrapl", "jtfs", "mss", "p_loss"}
    pts = {p["label"]: p for p in cost_accuracy(ev)}
    assert pts["SCRAPL"]["ms_per_step"] == timing["scrapl"]["ms_per_step"]
    assert pts["JTFS (equal steps)"]["ms_per_step"] == timing["jtfs"]["ms_per_step"]
    assert pts["MSS"]["ms_per_step"] == timing["mss"]["ms_per_step"]
    assert not any(p["estimated"] for p in pts.values())
    assert pts["JTFS (SCRAPL's compute)"]["steps"] < pts["JTFS (equal steps)"]["steps"]
    losses = {e.row: e for e in _summary("losses").entries}
    assert pts["SCRAPL"]["theta_l1"][0] == pytest.approx(
        np.mean(losses["scrapl"].per_seed_theta_l1)
    )


def _copy_results(tmp_path: Path) -> Path:
    root = tmp_path / "v2"
    skip = shutil.ignore_patterns("*.png", "*.csv", "*.npz", "runs", "frontend_probe")
    shutil.copytree(RESULTS_DIR, root, ignore=skip)
    return root


def test_a_loss_without_an_idle_timing_is_estimated_from_the_loaded_runs(tmp_path):
    root = _copy_results(tmp_path)
    shutil.rmtree(root / "timing" / "mss_100_steps")
    pts = {p["label"]: p for p in cost_accuracy(load_evidence(root))}
    losses = {e.row: e for e in _summary("losses").entries}
    scale = _timings(root)["scrapl"]["ms_per_step"] / losses["scrapl"].ms_per_step.mean
    assert pts["MSS"]["estimated"] and not pts["SCRAPL"]["estimated"]
    assert pts["MSS"]["ms_per_step"] == pytest.approx(losses["mss"].ms_per_step.mean * scale)
    shutil.rmtree(root / "timing" / "jtfs_12_steps")
    with pytest.raises(FileNotFoundError, match="no idle-machine timing of 'jtfs'"):
        load_evidence(root)


@pytest.mark.parametrize("synth", sorted(ABLATIONS))
def test_paired_ablation_matches_scipy_on_the_committed_seeds(ev, synth):
    folder = ABLATIONS[synth][0]
    entries = {e.row: e.per_seed_theta_l1 for e in _summary(folder).entries}
    by = {p.label: p.theta_l1 for p in paired_ablation(ev, synth)}
    for label, (a, b) in {
        "+ P-Adam": ("scrapl_sampling_only", "scrapl_p_adam"),
        "+ P-SAGA": ("scrapl_p_adam", "scrapl_no_theta_is"),
        "+ θ-IS": ("scrapl_no_theta_is", "scrapl"),
    }.items():
        assert by[label].p_t == pytest.approx(stats.ttest_rel(entries[b], entries[a]).pvalue)
        assert by[label].improved == int(np.sum(np.subtract(entries[b], entries[a]) < 0))
        assert by[label].n == len(entries[a]) == len(entries[b])
    with pytest.raises(ValueError, match="synth must be one of chirplet, granular"):
        paired_ablation(ev, "drums")


def test_applied_variance_pairs_the_p_saga_runs_seed_by_seed(summary_entry):
    def diag(variances: list[float]) -> list[dict[str, float]]:
        return [{"step": 100 * i, "var": v, "cos": 0.1} for i, v in enumerate(variances)]

    def entry(row: str, seeds: list[int], diags: list) -> dict:
        found = {"seeds": seeds, "per_seed": diags}
        return summary_entry("classroom", row, [100.0] * len(seeds), applied_diag=found)

    rows = ["scrapl_p_adam", "scrapl_no_theta_is"]
    summary = Summary.from_dict(
        {
            "presets": ["classroom"],
            "rows": rows,
            "seeds": [0, 1, 2],
            "entries": [
                entry(rows[0], [0, 1], [diag([9.0, 9.0, 4.0, 6.0]), diag([1.0] * 4)]),
                entry(rows[1], [0, 2], [diag([1.0, 1.0, 2.0, 2.0]), diag([1.0] * 4)]),
            ],
        }
    )
    (r,) = applied_variance(summary, "classroom", after_step=200)  # seed 0 is in both rows
    assert r["seed"] == 0 and r["steps"] == [200, 300]
    assert r["ratio"] == pytest.approx(5.0 / 2.0) and r["per_step"] == [2.0, 3.0]


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


def test_the_claims_table_reads_as_before_it_became_data(ev):
    """The claims of the committed results, rendered (key, paper, lab, verdict): the same as
    the 151-line ``claims`` gave before its statements became the table :data:`CLAIMS`."""
    found = [[c.key, c.paper, c.lab, c.agrees] for c in claims(ev)]
    assert found == json.loads(CLAIMS_TABLE.read_text(encoding="utf-8"))
    assert [c.key for c in CLAIMS] == [row[0] for row in found]
    for spec in CLAIMS:  # each row cites where the paper says it, and words its rule
        assert spec.source and spec.rule and spec.paper.startswith(spec.statement)
        assert any(w in spec.source for w in ("Table", "Fig.", "Section")), spec.key


def test_a_changed_result_changes_the_verdict(tmp_path):
    """Copy the results, make P-SAGA hurt on every seed: its verdict flips; others stay."""
    root = _copy_results(tmp_path)
    before = {c.key: c.agrees for c in claims(load_evidence(root))}
    s = Summary.load(root / "ablation")
    s.paired = None
    base = next(e for e in s.entries if e.row == "scrapl_p_adam").per_seed.metrics["theta_l1"]
    for e in s.entries:
        if e.row == "scrapl_no_theta_is":
            worse = [v + 20.0 + i for i, v in enumerate(base)]
            e.per_seed_theta_l1 = e.per_seed.metrics["theta_l1"] = worse
    s.save(root / "ablation")
    after = {c.key: c.agrees for c in claims(load_evidence(root))}
    assert before["p_saga_significant"] and not after["p_saga_significant"]
    changed = {k for k in before if before[k] != after[k]}
    assert changed <= {"p_saga_significant", "theta_is_helps_classroom"}
    with pytest.raises(FileNotFoundError, match="no results folder"):
        load_evidence(tmp_path / "nowhere")


def test_results_dir_is_the_repositorys():
    lab = Path(__file__).resolve().parents[1] / "data" / "results" / "lab"
    assert RESULTS_DIR == lab / "v2"


def test_the_applied_step_and_theta_is_quality_are_read_from_the_summaries(ev):
    for synth, (folder, _) in ABLATIONS.items():
        seeds = _summary(folder).seeds
        assert [r["seed"] for r in ev.applied[synth]] == sorted(seeds), synth
        assert all(r["steps"] == [200, 300, 400] and r["ratio"] > 0 for r in ev.applied[synth])
    reports = {r["preset"]: r for r in ev.theta_is_quality}
    assert set(reports) == {"classroom", "classroom_granular"}
    for rep in reports.values():
        rows = {(r["n_examples"], r["n_iter"]): r for r in rep["rows"]}
        assert rows[(16, 20)]["tv"] == 0.0  # the reference itself
        own = rep["preset_setting"]
        assert rows[(own["n_examples"], own["n_iter"])]["tv"] == pytest.approx(own["tv"])
