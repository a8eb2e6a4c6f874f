"""Property tests (hypothesis): identities that must hold for every input, not just examples.

Filters: unit L1 norm and the design crossing rule of the filterbank, the frequency-fold /
time-decimation identity; sampler: π stays a distribution with its floor; Eq. (10) is a
distribution invariant to row scaling; optimizer: AdamW bit for bit with both switches off,
P-Adam with one path is Adam, the P-SAGA running sum is the sum of its table.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

from scrapl_edu.filters import (
    R_PSI,
    compute_sigma_psi,
    filterbank_params,
    gauss_1d,
    morlet_1d,
    periodize,
)
from scrapl_edu.optim import SCRAPLOptimizer
from scrapl_edu.sampling import PathSampler, probs_from_importance

FAST = settings(max_examples=25, deadline=None)

# ------------------------------------------------------------------ filters

log2_M = st.integers(min_value=6, max_value=12)
xi_st = st.floats(min_value=0.02, max_value=0.45)
# widths from narrow (a few bins) to wide (a tenth of the band)
rel_sigma = st.floats(min_value=0.02, max_value=0.4)


@FAST
@given(log2_M, xi_st, rel_sigma)
def test_morlet_unit_l1_zero_mean_and_bounded(k, xi, r):
    """‖ψ‖₁ = 1 in time ⇒ |ψ̂| <= 1 everywhere; ψ̂(0) = 0 (zero mean), any M, ξ, σ."""
    M, sigma = 2**k, max(r * xi, 4.0 / 2**k)
    h = morlet_1d(M, xi, sigma)
    assert np.abs(np.fft.ifft(h)).sum() == pytest.approx(1.0, rel=1e-12)
    assert abs(h[0]) <= 1e-12
    assert np.abs(h).max() <= 1.0 + 1e-12
    g = gauss_1d(M, sigma)
    assert np.abs(np.fft.ifft(g)).sum() == pytest.approx(1.0, rel=1e-12)
    assert int(np.argmax(g)) == 0


@FAST
@given(log2_M, xi_st, rel_sigma, st.integers(min_value=1, max_value=4))
def test_periodize_is_decimation_in_time(k, xi, r, level):
    """Folding a spectrum by 2^L (summing periods) = keeping every 2^L-th sample in time, x 2^L.

    (Averaging the periods, as kymatio 0.3.0 did, would break this by a factor 2^L.)
    """
    M, sigma = 2**k, max(r * xi, 4.0 / 2**k)
    h = morlet_1d(M, xi, sigma)
    K = 2**level
    np.testing.assert_allclose(
        np.fft.ifft(periodize(h, level)), K * np.fft.ifft(h)[::K], atol=1e-14
    )


@FAST
@given(xi_st, st.integers(min_value=1, max_value=24))
def test_neighbour_gaussians_cross_at_r_psi(xi, Q):
    """compute_sigma_psi: wavelets ξ and ξ/2^(1/Q) (σ scaled alike) cross at r = √½ of the peak."""
    s1 = compute_sigma_psi(xi, Q)
    xi2, s2 = xi / 2 ** (1 / Q), s1 / 2 ** (1 / Q)
    f = (xi * s2 + xi2 * s1) / (s1 + s2)  # where the two Gaussians are equal
    assert math.exp(-(((xi - f) / s1) ** 2) / 2) == pytest.approx(R_PSI, rel=1e-12)
    assert math.exp(-(((f - xi2) / s2) ** 2) / 2) == pytest.approx(R_PSI, rel=1e-12)


@FAST
@given(st.integers(min_value=3, max_value=10), st.integers(min_value=1, max_value=16))
def test_constant_q_band_has_no_hole(J, Q):
    """Littlewood-Paley coverage: every frequency of the constant-Q band sees a wavelet at
    >= r_psi of its peak (less a little: the Morlet's DC correction lowers the crossing)."""
    try:
        specs = filterbank_params(J, Q)
    except ValueError:  # J too small for Q: no constant-Q wavelet (refused by design)
        assume(False)
    cq = specs[: len(specs) - (Q - 1)]  # the last Q - 1 filters step linearly to 0
    if len(cq) < 2:
        return
    M = 2 ** max(J + 3, 10)
    psi = np.abs(np.stack([morlet_1d(M, f.xi, f.sigma) for f in cq]))
    rel = psi / psi.max(axis=1, keepdims=True)
    k = np.arange(M) / M
    band = (k >= cq[-1].xi) & (k <= cq[0].xi)
    assert rel.max(axis=0)[band].min() >= R_PSI - 0.01


# ------------------------------------------------------------------ sampler

prob_vectors = st.lists(
    st.floats(min_value=0.0, max_value=1e3, allow_subnormal=False), min_size=1, max_size=40
).filter(lambda v: sum(v) > 0)


@FAST
@given(prob_vectors, st.floats(min_value=0.0, max_value=1.0))
def test_sampler_probs_stay_a_distribution_with_its_floor(raw, f):
    p = np.asarray(raw) / np.sum(raw)
    n = p.size
    s = PathSampler(n, p / p.sum(), seed=0, min_prob_frac=f)
    assert float(s.probs.sum()) == pytest.approx(1.0, abs=1e-12)
    assert float(s.probs.min()) >= f / n * (1 - 1e-12)
    expected = (1 - f) * torch.as_tensor(p / p.sum(), dtype=torch.float64) + f / n
    torch.testing.assert_close(s.probs, expected / expected.sum(), rtol=1e-12, atol=1e-15)
    draws = s.sample_many(20)
    assert all(0 <= d < n and float(s.probs[d]) > 0 for d in draws)


@FAST
@given(
    st.integers(min_value=1, max_value=5),
    st.integers(min_value=1, max_value=12),
    st.data(),
)
def test_eq10_is_a_distribution_invariant_to_row_scale(U, P, data):
    """π of Eq. (10) sums to 1 and is unchanged when one parameter's row is scaled."""
    # zeros (a parameter with no effect on a path) and positive importances; none so small
    # that scaling the row makes it subnormal
    entries = st.one_of(st.just(0.0), st.floats(min_value=1e-6, max_value=1e6))
    C = torch.tensor(data.draw(st.lists(entries, min_size=U * P, max_size=U * P))).reshape(U, P)
    C = C.to(torch.float64)
    pi = probs_from_importance(C)
    assert float(pi.sum()) == pytest.approx(1.0, abs=1e-12)
    assert bool((pi >= 0).all())
    u = data.draw(st.integers(min_value=0, max_value=U - 1))
    c = data.draw(st.floats(min_value=1e-3, max_value=1e3))
    scaled = C.clone()
    scaled[u] *= c
    torch.testing.assert_close(probs_from_importance(scaled), pi, rtol=1e-9, atol=1e-15)


# ---------------------------------------------------------------- optimizer


def _pair(seed: int, dtype=torch.float64) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    a = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2)).to(dtype)
    b = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2)).to(dtype)
    b.load_state_dict(a.state_dict())
    return a, b


def _grads(model: nn.Module, x: torch.Tensor, scale: float) -> None:
    model.zero_grad()
    (scale * model(x).pow(2).sum()).backward()


hyper = st.fixed_dictionaries(
    {
        "lr": st.floats(min_value=1e-4, max_value=1e-1),
        "b1": st.floats(min_value=0.0, max_value=0.99),
        "b2": st.floats(min_value=0.5, max_value=0.9999),
        "eps": st.floats(min_value=1e-10, max_value=1e-3),
        "wd": st.floats(min_value=0.0, max_value=0.1),
        "seed": st.integers(min_value=0, max_value=2**16),
    }
)


@FAST
@given(hyper)
def test_both_switches_off_is_adamw_bit_for_bit(h):
    a, b = _pair(h["seed"], torch.float32)
    kw = dict(lr=h["lr"], betas=(h["b1"], h["b2"]), eps=h["eps"], weight_decay=h["wd"])
    ours = SCRAPLOptimizer(a.parameters(), n_paths=7, p_adam=False, p_saga=False, **kw)
    ref = torch.optim.AdamW(b.parameters(), foreach=False, **kw)
    gen = torch.Generator().manual_seed(h["seed"])
    for step in range(4):
        x = torch.randn(3, 4, generator=gen)
        for model, opt in ((a, ours), (b, ref)):
            _grads(model, x, 1.0 + step)
            opt.step()
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


@FAST
@given(hyper)
def test_p_adam_with_one_path_is_adam(h):
    """P = 1: every step revisits the one path, (k - τ)/P = 1 and k/P = k: Eq. (6)-(8) = Adam."""
    a, b = _pair(h["seed"])
    kw = dict(lr=h["lr"], betas=(h["b1"], h["b2"]), eps=h["eps"], weight_decay=h["wd"])
    ours = SCRAPLOptimizer(a.parameters(), n_paths=1, p_adam=True, p_saga=False, **kw)
    ref = torch.optim.AdamW(b.parameters(), foreach=False, **kw)
    gen = torch.Generator().manual_seed(h["seed"])
    for step in range(5):
        x = torch.randn(3, 4, generator=gen, dtype=torch.float64)
        _grads(a, x, 1.0 + step)
        ours.step(path=0)
        _grads(b, x, 1.0 + step)
        ref.step()
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-9, atol=1e-12)


@FAST
@given(
    st.integers(min_value=1, max_value=6),
    st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=15),
    st.booleans(),
    st.integers(min_value=0, max_value=2**16),
)
def test_saga_running_sum_is_the_sum_of_its_table(P, raw_paths, p_adam, seed):
    """Eq. (9)'s g_avg = (Σ_γ ĝ_γ)/card Γ: the running sum equals the table's sum, Γ = visited."""
    a, _ = _pair(seed)
    opt = SCRAPLOptimizer(a.parameters(), n_paths=P, p_adam=p_adam, p_saga=True, lr=1e-2)
    gen = torch.Generator().manual_seed(seed)
    paths = [p % P for p in raw_paths]
    for p in paths:
        _grads(a, torch.randn(3, 4, generator=gen, dtype=torch.float64), 1.0)
        opt.step(path=p)
    assert opt.visited_paths == sorted(set(paths))
    for w in a.parameters():
        st_w = opt.state[w]
        table = torch.stack([t.to(torch.float64) for t in st_w["g_hat"].values()])
        torch.testing.assert_close(st_w["g_sum"], table.sum(0), rtol=1e-10, atol=1e-12)
