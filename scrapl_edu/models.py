"""The encoder E_x of the DDSP autoencoder: audio -> synth parameters theta (Section 3.4, App. E).

The paper's encoder (Tables 10-11) is a CNN on a log1p-compressed constant-Q transform (5
octaves, 12 bins/octave, hop 256): 5 conv blocks of 128 channels, 3x3 kernels, stride 1, 2x2
pooling, PReLU, a 64-dimensional embedding and dropout 0.5 on the dense layer, 604 K parameters.

Here the time-frequency front end is pluggable: any callable ``frontend(x)`` mapping
``(B, 1, N)`` audio to ``(B, F, T)`` non-negative features (e.g. our JTFS scalogram,
``jtfs.scalogram``) or ``(B, C, F, T)``. The default, :class:`Spectrogram`, is an STFT
magnitude, so the encoder works standalone. As in the paper the features are compressed with
``log1p`` and fed to a few conv blocks; global average pooling makes the network independent
of the signal length; a linear head and a sigmoid give theta in ``(0, 1)^U``.

:class:`LogSpectrogram` is the lab's front end: the standardised ``log1p`` of
:class:`Spectrogram` (the encoder then skips its own ``log1p``). :class:`LogCQT` is the
paper's: the standardised ``log1p(U / 1e-3)`` of a constant-Q transform :class:`CQT` built
from the project's Morlet filterbank (:mod:`scrapl_edu.filters`); :func:`build_frontend`
makes either from a preset's ``frontend`` entry. :func:`modulation_transfer` and
:func:`am_resolution` say whether a front end's frame rate and windows resolve an AM rate.

:class:`Encoder` defaults to a classroom size (about 25 K parameters);
:func:`paper_encoder_kwargs` gives the paper's shape (about 0.6 M parameters).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from scrapl_edu.filters import R_PSI, compute_sigma_psi, compute_xi_max, morlet_1d

__all__ = [
    "AMResolution",
    "CQT",
    "ConvBlock",
    "Encoder",
    "LogCQT",
    "LogSpectrogram",
    "Spectrogram",
    "am_resolution",
    "build_frontend",
    "count_parameters",
    "measured_modulation_gain",
    "modulation_transfer",
    "paper_encoder_kwargs",
]


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def _as_mono(x: Tensor) -> Tensor:
    """``(B, 1, N)`` or ``(B, N)`` -> ``(B, N)``."""
    if x.ndim == 3 and x.shape[1] == 1:
        return x[:, 0]
    if x.ndim == 2:
        return x
    raise ValueError(
        f"audio must have shape (batch, 1, n_samples) or (batch, n_samples), got {tuple(x.shape)}"
    )


class Spectrogram(nn.Module):
    """STFT magnitude ``|STFT(x)|``: ``(B, 1, N)`` -> ``(B, n_fft // 2 + 1, frames)``.

    A Hann-windowed, centred ``torch.stft``; the default front end of :class:`Encoder`
    (which applies the paper's ``log1p`` afterwards).

    Args:
        n_fft: FFT size (frequency resolution ``sr / n_fft``).
        hop_length: frame hop in samples (Tables 10-11 use 256 for the CQT).
        drop_dc: drop the 0 Hz bin (silent for the synths here).
    """

    def __init__(self, n_fft: int = 256, hop_length: int = 128, drop_dc: bool = True) -> None:
        super().__init__()
        if n_fft < 2 or hop_length < 1:
            raise ValueError(f"need n_fft >= 2 and hop_length >= 1, got {n_fft}, {hop_length}")
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.drop_dc = drop_dc
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        x = _as_mono(x)
        if x.shape[-1] < self.n_fft:
            raise ValueError(
                f"signal length {x.shape[-1]} is shorter than the STFT size n_fft={self.n_fft}"
            )
        spec = torch.stft(
            x,
            self.n_fft,
            hop_length=self.hop_length,
            window=self.window.to(x.dtype),
            center=True,
            return_complex=True,
        ).abs()
        return spec[:, 1:] if self.drop_dc else spec


class LogSpectrogram(nn.Module):
    """Standardised ``log1p |STFT|``: the lab encoder's input features (Tables 10-11 "log1p").

    The paper feeds a log1p-compressed CQT to the CNN. At the synths' RMS of 0.05 these
    features are tiny (mean ~0.01, std ~0.1) and the small encoder sits on a plateau for
    hundreds of steps, so they are standardised with a mean and standard deviation measured
    once on training signals (:meth:`fit`); both are buffers, saved with the encoder.

    Args:
        n_fft, hop_length: the :class:`Spectrogram`'s.
    """

    def __init__(self, n_fft: int = 128, hop_length: int = 64) -> None:
        super().__init__()
        self.spec = Spectrogram(n_fft=n_fft, hop_length=hop_length)
        self.register_buffer("mean", torch.zeros(()))
        self.register_buffer("std", torch.ones(()))

    @torch.no_grad()
    def fit(self, x: Tensor) -> LogSpectrogram:
        """Measure the mean and standard deviation of ``log1p |STFT(x)|``; returns self."""
        f = torch.log1p(self.spec(x))
        self.mean.fill_(f.mean())
        self.std.fill_(f.std().clamp_min(1e-8))
        return self

    def forward(self, x: Tensor) -> Tensor:
        return (torch.log1p(self.spec(x)) - self.mean) / self.std


class CQT(nn.Module):
    """Constant-Q transform magnitude from Morlet wavelets: ``(B, 1, N)`` -> ``(B, bins, frames)``.

    ``n_octaves * bins_per_octave`` Morlet filters (:func:`scrapl_edu.filters.morlet_1d`,
    the JTFS's first-order design: unit L1 norm in time, neighbours crossing at
    ``r_psi``) with centres ``f_max * 2**(-k / bins_per_octave)``, applied in the Fourier
    domain, sampled every ``hop_length`` samples (rows from low to high frequency). A
    sinusoid of amplitude A at a centre frequency gives ``|U| = A / 2``.

    The paper's encoder input (Tables 10-11) is nnAudio's CQT, 5 octaves of 12 bins, hop 256
    at 8192 Hz (31.25 ms). Its lowest frequency is not stated; here the top bin sits at the
    Morlet filterbank's highest centre (:func:`scrapl_edu.filters.compute_xi_max`, 0.457 sr
    for 12 bins per octave) unless ``f_max`` is given, so 5 octaves span 0.0143-0.457 sr.

    Sampling the output every ``hop_length`` samples is exact without computing it at full
    rate: decimating ``ifft(X H)`` by D equals the inverse FFT of length N / D of the
    spectrum folded D times (summed over the D blocks), divided by D. The signal is padded
    with zeros to a multiple of ``hop_length``; boundaries are periodic.

    Args:
        sr: sample rate in Hz.
        n_octaves, bins_per_octave: the frequency axis (paper: 5, 12).
        hop_length: frame hop in samples (paper: 256 at 8192 Hz).
        f_max: centre of the top bin in Hz (default: ``compute_xi_max(bins_per_octave) * sr``).
        r_psi: amplitude at which neighbouring filters cross (:data:`scrapl_edu.filters.R_PSI`).
    """

    def __init__(
        self,
        sr: float,
        n_octaves: int = 5,
        bins_per_octave: int = 12,
        hop_length: int = 256,
        f_max: float | None = None,
        r_psi: float = R_PSI,
    ) -> None:
        super().__init__()
        if not (isinstance(sr, int | float) and sr > 0 and math.isfinite(sr)):
            raise ValueError(f"sr must be a positive sample rate in Hz, got sr={sr!r}")
        for name, v in (
            ("n_octaves", n_octaves),
            ("bins_per_octave", bins_per_octave),
            ("hop_length", hop_length),
        ):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {name}={v!r}")
        top = compute_xi_max(bins_per_octave) * sr if f_max is None else float(f_max)
        if not 0 < top < sr / 2:
            raise ValueError(f"f_max must lie in (0, sr/2 = {sr / 2:g}) Hz, got f_max={top!r}")
        self.sr = float(sr)
        self.n_octaves = n_octaves
        self.bins_per_octave = bins_per_octave
        self.hop_length = hop_length
        self.r_psi = float(r_psi)
        n_bins = n_octaves * bins_per_octave
        #: centre frequencies in Hz, low to high
        self.freqs_hz = top * 2.0 ** (-np.arange(n_bins)[::-1] / bins_per_octave)
        #: the filters' bandwidths (std. dev. of the Gaussian, Hz)
        self.sigmas_hz = np.array(
            [compute_sigma_psi(f / sr, bins_per_octave, r_psi) * sr for f in self.freqs_hz]
        )
        self._cache: dict[tuple, Tensor] = {}

    def extra_repr(self) -> str:
        lo, hi = self.freqs_hz[0], self.freqs_hz[-1]
        return (
            f"sr={self.sr:g}, {self.n_octaves} octaves x {self.bins_per_octave} bins "
            f"({lo:.3g}-{hi:.3g} Hz), hop_length={self.hop_length}"
        )

    @property
    def frame_rate_hz(self) -> float:
        """Frames per second, ``sr / hop_length``."""
        return self.sr / self.hop_length

    def filters(self, n: int) -> np.ndarray:
        """The Fourier-domain filters for signals of ``n`` samples, shape (bins, n), float64."""
        return np.stack(
            [
                morlet_1d(n, f / self.sr, s / self.sr)
                for f, s in zip(self.freqs_hz, self.sigmas_hz, strict=True)
            ]
        )

    def _bank(self, n: int, dtype: torch.dtype, device: torch.device) -> Tensor:
        key = (n, dtype, device)
        if key not in self._cache:
            self._cache[key] = torch.as_tensor(self.filters(n), dtype=dtype, device=device)
        return self._cache[key]

    def forward(self, x: Tensor) -> Tensor:
        x = _as_mono(x)
        n = x.shape[-1]
        hop = self.hop_length
        if n < 2 * hop:
            raise ValueError(
                f"signal length {n} is shorter than two hops (hop_length={hop}): nothing to frame"
            )
        pad = (-n) % hop
        if pad:
            x = torch.nn.functional.pad(x, (0, pad))
            n += pad
        real = torch.float64 if x.dtype == torch.float64 else torch.float32
        X = torch.fft.fft(x.to(real))
        Z = X[:, None, :] * self._bank(n, real, x.device)  # (B, bins, n)
        folded = Z.reshape(Z.shape[0], Z.shape[1], hop, n // hop).sum(dim=2)
        return torch.fft.ifft(folded).abs() / hop  # |y[m hop]|, (B, bins, n / hop)


class LogCQT(nn.Module):
    """Standardised ``log1p(|CQT| / eps)``: the paper's encoder input (Tables 10-11).

    The authors' code compresses nnAudio's CQT magnitude U as ``log1p(U / 1e-3)``; as in
    :class:`LogSpectrogram`, the result is then standardised with a mean and standard
    deviation measured once on training signals (:meth:`fit`), saved as buffers.

    Args:
        sr, n_octaves, bins_per_octave, hop_length, f_max: the :class:`CQT`'s.
        eps: the ``1e-3`` of ``log1p(U / eps)``.
    """

    def __init__(
        self,
        sr: float,
        n_octaves: int = 5,
        bins_per_octave: int = 12,
        hop_length: int = 256,
        f_max: float | None = None,
        eps: float = 1e-3,
    ) -> None:
        super().__init__()
        if not eps > 0:
            raise ValueError(f"eps must be positive, got eps={eps!r}")
        self.cqt = CQT(sr, n_octaves, bins_per_octave, hop_length, f_max)
        self.eps = float(eps)
        self.register_buffer("mean", torch.zeros(()))
        self.register_buffer("std", torch.ones(()))

    def _log(self, x: Tensor) -> Tensor:
        return torch.log1p(self.cqt(x) / self.eps)

    @torch.no_grad()
    def fit(self, x: Tensor) -> LogCQT:
        """Measure the mean and standard deviation of ``log1p(|CQT(x)| / eps)``; returns self."""
        f = self._log(x)
        self.mean.fill_(f.mean())
        self.std.fill_(f.std().clamp_min(1e-8))
        return self

    def forward(self, x: Tensor) -> Tensor:
        return ((self._log(x) - self.mean) / self.std).to(x.dtype)


def build_frontend(spec: dict[str, Any], sr: float) -> nn.Module:
    """The encoder front end of a preset's ``frontend`` entry (unfitted).

    ``spec["kind"]``: ``"stft"`` (the default when absent): :class:`LogSpectrogram` with the
    other keys (``n_fft``, ``hop_length``); ``"cqt"``: :class:`LogCQT` at ``sr`` with the
    other keys (``n_octaves``, ``bins_per_octave``, ``hop_length``, ``f_max``, ``eps``).
    """
    kw = dict(spec)
    kind = kw.pop("kind", "stft")
    try:
        if kind == "stft":
            return LogSpectrogram(**kw)
        if kind == "cqt":
            return LogCQT(sr, **kw)
    except TypeError as err:
        raise ValueError(f"bad {kind} front end {spec}: {err}") from None
    raise ValueError(f"unknown front end kind {kind!r} in {spec}; choose 'stft' or 'cqt'")


def _magnitude(frontend: nn.Module) -> nn.Module:
    """The linear-magnitude part of a front end (before log and standardisation)."""
    for name in ("cqt", "spec"):
        if isinstance(getattr(frontend, name, None), nn.Module):
            return getattr(frontend, name)
    return frontend


def modulation_transfer(
    frontend: nn.Module, carrier_hz: float, rate_hz: float, sr: float | None = None
) -> float:
    """How much of an AM at ``rate_hz`` on a carrier survives in the front end's envelope.

    For a channel of frequency response H (real, as for a Morlet or a Hann-windowed STFT
    bin), an AM tone ``(1 + m cos 2π f_m t) cos 2π f_c t`` leaves the channel's magnitude
    with modulation depth ``m T`` (to first order in m), with

        T(f_c, f_m) = (H(f_c + f_m) + H(f_c - f_m)) / (2 H(f_c)),

    read on the channel with the largest ``H(f_c)``. For a Gaussian of standard deviation
    σ (Hz) centred on f_c, T = exp(-f_m² / (2 σ²)): the longer the window, the less AM
    passes. :func:`measured_modulation_gain` measures the same on the module's output.

    Args:
        frontend: a :class:`CQT`, :class:`Spectrogram`, :class:`LogCQT` or
            :class:`LogSpectrogram`.
        carrier_hz, rate_hz: the carrier and the AM rate.
        sr: the sample rate (needed for an STFT only; a CQT knows its own).
    """
    mag = _magnitude(frontend)
    if isinstance(mag, CQT):
        n = 16 * int(round(mag.sr))  # a fine frequency grid: 1/16 Hz per DFT bin
        f_axis = np.arange(n) * mag.sr / n
        near = np.argsort(np.abs(np.log(mag.freqs_hz / carrier_hz)))[:2]
        rows = [morlet_1d(n, mag.freqs_hz[j] / mag.sr, mag.sigmas_hz[j] / mag.sr) for j in near]
        row = max(rows, key=lambda r: float(np.interp(carrier_hz, f_axis, r)))

        def H(f: float) -> float:
            return float(np.interp(f, f_axis, row))

    elif isinstance(mag, Spectrogram):
        if sr is None:
            raise ValueError("an STFT front end needs sr= (its sample rate in Hz)")
        w = mag.window.double().numpy()
        t = np.arange(w.size)
        centre = round(carrier_hz * w.size / sr) * sr / w.size  # the nearest bin

        def H(f: float) -> float:
            return float(abs(np.sum(w * np.exp(-2j * np.pi * (f - centre) * t / sr))))

    else:
        raise TypeError(
            f"a CQT, Spectrogram or their Log* front end is needed, got {type(mag).__name__}"
        )
    return (H(carrier_hz + rate_hz) + H(carrier_hz - rate_hz)) / (2 * H(carrier_hz))


def measured_modulation_gain(
    frontend: nn.Module, sr: float, n_samples: int, carrier_hz: float, rate_hz: float
) -> float:
    """The AM depth ratio measured on the module's output (an independent check).

    Renders ``(1 + 0.5 cos 2π f_m t) cos 2π f_c t``, takes the output row of the largest
    mean magnitude, fits ``a + b cos 2π f_m t + c sin 2π f_m t`` to its frames (the middle
    half, away from the edges) and returns ``sqrt(b² + c²) / a / 0.5``. Below the frame
    rate's Nyquist limit (``sr / hop < 2 f_m``) the fit sees an alias; check the frame rate
    apart (:func:`am_resolution` does).
    """
    mag = _magnitude(frontend)
    t = np.arange(n_samples) / sr
    x = (1 + 0.5 * np.cos(2 * np.pi * rate_hz * t)) * np.cos(2 * np.pi * carrier_hz * t)
    with torch.no_grad():
        U = mag(torch.as_tensor(x, dtype=torch.float64)[None, None])[0].numpy()
    row = U[int(np.argmax(U.mean(axis=1)))]
    hop = mag.hop_length
    tf = np.arange(row.size) * hop / sr
    keep = (tf > 0.25 * n_samples / sr) & (tf < 0.75 * n_samples / sr)
    A = np.stack([np.ones(keep.sum()), np.cos(2 * np.pi * rate_hz * tf[keep])])
    A = np.vstack([A, np.sin(2 * np.pi * rate_hz * tf[keep])]).T
    a, b, c = np.linalg.lstsq(A, row[keep], rcond=None)[0]
    return float(np.hypot(b, c) / a / 0.5)


@dataclass(frozen=True)
class AMResolution:
    """Whether a front end resolves an AM rate (see :func:`am_resolution`).

    Attributes:
        rate_hz: the AM rate checked (a preset's top one).
        lowest_hz: the carrier frequency checked (the lowest the synth occupies).
        frame_rate_hz: frames per second of the front end.
        transfer: :func:`modulation_transfer` at ``(lowest_hz, rate_hz)``.
        frames_ok: ``frame_rate_hz >= 2 rate_hz``.
        window_ok: ``transfer >= 1/2``.
    """

    rate_hz: float
    lowest_hz: float
    frame_rate_hz: float
    transfer: float
    frames_ok: bool
    window_ok: bool

    @property
    def ok(self) -> bool:
        """Both criteria hold: the AM is sampled above its Nyquist rate and passes the window."""
        return self.frames_ok and self.window_ok


def am_resolution(frontend: nn.Module, sr: float, rate_hz: float, lowest_hz: float) -> AMResolution:
    """Does the front end resolve AM at ``rate_hz`` on carriers from ``lowest_hz`` up?

    Two criteria, both necessary for the envelope of a channel to carry the modulation:

    * frames: the frame rate ``sr / hop`` is at least twice ``rate_hz`` (the envelope is
      sampled above its Nyquist rate);
    * window: the channel at ``lowest_hz`` passes at least half the modulation depth,
      :func:`modulation_transfer` ``>= 1/2`` (-6 dB). A constant-Q filter is longest at its
      lowest frequency, so the lowest carrier the synth uses is the hardest case; an STFT
      has one window for all frequencies.
    """
    mag = _magnitude(frontend)
    transfer = modulation_transfer(frontend, lowest_hz, rate_hz, sr=sr)
    frame_rate = sr / mag.hop_length
    return AMResolution(
        rate_hz=float(rate_hz),
        lowest_hz=float(lowest_hz),
        frame_rate_hz=float(frame_rate),
        transfer=float(transfer),
        frames_ok=bool(frame_rate >= 2 * rate_hz),
        window_ok=bool(transfer >= 0.5),
    )


class ConvBlock(nn.Sequential):
    """Conv2d (k x k, stride 1, same padding) -> [BatchNorm2d] -> PReLU -> MaxPool2d (App. E)."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int = 3, pool: int = 2, batch_norm: bool = False
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=not batch_norm)
        ]
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(nn.PReLU(c_out))
        if pool > 1:
            # ceil_mode: a short axis shrinks to 1, never to 0
            layers.append(nn.MaxPool2d(pool, ceil_mode=True))
        super().__init__(*layers)


class Encoder(nn.Module):
    """CNN encoder ``E_x``: audio ``(B, 1, N)`` -> theta ``(B, U)`` in ``(0, 1)``.

    ``features = log1p(frontend(x))`` -> conv blocks -> global average pool -> Linear ->
    PReLU -> Dropout -> Linear -> sigmoid.

    Args:
        n_params: U, the number of synth parameters (2 for the paper's synths).
        frontend: callable ``(B, 1, N) -> (B, F, T)`` (or ``(B, C, F, T)``) non-negative
            features; default :class:`Spectrogram`. An ``nn.Module`` front end is registered as
            a submodule (so ``.to(device)`` moves it); any other callable is kept as is.
        channels: output channels of each conv block (paper: 5 x 128).
        kernel_size: conv kernel size (paper: 3).
        pool: max-pooling factor per block (paper: 2).
        embedding_dim: width of the dense layer (paper: 64).
        dropout: dropout probability on the dense layer (paper: 0.5).
        batch_norm: BatchNorm after each conv and on the input features (off by default: the
            paper lists no normalisation layers, and on a CPU it doubles the cost of a step).
        log1p: apply ``log1p`` to the front end's output (paper: "CQT postprocessing log1p");
            set False if the front end already compresses.
    """

    def __init__(
        self,
        n_params: int = 2,
        frontend: Callable[[Tensor], Tensor] | None = None,
        channels: Sequence[int] = (16, 32, 32, 32),
        kernel_size: int = 3,
        pool: int = 2,
        embedding_dim: int = 32,
        dropout: float = 0.1,
        batch_norm: bool = False,
        log1p: bool = True,
    ) -> None:
        super().__init__()
        if n_params < 1:
            raise ValueError(f"n_params must be positive, got n_params={n_params}")
        if len(channels) == 0 or any(c < 1 for c in channels):
            raise ValueError(f"channels must be a non-empty list of positive ints, got {channels}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got dropout={dropout}")
        if frontend is None:
            frontend = Spectrogram()
        if isinstance(frontend, nn.Module):
            self.frontend = frontend
        else:
            self._frontend_fn = frontend
        self.n_params = n_params
        self.log1p = log1p
        self.input_norm = nn.BatchNorm2d(1) if batch_norm else nn.Identity()
        blocks = []
        c_in = 1
        for c_out in channels:
            blocks.append(ConvBlock(c_in, c_out, kernel_size, pool, batch_norm))
            c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.Linear(c_in, embedding_dim),
            nn.PReLU(embedding_dim),
            nn.Dropout(dropout),
            nn.Linear(embedding_dim, n_params),
        )

    def features(self, x: Tensor) -> Tensor:
        """The (compressed) time-frequency input of the CNN, ``(B, 1, F, T)``."""
        fn = self.frontend if "frontend" in self._modules else self._frontend_fn
        feats = fn(x)
        if feats.ndim == 3:
            feats = feats.unsqueeze(1)
        if feats.ndim != 4 or feats.shape[1] != 1:
            raise ValueError(
                "frontend must return (batch, freq, time) or (batch, 1, freq, time) features, "
                f"got shape {tuple(feats.shape)}"
            )
        if self.log1p:
            feats = torch.log1p(feats.clamp_min(0.0))
        return feats

    def forward(self, x: Tensor) -> Tensor:
        """``(B, 1, N)`` audio -> ``(B, n_params)`` theta in ``(0, 1)``."""
        h = self.blocks(self.input_norm(self.features(x)))
        h = h.mean(dim=(-2, -1))  # global average pooling over frequency and time
        return torch.sigmoid(self.head(h))


def paper_encoder_kwargs() -> dict:
    """Encoder arguments with the paper's CNN shape (Tables 10-11): about 0.6 M parameters.

    The paper's front end is a CQT (5 octaves, 12 bins/octave, hop 256); pass one as
    ``frontend`` to reproduce it fully. The count (600.7 K) differs slightly from the reported
    604 K: the paper does not say how the last feature map is pooled or normalised.
    """
    return {
        "channels": (128,) * 5,
        "kernel_size": 3,
        "pool": 2,
        "embedding_dim": 64,
        "dropout": 0.5,
        "batch_norm": False,
        "frontend": Spectrogram(n_fft=512, hop_length=256),
    }
