"""lab.regime: the verdict rules on made-up paper-regime summaries, and its π statistics.

The classroom side is the committed ``data/results/lab/v2`` (read, not made up); the paper
regime's summaries are written here so that every verdict can be reached and checked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scrapl_edu.lab.config import ROWS
from scrapl_edu.lab.evidence import load_evidence
from scrapl_edu.lab.regime import effective_paths, pi_files, regime_rows
from scrapl_edu.lab.summary import Summary

SEEDS = [0, 1, 2]


@pytest.fixture(scope="module")
def ev():
    return load_evidence()


def _entry(preset: str, row: str, theta: list[float], am: float = 100.0, applied=None) -> dict:
    e = {
        "preset": preset,
        "row": row,
        "label": row,
        "n_seeds": len(theta),
        **ROWS[row],
        "theta_l1": [float(np.mean(theta)), 1.0],
        "am_hz_l1": [am, 1.0],
        "fm_oct_per_s_l1": [50.0, 1.0],
        "total_var": [0.5, 0.1],
        "conv_rate": 0.0,
        "conv_steps": [float("nan"), float("nan")],
        "ms_per_step": [1.0, 0.1],
        "wall_s": [1.0, 0.1],
        "steps": [10.0, 0.0],
        "param_names": ["am_hz", "fm_oct_per_s"],
        "per_seed_theta_l1": theta,
        "per_seed": {
            "seeds": SEEDS[: len(theta)],
            "theta_l1": theta,
            "am_hz_l1": [am] * len(theta),
        },
    }
    if applied is not None:  # one variance per measured step, the same for every seed
        diag = [[{"step": s, "var": v, "cos": 0.1} for s, v in applied] for _ in theta]
        e["applied_diag"] = {"seeds": SEEDS[: len(theta)], "per_seed": diag}
    return e


def _write(root: Path, name: str, preset: str, entries: list[dict]) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    summary = {
        "presets": [preset],
        "rows": [e["row"] for e in entries],
        "seeds": SEEDS,
        "title": name,
        "entries": entries,
    }
    Summary.from_dict(summary).save(folder)


def _rows(root: Path, ev) -> dict:
    return {r.key: r for r in regime_rows(root, ev)}


def test_every_verdict_is_not_run_without_results(tmp_path, ev) -> None:
    rows = _rows(tmp_path, ev)
    assert {r.verdict for r in rows.values()} == {"not run"}
    # the classroom side is read from the committed results all the same
    assert "242 ‰" in rows["scrapl_theta_am"].classroom


@pytest.mark.parametrize(
    ("am", "verdict"),
    [
        (80.0, "classroom budget"),
        (150.0, "partly the budget"),
        (240.0, "method at classroom scale"),
    ],
)
def test_theta_am_verdict_follows_its_rule(tmp_path, ev, am, verdict) -> None:
    cp = "classroom_paper"
    _write(tmp_path, "chirplet", cp, [_entry(cp, "scrapl", [60.0, 70.0, 80.0], am=am)])
    assert _rows(tmp_path, ev)["scrapl_theta_am"].verdict == verdict


def test_theta_is_and_mss_verdicts(tmp_path, ev) -> None:
    cp = "classroom_paper"
    entries = [
        _entry(cp, "scrapl", [60.0, 70.0, 80.0], am=60.0),
        _entry(cp, "scrapl_no_theta_is", [90.0, 95.0, 99.0], am=120.0),  # θ-IS: 50 % gain
        _entry(cp, "mss", [300.0, 310.0, 320.0]),
        _entry(cp, "p_loss", [20.0, 21.0, 22.0]),
    ]
    _write(tmp_path, "chirplet", cp, entries)
    rows = _rows(tmp_path, ev)
    assert "3 seeds" in rows["theta_is_theta_am"].paper_regime
    # the classroom's θ_AM gain is below 25 % (committed: -3 %), the paper regime's is 50 %
    assert rows["theta_is_theta_am"].verdict == "classroom budget"
    assert rows["theta_is_theta_am"].values["paper_regime"] == pytest.approx(0.5)
    assert rows["scrapl_beats_mss"].verdict == "agrees"  # 0.56 and 0.23, both below 1


@pytest.mark.parametrize(
    ("paper_var", "verdict"),
    [(4.0, "classroom budget"), (1.0, "method at classroom scale")],
)
def test_psaga_verdict_follows_its_rule(tmp_path, ev, paper_var, verdict) -> None:
    cl, cp = "classroom", "classroom_paper"
    # classroom (probe 8): off 2 / on 1 at steps 200-400 -> 2x, below the 3x target
    _write(
        tmp_path,
        "classroom_psaga_probe8",
        cl,
        [
            _entry(cl, "scrapl_p_adam", [1.0] * 3, applied=[(0, 9.0), (200, 2.0), (400, 2.0)]),
            _entry(cl, "scrapl_no_theta_is", [1.0] * 3, applied=[(0, 1.0), (200, 1.0), (400, 1.0)]),
        ],
    )
    _write(
        tmp_path,
        "chirplet",
        cp,
        [
            _entry(cp, "scrapl_p_adam", [1.0] * 3, applied=[(0, 1.0), (960, paper_var)]),
            _entry(cp, "scrapl_no_theta_is", [1.0] * 3, applied=[(0, 9.0), (960, 1.0)]),
        ],
    )
    row = _rows(tmp_path, ev)["p_saga_cut"]
    assert row.values["classroom"] == pytest.approx([2.0] * 3)  # step 0 is the warm-up
    assert row.values["paper_regime"] == pytest.approx([paper_var] * 3)
    assert row.verdict == verdict


@pytest.mark.parametrize(
    ("squared", "norm", "verdict"),
    [
        ([+10.0, +20.0, +30.0], [-5.0, +5.0, -10.0], "loss definition"),
        ([+10.0, +20.0, +30.0], [+5.0, +5.0, +10.0], "method at classroom scale"),
        ([-10.0, +20.0, -30.0], [-5.0, +5.0, -10.0], "classroom budget"),
    ],
)
def test_granular_verdict_follows_its_rule(tmp_path, ev, squared, norm, verdict) -> None:
    gp = "classroom_granular_paper"
    base = [200.0, 210.0, 220.0]
    for name, delta in (("granular_squared", squared), ("granular_norm", norm)):
        treated = [b + d for b, d in zip(base, delta, strict=True)]
        _write(
            tmp_path,
            name,
            gp,
            [_entry(gp, "scrapl_no_theta_is", base), _entry(gp, "scrapl", treated)],
        )
    row = _rows(tmp_path, ev)["theta_is_granular"]
    assert row.verdict == verdict
    assert row.values["squared"].mean == pytest.approx(np.mean(squared))


def test_effective_paths_is_the_perplexity_share() -> None:
    assert effective_paths([0.25] * 4) == pytest.approx(1.0)
    assert effective_paths([1.0, 0.0, 0.0, 0.0]) == pytest.approx(0.25)
    p = np.array([0.5, 0.25, 0.25])
    assert effective_paths(p) == pytest.approx(np.exp(-(p * np.log(p)).sum()) / 3)


def test_the_stored_pis(tmp_path) -> None:
    found = pi_files()
    assert {"classroom_squared_16x20_seed0", "classroom_granular_squared_16x20_seed0"} <= set(found)
    for v in found.values():
        assert 0 < v["effective"] <= 1 and 0 <= v["least_pi_P"] <= 1
    (tmp_path / "pi").mkdir()
    np.savez(tmp_path / "pi" / "flat.npz", probs=np.full(8, 1 / 8))
    assert pi_files(tmp_path)["flat"] == pytest.approx({"effective": 1.0, "least_pi_P": 1.0})


def test_ratios_compare_the_seeds_both_rows_hold(tmp_path, ev) -> None:
    """A row with more seeds than the other is read on the common seeds only."""
    cp = "classroom_paper"
    scrapl = _entry(cp, "scrapl", [60.0, 300.0], am=60.0)
    scrapl["per_seed"]["am_hz_l1"] = [60.0, 300.0]  # seed 1 only in this row: left out
    entries = [
        scrapl,
        _entry(cp, "scrapl_no_theta_is", [100.0], am=120.0),
        _entry(cp, "mss", [300.0]),
        _entry(cp, "p_loss", [20.0]),
    ]
    _write(tmp_path, "chirplet", cp, entries)
    rows = _rows(tmp_path, ev)
    assert rows["theta_is_theta_am"].values["paper_regime"] == pytest.approx(0.5)
    assert rows["scrapl_beats_mss"].values["paper_regime"] == pytest.approx(0.2)
    assert "1 seed:" in rows["scrapl_beats_mss"].paper_regime


@pytest.mark.parametrize(
    ("uniform_am", "theta_is_am", "verdict"),
    [(120.0, 80.0, "classroom budget"), (120.0, 115.0, "method at classroom scale")],
)
def test_table3_am12_verdict_follows_its_rule(
    tmp_path, ev, uniform_am, theta_is_am, verdict
) -> None:
    preset = "classroom_am1-2_fm0.5-1_paper"
    _write(
        tmp_path,
        "am1-2_fm0.5-1",
        preset,
        [
            _entry(preset, "scrapl_no_theta_is", [150.0] * 3, am=uniform_am),
            _entry(preset, "scrapl", [140.0] * 3, am=theta_is_am),
        ],
    )
    row = _rows(tmp_path, ev)["theta_is_am12"]
    # the classroom's Table 3 on this configuration: θ-IS gains nothing (-1 %, 5 seeds)
    assert row.values["classroom"] < 0.25
    assert row.values["paper_regime"] == pytest.approx(1 - theta_is_am / uniform_am)
    assert row.verdict == verdict


@pytest.mark.parametrize(
    ("jtfs", "verdict"), [(100.0, "agrees"), (50.0, "method at classroom scale")]
)
def test_jtfs_equal_compute_verdict_follows_its_rule(tmp_path, ev, jtfs, verdict) -> None:
    _write(tmp_path, "chirplet", "classroom_paper", [_entry("classroom_paper", "scrapl", [60.0])])
    _write(
        tmp_path,
        "chirplet_jtfs_equal_compute",
        "classroom_paper",
        [_entry("classroom_paper", "jtfs", [jtfs])],
    )
    row = _rows(tmp_path, ev)["jtfs_equal_compute"]
    assert row.values["classroom"] < 1  # committed: SCRAPL ahead of the 40-step JTFS
    assert row.values["paper_regime"] == pytest.approx(60.0 / jtfs)
    assert row.verdict == verdict


@pytest.mark.parametrize(
    ("jtfs", "verdict"),
    # the classroom has the paper's reading (JTFS ahead at equal steps), so the paper regime
    # agrees or, with SCRAPL ahead, disagrees
    [(40.0, "agrees"), (60.0, "paper regime disagrees")],
)
def test_jtfs_equal_steps_verdict_follows_its_rule(tmp_path, ev, jtfs, verdict) -> None:
    _write(tmp_path, "chirplet", "classroom_paper", [_entry("classroom_paper", "scrapl", [50.0])])
    _write(
        tmp_path,
        "chirplet_jtfs_equal_steps",
        "classroom_paper",
        [_entry("classroom_paper", "jtfs", [jtfs])],
    )
    row = _rows(tmp_path, ev)["jtfs_equal_steps"]
    # committed classroom (v2/losses, 400 steps each): JTFS 58.5 ‰ against SCRAPL's 187 ‰
    assert row.values["classroom"] == pytest.approx(187.0 / 58.5, rel=0.01)
    assert row.values["paper_regime"] == pytest.approx(50.0 / jtfs)
    assert row.verdict == verdict


@pytest.mark.parametrize(
    ("am32", "uni32", "verdict"),
    [
        (90.0, 110.0, "batch does not change the reading"),  # gain 18 %, θ_AM in range
        (60.0, 120.0, "batch changes the reading"),  # gain 50 %: θ-IS now helps
        (200.0, 210.0, "batch changes the reading"),  # θ_AM out of the paper's range
    ],
)
def test_batch32_verdict_follows_its_rule(tmp_path, ev, am32, uni32, verdict) -> None:
    p = "classroom_paper"
    _write(
        tmp_path,
        "chirplet",
        p,
        [_entry(p, "scrapl", [60.0], am=88.0), _entry(p, "scrapl_no_theta_is", [70.0], am=113.0)],
    )
    row = _rows(tmp_path, ev)["batch32"]
    assert row.verdict == "not run"
    _write(
        tmp_path,
        "chirplet_batch32",
        p,
        [_entry(p, "scrapl", [60.0], am=am32), _entry(p, "scrapl_no_theta_is", [70.0], am=uni32)],
    )
    row = _rows(tmp_path, ev)["batch32"]
    assert row.values["batch32"] == pytest.approx((am32, 1 - am32 / uni32))
    assert row.verdict == verdict
