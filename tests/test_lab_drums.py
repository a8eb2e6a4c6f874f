"""The drum task in the lab (issue 12): presets, validation, metrics, adaptive pi, resume, figure."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scrapl_edu.drum_metrics import DRUM_METRICS
from scrapl_edu.jtfs_plan import make_plan
from scrapl_edu.lab import make_config, run
from scrapl_edu.lab.cli import main
from scrapl_edu.lab.config import ROWS, TABLES, sampling_overrides
from scrapl_edu.lab.drums import (
    DECAY_PARAMS,
    DRUM_RESULT_METRICS,
    carrier_paths,
    decay_mass,
    drum_report,
    drum_test_metrics,
    path_grad_sq,
    path_share,
)
from scrapl_edu.lab.summary import Summary
from scrapl_edu.lab.train import build_parts
from scrapl_edu.presets import DRUMS_JTFS, PAPER_DRUMS_JTFS, get_preset
from scrapl_edu.synths import DRUM_PARAM_NAMES


# ------------------------------------------------------------------------------ presets
def test_paper_drum_jtfs_has_the_papers_483_paths():
    # Table 12: J=12, Q1=8, Q2=2, J_fr=5, Q_fr=2, T=2048, F=1 at 44.1 kHz -> P = 483
    p = get_preset("drums_paper_meso")
    assert p.jtfs == PAPER_DRUMS_JTFS
    assert make_plan(**p.jtfs_kwargs()).n_paths == 483
    assert p.synth.sr == 44100.0 and p.synth.max_shift == 2048
    assert p.options["rho"] == "log1p"


def test_classroom_drum_jtfs_keeps_the_slowest_rate_and_a_moderate_p():
    p = get_preset("drums_micro")
    plan = make_plan(**p.jtfs_kwargs())
    paper = make_plan(**get_preset("drums_paper_micro").jtfs_kwargs())
    slow, slow_paper = min(q.rate_hz for q in plan.paths), min(q.rate_hz for q in paper.paths)
    assert abs(slow - slow_paper) / slow_paper < 0.1  # 2.8 vs 2.7 Hz: the decays' rates
    assert 40 <= plan.n_paths <= 100 and p.jtfs == DRUMS_JTFS
    assert p.synth.sr == 8192.0 and p.synth.max_shift == 0
    assert get_preset("drums_meso").synth.max_shift == 380  # +-46 ms at 8192 Hz


def test_drums_table_rows():
    assert TABLES["drums"] == ["mss", "jtfs", "scrapl_no_theta_is", "scrapl", "scrapl_adaptive"]
    assert ROWS["scrapl_adaptive"]["adaptive_pi"] and not ROWS["scrapl_adaptive"]["theta_is"]
    assert sampling_overrides("adaptive") == {"theta_is": False, "adaptive_pi": True}
    with pytest.raises(ValueError, match="sampling must be one of"):
        sampling_overrides("greedy")


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"synth": {"range_overrides": {"osc1_decay_s": (0.5, 0.1)}}}, "osc1_decay_s.*inverted"),
        ({"synth": {"range_overrides": {"noise_decay_s": (0.1, 3.0)}}}, "noise_decay_s max 3"),
        ({"synth": {"shift_max_s": 0.6}}, "shift_max_s"),
        (
            {"synth": {"shift_max_s": 0.1, "range_overrides": {"osc1_decay_s": (0.25, 0.7)}}},
            "drum metrics need",
        ),
        ({"adaptive_pi": True, "adaptive_floor": 0.5}, "adaptive_floor must lie in"),
        ({"adaptive_pi": True, "adaptive_floor": 0.0}, "adaptive_floor must lie in"),
        ({"adaptive_pi": True, "adaptive_floor": -0.01}, "adaptive_floor must lie in"),
        ({"adaptive_floor": 0.001}, "adaptive_pi is off"),
        ({"adaptive_pi": True, "p_adam": False}, "p_adam=True"),
        ({"adaptive_pi": True, "adaptive_every": 0}, "adaptive_every"),
        ({"rho": "log"}, "rho must be"),
    ],
)
def test_bad_drum_configs_are_refused_before_any_work(tmp_path, overrides, match):
    cfg = make_config("drums_meso", loss="scrapl", **overrides)
    out = tmp_path / "run"
    with pytest.raises(ValueError, match=match):
        run(cfg, out, progress=False)
    assert not out.exists()  # refused before the folder, the data or the JTFS


def test_floor_message_names_the_setting_and_its_bound():
    P = make_plan(**get_preset("drums_micro").jtfs_kwargs()).n_paths
    cfg = make_config("drums_micro", loss="scrapl", adaptive_pi=True, adaptive_floor=2.0 / P)
    with pytest.raises(ValueError, match=rf"\(0, {1 / P:.6g}\] for the P={P} paths"):
        cfg.validate()
    ok = make_config("drums_micro", loss="scrapl", adaptive_pi=True, adaptive_floor=1.0 / P)
    ok.validate()  # the bound itself is a valid floor (uniform pi)
    assert make_config("drums_micro", adaptive_pi=True).floor() == pytest.approx(0.5 / P)


def test_cli_refuses_a_bad_floor(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        main(
            ["run", "--preset", "drums_micro", "--sampling", "adaptive"]
            + ["--adaptive-floor", "0.5", "--out", str(tmp_path / "r")]
        )
    assert err.value.code == 2
    assert "adaptive_floor must lie in (0, 1/P]" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


# -------------------------------------------------------------------------- metrics
def test_a_perfect_prediction_scores_zero_once_aligned_to_its_target():
    # meso: each target has its own shift; rendering the prediction at that shift and
    # reading both from the target's onset must give zero error (no shift left to score)
    cfg = make_config("drums_meso", fast=True, loss="mss")
    parts, _ = build_parts(cfg)
    x, th, sh = (parts.data[k][:6] for k in ("x_test", "theta_test", "shift_test"))
    assert int(sh.abs().max()) > 0
    exact = drum_test_metrics(parts.synth, th, x, sh, jtfs=None, rho=None)
    assert max(exact[m] for m in DRUM_METRICS) < 1e-6 and exact["mss"] < 1e-6
    # the same predictions rendered aligned (shift 0) are scored as a misplaced hit
    off = drum_test_metrics(parts.synth, th, x, torch.zeros_like(sh), jtfs=None, rho=None)
    assert off["loudness_transient"] > 1.0  # dB


def test_path_grad_sq_against_a_linear_synth():
    # x_hat = theta W, L_p = ((x_hat - x) * m_p)^2 summed: dL_p/dtheta = 2 ((x_hat - x) m_p^2) W^T
    torch.manual_seed(0)
    W = torch.randn(3, 16, dtype=torch.float64)
    masks = torch.rand(4, 16, dtype=torch.float64)

    def synth(theta, shifts=None):
        return (theta @ W)[:, None]

    def loss(x_hat, x, p):
        return ((x_hat - x) * masks[p]).pow(2).sum()

    theta, x = torch.rand(2, 3, dtype=torch.float64), torch.randn(2, 1, 16, dtype=torch.float64)
    G = path_grad_sq(synth, loss, theta, x, 4)
    want = torch.zeros(4, 3, dtype=torch.float64)
    for p in range(4):
        for i in range(2):
            g = 2 * ((theta[i] @ W - x[i, 0]) * masks[p] ** 2) @ W.T
            want[p] += g**2
    assert torch.allclose(G, want)


def test_carrier_paths_share_and_mass():
    G = np.zeros((5, len(DRUM_PARAM_NAMES)))
    j = DRUM_PARAM_NAMES.index("osc1_decay_s")
    G[:, j] = [1.0, 6.0, 0.0, 3.0, 0.0]
    G[:, 0] = 100.0  # a non-decay parameter does not count
    share = path_share(G, DECAY_PARAMS)
    assert np.allclose(share, [0.1, 0.6, 0.0, 0.3, 0.0])
    assert list(carrier_paths(share, 0.5)) == [1]
    assert list(carrier_paths(share, 0.8)) == [1, 3]
    probs = [0.1, 0.05, 0.5, 0.05, 0.3]
    m = decay_mass(probs, {"final": G.tolist()}, mass=0.8)
    assert m == {"pi_mass": pytest.approx(0.1), "uniform": 0.4, "k": 2.0, "table": 1.0}
    assert decay_mass(None, {"final": G}) is None
    with pytest.raises(ValueError, match="mass"):
        carrier_paths(share, 0.0)


def _summary(entries: list[dict]) -> Summary:
    """A drum comparison's summary of made-up ``entries``."""
    return Summary.from_dict(
        {
            "presets": list(dict.fromkeys(e["preset"] for e in entries)),
            "rows": list(dict.fromkeys(e["row"] for e in entries)),
            "seeds": [0, 1, 2],
            "entries": entries,
        }
    )


def test_drum_report_pairs_seeds_across_presets_and_rows(summary_entry):
    def entry(preset, row, seeds, values):
        per_seed = {"seeds": seeds, **{f"drum_{m}": values for m in DRUM_RESULT_METRICS}}
        return summary_entry(preset, row, values, drum={}, per_seed=per_seed)

    summary = _summary(
        [
            entry("drums_micro", "mss", [0, 1, 2], [1.0, 2.0, 3.0]),
            entry("drums_meso", "mss", [2, 0, 1], [5.0, 3.0, 4.0]),  # other order: paired by seed
        ]
    )
    rep = drum_report(summary)
    a = [r for r in rep if r["question"] == "a" and r["metric"] == "loudness_transient"]
    assert len(a) == 1 and a[0]["diff"] == [2.0, 2.0, 2.0] and a[0]["improved"] == 0


# ---------------------------------------------------------------- runs (fast mode)
def test_fast_drums_run_end_to_end_with_adaptive_pi(tmp_path):
    cfg = make_config(
        "drums_meso", fast=True, loss="scrapl", adaptive_every=2, **sampling_overrides("adaptive")
    )
    res = run(cfg, tmp_path / "r", progress=False)
    assert set(res.drum_metrics) == set(DRUM_RESULT_METRICS)
    assert all(np.isfinite(v) and v >= 0 for v in res.drum_metrics.values())
    P = res.n_paths
    probs = np.asarray(res.final_probs)
    assert probs.sum() == pytest.approx(1.0) and probs.min() >= cfg.floor() * (1 - 1e-12)
    assert not np.allclose(probs, 1.0 / P)  # pi moved away from uniform during training
    assert np.asarray(res.path_grad_sq["final"]).shape == (P, len(DRUM_PARAM_NAMES))
    assert res.theta_is_probs is None  # adaptive starts from the uniform pi
    saved = (tmp_path / "r" / "results.json").read_text()
    assert '"drum_metrics"' in saved and '"final_probs"' in saved


def test_resume_is_bit_identical_with_adaptive_pi(tmp_path):
    cfg = make_config(
        "drums_micro", fast=True, loss="scrapl", adaptive_every=2, **sampling_overrides("adaptive")
    )
    whole = run(cfg, tmp_path / "whole", progress=False)
    assert run(cfg, tmp_path / "cut", progress=False, stop_after=3) is None
    resumed = run(cfg, tmp_path / "cut", progress=False, resume=True)
    assert resumed.history["path"] == whole.history["path"]
    assert resumed.history["loss"] == whole.history["loss"]
    assert resumed.final_probs == whole.final_probs
    assert resumed.test_theta_l1_permille == whole.test_theta_l1_permille
    assert resumed.drum_metrics == whole.drum_metrics
    assert len(set(whole.history["path"])) > 1


# ----------------------------------------------------------------------------- figure
def _drum_summary(summary_entry) -> Summary:
    def entry(preset, row, tr, de):
        drum = {m: [1.0, 0.1] for m in DRUM_RESULT_METRICS}
        drum["loudness_transient"], drum["loudness_decay"] = [tr, 0.5], [de, float("nan")]
        return summary_entry(preset, row, drum=drum)

    return _summary(
        [
            entry("drums_micro", "mss", 2.0, 3.0),
            entry("drums_meso", "mss", 9.0, 4.0),
            entry("drums_micro", "scrapl", 3.0, 12.0),
            summary_entry("drums_micro", "p_loss"),  # no drum numbers: left out
        ]
    )


def test_drum_error_figure_places_each_row_at_its_errors(tmp_path, summary_entry):
    import matplotlib

    matplotlib.use("Agg")
    from scrapl_edu import viz

    fig = viz.plot_drum_errors(_drum_summary(summary_entry), "loudness")
    ax = fig.axes[0]
    points = sorted(
        (float(x), float(y))
        for line in ax.lines
        if line.get_marker() in ("o", "^")
        for x, y in zip(line.get_xdata(), line.get_ydata())
    )
    assert points == [(2.0, 3.0), (3.0, 12.0), (9.0, 4.0)]
    assert "transient loudness" in ax.get_xlabel() and "decay loudness" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "MSS [meso]" in labels and "SCRAPL (θ-IS) [micro]" in labels
    with pytest.raises(ValueError, match="feature must be one of"):
        viz.plot_drum_errors(_drum_summary(summary_entry), "pitch")
    with pytest.raises(ValueError, match="no drum metrics"):
        viz.plot_drum_errors(_summary([summary_entry("classroom", "mss")]))
    assert viz.save_drum_errors(tmp_path / "drums.png", _drum_summary(summary_entry))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "drums_centroid.png",
        "drums_flatness.png",
        "drums_loudness.png",
    ]
    assert not viz.save_drum_errors(tmp_path / "x.png", _summary([]))


def test_constant_baseline_is_scored_like_a_run():
    from scrapl_edu.lab.train import drum_baseline

    cfg = make_config("drums_micro", fast=True)
    base = drum_baseline(cfg)
    assert set(base) == set(DRUM_RESULT_METRICS) and all(v > 0 for v in base.values())
    parts, _ = build_parts(cfg)
    th = torch.full_like(parts.data["theta_test"], 0.5)
    x, sh = parts.data["x_test"], parts.data["shift_test"]
    hand = drum_test_metrics(parts.synth, th, x, sh, jtfs=None, rho=None)
    for m in DRUM_METRICS:
        assert base[m] == pytest.approx(hand[m], rel=1e-9)
    with pytest.raises(ValueError, match="not a drum preset"):
        drum_baseline(make_config("classroom", fast=True))
