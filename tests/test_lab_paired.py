"""Paired statistics of the lab's comparisons (issue 10 item 4; the paper's Table 6 in small).

The statistics are checked against formulas written out here (Student t, the sign count),
the one-switch pairs against the rows' definitions, and the reading of the committed
ablation against the numbers the design notes quote (+ P-SAGA 5/5 p ≈ 0.03, + θ-IS 5/5
p ≈ 0.02, + P-Adam 1/5).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from scrapl_edu import lab
from scrapl_edu.lab.cli import main
from scrapl_edu.lab.comparison import aggregate, refresh_summary, run_dir
from scrapl_edu.lab.paired import (
    WILCOXON_MIN_N,
    one_switch_pairs,
    paired_difference,
    paired_stats,
)
from scrapl_edu.lab.results import Results, excess_variation, total_variation
from scrapl_edu.lab.summary import Summary

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "data" / "results" / "lab"


def test_paired_difference_against_the_t_formula():
    a = [220.0, 200.0, 218.0, 231.0, 320.0]
    b = [150.0, 171.0, 199.0, 176.0, 310.0]
    st = paired_difference(a, b)
    d = np.subtract(b, a)
    n = d.size
    se = d.std(ddof=1) / math.sqrt(n)
    t = d.mean() / se
    assert st["diff"] == pytest.approx(list(d))
    assert st["mean"] == pytest.approx(d.mean())
    assert st["t"] == pytest.approx(t)
    assert st["p_t"] == pytest.approx(2 * stats.t.sf(abs(t), n - 1))
    assert st["ci"] == pytest.approx(stats.t.ppf(0.975, n - 1) * se)
    assert st["improved"] == 5 and st["n"] == 5
    assert st["p_wilcoxon"] is None  # 5 seeds: the test cannot reach 5 %


def test_paired_beats_unpaired_when_seeds_share_noise():
    """A small effect under a large shared seed effect: paired finds it, the CIs overlap."""
    rng = np.random.default_rng(0)
    seed_effect = rng.normal(0, 50, size=8)
    a = 250 + seed_effect + rng.normal(0, 3, 8)
    b = 240 + seed_effect + rng.normal(0, 3, 8)
    st = paired_difference(a, b)
    assert st["p_t"] < 0.01 and st["improved"] >= 7
    assert st["p_wilcoxon"] is not None and st["p_wilcoxon"] < 0.05
    assert stats.ttest_ind(a, b).pvalue > 0.3  # the unpaired reading sees nothing


def test_paired_difference_edge_cases():
    with pytest.raises(ValueError, match="one value per seed"):
        paired_difference([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="empty"):
        paired_difference([], [])
    with pytest.raises(ValueError, match="finite"):
        paired_difference([1.0, float("nan")], [1.0, 2.0])
    one = paired_difference([3.0], [2.0])
    assert one["improved"] == 1 and math.isnan(one["ci"]) and math.isnan(one["p_t"])
    same = paired_difference([1.0, 2.0, 3.0], [0.0, 1.0, 2.0])  # every seed -1: sd = 0
    assert same["p_t"] == 0.0 and same["ci"] == 0.0
    assert paired_difference([1.0] * WILCOXON_MIN_N, [2.0] * WILCOXON_MIN_N)["improved"] == 0


def test_one_switch_pairs_follow_the_rows():
    assert one_switch_pairs(lab.TABLES["ablation"]) == [
        ("scrapl_sampling_only", "scrapl_p_adam", "p_adam"),
        ("scrapl_p_adam", "scrapl_no_theta_is", "p_saga"),
        ("scrapl_no_theta_is", "scrapl", "theta_is"),
    ]
    assert one_switch_pairs(lab.TABLES["theta_is"]) == [
        ("scrapl_no_theta_is", "scrapl", "theta_is")
    ]
    assert one_switch_pairs(lab.TABLES["losses"]) == []


def test_excess_variation_does_not_reward_a_flat_curve():
    flat = [250.0] * 10
    learns = list(np.linspace(500, 200, 10))
    noisy = [250.0, 270.0] * 5
    assert total_variation(learns) > total_variation(noisy) > total_variation(flat) == 0
    assert excess_variation(flat) == excess_variation(learns) == pytest.approx(0.0)
    assert excess_variation(noisy) == pytest.approx(total_variation(noisy) - 20.0)
    assert excess_variation([1.0]) == 0.0


def test_committed_ablation_reads_as_the_design_notes_say(tmp_path):
    """The committed ablation (5 seeds), re-read paired: the numbers DESIGN.md quotes."""
    for name in ("summary.json", "table.md"):
        shutil.copy(COMMITTED / "ablation" / name, tmp_path / name)
    summary = refresh_summary(tmp_path)
    by = {p.label: p.theta_l1 for p in summary.paired}
    assert set(by) == {"+ P-Adam", "+ P-SAGA", "+ θ-IS"}
    assert by["+ P-SAGA"].improved == 5 and by["+ P-SAGA"].p_t == pytest.approx(0.03, abs=0.005)
    assert by["+ θ-IS"].improved == 5 and by["+ θ-IS"].p_t == pytest.approx(0.02, abs=0.005)
    assert by["+ P-Adam"].improved == 1 and by["+ P-Adam"].p_t > 0.3
    md = (tmp_path / "table.md").read_text()
    assert md.startswith("### SCRAPL ablation, classroom chirplet")
    assert "Paired differences" in md and "| + P-SAGA |" in md and "5/5" in md
    assert Summary.load(tmp_path).paired[0].seeds == [0, 1, 2, 3, 4]


def _fake_run(out: Path, preset: str, row: str, seed: int, am: float, fm: float) -> None:
    curve = [500.0, 400.0 + seed, 350.0, (am + fm) / 2]
    res = Results(
        config={"seed": seed, "preset": preset, **lab.ROWS[row]},
        param_names=["am_hz", "fm_oct_per_s"],
        test_theta_l1_permille=(am + fm) / 2,
        test_theta_l1_permille_per_param={"am_hz": am, "fm_oct_per_s": fm},
        val_steps=[0, 1, 2, 3],
        val_theta_l1_permille=curve,
        val_theta_l1_permille_per_param=[[v, v] for v in curve],
        steps_to_convergence=None,
        val_total_variation=total_variation(np.asarray(curve) / 1000),
        steps=3,
        ms_per_step=1.0,
        wall_s=1.0,
        theta_is_s=0.0,
        peak_rss_mb=1.0,
    )
    res.save(run_dir(out, preset, row, seed))


def test_aggregate_pairs_per_parameter_and_draws_the_figure(tmp_path):
    seeds = [0, 1, 2, 3, 4, 5]
    rows = ["scrapl_no_theta_is", "scrapl"]
    for s in seeds:
        _fake_run(tmp_path, "classroom", rows[0], s, am=250.0 + s, fm=150.0 + 10 * s)
        _fake_run(tmp_path, "classroom", rows[1], s, am=250.0 + s, fm=120.0 + 10 * s - s % 2)
    summary = aggregate(tmp_path, ["classroom"], rows, seeds, title="fake")
    (item,) = summary.paired
    assert item.label == "+ θ-IS" and item.seeds == seeds
    assert item.metrics["am_hz_l1"].mean == pytest.approx(0.0)
    assert item.metrics["fm_oct_per_s_l1"].improved == 6
    assert item.metrics["fm_oct_per_s_l1"].mean == pytest.approx(-30.5)
    assert item.theta_l1.p_wilcoxon is not None  # 6 seeds
    md = (tmp_path / "table.md").read_text()
    assert "Val. excess var." in md and "| + θ-IS |" in md and "6/6" in md
    assert summary.entries[0].per_seed.seeds == seeds
    assert Summary.load(tmp_path).to_json() == summary.to_json()  # written as returned
    # a named pair of any two rows; an unknown row is refused by name
    again = paired_stats(summary, [("scrapl", "scrapl_no_theta_is")])
    assert again[0].theta_l1.mean == pytest.approx(-item.theta_l1.mean)
    with pytest.raises(ValueError, match="unknown row 'nope'"):
        paired_stats(summary, [("nope", "scrapl")])
    # the command line redoes it from summary.json alone and draws paired.png
    (tmp_path / "runs").rename(tmp_path / "gone")
    assert main(["paired", str(tmp_path)]) == 0
    png = (tmp_path / "paired.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    again = Summary.load(tmp_path)
    assert again.paired[0].metrics["fm_oct_per_s_l1"].improved == 6


def test_plot_paired_takes_records_and_refuses_dicts_by_name(tmp_path):
    seeds = [0, 1, 2]
    rows = ["scrapl_no_theta_is", "scrapl"]
    for s in seeds:
        _fake_run(tmp_path, "classroom", rows[0], s, am=250.0 + s, fm=150.0)
        _fake_run(tmp_path, "classroom", rows[1], s, am=240.0 + s, fm=150.0)
    (item,) = aggregate(tmp_path, ["classroom"], rows, seeds, title="fake").paired
    from scrapl_edu import viz

    fig = viz.plot_paired([item])
    dots = fig.axes[0].lines[0].get_xdata()
    assert list(dots) == pytest.approx(item.theta_l1.diff)  # one dot per seed, b - a
    with pytest.raises(TypeError, match="paired must hold PairedRows.*got dict"):
        viz.plot_paired([item.to_dict()])
