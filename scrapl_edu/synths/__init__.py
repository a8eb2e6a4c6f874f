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

from scrapl_edu.synths.chirplet import ChirpletConfig, ChirpletSynth
from scrapl_edu.synths.common import (
    DEFAULT_TARGET_RMS,
    chirplet,
    exp_chirp_phase,
    gaussian_window,
    grain_amplitudes,
    grain_slope,
    hann_window,
    inverse_log_uniform,
    log_uniform,
    normalize_rms,
    sample_theta,
)
from scrapl_edu.synths.granular import GrainDraw, GranularConfig, GranularSynth

__all__ = [
    "DEFAULT_TARGET_RMS",
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

#: either synth's configuration (the named ones are in scrapl_edu.presets)
SynthPreset = ChirpletConfig | GranularConfig

# the drum synth (Section 4.4) lives in drums.py; its public names (drums.__all__) re-exported
from scrapl_edu.synths.drums import *  # noqa: E402, F403
