"""Signal blocks of the drum synth (:mod:`scrapl_edu.synths.drums`): envelopes, pitch-envelope
phase and a high-pass biquad applied in the frequency domain, each differentiable.

The high-pass biquad is applied in the frequency domain: its response
``H(e^{jw}) = (b0 + b1 e^{-jw} + b2 e^{-2jw}) / (1 + a1 e^{-jw} + a2 e^{-2jw})`` multiplies the
``L``-point FFT of the zero-padded signal. That is a circular convolution with the
``L``-periodised impulse response; on the ``N`` output samples it equals the true (IIR)
filter's output computed with the impulse response **truncated to its first L - N + 1
samples**: it is exact for that truncated response, and ``L`` is chosen from the poles of the
worst-case filter in the configured ranges so that the dropped tail is below 1e-10 of the
response's peak (:func:`biquad_fft_length`). Tests compare it with ``scipy.signal.lfilter``.
A time-domain recursion would be exact too, but a Python loop over samples is slow and its
backward slower; the FFT form is one multiply, differentiable in the coefficients.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from scipy.fft import next_fast_len
from torch import Tensor

__all__ = [
    "LN1000",
    "biquad_fft_filter",
    "biquad_fft_length",
    "biquad_highpass_coeffs",
    "biquad_response",
    "exp_decay",
    "pitch_env_phase",
]

#: ln(1000): an envelope exp(-LN1000 t / T) is at -60 dB at t = T (T is a T60)
LN1000 = math.log(1000.0)
#: the filter tail beyond the FFT length is below this fraction of the impulse response's peak
_TAIL_TOL = 1e-10
#: a parameter's (low, high) range
Range = tuple[float, float]


def exp_decay(t: Tensor, decay_s: Tensor | float) -> Tensor:
    """Exponential decay ``exp(-ln(1000) t / T)``: 1 at ``t = 0``, -60 dB at ``t = T`` (T60)."""
    return torch.exp(-LN1000 * t / decay_s)


def pitch_env_phase(
    t: Tensor, f0_hz: Tensor | float, mod: Tensor | float, pitch_decay_s: Tensor | float
) -> Tensor:
    """Phase in cycles of a sine whose frequency is ``f0 (1 + mod exp(-ln(1000) t / T))``.

    The integral in closed form: ``f0 (t + mod T (1 - exp(-ln(1000) t / T)) / ln(1000))``, so
    the instantaneous frequency starts at ``f0 (1 + mod)`` and falls (``mod > 0``) to ``f0``
    with the pitch envelope's T60 ``T``.
    """
    tail = -torch.expm1(-LN1000 * t / pitch_decay_s)
    return f0_hz * (t + mod * pitch_decay_s * tail / LN1000)


def biquad_highpass_coeffs(
    cutoff_hz: Tensor, q: Tensor, sr: float
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Second-order high-pass ``(b0, b1, b2, a1, a2)`` (``a0 = 1``), bilinear transform.

    The analog prototype ``s^2 / (s^2 + s / Q + 1)`` with its cut-off pre-warped to
    ``K = tan(pi fc / sr)``, so the digital filter has ``|H| = Q`` exactly at ``fc``, 0 at DC
    and 1 at Nyquist (Q = 1/sqrt(2) is Butterworth). Differentiable in ``fc`` and ``Q``.
    """
    k = torch.tan(math.pi * cutoff_hz / sr)
    k2 = k * k
    norm = 1.0 / (1.0 + k / q + k2)
    b0 = norm
    b1 = -2.0 * norm
    b2 = norm
    a1 = 2.0 * (k2 - 1.0) * norm
    a2 = (1.0 - k / q + k2) * norm
    return b0, b1, b2, a1, a2


def biquad_response(coeffs: Sequence[Tensor], n_fft: int) -> Tensor:
    """``H(e^{jw})`` of a biquad on the ``n_fft // 2 + 1`` rfft frequencies ``w = 2 pi k / n_fft``.

    ``coeffs = (b0, b1, b2, a1, a2)``, each broadcastable (e.g. ``(B, 1)``); returns complex.
    """
    b0, b1, b2, a1, a2 = coeffs
    real = b0.dtype if b0.is_floating_point() else torch.get_default_dtype()
    w = 2.0 * math.pi * torch.arange(n_fft // 2 + 1, dtype=real, device=b0.device) / n_fft
    z1 = torch.polar(torch.ones_like(w), -w)  # e^{-jw}
    z2 = z1 * z1
    return (b0 + b1 * z1 + b2 * z2) / (1.0 + a1 * z1 + a2 * z2)


def biquad_fft_filter(x: Tensor, coeffs: Sequence[Tensor], n_fft: int) -> Tensor:
    """Filter ``x`` (..., N) by a biquad in the frequency domain with an ``n_fft``-point FFT.

    Exact for the biquad's impulse response truncated to its first ``n_fft - N + 1`` samples
    (see the module docstring); choose ``n_fft`` with :func:`biquad_fft_length`.
    """
    n = x.shape[-1]
    if n_fft < n:
        raise ValueError(f"n_fft must be >= the signal length {n}, got n_fft={n_fft}")
    spectrum = torch.fft.rfft(x, n=n_fft) * biquad_response(coeffs, n_fft)
    return torch.fft.irfft(spectrum, n=n_fft)[..., :n]


def _pole_radius(cutoff_hz: float, q: float, sr: float) -> float:
    k = math.tan(math.pi * cutoff_hz / sr)
    norm = 1.0 / (1.0 + k / q + k * k)
    a1 = 2.0 * (k * k - 1.0) * norm
    a2 = (1.0 - k / q + k * k) * norm
    return float(np.abs(np.roots([1.0, a1, a2])).max())


def biquad_fft_length(
    n_samples: int, cutoff_hz: Range, q: Range, sr: float, tol: float = _TAIL_TOL
) -> int:
    """An FFT length ``L >= n_samples + tail`` for :func:`biquad_fft_filter` over filter ranges.

    ``tail`` is the number of samples after which the slowest impulse response in the ranges
    (largest pole radius ``r``, found on a grid of cut-offs and Qs) has decayed below ``tol``
    of its peak: ``(k + 1) r^k < tol`` (the ``k + 1`` covers a double pole). ``L`` is the next
    fast FFT size.
    """
    grid = [
        _pole_radius(fc, qq, sr)
        for fc in np.geomspace(cutoff_hz[0], cutoff_hz[1], 9)
        for qq in np.geomspace(q[0], q[1], 9)
    ]
    r = max(grid)
    tail = 1
    if r > 0.0:
        log_r = math.log(r)
        while math.log(tail + 1.0) + tail * log_r > math.log(tol):
            tail = int(tail * 1.25) + 1
    return int(next_fast_len(n_samples + tail, real=True))
