"""Tests of θ-importance sampling (Eq. 10-12) and its power iteration (scrapl_edu.theta_is)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from scrapl_edu.theta_is import theta_importance_sampling, top_eigenvalue_hvp

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
    res = theta_importance_sampling(
        Enc(),
        synth,
        loss.path_loss,
        xs,
        n_iter=3,
        n_paths=loss.n_paths,
        paths=paths,
        progress=False,
    )
    assert res.C.shape == (2, loss.n_paths)
    assert (res.C[:, paths] > 0).all()
    others = [p for p in range(loss.n_paths) if p not in paths]
    assert (res.C[:, others] == 0).all()
    assert float(res.probs.sum()) == pytest.approx(1.0, abs=1e-12)


def test_theta_is_takes_the_path_loss_callable_not_the_module() -> None:
    from scrapl_edu import JTFS
    from scrapl_edu.losses import SCRAPLLoss

    loss = SCRAPLLoss(JTFS(shape=512, J=3, Q1=4, Q2=1, J_fr=1, Q_fr=1))
    enc = nn.Sequential(nn.Flatten(), nn.Linear(512, 2), nn.Sigmoid())
    xs = torch.zeros(1, 1, 512)
    with pytest.raises(ValueError, match=r"loss_fn\.path_loss"):
        theta_importance_sampling(enc, lambda t: xs, loss, xs, n_paths=loss.n_paths)
    with pytest.raises(ValueError, match="path_loss must be a callable"):
        theta_importance_sampling(enc, lambda t: xs, "mse", xs, n_paths=3)
    with pytest.raises(ValueError, match=r"paths must be an integer in \[0, 2\]"):
        theta_importance_sampling(enc, lambda t: xs, loss.path_loss, xs, n_paths=3, paths=[3])
    with pytest.raises(TypeError, match="n_paths"):
        theta_importance_sampling(enc, lambda t: xs, loss.path_loss, xs)  # keyword required


# ------------------------------------------------------------------ iterates (N_IS and iterations)


def test_power_iteration_trace_is_every_shorter_run() -> None:
    eigs = torch.tensor([5.0, -4.5, 3.0, 1.0, 0.2], dtype=torch.float64)
    A = _symmetric_with_spectrum(eigs, seed=7)
    trace: list[float] = []
    top_eigenvalue_hvp(lambda v: A @ v, torch.zeros(5, dtype=torch.float64), 12, trace=trace)
    assert len(trace) == 12
    for k in (1, 2, 5, 12):
        assert trace[k - 1] == top_eigenvalue_hvp(
            lambda v: A @ v, torch.zeros(5, dtype=torch.float64), n_iter=k
        )
    assert len(set(trace)) > 1  # the estimate moves: the trace is not one value repeated


def _tiny_theta_is_problem() -> tuple[nn.Module, object, object, torch.Tensor]:
    torch.manual_seed(3)
    enc = nn.Sequential(nn.Flatten(), nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 2)).double()
    xs = torch.randn(5, 1, 8, dtype=torch.float64)

    def synth(theta: torch.Tensor) -> torch.Tensor:
        t = torch.linspace(0, 1, 16, dtype=theta.dtype)
        return (torch.sin(6 * theta[:, :1] * t) * theta[:, 1:] ** 2)[:, None, :]

    def loss(x_hat: torch.Tensor, x: torch.Tensor, p: int) -> torch.Tensor:
        return ((x_hat[..., p::4] - 0.1 * p) ** 2).mean()

    return enc, synth, loss, xs


def test_probs_at_equals_a_cheaper_run() -> None:
    """π read from a long run's iterates is exactly π of the shorter, smaller run."""
    enc, synth, loss, xs = _tiny_theta_is_problem()
    ref = theta_importance_sampling(
        enc, synth, loss, xs, n_iter=9, n_paths=4, progress=False, keep_iterates=True
    )
    assert ref.iterates is not None and ref.iterates.shape == (5, 2, 4, 9)
    assert torch.equal(ref.iterates[..., -1], ref.eigs)
    assert torch.equal(ref.probs_at(5, 9), ref.probs)
    for n, k in ((1, 1), (2, 3), (5, 4)):
        small = theta_importance_sampling(
            enc, synth, loss, xs[:n], n_iter=k, n_paths=4, progress=False
        )
        assert torch.equal(ref.probs_at(n, k), small.probs)
    assert not torch.equal(ref.probs_at(1, 1), ref.probs)  # the setting matters here


def test_probs_at_arguments() -> None:
    enc, synth, loss, xs = _tiny_theta_is_problem()
    plain = theta_importance_sampling(enc, synth, loss, xs[:2], n_iter=2, n_paths=4, progress=False)
    with pytest.raises(ValueError, match="keep_iterates"):
        plain.probs_at(1, 1)
    kept = theta_importance_sampling(
        enc, synth, loss, xs[:2], n_iter=2, n_paths=4, progress=False, keep_iterates=True
    )
    with pytest.raises(ValueError, match=r"n_examples must be an integer in \[1, 2\]"):
        kept.probs_at(3, 1)
    with pytest.raises(ValueError, match=r"n_iter must be an integer in \[1, 2\]"):
        kept.probs_at(1, 0)
