"""Tests of the encoder E_x (Section 3.4; Appendix E, Tables 10-11)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from scrapl_edu.models import (
    Encoder,
    LogSpectrogram,
    Spectrogram,
    count_parameters,
    paper_encoder_kwargs,
)
from scrapl_edu.presets import SYNTH_PRESETS as PRESETS
from scrapl_edu.synths import sample_theta


@pytest.fixture(scope="module")
def audio() -> torch.Tensor:
    synth = PRESETS["classroom"].build()
    return synth(sample_theta(4, generator=torch.Generator().manual_seed(0)), seed=0)


def test_output_shape_and_range(audio):
    torch.manual_seed(0)
    enc = Encoder(n_params=2)
    theta = enc(audio)
    assert theta.shape == (4, 2) and theta.dtype == torch.float32
    assert (theta > 0).all() and (theta < 1).all()
    assert Encoder(n_params=5)(audio).shape == (4, 5)


def test_parameter_counts():
    n = count_parameters(Encoder())
    assert 10_000 <= n <= 60_000  # classroom size
    # Tables 10-11: 604 K parameters
    assert count_parameters(Encoder(**paper_encoder_kwargs())) == pytest.approx(604_000, rel=0.02)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_gradient_reaches_every_parameter(audio, batch_norm):
    torch.manual_seed(0)
    enc = Encoder(batch_norm=batch_norm)
    enc(audio).sum().backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_end_to_end_gradient_through_the_synth(audio):
    """x -> E_x -> theta -> synth -> x_hat: the reconstruction loss trains the encoder."""
    torch.manual_seed(0)
    enc = Encoder()
    synth = PRESETS["classroom"].build()
    x_hat = synth(enc(audio), shifts=0)
    loss = (x_hat - audio).pow(2).mean()
    loss.backward()
    grads = [p.grad for p in enc.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0


def test_eval_mode_is_deterministic_and_length_independent(audio):
    torch.manual_seed(0)
    enc = Encoder(dropout=0.5).eval()
    torch.testing.assert_close(enc(audio), enc(audio))
    assert enc(audio[..., :4096]).shape == (4, 2)  # global pooling: any length


def test_custom_callable_frontend():
    calls = []

    def frontend(x: torch.Tensor) -> torch.Tensor:  # e.g. jtfs.scalogram: (B, F, T)
        calls.append(x.shape)
        return x[:, 0].reshape(x.shape[0], 16, -1).abs()

    enc = Encoder(frontend=frontend, channels=(4, 8))
    out = enc(torch.randn(3, 1, 1024))
    assert out.shape == (3, 2) and calls == [(3, 1, 1024)]
    assert "frontend" not in dict(enc.named_children())
    # a 4-D (B, 1, F, T) front end is accepted too
    enc4 = Encoder(frontend=lambda x: x.reshape(x.shape[0], 1, 16, -1).abs(), channels=(4,))
    assert enc4(torch.randn(2, 1, 1024)).shape == (2, 2)


def test_module_frontend_is_registered():
    spec = Spectrogram(n_fft=128, hop_length=64)
    enc = Encoder(frontend=spec)
    assert enc.frontend is spec and isinstance(enc.frontend, nn.Module)


def test_log1p_compression_of_features():
    enc = Encoder(frontend=lambda x: torch.full((1, 8, 8), np.e - 1.0), log1p=True)
    torch.testing.assert_close(enc.features(torch.zeros(1, 1, 64)), torch.ones(1, 1, 8, 8))
    raw = Encoder(frontend=lambda x: torch.full((1, 8, 8), 3.0), log1p=False)
    torch.testing.assert_close(raw.features(torch.zeros(1, 1, 64)), torch.full((1, 1, 8, 8), 3.0))


def test_spectrogram_peak_at_the_tone_frequency():
    sr, f, n_fft = 2048.0, 320.0, 256  # 320 Hz is bin 40
    t = torch.arange(8192, dtype=torch.float64) / sr
    x = torch.sin(2 * torch.pi * f * t)[None, None]
    spec = Spectrogram(n_fft=n_fft, hop_length=128, drop_dc=False)(x)
    assert spec.shape == (1, n_fft // 2 + 1, 8192 // 128 + 1)
    peak_bin = spec[0, :, 10:-10].mean(dim=-1).argmax().item()
    assert peak_bin == 40
    # magnitude of a unit sine through a Hann window: sum(window) / 2
    assert spec[0, peak_bin, 32].item() == pytest.approx(n_fft / 4, rel=0.1)


def test_errors():
    with pytest.raises(ValueError, match="frontend"):
        Encoder(frontend=lambda x: x.reshape(-1))(torch.randn(2, 1, 512))
    with pytest.raises(ValueError, match="n_params"):
        Encoder(n_params=0)
    with pytest.raises(ValueError, match="channels"):
        Encoder(channels=())
    with pytest.raises(ValueError, match="dropout"):
        Encoder(dropout=1.0)
    with pytest.raises(ValueError, match="audio must have shape"):
        Encoder()(torch.randn(2, 3, 4096))
    with pytest.raises(ValueError, match="n_fft"):
        Encoder()(torch.randn(2, 1, 100))


def test_log_spectrogram_is_standardised_on_its_fit_signals(audio):
    """LogSpectrogram.fit measures mean/std of log1p|STFT|; the features then have 0 / 1."""
    front = LogSpectrogram(n_fft=128, hop_length=64)
    raw = torch.log1p(Spectrogram(n_fft=128, hop_length=64)(audio))
    assert raw.mean().abs() < 0.5 and raw.std() < 0.5  # tiny at RMS 0.05: why it standardises
    front.fit(audio)
    f = front(audio)
    assert f.mean().item() == pytest.approx(0.0, abs=1e-5)
    assert f.std().item() == pytest.approx(1.0, rel=1e-4)
    torch.testing.assert_close(f, (raw - raw.mean()) / raw.std())
    state = front.state_dict()
    assert set(state) == {"mean", "std"}  # saved with the encoder; the window is not
    again = LogSpectrogram(n_fft=128, hop_length=64)
    again.load_state_dict(state)
    torch.testing.assert_close(again(audio), f)
