"""What the synths share: the paper's chirplet and grain maths as pure functions, validation
helpers, seeded random draws and the module base class (Sections 4.2-4.3).

The formulas, and where they differ from the authors' implementation, are written out in the
package docstring (:mod:`scrapl_edu.synths`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

import torch
from torch import Tensor, nn

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


def check_range(name: str, value: tuple[float, float]) -> None:
    if len(value) != 2:
        raise ValueError(f"{name} must be a (low, high) pair, got {value!r}")
    low, high = value
    if not (math.isfinite(low) and math.isfinite(high) and 0.0 < low <= high):
        raise ValueError(f"{name} must satisfy 0 < low <= high, got {name}=({low}, {high})")


def check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive, got {name}={value}")


def check_theta(theta: Tensor, n_params: int, check_values: bool = True) -> None:
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


def draw_random(
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


class SynthConfig(Protocol):
    """What :class:`PresetSynth` reads of a synth's configuration (``ChirpletConfig``,
    ``GranularConfig``): the number U of parameters θ and the map θ in [0, 1]^U -> physical
    units. A protocol here, so that this module needs none of the configurations (they
    import it)."""

    @property
    def n_params(self) -> int: ...

    def theta_to_params(self, theta: Tensor, validate: bool = True) -> tuple[Tensor, Tensor]: ...


class PresetSynth(nn.Module):
    """What both synths share: a validated config and the θ <-> physical-units mapping."""

    config_type: type = object

    def __init__(self, config: SynthConfig, validate: bool = True) -> None:
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
