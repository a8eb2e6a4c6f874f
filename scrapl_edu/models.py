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
:class:`Spectrogram` (the encoder then skips its own ``log1p``).

:class:`Encoder` defaults to a classroom size (about 25 K parameters);
:func:`paper_encoder_kwargs` gives the paper's shape (about 0.6 M parameters).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

__all__ = [
    "ConvBlock",
    "Encoder",
    "LogSpectrogram",
    "Spectrogram",
    "count_parameters",
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
