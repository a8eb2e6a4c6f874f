"""The granular chirp-texture synth (Section 4.2, Table 10): its configuration and its module.

The formula is in the package docstring (:mod:`scrapl_edu.synths`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from scrapl_edu.synths.common import (
    DEFAULT_TARGET_RMS,
    Normalize,
    PresetSynth,
    Seed,
    check_positive,
    check_range,
    check_theta,
    draw_random,
    exp_chirp_phase,
    grain_amplitudes,
    grain_slope,
    hann_window,
    log_uniform,
    normalize_rms,
)


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
        check_positive("sr", self.sr)
        check_positive("slope_scale_oct_per_s", self.slope_scale_oct_per_s)
        check_positive("target_rms", self.target_rms)
        check_range("pitch_hz", self.pitch_hz)
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
        check_theta(theta, self.n_params, check_values=validate)
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


@dataclass(frozen=True)
class GrainDraw:
    """The random part of a granular texture: where each grain starts and at what pitch.

    Attributes:
        onsets: ``(B, G)`` int64 start samples in ``[0, N - L]``.
        pitch_hz: ``(B, G)`` centre frequencies (instantaneous frequency at the grain's middle).
    """

    onsets: Tensor
    pitch_hz: Tensor


class GranularSynth(PresetSynth):
    """Differentiable granular chirp-texture synth (Section 4.2; Table 10).

    ``synth(theta)`` maps ``(B, 2)`` ``theta = (theta_density, theta_slope)`` in [0, 1] to
    ``(B, 1, N)`` audio: ``G`` Hann-windowed exponential-chirp grains of ``L`` samples, with
    amplitudes :func:`grain_amplitudes` (density) and chirp rate :func:`grain_slope` (slope),
    at random onsets and log-uniform random pitches (:meth:`sample_grains`), each divided by
    ``sqrt(pitch)``, summed, then RMS-normalised. ``validate`` as in :class:`ChirpletSynth`.
    """

    config_type = GranularConfig
    config: GranularConfig

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

        packed = draw_random(batch, seed, generator, fn)
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
