"""Operators behind the JTFS: Fourier-domain folds and band windows, the averaging and
frequential matrices, and three autograd functions that make one path fast.

Each function is the exact linear (or modulus) step of the reference's
pad -> FFT -> multiply -> fold -> IFFT chain, reorganised for speed; the JTFS module
(:mod:`scrapl_edu.jtfs`) composes them in the order of Section 4.1.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

# --------------------------------------------------------------------------
# pure helpers: windows and averaging matrices (numpy, float64)
# --------------------------------------------------------------------------


def _eps(dtype: torch.dtype) -> float:
    """Added to ``|z|`` before dividing by it in a modulus backward: ``tiny**0.75``
    (about 4e-29 in float32), so ``z / (|z| + eps)`` is 0 where z = 0 and never overflows."""
    return torch.finfo(dtype).tiny ** 0.75


def _abs(z: Tensor) -> Tensor:
    """|z| for complex z as ``hypot(re, im)``: on CPU faster than ``z.abs()``, and it never
    forms denormal squares, which make a plain sqrt(re^2 + im^2) far slower."""
    v = torch.view_as_real(z)
    return torch.hypot(v[..., 0], v[..., 1])


class _Modulus(torch.autograd.Function):
    """Complex modulus |z| with a safe, cheap backward.

    d|z|/dz* = z / (2|z|): the gradient is ``g * z / |z|``, and we define it as 0
    where ``|z| = 0`` (the naive sqrt(re^2 + im^2) gives NaN there). A plain backward
    divides by ``|z| + eps`` (eps = tiny**0.75, about 4e-29 in float32): two passes instead of
    five, equal to ``z / |z|`` to float precision wherever ``|z| > 1e-20``. It multiplies
    complex ``z`` by the real ratio, which is faster than broadcasting over (re, im).
    """

    @staticmethod
    def forward(ctx, z: Tensor) -> Tensor:
        r = _abs(z)
        ctx.save_for_backward(z, r)
        return r

    @staticmethod
    def backward(ctx, g: Tensor) -> Tensor:
        z, r = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: keep 0/0 out of the graph
            pos = r > 0
            q = torch.where(pos, g / torch.where(pos, r, 1.0), 0.0)
        else:  # g / (|z| + eps): 0 where z = 0, exact wherever |z| > 1e-20 (float32)
            q = g / (r + _eps(r.dtype))
        return z * q  # complex times real: cheaper than broadcasting over (re, im)


def modulus(z: Tensor) -> Tensor:
    """Complex modulus |z| (the vertical bars of Eq. 1), differentiable everywhere."""
    return _Modulus.apply(z)


class _RFFT(torch.autograd.Function):
    """``torch.fft.rfft`` along the last axis, with a backward of half the cost.

    For real ``x`` of length N the adjoint of the real FFT is
    ``dx[n] = Re sum_k g[k] exp(+2 pi i k n / N)`` over the N/2 + 1 kept bins. That
    is one inverse *real* FFT of ``g`` with the interior bins halved (they stand for
    a bin and its mirror) and the result scaled by N. torch's own backward pads ``g``
    to a full complex FFT of N points instead, more than twice the arithmetic.
    The backward is made of differentiable ops, so double backward works.
    """

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.n = x.shape[-1]
        return torch.fft.rfft(x)

    @staticmethod
    def backward(ctx, g: Tensor) -> Tensor:
        n = ctx.n
        w = torch.full((g.shape[-1],), n / 2, dtype=g.real.dtype, device=g.device)
        w[0] = n
        if n % 2 == 0:
            w[-1] = n  # the Nyquist bin has no mirror
        return torch.fft.irfft(g * w, n=n)


def rfft(x: Tensor) -> Tensor:
    """Real FFT along the last axis (``torch.fft.rfft``) with a cheaper backward on CPU.

    On CUDA the FFT itself is cheap and every extra kernel launch costs more than
    it saves, so torch's own backward is used there.
    """
    if x.requires_grad and not x.is_cuda:
        return _RFFT.apply(x)
    return torch.fft.rfft(x)


#: target number of entries of the (B, R, chunk) modulus per chunk in the fused kernel (CPU)
CHUNK_ENTRIES = 2**18

#: how a frequential matrix acts on stacked planes [Re Y; Im Y] (see _ScatterModulusAverage)
MODES = ("stacked", "real", "pair")


def _z_planes(M: Tensor, Yc: Tensor, mode: str, R: int):
    """(Re Z, Im Z) of ``Z = A @ Y`` for one chunk ``Yc`` (B, 2m, c): one pair, or two for "pair".

    "stacked": ``M`` = [[Re A, -Im A], [Im A, Re A]] (2R, 2m), one GEMM.
    "real":    ``M`` = A (R, m) real, applied to both planes side by side: half the multiplies.
    "pair":    ``M`` = [Re A; Im A] (2R, m) gives the spin-up ``A`` and the spin-down
    ``conj(A)`` from the same four real products (Re A Re Y, Im A Im Y, Re A Im Y,
    Im A Re Y): both spins for the multiplies of one.

    Returns ``(planes, base)``: for "stacked" and "real" the planes are views of the
    GEMM output ``base``, in the layout that :func:`_planes_grad` expects back.
    """
    if mode == "stacked":
        Z = torch.matmul(M, Yc)
        return [(Z[:, :R], Z[:, R:])], Z
    m, c = Yc.shape[1] // 2, Yc.shape[2]
    P = torch.matmul(M, torch.cat([Yc[:, :m], Yc[:, m:]], dim=-1))  # M [Re Y | Im Y]
    if mode == "real":
        return [(P[..., :c], P[..., c:])], P
    ar_yr, ai_yr, ar_yi, ai_yi = P[:, :R, :c], P[:, R:, :c], P[:, :R, c:], P[:, R:, c:]
    return [(ar_yr - ai_yi, ai_yr + ar_yi), (ar_yr + ai_yi, ar_yi - ai_yr)], None


def _planes_grad(
    MT: Tensor, ab: list[tuple[Tensor, Tensor]], base, mode: str, R: int, out: Tensor
) -> None:
    """Write the chunk of dL/dY (B, 2m, c) from dL/dZ's planes ``ab`` into ``out``
    (the adjoint of :func:`_z_planes`)."""
    if mode == "stacked":
        out.copy_(torch.matmul(MT, base))  # base is [a; b] after the in-place scaling
        return
    if mode == "real":
        D = base  # [a | b]
    else:
        # adjoint of the pair: Re A^T (a_up + a_dn) + Im A^T (b_up - b_dn) for Re Y, and
        # Re A^T (b_up + b_dn) + Im A^T (a_dn - a_up) for Im Y
        (a_up, b_up), (a_dn, b_dn) = ab
        B, _, c = a_up.shape
        D = a_up.new_empty((B, 2 * R, 2 * c))
        torch.add(a_up, a_dn, out=D[:, :R, :c])
        torch.sub(b_up, b_dn, out=D[:, R:, :c])
        torch.add(b_up, b_dn, out=D[:, :R, c:])
        torch.sub(a_dn, a_up, out=D[:, R:, c:])
    G = torch.matmul(MT, D)  # (B, m, 2c) = [dRe Y | dIm Y]
    m, c = G.shape[1], G.shape[-1] // 2
    out[:, :m] = G[..., :c]
    out[:, m:] = G[..., c:]


def _stacked_matrices(M: Tensor, mode: str, R: int) -> list[Tensor]:
    """The [[Re A, -Im A], [Im A, Re A]] matrix of each output of a mode (for autograd)."""
    if mode == "stacked":
        return [M]
    if mode == "real":
        O = torch.zeros_like(M)
        return [torch.cat([torch.cat([M, O], 1), torch.cat([O, M], 1)], 0)]
    ar, ai = M[:R], M[R:]
    up = torch.cat([torch.cat([ar, -ai], 1), torch.cat([ai, ar], 1)], 0)
    down = torch.cat([torch.cat([ar, ai], 1), torch.cat([-ai, ar], 1)], 0)
    return [up, down]


class _ScatterModulusAverage(torch.autograd.Function):
    """``S = |A @ Y| @ PhiT^T``: frequential wavelet, modulus and time averaging, fused.

    Complex numbers travel as stacked real and imaginary planes so that every
    step is a real GEMM or a contiguous elementwise op: ``Y`` is (B, 2m, L) =
    [Re Y; Im Y], ``A`` (R, m) is the frequential wavelet along n1 as a matrix,
    given as ``M`` in one of :data:`MODES` (see :func:`_z_planes`), and ``PhiT``
    (frames, L) averages in time. The output is (B, R, frames), or (B, 2R, frames)
    = [spin up; spin down] for "pair".

    The (B, R, L) intermediate is the largest tensor of a path; we never keep it:
    forward and backward run over chunks of L, and the backward recomputes
    ``A @ Y`` chunk by chunk. Only ``Y`` is saved, so the full transform's memory
    stays small and the work stays in cache. The modulus gradient is ``z/|z|``,
    computed as ``z / (|z| + eps)`` with ``eps = tiny**0.75`` (about 4e-29 in float32): 0
    where ``|z| = 0``, exact to float precision wherever ``|z| > 1e-20``.
    """

    @staticmethod
    def forward(ctx, Y: Tensor, M: Tensor, PhiT: Tensor, mode: str) -> Tensor:
        B, _, L = Y.shape
        R = M.shape[0] // 2 if mode != "real" else M.shape[0]
        n_out = 2 if mode == "pair" else 1
        # chunks keep the CPU's work in cache; a GPU prefers one big kernel
        step = L if Y.is_cuda else max(64, CHUNK_ENTRIES // max(1, B * R * n_out))
        S = Y.new_zeros((B, n_out * R, PhiT.shape[0]))
        for c in range(0, L, step):
            w = min(step, L - c)
            r = Y.new_empty((B, n_out * R, w))
            for k, (re, im) in enumerate(_z_planes(M, Y[..., c : c + w], mode, R)[0]):
                torch.hypot(re, im, out=r[:, k * R : (k + 1) * R])
            S.baddbmm_(r, PhiT[:, c : c + w].T.expand(B, -1, -1))
        ctx.save_for_backward(Y, M, PhiT)
        ctx.step, ctx.mode, ctx.R = step, mode, R
        return S

    @staticmethod
    def backward(ctx, dS: Tensor):
        Y, M, PhiT = ctx.saved_tensors
        mode, R, step = ctx.mode, ctx.R, ctx.step
        if torch.is_grad_enabled():  # create_graph=True: a Hessian-vector product (theta-IS)
            dY = sum(
                _ScatterModulusAverage._differentiable_backward(
                    Y, A, PhiT, dS[:, k * R : (k + 1) * R]
                )
                for k, A in enumerate(_stacked_matrices(M, mode, R))
            )
            return dY, None, None, None
        B = Y.shape[0]
        eps = _eps(Y.dtype)
        MT = M.T
        dY = torch.empty_like(Y)
        for c in range(0, Y.shape[-1], step):
            w = min(step, Y.shape[-1] - c)
            planes, base = _z_planes(M, Y[..., c : c + w], mode, R)
            G = torch.bmm(dS, PhiT[:, c : c + w].expand(B, -1, -1))  # dL/d|Z|
            ab = []
            for k, (re, im) in enumerate(planes):
                q = G[:, k * R : (k + 1) * R].div_(torch.hypot(re, im).add_(eps))
                ab.append((re.mul_(q), im.mul_(q)))  # (Re, Im) of dL/dZ
            _planes_grad(MT, ab, base, mode, R, out=dY[..., c : c + w])
        return dY, None, None, None

    @staticmethod
    def _differentiable_backward(Y: Tensor, A: Tensor, PhiT: Tensor, dS: Tensor) -> Tensor:
        """The same gradient for one stacked matrix ``A``, written out of place so autograd
        can differentiate it again.

        Uses |z| = sqrt(re^2 + im^2 + sqrt(tiny)) (tiny = smallest normal float), whose
        derivatives are finite at z = 0; the value differs from |z| by < tiny**0.25 (3.3e-10
        in float32). With ``+ tiny`` the second derivative's 1 / r^3 (about 1e57 at z = 0)
        overflowed float32 under the large upstream gradients of rho = log1p (Table 12), and
        the theta-IS products were NaN.
        """
        R = A.shape[0] // 2
        Z = torch.matmul(A, Y)
        re, im = Z[:, :R], Z[:, R:]
        r = torch.sqrt(re * re + im * im + torch.finfo(Z.dtype).tiny ** 0.5)
        q = torch.matmul(dS, PhiT) / r
        return torch.matmul(A.T, torch.cat([re * q, im * q], dim=1))


def scatter_modulus_average(Y: Tensor, M: Tensor, PhiT: Tensor, mode: str = "stacked") -> Tensor:
    """``|A @ Y| @ PhiT^T`` on stacked real planes (see :class:`_ScatterModulusAverage`)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return _ScatterModulusAverage.apply(Y, M, PhiT, mode)


def stack_complex(Z: Tensor, dim: int) -> Tensor:
    """[Re Z; Im Z] along ``dim``: complex data as real planes for real GEMMs."""
    return torch.cat([Z.real, Z.imag], dim=dim)


def complex_as_real_matrix(A: np.ndarray) -> np.ndarray:
    """The real (2R, 2m) matrix [[Re A, -Im A], [Im A, Re A]] acting on stacked planes."""
    return np.block([[A.real, -A.imag], [A.imag, A.real]])


def fold(X: Tensor, k: int) -> Tensor:
    """Fourier-domain subsampling by ``k``: mean of the ``k`` periods (= DFT of x[::k])."""
    if k == 1:
        return X
    return X.reshape(*X.shape[:-1], k, X.shape[-1] // k).mean(dim=-2)


def band_window(h_f: np.ndarray, K: int) -> tuple[np.ndarray, float]:
    """Gather indices such that ``fold_K(X * h)[i] ~= X[idx[i]] * h[idx[i]] / K``.

    ``h_f`` (length M) is assumed to live in one window of ``L = M/K`` consecutive
    (circular) bins. We choose the window holding the most L1 mass and return
    the indices in output order together with the relative mass left outside,
    which bounds the relative error of the approximation.
    """
    M = h_f.shape[0]
    L = M // K
    a = np.abs(h_f)
    total = a.sum()
    if K == 1:
        return np.arange(M), 0.0
    c = np.concatenate([[0.0], np.cumsum(np.concatenate([a, a[: L - 1]]))])
    mass = c[L : L + M] - c[:M]  # mass of window starting at s, for s in 0..M-1
    s = int(np.argmax(mass))
    outside = max(total - mass[s], 0.0) / total
    i = np.arange(L)
    idx = (s + (i - s) % L) % M
    return idx, float(outside)


def hermitian_gather_plan(idx: np.ndarray, L: int, weight: np.ndarray):
    """Read ``U[idx] * weight`` of a real signal's spectrum from its ``rfft`` (length L//2+1).

    ``U[k] = conj(R[L - k])`` for ``k > L/2``: returns the indices into ``R`` and a
    weight on the real view ``(re, im)`` that applies both the conjugation and ``weight``.
    """
    half = L // 2
    ridx = np.where(idx <= half, idx, L - idx)
    sign = np.where(idx <= half, 1.0, -1.0)
    return ridx, np.stack([weight, weight * sign], axis=-1)


class _Gather(torch.autograd.Function):
    """``R[..., idx]`` along the last axis, with a scatter-add backward.

    Autograd's default backward for advanced indexing sorts the indices to
    accumulate duplicates deterministically; ``index_add_`` skips the sort (faster on
    GPU) and the window indices have few duplicates.
    """

    @staticmethod
    def forward(ctx, R: Tensor, idx: Tensor) -> Tensor:
        ctx.save_for_backward(idx)
        ctx.n = R.shape[-1]
        return R[..., idx]

    @staticmethod
    def backward(ctx, g: Tensor):
        (idx,) = ctx.saved_tensors
        flat = g.reshape(*g.shape[: g.ndim - idx.ndim], -1)
        out = flat.new_zeros((*flat.shape[:-1], ctx.n))
        if torch.is_grad_enabled():  # differentiable again (double backward)
            return out.index_add(-1, idx.reshape(-1), flat), None
        return out.index_add_(-1, idx.reshape(-1), flat), None


def gather(R: Tensor, idx: Tensor) -> Tensor:
    """``R[..., idx]`` (last axis), differentiable with a fast scatter-add backward."""
    if not R.requires_grad:
        return R[..., idx]
    return _Gather.apply(R, idx)


def hermitian_gather(R: Tensor, ridx: Tensor, w2: Tensor) -> Tensor:
    """``U[..., idx] * weight`` from ``R = rfft(u)`` and a plan of :func:`hermitian_gather_plan`."""
    return torch.view_as_complex(torch.view_as_real(gather(R, ridx)) * w2)


def hermitian_full(R: Tensor, L: int) -> Tensor:
    """The full spectrum ``fft(u)`` (length L, even) from ``rfft(u)``."""
    return torch.cat([R, R[..., 1 : L // 2].flip(-1).conj()], dim=-1)


def averaging_matrix(h_f: np.ndarray, K: int, rows: tuple[int, int] | None = None) -> np.ndarray:
    """Matrix of ``u -> Re IFFT(fold_K(FFT(u) * h))`` restricted to output ``rows``.

    Equals circular convolution with ``h = IFFT(h_f)`` followed by decimation by
    ``K``: ``A[n, t] = h[(n K - t) mod L]``.
    """
    L = h_f.shape[0]
    h = np.real(np.fft.ifft(h_f))
    n0, n1 = rows if rows is not None else (0, L // K)
    n = np.arange(n0, n1)[:, None]
    t = np.arange(L)[None, :]
    return h[(n * K - t) % L]


def frequential_matrix(psi_fr: np.ndarray, m: int, K: int) -> np.ndarray:
    """Matrix of ``y (m,) -> IFFT(fold_K(FFT(zero_pad(y, N_fr)) * psi_fr))`` (complex).

    Zero padding goes after the last n1 (the low-frequency side), as in the reference.
    """
    N_fr = psi_fr.shape[0]
    k = np.arange(N_fr)[:, None]
    n = np.arange(m)[None, :]
    dft = np.exp(-2j * np.pi * k * n / N_fr)
    V = (psi_fr[:, None] * dft).reshape(K, N_fr // K, m).mean(axis=0)
    return np.fft.ifft(V, axis=0)


# --------------------------------------------------------------------------
# first order: band-limited wavelet modulus, fused and split into phases
# --------------------------------------------------------------------------


def polyphase_plan(idx: np.ndarray, h: np.ndarray, N: int, L1: int, P: int):
    """Plan of ``|IFFT_L1(fold(X h))|`` from a window of ``L1/P`` bins and ``P`` phases.

    ``idx`` are the full-spectrum bins (length ``L1/P``, in folded order) that hold
    ``h``; output sample ``t = P m + p`` is ``IFFT_{L1/P}(X[idx] W[p])[m]`` with
    ``W[p] = h[idx] exp(2 pi i idx p / L1) / (N/L1 * P)``: a decimation in time, exact
    because the band fits in ``L1/P`` bins. Bins above N/2 are read from the ``rfft``
    as conjugates of their mirror. Returns ``(ridx, sign, W)`` with ``sign = -1``
    where the conjugate is taken and ``W`` of shape (P, L1/P), complex.
    """
    ridx, w = hermitian_gather_plan(idx, N, np.ones(len(idx)))
    sign = w[:, 1]
    p = np.arange(P)[:, None]
    W = h[idx][None, :] * np.exp(2j * np.pi * p * idx[None, :] / L1) / (N // L1 * P)
    return ridx, sign, W


def _band_modulus_composed(Xr: Tensor, ridx: Tensor, sign: Tensor, W: Tensor) -> Tensor:
    """The same map as :class:`_BandModulus` from differentiable torch ops (double backward)."""
    B, (g, P, Lp) = Xr.shape[0], W.shape
    v = torch.view_as_real(gather(Xr, ridx))
    Xg = torch.view_as_complex(torch.stack([v[..., 0], v[..., 1] * sign], dim=-1))
    r = modulus(torch.fft.ifft(Xg[:, :, None, :] * W))
    return r.transpose(-1, -2).reshape(B, g, P * Lp)


class _BandModulus(torch.autograd.Function):
    """First-order modulus ``U1 = |x * psi1|`` at rate ``N/2^k1`` for a group of filters.

    Input: ``Xr`` = rfft of the padded signal (B, N/2+1) and a plan from
    :func:`polyphase_plan` per filter, stacked: ``ridx``/``sign`` (g, L') and ``W``
    (g, P, L'). Output (B, g, P L'). One kernel chain, few temporaries: gather the
    band, weight it into P phases, P inverse FFTs of L' points (short FFTs cost less per
    point than one long one), modulus, interleave the phases.
    The backward is written by hand (the adjoint of each step, in place where the
    tensor is ours); under ``create_graph`` it differentiates the composed ops instead.
    """

    @staticmethod
    def _forward(Xr: Tensor, ridx: Tensor, sign: Tensor, W: Tensor):
        B, (g, P, Lp) = Xr.shape[0], W.shape
        Xg = Xr[..., ridx]  # (B, g, L')
        torch.view_as_real(Xg)[..., 1].mul_(sign)  # conjugate the mirrored bins
        Z = torch.fft.ifft(Xg[:, :, None, :] * W)  # (B, g, P, L')
        v = torch.view_as_real(Z)
        U = Z.real.new_empty((B, g, Lp * P))  # time order: sample P m + p = phase p, m
        r = U.view(B, g, Lp, P).transpose(-1, -2)
        torch.hypot(v[..., 0], v[..., 1], out=r)
        return Z, U

    @staticmethod
    def forward(ctx, Xr: Tensor, ridx: Tensor, sign: Tensor, W: Tensor) -> Tensor:
        Z, U = _BandModulus._forward(Xr, ridx, sign, W)
        ctx.save_for_backward(Xr, ridx, sign, W, Z, U)
        return U

    @staticmethod
    def backward(ctx, gU: Tensor):
        Xr, ridx, sign, W, Z, U = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph=True: differentiate the composed ops
            with torch.enable_grad():
                U = _band_modulus_composed(Xr, ridx, sign, W)
                (dX,) = torch.autograd.grad(U, Xr, gU, create_graph=True)
            return dX, None, None, None
        B, (g, P, Lp) = Xr.shape[0], W.shape
        r = U.view(B, g, Lp, P).transpose(-1, -2)  # |Z|, phase-major like Z
        q = r + _eps(r.dtype)  # d|z|: g z / |z|, 0 where z = 0
        q = q.reciprocal_().mul_(gU.reshape(B, g, Lp, P).transpose(-1, -2))
        dZ = torch.empty_like(Z)  # Z * q, written plane by plane (no complex copy of q)
        v, dv = torch.view_as_real(Z), torch.view_as_real(dZ)
        torch.mul(v[..., 0], q, out=dv[..., 0])
        torch.mul(v[..., 1], q, out=dv[..., 1])
        dY = torch.fft.fft(dZ, norm="forward")  # adjoint of ifft: fft / L'
        Wc = W.conj().resolve_conj()
        dXg = dY.mul_(Wc)[:, :, 0] if P == 1 else dY.mul_(Wc).sum(dim=2)
        torch.view_as_real(dXg)[..., 1].mul_(sign)
        dX = Xr.new_zeros(Xr.shape).index_add_(-1, ridx.reshape(-1), dXg.reshape(B, -1))
        return dX, None, None, None


def band_modulus(Xr: Tensor, ridx: Tensor, sign: Tensor, W: Tensor) -> Tensor:
    """``|x * psi1|`` for a group of filters from ``rfft(x)`` (see :class:`_BandModulus`)."""
    if not Xr.requires_grad:
        with torch.no_grad():
            return _BandModulus._forward(Xr, ridx, sign, W)[1]
    return _BandModulus.apply(Xr, ridx, sign, W)
