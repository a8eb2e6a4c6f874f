"""The fast operators behind the JTFS against plain torch and finite differences.

Each shortcut in ``scrapl_edu.ops`` and ``scrapl_edu.jtfs`` (the half-cost rfft
backward, the two-pass modulus backward, the real and paired frequential modes, the
polyphase first order, the skipped frequential rows) is checked here against the
straightforward computation it replaces, values and gradients.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scrapl_edu import JTFS
from scrapl_edu.ops import (
    complex_as_real_matrix,
    frequential_matrix,
    modulus,
    rfft,
    scatter_modulus_average,
)

GEN = torch.Generator().manual_seed(11)


@pytest.mark.parametrize("n", [16, 17, 64])
def test_rfft_gradient_equals_torch(n):
    x = torch.randn(3, n, dtype=torch.float64, generator=GEN)
    w = torch.randn(3, n // 2 + 1, dtype=torch.complex128, generator=GEN)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    torch.testing.assert_close(rfft(a), torch.fft.rfft(b))
    (rfft(a) * w).real.sum().backward()
    (torch.fft.rfft(b) * w).real.sum().backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-12, atol=1e-12)


def test_rfft_twice_differentiable():
    x = torch.randn(2, 32, dtype=torch.float64, generator=GEN, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda v: rfft(v).abs(), (x,), eps=1e-6, atol=1e-5)


def test_modulus_fast_backward_equals_safe_backward():
    """The plain backward (g / (|z| + eps)) and the double-backward one (where) agree,
    including at z = 0, where both give 0."""
    z = torch.randn(4, 50, dtype=torch.complex64, generator=GEN)
    z[0, :5] = 0
    g = torch.randn(4, 50, generator=GEN)
    a = z.clone().requires_grad_()
    (ga,) = torch.autograd.grad(modulus(a), a, g)
    b = z.clone().requires_grad_()
    (gb,) = torch.autograd.grad(modulus(b), b, g, create_graph=True)
    torch.testing.assert_close(ga, gb.detach(), rtol=1e-6, atol=1e-7)
    assert (ga[0, :5] == 0).all()
    expected = g * z / z.abs()  # torch's gradient of |z|: g * sgn(z)
    torch.testing.assert_close(ga[1:], expected[1:], rtol=1e-5, atol=1e-6)


def _planes(Y: torch.Tensor) -> torch.Tensor:
    return torch.cat([Y.real, Y.imag], dim=1)


@pytest.fixture(scope="module")
def fr_case():
    """A complex frequential matrix with a real low-pass and a mirrored spin-down twin."""
    j = JTFS(shape=4096, J=6, Q1=4, Q2=2, J_fr=2, Q_fr=2, T=64, F=4)
    m = max(j.plan.n1_count.values())
    up = frequential_matrix(j.plan.psi_fr_f[1], m, 2 ** j.plan.k_fr(1))
    down = frequential_matrix(j.plan.psi_fr_f[1 + j.K_fr], m, 2 ** j.plan.k_fr(1 + j.K_fr))
    low = frequential_matrix(j.plan.psi_fr_f[0], m, 2 ** j.plan.k_fr(0))
    L = 40
    Y = torch.randn(2, m, L, dtype=torch.complex128, generator=GEN)
    PhiT = torch.randn(3, L, dtype=torch.float64, generator=GEN)
    return j, m, up, down, low, Y, PhiT


def _direct(A: np.ndarray, Y: torch.Tensor, PhiT: torch.Tensor) -> torch.Tensor:
    """|A Y| PhiT^T with complex torch ops, no tricks."""
    return (torch.as_tensor(A) @ Y).abs() @ PhiT.T


def test_spin_down_is_conjugate_and_low_pass_is_real(fr_case):
    j, m, up, down, low, _, _ = fr_case
    assert np.abs(down - up.conj()).max() <= 1e-12 * np.abs(up).max()
    assert np.abs(low.imag).max() <= 1e-12 * np.abs(low).max()
    paper = JTFS(shape=32768, J=12, Q1=8, Q2=2, J_fr=3, Q_fr=2, T=4096, F=8)
    m_p = max(paper.plan.n1_count.values())
    assert paper.plan.fr_mode(0, m_p, pair=True) == "real"
    for n_fr in range(1, paper.K_fr + 1):
        assert paper.plan.fr_mode(n_fr, m_p, pair=True) == "pair"
        assert paper.plan.fr_mode(n_fr, m_p, pair=False) == "stacked"


@pytest.mark.parametrize("mode", ["stacked", "real", "pair"])
def test_scatter_modes_equal_direct_values_and_gradients(fr_case, mode, monkeypatch):
    import scrapl_edu.ops as ops

    monkeypatch.setattr(ops, "CHUNK_ENTRIES", 64)  # several chunks, one ragged
    _, m, up, down, low, Y, PhiT = fr_case
    if mode == "stacked":
        M, refs = complex_as_real_matrix(up), [up]
    elif mode == "real":
        M, refs = low.real, [low]
    else:
        M, refs = np.concatenate([up.real, up.imag]), [up, down]
    Ys = _planes(Y).clone().requires_grad_()
    S = scatter_modulus_average(Ys, torch.as_tensor(M), PhiT, mode)
    Yd = Y.clone().requires_grad_()
    S_ref = torch.cat([_direct(A, Yd, PhiT) for A in refs], dim=1)
    torch.testing.assert_close(S, S_ref, rtol=1e-12, atol=1e-12)
    W = torch.randn(S.shape, dtype=torch.float64, generator=GEN)
    (S * W).sum().backward()
    (S_ref * W).sum().backward()
    # torch's complex gradient is dL/d(Re) + i dL/d(Im): compare with the stacked planes
    torch.testing.assert_close(Ys.grad, _planes(Yd.grad), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["real", "pair"])
def test_scatter_modes_twice_differentiable(fr_case, mode):
    _, m, up, _, low, Y, PhiT = fr_case
    M = low.real if mode == "real" else np.concatenate([up.real, up.imag])
    Ys = _planes(Y[:1, :, :12]).clone().requires_grad_()
    Mt, P = torch.as_tensor(M), PhiT[:, :12]
    assert torch.autograd.gradgradcheck(
        lambda v: scatter_modulus_average(v, Mt, P, mode), (Ys,), eps=1e-6, atol=1e-5
    )


def test_bad_mode():
    with pytest.raises(ValueError, match="mode must be one of"):
        scatter_modulus_average(torch.zeros(1, 2, 3), torch.zeros(2, 2), torch.zeros(1, 3), "x")


def test_full_transform_gradient_equals_path_gradients():
    """jtfs(x) pairs spins and uses the real low-pass; its gradient equals that of the
    paths computed one at a time (the one-path route is checked by gradcheck)."""
    j = JTFS(shape=1024, J=5, Q1=4, Q2=2, J_fr=2, Q_fr=2, T=32, F=4)
    x = torch.randn(2, 1024, dtype=torch.float64, generator=GEN)
    W = torch.randn(2, j.n_paths, *j.paths[0].shape, dtype=torch.float64, generator=GEN)
    a = x.clone().requires_grad_()
    (j(a) * W).sum().backward()
    b = x.clone().requires_grad_()
    sum((j.path(b, i) * W[:, i]).sum() for i in range(j.n_paths)).backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-9, atol=1e-12)


def test_full_transform_gradcheck_float64():
    j = JTFS(shape=256, J=3, Q1=2, Q2=1, J_fr=1, Q_fr=1)
    x = torch.randn(1, 256, dtype=torch.float64, generator=GEN, requires_grad=True)
    assert torch.autograd.gradcheck(j, (x,), eps=1e-6, atol=1e-5, fast_mode=True)
    assert torch.autograd.gradgradcheck(j, (x,), eps=1e-6, atol=1e-4, fast_mode=True)


@pytest.mark.parametrize("K, P", [(1, 1), (1, 2), (1, 4), (2, 4)])
def test_band_modulus_equals_direct_fold(K, P):
    """|IFFT(fold_K(X h))| from P phases of a narrow window equals the direct computation,
    also for a filter whose window crosses Nyquist (bins read as conjugate mirrors)."""
    from scrapl_edu.filters import morlet_1d
    from scrapl_edu.ops import band_modulus, band_window, fold, polyphase_plan

    N = 512
    x = torch.randn(2, N, dtype=torch.float64, generator=GEN)
    X = torch.fft.fft(x)
    for xi in (0.2, 0.47):  # 0.47: the window reaches past N/2
        h = morlet_1d(N, xi, 0.009)
        ref = torch.fft.ifft(fold(X * torch.as_tensor(h), K)).abs()
        idx, outside = band_window(h, K * P)
        assert outside < 1e-9
        ridx, sign, W = (torch.as_tensor(a[None]) for a in polyphase_plan(idx, h, N, N // K, P))
        if xi > 0.4:
            assert (sign < 0).any()
        xr = x.clone().requires_grad_()
        U = band_modulus(rfft(xr), ridx, sign, W)[:, 0]
        torch.testing.assert_close(U, ref, rtol=0, atol=1e-8 * float(ref.max()))
        # gradient: hand-written backward == autograd of |IFFT(fold(FFT(x) h))|
        g = torch.randn(U.shape, dtype=torch.float64, generator=GEN)
        (U * g).sum().backward()
        xd = x.clone().requires_grad_()
        ref_d = torch.fft.ifft(fold(torch.fft.fft(xd) * torch.as_tensor(h), K)).abs()
        (ref_d * g).sum().backward()
        torch.testing.assert_close(xr.grad, xd.grad, rtol=0, atol=1e-8 * float(xd.grad.abs().max()))


def test_band_modulus_gradcheck_and_gradgradcheck():
    from scrapl_edu.filters import morlet_1d
    from scrapl_edu.ops import band_modulus, band_window, polyphase_plan

    N = 64
    h = morlet_1d(N, 0.3, 0.03)
    idx, _ = band_window(h, 2)
    ridx, sign, W = (torch.as_tensor(a[None]) for a in polyphase_plan(idx, h, N, N, 2))
    x = torch.randn(1, N, dtype=torch.float64, generator=GEN, requires_grad=True)

    def f(v):
        return band_modulus(rfft(v), ridx, sign, W)

    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-6)
    assert torch.autograd.gradgradcheck(f, (x,), eps=1e-6, atol=1e-5)


def test_skipped_frequential_rows_hold_no_mass_and_change_nothing(monkeypatch):
    """Rows of a spinned frequential matrix far from the m data rows carry only tails:
    they are skipped (here: more than a quarter of one wavelet's rows), and the paths
    equal the same computation with every row kept, to float64 precision."""
    import scrapl_edu.jtfs_plan as plan_mod
    from scrapl_edu.jtfs import ROWS_TOL

    paper = JTFS(shape=32768, J=12, Q1=8, Q2=2, J_fr=3, Q_fr=2, T=4096, F=8)
    m = max(paper.plan.n1_count.values())
    A = frequential_matrix(paper.plan.psi_fr_f[1], m, 2 ** paper.plan.k_fr(1))
    rows = paper.plan.fr_rows(1, m)
    assert len(rows) < 0.75 * A.shape[0]
    mass = np.abs(A).sum(axis=1)
    assert np.delete(mass, rows).sum() <= ROWS_TOL * mass.sum()
    low = frequential_matrix(paper.plan.psi_fr_f[0], m, 2 ** paper.plan.k_fr(0))
    assert len(paper.plan.fr_rows(0, m)) == low.shape[0]  # the low-pass keeps every row

    kw = dict(shape=2048, J=8, Q1=8, Q2=1, J_fr=3, Q_fr=1, T=256, F=8)
    x = torch.randn(2, 2048, dtype=torch.float64, generator=GEN)
    fast = JTFS(**kw)
    a = fast(x)
    with monkeypatch.context() as mp:
        mp.setattr(plan_mod, "ROWS_TOL", 0.0)
        every_row = JTFS(**kw)
        b = every_row(x)
    m = max(fast.plan.n1_count.values())
    assert len(fast.plan.fr_rows(1, m)) < len(every_row.plan.fr_rows(1, m))
    assert (a - b).abs().max() <= 1e-11 * b.abs().max()
