"""scrapl_edu.lessons: the measurements behind notebooks 05-06, checked against the optimizer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from scrapl_edu import lessons, toy
from scrapl_edu.diagnostics import optimizer_directions
from scrapl_edu.optim import SCRAPLOptimizer
from scrapl_edu.sampling import PathSampler


def _random_table(P: int, n: int = 2, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    scales = torch.logspace(-3, 3, P, dtype=torch.float64)[:, None]
    return torch.randn(P, n, generator=gen, dtype=torch.float64) * scales


@pytest.mark.parametrize("arm", list(lessons.ARMS))
def test_candidate_directions_match_deep_copies_and_leave_the_optimizer_alone(arm) -> None:
    P = 6
    model = toy.ThetaModel([0.3, 0.6])
    opt = SCRAPLOptimizer(model.parameters(), n_paths=P, lr=0.1, **lessons.ARMS[arm])
    twin = toy.ThetaModel([0.3, 0.6])
    twin_opt = SCRAPLOptimizer(twin.parameters(), n_paths=P, lr=0.1, **lessons.ARMS[arm])
    draws = PathSampler(P, seed=2).sample_many(12)
    for k, p in enumerate(draws):
        G = _random_table(P, seed=k)

        def lin(m, q, G=G):
            return (G[q].to(m.w.dtype) * m.w).sum()

        for switch in (None, False):
            over = None if switch is None else {"p_saga": switch}
            want = optimizer_directions(model, opt, lin, range(P), over)
            got = lessons.candidate_directions(model, opt, G, p_saga=switch)
            assert torch.allclose(got, want, rtol=1e-5, atol=1e-7), (arm, k, switch)
        for m, o in ((model, opt), (twin, twin_opt)):  # the probed run and an unprobed twin
            o.zero_grad()
            lin(m, p).backward()
            o.step(path=p)
        assert torch.equal(model.w, twin.w), f"probing changed the run at step {k + 1}"
    assert opt.visited_paths == twin_opt.visited_paths and opt.p_saga == twin_opt.p_saga


def test_candidate_directions_refuses_a_table_of_the_wrong_width() -> None:
    model = toy.ThetaModel([0.5, 0.5])
    opt = SCRAPLOptimizer(model.parameters(), n_paths=3)
    with pytest.raises(ValueError, match=r"G must have shape \(P, \|w\|=2\)"):
        lessons.candidate_directions(model, opt, torch.zeros(3, 5))


def test_frozen_table_step_is_what_p_adam_does_on_any_frozen_table() -> None:
    P = 9
    G = _random_table(P, n=3, seed=4)
    draws = PathSampler(P, seed=0).sample_many(4 * P)
    D = toy.replay(G, draws, p_adam=True, p_saga=False)
    assert np.allclose(D, lessons.frozen_table_step(G[draws]).numpy(), rtol=1e-6, atol=0)
    # shared Adam has no such cancellation: the control
    D_adam = toy.replay(G, draws, p_adam=False, p_saga=False)
    assert not np.allclose(D_adam, lessons.frozen_table_step(G[draws]).numpy(), atol=0.1)


def test_saga_expected_shift_matches_the_optimizer() -> None:
    P = 12
    G = _random_table(P, seed=7)
    model = toy.FrozenTable(G)
    opt = SCRAPLOptimizer(model.parameters(), n_paths=P, lr=1e-3, p_adam=True, p_saga=True)
    table = {}
    for p in PathSampler(P, seed=3).sample_many(P // 2):
        opt.zero_grad()
        model.path_loss(p).backward()
        table[p] = lessons.candidate_directions(model, opt, G, [p], p_saga=False)[0]
        opt.step(path=p)
    on = lessons.candidate_directions(model, opt, G)
    off = lessons.candidate_directions(model, opt, G, p_saga=False)
    shift = lessons.saga_expected_shift(table, P)
    assert len(table) < P and float(shift.norm()) > 0
    assert torch.allclose(on.mean(0) - off.mean(0), shift, rtol=1e-6, atol=1e-12)
    # once every path is in the table the shift is zero (SAGA is unbiased under uniform π)
    full = {p: torch.ones(2) * p for p in range(P)}
    assert float(lessons.saga_expected_shift(full, P).norm()) == 0.0
    with pytest.raises(ValueError, match="empty"):
        lessons.saga_expected_shift({}, P)


def test_paired_summary_against_the_textbook_formulas() -> None:
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    b = np.array([1.5, 2.1, 3.9, 4.2, 6.0])
    s = lessons.paired_summary(a, b, better="higher")
    d = b - a
    half = 2.776445105 * d.std(ddof=1) / np.sqrt(5)  # t_{0.975, 4}
    t = d.mean() / (d.std(ddof=1) / np.sqrt(5))
    assert s.mean == pytest.approx(d.mean()) and s.ci95 == pytest.approx(half, rel=1e-8)
    assert s.p_value == pytest.approx(2 * stats.t.sf(abs(t), 4), rel=1e-8)
    assert s.n_improved == 5 and s.n == 5
    assert lessons.paired_summary(a, b, better="lower").n_improved == 0
    with pytest.raises(ValueError, match="better must be"):
        lessons.paired_summary(a, b, better="bigger")
    with pytest.raises(ValueError, match="paired samples"):
        lessons.paired_summary(a, b[:3])


@pytest.fixture(scope="module")
def small_runs():
    arms = {
        "P-Adam": {"p_adam": True, "p_saga": False},
        "P-Adam again": {"p_adam": True, "p_saga": False},
        "P-Adam + P-SAGA": {"p_adam": True, "p_saga": True},
    }
    return lessons.paired_runs(
        arms,
        seeds=[0, 1],
        steps=8,
        preset="classroom",
        probe_every=4,
        table_every=4,
        progress=False,
        fast=True,
    )


def test_paired_runs_pairs_the_arms(small_runs) -> None:
    r = small_runs
    assert r.theta_error.shape == (3, 2, 9) and r.paths.shape == (2, 8)
    # two arms with the same switches see the same data: identical numbers (the control)
    a, b, c = r.arm("P-Adam"), r.arm("P-Adam again"), r.arm("P-Adam + P-SAGA")
    assert np.array_equal(r.theta_error[a], r.theta_error[b])
    assert np.array_equal(r.cos_drawn[a], r.cos_drawn[b])
    # the arms start from the same θ0 (paired) and the table changes the run
    assert np.array_equal(r.theta_error[a][:, 0], r.theta_error[c][:, 0])
    assert not np.array_equal(r.theta_error[a], r.theta_error[c])
    # seeds are different problems
    assert not np.allclose(r.theta_star[0], r.theta_star[1])
    assert list(r.probe_steps) == [1, 4, 8] and list(r.table_steps) == [4, 8]
    assert np.isfinite(r.cos_full).all() and (np.abs(r.cos_full) <= 1 + 1e-9).all()


def test_paired_runs_table_probes(small_runs) -> None:
    r = small_runs
    a, c = r.arm("P-Adam"), r.arm("P-Adam + P-SAGA")
    # without P-SAGA the table switch changes nothing; with it, the expected step moves by
    # (1 - |Γ|/P) of the table's mean while Γ is incomplete
    assert np.array_equal(r.var_applied[a], r.var_no_table[a]) and (r.mean_shift[a] == 0).all()
    assert np.isnan(r.table_lag[a]).all() and (r.table_lag[c] > 0).all()
    assert (r.n_visited[c] < r.n_paths).all() and (r.mean_shift[c] > 0).all()
    # memory: P-SAGA adds one float32 per weight and visited path, and a float64 running sum
    extra = r.memory["P-Adam + P-SAGA"]["bytes_used"] - r.memory["P-Adam"]["bytes_used"]
    seen = r.memory["P-Adam + P-SAGA"]["n_visited"]
    assert extra == 4 * seen * r.n_weights + 8 * r.n_weights


def test_paired_table_and_figures(small_runs) -> None:
    import matplotlib

    matplotlib.use("Agg")
    text = lessons.paired_table(small_runs, "P-Adam", "P-Adam + P-SAGA")
    rows = text.splitlines()
    assert len(rows) == 2 + len(lessons.OUTCOMES)
    assert all(row.count("|") == rows[0].count("|") for row in rows)  # no stray '|' in a cell
    assert lessons.plot_paired_runs(small_runs).axes
    assert lessons.plot_saga_runs(small_runs, "P-Adam", "P-Adam + P-SAGA").axes
    with pytest.raises(ValueError, match="unknown arm"):
        small_runs.arm("SGD")


def test_paired_runs_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown arm"):
        lessons.paired_runs(["Adamax"], fast=True)
    with pytest.raises(ValueError, match="seeds is empty"):
        lessons.paired_runs(["Adam"], seeds=[], fast=True)
    with pytest.raises(ValueError, match="steps must be"):
        lessons.paired_runs(["Adam"], steps=0, fast=True)


def test_make_problem_scale_and_checks() -> None:
    assert toy.make_problem(fast=True).jtfs.N == 1024
    assert toy.make_problem(fast=False).jtfs.N == 4096
    with pytest.raises(ValueError, match="theta_star"):
        toy.make_problem(theta_star=(0.5, 1.5), fast=True)
    with pytest.raises(ValueError, match="chirplet"):
        toy.make_problem("classroom_granular", fast=True)


def test_make_problem_reads_no_environment(monkeypatch) -> None:
    """Fast mode is an argument (config.py: only entry points read SCRAPL_EDU_FAST)."""
    monkeypatch.setenv("SCRAPL_EDU_FAST", "1")
    assert toy.make_problem(fast=False).jtfs.N == 4096
    with pytest.raises(TypeError, match="fast"):
        toy.make_problem()  # no silent default: the caller decides
    with pytest.raises(TypeError, match="fast"):
        lessons.paired_runs(["Adam"])


# ------------------------------------------------------------------ notebooks 01-03
class _FakeSynth(torch.nn.Module):
    """θ -> a signal that depends on θ and ignores the shift: a shift-blind synth."""

    def forward(self, theta, shifts=0):
        t = torch.linspace(0, 1, 64)
        return (theta[:, :1] * torch.sin(7 * t) + theta[:, 1:] * torch.cos(3 * t))[:, None, :]


def _mse(a, b):
    return (a - b).pow(2).mean()


def test_gradient_alignment_is_one_for_a_convex_loss_and_zero_for_a_blind_one() -> None:
    synth = _FakeSynth()
    target = synth(torch.tensor([[0.5, 0.5]]))
    a = lessons.gradient_alignment(_mse, synth, target, [0.5, 0.5], [0, 5], 0.2, 6)
    assert a.shape == (2, 6) and (a > 0.7).all()  # the MSE of a linear synth: a quadratic bowl

    def blind(x_hat, x):  # a loss that depends on θ but not on where θ* is
        return x_hat.pow(2).sum() * 0 + (x_hat[..., 0] * 0 + 1).sum()

    b = lessons.gradient_alignment(blind, synth, target, [0.5, 0.5], [0], 0.2, 4)
    assert np.allclose(b, 0.0)
    with pytest.raises(ValueError, match="2 parameters"):
        lessons.gradient_alignment(_mse, synth, target, [0.5], [0])


def test_chirplet_without_am_is_the_synth_without_its_modulator() -> None:
    from scrapl_edu.presets import get_preset, shrink

    cfg = shrink(get_preset("classroom")).synth
    theta = torch.tensor([[0.5, 0.3]])
    x = cfg.build()(theta, shifts=0)
    x0 = lessons.chirplet_without_am(cfg, theta)
    assert x0.shape == x.shape
    # same RMS, same instantaneous frequency where both are loud: x = x0 * |modulator| * c
    assert torch.allclose(x.pow(2).mean(), x0.pow(2).mean(), rtol=1e-4)
    am, _ = cfg.theta_to_params(theta)
    n = torch.arange(cfg.n_samples, dtype=torch.float32)
    t = (n - cfg.n_samples // 2) / cfg.sr
    mod = torch.sin(torch.pi * am * t)
    ratio = x[0, 0] / (x0[0, 0] * mod)
    loud = (x0[0, 0].abs() > 0.1 * x0.abs().max()) & (mod.abs() > 0.1)
    assert ratio[loud].std() < 1e-3 * ratio[loud].abs().mean()  # a constant gain
    shifted = lessons.chirplet_without_am(cfg, theta, shifts=10)
    assert torch.allclose(shifted[0, 0, 10:], x0[0, 0, :-10], atol=1e-6)


def test_first_order_envelope_sees_an_am_that_averaging_removes() -> None:
    from scrapl_edu import JTFS
    from scrapl_edu.presets import get_preset, shrink

    p = shrink(get_preset("classroom"))
    jtfs = JTFS(**p.jtfs_kwargs())
    sr, N = p.synth.sr, p.synth.n_samples
    t = np.arange(N) / sr
    tone = np.sin(2 * np.pi * p.synth.carrier_hz * t) * np.hanning(N)
    am = (1 + 0.8 * np.sin(2 * np.pi * 5.0 * t)) * tone
    mid = slice(N // 4, 3 * N // 4)
    raw = lessons.first_order_envelope(torch.tensor(am), jtfs, p.synth.carrier_hz)
    spec = np.abs(np.fft.rfft(raw[mid] - raw[mid].mean()))
    f = np.fft.rfftfreq(raw[mid].size, 1 / sr)
    assert abs(f[int(spec.argmax())] - 5.0) < 0.6  # the envelope oscillates at the AM rate
    avg = lessons.first_order_envelope(torch.tensor(am), jtfs, p.synth.carrier_hz, averaged=True)
    avg0 = lessons.first_order_envelope(torch.tensor(tone), jtfs, p.synth.carrier_hz, True)
    assert np.linalg.norm((avg - avg0)[mid]) < 0.05 * np.linalg.norm(avg0[mid])
    with pytest.raises(ValueError, match="more than the JTFS"):
        lessons.first_order_envelope(torch.zeros(10 * N), jtfs, 30.0)


def test_am_excess_peak_finds_a_long_sustained_am() -> None:
    import dataclasses

    from scrapl_edu import JTFS
    from scrapl_edu.presets import get_preset

    p = get_preset("classroom")
    jtfs = JTFS(**p.jtfs_kwargs())
    long = dataclasses.replace(p.synth, sigma0=0.3)
    am, peak, excess = lessons.am_excess_peak(long, jtfs, [0.5, 0.5])
    assert excess.shape == (jtfs.n_paths,)
    assert abs(np.log2(peak / am)) < 1  # 4.85 Hz -> the 5.6 Hz rate
