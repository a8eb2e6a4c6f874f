"""A differentiable drum synth: bass drum, snare, tom and hi-hat (Section 4.4; Table 12).

The paper's third task matches a differentiable Roland TR-808 (Shier et al., 2024): a
snare-style voice with 14 continuous parameters, "two sine oscillators with a pitch envelope,
noise through a high-pass biquad, a tanh gain stage". This module builds that voice from
scratch (its signal flow and parameter list follow the authors' description and the public
timbre-remapping synth it was adapted from, read for the facts; the code is written afresh),
and makes it a bass drum, a snare, a tom or a hi-hat by the *range* each parameter covers
(:data:`DRUM_VOICES`). The recordings the paper matched are commercial, so the targets here
are rendered by the synth itself from random theta, as for the chirplet.

The voice, with ``t`` in seconds from the onset (``t < 0`` is silence)::

    a(t)      = 1 - exp(-t / attack_s)                     # exponential attack
    d(t; T)   = exp(-ln(1000) t / T)                       # exponential decay: -60 dB at t = T
    f_k(t)    = f_k (1 + mod_k d(t; T_pitch))              # pitch envelope, k = 1, 2
    phi_k(t)  = f_k (t + mod_k T_pitch (1 - d(t; T_pitch)) / ln(1000))     # its integral
    osc_k     = g_k a(t) d(t; T_k) sin(2 pi phi_k(t))
    noise     = g_n HP_{fc, Q}[ a(t) d(t; T_n) w(t) ]     # white noise w, high-pass biquad
    x(t)      = tanh(g_drive (osc_1 + osc_2 + noise))      # gain stage, |x| < 1

with gains ``g = 10 ** (dB / 20)``. Decay times are T60s: the time an envelope takes to fall
by 60 dB, so a decay's -20 dB point is at ``T / 3``. The phase is integrated in closed form
(no cumulative sum), so the pitch at every sample is exact.

The 14 parameters (:data:`DRUM_PARAM_NAMES`, in this order; units in :data:`DRUM_PARAM_UNITS`)::

    osc1_hz, osc1_mod, osc2_hz, osc2_mod   # oscillator frequencies (Hz), pitch-envelope depth
    pitch_decay_s                          # T60 of the pitch envelope (s), shared
    osc1_decay_s, osc2_decay_s, noise_decay_s           # T60 of each amplitude envelope (s)
    noise_hp_hz, noise_q                   # high-pass cut-off (Hz) and Q of the noise
    osc1_gain_db, osc2_gain_db, noise_gain_db           # mixer gains (dB)
    drive_db                               # tanh input gain (dB)

theta in ``[0, 1]`` maps onto each parameter's range log-uniformly for frequencies, decay
times and Q (``low (high/low) ** theta``) and linearly for modulation depths and gains (dB).

The envelopes, the pitch-envelope phase and the high-pass biquad (applied in the frequency
domain, exact for its impulse response truncated where the tail is below 1e-10 of its peak)
are in :mod:`scrapl_edu.synths.drum_dsp`.

Noise: by default (``noise_seed`` an int) the white noise is one fixed buffer, the same for
every hit, as the authors' synth (``buffer_noise``), so that a sound is a deterministic
function of theta (and of the shift). ``noise_seed=None`` draws fresh noise at every call.
The noise is read from the onset on, so a shifted hit is the aligned one delayed.

Micro and meso (Section 4.4): ``shift_max_s = 0`` renders every hit with its onset at sample
0 ("micro", aligned); ``shift_max_s > 0`` (the paper: +-2048 samples at 44.1 kHz,
:data:`PAPER_SHIFT_S` = 46.4 ms) puts the onset at ``max_shift + delta`` with delta drawn
uniformly in ``[-max_shift, max_shift]`` samples ("meso"). The aligned onset is then
``max_shift`` (:attr:`DrumConfig.onset_samples`): a pre-roll of silence, as the authors pad
their targets by the largest negative shift.

Scales (:data:`DRUM_PRESETS`):

- **Classroom** (``drums_micro``, ``drums_meso`` and the single voices ``drums_bass_drum`` ...):
  8192 Hz, 8192 samples. The paper's 1 s duration (Table 12: 44100 samples at 44.1 kHz) is
  kept in seconds, so the decay window of the drum metrics (frames 2-65 of 2048/512 at
  44.1 kHz, up to 0.80 s) fits, and the +-46 ms shift is +-380 samples. 8192 samples is
  twice the classroom chirplet's 4096, so a one-path step of the lab's drum JTFS
  (:data:`scrapl_edu.presets.DRUMS_JTFS`) keeps a run to minutes on one core. The price is
  the band: Nyquist is 4096 Hz, which keeps the bass
  drum (40-70 Hz), the tom and snare bodies (80-450 Hz) and the snare's noise, but band-limits
  the hi-hat to 1.8-4 kHz (an 808 hat's energy is at 6-10 kHz): a duller hat.
- **Paper** (``drums_paper_micro``, ``drums_paper_meso``): Table 12, 44100 Hz, 44100 samples,
  +-2048 samples in meso; the hi-hat sits at 5-9 kHz there.

``voice="kit"`` (the ``drums_*`` kit presets) covers all four voices with one synth: each
parameter's range is the union of the voices' ranges, and :func:`sample_drum_theta` draws a
voice per example and theta inside that voice's box, as the paper's data set mixes bass drums,
snares, toms and hi-hats matched by one 14-parameter synth. A prediction may leave the voice
boxes; where it combines a hi-hat pitch with a bass drum's pitch-envelope depth, the sweep's
first milliseconds can exceed Nyquist and alias (the configuration check covers each voice's
box, not every corner of the union).

Bad configurations are refused when the config is built, before any work, with a message
naming the setting: an inverted range, a decay longer than the signal after the latest onset,
a shift that leaves no signal, a cut-off or oscillator sweep at or above Nyquist.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

import torch
from torch import Tensor, nn

from scrapl_edu.synths.common import check_theta
from scrapl_edu.synths.drum_dsp import (
    biquad_fft_filter,
    biquad_fft_length,
    biquad_highpass_coeffs,
    biquad_response,
    exp_decay,
    pitch_env_phase,
)

__all__ = [
    "DRUM_PARAM_NAMES",
    "DRUM_PARAM_SCALES",
    "DRUM_PARAM_UNITS",
    "DRUM_PRESETS",
    "DRUM_VOICES",
    "PAPER_SHIFT_S",
    "DrumConfig",
    "DrumSynth",
    "biquad_fft_filter",
    "biquad_fft_length",
    "biquad_highpass_coeffs",
    "biquad_response",
    "exp_decay",
    "get_drum_preset",
    "make_drum_synth",
    "pitch_env_phase",
    "sample_drum_theta",
    "voice_ranges",
]

#: the paper's meso shift, +-2048 samples at 44.1 kHz (Section 4.4), in seconds
PAPER_SHIFT_S = 2048.0 / 44100.0

_PARAMS: tuple[tuple[str, str, str], ...] = (
    ("osc1_hz", "Hz", "log"),
    ("osc1_mod", "ratio", "linear"),
    ("osc2_hz", "Hz", "log"),
    ("osc2_mod", "ratio", "linear"),
    ("pitch_decay_s", "s", "log"),
    ("osc1_decay_s", "s", "log"),
    ("osc2_decay_s", "s", "log"),
    ("noise_decay_s", "s", "log"),
    ("noise_hp_hz", "Hz", "log"),
    ("noise_q", "", "log"),
    ("osc1_gain_db", "dB", "linear"),
    ("osc2_gain_db", "dB", "linear"),
    ("noise_gain_db", "dB", "linear"),
    ("drive_db", "dB", "linear"),
)
#: the 14 parameter names, in theta's column order
DRUM_PARAM_NAMES: tuple[str, ...] = tuple(p[0] for p in _PARAMS)
#: unit of each parameter ("ratio": pitch-envelope depth, f starts at f0 (1 + mod))
DRUM_PARAM_UNITS: dict[str, str] = {p[0]: p[1] for p in _PARAMS}
#: how theta in [0, 1] maps onto the range: "log" (log-uniform) or "linear"
DRUM_PARAM_SCALES: dict[str, str] = {p[0]: p[2] for p in _PARAMS}
#: the four voices (plus "kit", the union of their ranges)
DRUM_VOICES: tuple[str, ...] = ("bass_drum", "snare", "tom", "hihat")

_DECAYS = ("pitch_decay_s", "osc1_decay_s", "osc2_decay_s", "noise_decay_s")
Normalize = Literal["none", "rms"]
Seed = int | Sequence[int] | Tensor | None
Range = tuple[float, float]


def _bass_drum_ranges(sr: float) -> dict[str, Range]:
    """The bass drum's ranges (they do not depend on ``sr``)."""
    return {
        "osc1_hz": (40.0, 70.0),
        "osc1_mod": (1.0, 4.0),
        "osc2_hz": (80.0, 160.0),
        "osc2_mod": (0.5, 3.0),
        "pitch_decay_s": (0.02, 0.15),
        "osc1_decay_s": (0.25, 0.85),
        "osc2_decay_s": (0.03, 0.15),
        "noise_decay_s": (0.005, 0.03),
        "noise_hp_hz": (400.0, 1500.0),
        "noise_q": (0.5, 1.5),
        "osc1_gain_db": (-6.0, 0.0),
        "osc2_gain_db": (-30.0, -12.0),
        "noise_gain_db": (-40.0, -20.0),
        "drive_db": (0.0, 12.0),
    }


def _snare_ranges(sr: float) -> dict[str, Range]:
    """The snare's ranges; its noise cut-off is capped at ``0.35 sr``."""
    noise_top = 0.35 * sr
    return {
        "osc1_hz": (150.0, 250.0),
        "osc1_mod": (0.0, 1.0),
        "osc2_hz": (280.0, 450.0),
        "osc2_mod": (0.0, 1.0),
        "pitch_decay_s": (0.01, 0.08),
        "osc1_decay_s": (0.05, 0.3),
        "osc2_decay_s": (0.04, 0.2),
        "noise_decay_s": (0.1, 0.4),
        "noise_hp_hz": (800.0, min(3000.0, noise_top)),
        "noise_q": (0.5, 2.0),
        "osc1_gain_db": (-12.0, -3.0),
        "osc2_gain_db": (-18.0, -6.0),
        "noise_gain_db": (-12.0, 0.0),
        "drive_db": (0.0, 12.0),
    }


def _tom_ranges(sr: float) -> dict[str, Range]:
    """The tom's ranges; its noise cut-off is capped at ``0.35 sr``."""
    noise_top = 0.35 * sr
    return {
        "osc1_hz": (80.0, 250.0),
        "osc1_mod": (0.2, 1.5),
        "osc2_hz": (120.0, 400.0),
        "osc2_mod": (0.2, 1.5),
        "pitch_decay_s": (0.05, 0.3),
        "osc1_decay_s": (0.15, 0.7),
        "osc2_decay_s": (0.08, 0.4),
        "noise_decay_s": (0.01, 0.05),
        "noise_hp_hz": (1000.0, min(3000.0, noise_top)),
        "noise_q": (0.5, 1.5),
        "osc1_gain_db": (-6.0, 0.0),
        "osc2_gain_db": (-18.0, -6.0),
        "noise_gain_db": (-40.0, -20.0),
        "drive_db": (0.0, 9.0),
    }


def _hihat_ranges(sr: float) -> dict[str, Range]:
    """The hi-hat's ranges: fractions of ``top = min(sr / 2, 11025)`` Hz, near the top of
    the band."""
    top = min(sr / 2.0, 11025.0)
    return {
        "osc1_hz": (0.45 * top, 0.6 * top),
        "osc1_mod": (0.0, 0.15),
        "osc2_hz": (0.6 * top, 0.75 * top),
        "osc2_mod": (0.0, 0.15),
        "pitch_decay_s": (0.005, 0.03),
        "osc1_decay_s": (0.01, 0.06),
        "osc2_decay_s": (0.01, 0.06),
        "noise_decay_s": (0.03, 0.25),
        "noise_hp_hz": (0.55 * top, 0.8 * top),
        "noise_q": (0.5, 1.5),
        "osc1_gain_db": (-30.0, -15.0),
        "osc2_gain_db": (-30.0, -15.0),
        "noise_gain_db": (-6.0, 0.0),
        "drive_db": (0.0, 6.0),
    }


#: each voice's ranges as a function of the sample rate
_VOICE_RANGES: dict[str, Callable[[float], dict[str, Range]]] = {
    "bass_drum": _bass_drum_ranges,
    "snare": _snare_ranges,
    "tom": _tom_ranges,
    "hihat": _hihat_ranges,
}


def voice_ranges(voice: str, sr: float) -> dict[str, Range]:
    """Physical ``(low, high)`` range of each parameter for one voice at sample rate ``sr``.

    The bass drum, snare and tom do not depend on ``sr``; the snare's and tom's noise cut-off
    is capped at ``0.35 sr``. The hi-hat lives near the top of the band: its oscillators and
    noise cut-off are fractions of ``top = min(sr / 2, 11025)`` Hz (5-9 kHz at 44.1 kHz,
    1.8-3.3 kHz at 8192 Hz). ``voice="kit"`` returns the union of the four voices' ranges.
    """
    if voice == "kit":
        per_voice = [voice_ranges(v, sr) for v in DRUM_VOICES]
        return {
            name: (min(r[name][0] for r in per_voice), max(r[name][1] for r in per_voice))
            for name in DRUM_PARAM_NAMES
        }
    if voice not in DRUM_VOICES:
        raise ValueError(f"voice must be one of {DRUM_VOICES + ('kit',)}, got voice={voice!r}")
    return _VOICE_RANGES[voice](sr)


# --------------------------------------------------------------------------------------------
# theta <-> physical units
# --------------------------------------------------------------------------------------------


def _to_physical(theta01: Tensor, low: float, high: float, scale: str) -> Tensor:
    if scale == "log":
        if low == high:
            return torch.full_like(theta01, low)
        return low * torch.exp(theta01 * math.log(high / low))
    return low + (high - low) * theta01


def _to_theta(value: Tensor, low: float, high: float, scale: str) -> Tensor:
    if low == high:
        return torch.zeros_like(value)
    if scale == "log":
        return torch.log(value / low) / math.log(high / low)
    return (value - low) / (high - low)


def _generators(batch: int, seed: Seed, generator: torch.Generator | None) -> list:
    """One generator for the batch, or one per example when ``seed`` gives one seed each."""
    if seed is None:
        return [generator]
    if isinstance(seed, int):
        return [torch.Generator().manual_seed(seed)]
    seeds = [int(s) for s in (seed.tolist() if isinstance(seed, Tensor) else seed)]
    if len(seeds) != batch:
        raise ValueError(f"seed must be an int or one seed per example ({batch}), got {len(seeds)}")
    return [torch.Generator().manual_seed(s) for s in seeds]


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrumConfig:
    """Hyperparameters of the drum synth (Section 4.4; Table 12 "Decoder (Synth)").

    Attributes:
        name: preset name.
        voice: ``"bass_drum"``, ``"snare"``, ``"tom"``, ``"hihat"`` or ``"kit"`` (all four:
            the union of their ranges); sets each parameter's range (:func:`voice_ranges`).
        sr: sample rate in Hz (Table 12: 44100; classroom: 8192).
        n_samples: signal length N (Table 12: 44100, i.e. 1 s).
        shift_max_s: largest random time shift in seconds; 0 = aligned ("micro"),
            :data:`PAPER_SHIFT_S` (+-2048 samples at 44.1 kHz) = "meso".
        attack_s: time constant of the exponential attack ``1 - exp(-t / attack_s)``.
        noise_seed: seed of the fixed white-noise buffer, or None for fresh noise each call.
        normalize: ``"none"`` (the default: the level is part of the sound and of the loudness
            metric) or ``"rms"`` (each example to ``target_rms``).
        target_rms: the RMS after ``"rms"`` normalisation.
        range_overrides: ``{name: (low, high)}`` replacing the voice's range of a parameter
            (stored as a sorted tuple of pairs, so the config stays hashable).
    """

    name: str = "drums_micro"
    voice: str = "kit"
    sr: float = 8192.0
    n_samples: int = 8192
    shift_max_s: float = 0.0
    attack_s: float = 0.001
    noise_seed: int | None = 0
    normalize: Normalize = "none"
    target_rms: float = 0.05
    range_overrides: tuple[tuple[str, Range], ...] | Mapping[str, Range] = ()

    kind: ClassVar[str] = "drums"
    param_names: ClassVar[tuple[str, ...]] = DRUM_PARAM_NAMES

    def __post_init__(self) -> None:
        overrides = self.range_overrides
        if isinstance(overrides, Mapping):
            overrides = overrides.items()
        try:
            pairs = tuple(sorted((str(k), (float(v[0]), float(v[1]))) for k, v in overrides))
        except (TypeError, ValueError, IndexError) as err:
            raise ValueError(
                "range_overrides must map parameter names to (low, high) pairs, got "
                f"{self.range_overrides!r}"
            ) from err
        object.__setattr__(self, "range_overrides", pairs)
        self.validate()

    # ------------------------------------------------------------------ validation
    def validate(self) -> None:
        """Refuse a bad configuration with a ValueError naming the setting (called on init)."""
        if self.voice not in DRUM_VOICES + ("kit",):
            raise ValueError(
                f"voice must be one of {DRUM_VOICES + ('kit',)}, got voice={self.voice!r}"
            )
        if not (isinstance(self.sr, (int, float)) and math.isfinite(self.sr) and self.sr > 0):
            raise ValueError(f"sr must be a positive sample rate in Hz, got sr={self.sr!r}")
        if isinstance(self.n_samples, bool) or not isinstance(self.n_samples, int):
            raise ValueError(f"n_samples must be an integer, got n_samples={self.n_samples!r}")
        if self.n_samples < 16:
            raise ValueError(f"n_samples must be >= 16, got n_samples={self.n_samples}")
        if not (math.isfinite(self.shift_max_s) and self.shift_max_s >= 0):
            raise ValueError(
                "shift_max_s must be >= 0 seconds (0 = aligned), got "
                f"shift_max_s={self.shift_max_s}"
            )
        if 2 * self.max_shift >= self.n_samples:
            raise ValueError(
                f"shift_max_s={self.shift_max_s} s ({self.max_shift} samples) is larger than the "
                f"signal allows: onsets span 2 * shift = {2 * self.max_shift} samples but the "
                f"signal has n_samples={self.n_samples}; use shift_max_s < "
                f"{self.n_samples / (2 * self.sr):.4g} s or a longer signal"
            )
        if not (math.isfinite(self.attack_s) and 0 < self.attack_s < self.available_s):
            raise ValueError(
                f"attack_s must lie in (0, {self.available_s:.4g}) s (the signal after the latest "
                f"onset), got attack_s={self.attack_s}"
            )
        if self.noise_seed is not None and (
            isinstance(self.noise_seed, bool) or not isinstance(self.noise_seed, int)
        ):
            raise ValueError(f"noise_seed must be an int or None, got {self.noise_seed!r}")
        if self.normalize not in ("none", "rms"):
            raise ValueError(f"normalize must be 'none' or 'rms', got {self.normalize!r}")
        if not (math.isfinite(self.target_rms) and self.target_rms > 0):
            raise ValueError(f"target_rms must be positive, got target_rms={self.target_rms}")
        for name, _ in self.range_overrides:
            if name not in DRUM_PARAM_NAMES:
                raise ValueError(
                    f"range_overrides: unknown parameter {name!r}; choose from {DRUM_PARAM_NAMES}"
                )
        ranges = self.param_ranges
        for name, (low, high) in ranges.items():
            _check_param_range(name, low, high)
        nyquist = self.sr / 2.0
        for name in _DECAYS:
            high = ranges[name][1]
            if high > self.available_s * (1 + 1e-9):
                raise ValueError(
                    f"{name} max {high} s (a T60) is longer than the signal after the latest "
                    f"onset, {self.available_s:.4g} s (n_samples={self.n_samples} at sr={self.sr}"
                    f", shift_max_s={self.shift_max_s}); shorten the {name} range or lengthen "
                    "the signal"
                )
        if ranges["noise_hp_hz"][1] >= nyquist:
            raise ValueError(
                f"noise_hp_hz max {ranges['noise_hp_hz'][1]} Hz is at or above Nyquist "
                f"sr / 2 = {nyquist:.6g} Hz; lower the noise_hp_hz range or raise sr"
            )
        boxes = {v: self.voice_ranges_in_config(v) for v in self.voices}
        for voice, box in boxes.items():
            for k in (1, 2):
                peak = box[f"osc{k}_hz"][1] * (1.0 + max(box[f"osc{k}_mod"][1], 0.0))
                if peak >= nyquist:
                    raise ValueError(
                        f"osc{k}_hz max {box[f'osc{k}_hz'][1]:.6g} Hz swept up by osc{k}_mod max "
                        f"{box[f'osc{k}_mod'][1]:.4g} reaches {peak:.6g} Hz at the onset "
                        f"({voice}), at or above Nyquist sr / 2 = {nyquist:.6g} Hz; lower the "
                        f"osc{k}_hz or osc{k}_mod range or raise sr"
                    )

    # ------------------------------------------------------------------ derived
    @property
    def max_shift(self) -> int:
        """The largest shift in samples, ``round(shift_max_s * sr)`` (+-380 at 8192 Hz meso)."""
        return int(round(self.shift_max_s * self.sr))

    @property
    def onset_samples(self) -> int:
        """Onset of an aligned (unshifted) hit: ``max_shift`` samples of pre-roll (0 in micro)."""
        return self.max_shift

    @property
    def duration_s(self) -> float:
        """Signal duration in seconds."""
        return self.n_samples / self.sr

    @property
    def available_s(self) -> float:
        """Seconds from the latest possible onset (``2 max_shift``) to the end of the signal."""
        return (self.n_samples - 2 * self.max_shift) / self.sr

    @property
    def n_params(self) -> int:
        """Number of synth parameters U (Table 12: dim(theta_synth) = 14)."""
        return len(self.param_names)

    @property
    def voices(self) -> tuple[str, ...]:
        """The voices this config renders: all four for ``"kit"``, else its one voice."""
        return DRUM_VOICES if self.voice == "kit" else (self.voice,)

    @property
    def param_ranges(self) -> dict[str, Range]:
        """Each parameter's physical ``(low, high)``: the voice's ranges, then the overrides."""
        ranges = voice_ranges(self.voice, self.sr)
        ranges.update(dict(self.range_overrides))
        return ranges

    def voice_ranges_in_config(self, voice: str) -> dict[str, Range]:
        """``voice``'s ranges clipped into this config's ranges (its box inside a kit)."""
        if voice not in self.voices:
            raise ValueError(f"voice must be one of {self.voices} for this config, got {voice!r}")
        if voice == self.voice:
            return self.param_ranges
        own, kit = voice_ranges(voice, self.sr), self.param_ranges
        out = {}
        for name in DRUM_PARAM_NAMES:
            lo, hi = kit[name]
            out[name] = (min(max(own[name][0], lo), hi), min(max(own[name][1], lo), hi))
        return out

    def voice_box(self, voice: str) -> tuple[Tensor, Tensor]:
        """``(low, high)`` float64 (14,) tensors: ``voice``'s box in this config's theta."""
        box, ranges = self.voice_ranges_in_config(voice), self.param_ranges
        low, high = [], []
        for name in DRUM_PARAM_NAMES:
            scale, (lo, hi) = DRUM_PARAM_SCALES[name], ranges[name]
            pair = torch.tensor(box[name], dtype=torch.float64)
            t = _to_theta(pair, lo, hi, scale).clamp(0.0, 1.0)
            low.append(t[0])
            high.append(t[1])
        return torch.stack(low), torch.stack(high)

    def with_ranges(self, **ranges: Range) -> DrumConfig:
        """A copy with some parameter ranges replaced, e.g. ``cfg.with_ranges(noise_q=(1, 2))``."""
        merged = dict(self.range_overrides)
        merged.update(ranges)
        return replace(self, range_overrides=merged)

    # ------------------------------------------------------------------ mapping
    def theta_to_params(self, theta: Tensor, validate: bool = True) -> dict[str, Tensor]:
        """``(B, 14)`` theta in [0, 1] -> ``{name: (B,) tensor}`` in physical units."""
        check_theta(theta, self.n_params, check_values=validate)
        ranges = self.param_ranges
        return {
            name: _to_physical(theta[:, i], *ranges[name], DRUM_PARAM_SCALES[name])
            for i, name in enumerate(DRUM_PARAM_NAMES)
        }

    def params_to_theta(self, params: Mapping[str, Tensor | float]) -> Tensor:
        """Inverse of :meth:`theta_to_params`: ``{name: value}`` -> ``(B, 14)`` theta."""
        missing = [n for n in DRUM_PARAM_NAMES if n not in params]
        if missing:
            raise ValueError(f"params is missing {missing}")
        ranges, cols = self.param_ranges, []
        for name in DRUM_PARAM_NAMES:
            value = torch.as_tensor(params[name], dtype=torch.float64).reshape(-1)
            lo, hi = ranges[name]
            tol = 1e-9 * max(abs(lo), abs(hi), 1.0)
            if bool(((value < lo - tol) | (value > hi + tol)).any()):
                raise ValueError(f"{name} values must lie in the config's range [{lo}, {hi}]")
            cols.append(_to_theta(value, lo, hi, DRUM_PARAM_SCALES[name]))
        return torch.stack(torch.broadcast_tensors(*cols), dim=-1).clamp(0.0, 1.0)

    def build(self, random_shift: bool = True, validate: bool = True) -> DrumSynth:
        """A :class:`DrumSynth` for this configuration."""
        return DrumSynth(self, random_shift=random_shift, validate=validate)


def _check_param_range(name: str, low: float, high: float) -> None:
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"the {name} range must be finite, got ({low}, {high})")
    if low > high:
        raise ValueError(
            f"the {name} range ({low}, {high}) is inverted: it must satisfy low <= high"
        )
    if DRUM_PARAM_SCALES[name] == "log" and low <= 0:
        raise ValueError(f"the {name} range must be positive (log-scaled), got ({low}, {high})")
    if name.endswith("_mod") and low < -1.0:
        raise ValueError(
            f"the {name} range must have low >= -1 (the frequency f0 (1 + mod) must stay >= 0), "
            f"got ({low}, {high})"
        )


# --------------------------------------------------------------------------------------------
# The synth
# --------------------------------------------------------------------------------------------


class DrumSynth(nn.Module):
    """Differentiable drum voice (Section 4.4): ``(B, 14)`` theta in [0, 1] -> ``(B, 1, N)`` audio.

    The formulas are in the module docstring. The shift delta (onset at ``max_shift + delta``)
    is drawn uniformly in ``[-max_shift, max_shift]`` at each call unless given, as for
    :class:`scrapl_edu.synths.ChirpletSynth`.

    Args:
        config: a :class:`DrumConfig` (or use ``DRUM_PRESETS[name].build()``).
        random_shift: if False, every hit is aligned (onset ``max_shift``) unless ``shifts``.
        validate: check that theta lies in [0, 1] on every call (set False for gradcheck's
            finite differences at the edges, or under ``torch.func.vmap``).
    """

    def __init__(
        self, config: DrumConfig, random_shift: bool = True, validate: bool = True
    ) -> None:
        super().__init__()
        if not isinstance(config, DrumConfig):
            raise TypeError(f"config must be a DrumConfig, got {type(config).__name__}")
        self.config = config
        self.random_shift = random_shift
        self.validate = validate
        ranges = config.param_ranges
        self.n_fft = biquad_fft_length(
            config.n_samples, ranges["noise_hp_hz"], ranges["noise_q"], config.sr
        )
        if config.noise_seed is not None:
            gen = torch.Generator().manual_seed(config.noise_seed)
            buffer = 2.0 * torch.rand(config.n_samples, generator=gen, dtype=torch.float64) - 1.0
            self.register_buffer("noise", buffer, persistent=False)
        else:
            self.noise = None

    @property
    def n_params(self) -> int:
        return self.config.n_params

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.config.param_names

    def theta_to_params(self, theta: Tensor) -> dict[str, Tensor]:
        """See :meth:`DrumConfig.theta_to_params`."""
        return self.config.theta_to_params(theta, validate=self.validate)

    def params_to_theta(self, params: Mapping[str, Tensor | float]) -> Tensor:
        """See :meth:`DrumConfig.params_to_theta`."""
        return self.config.params_to_theta(params)

    def sample_shifts(
        self, batch: int, generator: torch.Generator | None = None, seed: Seed = None
    ) -> Tensor:
        """``(batch,)`` int64 shifts, uniform in ``[-max_shift, max_shift]`` samples."""
        return self._draw_shifts(batch, _generators(batch, seed, generator))

    def _draw_shifts(self, batch: int, gens: list) -> Tensor:
        m = self.config.max_shift
        count = batch if len(gens) == 1 else 1
        return torch.cat([torch.randint(-m, m + 1, (count,), generator=g) for g in gens])

    def forward(
        self,
        theta: Tensor,
        shifts: Tensor | int | None = None,
        generator: torch.Generator | None = None,
        seed: Seed = None,
        noise: Tensor | None = None,
    ) -> Tensor:
        """Synthesize ``(B, 1, N)`` audio from ``(B, 14)`` theta.

        Args:
            theta: normalised parameters in [0, 1]; ValueError outside or on a bad shape.
            shifts: explicit shifts in samples (int or ``(B,)``); overrides the random draw.
            generator: source of the random shifts (and of the noise when ``noise_seed`` is
                None); default: torch's global generator.
            seed: an int, or one int per example, instead of ``generator``.
            noise: explicit ``(B, N)`` or ``(N,)`` white noise, read from the onset on.
        """
        cfg = self.config
        p = cfg.theta_to_params(theta, validate=self.validate)
        batch, dtype, device = theta.shape[0], theta.dtype, theta.device
        gens = _generators(batch, seed, generator)
        if shifts is None:
            if self.random_shift and cfg.max_shift > 0:
                shifts = self._draw_shifts(batch, gens)
            else:
                shifts = 0
        shifts = torch.as_tensor(shifts, device=device).to(torch.int64).reshape(-1, 1)
        if shifts.shape[0] not in (1, batch):
            raise ValueError(f"shifts must be an int or have one entry per example ({batch})")
        if bool((shifts.abs() > cfg.max_shift).any()):
            raise ValueError(
                f"shifts must lie in [-max_shift, max_shift] = [-{cfg.max_shift}, "
                f"{cfg.max_shift}] samples (shift_max_s={cfg.shift_max_s})"
            )
        # samples since the onset (negative before it) and the time in seconds, 0 before it
        since = torch.arange(cfg.n_samples, device=device) - (cfg.max_shift + shifts)
        t = since.clamp_min(0).to(dtype) / cfg.sr  # (B or 1, N)
        attack = -torch.expm1(-t / cfg.attack_s)  # 0 at and before the onset

        def col(name: str) -> Tensor:
            return p[name][:, None]

        def db(name: str) -> Tensor:
            return torch.pow(10.0, col(name) / 20.0)

        x = torch.zeros(batch, cfg.n_samples, dtype=dtype, device=device)
        for k in (1, 2):
            phase = pitch_env_phase(t, col(f"osc{k}_hz"), col(f"osc{k}_mod"), col("pitch_decay_s"))
            env = attack * exp_decay(t, col(f"osc{k}_decay_s"))
            x = x + db(f"osc{k}_gain_db") * env * torch.sin(2.0 * math.pi * phase)

        # the noise is read from the onset on: a shifted hit is the aligned one, delayed
        w = self._noise(noise, batch, gens, dtype, device).expand(batch, -1)
        w = torch.gather(w, 1, since.clamp_min(0).expand(batch, -1))
        shaped = attack * exp_decay(t, col("noise_decay_s")) * w
        coeffs = biquad_highpass_coeffs(col("noise_hp_hz"), col("noise_q"), cfg.sr)
        filtered = biquad_fft_filter(shaped, coeffs, self.n_fft)
        # a causal filter of a signal that starts at the onset is 0 before it; the mask removes
        # the FFT's round-off there, so a hit is exactly silent before its onset
        x = x + db("noise_gain_db") * filtered * (since >= 0)

        x = torch.tanh(db("drive_db") * x)
        if cfg.normalize == "rms":
            rms = torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + 1e-12)
            x = x * (cfg.target_rms / rms)
        return x.unsqueeze(1)

    def _noise(
        self,
        noise: Tensor | None,
        batch: int,
        gens: list,
        dtype: torch.dtype,
        device: torch.device,
    ) -> Tensor:
        n = self.config.n_samples
        if noise is not None:
            w = torch.as_tensor(noise).to(dtype=dtype, device=device)
            w = w.reshape(1, -1) if w.ndim == 1 else w
            if w.ndim != 2 or w.shape[1] != n or w.shape[0] not in (1, batch):
                raise ValueError(f"noise must have shape (N,) or (B, N) = ({batch}, {n})")
            return w
        if self.noise is not None:
            return self.noise.to(dtype=dtype, device=device).reshape(1, n)
        count = batch if len(gens) == 1 else 1
        draws = [2.0 * torch.rand((count, n), generator=g, dtype=torch.float64) - 1.0 for g in gens]
        return torch.cat(draws).to(dtype=dtype, device=device)


# --------------------------------------------------------------------------------------------
# Drawing targets, presets
# --------------------------------------------------------------------------------------------


def sample_drum_theta(
    config: DrumConfig,
    n: int,
    generator: torch.Generator | None = None,
    voices: Sequence[str] | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    """Draw ``n`` target parameter vectors: a voice per example, then theta in its box.

    For a single-voice config every example is that voice and theta is uniform in
    ``[0, 1]^14`` (log-uniform in Hz, seconds and Q). For ``"kit"`` each example's voice is
    drawn uniformly among ``voices`` (default: all four) and theta uniformly inside that
    voice's box (:meth:`DrumConfig.voice_box`).

    Returns:
        ``(theta (n, 14), voice_index (n,))``; ``voice_index`` indexes :data:`DRUM_VOICES`.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive number of examples, got n={n!r}")
    allowed = config.voices if voices is None else tuple(voices)
    bad = [v for v in allowed if v not in config.voices]
    if bad or not allowed:
        raise ValueError(f"voices must be a non-empty subset of {config.voices}, got {voices!r}")
    pick = torch.randint(0, len(allowed), (n,), generator=generator)
    u = torch.rand((n, config.n_params), generator=generator, dtype=torch.float64)
    boxes = [config.voice_box(v) for v in allowed]
    low = torch.stack([boxes[i][0] for i in pick.tolist()])
    high = torch.stack([boxes[i][1] for i in pick.tolist()])
    theta = (low + (high - low) * u).clamp(0.0, 1.0)
    index = torch.tensor([DRUM_VOICES.index(allowed[i]) for i in pick.tolist()])
    return theta.to(dtype), index


def _build_presets() -> dict[str, DrumConfig]:
    presets: dict[str, DrumConfig] = {
        # classroom kit (8192 Hz, 1 s): aligned ("micro") and shifted by +-46 ms ("meso")
        "drums_micro": DrumConfig(name="drums_micro"),
        "drums_meso": DrumConfig(name="drums_meso", shift_max_s=PAPER_SHIFT_S),
        # Table 12: 44.1 kHz, 44100 samples, +-2048 samples in meso
        "drums_paper_micro": DrumConfig(name="drums_paper_micro", sr=44100.0, n_samples=44100),
        "drums_paper_meso": DrumConfig(
            name="drums_paper_meso", sr=44100.0, n_samples=44100, shift_max_s=PAPER_SHIFT_S
        ),
    }
    for voice in DRUM_VOICES:
        presets[f"drums_{voice}"] = DrumConfig(name=f"drums_{voice}", voice=voice)
    return presets


#: named drum configurations: the classroom kit (``drums_micro`` / ``drums_meso``), the
#: paper-scale kit (``drums_paper_micro`` / ``drums_paper_meso``, Table 12) and the four
#: classroom voices alone (``drums_bass_drum``, ``drums_snare``, ``drums_tom``, ``drums_hihat``)
DRUM_PRESETS: dict[str, DrumConfig] = _build_presets()


def get_drum_preset(preset: str | DrumConfig) -> DrumConfig:
    """Look a drum preset up by name (a :class:`DrumConfig` passes through)."""
    if isinstance(preset, DrumConfig):
        return preset
    try:
        return DRUM_PRESETS[preset]
    except KeyError:
        raise KeyError(
            f"unknown drum preset {preset!r}; choose one of {sorted(DRUM_PRESETS)}"
        ) from None


def make_drum_synth(preset: str | DrumConfig = "drums_micro", **overrides) -> DrumSynth:
    """Build the synth of a drum preset, e.g. ``make_drum_synth("drums_meso")``.

    ``overrides`` replace fields of the configuration (``dataclasses.replace``).
    """
    config = get_drum_preset(preset)
    if overrides:
        config = replace(config, **overrides)
    return config.build()
