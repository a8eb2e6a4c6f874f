"""The paper's drum metrics (Section 4.4; Table 4 and Appendix D, Tables 8-9).

The paper scores drum matching with audio distances (Table 4: MSS log + linear, JTFS, FAD)
and with three frame-wise perceptual features, each split into the **transient** and the
**decay** of the hit (Tables 8-9): loudness, loudness-weighted spectral centroid and
loudness-weighted spectral flatness. This module computes all of them except FAD: FAD
(Frechet Audio Distance; the paper's is on EnCodec embeddings) needs a pretrained neural audio model
and its weights, which scrapl-edu does not ship; it is out of scope.

Framing (the authors' feature extractor, scaled to any sample rate). At 44.1 kHz the
authors frame the aligned signal from its sample 0 with 2048-sample frames and a 512-sample
hop and call frames 0-1 the transient (samples 0-2559, about 58 ms) and frames 2-65 the
decay (from 23 ms to 0.80 s). Here the frame and hop are kept **in seconds**:

    frame_length = round(sr * 2048 / 44100),   hop_length = round(sr * 512 / 44100)

and the frame indices are kept (transient = frames [0, 2), decay = frames [2, 66)), so the
portions cover the same stretches of time at every rate. At 8192 Hz: frames of 380 samples
(46.4 ms), hop 95 (11.6 ms), transient 0-475 samples (58.0 ms), decay to 6555 samples
(0.800 s); the frequency resolution, 8192 / 380 = 21.6 Hz, is the paper's 44100 / 2048. A
signal must hold ``decay_frames[1] - 1`` hops plus a frame after the onset (0.80 s).

Each frame (periodic Hann window ``w``, length ``L``, ``Y = rfft(w x)``) gives the one-sided
power per bin ``S_k = c_k |Y_k|^2 / (L sum(w^2))`` (``c_k = 2`` except at DC and Nyquist), whose
sum is the frame's window-compensated mean square, and from it:

- **loudness** (dB): ``offset + 10 log10(sum_k G_k S_k + 1e-12)`` with ``G_k`` the power gain
  of a perceptual frequency weighting at bin ``k``:

  * ``weighting="K"`` (the default): the K-weighting of ITU-R BS.1770 (:func:`k_weighting_db`),
    ``offset = -0.691``: frame-wise LKFS, the perceptual loudness of the feature extractor the
    paper cites (Shier et al., 2024: a BS.1770 meter). A 0 dBFS sine at 1 kHz reads -3.01. The standard defines the
    weighting by two biquads at 48 kHz; their frequency response is evaluated exactly at each
    bin's frequency in Hz, so the same curve applies at any sample rate up to 48 kHz, with
    no filter to redesign (a bilinear redesign would warp near Nyquist at 8192 Hz).
  * ``weighting="A"``: IEC 61672 A-weighting (:func:`a_weighting_db`, closed form), offset 0.
    Offered for comparison; it is *not* the default because it discounts the bass drum's body
    (40-70 Hz) by 20-30 dB, where K-weighting takes off 3-6 dB: an A-weighted loudness barely
    sees a kick's fundamental, which the paper's metric does.
  * ``weighting="none"``: plain RMS in dB (offset 0); a sine of amplitude 1 reads -3.01 dB.

  None of them is a full loudness model (no masking, no sones).
- **spectral centroid** (semitones, MIDI scale ``12 log2(f / 440) + 69``, the "perceptually
  scaled" centroid): ``f_c = sum_k f_k M_k / sum_k M_k`` with magnitudes
  ``M_k = sqrt(S_k + amin)``.
- **spectral flatness** (dB): ``10 log10(exp(mean_k log(S_k + amin)) / mean_k (S_k + amin))``,
  0 dB for a flat spectrum, about -2.5 dB (``e^-gamma``) for white noise, very negative
  for a tone. (Shier et al.'s extractor takes ``20 log10`` of the same power ratio, i.e.
  twice these numbers.)

``amin = 1e-12`` (-120 dB per bin) floors the spectrum, so a silent frame is defined: it
reads as a flat floor (flatness 0 dB, centroid at the mean bin frequency, loudness -120 dB
plus the offset).

Per portion (transient, decay) the summary of each feature is (the "mean" features of the
authors' extractor): the plain mean over its frames for loudness, and the **loudness-weighted**
mean for centroid and flatness, with weights ``10 ** ((loudness - offset) / 10)`` (the
frame's weighted power), so that near-silent frames of the decay do not dominate its centroid.
The error between a target ``x`` and a prediction ``x_hat`` is the L1 distance between the
summaries, per example (:func:`drum_feature_errors`); ``framewise=True`` takes instead the
weighted mean over the portion's frames of the frame-by-frame L1 distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from scrapl_edu.losses import mss_loss, rho_transform

__all__ = [
    "DRUM_FEATURES",
    "DRUM_METRICS",
    "DRUM_PORTIONS",
    "DrumFeatureConfig",
    "a_weighting_db",
    "audio_distances",
    "drum_feature_errors",
    "drum_features",
    "frame_features",
    "k_weighting_db",
]

#: the frame-wise features (Tables 8-9 columns)
DRUM_FEATURES: tuple[str, ...] = ("loudness", "centroid", "flatness")
#: the two portions of a hit
DRUM_PORTIONS: tuple[str, ...] = ("transient", "decay")
#: the six metric names, ``f"{feature}_{portion}"`` (Table 8: transient, Table 9: decay)
DRUM_METRICS: tuple[str, ...] = tuple(f"{f}_{p}" for p in DRUM_PORTIONS for f in DRUM_FEATURES)

#: the authors' framing at 44.1 kHz: 2048-sample frames, hop 512 (in seconds here)
PAPER_FRAME_S = 2048.0 / 44100.0
PAPER_HOP_S = 512.0 / 44100.0
#: floor of the loudness power (-120 dB)
_POWER_FLOOR = 1e-12

Weighting = Literal["K", "A", "none"]

#: ITU-R BS.1770-4 K-weighting at 48 kHz: stage 1 (high shelf, +4 dB above ~2 kHz) and stage 2
#: (RLB high-pass, ~38 Hz), ``(b0, b1, b2), (1, a1, a2)``
_K_STAGES = (
    (
        (1.53512485958697, -2.69169618940638, 1.19839281085285),
        (-1.69065929318241, 0.73248077421585),
    ),
    ((1.0, -2.0, 1.0), (-1.99004745483398, 0.99007225036621)),
)
_K_SR = 48000.0
#: BS.1770's offset: LKFS = -0.691 + 10 log10(mean square of the K-weighted signal)
_K_OFFSET = -0.691


@dataclass(frozen=True)
class DrumFeatureConfig:
    """How the drum features frame a signal (the authors' framing, kept in seconds).

    Attributes:
        sr: sample rate in Hz.
        frame_s: frame duration in seconds (paper: 2048 / 44100 s = 46.4 ms).
        hop_s: hop in seconds (paper: 512 / 44100 s = 11.6 ms).
        transient_frames: half-open frame range ``[start, stop)`` of the transient (0, 2).
        decay_frames: half-open frame range of the decay (2, 66): frames 2-65.
        weighting: ``"K"`` (BS.1770 K-weighted, LKFS), ``"A"`` (A-weighted) or ``"none"``
            (plain RMS in dB) loudness.
        amin: per-bin power floor of the spectral features.
    """

    sr: float
    frame_s: float = PAPER_FRAME_S
    hop_s: float = PAPER_HOP_S
    transient_frames: tuple[int, int] = (0, 2)
    decay_frames: tuple[int, int] = (2, 66)
    weighting: Weighting = "K"
    amin: float = 1e-12

    def __post_init__(self) -> None:
        if not (isinstance(self.sr, (int, float)) and math.isfinite(self.sr) and self.sr > 0):
            raise ValueError(f"sr must be a positive sample rate in Hz, got sr={self.sr!r}")
        if not (math.isfinite(self.frame_s) and self.frame_s > 0):
            raise ValueError(f"frame_s must be a positive duration, got frame_s={self.frame_s}")
        if self.frame_length < 4:
            raise ValueError(
                f"frame_s={self.frame_s} s is {self.frame_length} samples at sr={self.sr}; "
                "a frame needs >= 4 samples"
            )
        if not (math.isfinite(self.hop_s) and self.hop_s > 0) or self.hop_length < 1:
            raise ValueError(f"hop_s must be at least one sample, got hop_s={self.hop_s}")
        for name in ("transient_frames", "decay_frames"):
            start, stop = getattr(self, name)
            if not (isinstance(start, int) and isinstance(stop, int) and 0 <= start < stop):
                raise ValueError(
                    f"{name} must be a frame range (start, stop) with 0 <= start < stop, got "
                    f"{name}={getattr(self, name)!r}"
                )
        if self.weighting not in ("K", "A", "none"):
            raise ValueError(f"weighting must be 'K', 'A' or 'none', got {self.weighting!r}")
        if not (math.isfinite(self.amin) and self.amin > 0):
            raise ValueError(f"amin must be positive, got amin={self.amin}")

    @property
    def frame_length(self) -> int:
        """Frame length in samples, ``round(frame_s * sr)`` (380 at 8192 Hz, 2048 at 44.1k)."""
        return int(round(self.frame_s * self.sr))

    @property
    def hop_length(self) -> int:
        """Hop in samples, ``round(hop_s * sr)`` (95 at 8192 Hz, 512 at 44.1 kHz)."""
        return int(round(self.hop_s * self.sr))

    @property
    def n_frames(self) -> int:
        """Frames the features need: up to the end of the later portion."""
        return max(self.transient_frames[1], self.decay_frames[1])

    @property
    def min_samples(self) -> int:
        """Samples needed after the onset: ``(n_frames - 1) * hop + frame`` (0.80 s)."""
        return (self.n_frames - 1) * self.hop_length + self.frame_length

    def portion_seconds(self, portion: str) -> tuple[float, float]:
        """``(start, end)`` in seconds from the onset of the samples a portion's frames cover."""
        start, stop = self._frames(portion)
        return (
            start * self.hop_length / self.sr,
            ((stop - 1) * self.hop_length + self.frame_length) / self.sr,
        )

    def _frames(self, portion: str) -> tuple[int, int]:
        if portion == "transient":
            return self.transient_frames
        if portion == "decay":
            return self.decay_frames
        raise ValueError(f"portion must be one of {DRUM_PORTIONS}, got {portion!r}")


def a_weighting_db(freq_hz: Tensor) -> Tensor:
    """A-weighting gain in dB at ``freq_hz`` (IEC 61672-1 analog response, 0 dB at 1 kHz).

    ``R_A(f) = 12194^2 f^4 / ((f^2 + 20.6^2) sqrt((f^2 + 107.7^2)(f^2 + 737.9^2)) (f^2 + 12194^2))``
    and ``A(f) = 20 log10 R_A(f) + 2.00``; ``-inf`` at 0 Hz.
    """
    f2 = torch.as_tensor(freq_hz, dtype=torch.float64) ** 2
    num = 12194.0**2 * f2**2
    den = (f2 + 20.6**2) * torch.sqrt((f2 + 107.7**2) * (f2 + 737.9**2)) * (f2 + 12194.0**2)
    return 20.0 * torch.log10(num / den) + 2.0


def k_weighting_db(freq_hz: Tensor) -> Tensor:
    """K-weighting gain in dB at ``freq_hz`` (ITU-R BS.1770-4, both stages; +0.70 dB at 1 kHz).

    The standard's two 48 kHz biquads evaluated at ``w = 2 pi f / 48000``: the curve is
    defined up to 24 kHz; higher frequencies take the 24 kHz value (+4.04 dB).
    """
    f = torch.as_tensor(freq_hz, dtype=torch.float64).clamp(max=_K_SR / 2)
    z1 = torch.polar(torch.ones_like(f), -2.0 * math.pi * f / _K_SR)  # e^{-jw}
    gain = torch.ones_like(f)
    for (b0, b1, b2), (a1, a2) in _K_STAGES:
        num = b0 + b1 * z1 + b2 * z1 * z1
        den = 1.0 + a1 * z1 + a2 * z1 * z1
        gain = gain * (num / den).abs() ** 2
    return 10.0 * torch.log10(gain)


def _as_batch(x: Tensor) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError("x must be a torch.Tensor of shape (B, 1, N) or (B, N)")
    if x.dim() == 3 and x.shape[1] == 1:
        x = x[:, 0]
    if x.dim() != 2:
        raise ValueError(f"x must have shape (B, 1, N) or (B, N), got {tuple(x.shape)}")
    return x


def _crop(x: Tensor, onset: int | Tensor, config: DrumFeatureConfig) -> Tensor:
    """The signal from its onset on (one onset or one per example), all cropped to one length."""
    batch, n = x.shape
    onsets = torch.as_tensor(onset, device=x.device).to(torch.int64).reshape(-1)
    if onsets.numel() not in (1, batch):
        raise ValueError(f"onset must be an int or one onset per example ({batch})")
    if bool((onsets < 0).any()):
        raise ValueError(f"onset must be >= 0 samples, got {onsets.tolist()}")
    length = n - int(onsets.max())
    if length < config.min_samples:
        raise ValueError(
            f"the signal after the onset has {length} samples but the features need "
            f"{config.min_samples} ({config.min_samples / config.sr:.3f} s: frames "
            f"0-{config.n_frames - 1} of {config.frame_length} samples, hop "
            f"{config.hop_length}); use a longer signal or an earlier onset"
        )
    index = onsets[:, None] + torch.arange(length, device=x.device)
    return torch.gather(x, 1, index.expand(batch, -1))


def frame_features(
    x: Tensor, config: DrumFeatureConfig, onset: int | Tensor = 0
) -> dict[str, Tensor]:
    """Frame-wise features of ``x`` (``(B, 1, N)`` or ``(B, N)``) from ``onset`` on.

    Returns ``(B, F)`` float64 tensors (``F = config.n_frames``): ``"loudness"`` (dB),
    ``"centroid"`` (semitones, MIDI scale), ``"centroid_hz"``, ``"flatness"`` (dB) and
    ``"weight"`` (the frame's weighted power, ``10 ** ((loudness - offset) / 10)``).
    Definitions in the module docstring.
    """
    x = _crop(_as_batch(x).to(torch.float64), onset, config)
    length, hop = config.frame_length, config.hop_length
    frames = x.unfold(-1, length, hop)[:, : config.n_frames]  # (B, F, L)
    window = torch.hann_window(length, periodic=True, dtype=torch.float64, device=x.device)
    spectrum = torch.fft.rfft(frames * window, dim=-1)
    bins = spectrum.shape[-1]
    scale = torch.full((bins,), 2.0, dtype=torch.float64, device=x.device)
    scale[0] = 1.0
    if length % 2 == 0:
        scale[-1] = 1.0  # the Nyquist bin appears once
    power = scale * spectrum.abs() ** 2 / (length * window.pow(2).sum())  # sums to mean square
    freqs = torch.arange(bins, dtype=torch.float64, device=x.device) * config.sr / length
    offset = 0.0
    if config.weighting == "K":
        gain = torch.pow(10.0, k_weighting_db(freqs).to(x.device) / 10.0)
        offset = _K_OFFSET
    elif config.weighting == "A":
        gain = torch.pow(10.0, a_weighting_db(freqs).to(x.device) / 10.0)  # 0 at 0 Hz
    else:
        gain = torch.ones_like(freqs)
    weight = (power * gain).sum(-1) + _POWER_FLOOR
    floored = power + config.amin
    magnitude = floored.sqrt()
    centroid_hz = (magnitude * freqs).sum(-1) / magnitude.sum(-1)
    flatness = torch.exp(floored.log().mean(-1)) / floored.mean(-1)
    return {
        "loudness": offset + 10.0 * torch.log10(weight),
        "centroid": 12.0 * torch.log2(centroid_hz / 440.0) + 69.0,
        "centroid_hz": centroid_hz,
        "flatness": 10.0 * torch.log10(flatness),
        "weight": weight,
    }


def _portion_mean(values: Tensor, weight: Tensor | None) -> Tensor:
    if weight is None:
        return values.mean(-1)
    return (values * weight).sum(-1) / weight.sum(-1)


def drum_features(
    x: Tensor, config: DrumFeatureConfig, onset: int | Tensor = 0
) -> dict[str, Tensor]:
    """The six summaries of Tables 8-9 per example: ``{f"{feature}_{portion}": (B,)}``.

    Loudness: mean over the portion's frames (dB). Centroid (semitones) and flatness (dB):
    loudness-weighted mean over the portion's frames. ``onset`` is where the aligned hit
    starts (``DrumConfig.onset_samples``: 0 in micro, the pre-roll in meso).
    """
    feats = frame_features(x, config, onset)
    out: dict[str, Tensor] = {}
    for portion in DRUM_PORTIONS:
        start, stop = config._frames(portion)
        w = feats["weight"][:, start:stop]
        for name in DRUM_FEATURES:
            values = feats[name][:, start:stop]
            out[f"{name}_{portion}"] = _portion_mean(values, None if name == "loudness" else w)
    return out


def drum_feature_errors(
    x_hat: Tensor,
    x: Tensor,
    config: DrumFeatureConfig,
    onset: int | Tensor = 0,
    framewise: bool = False,
) -> dict[str, Tensor]:
    """L1 errors between prediction and target features: ``{metric: (B,)}`` (Tables 8-9).

    ``framewise=False`` (the paper's): ``|summary(x_hat) - summary(x)|`` for each of
    :data:`DRUM_METRICS`. ``framewise=True``: the mean over the portion's frames of the
    frame-by-frame ``|f_t(x_hat) - f_t(x)|``, weighted by the *target's* loudness weights for
    centroid and flatness. Units: dB (loudness, flatness) and semitones (centroid).
    """
    x_hat, x = _as_batch(x_hat), _as_batch(x)
    if x_hat.shape != x.shape:
        raise ValueError(
            f"x_hat and x must have the same shape, got {tuple(x_hat.shape)} and {tuple(x.shape)}"
        )
    if not framewise:
        pred, target = drum_features(x_hat, config, onset), drum_features(x, config, onset)
        return {name: (pred[name] - target[name]).abs() for name in DRUM_METRICS}
    pred, target = frame_features(x_hat, config, onset), frame_features(x, config, onset)
    out: dict[str, Tensor] = {}
    for portion in DRUM_PORTIONS:
        start, stop = config._frames(portion)
        w = target["weight"][:, start:stop]
        for name in DRUM_FEATURES:
            diff = (pred[name][:, start:stop] - target[name][:, start:stop]).abs()
            out[f"{name}_{portion}"] = _portion_mean(diff, None if name == "loudness" else w)
    return out


def audio_distances(
    x_hat: Tensor,
    x: Tensor,
    *,
    jtfs: nn.Module | None = None,
    rho: Any = None,
    eps: float = 1e-3,
    mss: nn.Module | None = None,
) -> dict[str, Tensor]:
    """Per-example audio distances of Table 4: ``{"mss": (B,), "jtfs": (B,)}``.

    ``"mss"``: the MSS log + linear distance (:func:`scrapl_edu.losses.mss_loss`
    ``"log_linear"``: L1 of log and of linear STFT magnitudes at FFT sizes 2048 ... 64, via
    auraloss), or the module given as ``mss``. ``"jtfs"`` (only when a ``jtfs`` is passed, a
    :class:`scrapl_edu.JTFS` or anything mapping ``(B, 1, N)`` to ``(B, P, ...)``):
    ``||rho(phi(x_hat)) - rho(phi(x))||^2`` summed over all paths and coefficients, per
    example: the full JTFS loss of Eq. (3) (:class:`scrapl_edu.losses.JTFSLoss`, whose batch
    mean it is), with ``rho`` None or ``"log1p"`` (Table 12 uses log1p). FAD is not computed
    (see the module docstring).
    """
    x_hat3 = _as_batch(x_hat)[:, None]
    x3 = _as_batch(x)[:, None]
    if x_hat3.shape != x3.shape:
        raise ValueError(
            f"x_hat and x must have the same shape, got {tuple(x_hat3.shape)} and {tuple(x3.shape)}"
        )
    mss = mss_loss("log_linear") if mss is None else mss
    out: dict[str, Tensor] = {}
    with torch.no_grad():
        out["mss"] = torch.stack(
            [mss(x_hat3[i : i + 1], x3[i : i + 1]).reshape(()) for i in range(x3.shape[0])]
        )
        if jtfs is not None:
            pred = rho_transform(jtfs(x_hat3), rho, eps)
            target = rho_transform(jtfs(x3), rho, eps)
            out["jtfs"] = (pred - target).pow(2).reshape(pred.shape[0], -1).sum(dim=1)
    return out
