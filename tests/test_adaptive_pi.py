"""Tests of the adaptive path distribution (issue 12, item 5).

The optimum is checked against scipy's constrained minimiser, the variance formula against a
Monte Carlo estimate, the variance claim (π ∝ ||g|| beats uniform) on random vectors, and a
checkpointed run with π changing mid-run against an uninterrupted one, bit for bit.
"""

from __future__ import annotations

import io
import math
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from scrapl_edu import JTFS, SCRAPLLoss, SCRAPLOptimizer
from scrapl_edu.adaptive_pi import (
    AdaptivePi,
    adaptive_probs,
    importance_weights,
    one_sample_variance,
)
from scrapl_edu.sampling import PathSampler


# ----------------------------------------------------------------------- the distribution
@st.composite
def _norms_and_floor(draw):
    P = draw(st.integers(min_value=1, max_value=60))
    values = st.one_of(
        st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False),
        st.just(math.nan),
        st.just(0.0),
    )
    norms = draw(st.lists(values, min_size=P, max_size=P))
    frac = draw(st.floats(min_value=1e-6, max_value=1.0))
    return norms, frac / P


@settings(max_examples=300, deadline=None)
@given(_norms_and_floor(), st.sampled_from(["max", "mean", "floor"]))
def test_adaptive_probs_is_a_distribution_with_the_floor(case, fill):
    norms, floor = case
    probs = adaptive_probs(norms, floor, fill=fill)
    assert probs.shape == (len(norms),) and probs.dtype == torch.float64
    assert bool(torch.isfinite(probs).all())
    assert float(probs.min()) >= floor  # exactly, not up to rounding
    assert float(probs.sum()) == pytest.approx(1.0, abs=1e-12)
    # above the floor, π ∝ the norm (the measured ones; the ratio π / n is only defined in
    # floating point for normal numbers: a subnormal norm such as 5e-324 makes it inf)
    n = torch.tensor(norms, dtype=torch.float64)
    free = (probs > floor * (1 + 1e-9)) & ~torch.isnan(n) & (n >= sys.float_info.min)
    if int(free.sum()) >= 2:
        ratio = probs[free] / n[free]
        assert float(ratio.max() / ratio.min()) == pytest.approx(1.0, rel=1e-9)
    # a larger measured norm never gets a smaller probability
    measured = ~torch.isnan(n)
    order = torch.argsort(n[measured])
    assert bool((torch.diff(probs[measured][order]) >= -1e-15).all())


def test_floor_is_checked():
    norms = torch.ones(4)
    for bad in (0.0, -0.1, 0.26, math.nan, True, "0.1"):
        with pytest.raises(ValueError, match="floor"):
            adaptive_probs(norms, bad)
    torch.testing.assert_close(adaptive_probs(torch.rand(4), 0.25), torch.full((4,), 0.25).double())
    with pytest.raises(ValueError, match="norms must be finite and >= 0"):
        adaptive_probs([1.0, -1.0], 0.1)
    with pytest.raises(ValueError, match="fill must be"):
        adaptive_probs([1.0, 1.0], 0.1, fill="zero")
    torch.testing.assert_close(  # nothing measured yet: uniform
        adaptive_probs([math.nan] * 5, 0.01), torch.full((5,), 0.2, dtype=torch.float64)
    )


@pytest.mark.parametrize("seed", range(5))
def test_floored_probs_are_the_constrained_optimum(seed):
    # minimise Σ n_p² / π_p on {π >= f, Σ π = 1} with scipy and compare
    rng = np.random.default_rng(seed)
    P = 12
    norms = rng.lognormal(0.0, 1.5, P)
    floor = 0.5 / P
    ours = adaptive_probs(norms, floor).numpy()

    def objective(pi):
        return float((norms**2 / pi).sum())

    ref = minimize(
        objective,
        np.full(P, 1 / P),
        jac=lambda pi: -(norms**2) / pi**2,
        method="SLSQP",
        bounds=[(floor, 1.0)] * P,
        constraints=[
            {"type": "eq", "fun": lambda pi: pi.sum() - 1.0, "jac": lambda pi: np.ones(P)}
        ],
        options={"ftol": 1e-15, "maxiter": 1000},
    )
    # SLSQP stops at its line-search precision, a hair off the constraint (|Σπ - 1| < 1e-4)
    assert abs(ref.x.sum() - 1.0) < 1e-4
    assert objective(ours) <= objective(ref.x) * (1 + 1e-4)
    np.testing.assert_allclose(ours, ref.x, atol=1e-4)
    # and the KKT conditions of this convex problem hold exactly: n²/π² is one λ on the free
    # paths and at most λ on the floored ones
    free = ours > floor
    assert free.any() and (~free).any()  # the floor is active and not
    lam = norms[free] ** 2 / ours[free] ** 2
    np.testing.assert_allclose(lam, lam[0], rtol=1e-9)
    assert (norms[~free] ** 2 / floor**2 <= lam[0] * (1 + 1e-9)).all()


# ----------------------------------------------------------------------- the variance
def test_variance_formula_matches_monte_carlo():
    gen = torch.Generator().manual_seed(0)
    grads = torch.randn(6, 3, generator=gen, dtype=torch.float64) * torch.tensor(
        [[0.1], [0.5], [1.0], [2.0], [4.0], [0.2]], dtype=torch.float64
    )
    probs = adaptive_probs(grads.norm(dim=1), 0.05)
    draws = torch.multinomial(probs, 400_000, replacement=True, generator=gen)
    estimates = grads[draws] / probs[draws, None]
    total = grads.sum(dim=0)
    np.testing.assert_allclose(estimates.mean(dim=0), total, atol=0.03)  # unbiased
    empirical = float((estimates - total).pow(2).sum(dim=1).mean())
    assert one_sample_variance(grads, probs) == pytest.approx(empirical, rel=0.02)


def test_norm_proportional_beats_uniform_on_random_vectors():
    gen = torch.Generator().manual_seed(1)
    wins = 0
    for _ in range(200):
        P, d = 20, 8
        scales = torch.exp(2.0 * torch.randn(P, 1, generator=gen, dtype=torch.float64))
        grads = torch.randn(P, d, generator=gen, dtype=torch.float64) * scales
        uniform = one_sample_variance(grads, torch.full((P,), 1 / P, dtype=torch.float64))
        best = one_sample_variance(grads, adaptive_probs(grads.norm(dim=1), 1e-9))
        floored = one_sample_variance(grads, adaptive_probs(grads.norm(dim=1), 0.5 / P))
        # the optimum: (Σ ||g_p||)² - ||G||²; the floored one lies between it and uniform
        closed = float(grads.norm(dim=1).sum() ** 2 - grads.sum(0).pow(2).sum())
        assert best == pytest.approx(closed, rel=1e-6)
        assert best <= floored * (1 + 1e-12) <= uniform * (1 + 1e-12)
        wins += best < 0.9 * uniform
    assert wins == 200  # with heterogeneous norms the gain is large, every time


def test_equal_norms_gain_nothing_and_weights_are_unbiased():
    grads = torch.eye(5, dtype=torch.float64)
    uniform = torch.full((5,), 0.2, dtype=torch.float64)
    probs = adaptive_probs(grads.norm(dim=1), 0.01)
    torch.testing.assert_close(probs, uniform)
    # E_π[w_p L_p] = (1/P) Σ L_p for w = 1 / (P π_p)
    losses = torch.tensor([3.0, 1.0, 4.0, 1.0, 5.0], dtype=torch.float64)
    skewed = adaptive_probs(losses, 0.05)
    expected = float((skewed * importance_weights(skewed) * losses).sum())
    assert expected == pytest.approx(float(losses.mean()))
    with pytest.raises(ValueError, match="probs must be > 0"):
        importance_weights([0.0, 1.0])
    with pytest.raises(ValueError, match=r"grads must be \(P, d\)"):
        one_sample_variance(torch.ones(3), uniform)


# ----------------------------------------------------------------------- the optimizer's norms
def _problem(P: int = 6, seed: int = 0):
    """A linear model and P quadratic per-path losses of very different sizes."""
    gen = torch.Generator().manual_seed(seed)
    model = torch.nn.Linear(4, 1, bias=False, dtype=torch.float64)
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, 4, generator=gen, dtype=torch.float64))
    scales = torch.tensor([0.01, 0.1, 1.0, 3.0, 10.0, 0.3], dtype=torch.float64)[:P]
    inputs = torch.randn(P, 8, 4, generator=gen, dtype=torch.float64) * scales[:, None, None]
    targets = torch.randn(P, 8, 1, generator=gen, dtype=torch.float64) * scales[:, None, None]

    def path_loss(p: int) -> torch.Tensor:
        return (model(inputs[p]) - targets[p]).pow(2).mean()

    return model, path_loss


def test_path_update_norms_read_the_state():
    model, path_loss = _problem()
    opt = SCRAPLOptimizer(model.parameters(), n_paths=6, lr=1e-2)
    assert bool(torch.isnan(opt.path_update_norms("v")).all())
    grads = {}
    for p in (2, 4):
        opt.zero_grad()
        path_loss(p).backward()
        grads[p] = model.weight.grad.clone()
        opt.step(path=p)
    v = opt.path_update_norms("v")
    # one visit each: the debiased second moment is g⊙g, so the norm is ||g||
    for p in (2, 4):
        assert float(v[p]) == pytest.approx(float(grads[p].norm()), rel=1e-12)
    assert bool(torch.isnan(v[[0, 1, 3, 5]]).all())
    g_hat = opt.path_update_norms("g_hat")
    table = opt.state[model.weight]["g_hat"]
    for p in (2, 4):
        assert float(g_hat[p]) == pytest.approx(float(table[p].double().norm()), rel=1e-12)
    # the SAGA entries are Adam-normalised (about 1 per coordinate: ~2 for 4 weights) whatever
    # the gradient's size, the raw-gradient norms are not: why "v" is the default source
    assert float(v[4] / v[2]) > 5 * float(g_hat[4] / g_hat[2])
    with pytest.raises(ValueError, match="source must be"):
        opt.path_update_norms("m")
    plain = SCRAPLOptimizer(model.parameters(), n_paths=6, p_adam=False, p_saga=True)
    with pytest.raises(ValueError, match="needs p_adam=True"):
        plain.path_update_norms("v")


def test_path_update_norms_low_precision_state():
    model, path_loss = _problem()
    full = SCRAPLOptimizer(model.parameters(), n_paths=6)
    model16, _ = _problem()
    half = SCRAPLOptimizer(model16.parameters(), n_paths=6, state_dtype=torch.bfloat16)
    for opt, m in ((full, model), (half, model16)):
        opt.zero_grad()
        (m(torch.ones(2, 4, dtype=torch.float64)).sum() * 3).backward()
        opt.step(path=1)
    a, b = full.path_update_norms("v"), half.path_update_norms("v")
    assert b.dtype == torch.float64
    assert float(b[1]) == pytest.approx(float(a[1]), rel=1e-2)


# ----------------------------------------------------------------------- resume
def _run(steps: int, state: dict | None = None, stop: int | None = None):
    """Train with π adapted every 5 steps; optionally start from / stop at a checkpoint."""
    model, path_loss = _problem()
    opt = SCRAPLOptimizer(model.parameters(), n_paths=6, lr=5e-2)
    sampler = PathSampler(6, seed=123)
    adapt = AdaptivePi(sampler, opt, floor=0.02, every=5, warmup=10)
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sampler.load_state_dict(state["sampler"])
    paths, history = [], []
    while opt.global_step < steps:
        p = sampler.sample()
        opt.zero_grad()
        loss = path_loss(p) * float(importance_weights(sampler.probs)[p])  # reweighted
        loss.backward()
        opt.step(path=p)
        adapt.update()
        paths.append(p)
        history.append(sampler.probs.clone())
        if stop is not None and opt.global_step == stop:
            buffer = io.BytesIO()
            snapshot = {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "sampler": sampler.state_dict(),
            }
            torch.save(snapshot, buffer)
            buffer.seek(0)
            return model, paths, history, torch.load(buffer, weights_only=False)
    return model, paths, history, None


def test_resume_is_bit_identical_with_adaptive_pi():
    model, paths, history, _ = _run(80)
    # π really moved, away from uniform, and towards the large-gradient paths
    assert not torch.allclose(history[-1], torch.full((6,), 1 / 6, dtype=torch.float64))
    assert float(history[-1][4]) > float(history[-1][0])
    assert len({tuple(h.tolist()) for h in history}) > 3  # changed several times mid-run
    _, first, _, checkpoint = _run(80, stop=37)  # mid-period: 35 updated, 40 will
    resumed, second, _, _ = _run(80, state=checkpoint)
    assert first + second == paths
    assert torch.equal(resumed.weight, model.weight)


def test_sampler_resume_after_set_probs():
    a = PathSampler(8, seed=7, min_prob_frac=0.1)
    a.sample_many(20)
    a.set_probs(adaptive_probs(torch.arange(8.0), 0.01))
    a.sample_many(5)
    state = a.state_dict()
    tail = a.sample_many(50)
    b = PathSampler(8, seed=999)
    b.load_state_dict(state)
    assert b.sample_many(50) == tail
    assert torch.equal(b.probs, a.probs)


def test_adaptive_pi_refuses_bad_settings_and_feeds_the_reweighted_loss():
    model, _ = _problem()
    opt = SCRAPLOptimizer(model.parameters(), n_paths=6)
    with pytest.raises(ValueError, match="floor"):
        AdaptivePi(PathSampler(6), opt, floor=0.5)
    with pytest.raises(ValueError, match="every must be"):
        AdaptivePi(PathSampler(6), opt, floor=0.1, every=0)
    with pytest.raises(ValueError, match="n_paths"):
        AdaptivePi(PathSampler(5), opt, floor=0.1)
    # SCRAPLLoss(reweight=True) divides by P π_p with the π in force at the call
    jtfs = JTFS(shape=512, J=5, Q1=4, Q2=1, J_fr=2, Q_fr=1, T=64, F=2)
    sampler = PathSampler(jtfs.n_paths, seed=0)
    loss = SCRAPLLoss(jtfs, sampler=sampler, reweight=True)
    sampler.set_probs(adaptive_probs(torch.linspace(0.0, 1.0, jtfs.n_paths), 0.01))
    x = torch.randn(2, 1, 512, generator=torch.Generator().manual_seed(0))
    x_hat = x.flip(-1)
    for p in (0, jtfs.n_paths - 1):
        raw = loss.path_loss(x_hat, x, p)
        weighted = loss(x_hat, x, path=p)
        expected = raw / (jtfs.n_paths * float(sampler.probs[p]))
        assert float(weighted) == pytest.approx(float(expected), rel=1e-6)
