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

What to compute (filters, windows, paths, frequential matrices; numpy) is the
:class:`scrapl_edu.jtfs_plan.JTFSPlan` built by :func:`scrapl_edu.jtfs_plan.make_plan`;
this module applies a plan to signals (torch: devices, dtypes, autograd).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from scrapl_edu.checks import check_path_index
from scrapl_edu.jtfs_plan import ROWS_TOL, WINDOW_TOL, JTFSConfig, JTFSPlan, PathInfo, make_plan
from scrapl_edu.ops import (
    band_modulus,
    fold,
    hermitian_full,
    hermitian_gather,
    modulus,
    rfft,
    scatter_modulus_average,
    stack_complex,
)

__all__ = ["JTFS", "JTFSConfig", "PathInfo", "ROWS_TOL", "WINDOW_TOL", "second_order_path"]


def second_order_path(
    U1: Tensor,
    psi2_f: Tensor,
    psi_fr_f: Tensor,
    phi_t_f: Tensor,
    phi_f_f: Tensor | None = None,
) -> Tensor:
    """One JTFS path from the first order, by the definition (steps 2-4 above, Eq. 1).

    Dense and unsubsampled: every convolution is a circular one through the FFT at full
    length, so this reads like the equation (the :class:`JTFS` module computes the same
    path with padding and subsampling, which this function leaves out)::

        Y2  = U1 *_t psi2                     (each row n1: a temporal convolution)
        Z   = Y2 *_fr psi_fr                  (each column: a convolution along n1,
                                               zero-padded from n1 rows to F)
        S_p = |Z| *_t phi_T  [*_fr phi_F]     (phi_F when the path spins, spin != 0)

    Args:
        U1: (..., n1, N) first-order modulus |x * psi1|, rows in log-frequency order.
        psi2_f: (N,) temporal wavelet psi2 in the Fourier domain.
        psi_fr_f: (F,) frequential wavelet in the Fourier domain, F >= n1.
        phi_t_f: (N,) temporal low-pass phi_T in the Fourier domain.
        phi_f_f: (F,) frequential low-pass phi_F, or None (spin 0: no frequential averaging).

    Returns:
        (..., F, N) real: the path's coefficients before subsampling.
    """
    n1, F = U1.shape[-2], psi_fr_f.shape[-1]
    if F < n1:
        raise ValueError(
            f"psi_fr_f has {F} bins, fewer than the {n1} rows of U1; pad it to F >= n1"
        )
    Y2 = torch.fft.ifft(torch.fft.fft(U1, dim=-1) * psi2_f, dim=-1)
    Z = torch.fft.ifft(torch.fft.fft(Y2, n=F, dim=-2) * psi_fr_f[:, None], dim=-2)
    S = torch.fft.ifft(torch.fft.fft(Z.abs(), dim=-1) * phi_t_f, dim=-1).real
    if phi_f_f is not None:
        S = torch.fft.ifft(torch.fft.fft(S, dim=-2) * phi_f_f[:, None], dim=-2).real
    return S


#: (k1, n1s, tensor) per group of first-order filters sharing the subsampling 2**k1
Groups = list[tuple[int, tuple[int, ...], Tensor]]


class _FromPlan:
    """A read-only attribute of :class:`JTFS`: ``jtfs.<name>`` reads ``jtfs.plan.<name>``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        return self if obj is None else getattr(obj.plan, self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        raise AttributeError(
            f"JTFS.{self.name} is the plan's layout, derived from jtfs.config; build a new "
            "JTFS with other settings to change it"
        )


class _FromConfig(_FromPlan):
    """A setting, read-only on :class:`JTFS`: ``jtfs.<name>`` reads ``jtfs.plan.config.<name>``."""

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        return self if obj is None else getattr(obj.plan.config, self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        raise AttributeError(
            f"JTFS.{self.name} is fixed by the plan; build a new JTFS(..., {self.name}=...) "
            f"or JTFS.from_config(dataclasses.replace(jtfs.config, {self.name}=...))"
        )


#: the plan's layout, readable on the module (``jtfs.N_pad``, ``jtfs.paths``, ...)
_LAYOUT = (
    "padding",
    "N_pad",
    "N_fr",
    "K_fr",
    "log2_T",
    "log2_F",
    "psi1_specs",
    "psi2_specs",
    "phi_spec",
    "psi_fr_specs",
    "spins",
    "phi_F_spec",
    "paths",
    "n_paths",
    "n2_first",
    "frames",
)


class JTFS(nn.Module):
    """Joint time-frequency scattering with SCRAPL's path set (Section 4.1).

    Built from a :class:`scrapl_edu.jtfs_plan.JTFSConfig`, by its fields
    (``JTFS(shape=4096, J=9, Q1=8, ...)``, as kymatio's ``TimeFrequencyScattering``: ``shape``
    signal length N; ``J`` octaves and ``Q1``/``Q2`` wavelets per octave at the first and
    second order; ``J_fr``/``Q_fr`` for the frequential wavelets; ``T`` (default ``2**J``)
    and ``F`` (default ``2**J_fr``) the widths of the time and frequency averaging; ``sr``
    the sample rate (only used to report rates in Hz); ``filterbank`` the wavelet design)
    or whole (``JTFS.from_config(cfg)``). ``jtfs.config`` is that configuration; its
    settings are also readable here (``jtfs.J``, ``jtfs.T``, ``jtfs.N`` = ``shape``).

    ``jtfs.paths`` lists the SCRAPL paths (second-order ``(n2, n_fr)``
    coefficients); ``jtfs.path(x, i)`` computes one of them at the cost of one
    path, ``jtfs(x)`` all of them (sharing the first and second orders), and
    ``jtfs.scalogram(x)`` the averaged first order. ``jtfs.filters(kind)`` returns a
    filterbank; ``jtfs.plan`` is the whole layout (:class:`scrapl_edu.jtfs_plan.JTFSPlan`),
    whose fields are also readable here (``jtfs.N_pad``, ``jtfs.psi1_specs``, ...).

    ``full_rate`` computes the first order with one batched full-length IFFT and
    decimates afterwards (same numbers; default: on CUDA only, where kernel launches
    cost more than arithmetic): how to compute, not what, so not part of the config.
    Set ``exact=True`` to fold every spectrum in full (no band windows): slower,
    identical to float precision; used to check the fast path.
    """

    def __init__(
        self,
        *args: Any,
        config: JTFSConfig | None = None,
        full_rate: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if config is None:
            config = JTFSConfig.of(*args, **kwargs)
        elif args or kwargs:
            raise TypeError(
                f"give a JTFSConfig or its fields, not both (config=... and {len(args)} "
                f"positional, keywords {sorted(kwargs)})"
            )
        elif not isinstance(config, JTFSConfig):
            raise TypeError(f"config must be a JTFSConfig, got {type(config).__name__}")
        self.plan: JTFSPlan = make_plan(config)
        self.full_rate = full_rate
        self._tensor_cache: dict[tuple, Tensor] = {}

    @classmethod
    def from_config(cls, config: JTFSConfig, full_rate: bool | None = None) -> JTFS:
        """A JTFS of the configuration ``config`` (see :class:`JTFSConfig`)."""
        return cls(config=config, full_rate=full_rate)

    @property
    def config(self) -> JTFSConfig:
        """The configuration this JTFS was built from (frozen)."""
        return self.plan.config

    # ----------------------------------------------------------- describing

    #: the filterbanks :meth:`filters` returns
    FILTER_KINDS = ("psi1", "psi2", "psi_fr", "phi", "phi_fr")

    def filters(self, kind: str) -> np.ndarray:
        """Fourier-domain filters at full resolution (level 0), one row per filter (float64).

        ``kind``: ``"psi1"`` / ``"psi2"`` (first/second-order wavelets ψ̂, length ``N_pad``),
        ``"phi"`` (the time low-pass φ̂_T, 1 row of ``N_pad``), ``"psi_fr"`` (frequential
        filters in path order n_fr: the low-pass, then spin up, then spin down; length
        ``N_fr``) or ``"phi_fr"`` (the frequency low-pass φ̂_F, 1 row of ``N_fr``).
        Returns a new array of shape (n_filters, length).
        """
        banks: dict[str, Callable[[], Any]] = {
            "psi1": lambda: self.plan.psi1_f,
            "psi2": lambda: self.plan.psi2_f,
            "psi_fr": lambda: self.plan.psi_fr_f,
            "phi": lambda: [self.plan.phi_f],
            "phi_fr": lambda: [self.plan.phi_F_f],
        }
        if kind not in banks:
            raise ValueError(f"kind must be one of {list(self.FILTER_KINDS)}, got {kind!r}")
        return np.stack(banks[kind]())

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

    def extra_repr(self) -> str:
        return f"{self.config.describe()}, n_paths={self.n_paths}"

    # -------------------------------------------- the plan's arrays as tensors

    def _tensor(self, key: tuple, build: Callable[[], np.ndarray], dtype, device) -> Tensor:
        """``build()`` (a numpy array of the plan) as a tensor, once per (key, dtype, device)."""
        full = (*key, dtype, str(device))
        t = self._tensor_cache.get(full)
        if t is None:
            arr = build()
            if not arr.flags.writeable:  # the plan's arrays are read-only; torch wants its own
                arr = arr.copy()
            t = torch.as_tensor(arr, device=device).to(dtype)
            self._tensor_cache[full] = t
        return t

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
        if x.shape[0] == 0:
            raise ValueError(
                f"x is an empty batch (shape {tuple(x.shape)}): give at least one signal, "
                f"(B, {self.N}) or (B, 1, {self.N}) with B >= 1"
            )
        if not bool(torch.isfinite(x).all()):
            raise ValueError("x contains NaN or Inf values")
        return x

    # ------------------------------------------------------------- stages

    def _spectrum(self, x: Tensor) -> Tensor:
        """Reflect-pad to N_pad and take the real FFT: (B, N_pad/2 + 1) complex."""
        p = self.padding
        xp = torch.nn.functional.pad(x[:, None], (p.pad_left, p.pad_right), mode="reflect")[:, 0]
        return rfft(xp)

    def _first_order(self, Xr: Tensor, m: int) -> Groups:
        """First-order modulus U1 = |x * psi1| for n1 < m, grouped by k1.

        Returns ``[(k1, n1s, U1)]`` with ``U1`` of shape (B, g, N_pad / 2**k1).
        """
        plan, dev, rdt = self.plan, Xr.device, Xr.real.dtype
        if self.full_rate if self.full_rate is not None else Xr.is_cuda:
            X = hermitian_full(Xr, self.N_pad)
            # One batched IFFT at full rate, then decimate: |IFFT_M(X psi)|[::2**k1]
            # equals |IFFT_{M/2**k1}(fold_{2**k1}(X psi))| exactly (decimation in time is
            # folding in frequency). More arithmetic, far fewer kernels: the GPU's choice.
            H = self._tensor(("psi1_stack", m), lambda: np.stack(plan.psi1_f[:m]), rdt, dev)
            U = modulus(torch.fft.ifft(X[:, None, :] * H))
            return [(k1, n1s, U[:, n1s[0] : n1s[-1] + 1, :: 2**k1]) for k1, n1s in plan.groups(m)]
        out, X = [], None
        for k1, n1s in plan.groups(m):
            window = plan.first_order_window(k1, n1s)
            if window is not None:
                G = self._tensor(("psi1_i", k1, n1s), lambda w=window: w[0], torch.int64, dev)
                sg = self._tensor(("psi1_s", k1, n1s), lambda w=window: w[1], rdt, dev)
                W = self._tensor(("psi1_w", k1, n1s), lambda w=window: w[2], Xr.dtype, dev)
                out.append((k1, n1s, band_modulus(Xr, G, sg, W)))
                continue
            if X is None:  # the full spectrum, once for every group that folds it
                X = hermitian_full(Xr, self.N_pad)
            H = self._tensor(
                ("psi1_full", n1s),
                lambda n1s=n1s: np.stack([plan.psi1_f[n] for n in n1s]),
                rdt,
                dev,
            )
            Y = fold(X[:, None, :] * H, 2**k1)
            out.append((k1, n1s, modulus(torch.fft.ifft(Y))))
        return out

    def _Y2(self, U1r: Groups, n2: int) -> Tensor:
        """Second order before the modulus: Y2 (B, m, N_pad/2^j2) complex, for the n1 used.

        ``U1r`` holds ``(k1, n1s, rfft(U1))`` per group.
        """
        plan = self.plan
        j2 = plan.psi2_specs[n2].j
        m = plan.n1_count[n2]
        parts = []
        for k1, n1s, Ur in U1r:
            n_used = sum(1 for n1 in n1s if n1 < m)
            if not n_used:
                continue
            Ur = Ur[:, :n_used] if n_used < len(n1s) else Ur
            rdt, dev = Ur.real.dtype, Ur.device
            window = plan.second_order_window(n2, k1)
            if window is None:
                L1 = self.N_pad >> k1
                h = self._tensor(
                    ("psi2_lvl", n2, k1), lambda n2=n2, k1=k1: plan.psi2_level(n2, k1), rdt, dev
                )
                parts.append(fold(hermitian_full(Ur, L1) * h, 2 ** (j2 - k1)))
            else:
                ridx = self._tensor(("psi2_i", n2, k1), lambda w=window: w[0], torch.int64, dev)
                w2 = self._tensor(("psi2_w", n2, k1), lambda w=window: w[1], rdt, dev)
                parts.append(hermitian_gather(Ur, ridx, w2))
        return torch.fft.ifft(torch.cat(parts, dim=1))

    def _frequential(self, Y2s: Tensor, n2: int, n_fr: int, pair: bool = False) -> list[Tensor]:
        """Frequential scattering, modulus and averaging: [(B, rows, frames)] real.

        ``Y2s`` is the second order as stacked planes [Re Y2; Im Y2]: (B, 2m, L2).
        With ``pair=True`` and a spin-up ``n_fr``, returns the paths ``n_fr`` and its
        spin-down twin ``n_fr + K`` for the cost of one.
        """
        plan = self.plan
        m = plan.n1_count[n2]
        j2 = plan.psi2_specs[n2].j
        dev, rdt = Y2s.device, Y2s.dtype
        mode = plan.fr_mode(n_fr, m, pair)
        M = self._tensor(
            ("fr_op", n_fr, m, mode), lambda: plan.fr_operator(n_fr, m, mode), rdt, dev
        )
        PhiT = self._tensor(("phiT", j2), lambda: plan.time_average(j2), rdt, dev)
        S = scatter_modulus_average(Y2s, M, PhiT, mode)  # |A Y2| PhiT^T: (B, R or 2R, frames)
        outs = list(S.chunk(2, dim=1)) if mode == "pair" else [S]
        if plan.spins[n_fr] != 0:
            PhiF = self._tensor(
                ("phiF", plan.k_fr(n_fr), n_fr, m), lambda: plan.freq_average(n_fr, m), rdt, dev
            )
            outs = [torch.matmul(PhiF, o) for o in outs]
        return outs

    # ------------------------------------------------------------- public API

    def path(self, x: Tensor, i: int) -> Tensor:
        """One SCRAPL path ``phi_p(x)`` (Eq. 1 for p = i): (B, rows, frames).

        Computes only what the path needs: the n1 with j1 < j2, one psi2, one psi_fr.
        """
        i = check_path_index(i, self.n_paths, name="i")
        x = self._prepare(x)
        info = self.paths[i]
        U1 = self._first_order(self._spectrum(x), len(info.n1_used))
        Y2 = self._Y2([(k1, n1s, rfft(u)) for k1, n1s, u in U1], info.n2)
        return self._frequential(stack_complex(Y2, 1), info.n2, info.n_fr)[0]

    def forward(self, x: Tensor) -> Tensor:
        """All SCRAPL paths: (B, n_paths, rows, frames), first and second orders shared."""
        x = self._prepare(x)
        n1_count = self.plan.n1_count
        U1 = self._first_order(self._spectrum(x), max(n1_count.values()))
        U1r = [(k1, n1s, rfft(u)) for k1, n1s, u in U1]
        out = []
        n_fr_total = len(self.psi_fr_specs)
        for n2 in sorted(n1_count):
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
        out = []
        for k1, _, U1 in self._first_order(self._spectrum(x), len(self.psi1_specs)):
            Phi = self._tensor(
                ("phiT", k1), lambda k1=k1: self.plan.time_average(k1), U1.dtype, U1.device
            )
            # accumulate the long time sums in float64: float32 GEMMs over 2**16 terms
            # drift by ~1e-5 relative, the tolerance we promise against kymatio
            out.append(torch.matmul(U1.double(), Phi.T.double()).to(U1.dtype))
        return torch.cat(out, dim=1)


# the settings (every field of JTFSConfig, and N = shape) and the layout, read-only on the module
for _name in (*(f.name for f in fields(JTFSConfig)), "N"):
    setattr(JTFS, _name, _FromConfig(_name))
for _name in _LAYOUT:
    setattr(JTFS, _name, _FromPlan(_name))
del _name

# help(JTFS) and editors show JTFSConfig's fields as the constructor's (they are forwarded)
JTFS.__init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        *inspect.signature(JTFSConfig).parameters.values(),
        inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, default=None),
        inspect.Parameter("full_rate", inspect.Parameter.KEYWORD_ONLY, default=None),
    ]
)
