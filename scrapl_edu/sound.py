"""Sound for the notebooks: audio players that work in JupyterLab, Voilà, and static HTML.

:func:`audio` turns a signal (NumPy array or torch tensor) into an
``IPython.display.Audio`` player holding a 16-bit WAV. The WAV is encoded here, so the
player needs no kernel and no network: it shows up in a notebook saved with outputs, in
Voilà, and in the read-only HTML edition (``make book``). :func:`players` lays out
several labelled players side by side, e.g. a target next to its reconstruction by each
loss (Sections 4.2-4.3 of the paper).

Rates: browsers cannot play the classroom's 1024 Hz; a signal below
:data:`MIN_PLAYABLE_RATE` is upsampled by a whole factor (polyphase, band-limited) first.

Loudness: by default every player is scaled to the same peak (``peak``), so a quiet
reconstruction is not mistaken for a bad one. Pass ``normalize=False`` to hear the
signal's own level (values must then lie in [-1, 1]), or use :func:`players` with
``common_scale=True`` to keep the level differences between the signals.
"""

from __future__ import annotations

import html
import io
import wave
from typing import Any

import numpy as np
from scipy.signal import resample_poly

__all__ = ["MIN_PLAYABLE_RATE", "audio", "players", "wav_bytes"]

#: the default peak of a normalised player, a little under full scale (no clipping)
DEFAULT_PEAK = 0.9
#: browsers refuse to play WAV files at low sample rates (Chromium: below 3000 Hz), and the
#: classroom presets run at 1024 Hz; slower signals are upsampled by a whole factor to at
#: least this rate (band-limited: what they contain is unchanged)
MIN_PLAYABLE_RATE = 8000


def _as_samples(x: Any, name: str = "x") -> np.ndarray:
    """A float64 array of shape (n,) or (channels, n) from an array or a tensor."""
    if hasattr(x, "detach"):  # a torch tensor: no torch import needed here
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be one signal of shape (n,) or (channels, n) with 1-2 channels, "
            f"got shape {arr.shape}; pick one example of a batch, e.g. x[0]"
        )
    if arr.ndim == 2 and arr.shape[0] > 2:
        raise ValueError(
            f"{name} has {arr.shape[0]} rows: give (n,) for mono or (2, n) for stereo, "
            f"not a batch (got shape {arr.shape})"
        )
    if arr.shape[-1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}): need at least one sample")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or inf values: cannot play it")
    return arr


def _check_rate(sr: Any) -> int:
    if isinstance(sr, bool) or not isinstance(sr, int | float | np.integer | np.floating):
        raise ValueError(f"sr must be a sample rate in Hz (a positive number), got {sr!r}")
    if not np.isfinite(sr) or sr <= 0 or float(sr) != int(sr):
        raise ValueError(f"sr must be a positive whole number of Hz, got {sr!r}")
    return int(sr)


def _scale(arr: np.ndarray, normalize: bool, peak: float, name: str = "x") -> np.ndarray:
    if not 0.0 < peak <= 1.0:
        raise ValueError(f"peak must be in (0, 1] (a fraction of full scale), got {peak!r}")
    top = float(np.max(np.abs(arr)))
    if normalize:
        return arr * (peak / top) if top > 0 else arr  # silence stays silence
    if top > 1.0 + 1e-9:  # tolerance: a common gain may round a hair above 1
        raise ValueError(
            f"{name} peaks at {top:.3g}, outside [-1, 1]; pass normalize=True to scale it"
        )
    return arr


def wav_bytes(x: Any, sr: int, *, normalize: bool = True, peak: float = DEFAULT_PEAK) -> bytes:
    """Encode a signal as a 16-bit PCM WAV file (bytes).

    Args:
        x: shape (n,) mono or (channels, n) with 1-2 channels; NumPy array or torch tensor.
        sr: sample rate in Hz; below :data:`MIN_PLAYABLE_RATE` the file is written at
            ``sr * ceil(MIN_PLAYABLE_RATE / sr)`` Hz (the signal upsampled, band-limited).
        normalize: scale the signal so that its largest magnitude is ``peak``; otherwise
            its values must lie in [-1, 1] and are written as they are.
        peak: target peak as a fraction of full scale, in (0, 1].
    """
    rate = _check_rate(sr)
    arr = _as_samples(x)
    if not normalize:
        _scale(arr, False, peak)  # the range check on the signal as given
    if rate < MIN_PLAYABLE_RATE:
        factor = -(-MIN_PLAYABLE_RATE // rate)  # ceil
        arr = resample_poly(arr, factor, 1, axis=-1)
        rate *= factor
    if normalize:
        arr = _scale(arr, True, peak)
    # (n, channels) 16-bit frames; the clip only catches the interpolation's small overshoot
    frames = np.round(np.clip(np.atleast_2d(arr).T, -1.0, 1.0) * 32767.0).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(frames.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames.tobytes())
    return buf.getvalue()


def audio(x: Any, sr: int, *, normalize: bool = True, peak: float = DEFAULT_PEAK) -> Any:
    """An ``IPython.display.Audio`` player for one signal (shown when it ends a cell).

    The WAV is embedded in the player (see :func:`wav_bytes` for the arguments), so it plays
    without a kernel: in a saved notebook, in Voilà and in the static HTML edition.
    """
    from IPython.display import Audio  # deferred: IPython is only needed to display

    return Audio(data=wav_bytes(x, sr, normalize=normalize, peak=peak))


class Players:
    """Labelled audio players in a row (what :func:`players` returns).

    ``items`` holds ``(label, Audio)`` pairs; the object displays as one HTML table.
    """

    def __init__(self, items: list[tuple[str, Any]], title: str | None = None) -> None:
        self.items = items
        self.title = title

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(label)}</th>" for label, _ in self.items)
        cells = "".join(f"<td>{player._repr_html_()}</td>" for _, player in self.items)
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return (
            f"<table class='scrapl-players'>{caption}<thead><tr>{head}</tr></thead>"
            f"<tbody><tr>{cells}</tr></tbody></table>"
        )

    def __repr__(self) -> str:
        labels = ", ".join(label for label, _ in self.items)
        return f"<{len(self.items)} audio players: {labels}>"


def players(
    signals: dict[str, Any],
    sr: int,
    *,
    common_scale: bool = True,
    peak: float = DEFAULT_PEAK,
    title: str | None = None,
) -> Players:
    """Several labelled players side by side, e.g. ``{"target": x, "MSS": y, "SCRAPL": z}``.

    Args:
        signals: label -> signal (each as in :func:`wav_bytes`).
        sr: sample rate in Hz, shared by all signals.
        common_scale: one gain for all signals (the loudest reaches ``peak``), so level
            differences stay audible; with False each is normalised on its own.
        peak: target peak, a fraction of full scale in (0, 1].
        title: an optional caption.
    """
    if not signals:
        raise ValueError("signals is empty: give at least one label -> signal")
    arrays = {label: _as_samples(x, name=f"signals[{label!r}]") for label, x in signals.items()}
    rate = _check_rate(sr)
    if not common_scale:
        items = [(label, audio(a, rate, peak=peak)) for label, a in arrays.items()]
        return Players(items, title)
    top = max(float(np.max(np.abs(a))) for a in arrays.values())
    gain = peak / top if top > 0 else 1.0
    items = [(label, audio(a * gain, rate, normalize=False)) for label, a in arrays.items()]
    return Players(items, title)
