"""Differentiable synthesizers for the DDSP sound-matching lab (Sections 4.2-4.3, Tables 10-11).

Two synths, both differentiable in their normalised parameters ``theta`` in ``[0, 1]^U`` and
both *nondeterministic*, which is what defeats a multi-scale spectral (MSS) loss (Section 4):

- :class:`ChirpletSynth` (Section 4.3, Table 11): one Gaussian-windowed exponential chirp,
  amplitude-modulated at ``theta_AM`` Hz and frequency-modulated at ``theta_FM`` octaves per
  second, placed at a random time shift of up to +-``max_shift`` samples.
- :class:`GranularSynth` (Section 4.2, Table 10): a texture of up to 64 chirplet grains at
  random onsets and pitches; ``theta_density`` sets how many grains sound and ``theta_slope``
  their rate of frequency modulation.

The paper gives the synths' hyperparameters (Tables 10-11) but no formulas; it says the chirplet
synth is "based on the implementation by Vahidi et al. (2023)". The formulas below follow the
authors' public implementation of that synth (read for the facts, written afresh here):

Chirplet (t in seconds, centred on the middle sample, delayed by the shift delta)::

    t_n     = (n - N // 2 - delta) / sr
    phi(t)  = f_c * (2 ** (gamma * t) - 1) / (gamma * ln 2)   # cycles; phi' = f_c 2^(gamma t)
    sigma   = sigma0 * B / gamma                              # seconds; sigma0 = 0.1, B = 2 oct
    x(t)    = sin(2 pi phi(t)) * sin(pi * theta_AM * t) * exp(-t^2 / (2 sigma^2))

with ``f_c = 512 Hz`` (Table 11 "chirplet center frequency"), ``gamma = theta_FM`` in oct/s and
``B = 2 octaves`` (Table 11 "chirplet bandwidth"): the Gaussian's +-5 sigma span lasts
``B / gamma`` seconds, during which the chirp sweeps exactly ``B`` octaves, from ``f_c / 2`` to
``2 f_c``. The modulator is a sine at ``theta_AM / 2`` Hz, so the amplitude envelope
``|sin(pi theta_AM t)|`` repeats at ``theta_AM`` Hz: that is the AM rate the scattering transform
measures.

Granular texture (Table 10: 64 grains of 4096 samples, pitches 256-2048 Hz)::

    a_k     = sigmoid(-2 (1 - d) (k - G * (0.25 d + 0.75 d^2))) / (same at k = 0),  k = 0..G-1
    gamma   = s0 * tan(0.95 * (2 theta_slope - 1) * pi / 2)      # oct/s, s0 = 2/3 oct/s
    grain_k = a_k * hann(t) * sin(2 pi phi_k(t)) / sqrt(f_k),   t in [-L/2, L/2) / sr
    x       = sum_k grain_k placed at onset o_k

with ``d = theta_density`` (used linearly), ``f_k`` drawn log-uniformly in the pitch range and
``o_k`` uniformly in ``[0, N - L]``. ``s0 = sr / (Q * hop) / 4`` with the CQT of Table 10
(Q = 12, hop = 256): 8192 / 3072 / 4 = 2/3 oct/s, so ``|gamma| <= 8.47`` oct/s.

Normalisation (not stated in the paper): every example is scaled to the same RMS, ``target_rms``
(default 0.05, i.e. -26 dBFS, which keeps the peak of every paper preset below 1). RMS scaling
is smooth in theta, unlike a max-abs normalisation.

Randomness: shifts (chirplet) and grain onsets/pitches (granular) do not depend on theta. Pass
a ``torch.Generator`` or an integer ``seed`` to reproduce them, a sequence of ``B`` seeds to give
each example its own reproducible draw (a fixed data set), or the draw itself (``shifts=`` /
``draw=``) so that repeated calls, e.g. the Hessian-vector products of theta-importance
sampling (Eq. 10-12), see the very same sound. With none of these the draw comes from torch's
global generator, so ``torch.manual_seed`` also freezes it.

Where this differs from the authors' implementation: (1) they scale the chirplet by ``gamma``
and leave it un-normalised, we RMS-normalise; (2) they shift with a zero-filled roll, we
evaluate the chirplet at the shifted times (the same up to the window's ``< 1e-5`` tails);
(3) the grain phase is integrated in closed form rather than by a cumulative sum. As in their
synth, the steepest grains at the highest pitches exceed Nyquist near their edges and alias.

Named configurations (the paper's Table 10-11 set-ups and their classroom versions) live with
their JTFS, encoder front end and training sizes in the one preset registry,
:mod:`scrapl_edu.presets` (``presets.synth_config("classroom")``, ``presets.make_synth(...)``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import Tensor, nn

__all__ = [
    "ChirpletConfig",
    "ChirpletSynth",
    "GrainDraw",
    "GranularConfig",
    "GranularSynth",
    "SynthPreset",
    "chirplet",
    "exp_chirp_phase",
    "gaussian_window",
    "grain_amplitudes",
    "grain_slope",
    "hann_window",
    "inverse_log_uniform",
    "log_uniform",
    "normalize_rms",
    "sample_theta",
]

Normalize = Literal["rms", "none"]
Seed = int | Sequence[int] | Tensor | None

#: default per-example RMS of the synths' output (-26 dBFS)
DEFAULT_TARGET_RMS = 0.05
#: the exponent 2**(gamma t) is clipped at +-this many octaves; the Gaussian window is exactly
#: zero there in any float precision, and the clip keeps 2**(...) finite
_MAX_OCTAVES = 60.0
#: the chirplet's phase is frozen beyond this many window standard deviations (exp(-800) = 0)
_WINDOW_CLIP = 40.0


# --------------------------------------------------------------------------------------------
# Pure functions: the maths, one object of the paper each
# --------------------------------------------------------------------------------------------


def log_uniform(theta01: Tensor, low: float, high: float) -> Tensor:
    """Map ``theta01`` in [0, 1] log-uniformly onto ``[low, high]``: ``low * (high/low)**theta``.

    ``theta01 = 0`` gives ``low``, ``1`` gives ``high`` and ``0.5`` the geometric mean
    ``sqrt(low * high)``. Drawing ``theta01`` uniformly draws the physical value log-uniformly,
    as the paper does for the chirplet synth (Appendix C, Figure 6).
    """
    return low * torch.exp(theta01 * math.log(high / low))


def inverse_log_uniform(value: Tensor, low: float, high: float) -> Tensor:
    """Inverse of :func:`log_uniform`: ``log(value/low) / log(high/low)`` (0 when low == high)."""
    span = math.log(high / low)
    if span == 0.0:
        return torch.zeros_like(value)
    return torch.log(value / low) / span


def exp_chirp_phase(t: Tensor, f0_hz: Tensor | float, rate_oct_per_s: Tensor | float) -> Tensor:
    """Phase in cycles of an exponential chirp: ``phi(t) = f0 (2**(g t) - 1) / (g ln 2)``.

    Its derivative, the instantaneous frequency, is ``f0 * 2**(g t)``: the chirp rises by ``g``
    octaves per second and passes ``f0`` at ``t = 0``. Written as ``f0 t expm1(z) / z`` with
    ``z = g t ln 2`` so that it is smooth (and exact) through ``g = 0``, where it is ``f0 t``.
    """
    rate = torch.as_tensor(rate_oct_per_s, dtype=t.dtype, device=t.device)
    octaves = (rate * t).clamp(-_MAX_OCTAVES, _MAX_OCTAVES)
    z = octaves * math.log(2.0)
    small = z.abs() < 1e-4
    z_safe = torch.where(small, torch.ones_like(z), z)
    ratio = torch.where(small, 1.0 + z / 2.0 + z * z / 6.0, torch.expm1(z_safe) / z_safe)
    return f0_hz * t * ratio


def gaussian_window(t: Tensor, sigma: Tensor | float) -> Tensor:
    """Gaussian ``exp(-t^2 / (2 sigma^2))``, peak 1 at ``t = 0`` (``t`` and ``sigma`` same unit)."""
    return torch.exp(-0.5 * (t / sigma) ** 2)


def chirplet(
    t: Tensor,
    carrier_hz: float,
    am_hz: Tensor,
    fm_oct_per_s: Tensor,
    bandwidth_oct: float = 2.0,
    sigma0: float = 0.1,
) -> Tensor:
    """AM/FM chirplet (Section 4.3; Table 11), un-normalised.

    ``x(t) = sin(2 pi phi(t)) * sin(pi am t) * exp(-t^2 / (2 sigma^2))`` with ``phi`` from
    :func:`exp_chirp_phase` (rate ``fm``) and ``sigma = sigma0 * bandwidth_oct / fm`` seconds:
    the +-5 sigma span sweeps ``bandwidth_oct`` octaves centred on ``carrier_hz``. The envelope
    ``|sin(pi am t)|`` has period ``1 / am`` seconds. ``am`` and ``fm`` broadcast against ``t``.

    Beyond ``|t| > 40 sigma`` the window is below the smallest float64 (``exp(-800)``), so the
    carrier's phase is frozen there (``t`` clipped), which keeps ``sin`` away from huge,
    slow-to-reduce arguments; the output is unchanged.
    """
    sigma = sigma0 * bandwidth_oct / fm_oct_per_s
    t_phase = torch.clamp(t, -_WINDOW_CLIP * sigma, _WINDOW_CLIP * sigma)
    carrier = torch.sin(2.0 * math.pi * exp_chirp_phase(t_phase, carrier_hz, fm_oct_per_s))
    modulator = torch.sin(math.pi * am_hz * t)
    return carrier * modulator * gaussian_window(t, sigma)


def hann_window(n: int, dtype: torch.dtype | None = None, device=None) -> Tensor:
    """Periodic Hann window ``sin^2(pi k / n)``, ``k = 0..n-1`` (the grain envelope)."""
    k = torch.arange(n, dtype=dtype, device=device)
    return torch.sin(math.pi * k / n) ** 2


def grain_amplitudes(density: Tensor, n_grains: int) -> Tensor:
    """Amplitude of each grain, ``(B,) -> (B, G)``, in (0, 1], the first grain always at 1.

    ``a_k = sigmoid(-2 (1 - d) (k - G c(d)))`` normalised by ``a_0``, with the soft cut-off
    ``c(d) = 0.25 d + 0.75 d^2``: about ``max(1, G c(d))`` grains sound, one at ``d = 0`` and all
    ``G`` (equal amplitudes) at ``d = 1`` (Section 4.2, "how many grains are produced").
    """
    k = torch.arange(n_grains, dtype=density.dtype, device=density.device)
    d = density.unsqueeze(-1)
    cutoff = 0.25 * d + 0.75 * d * d
    a = torch.sigmoid(-2.0 * (1.0 - d) * (k - n_grains * cutoff))
    return a / a[..., :1]


def grain_slope(theta_slope: Tensor, scale_oct_per_s: float, warp: float = 0.95) -> Tensor:
    """Chirp rate of the grains in oct/s: ``scale * tan(warp * (2 theta - 1) * pi / 2)``.

    ``theta = 0.5`` gives flat grains, ``0`` / ``1`` the steepest falling / rising ones;
    ``warp < 1`` keeps the tangent finite (Section 4.2, "rate of frequency modulation").
    """
    return scale_oct_per_s * torch.tan(warp * (2.0 * theta_slope - 1.0) * math.pi / 2.0)


def normalize_rms(x: Tensor, target_rms: float, eps: float = 1e-12) -> Tensor:
    """Scale each signal (last axis) to RMS ``target_rms``; smooth in ``x``."""
    rms = torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)
    return x * (target_rms / rms)


def sample_theta(
    n: int,
    generator: torch.Generator | None = None,
    n_params: int = 2,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """Draw ``n`` parameter vectors uniformly in ``[0, 1]^U``.

    For the chirplet synth, whose physical parameters are :func:`log_uniform` in theta, this is
    the paper's log-uniform draw of ``theta_AM`` and ``theta_FM`` (Appendix C, Figure 6).
    """
    if n < 1:
        raise ValueError(f"n must be a positive number of examples, got {n}")
    if n_params < 1:
        raise ValueError(f"n_params must be positive, got {n_params}")
    theta = torch.rand((n, n_params), generator=generator, dtype=torch.float64)
    return theta.to(dtype=dtype, device=device)


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _check_range(name: str, value: tuple[float, float]) -> None:
    if len(value) != 2:
        raise ValueError(f"{name} must be a (low, high) pair, got {value!r}")
    low, high = value
    if not (math.isfinite(low) and math.isfinite(high) and 0.0 < low <= high):
        raise ValueError(f"{name} must satisfy 0 < low <= high, got {name}=({low}, {high})")


def _check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive, got {name}={value}")


def _check_theta(theta: Tensor, n_params: int, check_values: bool = True) -> None:
    if not isinstance(theta, Tensor):
        raise TypeError(f"theta must be a torch.Tensor of shape (batch, {n_params})")
    if theta.ndim != 2 or theta.shape[1] != n_params or theta.shape[0] == 0:
        raise ValueError(
            f"theta must have shape (batch, {n_params}), got {tuple(theta.shape)}; "
            f"for one example use theta[None]"
        )
    if not theta.is_floating_point():
        raise TypeError(f"theta must be a floating-point tensor, got {theta.dtype}")
    if not check_values:
        return
    with torch.no_grad():
        bad = ~((theta >= 0.0) & (theta <= 1.0))  # also catches NaN
        if bool(bad.any()):
            raise ValueError(
                "theta must lie in [0, 1] (normalised parameters; use params_to_theta for "
                f"physical units), got values in [{theta.min().item():.4g}, "
                f"{theta.max().item():.4g}]"
            )


def _draw(
    batch: int,
    seed: Seed,
    generator: torch.Generator | None,
    fn: Callable[[int, torch.Generator | None], Tensor],
) -> Tensor:
    """Run ``fn(count, generator)``: once for the batch, or once per example if seeds are given."""
    if seed is None:
        return fn(batch, generator)
    if isinstance(seed, int):
        return fn(batch, torch.Generator().manual_seed(seed))
    seeds = [int(s) for s in (seed.tolist() if isinstance(seed, Tensor) else seed)]
    if len(seeds) != batch:
        raise ValueError(f"seed must be an int or one seed per example ({batch}), got {len(seeds)}")
    return torch.cat([fn(1, torch.Generator().manual_seed(s)) for s in seeds], dim=0)


# --------------------------------------------------------------------------------------------
# Configurations (frozen dataclasses; the named ones are in scrapl_edu.presets)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChirpletConfig:
    """Hyperparameters of the AM/FM chirplet synth (Section 4.3; Table 11 "Decoder (Synth)").

    Attributes:
        name: preset name.
        sr: sample rate in Hz (Table 11: 8192).
        n_samples: signal length N (Table 11: 32768).
        carrier_hz: chirplet centre frequency (Table 11: 512 Hz).
        bandwidth_oct: octaves swept within +-5 sigma of the window (Table 11: 2 octaves).
        am_hz: (min, max) AM rate in Hz, theta_AM mapped log-uniformly onto it.
        fm_oct_per_s: (min, max) FM rate in octaves per second, log-uniform in theta_FM.
        max_shift: random time shift drawn uniformly in [-max_shift, +max_shift] samples
            (Table 11: +-2048). 0 makes the synth deterministic.
        sigma0: window width factor, sigma = sigma0 * bandwidth_oct / fm seconds.
        normalize: "rms" (each example to ``target_rms``) or "none".
        target_rms: the RMS after normalisation.
    """

    name: str = "chirplet"
    sr: float = 8192.0
    n_samples: int = 32768
    carrier_hz: float = 512.0
    bandwidth_oct: float = 2.0
    am_hz: tuple[float, float] = (1.0, 2.0)
    fm_oct_per_s: tuple[float, float] = (0.5, 1.0)
    max_shift: int = 2048
    sigma0: float = 0.1
    normalize: Normalize = "rms"
    target_rms: float = DEFAULT_TARGET_RMS

    kind: ClassVar[str] = "chirplet"
    param_names: ClassVar[tuple[str, ...]] = ("am_hz", "fm_oct_per_s")

    def __post_init__(self) -> None:
        _check_positive("sr", self.sr)
        if not isinstance(self.n_samples, int) or self.n_samples < 2:
            raise ValueError(f"n_samples must be an integer >= 2, got n_samples={self.n_samples}")
        _check_positive("carrier_hz", self.carrier_hz)
        _check_positive("bandwidth_oct", self.bandwidth_oct)
        _check_positive("sigma0", self.sigma0)
        _check_positive("target_rms", self.target_rms)
        _check_range("am_hz", self.am_hz)
        _check_range("fm_oct_per_s", self.fm_oct_per_s)
        if self.normalize not in ("rms", "none"):
            raise ValueError(f"normalize must be 'rms' or 'none', got {self.normalize!r}")
        if not isinstance(self.max_shift, int) or not 0 <= self.max_shift < self.n_samples // 2:
            raise ValueError(
                f"max_shift must be an integer in [0, n_samples // 2) = [0, {self.n_samples // 2}),"
                f" got max_shift={self.max_shift}"
            )
        duration = self.duration_s
        am_min, fm_min = self.am_hz[0], self.fm_oct_per_s[0]
        if 2.0 / am_min > duration * (1 + 1e-9):
            raise ValueError(
                f"AM rate {am_min} Hz needs at least 2 periods = {round(2.0 / am_min, 3)} s but "
                f"the signal is {round(duration, 3)} s long; use n_samples >= "
                f"{math.ceil(2.0 * self.sr / am_min)} or raise the lower end of am_hz"
            )
        sweep = self.bandwidth_oct / fm_min
        if sweep > duration * (1 + 1e-9):
            raise ValueError(
                f"FM rate {fm_min} oct/s takes {round(sweep, 3)} s to sweep the "
                f"{self.bandwidth_oct}-octave bandwidth but the signal is {round(duration, 3)} s "
                f"long; use n_samples >= "
                f"{math.ceil(sweep * self.sr)} or raise the lower end of fm_oct_per_s"
            )
        top = self.carrier_hz * 2.0 ** (self.bandwidth_oct / 2.0)
        if top >= self.sr / 2.0:
            raise ValueError(
                f"the chirp reaches carrier_hz * 2**(bandwidth_oct / 2) = {top:.4g} Hz, at or "
                f"above the Nyquist frequency sr / 2 = {self.sr / 2:.4g} Hz; lower carrier_hz or "
                f"raise sr"
            )

    @property
    def duration_s(self) -> float:
        """Signal duration in seconds."""
        return self.n_samples / self.sr

    @property
    def n_params(self) -> int:
        """Number of synth parameters U (Table 11: dim(theta_synth) = 2)."""
        return len(self.param_names)

    def theta_to_params(self, theta: Tensor, validate: bool = True) -> tuple[Tensor, Tensor]:
        """``(B, 2)`` normalised theta -> ``(am_hz, fm_oct_per_s)``, each ``(B,)``, log-uniform.

        ``validate=False`` skips the (data-dependent) check that theta lies in [0, 1], e.g.
        under ``torch.func.vmap``.
        """
        _check_theta(theta, self.n_params, check_values=validate)
        am = log_uniform(theta[:, 0], *self.am_hz)
        fm = log_uniform(theta[:, 1], *self.fm_oct_per_s)
        return am, fm

    def params_to_theta(self, am_hz: Tensor, fm_oct_per_s: Tensor) -> Tensor:
        """Inverse of :meth:`theta_to_params`: physical values -> ``(B, 2)`` theta in [0, 1]."""
        am_hz, fm_oct_per_s = torch.as_tensor(am_hz), torch.as_tensor(fm_oct_per_s)
        for name, value, (low, high) in (
            ("am_hz", am_hz, self.am_hz),
            ("fm_oct_per_s", fm_oct_per_s, self.fm_oct_per_s),
        ):
            if bool(((value < low * (1 - 1e-6)) | (value > high * (1 + 1e-6))).any()):
                raise ValueError(f"{name} values must lie in the preset's range [{low}, {high}]")
        theta_am = inverse_log_uniform(am_hz, *self.am_hz)
        theta_fm = inverse_log_uniform(fm_oct_per_s, *self.fm_oct_per_s)
        return torch.stack([theta_am, theta_fm], dim=-1).clamp(0.0, 1.0).reshape(-1, 2)

    def build(self, random_shift: bool = True, validate: bool = True) -> ChirpletSynth:
        """A :class:`ChirpletSynth` for this configuration."""
        return ChirpletSynth(self, random_shift=random_shift, validate=validate)


@dataclass(frozen=True)
class GranularConfig:
    """Hyperparameters of the granular chirp-texture synth (Section 4.2; Table 10 "Decoder").

    Attributes:
        name: preset name.
        sr: sample rate in Hz (Table 10: 8192).
        n_samples: signal length N (Table 10: 32768).
        n_grains: maximum number of grains G (Table 10: 64).
        grain_n_samples: grain length L (Table 10: 4096).
        pitch_hz: (min, max) grain centre frequency, drawn log-uniformly (Table 10: 256-2048).
        slope_scale_oct_per_s: s0 in ``gamma = s0 tan(warp (2 theta - 1) pi / 2)``.
        slope_warp: keeps the tangent finite (0.95).
        normalize: "rms" or "none".
        target_rms: the RMS after normalisation.
    """

    name: str = "granular"
    sr: float = 8192.0
    n_samples: int = 32768
    n_grains: int = 64
    grain_n_samples: int = 4096
    pitch_hz: tuple[float, float] = (256.0, 2048.0)
    slope_scale_oct_per_s: float = 8192.0 / (12 * 256) / 4
    slope_warp: float = 0.95
    normalize: Normalize = "rms"
    target_rms: float = DEFAULT_TARGET_RMS

    kind: ClassVar[str] = "granular"
    param_names: ClassVar[tuple[str, ...]] = ("density", "slope_oct_per_s")

    def __post_init__(self) -> None:
        _check_positive("sr", self.sr)
        _check_positive("slope_scale_oct_per_s", self.slope_scale_oct_per_s)
        _check_positive("target_rms", self.target_rms)
        _check_range("pitch_hz", self.pitch_hz)
        if not isinstance(self.n_grains, int) or self.n_grains < 1:
            raise ValueError(f"n_grains must be a positive integer, got n_grains={self.n_grains}")
        if not isinstance(self.grain_n_samples, int) or self.grain_n_samples < 2:
            raise ValueError(f"grain_n_samples must be an integer >= 2, got {self.grain_n_samples}")
        if not isinstance(self.n_samples, int) or self.n_samples < self.grain_n_samples:
            raise ValueError(
                f"n_samples={self.n_samples} is shorter than one grain "
                f"(grain_n_samples={self.grain_n_samples}); use a longer signal or shorter grains"
            )
        if not 0.0 < self.slope_warp < 1.0:
            raise ValueError(f"slope_warp must lie in (0, 1), got slope_warp={self.slope_warp}")
        if self.pitch_hz[1] >= self.sr / 2.0:
            raise ValueError(
                f"pitch_hz max {self.pitch_hz[1]} Hz is at or above the Nyquist frequency "
                f"sr / 2 = {self.sr / 2:.4g} Hz; lower pitch_hz or raise sr"
            )
        if self.normalize not in ("rms", "none"):
            raise ValueError(f"normalize must be 'rms' or 'none', got {self.normalize!r}")

    @property
    def duration_s(self) -> float:
        """Signal duration in seconds."""
        return self.n_samples / self.sr

    @property
    def n_params(self) -> int:
        """Number of synth parameters U (Table 10: dim(theta_synth) = 2)."""
        return len(self.param_names)

    @property
    def max_slope_oct_per_s(self) -> float:
        """Steepest grain chirp rate, reached at theta_slope = 0 or 1."""
        return self.slope_scale_oct_per_s * math.tan(self.slope_warp * math.pi / 2.0)

    def theta_to_params(self, theta: Tensor, validate: bool = True) -> tuple[Tensor, Tensor]:
        """``(B, 2)`` theta -> ``(density, slope_oct_per_s)``; density is theta_density itself.

        ``validate=False`` skips the check that theta lies in [0, 1].
        """
        _check_theta(theta, self.n_params, check_values=validate)
        slope = grain_slope(theta[:, 1], self.slope_scale_oct_per_s, self.slope_warp)
        return theta[:, 0], slope

    def params_to_theta(self, density: Tensor, slope_oct_per_s: Tensor) -> Tensor:
        """Inverse of :meth:`theta_to_params`."""
        density, slope = torch.as_tensor(density), torch.as_tensor(slope_oct_per_s)
        if bool(((density < 0) | (density > 1)).any()):
            raise ValueError("density must lie in [0, 1]")
        if bool((slope.abs() > self.max_slope_oct_per_s * (1 + 1e-6)).any()):
            raise ValueError(
                f"slope_oct_per_s must lie in +-{self.max_slope_oct_per_s:.4g} oct/s for this "
                "preset"
            )
        u = torch.atan(slope / self.slope_scale_oct_per_s) / (self.slope_warp * math.pi / 2.0)
        theta = torch.stack([density, (u + 1.0) / 2.0], dim=-1)
        return theta.clamp(0.0, 1.0).reshape(-1, 2)

    def build(self, validate: bool = True) -> GranularSynth:
        """A :class:`GranularSynth` for this configuration."""
        return GranularSynth(self, validate=validate)


#: a synth configuration (each preset of :mod:`scrapl_edu.presets` holds one)
SynthPreset = ChirpletConfig | GranularConfig


# --------------------------------------------------------------------------------------------
# Synth modules
# --------------------------------------------------------------------------------------------


class _PresetSynth(nn.Module):
    """What both synths share: a validated config and the θ <-> physical-units mapping."""

    config_type: type = object

    def __init__(self, config: SynthPreset, validate: bool = True) -> None:
        super().__init__()
        if not isinstance(config, self.config_type):
            raise TypeError(
                f"config must be a {self.config_type.__name__}, got {type(config).__name__}"
            )
        self.config = config
        self.validate = validate

    @property
    def n_params(self) -> int:
        return self.config.n_params

    def theta_to_params(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        """θ in [0, 1]^U to physical units (see the config's ``theta_to_params``)."""
        return self.config.theta_to_params(theta)


class ChirpletSynth(_PresetSynth):
    """Differentiable AM/FM chirplet synth with random time shifts (Section 4.3; Table 11).

    ``synth(theta)`` maps ``(B, 2)`` normalised ``theta = (theta_AM, theta_FM)`` in [0, 1] to
    ``(B, 1, N)`` audio, in theta's dtype and on its device. The formula is in the module
    docstring. The shift delta (``x[n] -> x[n - delta]``, positive = later) is drawn uniformly
    in ``[-max_shift, max_shift]`` for every call unless given, so two calls with the same
    theta differ: a MSS loss between them is not zero, a time-invariant JTFS loss nearly is.

    Args:
        config: the :class:`ChirpletConfig` (or use ``scrapl_edu.presets.synth_config(name).build()``).
        random_shift: if False, the synth is deterministic (delta = 0) unless ``shifts`` given.
        validate: check that theta lies in [0, 1] on every call (a data-dependent check that
            ``torch.func.vmap`` refuses; set False there).
    """

    config_type = ChirpletConfig

    def __init__(
        self, config: ChirpletConfig, random_shift: bool = True, validate: bool = True
    ) -> None:
        super().__init__(config, validate)
        self.random_shift = random_shift

    def params_to_theta(self, am_hz: Tensor, fm_oct_per_s: Tensor) -> Tensor:
        """See :meth:`ChirpletConfig.params_to_theta`."""
        return self.config.params_to_theta(am_hz, fm_oct_per_s)

    def sample_shifts(
        self, batch: int, generator: torch.Generator | None = None, seed: Seed = None
    ) -> Tensor:
        """``(batch,)`` int64 shifts, uniform in ``[-max_shift, max_shift]`` (Table 11)."""
        m = self.config.max_shift

        def fn(count: int, gen: torch.Generator | None) -> Tensor:
            return torch.randint(-m, m + 1, (count,), generator=gen, dtype=torch.int64)

        return _draw(batch, seed, generator, fn)

    def forward(
        self,
        theta: Tensor,
        shifts: Tensor | int | None = None,
        generator: torch.Generator | None = None,
        seed: Seed = None,
    ) -> Tensor:
        """Synthesize ``(B, 1, N)`` audio from ``(B, 2)`` theta.

        Args:
            theta: normalised parameters in [0, 1]; raises ValueError outside or on bad shape.
            shifts: explicit shifts in samples (int or ``(B,)``); overrides the random draw.
            generator: source of the random shifts (default: torch's global generator).
            seed: an int, or one int per example, instead of ``generator``.
        """
        cfg = self.config
        am, fm = cfg.theta_to_params(theta, validate=self.validate)
        batch = theta.shape[0]
        if shifts is None:
            if self.random_shift and cfg.max_shift > 0:
                shifts = self.sample_shifts(batch, generator=generator, seed=seed)
            else:
                shifts = 0
        shifts = torch.as_tensor(shifts, device=theta.device).to(theta.dtype).reshape(-1, 1)
        if shifts.shape[0] not in (1, batch):
            raise ValueError(f"shifts must be an int or have one entry per example ({batch})")
        n = torch.arange(cfg.n_samples, dtype=theta.dtype, device=theta.device)
        t = (n - cfg.n_samples // 2 - shifts) / cfg.sr  # (B or 1, N)
        x = chirplet(t, cfg.carrier_hz, am[:, None], fm[:, None], cfg.bandwidth_oct, cfg.sigma0)
        if cfg.normalize == "rms":
            x = normalize_rms(x, cfg.target_rms)
        return x.unsqueeze(1)


@dataclass(frozen=True)
class GrainDraw:
    """The random part of a granular texture: where each grain starts and at what pitch.

    Attributes:
        onsets: ``(B, G)`` int64 start samples in ``[0, N - L]``.
        pitch_hz: ``(B, G)`` centre frequencies (instantaneous frequency at the grain's middle).
    """

    onsets: Tensor
    pitch_hz: Tensor


class GranularSynth(_PresetSynth):
    """Differentiable granular chirp-texture synth (Section 4.2; Table 10).

    ``synth(theta)`` maps ``(B, 2)`` ``theta = (theta_density, theta_slope)`` in [0, 1] to
    ``(B, 1, N)`` audio: ``G`` Hann-windowed exponential-chirp grains of ``L`` samples, with
    amplitudes :func:`grain_amplitudes` (density) and chirp rate :func:`grain_slope` (slope),
    at random onsets and log-uniform random pitches (:meth:`sample_grains`), each divided by
    ``sqrt(pitch)``, summed, then RMS-normalised. ``validate`` as in :class:`ChirpletSynth`.
    """

    config_type = GranularConfig

    def params_to_theta(self, density: Tensor, slope_oct_per_s: Tensor) -> Tensor:
        """See :meth:`GranularConfig.params_to_theta`."""
        return self.config.params_to_theta(density, slope_oct_per_s)

    def sample_grains(
        self, batch: int, generator: torch.Generator | None = None, seed: Seed = None
    ) -> GrainDraw:
        """Draw onsets (uniform in ``[0, N - L]``) and log-uniform pitches for ``batch`` sounds."""
        cfg = self.config
        g = cfg.n_grains

        def fn(count: int, gen: torch.Generator | None) -> Tensor:
            onsets = torch.randint(
                0, cfg.n_samples - cfg.grain_n_samples + 1, (count, g), generator=gen
            )
            u = torch.rand((count, g), generator=gen, dtype=torch.float64)
            return torch.cat([onsets.to(torch.float64), u], dim=1)

        packed = _draw(batch, seed, generator, fn)
        onsets = packed[:, :g].to(torch.int64)
        pitch = log_uniform(packed[:, g:], *cfg.pitch_hz)
        return GrainDraw(onsets=onsets, pitch_hz=pitch)

    def forward(
        self,
        theta: Tensor,
        draw: GrainDraw | None = None,
        generator: torch.Generator | None = None,
        seed: Seed = None,
    ) -> Tensor:
        """Synthesize ``(B, 1, N)`` audio from ``(B, 2)`` theta.

        Args:
            theta: normalised ``(theta_density, theta_slope)`` in [0, 1].
            draw: explicit onsets and pitches (:class:`GrainDraw`); overrides the random draw.
            generator: source of the random draw (default: torch's global generator).
            seed: an int, or one int per example, instead of ``generator``.
        """
        cfg = self.config
        density, slope = cfg.theta_to_params(theta, validate=self.validate)
        batch, dtype, device = theta.shape[0], theta.dtype, theta.device
        if draw is None:
            draw = self.sample_grains(batch, generator=generator, seed=seed)
        onsets = draw.onsets.to(device=device, dtype=torch.int64)
        pitch = draw.pitch_hz.to(device=device, dtype=dtype)
        shape = (batch, cfg.n_grains)
        if tuple(onsets.shape) != shape or tuple(pitch.shape) != shape:
            raise ValueError(
                f"draw must hold (batch, n_grains) = {shape} onsets and pitches, got "
                f"{tuple(onsets.shape)} and {tuple(pitch.shape)}"
            )
        if self.validate and bool(
            ((onsets < 0) | (onsets > cfg.n_samples - cfg.grain_n_samples)).any()
        ):
            raise ValueError("draw.onsets must lie in [0, n_samples - grain_n_samples]")
        length = cfg.grain_n_samples
        k = torch.arange(length, dtype=dtype, device=device)
        t = (k - length / 2) / cfg.sr  # grain time, 0 at its middle
        phase = exp_chirp_phase(t, pitch[..., None], slope[:, None, None])  # (B, G, L)
        amps = grain_amplitudes(density, cfg.n_grains)  # (B, G)
        envelope = hann_window(length, dtype=dtype, device=device)
        grains = torch.sin(2.0 * math.pi * phase) * envelope
        grains = grains * (amps / torch.sqrt(pitch))[..., None]
        index = (onsets[..., None] + torch.arange(length, device=device)).reshape(batch, -1)
        x = torch.zeros(batch, cfg.n_samples, dtype=dtype, device=device)
        x = x.scatter_add(1, index, grains.reshape(batch, -1))
        if cfg.normalize == "rms":
            x = normalize_rms(x, cfg.target_rms)
        return x.unsqueeze(1)


# the drum synth (Section 4.4) lives in drums.py; its public names (drums.__all__) re-exported
from scrapl_edu.synths.drums import *  # noqa: E402, F403
