"""The plan of a JTFS: what to compute, fixed at construction (numpy, float64, no torch graph).

:class:`JTFSConfig` is the configuration, the one place where each setting of the transform
is written (its name, type, default and check); the module (:class:`scrapl_edu.jtfs.JTFS`),
its ``extra_repr`` and the presets (:mod:`scrapl_edu.presets`) read it. :func:`make_plan`
lays a configuration out: padding, the three filterbanks' parameters, the frequential length,
and the SCRAPL path table. :class:`JTFSPlan` holds
that layout (frozen) and derives from it, as pure functions of the layout, every array the
transform multiplies with: the Fourier-domain filters, the band windows of the first and
second orders, and the frequential and averaging matrices. Those arrays are computed on
first use and kept (building all of them up front is slow for long signals, and most users
of a plan read only the layout); they are read-only.

:class:`scrapl_edu.jtfs.JTFS` applies a plan to signals (torch, autograd, devices).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from difflib import get_close_matches
from typing import Any, TypeAlias

import numpy as np

from scrapl_edu.filters import (
    SIGMA0,
    FilterSpec,
    TimePadding,
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
    band_window,
    complex_as_real_matrix,
    frequential_matrix,
    hermitian_gather_plan,
    polyphase_plan,
)

__all__ = [
    "ROWS_TOL",
    "WINDOW_TOL",
    "FilterBank",
    "JTFSConfig",
    "JTFSPlan",
    "PathInfo",
    "make_plan",
]

#: relative L1 mass of a filter allowed outside its gathered window
WINDOW_TOL = 1e-7

#: relative L1 mass of a frequential matrix allowed in the rows we skip (float64-exact)
ROWS_TOL = 1e-12

#: a filterbank design: ``(J, Q) -> [FilterSpec(xi, sigma, j), ...]`` (or ``(xi, sigma)`` pairs)
FilterBank: TypeAlias = Callable[[int, int], Sequence[FilterSpec | tuple[float, float]]]


@dataclass(frozen=True)
class JTFSConfig:
    """The configuration of a JTFS, checked once: what :func:`make_plan` lays out.

    The parameters of kymatio's ``TimeFrequencyScattering`` that the paper sets (Section 4.1,
    Tables 10-12; the JTFS spec's "Parameters": kymatio 0.4.0.dev0), under the same names:

    Attributes:
        shape: signal length N (samples).
        J: octaves of the time wavelets; the largest time scale is ``2**J`` samples.
        Q1: first-order wavelets per octave (Q[0] in kymatio).
        Q2: second-order wavelets per octave (Q[1]); psi2 sets the path's temporal rate.
        J_fr: octaves of the frequential wavelets along log-frequency n1.
        Q_fr: frequential wavelets per octave; psi_fr sets the path's scale and spin.
        T: width of the time averaging phi_T in samples (None: ``2**J``, resolved here, so
            ``cfg.T`` is an int; ``dataclasses.replace`` keeps it: pass ``T=None`` to re-derive).
        F: width of the frequency averaging phi_F in n1 bins (None: ``2**J_fr``, likewise).
        sr: sample rate in Hz, only used to report path rates in Hz (None: cycles per sample).
        exact: fold every spectrum in full, no band windows (slower, same to float precision).
        filterbank: the filterbank design, called as ``filterbank(J, Q1)``, ``filterbank(J, Q2)``
            and ``filterbank(J_fr, Q_fr)``; it returns the wavelets' :class:`FilterSpec`
            (centre ``xi`` in cycles per sample, bandwidth ``sigma``, subsampling ``j``), or
            ``(xi, sigma)`` pairs whose ``j`` is the aliasing rule
            (:func:`scrapl_edu.filters.max_dyadic_subsampling`). Default: the Morlet
            filterbank of the reference, :func:`scrapl_edu.filters.filterbank_params`. A hook
            as kymatio 0.4's ``scattering_filter_factory(..., filterbank=...)``, e.g. a
            denser or narrower bank for an exercise; the low-passes phi_T, phi_F and the
            frequential low-pass stay the reference's.

    Raises TypeError / ValueError naming the setting, in the user's terms (what to change),
    for a configuration the reference cannot compute. Frozen and hashable: a configuration
    is a value (compare two runs' JTFS, key a cache).
    """

    shape: int
    J: int
    Q1: int = 8
    Q2: int = 2
    J_fr: int = 3
    Q_fr: int = 2
    T: int | None = None
    F: int | None = None
    sr: float | None = field(default=None, metadata={"shown": "if set"})
    exact: bool = field(default=False, metadata={"shown": "if set"})
    filterbank: FilterBank = field(default=filterbank_params, metadata={"shown": "if set"})

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise the values once, here
        for name, minimum in (
            ("shape", 16),
            ("J", 1),
            ("Q1", 1),
            ("Q2", 1),
            ("J_fr", 1),
            ("Q_fr", 1),
        ):
            set_(self, name, _as_int(name, getattr(self, name), minimum))
        set_(self, "T", _as_pow2_scale("T", self.T, 2**self.J))
        set_(self, "F", _as_pow2_scale("F", self.F, 2**self.J_fr))
        _check_scales(self.shape, self.J, self.J_fr, self.T, self.F, self.sr)
        set_(self, "sr", None if self.sr is None else float(self.sr))
        set_(self, "exact", bool(self.exact))
        if not callable(self.filterbank):
            raise TypeError(
                "filterbank must be a function (J, Q) -> filter specs, e.g. "
                f"scrapl_edu.filters.filterbank_params; got {self.filterbank!r}"
            )

    @classmethod
    def of(cls, *args: Any, **kwargs: Any) -> JTFSConfig:
        """``JTFSConfig(*args, **kwargs)``, an unknown setting named with the known ones."""
        names = [f.name for f in fields(cls)]
        unknown = [k for k in kwargs if k not in names]
        if unknown:
            hints = [
                f"{k!r} (did you mean {m[0]!r}?)"
                if (m := get_close_matches(k, names, 1))
                else repr(k)
                for k in unknown
            ]
            raise TypeError(f"unknown JTFS setting {', '.join(hints)}; the settings are {names}")
        return cls(*args, **kwargs)

    @property
    def N(self) -> int:
        """The signal length (``shape``), as the paper and kymatio's code write it."""
        return self.shape

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this configuration (``JTFS(**cfg.kwargs())``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def describe(self) -> str:
        """``"shape=4096, J=9, ..."``: every setting; ``sr``, ``exact``, ``filterbank`` if set."""
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata.get("shown") == "if set" and value is f.default:
                continue
            shown.append(f"{f.name}={getattr(value, '__qualname__', value)}")
        return ", ".join(shown)


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
# the plan
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class JTFSPlan:
    """The layout of one JTFS configuration, and the arrays derived from it.

    Fields are the configuration (:class:`JTFSConfig`: ``plan.config.J``, ...) and its
    layout: ``padding`` (N -> N_pad),
    the filter parameters ``psi1_specs``, ``psi2_specs``, ``phi_spec`` (time) and
    ``psi_fr_specs`` (frequential filters in path order n_fr: the low-pass, K spin-up, K
    spin-down; ``spins`` gives each one's spin), ``phi_F_spec``, the frequential length
    ``N_fr``, ``n1_count[n2]`` (how many first-order filters have j1 < j2) and the SCRAPL
    ``paths``. Build one with :func:`make_plan`.
    """

    config: JTFSConfig
    padding: TimePadding
    psi1_specs: tuple[FilterSpec, ...]
    psi2_specs: tuple[FilterSpec, ...]
    phi_spec: FilterSpec
    N_fr: int
    psi_fr_specs: tuple[FilterSpec, ...]
    spins: tuple[int, ...]
    phi_F_spec: FilterSpec
    n1_count: Mapping[int, int]
    paths: tuple[PathInfo, ...]
    _memo: dict[tuple, Any] = field(default_factory=dict, init=False, repr=False)

    # ------------------------------------------------------------------ sizes

    @property
    def N_pad(self) -> int:
        """Padded signal length (a power of 2)."""
        return self.padding.N_pad

    @property
    def K_fr(self) -> int:
        """Number of frequential wavelets per spin."""
        return (len(self.psi_fr_specs) - 1) // 2

    @property
    def log2_T(self) -> int:
        return self.phi_spec.j

    @property
    def log2_F(self) -> int:
        return self.phi_F_spec.j

    @property
    def n_paths(self) -> int:
        return len(self.paths)

    @property
    def n2_first(self) -> int:
        """The first n2 with a path (the lower ones have no j1 < j2)."""
        return min(self.n1_count)

    @property
    def frames(self) -> int:
        """Number of time frames of every output (after unpadding)."""
        s, e = self.padding.unpad_range(self.log2_T)
        return e - s

    def k1(self, n1: int) -> int:
        """log2 of the subsampling of the first-order output n1."""
        return min(self.psi1_specs[n1].j, self.log2_T)

    def k_fr(self, n_fr: int) -> int:
        """log2 of the subsampling along n1 of frequential filter n_fr."""
        return min(self.psi_fr_specs[n_fr].j, self.log2_F)

    def groups(self, m: int) -> list[tuple[int, tuple[int, ...]]]:
        """The first m n1 grouped by their subsampling k1 (groups are contiguous in n1)."""
        groups: dict[int, list[int]] = {}
        for n1 in range(m):
            groups.setdefault(self.k1(n1), []).append(n1)
        return [(k1, tuple(n1s)) for k1, n1s in sorted(groups.items())]

    # ------------------------------------------------------------ memoisation

    def _memoised(self, key: tuple, build: Callable[[], Any]) -> Any:
        """``build()`` once per key; numpy results are made read-only."""
        if key not in self._memo:
            value = build()
            for arr in value if isinstance(value, tuple) else (value,):
                if isinstance(arr, np.ndarray):
                    arr.flags.writeable = False
            self._memo[key] = value
        return self._memo[key]

    # ---------------------------------------------------- filters (float64)

    @property
    def psi1_f(self) -> tuple[np.ndarray, ...]:
        """First-order Morlet wavelets, Fourier domain, length N_pad."""
        return self._memoised(
            ("psi1_f",),
            lambda: tuple(morlet_1d(self.N_pad, f.xi, f.sigma) for f in self.psi1_specs),
        )

    @property
    def psi2_f(self) -> tuple[np.ndarray, ...]:
        """Second-order Morlet wavelets, Fourier domain, length N_pad."""
        return self._memoised(
            ("psi2_f",),
            lambda: tuple(morlet_1d(self.N_pad, f.xi, f.sigma) for f in self.psi2_specs),
        )

    @property
    def phi_f(self) -> np.ndarray:
        """Time low-pass phi_T, Fourier domain, length N_pad."""
        return self._memoised(("phi_f",), lambda: gauss_1d(self.N_pad, self.phi_spec.sigma))

    @property
    def psi_fr_f(self) -> tuple[np.ndarray, ...]:
        """Frequential filters in path order n_fr, Fourier domain, length N_fr."""

        def build() -> tuple[np.ndarray, ...]:
            return tuple(
                gauss_1d(self.N_fr, f.sigma) if f.xi == 0.0 else morlet_1d(self.N_fr, f.xi, f.sigma)
                for f in self.psi_fr_specs
            )

        return self._memoised(("psi_fr_f",), build)

    @property
    def phi_F_f(self) -> np.ndarray:
        """Frequency low-pass phi_F, Fourier domain, length N_fr."""
        return self._memoised(("phi_F_f",), lambda: gauss_1d(self.N_fr, self.phi_F_spec.sigma))

    # -------------------------------------------------- first and second order

    def first_order_window(self, k1: int, n1s: tuple[int, ...]) -> tuple[np.ndarray, ...] | None:
        """Polyphase plan (ridx, sign (g, L'), W (g, P, L')) of the group's first order, or None.

        ``P`` phases of ``L' = N_pad / 2^k1 / P`` bins: the largest P in (4, 2, 1) for which
        every filter's band fits in L' bins (mass outside <= WINDOW_TOL) and ``L' >= 8``
        (shorter IFFTs cost more in calls than they save); None folds the full spectrum.
        """

        def build() -> tuple[np.ndarray, ...] | None:
            if self.config.exact:
                return None
            K = 2**k1
            L1 = self.N_pad // K
            for P in (4, 2, 1):
                if L1 // P < 8:
                    continue
                plans = []
                for n1 in n1s:
                    h = self.psi1_f[n1]
                    i, outside = band_window(h, K * P)
                    if outside > WINDOW_TOL:
                        break
                    plans.append(polyphase_plan(i, h, self.N_pad, L1, P))
                else:
                    return tuple(np.stack(a) for a in zip(*plans, strict=True))
            return None

        return self._memoised(("psi1", k1, n1s), build)

    def psi2_level(self, n2: int, k1: int) -> np.ndarray:
        """psi2[n2] as seen by a first order subsampled by 2^k1 (periodised)."""
        return periodize(self.psi2_f[n2], k1)

    def second_order_window(self, n2: int, k1: int) -> tuple[np.ndarray, np.ndarray] | None:
        """rfft gather plan of fold_{2^(j2-k1)}(U1hat psi2.level[k1]), or None."""

        def build() -> tuple[np.ndarray, np.ndarray] | None:
            if self.config.exact:
                return None
            K = 2 ** (self.psi2_specs[n2].j - k1)
            h = self.psi2_level(n2, k1)
            i, outside = band_window(h, K)
            if outside > WINDOW_TOL:
                return None
            return hermitian_gather_plan(i, h.shape[0], h[i] / K)

        return self._memoised(("psi2", n2, k1), build)

    def time_average(self, level: int) -> np.ndarray:
        """phi_T on a signal subsampled by 2^level, as an unpadding (frames, N_pad/2^level)."""
        rows = self.padding.unpad_range(self.log2_T)
        return averaging_matrix(periodize(self.phi_f, level), 2 ** (self.log2_T - level), rows)

    # ------------------------------------------------------------ frequential

    def fr_matrix(self, n_fr: int, m: int) -> np.ndarray:
        """Frequential wavelet ``n_fr`` on the first ``m`` n1 as a complex (R, m) matrix."""
        return self._memoised(
            ("fr", n_fr, m),
            lambda: frequential_matrix(self.psi_fr_f[n_fr], m, 2 ** self.k_fr(n_fr)),
        )

    def fr_rows(self, n_fr: int, m: int) -> np.ndarray:
        """The output rows of wavelet ``n_fr`` that carry its mass (all of them if spin 0).

        Zero padding puts the m rows of Y2 in a frequential axis of N_fr; a spinned
        wavelet is short along it, so rows of ``A`` far from the data hold only its
        tails. We drop the lightest rows while their total L1 mass stays below
        ``ROWS_TOL`` = 1e-12 of the matrix's: the tails fall off like Gaussians, so a
        large share of the spinned rows is skipped (README: "one path vs all paths"), and
        the paths equal those with every row kept to 1e-11 relative (tested). The
        frequency averaging ``phi_F`` then reads only the kept rows.
        """

        def build() -> np.ndarray:
            A = self.fr_matrix(n_fr, m)
            if self.config.exact or self.spins[n_fr] == 0:
                return np.arange(A.shape[0])
            mass = np.abs(A).sum(axis=1)
            order = np.argsort(mass)
            n_drop = int((np.cumsum(mass[order]) <= ROWS_TOL * mass.sum()).sum())
            return np.sort(order[n_drop:])

        return self._memoised(("fr_rows", n_fr, m), build)

    def fr_mode(self, n_fr: int, m: int, pair: bool) -> str:
        """The cheapest exact way to apply wavelet ``n_fr`` (see :data:`scrapl_edu.ops.MODES`).

        The low-pass (spin 0) is a real matrix; a spin-down wavelet is the mirror of its
        spin-up twin, so its matrix is ``conj(A_up)``. Both facts are checked on the
        matrices themselves (to 1e-12), and we fall back to the general form if not.
        """

        def check() -> str:
            A = self.fr_matrix(n_fr, m)
            scale = np.abs(A).max()
            if self.spins[n_fr] == 0:
                return "real" if np.abs(A.imag).max() <= 1e-12 * scale else "stacked"
            if pair and self.spins[n_fr] == 1:
                A_down = self.fr_matrix(n_fr + self.K_fr, m)
                if np.abs(A_down - A.conj()).max() <= 1e-12 * scale:
                    return "pair"
            return "stacked"

        return self._memoised(("fr_mode", n_fr, m, pair), check)

    def fr_operator(self, n_fr: int, m: int, mode: str) -> np.ndarray:
        """The real matrix ``M`` of wavelet ``n_fr`` in a mode of :data:`scrapl_edu.ops.MODES`."""
        A = self.fr_matrix(n_fr, m)[self.fr_rows(n_fr, m)]
        if mode == "real":
            return A.real
        if mode == "pair":
            return np.concatenate([A.real, A.imag])
        return complex_as_real_matrix(A)

    def freq_average(self, n_fr: int, m: int) -> np.ndarray:
        """phi_F after wavelet ``n_fr`` (subsampled by 2^k_fr), on its kept rows only."""
        k_fr = self.k_fr(n_fr)
        Phi = averaging_matrix(periodize(self.phi_F_f, k_fr), 2 ** (self.log2_F - k_fr))
        return Phi[:, self.fr_rows(n_fr, m)]


# --------------------------------------------------------------------------
# building a plan
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


def _check_scales(N: int, J: int, J_fr: int, T: int, F: int, sr: object) -> None:
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


def _n1_count(
    psi1: list[FilterSpec], psi2: list[FilterSpec], J: int, Q1: int, Q2: int, T: int, N_fr: int
) -> dict[int, int]:
    """n2 -> number of first-order filters with j1 < j2, for every n2 that has one."""
    j1s = [f.j for f in psi1]
    counts = {}
    for n2, f2 in enumerate(psi2):
        m = sum(1 for j1 in j1s if j1 < f2.j)
        if m:
            counts[n2] = m
    if not counts:
        raise ValueError(f"J={J}, Q1={Q1}, Q2={Q2} give no second-order path (j2 > j1 never)")
    max_j2 = max(psi2[n2].j for n2 in counts)
    if int(math.floor(math.log2(T))) < max_j2:
        raise ValueError(
            f"T={T} is too small: second-order wavelets reach j2={max_j2} but log2(T)="
            f"{int(math.floor(math.log2(T)))}; the reference crashes there. Use T >= {2**max_j2}"
        )
    if max(counts.values()) > N_fr:
        raise ValueError(
            f"{max(counts.values())} first-order filters exceed the frequential length N_fr={N_fr}"
        )
    return counts


def _path_table(
    psi2: list[FilterSpec],
    psi_fr: list[FilterSpec],
    spins: list[int],
    n1_count: dict[int, int],
    Q1: int,
    sr: float | None,
    shape: tuple[int, int],
) -> tuple[PathInfo, ...]:
    """The SCRAPL paths (n2, n_fr), n2-major, in scrapl-loss's ``path_idx`` order."""
    paths = []
    n2_first = min(n1_count)
    for n2 in sorted(n1_count):
        f2 = psi2[n2]
        for n_fr, ffr in enumerate(psi_fr):
            paths.append(
                PathInfo(
                    index=len(paths),
                    n2=n2,
                    n_fr=n_fr,
                    j2=f2.j,
                    j_fr=ffr.j,
                    spin=spins[n_fr],
                    n1_used=tuple(range(n1_count[n2])),
                    xi2=f2.xi,
                    sigma2=f2.sigma,
                    xi_fr=ffr.xi,
                    sigma_fr=ffr.sigma,
                    rate_hz=None if sr is None else f2.xi * sr,
                    scale_cpo=abs(ffr.xi) * Q1 * spins[n_fr],
                    shape=shape,
                )
            )
            assert paths[-1].index == (n2 - n2_first) * len(psi_fr) + n_fr
    return tuple(paths)


def _filter_specs(config: JTFSConfig, J: int, Q: int, axis: str) -> list[FilterSpec]:
    """``config.filterbank(J, Q)`` as checked :class:`FilterSpec` (``(xi, sigma)`` pairs get j)."""
    name = getattr(config.filterbank, "__qualname__", repr(config.filterbank))
    specs = []
    for item in config.filterbank(J, Q):
        if isinstance(item, FilterSpec):
            f = item
        else:
            try:
                xi, sigma = (float(v) for v in item)
            except (TypeError, ValueError):
                raise TypeError(
                    f"filterbank {name}(J={J}, Q={Q}) ({axis}) gave {item!r}: give a "
                    "FilterSpec(xi, sigma, j) or an (xi, sigma) pair per wavelet"
                ) from None
            f = FilterSpec(xi, sigma, max_dyadic_subsampling(xi, sigma))
        if not (0.0 < f.xi <= 0.5 and f.sigma > 0.0 and f.j >= 0):
            raise ValueError(
                f"filterbank {name}(J={J}, Q={Q}) ({axis}) gave {f}: every wavelet needs a "
                "centre 0 < xi <= 0.5 cycles per sample, a bandwidth sigma > 0 and j >= 0"
            )
        specs.append(f)
    if not specs:
        raise ValueError(f"filterbank {name}(J={J}, Q={Q}) ({axis}) gave no wavelet")
    return specs


def make_plan(*args: Any, **kwargs: Any) -> JTFSPlan:
    """Lay out a JTFS configuration: ``make_plan(config)`` or ``make_plan(shape, J, ...)``.

    The arguments are a :class:`JTFSConfig` or its fields (those of :class:`scrapl_edu.JTFS`).
    Raises TypeError / ValueError naming the setting for a configuration the reference
    cannot compute (see the messages).
    """
    if len(args) == 1 and not kwargs and isinstance(args[0], JTFSConfig):
        config = args[0]
    else:
        config = JTFSConfig.of(*args, **kwargs)
    c = config
    log2_T, log2_F = int(math.floor(math.log2(c.T))), int(math.floor(math.log2(c.F)))

    # time axis: padding, wavelets, low-pass
    padding = time_padding(c.shape, c.T)
    psi1 = _filter_specs(c, c.J, c.Q1, "first order")
    psi2 = _filter_specs(c, c.J, c.Q2, "second order")
    # frequency axis: the low-pass, K spin-up wavelets, their K spin-down mirrors
    N_fr = frequential_length(c.J, c.Q1, c.J_fr, c.F)
    psi_fr = _filter_specs(c, c.J_fr, c.Q_fr, "frequential")
    phi1 = FilterSpec(0.0, SIGMA0 / 2**c.J_fr, max_dyadic_subsampling(0.0, SIGMA0 / 2**c.J_fr))
    psi_fr_all = [phi1] + psi_fr + [FilterSpec(-f.xi, f.sigma, f.j) for f in psi_fr]
    spins = [0] + [1] * len(psi_fr) + [-1] * len(psi_fr)

    n1_count = _n1_count(psi1, psi2, c.J, c.Q1, c.Q2, c.T, N_fr)
    s, e = padding.unpad_range(log2_T)
    shape_out = (N_fr // 2**log2_F, e - s)
    return JTFSPlan(
        config=config,
        padding=padding,
        psi1_specs=tuple(psi1),
        psi2_specs=tuple(psi2),
        phi_spec=FilterSpec(0.0, SIGMA0 / c.T, log2_T),
        N_fr=N_fr,
        psi_fr_specs=tuple(psi_fr_all),
        spins=tuple(spins),
        phi_F_spec=FilterSpec(0.0, SIGMA0 / c.F, log2_F),
        n1_count=n1_count,
        paths=_path_table(psi2, psi_fr_all, spins, n1_count, c.Q1, c.sr, shape_out),
    )
