"""Tests of the differentiable synths (Sections 4.2-4.3, Tables 10-11).

Each property is measured from the audio with an independent tool where one exists: the
instantaneous frequency and the envelope come from scipy's analytic signal, pitches from
numpy's FFT, not from the synth's own intermediate tensors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.signal import argrelmin, hilbert

from scrapl_edu.presets import SYNTH_PRESETS as PRESETS
from scrapl_edu.presets import make_synth, params_to_theta, theta_to_params
from scrapl_edu.presets import synth_config as get_preset
from scrapl_edu.synths import (
    ChirpletConfig,
    ChirpletSynth,
    GrainDraw,
    GranularConfig,
    GranularSynth,
    grain_amplitudes,
    inverse_log_uniform,
    log_uniform,
    sample_theta,
)

PAPER_CHIRPLETS = {
    "chirplet_am1-2_fm0.5-1": ((1.0, 2.0), (0.5, 1.0)),
    "chirplet_am1-2_fm2-4": ((1.0, 2.0), (2.0, 4.0)),
    "chirplet_am2.8-8.4_fm2-4": ((2.8, 8.4), (2.0, 4.0)),
    "chirplet_am2.8-8.4_fm4-12": ((2.8, 8.4), (4.0, 12.0)),
}

# A long, slowly-swept chirplet (sigma = 0.2 / fm s) so that several AM periods are visible.
WIDE = ChirpletConfig(
    name="wide",
    sr=1024.0,
    n_samples=8192,
    carrier_hz=128.0,
    am_hz=(1.0, 8.0),
    fm_oct_per_s=(0.5, 1.0),
    max_shift=256,
)
TINY_CHIRPLET = ChirpletConfig(
    name="tiny",
    sr=64.0,
    n_samples=128,
    carrier_hz=8.0,
    am_hz=(2.0, 4.0),
    fm_oct_per_s=(1.0, 2.0),
    max_shift=8,
)
TINY_GRANULAR = GranularConfig(
    name="tiny_granular",
    sr=256.0,
    n_samples=128,
    n_grains=3,
    grain_n_samples=64,
    pitch_hz=(16.0, 64.0),
)


def _theta(cfg: ChirpletConfig, am: float, fm: float) -> torch.Tensor:
    return cfg.params_to_theta(torch.tensor([am]), torch.tensor([fm])).double()


def _time_axis(n_samples: int, sr: float, shift: int, half: bool = False) -> np.ndarray:
    """Seconds relative to the chirplet's centre, sample N//2 + shift (independent of synths)."""
    n = np.arange(n_samples - (1 if half else 0)) + (0.5 if half else 0.0)
    return (n - n_samples // 2 - shift) / sr


# ------------------------------------------------------------------------------ presets


def test_paper_presets_follow_table_11():
    for name, (am, fm) in PAPER_CHIRPLETS.items():
        cfg = PRESETS[name]
        assert isinstance(cfg, ChirpletConfig)
        assert (cfg.sr, cfg.n_samples, cfg.carrier_hz, cfg.bandwidth_oct) == (8192, 32768, 512, 2)
        assert cfg.max_shift == 2048
        assert cfg.am_hz == am and cfg.fm_oct_per_s == fm
        assert cfg.n_params == 2


def test_granular_preset_follows_table_10():
    cfg = PRESETS["granular"]
    assert isinstance(cfg, GranularConfig)
    assert (cfg.sr, cfg.n_samples, cfg.n_grains, cfg.grain_n_samples) == (8192, 32768, 64, 4096)
    assert cfg.pitch_hz == (256.0, 2048.0)
    # s0 = sr / (Q hop) / 4 with the CQT of Table 10: steepest grain 8.47 oct/s
    assert cfg.max_slope_oct_per_s == pytest.approx(8192 / 3072 / 4 * math.tan(0.95 * math.pi / 2))


def test_classroom_presets_resolve_their_modulations():
    classroom = [p for n, p in PRESETS.items() if n.startswith("classroom")]
    assert len(classroom) >= 6 and PRESETS["classroom"].max_shift > 0
    assert PRESETS["classroom_aligned"].max_shift == 0
    for cfg in classroom:
        assert cfg.n_samples <= 16384 and cfg.sr <= 4096
        if isinstance(cfg, ChirpletConfig):
            assert cfg.duration_s >= 2.0 / cfg.am_hz[0]  # two periods of the slowest AM
            assert cfg.duration_s >= cfg.bandwidth_oct / cfg.fm_oct_per_s[0]  # whole sweep
            assert cfg.carrier_hz * 2.0 ** (cfg.bandwidth_oct / 2) < cfg.sr / 2
            # the shift is as long in seconds as the paper's (2048 / 8192 s)
            assert cfg.max_shift / cfg.sr in (0.0, pytest.approx(2048 / 8192))


def test_get_preset_and_make_synth():
    assert get_preset("classroom") is PRESETS["classroom"]
    assert get_preset(WIDE) is WIDE
    with pytest.raises(KeyError, match="classroom"):
        get_preset("no-such-preset")
    synth = make_synth("classroom", max_shift=0)
    assert isinstance(synth, ChirpletSynth) and synth.config.max_shift == 0
    assert isinstance(make_synth("classroom_granular"), GranularSynth)


# ------------------------------------------------------------------------------ theta mapping


@pytest.mark.parametrize("name", list(PAPER_CHIRPLETS))
def test_log_uniform_endpoints_and_geometric_midpoint(name):
    cfg = PRESETS[name]
    theta = torch.tensor([[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]], dtype=torch.float64)
    am, fm = theta_to_params(theta, preset=name)
    (a0, a1), (f0, f1) = cfg.am_hz, cfg.fm_oct_per_s
    np.testing.assert_allclose(am.numpy(), [a0, math.sqrt(a0 * a1), a1], rtol=1e-12)
    np.testing.assert_allclose(fm.numpy(), [f0, math.sqrt(f0 * f1), f1], rtol=1e-12)
    back = params_to_theta(am, fm, preset=name)
    np.testing.assert_allclose(back.numpy(), theta.numpy(), atol=1e-12)


def test_log_uniform_helpers_round_trip():
    u = torch.linspace(0, 1, 11, dtype=torch.float64)
    v = log_uniform(u, 2.8, 8.4)
    assert torch.all(torch.diff(torch.log(v)) > 0)
    np.testing.assert_allclose(torch.diff(torch.log(v)).numpy(), math.log(3) / 10, rtol=1e-10)
    np.testing.assert_allclose(inverse_log_uniform(v, 2.8, 8.4).numpy(), u.numpy(), atol=1e-12)


def test_sample_theta_uniform_is_log_uniform_in_hz():
    gen = torch.Generator().manual_seed(0)
    theta = sample_theta(4000, generator=gen)
    assert theta.shape == (4000, 2) and theta.dtype == torch.float32
    assert 0.0 <= theta.min() and theta.max() < 1.0
    again = sample_theta(4000, torch.Generator().manual_seed(0))  # generator is 2nd
    assert torch.equal(theta, again)
    am, _ = theta_to_params(theta, preset="chirplet_am2.8-8.4_fm2-4")
    # log-uniform: the median is the geometric mean, not the arithmetic one (5.6 Hz)
    assert am.median().item() == pytest.approx(math.sqrt(2.8 * 8.4), rel=0.03)


def test_granular_theta_mapping():
    cfg = PRESETS["granular"]
    theta = torch.tensor([[0.0, 0.0], [0.3, 0.5], [1.0, 1.0]], dtype=torch.float64)
    density, slope = cfg.theta_to_params(theta)
    np.testing.assert_allclose(density.numpy(), [0.0, 0.3, 1.0])
    s_max = cfg.max_slope_oct_per_s
    np.testing.assert_allclose(slope.numpy(), [-s_max, 0.0, s_max], atol=1e-12)
    back = cfg.params_to_theta(density, slope)
    np.testing.assert_allclose(back.numpy(), theta.numpy(), atol=1e-12)


# ------------------------------------------------------------------------------ chirplet audio


@pytest.mark.parametrize(("am", "fm", "shift"), [(1.0, 0.5, 0), (3.0, 1.0, 100), (6.0, 0.7, -200)])
def test_chirp_rate_from_instantaneous_frequency(am, fm, shift):
    """log2 of the analytic signal's instantaneous frequency rises at theta_FM oct/s."""
    x = WIDE.build()(_theta(WIDE, am, fm), shifts=shift)[0, 0].numpy()
    phase = np.unwrap(np.angle(hilbert(x)))
    f_inst = np.diff(phase) * WIDE.sr / (2 * np.pi)
    t = _time_axis(WIDE.n_samples, WIDE.sr, shift, half=True)
    sigma = 0.1 * 2.0 / fm  # Table 11: 2-octave bandwidth within +-5 sigma
    keep = (np.exp(-(t**2) / (2 * sigma**2)) > 0.2) & (np.abs(np.sin(np.pi * am * t)) > 0.3)
    rate, log2_f0 = np.polyfit(t[keep], np.log2(f_inst[keep]), 1)
    assert rate == pytest.approx(fm, rel=1e-3)
    assert 2.0**log2_f0 == pytest.approx(WIDE.carrier_hz, rel=1e-3)


def test_chirp_sweeps_two_octaves_within_five_sigma():
    cfg = PRESETS["classroom"]
    fm = 3.0
    x = cfg.build()(_theta(cfg, 4.0, fm), shifts=0)[0, 0].numpy()
    t = _time_axis(cfg.n_samples, cfg.sr, 0)
    env = np.abs(hilbert(x))
    support = t[env > env.max() * math.exp(-12.5) * 2]  # beyond +-5 sigma the window < e^-12.5
    span_octaves = (support.max() - support.min()) * fm
    assert span_octaves == pytest.approx(2.0, abs=0.15)


@pytest.mark.parametrize(("am", "fm", "shift"), [(1.0, 0.5, 0), (3.0, 1.0, 100), (6.0, 0.5, -37)])
def test_am_period_from_envelope_zeros(am, fm, shift):
    """The Hilbert envelope vanishes every 1 / theta_AM s, once at the chirplet centre."""
    x = WIDE.build()(_theta(WIDE, am, fm), shifts=shift)[0, 0].numpy()
    env = np.abs(hilbert(x))
    mins = argrelmin(env, order=int(0.25 * WIDE.sr / am))[0]
    half = int(WIDE.sr / am)
    mins = [
        i
        for i in mins
        if env[i] < 0.2 * env.max() and env[max(0, i - half) : i + half].max() > 0.1 * env.max()
    ]
    assert len(mins) >= 3
    zeros_in_periods = _time_axis(WIDE.n_samples, WIDE.sr, shift)[mins] * am
    np.testing.assert_allclose(zeros_in_periods, np.round(zeros_in_periods), atol=0.01)
    assert 0.0 in np.round(zeros_in_periods)


@pytest.mark.parametrize("am", [1.5, 3.0, 6.0])
def test_am_rate_from_envelope_spectrum(am):
    x = WIDE.build()(_theta(WIDE, am, 0.5), shifts=0)[0, 0].numpy()
    env = np.abs(hilbert(x))
    n_fft = 1 << 18
    spec = np.abs(np.fft.rfft(env - env.mean(), n_fft))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / WIDE.sr)
    band = (freqs > 0.75) & (freqs < 20.0)
    assert freqs[band][np.argmax(spec[band])] == pytest.approx(am, rel=0.05)


def test_output_shape_dtype_and_normalisation():
    synth = PRESETS["classroom"].build()
    theta = sample_theta(3, generator=torch.Generator().manual_seed(1))
    x = synth(theta, seed=0)
    assert x.shape == (3, 1, synth.config.n_samples) and x.dtype == torch.float32
    np.testing.assert_allclose(x.pow(2).mean(-1).sqrt().numpy(), 0.05, rtol=1e-4)
    assert synth(theta.double(), seed=0).dtype == torch.float64
    raw = make_synth("classroom", normalize="none")(theta, seed=0)
    assert raw.abs().max() <= 1.0 + 1e-6  # |sin * sin * gaussian| <= 1


def test_paper_presets_peak_below_one():
    theta = torch.tensor([[0.0, 1.0], [1.0, 1.0]])  # the shortest, loudest-peaked chirplets
    for name in PAPER_CHIRPLETS:
        x = PRESETS[name].build()(theta, shifts=0)
        assert torch.isfinite(x).all() and x.abs().max() < 1.0


# ------------------------------------------------------------------------------ random shifts


def test_shifts_within_bounds_and_reproducible():
    synth = PRESETS["classroom"].build()
    m = synth.config.max_shift
    shifts = synth.sample_shifts(2000, seed=0)
    assert shifts.dtype == torch.int64
    assert shifts.min() >= -m and shifts.max() <= m
    assert shifts.min() <= -0.95 * m and shifts.max() >= 0.95 * m  # the whole range is used
    assert torch.equal(shifts, synth.sample_shifts(2000, seed=0))
    assert not torch.equal(shifts, synth.sample_shifts(2000, seed=1))
    gen_a, gen_b = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(synth.sample_shifts(8, generator=gen_a), synth.sample_shifts(8, gen_b))


def test_shift_delays_the_waveform():
    synth = WIDE.build()
    theta = _theta(WIDE, 3.0, 1.0)
    x0 = synth(theta, shifts=0)[0, 0]
    x1 = synth(theta, shifts=123)[0, 0]
    # x1[n] = x0[n - 123]
    torch.testing.assert_close(x1[123:], x0[:-123], atol=1e-9, rtol=0)


def test_seeds_make_renders_reproducible_per_example():
    synth = PRESETS["classroom"].build()
    theta = sample_theta(3, generator=torch.Generator().manual_seed(2))
    a = synth(theta, seed=[11, 12, 13])
    b = synth(theta, seed=[99, 12, 98])
    assert torch.equal(a[1], b[1]) and not torch.equal(a[0], b[0])
    assert torch.equal(synth(theta, seed=4), synth(theta, seed=4))
    torch.manual_seed(0)
    c, d = synth(theta), synth(theta)  # the global generator advances: a new shift each call
    assert not torch.equal(c, d)


def test_shifts_switch_off():
    theta = sample_theta(4, generator=torch.Generator().manual_seed(3))
    fixed = PRESETS["classroom"].build(random_shift=False)
    torch.testing.assert_close(fixed(theta), fixed(theta))
    torch.testing.assert_close(fixed(theta), PRESETS["classroom_aligned"].build()(theta))
    torch.testing.assert_close(fixed(theta), PRESETS["classroom"].build()(theta, shifts=0))


def test_random_shift_changes_waveform_but_not_the_spectrum():
    """The nondeterminism that defeats MSS: a large waveform distance for the same theta."""
    synth = PRESETS["classroom"].build()
    theta = _theta(synth.config, 4.0, 3.0).float()
    a, b = synth(theta, shifts=-400)[0, 0], synth(theta, shifts=400)[0, 0]
    assert (a - b).norm() / a.norm() > 1.3  # the two chirplets barely overlap
    spec_a, spec_b = torch.fft.rfft(a).abs(), torch.fft.rfft(b).abs()
    assert ((spec_a - spec_b).norm() / spec_a.norm()).item() < 1e-3


# ------------------------------------------------------------------------------ gradients


def test_chirplet_gradcheck_without_and_with_fixed_shifts():
    synth = TINY_CHIRPLET.build()
    theta = torch.tensor([[0.2, 0.7], [0.9, 0.4]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda th: synth(th, shifts=0), (theta,))
    shifts = torch.tensor([3, -5])
    assert torch.autograd.gradcheck(lambda th: synth(th, shifts=shifts), (theta,))
    # second derivatives, for the Hessian-vector products of theta-IS (Eq. 10-12)
    assert torch.autograd.gradgradcheck(
        lambda th: synth(th, shifts=shifts), (theta,), fast_mode=True
    )


def test_granular_gradcheck_with_a_frozen_draw():
    synth = TINY_GRANULAR.build()
    draw = synth.sample_grains(2, seed=0)
    # includes theta_slope = 0.5 (flat grains), where the chirp phase switches formula
    theta = torch.tensor([[0.3, 0.5], [0.8, 0.15]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda th: synth(th, draw=draw), (theta,))
    assert torch.autograd.gradgradcheck(lambda th: synth(th, draw=draw), (theta,), fast_mode=True)


def test_gradient_is_nonzero_in_float32_on_classroom_preset():
    synth = PRESETS["classroom"].build()
    theta = torch.full((2, 2), 0.5, requires_grad=True)
    target = synth(torch.tensor([[0.1, 0.9], [0.9, 0.1]]), shifts=0)
    loss = (synth(theta, shifts=0) - target).pow(2).sum()
    loss.backward()
    assert torch.isfinite(theta.grad).all() and (theta.grad.abs() > 0).all()


# ------------------------------------------------------------------------------ granular audio


def test_granular_pitches_lie_in_table_10_range():
    """At theta_slope = 0.5 grains are steady tones: spectral peaks = drawn pitches, 256-2048."""
    synth = PRESETS["granular"].build()
    theta = torch.tensor([[1.0, 0.5]], dtype=torch.float64)
    draw = synth.sample_grains(1, seed=7)
    x = synth(theta, draw=draw)[0, 0].numpy()
    spec = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(x.size, 1.0 / synth.config.sr)
    peaks = [i for i in range(1, spec.size - 1) if spec[i] >= spec[i - 1] and spec[i] > spec[i + 1]]
    peaks = [i for i in peaks if spec[i] > 0.1 * spec.max()]
    peak_hz = freqs[peaks]
    assert len(peaks) >= 20
    assert peak_hz.min() >= 256 * 0.98 and peak_hz.max() <= 2048 * 1.02
    drawn = draw.pitch_hz[0].numpy()
    nearest = np.abs(peak_hz[:, None] - drawn[None, :]).min(axis=1)
    assert np.all(nearest < 8.0)  # 0.5 s Hann grains: main lobe +-4 Hz
    # the draws cover the range log-uniformly
    pitches = synth.sample_grains(16, seed=1).pitch_hz
    assert pitches.min() >= 256 and pitches.max() <= 2048
    assert pitches.min() < 270 and pitches.max() > 1900
    assert torch.log2(pitches).mean().item() == pytest.approx(math.log2(256) + 1.5, abs=0.1)


def _slot_amplitudes(density: float, n_grains: int = 8) -> np.ndarray:
    """Grains side by side (non-overlapping), equal pitch: the RMS of each slot is a_k."""
    cfg = GranularConfig(
        sr=2048.0,
        n_samples=512 * n_grains,
        n_grains=n_grains,
        grain_n_samples=512,
        pitch_hz=(200.0, 200.0),
        normalize="none",
    )
    draw = GrainDraw(
        onsets=torch.arange(n_grains)[None] * 512,
        pitch_hz=torch.full((1, n_grains), 200.0, dtype=torch.float64),
    )
    x = cfg.build()(torch.tensor([[density, 0.5]], dtype=torch.float64), draw=draw)
    slots = x[0, 0].numpy().reshape(n_grains, 512)
    rms = np.sqrt((slots**2).mean(axis=1))
    return rms / rms.max()


def test_number_of_grains_grows_with_density():
    g = 16
    counts = [int((_slot_amplitudes(d, g) > 0.5).sum()) for d in np.linspace(0, 1, 11)]
    assert counts[0] == 1 and counts[-1] == g
    assert all(b >= a for a, b in zip(counts, counts[1:], strict=False))
    for d, count in zip(np.linspace(0, 1, 11), counts, strict=True):
        expected = max(1.0, g * (0.25 * d + 0.75 * d * d))  # soft cut-off c(d) of Section 4.2
        assert abs(count - expected) < 1.5  # an integer count of a soft cut-off
    np.testing.assert_allclose(_slot_amplitudes(1.0, g), 1.0, rtol=1e-9)  # all equal at d = 1


def test_grain_amplitudes_full_size():
    a = grain_amplitudes(torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64), 64)
    assert a.shape == (3, 64) and torch.all(a[:, 0] == 1.0)
    counts = (a > 0.5).sum(dim=1).tolist()
    assert counts[0] == 1 and counts[2] == 64 and abs(counts[1] - 64 * 0.3125) <= 1


@pytest.mark.parametrize("theta_slope", [0.1, 0.35, 0.5, 0.8])
def test_grain_chirp_rate_from_instantaneous_frequency(theta_slope):
    cfg = GranularConfig(n_grains=1, pitch_hz=(256.0, 2048.0))
    synth = cfg.build()
    draw = GrainDraw(onsets=torch.tensor([[10000]]), pitch_hz=torch.tensor([[600.0]]))
    x = synth(torch.tensor([[0.5, theta_slope]], dtype=torch.float64), draw=draw)[0, 0].numpy()
    f_inst = np.diff(np.unwrap(np.angle(hilbert(x)))) * cfg.sr / (2 * np.pi)
    n = np.arange(x.size - 1) + 0.5
    t = (n - 10000 - cfg.grain_n_samples / 2) / cfg.sr
    keep = np.abs(t) < 0.15  # the Hann window's middle, away from aliasing of steep grains
    rate, log2_f0 = np.polyfit(t[keep], np.log2(f_inst[keep]), 1)
    expected = 8192 / (12 * 256) / 4 * math.tan(0.95 * (2 * theta_slope - 1) * math.pi / 2)
    assert rate == pytest.approx(expected, abs=1e-3 * max(1.0, abs(expected)))
    assert 2.0**log2_f0 == pytest.approx(600.0, rel=1e-3)


def test_granular_randomness_reproducible_and_in_bounds():
    synth = PRESETS["classroom_granular"].build()
    cfg = synth.config
    draw = synth.sample_grains(4, seed=3)
    assert draw.onsets.shape == (4, cfg.n_grains)
    assert draw.onsets.min() >= 0 and draw.onsets.max() <= cfg.n_samples - cfg.grain_n_samples
    theta = sample_theta(4, generator=torch.Generator().manual_seed(0))
    x = synth(theta, seed=3)
    assert x.shape == (4, 1, cfg.n_samples) and torch.isfinite(x).all()
    torch.testing.assert_close(x, synth(theta, draw=draw))
    assert not torch.equal(x, synth(theta, seed=4))
    np.testing.assert_allclose(x.pow(2).mean(-1).sqrt().numpy(), 0.05, rtol=1e-4)


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"am_hz": (2.0, 1.0)}, "am_hz"),
        ({"am_hz": (0.0, 1.0)}, "am_hz"),
        ({"fm_oct_per_s": (-1.0, 1.0)}, "fm_oct_per_s"),
        ({"fm_oct_per_s": (1.0, 0.5)}, "fm_oct_per_s"),
        ({"sr": 0.0}, "sr"),
        ({"carrier_hz": -5.0}, "carrier_hz"),
        ({"max_shift": -1}, "max_shift"),
        ({"max_shift": 20000}, "max_shift"),
        ({"n_samples": 16384, "fm_oct_per_s": (0.5, 1.0)}, "fm_oct_per_s"),
        ({"carrier_hz": 2048.0}, "Nyquist"),
        ({"normalize": "peak"}, "normalize"),
    ],
)
def test_chirplet_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ChirpletConfig(**kwargs)


def test_unresolvable_am_range_message():
    with pytest.raises(
        ValueError,
        match=r"AM rate 1.0 Hz needs at least 2 periods = 2.0 s but the signal is 1.0 s long",
    ):
        ChirpletConfig(
            sr=2048.0,
            n_samples=2048,
            carrier_hz=256.0,
            am_hz=(1.0, 2.0),
            fm_oct_per_s=(2.0, 4.0),
            max_shift=256,
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pitch_hz": (2048.0, 256.0)}, "pitch_hz"),
        ({"pitch_hz": (256.0, 4096.0)}, "Nyquist"),
        ({"grain_n_samples": 65536}, "grain_n_samples"),
        ({"n_grains": 0}, "n_grains"),
        ({"slope_warp": 1.0}, "slope_warp"),
    ],
)
def test_granular_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GranularConfig(**kwargs)


@pytest.mark.parametrize("synth", [PRESETS["classroom"].build(), TINY_GRANULAR.build()])
def test_theta_errors(synth):
    with pytest.raises(ValueError, match=r"theta must lie in \[0, 1\]"):
        synth(torch.tensor([[0.5, 1.2]]))
    with pytest.raises(ValueError, match=r"theta must lie in \[0, 1\]"):
        synth(torch.tensor([[-0.1, 0.5]]))
    with pytest.raises(ValueError, match=r"theta must lie in \[0, 1\]"):
        synth(torch.tensor([[float("nan"), 0.5]]))
    with pytest.raises(ValueError, match="shape"):
        synth(torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="shape"):
        synth(torch.rand(2, 3))
    with pytest.raises(TypeError, match="floating"):
        synth(torch.ones(1, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="seed"):
        synth(torch.rand(2, 2), seed=[1, 2, 3])


def test_params_to_theta_rejects_out_of_range_values():
    with pytest.raises(ValueError, match="am_hz"):
        params_to_theta(torch.tensor([10.0]), torch.tensor([3.0]), preset="classroom")
    with pytest.raises(ValueError, match="slope_oct_per_s"):
        params_to_theta(torch.tensor([0.5]), torch.tensor([50.0]), preset="granular")


def test_validate_off_allows_vmap():
    synth = PRESETS["classroom"].build(validate=False)
    theta = sample_theta(3, generator=torch.Generator().manual_seed(0))
    out = torch.func.vmap(lambda th: synth(th[None], shifts=0)[0])(theta)
    torch.testing.assert_close(out, synth(theta, shifts=0))
