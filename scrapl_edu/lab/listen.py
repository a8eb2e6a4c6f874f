"""Listen to a run: targets next to the trained encoder's reconstructions (Sections 4.2-4.3).

After a run, the DDSP autoencoder's output is a sound: the synth rendered at the encoder's
θ̂. :func:`reconstructions` renders it for a few test signals, with a fixed random shift as
the synth draws one in training, so that a student hears what a θ error of so many per
mille sounds like; :func:`scrapl_edu.sound.players` plays them side by side. Use it from
``run(..., on_finish=...)``, which hands over the run's parts and final state.
"""

from __future__ import annotations

from typing import Any

import torch

from scrapl_edu.lab.parts import RunParts, TrainState, predict

__all__ = ["reconstructions"]


def reconstructions(
    parts: RunParts, state: TrainState, n: int = 1, split: str = "test", seed: int = 0
) -> dict[str, Any]:
    """The first ``n`` signals of ``split`` and the synth rendered at the encoder's θ̂.

    Returns:
        ``sr``; ``targets`` and ``reconstructions`` as ``(n, N)`` float arrays; ``theta``
        and ``theta_hat`` as ``(n, U)`` arrays in [0, 1]; ``param_names``.
    """
    key = f"x_{split}"
    if key not in parts.data:
        raise ValueError(f"split must be one of train, val, test; got split={split!r}")
    if not isinstance(n, int) or not 1 <= n <= len(parts.data[key]):
        raise ValueError(f"n must be an integer in [1, {len(parts.data[key])}], got n={n!r}")
    x = parts.data[key][:n]
    theta_hat = predict(state.encoder, x)
    with torch.no_grad():
        x_hat = parts.synth(theta_hat, generator=torch.Generator().manual_seed(seed))
    return {
        "sr": float(parts.synth_config.sr),
        "targets": x[:, 0].detach().cpu().double().numpy(),
        "reconstructions": x_hat[:, 0].detach().cpu().double().numpy(),
        "theta": parts.data[f"theta_{split}"][:n].detach().cpu().double().numpy(),
        "theta_hat": theta_hat.detach().cpu().double().numpy(),
        "param_names": list(parts.param_names),
    }
