"""Tests of the JTFS / SCRAPL losses (Eq. 3, Prop. 3.1) and the MSS baselines."""

from __future__ import annotations

import pytest
import torch

from scrapl_edu import JTFS
from scrapl_edu.losses import JTFSLoss, SCRAPLLoss, mss_loss, path_distance
from scrapl_edu.sampling import PathSampler


@pytest.fixture(scope="module")
def jtfs_small() -> JTFS:
    return JTFS(shape=1024, J=4, Q1=4, Q2=1, J_fr=2, Q_fr=1)


@pytest.fixture(scope="module")
def signals() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    t = torch.arange(1024) / 1024
    x = torch.sin(2 * torch.pi * 50 * t) * (1 + torch.sin(2 * torch.pi * 3 * t))
    x = torch.stack([x, 0.5 * torch.randn(1024, generator=gen)])[:, None, :]
    x_hat = x + 0.3 * torch.randn(x.shape, generator=gen)
    return x_hat, x


def test_prop31_mean_of_path_losses_is_full_loss(jtfs_small, signals) -> None:
    x_hat, x = signals
    P = jtfs_small.n_paths
    loss = SCRAPLLoss(jtfs_small)
    with torch.no_grad():
        per_path = torch.stack([loss(x_hat, x, path=p) for p in range(P)])
        full = JTFSLoss(jtfs_small)(x_hat, x)
    torch.testing.assert_close(per_path.mean(), full, rtol=1e-5, atol=0)


def test_path_loss_is_eq3(jtfs_small, signals) -> None:
    x_hat, x = signals
    P = jtfs_small.n_paths
    with torch.no_grad():
        S, S_hat = jtfs_small(x), jtfs_small(x_hat)  # full transform, sliced below
        for p in (0, 5, P - 1):
            expected = P * ((S[:, p] - S_hat[:, p]) ** 2).sum(dim=(1, 2)).mean()
            torch.testing.assert_close(path_distance(jtfs_small, x_hat, x, p), expected)
        full = ((S - S_hat) ** 2).sum(dim=(1, 2, 3)).mean()
        torch.testing.assert_close(JTFSLoss(jtfs_small)(x_hat, x), full)


def test_rho_log1p(jtfs_small, signals) -> None:
    x_hat, x = signals
    eps = 1e-2
    loss = SCRAPLLoss(jtfs_small, rho="log1p", eps=eps)
    P = jtfs_small.n_paths
    with torch.no_grad():
        a = torch.log1p(jtfs_small.path(x, 3) / eps)
        b = torch.log1p(jtfs_small.path(x_hat, 3) / eps)
        expected = P * ((a - b) ** 2).sum(dim=(1, 2)).mean()
        torch.testing.assert_close(loss(x_hat, x, path=3), expected)
        full = JTFSLoss(jtfs_small, rho="log1p", eps=eps)(x_hat, x)
        mean = torch.stack([loss(x_hat, x, path=p) for p in range(P)]).mean()
        torch.testing.assert_close(mean, full, rtol=1e-5, atol=0)


def test_scrapl_loss_samples_and_records_path(jtfs_small, signals) -> None:
    x_hat, x = signals
    P = jtfs_small.n_paths
    loss = SCRAPLLoss(jtfs_small, PathSampler(P, seed=42))
    twin = PathSampler(P, seed=42)
    with torch.no_grad():
        for _ in range(5):
            value = loss(x_hat, x)
            p = twin.sample()
            assert loss.last_path == p
            torch.testing.assert_close(value, path_distance(jtfs_small, x_hat, x, p))
        loss(x_hat, x, path=2)
    assert loss.last_path == 2
    assert int(loss.sampler.counts.sum()) == 5  # a forced path is not a draw


def test_sampler_state_travels_with_loss_state_dict(jtfs_small, signals) -> None:
    x_hat, x = signals
    P = jtfs_small.n_paths
    a = SCRAPLLoss(jtfs_small, PathSampler(P, seed=5))
    a.sampler.sample_many(7)
    state = a.state_dict()
    b = SCRAPLLoss(jtfs_small, PathSampler(P, seed=123))
    b.load_state_dict(state)
    assert b.sampler.sample_many(20) == a.sampler.sample_many(20)


def test_reweighting_is_unbiased_under_non_uniform_pi(jtfs_small, signals) -> None:
    x_hat, x = signals
    P = jtfs_small.n_paths
    gen = torch.Generator().manual_seed(3)
    pi = torch.rand(P, generator=gen, dtype=torch.float64) + 0.1
    pi = pi / pi.sum()
    rw = SCRAPLLoss(jtfs_small, PathSampler(P, pi, seed=0), reweight=True)
    plain = SCRAPLLoss(jtfs_small, PathSampler(P, pi, seed=0))
    with torch.no_grad():
        L = torch.stack([plain(x_hat, x, path=p) for p in range(P)]).double()
        Lw = torch.stack([rw(x_hat, x, path=p) for p in range(P)]).double()
        full = JTFSLoss(jtfs_small)(x_hat, x).double()
    torch.testing.assert_close(Lw, L / (P * pi), rtol=1e-6, atol=0)
    torch.testing.assert_close((pi * Lw).sum(), full, rtol=1e-5, atol=0)  # unbiased
    assert abs(float((pi * L).sum() - full)) > 1e-3 * float(full)  # biased without it


def test_target_coefficients_carry_no_gradient(jtfs_small, signals) -> None:
    x_hat, x = signals
    x = x.clone().requires_grad_(True)
    x_hat = x_hat.clone().requires_grad_(True)
    SCRAPLLoss(jtfs_small)(x_hat, x, path=1).backward()
    assert x.grad is None
    assert x_hat.grad is not None and x_hat.grad.abs().sum() > 0
    x_hat.grad = None
    JTFSLoss(jtfs_small)(x_hat, x).backward()
    assert x.grad is None and x_hat.grad.abs().sum() > 0


def test_loss_errors(jtfs_small, signals) -> None:
    x_hat, x = signals
    P = jtfs_small.n_paths
    loss = SCRAPLLoss(jtfs_small)
    with pytest.raises(ValueError, match="same shape"):
        loss(x_hat[:1], x, path=0)
    with pytest.raises(ValueError, match=rf"path must be an integer in \[0, {P - 1}\]"):
        loss(x_hat, x, path=P)
    with pytest.raises(ValueError, match="rho"):
        SCRAPLLoss(jtfs_small, rho="log")
    with pytest.raises(ValueError, match="rho"):
        JTFSLoss(jtfs_small, rho="sqrt")
    with pytest.raises(ValueError, match="n_paths"):
        SCRAPLLoss(jtfs_small, PathSampler(P + 1))
    probs = torch.zeros(P, dtype=torch.float64)
    probs[0] = 1.0
    zero = SCRAPLLoss(jtfs_small, PathSampler(P, probs), reweight=True)
    with pytest.raises(ValueError, match="probability 0"):
        zero(x_hat, x, path=1)


@pytest.mark.parametrize("kind", ["linear", "log_linear", "revisited", "random"])
def test_mss_baselines_run_and_backpropagate(kind: str) -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 1, 4096, generator=gen)
    x_hat = torch.randn(2, 1, 4096, generator=gen, requires_grad=True)
    loss_fn = mss_loss(kind)
    loss = loss_fn(x_hat, x)
    assert loss.dim() == 0 and torch.isfinite(loss)
    loss.backward()
    assert x_hat.grad is not None and torch.isfinite(x_hat.grad).all()
    assert float(loss_fn(x, x)) == pytest.approx(0.0, abs=1e-5)


def test_mss_options() -> None:
    import auraloss

    lin = mss_loss("linear")
    assert isinstance(lin, auraloss.freq.MultiResolutionSTFTLoss)
    assert [f.fft_size for f in lin.stft_losses] == [2048, 1024, 512, 256, 128, 64]
    custom = mss_loss("log_linear", fft_sizes=[256], hop_sizes=[64], win_lengths=[256])
    assert [f.fft_size for f in custom.stft_losses] == [256]
    weights = {
        kind: [(f.w_sc, f.w_log_mag, f.w_lin_mag) for f in mss_loss(kind).stft_losses]
        for kind in ("linear", "log_linear", "revisited")
    }
    assert set(weights["linear"]) == {(0.0, 0.0, 1.0)}  # linear magnitude only
    assert set(weights["log_linear"]) == {(0.0, 1.0, 1.0)}  # + log magnitude (Engel et al.)
    assert set(weights["revisited"]) == {(1.0, 1.0, 0.0)}  # spectral convergence + log
    with pytest.raises(ValueError, match="kind"):
        mss_loss("mel")


def test_end_to_end_scrapl_training_reduces_full_loss(jtfs_small) -> None:
    """Algorithm 1 end to end: SCRAPLLoss draws p, SCRAPLOptimizer steps with that p."""
    from scrapl_edu.optim import SCRAPLOptimizer

    t = torch.arange(1024) / 1024
    basis = torch.sin(2 * torch.pi * torch.tensor([20.0, 45.0, 90.0])[:, None] * t)
    amp = torch.nn.Parameter(torch.tensor([[1.0, 0.5, 0.2], [0.3, 1.0, 0.0]]))
    x = (torch.tensor([[0.8, 0.6, 0.3], [0.2, 1.2, 0.1]]) @ basis)[:, None, :]
    loss_fn = SCRAPLLoss(jtfs_small, PathSampler(jtfs_small.n_paths, seed=0))
    full = JTFSLoss(jtfs_small)
    opt = SCRAPLOptimizer([amp], n_paths=jtfs_small.n_paths, lr=1e-2)
    with torch.no_grad():
        before = float(full((amp @ basis)[:, None, :], x))
    for _ in range(30):
        opt.zero_grad()
        loss_fn((amp @ basis)[:, None, :], x).backward()
        opt.step(path=loss_fn.last_path)
    with torch.no_grad():
        after = float(full((amp @ basis)[:, None, :], x))
    assert after < 0.5 * before
    assert opt.global_step == 30 and int(loss_fn.sampler.counts.sum()) == 30
