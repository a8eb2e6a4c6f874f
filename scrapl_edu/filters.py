"""Morlet and Gaussian filters in the Fourier domain, and filterbank design.

Everything here is pure numpy in float64 and follows the filterbank of the
joint time-frequency scattering transform (JTFS) used by the paper (Section 4.1;
the implementation is kymatio's ``TimeFrequencyScattering``). A filter is a real
vector ``h[k]`` sampled at the DFT frequencies ``k/M`` of a length-``M`` signal.

Notation (as in the paper and in kymatio):

- ``xi``: centre frequency in cycles per sample (0 < xi <= 0.5);
- ``sigma``: bandwidth (standard deviation of the Gaussian in frequency);
- ``j``: the largest dyadic subsampling ``2**j`` the filter's output tolerates
  without aliasing;
- ``Q``: wavelets per octave; ``J``: number of octaves (the lowest filters have
  bandwidth ``sigma_min = 0.1 / 2**J``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: redundancy of the filterbank: adjacent wavelets cross at this amplitude
R_PSI = math.sqrt(0.5)
#: bandwidth of the low-pass filter of support 1 (sigma_low = SIGMA0 / T)
SIGMA0 = 0.1
#: aliasing tolerance factor in the max-subsampling rule
ALPHA = 5.0
#: truncation of the Gaussian tails when periodising
EPS_PERIODS = 1e-7


@dataclass(frozen=True)
class FilterSpec:
    """Spectral parameters of one filter: centre ``xi``, width ``sigma``, subsampling ``j``."""

    xi: float
    sigma: float
    j: int


def compute_sigma_psi(xi: float, Q: float, r: float = R_PSI) -> float:
    """Bandwidth of a wavelet of centre ``xi`` so that neighbours at ratio 2**(1/Q) cross at ``r``.

    sigma = xi * (1 - 2^(-1/Q)) / (1 + 2^(-1/Q)) / sqrt(2 ln(1/r)).
    """
    factor = 1.0 / math.pow(2, 1.0 / Q)
    term1 = (1 - factor) / (1 + factor)
    term2 = 1.0 / math.sqrt(2 * math.log(1.0 / r))
    return xi * term1 * term2


def compute_xi_max(Q: float) -> float:
    """Centre of the highest wavelet: max(1 / (1 + 2^(3/Q)), 0.35) cycles per sample."""
    return max(1.0 / (1.0 + math.pow(2.0, 3.0 / Q)), 0.35)


def max_dyadic_subsampling(xi: float, sigma: float, alpha: float = ALPHA) -> int:
    """Largest ``j`` such that the band [xi - alpha sigma, xi + alpha sigma] survives ``2**j``.

    j = floor(-log2(min(|xi| + alpha sigma, 0.5))) - 1.
    """
    upper = min(abs(xi) + alpha * sigma, 0.5)
    return int(math.floor(-math.log2(upper))) - 1


def filterbank_params(J: int, Q: int, r_psi: float = R_PSI) -> list[FilterSpec]:
    """Centre frequencies, bandwidths and subsamplings of a Morlet filterbank (J, Q).

    Starting at ``xi_max``, the filters follow a geometric progression (constant
    Q: xi and sigma both divided by 2^(1/Q)) while sigma stays above
    ``sigma_min * 2^(1/Q)`` with ``sigma_min = 0.1 / 2**J``; then ``Q - 1``
    filters of constant bandwidth ``sigma_min`` step linearly down to 0.
    """
    sigma_min = SIGMA0 / math.pow(2, J)
    xi = compute_xi_max(Q)
    sigma = compute_sigma_psi(xi, Q, r_psi)
    if sigma <= sigma_min:
        raise ValueError(
            f"J={J} with Q={Q} gives no constant-Q wavelet (sigma_max={sigma:.3g} <= "
            f"sigma_min={sigma_min:.3g}); use a larger J"
        )
    xis, sigmas = [xi], [sigma]
    while sigmas[-1] > sigma_min * math.pow(2, 1.0 / Q):
        xis.append(xis[-1] / math.pow(2, 1.0 / Q))
        sigmas.append(sigmas[-1] / math.pow(2, 1.0 / Q))
    elbow = xis[-1]
    for q in range(1, Q):
        xis.append(elbow - q / Q * elbow)
        sigmas.append(sigma_min)
    return [FilterSpec(x, s, max_dyadic_subsampling(x, s)) for x, s in zip(xis, sigmas)]


def n_periods(sigma: float, eps: float = EPS_PERIODS) -> int:
    """How many periods of a Gaussian of width ``sigma`` to fold (at most 5)."""
    return min(int(math.ceil(math.sqrt(-2 * sigma**2 * math.log(eps)) + 1)), 5)


def _periodised_gaussian(M: int, xi: float, sigma: float, P: int) -> np.ndarray:
    """exp(-(f - xi)^2 / 2 sigma^2) on f in [1-P, P), folded onto one period by averaging."""
    f = np.arange((1 - P) * M, P * M, dtype=np.float64) / M
    g = np.exp(-((f - xi) ** 2) / (2 * sigma**2))
    return g.reshape(2 * P - 1, M).mean(axis=0)


def _normalise_l1(h_f: np.ndarray) -> np.ndarray:
    """Scale so the filter has unit L1 norm in time."""
    return h_f / np.abs(np.fft.ifft(h_f)).sum()


def gauss_1d(M: int, sigma: float) -> np.ndarray:
    """Gaussian low-pass filter phi in the Fourier domain, length ``M``, unit L1 norm in time."""
    P = n_periods(sigma)
    return _normalise_l1(_periodised_gaussian(M, 0.0, sigma, P))


def morlet_1d(M: int, xi: float, sigma: float) -> np.ndarray:
    """Morlet wavelet psi in the Fourier domain, length ``M``, unit L1 norm in time.

    A Gabor atom at ``xi`` minus ``kappa`` times the Gaussian of the same width,
    with ``kappa`` chosen so that psi is exactly zero at DC (zero mean in time).
    A negative ``xi`` gives the mirrored ("spin down") wavelet.
    """
    P = n_periods(sigma)
    low = _periodised_gaussian(M, 0.0, sigma, P)
    gabor = _periodised_gaussian(M, xi, sigma, P)
    kappa = gabor[0] / low[0]
    return _normalise_l1(gabor - kappa * low)


def periodize(h_f: np.ndarray, level: int) -> np.ndarray:
    """The filter seen by a signal subsampled by ``2**level``: fold the spectrum and **sum**.

    (kymatio 0.4 sums the periods; 0.3.0 averaged them, see kymatio #983/#984.)
    """
    if level == 0:
        return h_f
    return h_f.reshape(2**level, -1).sum(axis=0)


def temporal_support(h_f: np.ndarray, criterion: float = 1e-3) -> int:
    """Half-support of a filter: first index whose L1 tail over the first half is <= criterion.

    ``h_f`` must be normalised to unit L1 norm in time.
    """
    h = np.abs(np.fft.ifft(h_f))
    half = h.shape[-1] // 2
    tail = np.cumsum(h[:half][::-1])[::-1]
    below = np.nonzero(tail <= criterion)[0]
    return int(below[0]) + 1 if below.size else half


@dataclass(frozen=True)
class TimePadding:
    """How a length-``N`` signal is reflect-padded to ``N_pad = 2**J_pad`` samples."""

    N: int
    N_pad: int
    pad_left: int
    pad_right: int

    def unpad_range(self, level: int) -> tuple[int, int]:
        """Indices [start, stop) of the original signal after ``level`` halvings.

        s_0 = pad_left, e_0 = pad_left + N, s_j = ceil(s_{j-1}/2), e_j = ceil(e_{j-1}/2).
        """
        s, e = self.pad_left, self.pad_left + self.N
        for _ in range(level):
            s, e = (s + 1) // 2, (e + 1) // 2
        return s, e


def time_padding(N: int, T: int) -> TimePadding:
    """Padding rule: 3 supports of phi on each side, capped at 2**floor(log2(3N - 2)).

    The cap keeps a reflection of the signal from wrapping more than once; when
    it binds (as in the paper's configuration: N_pad = 65536 for N = 32768) the
    padded borders leak into the averages, exactly as in the reference.
    """
    support = temporal_support(gauss_1d(N, SIGMA0 / T))
    min_to_pad = 3 * support
    J_pad = min(
        int(math.ceil(math.log2(N + 2 * min_to_pad))), int(math.floor(math.log2(3 * N - 2)))
    )
    N_pad = 2**J_pad
    pad_left = (N_pad - N) // 2
    return TimePadding(N=N, N_pad=N_pad, pad_left=pad_left, pad_right=N_pad - N - pad_left)


def frequential_length(J: int, Q1: int, J_fr: int, F: int) -> int:
    """Padded length of the log-frequency (n1) axis: a multiple of 2**J_fr.

    N_fr = floor(((J + 1) Q1 + 8 min(F, 2**J_fr)) / 2**J_fr) * 2**J_fr.
    """
    n_input_fr = (J + 1) * Q1
    min_to_pad_fr = 8 * min(F, 2**J_fr)
    return (n_input_fr + min_to_pad_fr) // 2**J_fr * 2**J_fr
