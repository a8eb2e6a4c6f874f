"""The encoder's front ends (issue 10 item 2): the paper's log1p CQT and the AM it resolves.

* :class:`~scrapl_edu.models.CQT` equals a direct time-domain convolution with its Morlet
  filters sampled every hop (the folded-spectrum shortcut is exact), has 12 geometric bins
  per octave, and gives A / 2 for a tone of amplitude A at a bin's centre;
* :func:`~scrapl_edu.models.modulation_transfer` (from the filters' frequency responses)
  equals the AM depth measured on the module's output for AM tones, and the Gaussian
  closed form exp(-f² / 2σ²) for a CQT channel;
* every chirplet preset's top AM rate against the paper's CQT (hop 31.25 ms) and against
  the lab's STFT: which pass the frame-rate criterion and which the window criterion.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from scrapl_edu import lab
from scrapl_edu.models import (
    CQT,
    LogCQT,
    LogSpectrogram,
    Spectrogram,
    am_resolution,
    build_frontend,
    measured_modulation_gain,
    modulation_transfer,
)
from scrapl_edu.presets import (
    PRESETS,
    am_resolution_of,
    chirplet_band_hz,
    frontend_spec,
    get_preset,
    paper_cqt_frontend,
    shrink,
)
from scrapl_edu.synths import ChirpletConfig

CHIRPLETS = [n for n, p in PRESETS.items() if isinstance(p.synth, ChirpletConfig)]


def test_cqt_equals_a_direct_convolution_sampled_every_hop():
    sr, n, hop = 1024.0, 2048, 32
    cqt = CQT(sr, n_octaves=3, bins_per_octave=4, hop_length=hop)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, n))
    got = cqt(torch.as_tensor(x)[:, None]).numpy()
    h = np.fft.ifft(cqt.filters(n), axis=-1)  # complex time-domain filters (bins, n)
    for b in range(2):
        for k in range(h.shape[0]):
            # circular convolution y[t] = sum_s x[s] h[t - s], at t = 0, hop, 2 hop, ...
            y = np.array([np.dot(x[b], np.roll(h[k][::-1], t + 1)) for t in range(0, n, hop)])
            np.testing.assert_allclose(got[b, k], np.abs(y), rtol=1e-9, atol=1e-12)
    assert got.shape == (2, 12, n // hop)


def test_cqt_bins_are_geometric_and_a_tone_reads_half_its_amplitude():
    cqt = CQT(8192.0, hop_length=256)
    f = cqt.freqs_hz
    assert f.size == 60 and np.all(np.diff(f) > 0)
    np.testing.assert_allclose(f[1:] / f[:-1], 2 ** (1 / 12))
    np.testing.assert_allclose(f[-1] / f[0], 2 ** (59 / 12))
    assert cqt.frame_rate_hz == 32.0  # hop 256 at 8192 Hz: 31.25 ms
    k = 40
    t = np.arange(32768) / 8192.0
    x = 0.3 * np.cos(2 * np.pi * f[k] * t)
    U = cqt(torch.as_tensor(x)[None, None])[0].numpy()
    assert int(np.argmax(U.mean(axis=1))) == k
    assert np.median(U[k]) == pytest.approx(0.15, rel=0.01)


def test_log_cqt_is_standardised_and_saved():
    x = 0.05 * torch.randn(4, 1, 4096)
    fe = LogCQT(1024.0, hop_length=32).fit(x)
    out = fe(x)
    assert out.shape == (4, 60, 128) and out.dtype == x.dtype
    assert float(out.mean()) == pytest.approx(0.0, abs=1e-4)
    assert float(out.std()) == pytest.approx(1.0, abs=1e-3)
    again = LogCQT(1024.0, hop_length=32)
    again.load_state_dict(fe.state_dict())
    torch.testing.assert_close(again(x), out)
    raw = torch.log1p(fe.cqt(x) / 1e-3)  # the authors' log1p(U / 1e-3), then standardised
    torch.testing.assert_close(out, ((raw - raw.mean()) / raw.std()).float(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"sr": -1.0}, "sr must be"),
        ({"sr": 1024.0, "hop_length": 0}, "hop_length"),
        ({"sr": 1024.0, "f_max": 600.0}, "f_max"),
        ({"sr": 1024.0, "bins_per_octave": 1.5}, "bins_per_octave"),
    ],
)
def test_cqt_refuses_bad_arguments(bad, match):
    with pytest.raises(ValueError, match=match):
        CQT(**bad)


def test_build_frontend_reads_the_kind():
    assert isinstance(build_frontend({"n_fft": 128, "hop_length": 64}, 1024.0), LogSpectrogram)
    cqt = build_frontend(paper_cqt_frontend(1024.0), 1024.0)
    assert isinstance(cqt, LogCQT) and cqt.cqt.hop_length == 32
    with pytest.raises(ValueError, match="unknown front end kind 'mel'"):
        build_frontend({"kind": "mel"}, 1024.0)
    with pytest.raises(ValueError, match="bad cqt front end"):
        build_frontend({"kind": "cqt", "n_fft": 12}, 1024.0)


@pytest.mark.parametrize("rate", [1.0, 2.8, 8.4])
def test_modulation_transfer_equals_the_measured_am_depth(rate):
    sr, fc = 1024.0, 108.7
    cqt = CQT(sr, hop_length=32)
    want = measured_modulation_gain(cqt, sr, 4096, fc, rate)
    assert modulation_transfer(cqt, fc, rate) == pytest.approx(want, abs=0.01)
    for n_fft, hop in ((128, 64), (64, 16)):
        stft = Spectrogram(n_fft, hop)
        want = measured_modulation_gain(stft, sr, 4096, fc, rate)
        assert modulation_transfer(stft, fc, rate, sr=sr) == pytest.approx(want, abs=0.01)


def test_modulation_transfer_of_a_cqt_channel_is_gaussian():
    cqt = CQT(1024.0, hop_length=32)
    k = 30
    fc, sigma = cqt.freqs_hz[k], cqt.sigmas_hz[k]
    for rate in (1.0, 3.0, 6.0):
        want = np.exp(-(rate**2) / (2 * sigma**2))
        assert modulation_transfer(cqt, fc, rate) == pytest.approx(want, rel=0.01)
    with pytest.raises(ValueError, match="sr="):
        modulation_transfer(Spectrogram(128, 64), 100.0, 2.0)


def test_paper_cqt_hop_is_the_papers_in_seconds_for_every_preset():
    for name in PRESETS:
        p = get_preset(name)
        spec = frontend_spec(p, "cqt")
        assert spec["kind"] == "cqt" and spec["bins_per_octave"] == 12
        assert spec["n_octaves"] == (9 if getattr(p.synth, "kind", "") == "drums" else 5)
        assert spec["hop_length"] / p.synth.sr == pytest.approx(256 / 8192, rel=0.02), name
    assert frontend_spec("classroom", "stft") == get_preset("classroom").frontend
    with pytest.raises(ValueError, match="unknown front end kind"):
        frontend_spec("classroom", "wavelet")


def test_the_lab_selects_the_front_end_per_run_without_changing_the_presets():
    assert "kind" not in get_preset("classroom").frontend  # the classroom default: an STFT
    cfg = lab.make_config("classroom", frontend="cqt")
    assert cfg.frontend == {"kind": "cqt", "n_octaves": 5, "bins_per_octave": 12, "hop_length": 32}
    assert (
        lab.make_config("classroom", frontend={"kind": "cqt", "n_octaves": 4}).frontend["n_octaves"]
        == 4
    )
    fast = lab.make_config("classroom", fast=True, frontend="cqt")
    assert fast.frontend["hop_length"] == 8  # 31.25 ms at the fast preset's 256 Hz
    res = lab.run(dataclasses.replace(fast, loss="p_loss", steps=2), None, progress=False)
    assert 0 <= res.test_theta_l1_permille <= 1000
    # a preset whose front end is the CQT stays a CQT when shrunk
    p = dataclasses.replace(get_preset("classroom"), frontend=paper_cqt_frontend(1024.0))
    small = shrink(p)
    assert small.frontend["kind"] == "cqt" and small.frontend["hop_length"] == 8


def test_chirplet_band_is_where_the_window_is_above_half():
    cfg = get_preset("classroom").synth
    lo, hi = chirplet_band_hz(cfg)
    assert lo * hi == pytest.approx(cfg.carrier_hz**2)
    # sigma = sigma0 B / gamma seconds; at |t| = sqrt(2 ln 2) sigma the window is 1/2
    gamma = 3.0
    t = np.sqrt(2 * np.log(2)) * cfg.sigma0 * cfg.bandwidth_oct / gamma
    assert lo == pytest.approx(cfg.carrier_hz * 2 ** (-gamma * t))


@pytest.mark.parametrize("name", CHIRPLETS)
def test_which_front_end_resolves_each_presets_top_am_rate(name):
    """Frame rate >= 2 x top AM rate; window: transfer >= 1/2 at the band's lowest frequency.

    The outcome (README, "The encoder's front end"): the paper's CQT passes both at the
    paper's scale (8192 Hz, carrier 512 Hz) and on the AM 1-2 Hz presets; at the classroom
    scale with AM up to 8.4 Hz it samples fast enough but its 12-bin-per-octave filters at
    ~109 Hz are too long (transfer ~0.13). The previous classroom STFT (128 / 64 at 1024 Hz)
    passed the window (~0.53) but not the frame rate (16 frames/s < 16.8); every classroom
    preset's own front end (STFT 64 / 16: 64 frames/s, transfer ~0.84) now passes both.
    """
    p = get_preset(name)
    top = p.synth.am_hz[1]
    paper_scale = p.synth.sr == 8192.0
    cqt = am_resolution_of(name, "cqt")
    assert cqt.frames_ok and cqt.frame_rate_hz == pytest.approx(32.0, rel=0.01)
    assert cqt.window_ok == (paper_scale or top <= 2.0), cqt
    if not paper_scale:
        own = am_resolution_of(name)
        assert own.ok and own.frame_rate_hz == 64.0 and own.transfer > 0.8, own
        old = dataclasses.replace(p, frontend={"n_fft": 128, "hop_length": 64})
        stft = am_resolution_of(old)
        assert stft.frame_rate_hz == 16.0 and stft.window_ok
        assert stft.frames_ok == (top <= 8.0), stft
    assert am_resolution_of("granular") is None


def test_every_classroom_preset_front_end_resolves_its_am():
    """Issue 10 item 2: the classroom presets' own front end passes the AM-resolution test."""
    names = [n for n in PRESETS if n.startswith("classroom")]
    assert "classroom_granular" in names and len(names) >= 7
    for name in names:
        p = get_preset(name)
        assert p.frontend == {"n_fft": 64, "hop_length": 16}, name  # every row alike
        res = am_resolution_of(name)
        if isinstance(p.synth, ChirpletConfig):
            assert res.ok, (name, res)
        else:
            assert res is None, name  # the granular synth has no AM


def test_fewer_bins_per_octave_resolve_the_classroom_am():
    """At 1024 Hz the chirplet's 109 Hz needs <= 6 bins per octave to pass 8.4 Hz AM."""
    lo = chirplet_band_hz(get_preset("classroom").synth)[0]
    ok = {
        b: am_resolution(CQT(1024.0, bins_per_octave=b, hop_length=32), 1024.0, 8.4, lo).ok
        for b in (4, 6, 8, 12)
    }
    assert ok == {4: True, 6: True, 8: False, 12: False}
