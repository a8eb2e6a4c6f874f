"""The AM/FM chirplet synth (Section 4.3, Table 11): its configuration and its module.

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
    chirplet,
    draw_random,
    inverse_log_uniform,
    log_uniform,
    normalize_rms,
)


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
        check_positive("sr", self.sr)
        if not isinstance(self.n_samples, int) or self.n_samples < 2:
            raise ValueError(f"n_samples must be an integer >= 2, got n_samples={self.n_samples}")
        check_positive("carrier_hz", self.carrier_hz)
        check_positive("bandwidth_oct", self.bandwidth_oct)
        check_positive("sigma0", self.sigma0)
        check_positive("target_rms", self.target_rms)
        check_range("am_hz", self.am_hz)
        check_range("fm_oct_per_s", self.fm_oct_per_s)
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
        check_theta(theta, self.n_params, check_values=validate)
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


class ChirpletSynth(PresetSynth):
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
    config: ChirpletConfig

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

        return draw_random(batch, seed, generator, fn)

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
