"""Tests of PathSampler, the power iteration and θ-importance sampling (Eq. 10-12)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import chisquare
from torch import nn

from scrapl_edu.sampling import (
    PathSampler,
    apply_min_prob,
    probs_from_importance,
    theta_importance_sampling,
    top_eigenvalue_hvp,
)

# ------------------------------------------------------------------ sampler


@pytest.mark.parametrize(
    "probs",
    [None, [0.05, 0.3, 0.1, 0.15, 0.02, 0.08, 0.2, 0.1]],
    ids=["uniform", "non-uniform"],
)
def test_sampler_chi_square(probs) -> None:
    n = 20_000
    sampler = PathSampler(8, probs, seed=1234)
    draws = sampler.sample_many(n)
    observed = np.bincount(draws, minlength=8)
    expected = n * (np.full(8, 1 / 8) if probs is None else np.asarray(probs))
    stat, pvalue = chisquare(observed, expected)
    assert pvalue > 0.01, (stat, pvalue)
    assert sampler.counts.tolist() == observed.tolist()


def test_sampler_is_reproducible_and_leaves_global_rng_alone() -> None:
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    a = PathSampler(30, seed=7).sample_many(50)
    after = torch.rand(1)
    assert torch.equal(before, after)
    assert a == PathSampler(30, seed=7).sample_many(50)
    assert a != PathSampler(30, seed=8).sample_many(50)


def test_sampler_state_dict_resumes_sequence() -> None:
    s = PathSampler(12, seed=3)
    full = s.sample_many(40)
    s1 = PathSampler(12, seed=3)
    first = s1.sample_many(15)
    state = s1.state_dict()
    s2 = PathSampler(12, seed=999)
    s2.load_state_dict(state)
    assert first + s2.sample_many(25) == full
    assert int(s2.counts.sum()) == 40
    with pytest.raises(ValueError, match="n_paths"):
        PathSampler(5).load_state_dict(state)


def test_zero_probability_path_never_drawn() -> None:
    probs = [0.5, 0.0, 0.5, 0.0]
    draws = PathSampler(4, probs, seed=0).sample_many(2000)
    assert set(draws) == {0, 2}


@pytest.mark.parametrize("f", [0.0, 0.2, 0.5, 1.0])
def test_min_prob_frac_floor(f: float) -> None:
    probs = [0.7, 0.3, 0.0, 0.0, 0.0]
    s = PathSampler(5, probs, seed=0, min_prob_frac=f)
    assert s.probs.dtype == torch.float64
    assert float(s.probs.sum()) == pytest.approx(1.0, abs=1e-15)
    assert float(s.probs.min()) >= f / 5 - 1e-15
    expected = [(1 - f) * q + f / 5 for q in probs]
    assert s.probs.tolist() == pytest.approx(expected, abs=1e-15)
    with pytest.raises(ValueError, match="min_prob_frac"):
        apply_min_prob(s.probs, 1.5)


@pytest.mark.parametrize(
    ("probs", "what"),
    [
        ([0.5, 0.6, -0.1], "non-negative"),
        ([0.5, 0.5], "length"),
        ([0.2, 0.2, 0.2], "sum to 1"),
        ([0.0, 0.0, 0.0], "all zero"),
        ([float("nan"), 0.5, 0.5], "finite"),
        ([[0.5, 0.5, 0.0]], "1-D"),
    ],
)
def test_bad_probabilities(probs, what) -> None:
    with pytest.raises(ValueError, match=rf"^probs must.*{what}"):
        PathSampler(3, probs)


def test_bad_sampler_arguments() -> None:
    with pytest.raises(ValueError, match="n_paths"):
        PathSampler(0)
    with pytest.raises(ValueError, match="min_prob_frac"):
        PathSampler(3, min_prob_frac=-0.1)
    with pytest.raises(ValueError, match="seed"):
        PathSampler(3, seed=1.5)


# ------------------------------------------------------------------ power iteration


def _symmetric_with_spectrum(eigs: torch.Tensor, seed: int) -> torch.Tensor:
    n = eigs.numel()
    gen = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=gen, dtype=torch.float64))
    return Q @ torch.diag(eigs) @ Q.T


@pytest.mark.parametrize("seed", range(5))
def test_power_iteration_random_symmetric(seed: int) -> None:
    gen = torch.Generator().manual_seed(100 + seed)
    n = 12
    A = torch.randn(n, n, generator=gen, dtype=torch.float64)
    A = (A + A.T) / 2
    lam = torch.linalg.eigvalsh(A)
    target = lam[lam.abs().argmax()].item()
    est = top_eigenvalue_hvp(lambda v: A @ v, torch.zeros(n, dtype=torch.float64), n_iter=3000)
    assert est == pytest.approx(target, rel=1e-6)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_power_iteration_with_gap_converges_fast(sign: float) -> None:
    eigs = torch.tensor([sign * 10.0, 4.0, -3.0, 1.0, 0.5, -0.2, 0.0, 2.0], dtype=torch.float64)
    A = _symmetric_with_spectrum(eigs, seed=3)
    est = top_eigenvalue_hvp(lambda v: A @ v, torch.zeros(8, dtype=torch.float64), n_iter=40)
    assert est == pytest.approx(torch.linalg.eigvalsh(A)[0 if sign < 0 else -1].item(), rel=1e-9)


def test_power_iteration_arguments() -> None:
    assert top_eigenvalue_hvp(lambda v: 0 * v, 4) == 0.0
    with pytest.raises(ValueError, match="n_iter"):
        top_eigenvalue_hvp(lambda v: v, 3, n_iter=0)


# ------------------------------------------------------------------ θ-IS


class QuadEncoder(nn.Module):
    """E_x(w) = ½ wᵀ Q w + xᵀ w (U = 1): M is explicit and symmetric."""

    def __init__(self, Q: torch.Tensor, w0: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("Q", Q)
        self.w = nn.Parameter(w0.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], -1)
        return (0.5 * self.w @ self.Q @ self.w + x @ self.w)[:, None]


def test_theta_is_matches_eigvalsh_of_explicit_matrix() -> None:
    """U = 1, L_p = c_p (θ − t)² ⇒ s = 2 c_p (E − t) and M = s Q + 2 c_p ∇E ∇Eᵀ (symmetric)."""
    d = 6
    gen = torch.Generator().manual_seed(0)
    Q = torch.randn(d, d, generator=gen, dtype=torch.float64)
    Q = (Q + Q.T) / 2
    w0 = torch.randn(d, generator=gen, dtype=torch.float64)
    xs = torch.randn(3, 1, d, generator=gen, dtype=torch.float64)
    c = [0.5, 2.0, 1.0, 3.0]
    t = 0.3
    enc = QuadEncoder(Q, w0)

    def synth(theta: torch.Tensor) -> torch.Tensor:
        return theta[:, :, None].expand(-1, 1, 4)  # x̂ carries θ; (B, 1, 4)

    def per_path_loss(x_hat: torch.Tensor, x: torch.Tensor, p: int) -> torch.Tensor:
        theta = x_hat[:, 0, 0]
        return c[p] * ((theta - t) ** 2).mean()

    res = theta_importance_sampling(
        enc, synth, per_path_loss, xs, n_iter=400, n_paths=4, tol=1e-14, progress=False
    )
    # explicit M for each x and p, eigvalsh, mean over x of |λ|max
    C = torch.zeros(1, 4, dtype=torch.float64)
    for x in xs:
        x = x.reshape(-1)
        E = 0.5 * w0 @ Q @ w0 + x @ w0
        gradE = Q @ w0 + x
        for p in range(4):
            s = 2 * c[p] * (E - t)
            M = s * Q + 2 * c[p] * torch.outer(gradE, gradE)
            lam = torch.linalg.eigvalsh(M)
            C[0, p] += lam.abs().max() / len(xs)
    torch.testing.assert_close(res.C, C, rtol=1e-6, atol=0)
    torch.testing.assert_close(res.probs, C[0] / C[0].sum(), rtol=1e-6, atol=0)


def test_theta_is_rank_one_closed_form() -> None:
    """θ = W x, x̂ = A θ, L_p = ‖B_p (x̂ − x)‖² ⇒ M = 2 (e_u⊗x)(H_p[u,:]⊗x)ᵀ, λ = 2 H_p[u,u] ‖x‖²."""
    U, D, N, Pn = 2, 5, 7, 3
    gen = torch.Generator().manual_seed(1)
    A = torch.randn(N, U, generator=gen, dtype=torch.float64)
    Bs = [torch.randn(4, N, generator=gen, dtype=torch.float64) for _ in range(Pn)]
    enc = nn.Linear(D, U, bias=False).double()
    xs = torch.randn(4, 1, D, generator=gen, dtype=torch.float64)

    def synth(theta: torch.Tensor) -> torch.Tensor:
        return (theta @ A.T)[:, None, :]  # (B, 1, N)

    def per_path_loss(x_hat: torch.Tensor, x: torch.Tensor, p: int) -> torch.Tensor:
        target = torch.ones(N, dtype=torch.float64)  # any fixed target
        r = (x_hat[:, 0, :] - target) @ Bs[p].T
        return r.pow(2).sum(dim=1).mean()

    enc_fwd = nn.Sequential(nn.Flatten(), enc)
    res = theta_importance_sampling(
        enc_fwd, synth, per_path_loss, xs, n_iter=5, n_paths=Pn, progress=False
    )
    mean_sq = xs.reshape(4, D).pow(2).sum(1).mean()
    expected = torch.zeros(U, Pn, dtype=torch.float64)
    for p in range(Pn):
        H = A.T @ Bs[p].T @ Bs[p] @ A
        expected[:, p] = 2 * torch.diagonal(H) * mean_sq
    torch.testing.assert_close(res.C, expected, rtol=1e-9, atol=0)
    # Eq. (10) by hand
    pi = [
        sum(expected[u, p].item() / expected[u].sum().item() for u in range(U)) / U
        for p in range(Pn)
    ]
    assert res.probs.tolist() == pytest.approx(pi, rel=1e-9)
    assert float(res.probs.sum()) == pytest.approx(1.0, abs=1e-15)
    assert res.to_sampler(seed=0).probs.tolist() == pytest.approx(pi, rel=1e-9)


def test_theta_is_freezes_a_random_synth() -> None:
    torch.manual_seed(5)
    enc = nn.Sequential(nn.Flatten(), nn.Linear(8, 2), nn.Sigmoid()).double()
    xs = torch.randn(2, 1, 8, dtype=torch.float64)

    def synth(theta: torch.Tensor) -> torch.Tensor:
        noise = torch.rand(theta.shape[0], 1, 16, dtype=theta.dtype)  # random draw
        return theta[:, :1, None] * noise + theta[:, 1:, None] ** 2

    def loss(x_hat, x, p):
        return ((x_hat - 0.5 * p) ** 2).mean()

    torch.manual_seed(0)
    before = torch.rand(3)
    torch.manual_seed(0)
    r1 = theta_importance_sampling(enc, synth, loss, xs, n_iter=30, n_paths=3, progress=False)
    assert torch.equal(torch.rand(3), before)  # caller's RNG untouched
    r2 = theta_importance_sampling(enc, synth, loss, xs, n_iter=30, n_paths=3, progress=False)
    assert torch.equal(r1.C, r2.C)
    assert torch.isfinite(r1.C).all() and (r1.C > 0).all()


def test_probs_from_importance_eq10() -> None:
    C = torch.tensor([[1.0, 3.0, 0.0], [2.0, 2.0, 4.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    pi = probs_from_importance(C)
    # rows: [1/4, 3/4, 0], [1/4, 1/4, 1/2], all-zero row -> uniform [1/3]*3
    expected = [(0.25 + 0.25 + 1 / 3) / 3, (0.75 + 0.25 + 1 / 3) / 3, (0 + 0.5 + 1 / 3) / 3]
    assert pi.tolist() == pytest.approx(expected, rel=1e-12)
    assert math.isclose(float(pi.sum()), 1.0, abs_tol=1e-15)


def test_theta_is_with_real_jtfs_smoke() -> None:
    from scrapl_edu import JTFS
    from scrapl_edu.losses import SCRAPLLoss

    jtfs = JTFS(shape=512, J=3, Q1=4, Q2=1, J_fr=1, Q_fr=1)
    loss = SCRAPLLoss(jtfs)
    torch.manual_seed(0)
    t = torch.arange(512) / 512

    class Enc(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(16, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            feats = x.reshape(x.shape[0], 32, 16).abs().mean(1)
            return torch.sigmoid(self.lin(feats))

    def synth(theta: torch.Tensor) -> torch.Tensor:
        f = 40 + 200 * theta[:, :1]
        am = 1 + 0.5 * torch.sin(2 * math.pi * (2 + 10 * theta[:, 1:]) * t)
        return (am * torch.sin(2 * math.pi * f * t))[:, None, :]

    xs = synth(torch.rand(2, 2)).detach()
    paths = [0, loss.n_paths // 2, loss.n_paths - 1]
    res = theta_importance_sampling(Enc(), synth, loss, xs, n_iter=3, paths=paths, progress=False)
    assert res.C.shape == (2, loss.n_paths)
    assert (res.C[:, paths] > 0).all()
    others = [p for p in range(loss.n_paths) if p not in paths]
    assert (res.C[:, others] == 0).all()
    assert float(res.probs.sum()) == pytest.approx(1.0, abs=1e-12)
