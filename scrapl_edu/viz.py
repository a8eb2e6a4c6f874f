"""Figures: data in, figure out (matplotlib for static figures, plotly for interactive ones).

Nothing here computes a transform; callers pass tensors/arrays and the JTFS whose
metadata labels the axes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from scrapl_edu.jtfs import JTFS


def path_grid(jtfs: JTFS, values: np.ndarray) -> tuple[np.ndarray, list[float], list[float]]:
    """Arrange one value per path on the (rate x signed scale) grid of the paper's Fig. 6.

    Returns ``(grid, rates, scales)``: ``grid[r, c]`` is the value of the path with
    the r-th rate (descending) and the c-th signed scale (ascending, spin down on
    the left, the low-pass in the middle, spin up on the right).
    """
    values = np.asarray(values, dtype=float).reshape(-1)
    if values.shape[0] != jtfs.n_paths:
        raise ValueError(
            f"values must have one entry per path ({jtfs.n_paths}), got {values.shape[0]}"
        )
    n2s = sorted({p.n2 for p in jtfs.paths}, key=lambda n2: -jtfs.psi2_specs[n2].xi)
    n_frs = sorted(
        range(len(jtfs.psi_fr_specs)),
        key=lambda n: jtfs.spins[n] * abs(jtfs.psi_fr_specs[n].xi) + 0.0,
    )
    grid = np.full((len(n2s), len(n_frs)), np.nan)
    row = {n2: r for r, n2 in enumerate(n2s)}
    col = {n: c for c, n in enumerate(n_frs)}
    for p, v in zip(jtfs.paths, values):
        grid[row[p.n2], col[p.n_fr]] = v
    sr = jtfs.sr or 1.0
    rates = [jtfs.psi2_specs[n2].xi * sr for n2 in n2s]
    scales = [jtfs.spins[n] * abs(jtfs.psi_fr_specs[n].xi) * jtfs.Q1 for n in n_frs]
    return grid, rates, scales


def plot_path_grid(
    jtfs: JTFS,
    values: np.ndarray,
    ax: Axes | None = None,
    title: str = "",
    cmap: str = "magma",
    label: str = "",
) -> Figure:
    """Heat map of one value per path over rate (Hz) x scale (cycles/octave)."""
    import matplotlib.pyplot as plt

    grid, rates, scales = path_grid(jtfs, values)
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4.5))
    else:
        fig = ax.figure
    im = ax.imshow(grid, aspect="auto", cmap=cmap, interpolation="nearest")
    unit = "Hz" if jtfs.sr else "cycles/sample"
    step = max(1, len(rates) // 8)
    ax.set_yticks(range(0, len(rates), step))
    ax.set_yticklabels([f"{r:.3g}" for r in rates[::step]])
    ax.set_xticks(range(len(scales)))
    ax.set_xticklabels([f"{s:+.2g}" if s else "0" for s in scales], rotation=60, fontsize=7)
    ax.set_ylabel(f"rate ({unit})")
    ax.set_xlabel("scale (cycles/octave)   spin down  <  low-pass  >  spin up")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label=label)
    return fig


def plot_scalogram(
    S1: np.ndarray, jtfs: JTFS, ax: Axes | None = None, title: str = "scalogram", log: bool = True
) -> Figure:
    """First-order scattering |x * psi1| * phi as an image (frequency high at the top)."""
    import matplotlib.pyplot as plt

    S1 = np.asarray(S1, dtype=float)
    if S1.ndim != 2:
        raise ValueError(f"S1 must be (n_filters1, frames) for one signal, got shape {S1.shape}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    img = np.log1p(S1 / (S1.max() * 1e-3 + 1e-30)) if log else S1
    sr = jtfs.sr or 1.0
    dur = jtfs.N / sr
    ax.imshow(img, aspect="auto", cmap="magma", extent=(0, dur, len(S1) - 0.5, -0.5))
    xis = [f.xi * sr for f in jtfs.psi1_specs]
    step = max(1, len(xis) // 8)
    ax.set_yticks(range(0, len(xis), step))
    ax.set_yticklabels([f"{x:.0f}" for x in xis[::step]])
    ax.set_ylabel("centre frequency (Hz)" if jtfs.sr else "xi (cycles/sample)")
    ax.set_xlabel("time (s)" if jtfs.sr else "time (samples)")
    ax.set_title(title)
    return fig
