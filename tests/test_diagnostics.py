"""Tests of the gradient diagnostics: Prop. 3.1, estimator variance, P-SAGA variance reduction."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from scrapl_edu import JTFS
from scrapl_edu.diagnostics import (
    check_unbiased_exact,
    cosine_similarity,
    direction_variance,
    estimator_table,
    estimator_variance,
    full_gradient,
    monte_carlo_unbiasedness,
    optimizer_directions,
    per_path_gradients,
)
from scrapl_edu.losses import JTFSLoss, SCRAPLLoss
from scrapl_edu.optim import SCRAPLOptimizer
from scrapl_edu.sampling import PathSampler

# ------------------------------------------------------------ Prop. 3.1 on the real JTFS


class TinySynth(nn.Module):
    """x̂ = Σ_k a_k sin(2π f_k t): learnable amplitudes, fixed frequencies."""

    def __init__(self, n: int = 1024) -> None:
        super().__init__()
        t = torch.arange(n) / n
        freqs = torch.tensor([20.0, 45.0, 90.0, 150.0])
        self.register_buffer("basis", torch.sin(2 * math.pi * freqs[:, None] * t))
        self.amp = nn.Parameter(torch.tensor([[1.0, 0.5, 0.2, 0.1], [0.3, 1.0, 0.0, 0.4]]))

    def forward(self) -> torch.Tensor:
        return (self.amp @ self.basis)[:, None, :]


@pytest.fixture(scope="module")
def jtfs_setup():
    jtfs = JTFS(shape=1024, J=4, Q1=4, Q2=1, J_fr=2, Q_fr=1)
    synth = TinySynth()
    with torch.no_grad():
        target = TinySynth()
        target.amp.copy_(torch.tensor([[0.8, 0.6, 0.3, 0.0], [0.2, 1.2, 0.1, 0.3]]))
        x = target()
    loss = SCRAPLLoss(jtfs)
    G = per_path_gradients(synth, lambda p: loss(synth(), x, path=p), jtfs.n_paths)
    g = full_gradient(synth, lambda: JTFSLoss(jtfs)(synth(), x))
    return G, g


def test_prop31_exact_on_jtfs(jtfs_setup) -> None:
    G, g = jtfs_setup
    assert G.shape == (14, 8) and g.shape == (8,)
    assert check_unbiased_exact(G, g, rtol=1e-5) <= 1e-5
    assert cosine_similarity(G.mean(0), g) == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(AssertionError, match="differs"):
        check_unbiased_exact(G, 2 * g)


def test_prop31_monte_carlo_on_jtfs(jtfs_setup) -> None:
    G, g = jtfs_setup
    mc = monte_carlo_unbiasedness(G, n_samples=20_000, seed=0, full=g)
    assert mc.z < 4.0  # |mean − g| within a few standard errors
    # a biased estimator (non-uniform π, no reweighting) is detected
    pi = torch.linspace(1, 3, G.shape[0], dtype=torch.float64)
    biased = monte_carlo_unbiasedness(G, pi / pi.sum(), n_samples=20_000, seed=0, full=g)
    assert biased.z > 5.0


def test_reweighting_unbiased_under_non_uniform_pi(jtfs_setup) -> None:
    G, g = jtfs_setup
    gen = torch.Generator().manual_seed(0)
    pi = torch.rand(G.shape[0], generator=gen, dtype=torch.float64) + 0.05
    pi = pi / pi.sum()
    rw = estimator_variance(G, pi, reweight=True, full=g)
    torch.testing.assert_close(rw.mean, g, rtol=1e-5, atol=1e-9)  # exactly unbiased
    assert rw.bias_sq < 1e-9 * float(g.pow(2).sum()) + 1e-12
    plain = estimator_variance(G, pi, reweight=False, full=g)
    torch.testing.assert_close(plain.mean, (pi[:, None] * G).sum(0))  # Σ π_p G_p
    assert plain.bias_sq > 1e-6 * float(g.pow(2).sum())
    mc = monte_carlo_unbiasedness(G, pi, reweight=True, n_samples=20_000, seed=1, full=g)
    assert mc.z < 4.0


# ------------------------------------------------------------ exact moments by hand


def test_estimator_variance_by_hand() -> None:
    G = torch.tensor([[1.0, 0.0], [3.0, 2.0]], dtype=torch.float64)  # P = 2, |w| = 2
    g = torch.tensor([2.0, 1.0], dtype=torch.float64)
    # uniform: ĝ ∈ {G_0, G_1}, each with prob. 1/2: E‖ĝ − g‖² = (2 + 2)/2 = 2
    st = estimator_variance(G, full=g)
    assert st.mean.tolist() == pytest.approx(g.tolist())
    assert (st.mse, st.variance, st.bias_sq) == pytest.approx((2.0, 2.0, 0.0))
    # π = (1/4, 3/4), no reweighting: E ĝ = (2.5, 1.5)
    pi = torch.tensor([0.25, 0.75], dtype=torch.float64)
    st = estimator_variance(G, pi)
    assert st.mean.tolist() == pytest.approx([2.5, 1.5])
    assert st.bias_sq == pytest.approx(0.5)
    assert st.mse == pytest.approx(0.25 * 2 + 0.75 * 2)
    # reweighted: ĝ_0 = G_0 / (2·1/4) = (2, 0), ĝ_1 = G_1 / (2·3/4) = (2, 4/3)
    st = estimator_variance(G, pi, reweight=True)
    expected = torch.tensor([[2.0, 0.0], [2.0, 4 / 3]], dtype=torch.float64)
    torch.testing.assert_close(estimator_table(G, pi, reweight=True), expected)
    assert st.bias_sq == pytest.approx(0.0, abs=1e-15)
    assert st.mse == pytest.approx(0.25 * 1 + 0.75 * (1 / 3) ** 2)


def test_saga_correction_table() -> None:
    gen = torch.Generator().manual_seed(0)
    G = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    # a table equal to the current gradients removes all variance: ĝ_p = mean H = g
    exact = estimator_variance(G, correction=G)
    assert exact.variance == pytest.approx(0.0, abs=1e-24)
    # a slightly stale table reduces it a lot; unbiased (all paths visited, uniform π)
    stale = G + 0.1 * torch.randn(6, 5, generator=gen, dtype=torch.float64)
    st = estimator_variance(G, correction=stale)
    assert st.bias_sq == pytest.approx(0.0, abs=1e-20)
    assert st.variance < 0.05 * estimator_variance(G).variance
    # partially visited Γ = {0, 2}: ĝ_p = G_p − H_p + (H_0 + H_2)/2, H_p = 0 off Γ
    tab = estimator_table(G, correction=stale, visited=[0, 2])
    h_avg = (stale[0] + stale[2]) / 2
    torch.testing.assert_close(tab[0], G[0] - stale[0] + h_avg)
    torch.testing.assert_close(tab[1], G[1] + h_avg)


def test_cosine_similarity() -> None:
    a = torch.tensor([1.0, 0.0])
    assert cosine_similarity(a, torch.tensor([2.0, 0.0])) == pytest.approx(1.0)
    assert cosine_similarity(a, torch.tensor([0.0, 3.0])) == pytest.approx(0.0)
    assert cosine_similarity(a, torch.tensor([-1.0, 0.0])) == pytest.approx(-1.0)
    assert cosine_similarity(a, torch.zeros(2)) == 0.0


# ------------------------------------------------------------ toy demonstration


def _random_feature_regression(P: int = 10, m: int = 4, seed: int = 0):
    """Random-feature regression whose loss splits into P "paths" (output blocks).

    Features φ(x) = cos(xΩ + b) (fixed); a shared hidden layer and a head predict P blocks
    of m targets; L_p = P · mean_n ‖ŷ_p − y_p‖² so that L = (1/P) Σ_p L_p, as in Eq. (3).
    """
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(64, 8, generator=g)
    omega = torch.randn(8, 32, generator=g)
    b = 2 * math.pi * torch.rand(32, generator=g)
    feats = torch.cos(X @ omega + b)
    W = torch.randn(32, P * m, generator=g) / 32**0.5
    Y = torch.tanh(feats @ W) + 0.05 * torch.randn(64, P * m, generator=g)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, P * m))

    def path_loss(mod: nn.Module, p: int) -> torch.Tensor:
        out = mod(feats)[:, p * m : (p + 1) * m]
        return P * (out - Y[:, p * m : (p + 1) * m]).pow(2).sum(1).mean()

    return model, path_loss


def test_p_saga_reduces_estimator_variance_after_warmup() -> None:
    """Toy demonstration: after a warm-up, P-SAGA's update direction varies far less over the
    draw of p than P-Adam's g_current alone (same optimizer state), and the SAGA control
    variate built from stale per-path gradients cuts the raw-gradient variance."""
    P = 10
    model, path_loss = _random_feature_regression(P)
    opt = SCRAPLOptimizer(model.parameters(), n_paths=P, lr=3e-3, p_adam=True, p_saga=True)
    sampler = PathSampler(P, seed=0)
    params = list(model.parameters())
    table = torch.zeros(P, sum(w.numel() for w in params), dtype=torch.float64)
    first = None
    for k in range(150):
        p = sampler.sample()
        opt.zero_grad()
        loss = path_loss(model, p)
        loss.backward()
        table[p] = torch.cat([w.grad.reshape(-1).double() for w in params])
        opt.step(path=p)
        if k == 0:
            first = float(loss.detach())
    d_saga = optimizer_directions(model, opt, path_loss, range(P))
    d_adam = optimizer_directions(model, opt, path_loss, range(P), overrides={"p_saga": False})
    var_saga, var_adam = direction_variance(d_saga), direction_variance(d_adam)
    G = per_path_gradients(model, lambda q: path_loss(model, q), P)
    raw = estimator_variance(G)
    saga = estimator_variance(G, correction=table)
    with torch.no_grad():
        final = float(sum(path_loss(model, q) for q in range(P)) / P)
    factor_dir = var_adam / var_saga
    factor_grad = raw.variance / saga.variance
    print(
        f"\nP-SAGA variance factor (update directions): {factor_dir:.1f}x; "
        f"(raw gradients, stale table): {factor_grad:.1f}x; loss {first:.2f} -> "
        f"{final:.2f}"
    )
    assert factor_dir > 10.0
    assert factor_grad > 10.0
    assert saga.bias_sq == pytest.approx(0.0, abs=1e-12 * raw.variance)
    # the optimizer left untouched by the dry runs
    assert opt.global_step == 150


def test_forward_backward_seconds_runs_fn_and_backward():
    from scrapl_edu.diagnostics import forward_backward_seconds

    calls, grads = [], []

    def fn(z):
        calls.append(z.requires_grad)
        z.register_hook(grads.append)  # fires only if the backward reaches z
        return 3 * z

    x = torch.ones(4)
    t = forward_backward_seconds(fn, x, repeats=3)
    assert calls == [True, True, True] and 0 < t < 60
    # d/dz sum((3z)^2) = 18 z, once per repeat
    assert len(grads) == 3 and all(torch.equal(g, torch.full((4,), 18.0)) for g in grads)
    with pytest.raises(ValueError, match="repeats"):
        forward_backward_seconds(fn, x, repeats=0)


def test_arithmetic_cost_matches_closed_forms():
    """Matrix products 2·m·n·k (×4 complex), FFTs 5·N·log2 N (half for real), backward too."""
    from scrapl_edu.diagnostics import arithmetic_cost

    m, k, n = 6, 5, 7
    W = torch.randn(k, n)
    fwd = arithmetic_cost(lambda z: z @ W, torch.randn(m, k), backward=False)
    assert fwd == {"total": 2 * m * k * n, "fft": 0, "matmul": 2 * m * k * n}
    # backward adds dL/dz = g · Wᵀ, another m·n·k product (W is a constant)
    assert arithmetic_cost(lambda z: z @ W, torch.randn(m, k))["total"] == 4 * m * k * n
    Wc = torch.randn(k, n, dtype=torch.complex64)
    zc = torch.randn(m, k, dtype=torch.complex64)
    assert arithmetic_cost(lambda z: z @ Wc, zc, backward=False)["total"] == 8 * m * k * n

    b, N = 3, 1024
    x = torch.randn(b, N)
    assert arithmetic_cost(torch.fft.rfft, x, backward=False)["fft"] == b * 2.5 * N * 10
    assert arithmetic_cost(torch.fft.fft, x.to(torch.complex64), backward=False)["fft"] == (
        b * 5 * N * 10
    )
    X = torch.fft.rfft(x)
    irfft = arithmetic_cost(lambda z: torch.fft.irfft(z, n=N), X, backward=False)
    assert irfft == {"total": b * 2.5 * N * 10, "fft": b * 2.5 * N * 10, "matmul": 0}
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        arithmetic_cost(torch.fft.rfft, [1.0, 2.0])


def test_arithmetic_cost_one_jtfs_path_is_a_fraction_of_all():
    """Section 3's premise, counted: a path skips the other paths' second-order work."""
    from scrapl_edu import JTFS
    from scrapl_edu.diagnostics import arithmetic_cost

    jtfs = JTFS(shape=512, J=5, Q1=4, Q2=1, J_fr=2, Q_fr=1, T=64, F=4)
    x = torch.randn(1, 512)
    full = arithmetic_cost(jtfs, x)
    paths = [arithmetic_cost(lambda z, p=p: jtfs.path(z, p), x) for p in range(jtfs.n_paths)]
    assert full["fft"] > 0 and full["matmul"] > 0
    assert max(c["total"] for c in paths) < full["total"]
    # paths recompute the shared first order, so together they cost more than the whole
    assert sum(c["total"] for c in paths) > full["total"]
