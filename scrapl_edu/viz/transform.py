"""Figures of the transform: filterbanks, scalograms and the rate x scale path grid."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # annotations only
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


# ------------------------------------------------------------------ sound-matching lab


# ----------------------------------------------------------------------------- filters
def littlewood_paley(filters_f: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """Littlewood-Paley sum Σ_λ |ψ̂_λ(ω)|² of a filterbank given in the Fourier domain.

    A filterbank covers its band without holes when this sum stays bounded away from 0
    there (and is bounded above: the transform is stable), Section 4.1 / Andén & Mallat.
    """
    F = np.asarray(filters_f)
    if F.ndim != 2:
        raise ValueError(f"filters_f must be (n_filters, M) Fourier filters, got shape {F.shape}")
    return (np.abs(F) ** 2).sum(axis=0)


def plot_filterbank(
    filters_f: list[np.ndarray] | np.ndarray,
    sr: float | None = None,
    ax: Axes | None = None,
    title: str = "Morlet filterbank",
    lp: bool = True,
) -> Figure:
    """|ψ̂_λ(ω)| of every filter on the positive frequencies, with the Littlewood-Paley sum."""
    import matplotlib.pyplot as plt

    F = np.abs(np.asarray(filters_f))
    if F.ndim != 2:
        raise ValueError(f"filters_f must be (n_filters, M) Fourier filters, got shape {F.shape}")
    M = F.shape[1]
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 3.2))
    else:
        fig = ax.figure
    half = M // 2
    f = np.arange(half) / M * (sr or 1.0)
    for row in F:
        ax.plot(f, row[:half], lw=0.8)
    if lp:
        ax.plot(f, littlewood_paley(F)[:half], "k--", lw=1.2, label="Littlewood–Paley Σ|ψ̂|²")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xscale("symlog", linthresh=(sr or 1.0) / M * 4)
    ax.set_xlabel("frequency (Hz)" if sr else "frequency (cycles/sample)")
    ax.set_ylabel("|ψ̂(ω)|")
    ax.set_title(title)
    return fig


# --------------------------------------------------------------------------- path grid
def path_cell(jtfs: JTFS, index: int) -> tuple[int, int]:
    """(row, column) of path ``index`` on the grid of :func:`path_grid`."""
    if not 0 <= int(index) < jtfs.n_paths:
        raise ValueError(f"path index must be in [0, {jtfs.n_paths - 1}], got {index}")
    onehot = np.zeros(jtfs.n_paths)
    onehot[int(index)] = 1.0
    grid, _, _ = path_grid(jtfs, onehot)
    r, c = np.argwhere(grid == 1.0)[0]
    return int(r), int(c)


def mark_path(ax: Axes, jtfs: JTFS, index: int, color: str = "cyan") -> None:
    """Draw a square around path ``index`` on a :func:`plot_path_grid` axes."""
    from matplotlib.patches import Rectangle

    r, c = path_cell(jtfs, index)
    ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, ec=color, lw=2.5))


def plot_path(
    coef: np.ndarray, jtfs: JTFS, index: int, ax: Axes | None = None, title: str | None = None
) -> Figure:
    """One path φ_p(x) as an image: (log-frequency rows after averaging) x (time frames)."""
    import matplotlib.pyplot as plt

    coef = np.asarray(coef, dtype=float)
    if coef.ndim != 2:
        raise ValueError(f"coef must be one path (rows, frames), got shape {coef.shape}")
    p = jtfs.paths[index]
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 3.5))
    else:
        fig = ax.figure
    ax.imshow(coef, aspect="auto", cmap="magma", origin="lower")
    rate = f"{p.rate_hz:.3g} Hz" if p.rate_hz is not None else f"{p.xi2:.3g} c/s"
    ax.set_title(title or f"path {index}: rate {rate}, scale {p.scale_cpo:+.2g} c/o")
    ax.set_xlabel("time frame")
    ax.set_ylabel("frequency row (averaged)")
    return fig


def plotly_path_grid(jtfs: JTFS, values: np.ndarray, title: str = "", label: str = ""):
    """The path grid as an interactive plotly heat map (hover: rate, scale, path index)."""
    import plotly.graph_objects as go

    grid, rates, scales = path_grid(jtfs, values)
    index = path_grid(jtfs, np.arange(jtfs.n_paths, dtype=float))[0]
    unit = "Hz" if jtfs.sr else "c/s"
    fig = go.Figure(
        go.Heatmap(
            z=grid,
            x=[f"{s:+.2g}" for s in scales],
            y=[f"{r:.3g}" for r in rates],
            customdata=index,
            colorscale="Magma",
            colorbar={"title": label},
            hovertemplate=f"rate %{{y}} {unit}<br>scale %{{x}} c/o<br>path %{{customdata:.0f}}"
            "<br>value %{z:.3g}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title="scale (cycles/octave)",
        yaxis_title=f"rate ({unit})",
        yaxis={"type": "category"},
        xaxis={"type": "category"},
        width=640,
        height=460,
    )
    return fig


def plot_path_histogram(
    jtfs: JTFS, counts: np.ndarray, probs: np.ndarray | None = None, ax: Axes | None = None
) -> Figure:
    """Visits per path (the running histogram of Algorithm 1's draws) against π."""
    import matplotlib.pyplot as plt

    counts = np.asarray(counts, dtype=float).reshape(-1)
    if counts.size != jtfs.n_paths:
        raise ValueError(f"counts must have one entry per path ({jtfs.n_paths}), got {counts.size}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3))
    else:
        fig = ax.figure
    total = max(counts.sum(), 1.0)
    ax.bar(np.arange(counts.size), counts / total, width=1.0, color="tab:gray", label="visits")
    pi = np.full(counts.size, 1.0 / counts.size) if probs is None else np.asarray(probs, float)
    ax.step(np.arange(counts.size), pi, where="mid", color="tab:red", label="π")
    ax.set_xlabel("path index")
    ax.set_ylabel("share of steps")
    ax.legend(fontsize=8)
    return fig
