"""Tests of the drum synth (Section 4.4; Table 12).

Properties are measured from the audio with independent tools: the biquad against
``scipy.signal.lfilter`` / ``freqz``, envelopes and instantaneous frequency from scipy's
analytic signal, spectra from numpy's FFT; never from the synth's own intermediate tensors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal as ss
import torch

from scrapl_edu.synths import (
    DRUM_PARAM_NAMES,
    DRUM_PARAM_SCALES,
    DRUM_PARAM_UNITS,
    DRUM_PRESETS,
    DRUM_VOICES,
    PAPER_SHIFT_S,
    DrumConfig,
    DrumSynth,
    biquad_fft_filter,
    biquad_fft_length,
    biquad_highpass_coeffs,
    biquad_response,
    get_drum_preset,
    make_drum_synth,
    sample_drum_theta,
    voice_ranges,
)

DECAYS = ("pitch_decay_s", "osc1_decay_s", "osc2_decay_s", "noise_decay_s")
SILENT = (-200.0, -200.0)  # a gain that mutes a source (1e-10)


def _theta(cfg: DrumConfig, **values: float) -> torch.Tensor:
    """theta = 0.5 everywhere except the given entries, as a (1, 14) float64 tensor."""
    theta = torch.full((1, cfg.n_params), 0.5, dtype=torch.float64)
    for name, value in values.items():
        theta[0, DRUM_PARAM_NAMES.index(name)] = value
    return theta


def _render(cfg: DrumConfig, theta: torch.Tensor, **kw) -> np.ndarray:
    with torch.no_grad():
        return cfg.build()(theta, **kw)[:, 0].numpy()


def _osc1_only(**ranges) -> DrumConfig:
    """A bass drum with oscillator 2 and the noise muted, driven softly (tanh ~ linear)."""
    base = {"osc2_gain_db": SILENT, "noise_gain_db": SILENT, "drive_db": (-20.0, -20.0)}
    base.update(ranges)
    return DrumConfig(name="osc1_only", voice="bass_drum", range_overrides=base)


def _tiny() -> DrumConfig:
    """A short render (256 samples at 2048 Hz) for gradcheck."""
    short = {name: (0.01, 0.1) for name in DECAYS}
    return DrumConfig(
        name="tiny",
        voice="bass_drum",
        sr=2048.0,
        n_samples=256,
        range_overrides={**short, "noise_hp_hz": (100.0, 400.0)},
    )


# ------------------------------------------------------------------------------- configs
def test_param_table_and_presets():
    assert len(DRUM_PARAM_NAMES) == 14  # Table 12: dim(theta_synth) = 14
    assert set(DRUM_PARAM_UNITS) == set(DRUM_PARAM_SCALES) == set(DRUM_PARAM_NAMES)
    micro, meso = DRUM_PRESETS["drums_micro"], DRUM_PRESETS["drums_meso"]
    assert (micro.sr, micro.n_samples, micro.max_shift) == (8192.0, 8192, 0)
    # +-2048 samples at 44.1 kHz = +-46.4 ms = +-380 samples at 8192 Hz
    assert meso.max_shift == round(2048 * 8192 / 44100) == 380
    assert math.isclose(PAPER_SHIFT_S, 0.04644, rel_tol=1e-3)
    paper = DRUM_PRESETS["drums_paper_meso"]
    assert (paper.sr, paper.n_samples, paper.max_shift) == (44100.0, 44100, 2048)
    assert DRUM_PRESETS["drums_paper_micro"].max_shift == 0
    for voice in DRUM_VOICES:
        assert DRUM_PRESETS[f"drums_{voice}"].voice == voice
    assert get_drum_preset("drums_meso") is meso
    with pytest.raises(KeyError, match="drums_micro"):
        get_drum_preset("drums_nope")
    assert isinstance(make_drum_synth("drums_micro", shift_max_s=0.01), DrumSynth)


def test_kit_ranges_are_the_union_of_the_voices():
    kit = voice_ranges("kit", 8192.0)
    for name in DRUM_PARAM_NAMES:
        lows = [voice_ranges(v, 8192.0)[name][0] for v in DRUM_VOICES]
        highs = [voice_ranges(v, 8192.0)[name][1] for v in DRUM_VOICES]
        assert kit[name] == (min(lows), max(highs))


def test_theta_params_round_trip_and_log_mapping():
    cfg = DRUM_PRESETS["drums_micro"]
    theta = torch.rand(16, 14, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    params = cfg.theta_to_params(theta)
    assert set(params) == set(DRUM_PARAM_NAMES)
    torch.testing.assert_close(cfg.params_to_theta(params), theta, rtol=0, atol=1e-12)
    mid = cfg.theta_to_params(_theta(cfg))
    for name, (low, high) in cfg.param_ranges.items():
        expected = math.sqrt(low * high) if DRUM_PARAM_SCALES[name] == "log" else (low + high) / 2
        assert mid[name].item() == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"range_overrides": {"osc1_hz": (250.0, 150.0)}},
            r"osc1_hz range \(250.0, 150.0\) is inv",
        ),
        ({"range_overrides": {"drive_db": (6.0, -6.0)}}, "drive_db range .* inverted"),
        ({"voice": "bass_drum", "n_samples": 4096}, r"osc1_decay_s max 0.85 s .* longer than"),
        ({"voice": "snare", "range_overrides": {"noise_decay_s": (0.1, 2.0)}}, "noise_decay_s max"),
        ({"shift_max_s": 0.5}, "shift_max_s=0.5 s .* larger than the signal"),
        ({"shift_max_s": 1.0}, "shift_max_s=1.0 s"),
        ({"shift_max_s": -0.01}, "shift_max_s must be >= 0"),
        ({"range_overrides": {"noise_hp_hz": (500.0, 4096.0)}}, "noise_hp_hz max 4096.0 Hz .*Nyq"),
        ({"voice": "hihat", "range_overrides": {"osc2_mod": (0.0, 1.0)}}, "osc2_hz max .*Nyquist"),
        ({"range_overrides": {"noise_q": (0.0, 1.0)}}, "noise_q range must be positive"),
        ({"range_overrides": {"osc1_mod": (-2.0, 1.0)}}, "osc1_mod range must have low >= -1"),
        ({"range_overrides": {"bogus": (0.0, 1.0)}}, "unknown parameter 'bogus'"),
        ({"voice": "cowbell"}, "voice must be one of"),
        ({"sr": 0.0}, "sr must be a positive"),
        ({"attack_s": 0.0}, "attack_s must lie in"),
        ({"normalize": "peak"}, "normalize must be"),
        ({"noise_seed": 1.5}, "noise_seed must be an int"),
    ],
)
def test_bad_configs_are_refused_naming_the_setting(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DrumConfig(**kwargs)


def test_meso_decay_check_counts_the_shift():
    # 0.85 s of bass-drum decay fits 1 s aligned, but not after a 0.1 s pre-roll + 0.1 s shift
    DrumConfig(voice="bass_drum")
    with pytest.raises(ValueError, match="osc1_decay_s max 0.85 s .* 0.8 s"):
        DrumConfig(voice="bass_drum", shift_max_s=0.1)


def test_bad_theta_and_shifts_are_refused():
    synth = DRUM_PRESETS["drums_meso"].build()
    with pytest.raises(ValueError, match=r"theta must lie in \[0, 1\]"):
        synth(torch.full((1, 14), 1.5))
    with pytest.raises(ValueError, match="shape"):
        synth(torch.zeros(14))
    with pytest.raises(ValueError, match=r"shifts must lie in \[-max_shift, max_shift\]"):
        synth(torch.zeros(1, 14), shifts=381)


# ------------------------------------------------------------------------------- biquad
@pytest.mark.parametrize(("fc", "q"), [(400.0, 0.5), (1000.0, 0.7071), (3000.0, 2.0), (30.0, 1.0)])
def test_fft_biquad_matches_lfilter_and_freqz(fc, q):
    sr, n = 8192.0, 2048
    coeffs = biquad_highpass_coeffs(
        torch.tensor([[fc]], dtype=torch.float64), torch.tensor([[q]], dtype=torch.float64), sr
    )
    b = [coeffs[0].item(), coeffs[1].item(), coeffs[2].item()]
    a = [1.0, coeffs[3].item(), coeffs[4].item()]
    # the response: 0 at DC, 1 at Nyquist, Q at the cut-off (pre-warped bilinear design)
    _, h = ss.freqz(b, a, worN=[0.0, fc, sr / 2], fs=sr)
    np.testing.assert_allclose(np.abs(h), [0.0, q, 1.0], atol=1e-9)
    n_fft = biquad_fft_length(n, (fc, fc), (q, q), sr)
    ours = biquad_response(coeffs, n_fft)[0].numpy()
    _, ref = ss.freqz(b, a, worN=n_fft // 2 + 1, whole=False, include_nyquist=True)
    np.testing.assert_allclose(ours, ref, atol=1e-10)
    x = np.random.default_rng(1).standard_normal(n)
    y = biquad_fft_filter(torch.tensor(x)[None], coeffs, n_fft)[0].numpy()
    np.testing.assert_allclose(y, ss.lfilter(b, a, x), atol=1e-9)


def test_too_short_fft_is_refused_and_truncation_shows():
    coeffs = biquad_highpass_coeffs(torch.tensor(30.0), torch.tensor(1.0), 8192.0)
    x = torch.randn(1, 256, dtype=torch.float64)
    with pytest.raises(ValueError, match="n_fft must be >= the signal length 256"):
        biquad_fft_filter(x, coeffs, 128)
    b = [c.item() for c in coeffs[:3]]
    a = [1.0, coeffs[3].item(), coeffs[4].item()]
    # without padding the circular wrap of the slow (30 Hz) tail is visible: padding matters
    wrapped = biquad_fft_filter(x, coeffs, 256)[0].numpy()
    assert np.abs(wrapped - ss.lfilter(b, a, x[0].numpy())).max() > 1e-3


# ------------------------------------------------------------------------------- gradients
def test_gradcheck_every_parameter():
    synth = _tiny().build(validate=False)
    gen = torch.Generator().manual_seed(0)
    theta = (0.2 + 0.6 * torch.rand(2, 14, generator=gen, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: synth(t), (theta,), eps=1e-6, atol=1e-5)
    # and every parameter moves the sound: no column of the Jacobian is zero
    jac = torch.autograd.functional.jacobian(lambda t: synth(t).sum(dim=(0, 1)), theta)
    col_norm = jac.abs().sum(dim=(0, 1))  # (14,)
    assert bool((col_norm > 1e-6).all()), dict(zip(DRUM_PARAM_NAMES, col_norm.tolist()))


# ------------------------------------------------------------------------------- the sound
def _centroid_hz(x: np.ndarray, sr: float) -> np.ndarray:
    mag = np.abs(np.fft.rfft(x, axis=-1))
    freqs = np.fft.rfftfreq(x.shape[-1], 1 / sr)
    return (mag * freqs).sum(-1) / mag.sum(-1)


def test_voices_have_their_character():
    cfg = DRUM_PRESETS["drums_micro"]
    gen = torch.Generator().manual_seed(0)
    cents, lows = {}, {}
    for voice in DRUM_VOICES:
        theta, index = sample_drum_theta(cfg, 8, gen, voices=[voice], dtype=torch.float64)
        assert index.tolist() == [DRUM_VOICES.index(voice)] * 8
        x = _render(cfg, theta)
        cents[voice] = _centroid_hz(x, cfg.sr)
        power = np.abs(np.fft.rfft(x, axis=-1)) ** 2
        freqs = np.fft.rfftfreq(x.shape[-1], 1 / cfg.sr)
        lows[voice] = power[:, freqs < 250].sum(-1) / power.sum(-1)
    # every bass drum is darker than every tom, every snare and every hi-hat, and so on
    assert cents["bass_drum"].max() < cents["tom"].min()
    assert cents["tom"].max() < cents["snare"].min()
    assert cents["snare"].max() < cents["hihat"].min()
    assert lows["bass_drum"].min() > 0.8  # a bass drum's energy is below 250 Hz
    assert lows["hihat"].max() < 0.05  # a hi-hat's is not


def test_bass_drum_fundamental_in_range():
    cfg = DRUM_PRESETS["drums_bass_drum"]
    theta, _ = sample_drum_theta(cfg, 6, torch.Generator().manual_seed(2), dtype=torch.float64)
    x = _render(cfg, theta)
    late = x[:, int(0.25 * cfg.sr) :]  # after the pitch envelope has settled
    spec = np.abs(np.fft.rfft(late * np.hanning(late.shape[-1]), n=8 * cfg.n_samples, axis=-1))
    peak_hz = np.fft.rfftfreq(8 * cfg.n_samples, 1 / cfg.sr)[spec.argmax(-1)]
    f0 = cfg.theta_to_params(theta)["osc1_hz"].numpy()
    np.testing.assert_allclose(peak_hz, f0, rtol=0.03)


def test_pitch_envelope_falls_as_the_formula_says():
    cfg = _osc1_only(pitch_decay_s=(0.1, 0.1), osc1_decay_s=(0.8, 0.8), osc1_mod=(1.0, 1.0))
    theta = _theta(cfg, osc1_hz=1.0)  # 70 Hz, starting at 140 Hz
    x = _render(cfg, theta)[0]
    phase = np.unwrap(np.angle(ss.hilbert(x, N=4 * x.size)[: x.size]))
    inst = np.gradient(phase) * cfg.sr / (2 * np.pi)
    for t in (0.05, 0.1, 0.2, 0.4):
        expected = 70.0 * (1.0 + math.exp(-math.log(1000.0) * t / 0.1))
        window = inst[int((t - 0.01) * cfg.sr) : int((t + 0.01) * cfg.sr)]
        assert window.mean() == pytest.approx(expected, rel=0.03), t
    early = inst[int(0.005 * cfg.sr) : int(0.015 * cfg.sr)].mean()  # ~ 70 (1 + 1/2) Hz
    late = inst[int(0.4 * cfg.sr) : int(0.5 * cfg.sr)].mean()  # ~ 70 Hz
    assert early > 1.3 * late


def _t_minus(x: np.ndarray, sr: float, drop_db: float) -> float:
    """Seconds from the envelope's peak until it stays below peak - drop_db (analytic signal)."""
    env = np.abs(ss.hilbert(x, N=4 * x.size))[: x.size]  # padded: no circular wrap
    env = np.convolve(env, np.ones(32) / 32, mode="same")  # smooth the ripple of the sine
    peak = int(env.argmax())
    above = np.nonzero(env[peak:] > env[peak] * 10 ** (-drop_db / 20))[0]
    return (above[-1] + peak) / sr


def test_decay_time_is_a_t60():
    # the -20 dB point of an exponential with T60 = T is at T / 3
    for decay in (0.15, 0.3, 0.6):
        cfg = _osc1_only(osc1_decay_s=(decay, decay), osc1_mod=(0.0, 0.0))
        x = _render(cfg, _theta(cfg))[0]
        assert _t_minus(x, cfg.sr, 20.0) == pytest.approx(decay / 3, rel=0.1, abs=0.01), decay


@pytest.mark.parametrize(
    ("voice", "decay"), [("bass_drum", "osc1_decay_s"), ("snare", "noise_decay_s")]
)
def test_decay_parameter_lengthens_the_sound(voice, decay):
    cfg = DRUM_PRESETS[f"drums_{voice}"]
    times = [
        _t_minus(_render(cfg, _theta(cfg, **{decay: v}))[0], cfg.sr, 20.0) for v in (0.0, 0.5, 1.0)
    ]
    assert times[0] < times[1] < times[2], times


# ------------------------------------------------------------------------------- shifts, noise
def test_shifted_hit_is_the_aligned_hit_delayed():
    cfg = DRUM_PRESETS["drums_meso"]
    synth = cfg.build()
    theta, _ = sample_drum_theta(cfg, 3, torch.Generator().manual_seed(4), dtype=torch.float64)
    with torch.no_grad():
        aligned = synth(theta, shifts=0)[:, 0]
        shifts = torch.tensor([-380, 0, 250])
        shifted = synth(theta, shifts=shifts)[:, 0]
    onset = cfg.onset_samples
    assert onset == 380
    for i, d in enumerate(shifts.tolist()):
        start = onset + d
        assert bool((shifted[i, :start] == 0).all())  # silence before the onset
        n = cfg.n_samples - max(start, onset)
        torch.testing.assert_close(shifted[i, start : start + n], aligned[i, onset : onset + n])


def test_random_shifts_are_seeded_and_bounded():
    synth = DRUM_PRESETS["drums_meso"].build()
    shifts = synth.sample_shifts(2000, generator=torch.Generator().manual_seed(0))
    assert int(shifts.min()) >= -380 and int(shifts.max()) <= 380
    assert int(shifts.min()) < -300 and int(shifts.max()) > 300  # the whole range is used
    theta = torch.rand(2, 14, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(synth(theta, seed=5), synth(theta, seed=5))
    assert not torch.equal(synth(theta, seed=5), synth(theta, seed=6))
    per_example = synth(theta, seed=[5, 6])
    torch.testing.assert_close(per_example[:1], synth(theta[:1], seed=[5]))
    micro = DRUM_PRESETS["drums_micro"].build()
    torch.testing.assert_close(micro(theta), micro(theta))  # no shift, fixed noise


def test_fresh_noise_when_noise_seed_is_none():
    cfg = DrumConfig(voice="snare", noise_seed=None)
    synth = cfg.build()
    theta = _theta(cfg).float()
    a, b = synth(theta, seed=1), synth(theta, seed=2)
    assert not torch.equal(a, b)
    torch.testing.assert_close(synth(theta, seed=1), a)


def test_peak_below_one_and_finite_everywhere():
    for name in ("drums_micro", "drums_meso", "drums_paper_meso"):
        cfg = DRUM_PRESETS[name]
        gen = torch.Generator().manual_seed(0)
        # the whole cube, not only the voice boxes: every corner must render
        theta = torch.rand(16, 14, generator=gen)
        theta[:2] = torch.tensor([0.0, 1.0])[:, None]
        with torch.no_grad():
            x = cfg.build()(theta, generator=gen)
        assert bool(torch.isfinite(x).all())
        assert float(x.abs().max()) <= 1.0  # tanh gain stage (1.0 itself in float32)
        assert x.shape == (16, 1, cfg.n_samples)


def test_kit_draws_stay_in_their_voice_box():
    cfg = DRUM_PRESETS["drums_micro"]
    theta, index = sample_drum_theta(cfg, 400, torch.Generator().manual_seed(0))
    assert sorted(set(index.tolist())) == [0, 1, 2, 3]
    params = cfg.theta_to_params(theta.double())
    for i, voice in enumerate(DRUM_VOICES):
        rows = index == i
        for name, (low, high) in voice_ranges(voice, cfg.sr).items():
            values = params[name][rows]
            tol = 1e-5 * max(abs(low), abs(high), 1.0)
            assert float(values.min()) >= low - tol and float(values.max()) <= high + tol, name
    with pytest.raises(ValueError, match="voices must be a non-empty subset"):
        sample_drum_theta(cfg, 4, voices=["cowbell"])
    with pytest.raises(ValueError, match="n must be a positive"):
        sample_drum_theta(cfg, 0)
