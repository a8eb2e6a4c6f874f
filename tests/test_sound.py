"""scrapl_edu.sound: WAV players checked by decoding them with scipy (an independent reader)."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
import torch
from scipy.io import wavfile

from scrapl_edu.sound import DEFAULT_PEAK, MIN_PLAYABLE_RATE, audio, players, wav_bytes


def _decode(data: bytes) -> tuple[int, np.ndarray]:
    sr, samples = wavfile.read(io.BytesIO(data))
    return sr, samples.astype(np.float64) / 32767.0


def _chirp(n: int = 2000, sr: int = 8000) -> np.ndarray:
    t = np.arange(n) / sr
    return 0.3 * np.sin(2 * np.pi * (200 * t + 400 * t**2)) * np.hanning(n)


def test_wav_is_the_signal_scaled_to_the_peak() -> None:
    x = _chirp()
    sr, y = _decode(wav_bytes(x, 8000))
    assert sr == 8000 and y.shape == x.shape
    assert np.max(np.abs(y)) == pytest.approx(DEFAULT_PEAK, abs=1 / 32767)
    # the same waveform: residual after the gain is within 16-bit rounding
    gain = DEFAULT_PEAK / np.max(np.abs(x))
    assert np.max(np.abs(y - gain * x)) <= 0.5 / 32767 + 1e-12


def test_no_normalisation_keeps_the_level_and_refuses_clipping() -> None:
    x = _chirp()
    _, y = _decode(wav_bytes(x, 8000, normalize=False))
    assert np.max(np.abs(y - x)) <= 0.5 / 32767 + 1e-12
    with pytest.raises(ValueError, match="normalize=True"):
        wav_bytes(5 * x, 8000, normalize=False)


def test_torch_stereo_and_silence() -> None:
    x = torch.tensor(np.stack([_chirp(), -_chirp()]))
    sr, y = _decode(wav_bytes(x, 16000))
    assert sr == 16000 and y.shape == (2000, 2)
    np.testing.assert_allclose(y[:, 0], -y[:, 1], atol=1 / 32767)
    _, z = _decode(wav_bytes(np.zeros(100), 8000))  # silence is not divided by zero
    assert np.all(z == 0)
    _, w = _decode(wav_bytes(torch.ones(1, 10, requires_grad=True), 8000))  # (1, n) = mono
    assert w.shape == (10,)


def test_classroom_rate_is_upsampled_to_a_playable_one() -> None:
    """Browsers refuse 1024 Hz WAVs: the file is written at 8192 Hz, same content."""
    sr = 1024
    t = np.arange(2 * sr) / sr
    x = np.sin(2 * np.pi * 100 * t) * np.hanning(t.size)
    rate, y = _decode(wav_bytes(x, sr))
    assert rate == 8 * sr >= MIN_PLAYABLE_RATE and y.size == 8 * x.size
    assert np.max(np.abs(y)) == pytest.approx(DEFAULT_PEAK, abs=1 / 32767)
    spec = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(y.size, 1 / rate)
    assert abs(freqs[np.argmax(spec)] - 100) < 1.0  # the tone is where it was
    assert spec[freqs > sr / 2].sum() < 1e-4 * spec.sum()  # nothing above the old Nyquist
    rate, z = _decode(wav_bytes(0.5 * x, sr, normalize=False))  # the level is kept
    assert np.max(np.abs(z)) == pytest.approx(0.5, abs=0.02)


@pytest.mark.parametrize(
    ("x", "sr", "match"),
    [
        (np.zeros((4, 100)), 8000, "not a batch"),
        (np.zeros((2, 2, 10)), 8000, "one signal"),
        (np.zeros(0), 8000, "empty"),
        (np.array([0.0, np.nan]), 8000, "NaN"),
        (np.zeros(10), 0, "sr must be"),
        (np.zeros(10), 44100.5, "sr must be"),
        (np.zeros(10), "8000", "sr must be"),
    ],
)
def test_bad_input_is_named(x, sr, match) -> None:
    with pytest.raises(ValueError, match=match):
        wav_bytes(x, sr)


def test_bad_peak() -> None:
    with pytest.raises(ValueError, match="peak"):
        wav_bytes(np.ones(4), 8000, peak=1.5)


def test_audio_player_embeds_the_wav_and_works_headless() -> None:
    from IPython.display import Audio

    player = audio(_chirp(), 8000)
    assert isinstance(player, Audio)
    page = player._repr_html_()
    assert "<audio" in page and "controls" in page
    b64 = re.search(r'src="data:audio/wav;base64,([^"]+)"', page).group(1)
    sr, y = _decode(base64.b64decode(b64))
    assert sr == 8000 and np.max(np.abs(y)) == pytest.approx(DEFAULT_PEAK, abs=1 / 32767)


def test_players_common_scale_keeps_the_level_ratio() -> None:
    loud, quiet = _chirp(), 0.25 * _chirp()
    row = players({"target": loud, "reconstruction": quiet}, 8000, title="a & b")
    page = row._repr_html_()
    assert "<th>target</th>" in page and "<th>reconstruction</th>" in page
    assert "a &amp; b" in page
    peaks = []
    for b64 in re.findall(r'src="data:audio/wav;base64,([^"]+)"', page):
        peaks.append(np.max(np.abs(_decode(base64.b64decode(b64))[1])))
    assert peaks[0] == pytest.approx(DEFAULT_PEAK, abs=1e-4)
    assert peaks[1] / peaks[0] == pytest.approx(0.25, abs=1e-3)
    each = players({"a": loud, "b": quiet}, 8000, common_scale=False)
    assert "2 audio players: a, b" in repr(each)
    with pytest.raises(ValueError, match="signals is empty"):
        players({}, 8000)
    with pytest.raises(ValueError, match=r"signals\['b'\]"):
        players({"a": loud, "b": np.zeros((3, 5))}, 8000)
