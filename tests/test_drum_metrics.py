"""Tests of the drum metrics (Section 4.4; Tables 4, 8-9) against hand-computed cases.

Expected values come from closed forms (a windowed sine's three-bin spectrum, the IEC 61672
A-weighting table, white noise's flatness e^-gamma) computed here with numpy, not from the
module's own functions.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal as ss
import torch

from scrapl_edu import JTFS
from scrapl_edu.drum_metrics import (
    DRUM_METRICS,
    DrumFeatureConfig,
    a_weighting_db,
    audio_distances,
    drum_feature_errors,
    drum_features,
    frame_features,
    k_weighting_db,
)
from scrapl_edu.losses import JTFSLoss
from scrapl_edu.synths import DRUM_PRESETS, sample_drum_theta

SR = 8192.0
CFG = DrumFeatureConfig(sr=SR)
FLAT = DrumFeatureConfig(sr=SR, weighting="none")
EULER_GAMMA = 0.5772156649015329
# ITU-R BS.1770-4, Tables 1 and 2: the K-weighting pre-filter and RLB filter at 48 kHz
BS1770 = [
    (
        [1.53512485958697, -2.69169618940638, 1.19839281085285],
        [1.0, -1.69065929318241, 0.73248077421585],
    ),
    ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621]),
]


def _k_gain_db(freqs: np.ndarray) -> np.ndarray:
    total = np.ones(len(freqs))
    for b, a in BS1770:
        _, h = ss.freqz(b, a, worN=np.asarray(freqs, dtype=float), fs=48000.0)
        total = total * np.abs(h) ** 2
    return 10 * np.log10(total)


def _sine(freq: float, amp: float = 1.0, n: int = 8192) -> torch.Tensor:
    t = np.arange(n) / SR
    return torch.tensor(amp * np.sin(2 * np.pi * freq * t))[None]


# --------------------------------------------------------------------------- framing
def test_framing_scales_the_papers_frames_in_seconds():
    paper = DrumFeatureConfig(sr=44100.0)
    assert (paper.frame_length, paper.hop_length) == (2048, 512)
    assert paper.min_samples == 65 * 512 + 2048
    assert (CFG.frame_length, CFG.hop_length) == (380, 95)  # round(2048 * 8192 / 44100) ...
    for portion in ("transient", "decay"):
        ours, theirs = CFG.portion_seconds(portion), paper.portion_seconds(portion)
        np.testing.assert_allclose(ours, theirs, atol=1.5e-3)  # within a few samples
    assert paper.portion_seconds("transient")[1] == pytest.approx(2560 / 44100)  # ~58 ms


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sr": -1.0}, "sr must be a positive"),
        ({"sr": SR, "frame_s": 1e-4}, "a frame needs >= 4 samples"),
        ({"sr": SR, "hop_s": 0.0}, "hop_s must be at least one sample"),
        ({"sr": SR, "decay_frames": (5, 2)}, "decay_frames must be a frame range"),
        ({"sr": SR, "weighting": "B"}, "weighting must be 'K', 'A' or 'none'"),
        ({"sr": SR, "amin": 0.0}, "amin must be positive"),
    ],
)
def test_bad_feature_configs_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DrumFeatureConfig(**kwargs)


def test_short_signal_and_bad_onset_are_refused():
    with pytest.raises(ValueError, match="features need 6555"):
        frame_features(torch.zeros(1, 6000), CFG)
    with pytest.raises(ValueError, match="features need"):
        frame_features(torch.zeros(1, 8192), CFG, onset=2000)
    with pytest.raises(ValueError, match="onset must be >= 0"):
        frame_features(torch.zeros(1, 8192), CFG, onset=-1)
    with pytest.raises(ValueError, match="shape"):
        frame_features(torch.zeros(2, 2, 8192), CFG)


# --------------------------------------------------------------------------- hand-computed
def test_a_weighting_matches_the_iec_table():
    # IEC 61672-1 nominal A-weighting at the exact base-10 band centres 10^(k/10) Hz
    bands = 10.0 ** (np.array([15, 18, 21, 24, 27, 30, 33, 36, 39]) / 10)
    table = [-39.4, -26.2, -16.1, -8.6, -3.2, 0.0, 1.2, 1.0, -1.1]
    np.testing.assert_allclose(a_weighting_db(torch.tensor(bands)).numpy(), table, atol=0.1)


def _bin_sine_expectations(k0: int, amp: float, cfg: DrumFeatureConfig) -> dict[str, float]:
    """A sine at bin k0 through a periodic Hann window: |Y| = aL/8, aL/4, aL/8 at k0-1..k0+1."""
    length = cfg.frame_length
    bins = length // 2 + 1
    sum_w2 = 3 * length / 8
    power = np.zeros(bins)
    for k, mag in ((k0 - 1, amp * length / 8), (k0, amp * length / 4), (k0 + 1, amp * length / 8)):
        power[k] = 2 * mag**2 / (length * sum_w2)
    floored = power + cfg.amin
    freqs = np.arange(bins) * cfg.sr / length
    centroid = (np.sqrt(floored) * freqs).sum() / np.sqrt(floored).sum()
    flatness = np.exp(np.log(floored).mean()) / floored.mean()
    return {
        "power": power.sum(),
        "centroid_hz": centroid,
        "flatness_db": 10 * np.log10(flatness),
        "freq": k0 * cfg.sr / length,
    }


def test_k_weighting_is_bs1770():
    freqs = np.array([20.0, 50.0, 100.0, 1000.0, 2000.0, 4000.0, 20000.0])
    np.testing.assert_allclose(k_weighting_db(torch.tensor(freqs)).numpy(), _k_gain_db(freqs))
    assert float(k_weighting_db(torch.tensor(50.0))) < -3.0  # the RLB high-pass
    assert float(k_weighting_db(torch.tensor(4000.0))) == pytest.approx(4.0, abs=0.1)  # shelf


def test_constant_tone_loudness_centroid_flatness():
    k0, amp = 46, 0.5  # 991.7 Hz, -6 dBFS peak
    expect = _bin_sine_expectations(k0, amp, CFG)
    assert expect["power"] == pytest.approx(amp**2 / 2)  # the window-compensated mean square
    x = _sine(expect["freq"], amp)
    plain = frame_features(x, FLAT)
    np.testing.assert_allclose(plain["loudness"], 10 * math.log10(amp**2 / 2), atol=1e-9)
    # weighted: the three bins each take their weighting's gain
    bins = np.array([k0 - 1, k0, k0 + 1]) * SR / CFG.frame_length
    share = np.array([1, 4, 1]) / 6 * amp**2 / 2  # |Y|^2 ratios 1 : 4 : 1
    k_lkfs = -0.691 + 10 * np.log10((share * 10 ** (_k_gain_db(bins) / 10)).sum())
    np.testing.assert_allclose(frame_features(x, CFG)["loudness"], k_lkfs, atol=1e-9)
    a_cfg = DrumFeatureConfig(sr=SR, weighting="A")
    a_gain = 10 ** (a_weighting_db(torch.tensor(bins)).numpy() / 10)
    np.testing.assert_allclose(
        frame_features(x, a_cfg)["loudness"], 10 * np.log10((share * a_gain).sum()), atol=1e-9
    )
    # BS.1770: a 0 dBFS sine at 1 kHz reads -3.01 LKFS (here 992 Hz)
    full = frame_features(_sine(expect["freq"], 1.0), CFG)["loudness"]
    np.testing.assert_allclose(full, -3.01, atol=0.03)
    feats = frame_features(x, CFG)
    np.testing.assert_allclose(feats["centroid_hz"], expect["centroid_hz"], rtol=1e-9)
    assert float(feats["centroid_hz"][0, 0]) == pytest.approx(expect["freq"], abs=0.5)
    semitones = 12 * math.log2(expect["freq"] / 440) + 69
    np.testing.assert_allclose(feats["centroid"], semitones, atol=0.01)
    np.testing.assert_allclose(feats["flatness"], expect["flatness_db"], atol=1e-6)
    assert float(feats["flatness"].max()) < -80  # a tone is anything but flat


def test_white_noise_flatness_is_exp_minus_gamma():
    noise = torch.randn(8, 8192, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    feats = frame_features(noise, FLAT)
    ratio = 10 ** (feats["flatness"] / 10)
    assert float(ratio.mean()) == pytest.approx(math.exp(-EULER_GAMMA), rel=0.02)
    # unit-variance noise: 0 dB of mean square, and its centroid near sr / 4
    assert float(feats["loudness"].mean()) == pytest.approx(0.0, abs=0.2)
    assert float(feats["centroid_hz"].mean()) == pytest.approx(SR / 4, rel=0.02)


def test_silence_is_a_flat_floor():
    feats = frame_features(torch.zeros(1, 8192), CFG)
    np.testing.assert_allclose(feats["loudness"], -120.0 - 0.691, atol=1e-9)  # floor + offset
    np.testing.assert_allclose(feats["flatness"], 0.0, atol=1e-9)
    mean_bin_hz = np.arange(CFG.frame_length // 2 + 1).mean() * SR / CFG.frame_length
    np.testing.assert_allclose(feats["centroid_hz"], mean_bin_hz, rtol=1e-12)


def test_transient_and_decay_split_by_frame_index():
    n, hop, length = 8192, CFG.hop_length, CFG.frame_length
    tone = _sine(1000.0)
    early = tone.clone()
    early[:, 2 * hop :] = 0  # only in frames 0 and 1 (frame 2 starts at 2 hop)
    late = tone.clone()
    late[:, : hop + length] = 0  # nothing in frames 0 and 1 (frame 1 ends at hop + L)
    fe, fl = drum_features(early, FLAT), drum_features(late, FLAT)
    assert float(fe["loudness_transient"]) > -20 and float(fe["loudness_decay"]) == -120.0
    assert float(fl["loudness_transient"]) == -120.0 and float(fl["loudness_decay"]) > -20
    # an impulse in the middle of frame 0 (window weight 1): power 1 / sum(w^2) and a flat
    # spectrum; frame 2 starts on it, where the periodic Hann window is 0, and sees nothing
    impulse = torch.zeros(1, n)
    impulse[0, length // 2] = 1.0
    feats = frame_features(impulse, FLAT)
    np.testing.assert_allclose(feats["loudness"][0, 0], 10 * math.log10(1 / (3 * length / 8)))
    assert float(feats["flatness"][0, 0]) == pytest.approx(0.0, abs=0.05)  # an impulse is flat
    assert bool((feats["loudness"][0, 2:] == -120.0).all())


def test_onset_crops_the_pre_roll():
    hit = _sine(500.0) * torch.exp(-torch.arange(8192) / 800.0)
    pre_roll = torch.cat([torch.zeros(1, 380, dtype=hit.dtype), hit[:, :-380]], dim=1)
    a, b = drum_features(hit, CFG), drum_features(pre_roll, CFG, onset=380)
    for name in DRUM_METRICS:
        torch.testing.assert_close(a[name], b[name])
    per_example = drum_features(torch.cat([hit, pre_roll]), CFG, onset=torch.tensor([0, 380]))
    for name in DRUM_METRICS:
        torch.testing.assert_close(per_example[name][0], per_example[name][1])


def test_loudness_weighting_ignores_quiet_frames():
    # a 200 Hz hit decaying 60 dB in 0.35 s over a constant -80 dB tone at 3 kHz: the late
    # decay frames hear only the 3 kHz tone; weighted by loudness, the centroid stays at the hit
    t = torch.arange(8192, dtype=torch.float64) / SR
    hit = torch.sin(2 * math.pi * 200.0 * t) * torch.exp(-math.log(1000.0) * t / 0.35)
    x = (hit + 1e-4 * torch.sin(2 * math.pi * 3000.0 * t))[None]
    feats = drum_features(x, FLAT)
    unweighted = frame_features(x, FLAT)["centroid"][0, 2:66].mean()
    hit_st = 12 * math.log2(200 / 440) + 69
    assert float(feats["centroid_decay"]) == pytest.approx(hit_st, abs=1.0)
    assert float(unweighted) > hit_st + 10


# ---# --------------------------------------------------------------------------- errors
def test_errors_are_l1_of_the_summaries():
    cfg = DRUM_PRESETS["drums_micro"]
    synth = cfg.build()
    theta, _ = sample_drum_theta(cfg, 4, torch.Generator().manual_seed(0), dtype=torch.float64)
    with torch.no_grad():
        x = synth(theta)
        x_hat = synth(theta.flip(0))
    errors = drum_feature_errors(x_hat, x, CFG)
    assert set(errors) == set(DRUM_METRICS)
    pred, target = drum_features(x_hat, CFG), drum_features(x, CFG)
    for name in DRUM_METRICS:
        np.testing.assert_allclose(errors[name], (pred[name] - target[name]).abs())
        assert float(errors[name].max()) > 0
    same = drum_feature_errors(x, x, CFG)
    assert all(float(v.abs().max()) == 0.0 for v in same.values())
    framewise = drum_feature_errors(x_hat, x, CFG, framewise=True)
    for name in DRUM_METRICS:  # the mean of |differences| bounds the |difference of means|
        if name.startswith("loudness"):
            assert bool((framewise[name] >= errors[name] - 1e-9).all())


@pytest.mark.parametrize("voice", ["snare", "hihat"])
def test_meso_transient_error_grows_with_misalignment(voice):
    # what Table 8 measures: a 37 ms shift of the same snare or hat misses its transient
    cfg = DRUM_PRESETS["drums_meso"]
    synth = cfg.build()
    gen = torch.Generator().manual_seed(1)
    theta, _ = sample_drum_theta(cfg, 4, gen, voices=[voice], dtype=torch.float64)
    with torch.no_grad():
        aligned = synth(theta, shifts=0)
        shifted = synth(theta, shifts=300)
        nudged = synth(theta, shifts=2)
    big = drum_feature_errors(shifted, aligned, CFG, onset=cfg.onset_samples)
    small = drum_feature_errors(nudged, aligned, CFG, onset=cfg.onset_samples)
    assert float(big["loudness_transient"].min()) > 1.0  # dB
    assert float(small["loudness_transient"].max()) < 0.5
    assert bool((big["loudness_transient"] > 10 * small["loudness_transient"]).all())


# ---# --------------------------------------------------------------------------- audio distances
def test_audio_distances_mss_and_jtfs():
    n = 4096  # MSS's largest FFT (2048) needs more than 2048 samples
    jtfs = JTFS(shape=n, J=8, Q1=8, Q2=2, J_fr=3, Q_fr=2, T=256, F=2)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, 1, n, generator=gen)
    x_hat = x + 0.3 * torch.randn(3, 1, n, generator=gen)
    d = audio_distances(x_hat, x, jtfs=jtfs, rho="log1p")
    assert d["mss"].shape == d["jtfs"].shape == (3,)
    # per-example JTFS distance: the full JTFS loss of that example (Eq. 3, JTFSLoss)
    loss = JTFSLoss(jtfs, rho="log1p")
    for i in range(3):
        assert float(d["jtfs"][i]) == pytest.approx(float(loss(x_hat[i : i + 1], x[i : i + 1])))
    same = audio_distances(x, x, jtfs=jtfs)
    assert float(same["mss"].abs().max()) < 1e-6 and float(same["jtfs"].abs().max()) == 0.0
    # a louder copy: the linear magnitudes double; the log part is log(2) at every bin
    double = audio_distances(2 * x, x)["mss"]
    assert bool((double > math.log10(2) / 2).all())
    with pytest.raises(ValueError, match="same shape"):
        audio_distances(x[:, :, :-1], x)
