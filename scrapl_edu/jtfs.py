"""Joint time-frequency scattering (JTFS), full and one path at a time.

This is a from-scratch implementation of the JTFS the paper uses (Section 4.1,
Eq. 1): kymatio's ``TimeFrequencyScattering`` in its ``"joint"`` format. For a
signal ``x`` and a SCRAPL path ``p = (n2, n_fr)``:

1. first order (the scalogram before averaging), for each n1 with j1 < j2::

       U1[n1] = | x * psi1[n1] |                       (subsampled by 2**k1)

2. second order in time::

       Y2[n1] = U1[n1] * psi2[n2]                      (complex, subsampled to 2**j2)

3. frequential scattering along the log-frequency axis n1 (zero-padded to N_fr)::

       Z = Y2 *_n1 psi_fr[n_fr]                        (subsampled by 2**k_fr)

4. modulus, then averaging in time by phi_T and, when spin != 0, along n1 by phi_F::

       phi_p(x) = | Z | * phi_T (* phi_F)               Eq. (1): rho(|Wx| * Psi_p * Psi_0)

Every linear step is exactly the reference's pad -> FFT -> multiply -> fold ->
IFFT chain; we only reorganise it so that one path costs one path:

- only the n1 that the path uses are computed (j1 < j2), grouped by subsampling;
- a filtered-and-subsampled spectrum ``fold_K(X * psi)`` only needs the window of
  ``M/K`` bins where psi lives, so we gather that window instead of multiplying
  all ``M`` bins (the dropped tail is checked to be negligible, else we fold exactly);
- the first-order band fits in a quarter of that window, so each inverse FFT is
  split into up to 4 phases of a quarter of the length (decimation in time), fused with
  the gather and the modulus in one autograd op (:func:`scrapl_edu.ops.band_modulus`);
- frequential scattering, time averaging and frequency averaging are small
  precomputed matrices (a GEMM instead of pad -> FFT -> fold -> IFFT); rows of a
  spinned frequential matrix that hold only its tails (<= 1e-12 of its mass) are
  skipped, and ``jtfs(x)`` computes each spin-down path with its spin-up twin
  (``A_down = conj(A_up)``: the same four real products serve both).

The result equals kymatio 0.4.0.dev0 path by path (see tests/test_reference_jtfs.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import Tensor, nn

from scrapl_edu.filters import (
    SIGMA0,
    FilterSpec,
    filterbank_params,
    frequential_length,
    gauss_1d,
    max_dyadic_subsampling,
    morlet_1d,
    periodize,
    time_padding,
)
from scrapl_edu.ops import (
    averaging_matrix,
    band_modulus,
    band_window,
    complex_as_real_matrix,
    fold,
    frequential_matrix,
    hermitian_full,
    hermitian_gather,
    hermitian_gather_plan,
    modulus,
    polyphase_plan,
    rfft,
    scatter_modulus_average,
    stack_complex,
)

#: relative L1 mass of a filter allowed outside its gathered window
WINDOW_TOL = 1e-7

#: relative L1 mass of a frequential matrix allowed in the rows we skip (float64-exact)
ROWS_TOL = 1e-12


@dataclass(frozen=True)
class PathInfo:
    """One SCRAPL path: a second-order JTFS coefficient ``(n2, n_fr)``.

    ``index = (n2 - n2_first) * (2K + 1) + n_fr`` (the order of scrapl-loss's
    ``path_idx``). ``rate_hz`` is the temporal modulation rate of psi2 (None if
    no sample rate was given), ``scale_cpo`` the frequential modulation scale in
    cycles per octave, signed by the spin (+1 up, -1 down, 0 for the low-pass).
    """

    index: int
    n2: int
    n_fr: int
    j2: int
    j_fr: int
    spin: int
    n1_used: tuple[int, ...]
    xi2: float
    sigma2: float
    xi_fr: float
    sigma_fr: float
    rate_hz: float | None
    scale_cpo: float
    shape: tuple[int, int]

    @property
    def rate_cycles_per_sample(self) -> float:
        """Temporal modulation rate in cycles per sample."""
        return self.xi2


# --------------------------------------------------------------------------
# the transform
# --------------------------------------------------------------------------


def _as_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _as_pow2_scale(name: str, value: object, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, str):
        raise ValueError(
            f"{name}={value!r} is not supported: give an int number of samples (a power of 2 "
            f"is typical); None means the default {default}"
        )
    return _as_int(name, value, 1)


class JTFS(nn.Module):
    """Joint time-frequency scattering with SCRAPL's path set (Section 4.1).

    Parameters follow kymatio's ``TimeFrequencyScattering``: ``shape`` signal
    length N; ``J`` octaves and ``Q1``/``Q2`` wavelets per octave at the first and
    second order; ``J_fr``/``Q_fr`` for the frequential wavelets; ``T`` (default
    ``2**J``) and ``F`` (default ``2**J_fr``) the widths of the time and frequency
    averaging; ``sr`` the sample rate (only used to report rates in Hz).

    ``jtfs.paths`` lists the SCRAPL paths (second-order ``(n2, n_fr)``
    coefficients); ``jtfs.path(x, i)`` computes one of them at the cost of one
    path, ``jtfs(x)`` all of them (sharing the first and second orders), and
    ``jtfs.scalogram(x)`` the averaged first order.

    ``full_rate`` computes the first order with one batched full-length IFFT and
    decimates afterwards (same numbers; default: on CUDA only, where kernel launches
    cost more than arithmetic).
    Set ``exact=True`` to fold every spectrum in full (no band windows): slower,
    identical to float precision; used to check the fast path.
    """

    def __init__(
        self,
        shape: int,
        J: int,
        Q1: int = 8,
        Q2: int = 2,
        J_fr: int = 3,
        Q_fr: int = 2,
        T: int | None = None,
        F: int | None = None,
        sr: float | None = None,
        exact: bool = False,
        full_rate: bool | None = None,
    ) -> None:
        super().__init__()
        N = _as_int("shape", shape, 16)
        J = _as_int("J", J, 1)
        Q1 = _as_int("Q1", Q1, 1)
        Q2 = _as_int("Q2", Q2, 1)
        J_fr = _as_int("J_fr", J_fr, 1)
        Q_fr = _as_int("Q_fr", Q_fr, 1)
        T = _as_pow2_scale("T", T, 2**J)
        F = _as_pow2_scale("F", F, 2**J_fr)
        if 2**J > N:
            raise ValueError(
                f"signal length {N} is shorter than the largest wavelet scale 2**J={2**J} "
                f"(J={J}); use a longer signal or J <= {int(math.log2(N))}"
            )
        if T > N:
            raise ValueError(
                f"T={T} is longer than the signal (shape={N}); use T <= {N} "
                f"(e.g. T={2 ** int(math.log2(N))})"
            )
        if F > 2**J_fr:
            raise ValueError(
                f"F={F} must be <= 2**J_fr={2**J_fr} (the reference crashes there); "
                f"use F <= {2**J_fr} or a larger J_fr"
            )
        if sr is not None and not (isinstance(sr, (int, float)) and sr > 0):
            raise ValueError(f"sr must be a positive number of samples per second, got {sr!r}")
        self.N, self.J, self.Q1, self.Q2 = N, J, Q1, Q2
        self.J_fr, self.Q_fr, self.T, self.F = J_fr, Q_fr, T, F
        self.sr = None if sr is None else float(sr)
        self.exact = bool(exact)
        self.full_rate = full_rate
        self.log2_T = int(math.floor(math.log2(T)))
        self.log2_F = int(math.floor(math.log2(F)))

        # -- time axis: padding, wavelets, low-pass (float64) --
        self.padding = time_padding(N, T)
        self.N_pad = self.padding.N_pad
        self.psi1_specs: list[FilterSpec] = filterbank_params(J, Q1)
        self.psi2_specs: list[FilterSpec] = filterbank_params(J, Q2)
        self.phi_spec = FilterSpec(0.0, SIGMA0 / T, self.log2_T)

        # -- frequency axis --
        self.N_fr = frequential_length(J, Q1, J_fr, F)
        psi_fr = filterbank_params(J_fr, Q_fr)
        self.K_fr = len(psi_fr)
        phi1 = FilterSpec(0.0, SIGMA0 / 2**J_fr, max_dyadic_subsampling(0.0, SIGMA0 / 2**J_fr))
        self.psi_fr_specs: list[FilterSpec] = (
            [phi1] + psi_fr + [FilterSpec(-f.xi, f.sigma, f.j) for f in psi_fr]
        )
        self.spins = [0] + [1] * self.K_fr + [-1] * self.K_fr
        self.phi_F_spec = FilterSpec(0.0, SIGMA0 / F, self.log2_F)

        # -- SCRAPL paths: (n2, n_fr) with at least one n1 such that j1 < j2 --
        j1s = [f.j for f in self.psi1_specs]
        self._n2_m: dict[int, int] = {}
        for n2, f2 in enumerate(self.psi2_specs):
            m = sum(1 for j1 in j1s if j1 < f2.j)
            if m:
                self._n2_m[n2] = m
        if not self._n2_m:
            raise ValueError(f"J={J}, Q1={Q1}, Q2={Q2} give no second-order path (j2 > j1 never)")
        max_j2 = max(self.psi2_specs[n2].j for n2 in self._n2_m)
        if self.log2_T < max_j2:
            raise ValueError(
                f"T={T} is too small: second-order wavelets reach j2={max_j2} but log2(T)="
                f"{self.log2_T}; the reference crashes there. Use T >= {2**max_j2}"
            )
        max_m = max(self._n2_m.values())
        if max_m > self.N_fr:
            raise ValueError(
                f"{max_m} first-order filters exceed the frequential length N_fr={self.N_fr}"
            )
        self.n2_first = min(self._n2_m)
        self.frames = self._frames()
        paths = []
        n_fr_total = len(self.psi_fr_specs)
        rows = self.N_fr // 2**self.log2_F
        for n2 in sorted(self._n2_m):
            f2 = self.psi2_specs[n2]
            for n_fr, ffr in enumerate(self.psi_fr_specs):
                spin = self.spins[n_fr]
                paths.append(
                    PathInfo(
                        index=len(paths),
                        n2=n2,
                        n_fr=n_fr,
                        j2=f2.j,
                        j_fr=ffr.j,
                        spin=spin,
                        n1_used=tuple(range(self._n2_m[n2])),
                        xi2=f2.xi,
                        sigma2=f2.sigma,
                        xi_fr=ffr.xi,
                        sigma_fr=ffr.sigma,
                        rate_hz=None if self.sr is None else f2.xi * self.sr,
                        scale_cpo=abs(ffr.xi) * Q1 * spin,
                        shape=(rows, self.frames),
                    )
                )
                assert paths[-1].index == (n2 - self.n2_first) * n_fr_total + n_fr
        self.paths: tuple[PathInfo, ...] = tuple(paths)
        self._tensor_cache: dict[tuple, Tensor] = {}
        self._plans: dict[tuple, object] = {}

    # ------------------------------------------------------------------ sizes

    @property
    def n_paths(self) -> int:
        """Number of SCRAPL paths P."""
        return len(self.paths)

    def _frames(self) -> int:
        s, e = self.padding.unpad_range(self.log2_T)
        return e - s

    def filter_table(self, which: str) -> dict[str, np.ndarray]:
        """Spectral parameters of a filterbank: ``"psi1"``, ``"psi2"`` or ``"psi_fr"``."""
        specs = {"psi1": self.psi1_specs, "psi2": self.psi2_specs, "psi_fr": self.psi_fr_specs}
        if which not in specs:
            raise ValueError(f"which must be one of {sorted(specs)}, got {which!r}")
        out = {
            "xi": np.array([f.xi for f in specs[which]]),
            "sigma": np.array([f.sigma for f in specs[which]]),
            "j": np.array([f.j for f in specs[which]]),
        }
        if which == "psi_fr":
            out["spin"] = np.array(self.spins)
        return out

    #: the filterbanks :meth:`filters` returns, and the length of their Fourier grid
    FILTER_KINDS = ("psi1", "psi2", "psi_fr", "phi", "phi_fr")

    def filters(self, kind: str) -> np.ndarray:
        """Fourier-domain filters at full resolution (level 0), one row per filter (float64).

        ``kind``: ``"psi1"`` / ``"psi2"`` (first/second-order wavelets ψ̂, length ``N_pad``),
        ``"phi"`` (the time low-pass φ̂_T, 1 row of ``N_pad``), ``"psi_fr"`` (frequential
        filters in path order n_fr: the low-pass, then spin up, then spin down; length
        ``N_fr``) or ``"phi_fr"`` (the frequency low-pass φ̂_F, 1 row of ``N_fr``).
        Returns a new array of shape (n_filters, length).
        """
        banks = {
            "psi1": lambda: self._psi1_f,
            "psi2": lambda: self._psi2_f,
            "psi_fr": lambda: self._psi_fr_f,
            "phi": lambda: [self._phi_f],
            "phi_fr": lambda: [self._phi_F_f],
        }
        if kind not in banks:
            raise ValueError(f"kind must be one of {list(self.FILTER_KINDS)}, got {kind!r}")
        return np.stack(banks[kind]())

    def extra_repr(self) -> str:
        return (
            f"shape={self.N}, J={self.J}, Q1={self.Q1}, Q2={self.Q2}, J_fr={self.J_fr}, "
            f"Q_fr={self.Q_fr}, T={self.T}, F={self.F}, n_paths={self.n_paths}"
        )

    # ------------------------------------------------------- filters (float64)

    @cached_property
    def _psi1_f(self) -> list[np.ndarray]:
        return [morlet_1d(self.N_pad, f.xi, f.sigma) for f in self.psi1_specs]

    @cached_property
    def _psi2_f(self) -> list[np.ndarray]:
        return [morlet_1d(self.N_pad, f.xi, f.sigma) for f in self.psi2_specs]

    @cached_property
    def _phi_f(self) -> np.ndarray:
        return gauss_1d(self.N_pad, self.phi_spec.sigma)

    @cached_property
    def _psi_fr_f(self) -> list[np.ndarray]:
        out = []
        for f in self.psi_fr_specs:
            if f.xi == 0.0:
                out.append(gauss_1d(self.N_fr, f.sigma))
            else:
                out.append(morlet_1d(self.N_fr, f.xi, f.sigma))
        return out

    @cached_property
    def _phi_F_f(self) -> np.ndarray:
        return gauss_1d(self.N_fr, self.phi_F_spec.sigma)

    def _k1(self, n1: int) -> int:
        return min(self.psi1_specs[n1].j, self.log2_T)

    def _k_fr(self, n_fr: int) -> int:
        return min(self.psi_fr_specs[n_fr].j, self.log2_F)

    # -------------------------------------------- cached operator tensors

    def _cached(self, key: tuple, build, dtype: torch.dtype, device: torch.device) -> Tensor:
        full = (*key, dtype, str(device))
        t = self._tensor_cache.get(full)
        if t is None:
            t = torch.as_tensor(build(), device=device)
            t = t.to(dtype)
            self._tensor_cache[full] = t
        return t

    def _plan(self, key: tuple, build):
        """Memoised numpy plan (window indices and weights), built once per key."""
        if key not in self._plans:
            self._plans[key] = build()
        return self._plans[key]

    def _first_order_window(self, k1: int, n1s: tuple[int, ...]):
        return self._plan(("psi1", k1, n1s), lambda: self._build_first_order_window(k1, n1s))

    def _second_order_window(self, n2: int, k1: int):
        return self._plan(("psi2", n2, k1), lambda: self._build_second_order_window(n2, k1))

    def _build_first_order_window(self, k1: int, n1s: tuple[int, ...]):
        """Polyphase plan (ridx, sign (g, L'), W (g, P, L')) of the group's first order, or None.

        ``P`` phases of ``L' = N_pad / 2^k1 / P`` bins: the largest P in (4, 2, 1) for which
        every filter's band fits in L' bins (mass outside <= WINDOW_TOL) and ``L' >= 8``
        (shorter IFFTs cost more in calls than they save); None folds the full spectrum.
        """
        if self.exact:
            return None
        K = 2**k1
        L1 = self.N_pad // K
        for P in (4, 2, 1):
            if L1 // P < 8:
                continue
            plans = []
            for n1 in n1s:
                h = self._psi1_f[n1]
                i, outside = band_window(h, K * P)
                if outside > WINDOW_TOL:
                    break
                plans.append(polyphase_plan(i, h, self.N_pad, L1, P))
            else:
                return tuple(np.stack(a) for a in zip(*plans))
        return None

    def _build_second_order_window(self, n2: int, k1: int):
        """rfft gather plan of fold_{2^(j2-k1)}(U1hat psi2.level[k1]), or None."""
        if self.exact:
            return None
        K = 2 ** (self.psi2_specs[n2].j - k1)
        h = periodize(self._psi2_f[n2], k1)
        i, outside = band_window(h, K)
        if outside > WINDOW_TOL:
            return None
        return hermitian_gather_plan(i, h.shape[0], h[i] / K)

    def _groups(self, m: int) -> list[tuple[int, tuple[int, ...]]]:
        """The first m n1 grouped by their subsampling k1 (groups are contiguous in n1)."""
        groups: dict[int, list[int]] = {}
        for n1 in range(m):
            groups.setdefault(self._k1(n1), []).append(n1)
        return [(k1, tuple(n1s)) for k1, n1s in sorted(groups.items())]

    # ------------------------------------------------------------ input checks

    def _prepare(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if x.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"x must be float32 or float64, got {x.dtype}; convert with x.float()")
        if x.ndim == 3:
            if x.shape[1] != 1:
                raise ValueError(
                    f"x must be (B, N) or (B, 1, N); got shape {tuple(x.shape)} with "
                    f"{x.shape[1]} channels"
                )
            x = x[:, 0]
        elif x.ndim != 2:
            raise ValueError(f"x must be (B, N) or (B, 1, N); got shape {tuple(x.shape)}")
        if x.shape[-1] != self.N:
            raise ValueError(
                f"x has length {x.shape[-1]} but this JTFS was built for shape={self.N}"
            )
        if not bool(torch.isfinite(x).all()):
            raise ValueError("x contains NaN or Inf values")
        return x

    def _check_index(self, i: object) -> int:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            if isinstance(i, Tensor) and i.numel() == 1 and not i.is_floating_point():
                i = int(i)
            else:
                raise TypeError(f"path index must be an int, got {type(i).__name__}")
        if not 0 <= i < self.n_paths:
            raise IndexError(
                f"path index {i} out of range: valid indices are 0..{self.n_paths - 1}"
            )
        return int(i)

    # ------------------------------------------------------------- stages

    def _spectrum(self, x: Tensor) -> Tensor:
        """Reflect-pad to N_pad and take the real FFT: (B, N_pad/2 + 1) complex."""
        p = self.padding
        xp = torch.nn.functional.pad(x[:, None], (p.pad_left, p.pad_right), mode="reflect")[:, 0]
        return rfft(xp)

    def _first_order(self, Xr: Tensor, m: int) -> list[tuple[int, tuple[int, ...], Tensor]]:
        """First-order modulus U1 = |x * psi1| for n1 < m, grouped by k1.

        Returns ``[(k1, n1s, U1)]`` with ``U1`` of shape (B, g, N_pad / 2**k1).
        """
        dev, rdt = Xr.device, Xr.real.dtype
        if self.full_rate if self.full_rate is not None else Xr.is_cuda:
            X = hermitian_full(Xr, self.N_pad)
            # One batched IFFT at full rate, then decimate: |IFFT_M(X psi)|[::2**k1]
            # equals |IFFT_{M/2**k1}(fold_{2**k1}(X psi))| exactly (decimation in time is
            # folding in frequency). More arithmetic, far fewer kernels: the GPU's choice.
            H = self._cached(("psi1_stack", m), lambda: np.stack(self._psi1_f[:m]), rdt, dev)
            U = modulus(torch.fft.ifft(X[:, None, :] * H))
            return [(k1, n1s, U[:, n1s[0] : n1s[-1] + 1, :: 2**k1]) for k1, n1s in self._groups(m)]
        out, X = [], None
        for k1, n1s in self._groups(m):
            plan = self._first_order_window(k1, n1s)
            if plan is not None:
                G = self._cached(("psi1_i", k1, n1s), lambda p=plan: p[0], torch.int64, dev)
                sg = self._cached(("psi1_s", k1, n1s), lambda p=plan: p[1], rdt, dev)
                W = self._cached(("psi1_w", k1, n1s), lambda p=plan: p[2], Xr.dtype, dev)
                out.append((k1, n1s, band_modulus(Xr, G, sg, W)))
                continue
            if X is None:  # the full spectrum, once for every group that folds it
                X = hermitian_full(Xr, self.N_pad)
            H = self._cached(
                ("psi1_full", n1s),
                lambda n1s=n1s: np.stack([self._psi1_f[n] for n in n1s]),
                rdt,
                dev,
            )
            Y = fold(X[:, None, :] * H, 2**k1)
            out.append((k1, n1s, modulus(torch.fft.ifft(Y))))
        return out

    def _Y2(self, U1r: list[tuple[int, tuple[int, ...], Tensor]], n2: int) -> Tensor:
        """Second order before the modulus: Y2 (B, m, N_pad/2^j2) complex, for the n1 used.

        ``U1r`` holds ``(k1, n1s, rfft(U1))`` per group.
        """
        j2 = self.psi2_specs[n2].j
        m = self._n2_m[n2]
        parts = []
        for k1, n1s, Ur in U1r:
            n_used = sum(1 for n1 in n1s if n1 < m)
            if not n_used:
                continue
            Ur = Ur[:, :n_used] if n_used < len(n1s) else Ur
            rdt, dev = Ur.real.dtype, Ur.device
            plan = self._second_order_window(n2, k1)
            if plan is None:
                L1 = self.N_pad >> k1
                h = self._cached(
                    ("psi2_lvl", n2, k1),
                    lambda n2=n2, k1=k1: periodize(self._psi2_f[n2], k1),
                    rdt,
                    dev,
                )
                parts.append(fold(hermitian_full(Ur, L1) * h, 2 ** (j2 - k1)))
            else:
                ridx = self._cached(("psi2_i", n2, k1), lambda p=plan: p[0], torch.int64, dev)
                w2 = self._cached(("psi2_w", n2, k1), lambda p=plan: p[1], rdt, dev)
                parts.append(hermitian_gather(Ur, ridx, w2))
        return torch.fft.ifft(torch.cat(parts, dim=1))

    def _fr_matrix(self, n_fr: int, m: int) -> np.ndarray:
        """Frequential wavelet ``n_fr`` on the first ``m`` n1 as a complex (R, m) matrix."""
        return self._plan(
            ("fr", n_fr, m),
            lambda: frequential_matrix(self._psi_fr_f[n_fr], m, 2 ** self._k_fr(n_fr)),
        )

    def _fr_rows(self, n_fr: int, m: int) -> np.ndarray:
        """The output rows of wavelet ``n_fr`` that carry its mass (all of them if spin 0).

        Zero padding puts the m rows of Y2 in a frequential axis of N_fr; a spinned
        wavelet is short along it, so rows of ``A`` far from the data hold only its
        tails. We drop the lightest rows while their total L1 mass stays below
        ``ROWS_TOL`` = 1e-12 of the matrix's: the tails fall off like Gaussians, so for
        the paper's configuration that still skips 42% of the frequential work (31% of the
        spinned rows, weighted by m x frames), and the
        paths equal those with every row kept to 1e-11 relative (tested). The frequency
        averaging ``phi_F`` then reads only the kept rows.
        """

        def build() -> np.ndarray:
            A = self._fr_matrix(n_fr, m)
            if self.exact or self.spins[n_fr] == 0:
                return np.arange(A.shape[0])
            mass = np.abs(A).sum(axis=1)
            order = np.argsort(mass)
            n_drop = int((np.cumsum(mass[order]) <= ROWS_TOL * mass.sum()).sum())
            return np.sort(order[n_drop:])

        return self._plan(("fr_rows", n_fr, m), build)

    def _fr_mode(self, n_fr: int, m: int, pair: bool) -> str:
        """The cheapest exact way to apply wavelet ``n_fr`` (see :func:`scrapl_edu.ops._z_planes`).

        The low-pass (spin 0) is a real matrix; a spin-down wavelet is the mirror of its
        spin-up twin, so its matrix is ``conj(A_up)``. Both facts are checked on the
        matrices themselves (to 1e-12), and we fall back to the general form if not.
        """

        def check() -> str:
            A = self._fr_matrix(n_fr, m)
            scale = np.abs(A).max()
            if self.spins[n_fr] == 0:
                return "real" if np.abs(A.imag).max() <= 1e-12 * scale else "stacked"
            if pair and self.spins[n_fr] == 1:
                A_down = self._fr_matrix(n_fr + self.K_fr, m)
                if np.abs(A_down - A.conj()).max() <= 1e-12 * scale:
                    return "pair"
            return "stacked"

        return self._plan(("fr_mode", n_fr, m, pair), check)

    def _fr_operator(self, n_fr: int, m: int, mode: str, rdt: torch.dtype, dev) -> Tensor:
        """The matrix ``M`` of wavelet ``n_fr`` in a mode of :data:`scrapl_edu.ops.MODES`."""

        def build() -> np.ndarray:
            A = self._fr_matrix(n_fr, m)[self._fr_rows(n_fr, m)]
            if mode == "real":
                return A.real
            if mode == "pair":
                return np.concatenate([A.real, A.imag])
            return complex_as_real_matrix(A)

        return self._cached(("fr_op", n_fr, m, mode), build, rdt, dev)

    def _frequential(self, Y2s: Tensor, n2: int, n_fr: int, pair: bool = False) -> list[Tensor]:
        """Frequential scattering, modulus and averaging: [(B, rows, frames)] real.

        ``Y2s`` is the second order as stacked planes [Re Y2; Im Y2]: (B, 2m, L2).
        With ``pair=True`` and a spin-up ``n_fr``, returns the paths ``n_fr`` and its
        spin-down twin ``n_fr + K`` for the cost of one.
        """
        m = self._n2_m[n2]
        j2 = self.psi2_specs[n2].j
        k_fr = self._k_fr(n_fr)
        dev, rdt = Y2s.device, Y2s.dtype
        mode = self._fr_mode(n_fr, m, pair)
        M = self._fr_operator(n_fr, m, mode, rdt, dev)
        s, e = self.padding.unpad_range(self.log2_T)
        PhiT = self._cached(
            ("phiT", j2),
            lambda: averaging_matrix(periodize(self._phi_f, j2), 2 ** (self.log2_T - j2), (s, e)),
            rdt,
            dev,
        )
        S = scatter_modulus_average(Y2s, M, PhiT, mode)  # |A Y2| PhiT^T: (B, R or 2R, frames)
        outs = list(S.chunk(2, dim=1)) if mode == "pair" else [S]
        if self.spins[n_fr] != 0:
            PhiF = self._cached(
                ("phiF", k_fr, n_fr, m),
                lambda: averaging_matrix(periodize(self._phi_F_f, k_fr), 2 ** (self.log2_F - k_fr))[
                    :, self._fr_rows(n_fr, m)
                ],
                rdt,
                dev,
            )
            outs = [torch.matmul(PhiF, o) for o in outs]
        return outs

    # ------------------------------------------------------------- public API

    def path(self, x: Tensor, i: int) -> Tensor:
        """One SCRAPL path ``phi_p(x)`` (Eq. 1 for p = i): (B, rows, frames).

        Computes only what the path needs: the n1 with j1 < j2, one psi2, one psi_fr.
        """
        i = self._check_index(i)
        x = self._prepare(x)
        info = self.paths[i]
        U1 = self._first_order(self._spectrum(x), len(info.n1_used))
        Y2 = self._Y2([(k1, n1s, rfft(u)) for k1, n1s, u in U1], info.n2)
        return self._frequential(stack_complex(Y2, 1), info.n2, info.n_fr)[0]

    def forward(self, x: Tensor) -> Tensor:
        """All SCRAPL paths: (B, n_paths, rows, frames), first and second orders shared."""
        x = self._prepare(x)
        U1 = self._first_order(self._spectrum(x), max(self._n2_m.values()))
        U1r = [(k1, n1s, rfft(u)) for k1, n1s, u in U1]
        out = []
        n_fr_total = len(self.psi_fr_specs)
        for n2 in sorted(self._n2_m):
            Y2s = stack_complex(self._Y2(U1r, n2), 1)
            row: dict[int, Tensor] = {}
            for n_fr in range(n_fr_total):
                if n_fr in row:
                    continue
                S = self._frequential(Y2s, n2, n_fr, pair=True)
                row[n_fr] = S[0]
                if len(S) == 2:  # the spin-down twin came for free
                    row[n_fr + self.K_fr] = S[1]
            out += [row[n_fr] for n_fr in range(n_fr_total)]
        return torch.stack(out, dim=1)

    def scalogram(self, x: Tensor) -> Tensor:
        """Averaged first order S1 = |x * psi1| * phi: (B, n_filters1, frames)."""
        x = self._prepare(x)
        s, e = self.padding.unpad_range(self.log2_T)
        out = []
        for k1, _, U1 in self._first_order(self._spectrum(x), len(self.psi1_specs)):
            Phi = self._cached(
                ("phiT", k1),
                lambda k1=k1: averaging_matrix(
                    periodize(self._phi_f, k1), 2 ** (self.log2_T - k1), (s, e)
                ),
                U1.dtype,
                U1.device,
            )
            # accumulate the long time sums in float64: float32 GEMMs over 2**16 terms
            # drift by ~1e-5 relative, the tolerance we promise against kymatio
            out.append(torch.matmul(U1.double(), Phi.T.double()).to(U1.dtype))
        return torch.cat(out, dim=1)
