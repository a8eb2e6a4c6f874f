"""Figures: data in, figure out (matplotlib for static figures, plotly for interactive ones).

Nothing here computes a transform; callers pass tensors/arrays and the JTFS whose
metadata labels the axes. The lab's figures take its typed payloads
(:class:`scrapl_edu.lab.Snapshot`, the comparison summary). matplotlib, plotly and IPython
are imported inside the functions that draw: they are heavy, and a caller that only wants
numbers (``lab_progress_panels``) should not pay for them.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import t as student_t

from scrapl_edu.lab import Snapshot, build_jtfs, make_config
from scrapl_edu.lab.drums import DRUM_ROW_LABELS

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


# ------------------------------------------------------------------ sound-matching lab


def plot_lab_comparison(
    curves: dict[str, tuple[np.ndarray, np.ndarray]],
    entries: list[dict],
    title: str = "",
) -> Figure:
    """Lab comparison figure (Fig. 1-2 in small): validation curves and cost vs accuracy.

    Args:
        curves: label -> (steps (E,), values (seeds, E)) of the validation θ L1 in ‰;
            drawn as the mean with a 95% CI band (Fig. 2 right, Fig. 4).
        entries: the ``summary["entries"]`` of :func:`scrapl_edu.lab.comparison.aggregate`: each
            with ``label``, ``theta_l1`` and ``ms_per_step`` as (mean, 95% CI half-width);
            drawn as test θ L1 against ms per step (Fig. 1).
    """
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for label, (steps, vals) in curves.items():
        vals = np.asarray(vals, dtype=float)
        mean = vals.mean(axis=0)
        (line,) = ax1.plot(steps, mean, label=label)
        if vals.shape[0] > 1:
            half = student_t.ppf(0.975, vals.shape[0] - 1) * vals.std(0, ddof=1)
            half = half / np.sqrt(vals.shape[0])
            ax1.fill_between(steps, mean - half, mean + half, alpha=0.2, color=line.get_color())
    ax1.axhline(100.0, color="gray", ls=":", lw=1, label="convergence (100 ‰)")
    ax1.set_xlabel("step")
    ax1.set_ylabel("validation θ L1 (‰)")
    ax1.set_title("validation curves (mean ± 95% CI)")
    ax1.legend(fontsize=7)
    for e in entries:
        (m, h), (c, ch) = e["theta_l1"], e["ms_per_step"]
        lab = e["label"] + (f" [{e['preset']}]" if len({x["preset"] for x in entries}) > 1 else "")
        ax2.errorbar(
            c,
            m,
            yerr=None if not np.isfinite(h) else h,
            xerr=None if not np.isfinite(ch) else ch,
            fmt="o",
            capsize=3,
            label=lab,
        )
    ax2.set_xscale("log")
    ax2.set_xlabel("ms per training step (log)")
    ax2.set_ylabel("test θ L1 (‰)")
    ax2.set_title("accuracy vs cost")
    ax2.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def save_lab_comparison(
    path: str | Path,
    curves: dict[str, tuple[np.ndarray, np.ndarray]],
    summary: dict[str, Any],
    title: str = "",
) -> None:
    """Write :func:`plot_lab_comparison` of a comparison (``scrapl-edu compare``'s figure.png).

    ``curves``: :func:`scrapl_edu.lab.comparison.validation_curves`; ``summary``: what
    :func:`scrapl_edu.lab.comparison.aggregate` returned.
    """
    import matplotlib.pyplot as plt

    fig = plot_lab_comparison(curves, summary["entries"], title=title)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_paired(paired: list[dict], title: str = "") -> Figure:
    """Paired differences of a comparison (the paper's Table 6 in small): one row per change.

    ``paired`` is ``summary["paired"]`` (:func:`scrapl_edu.lab.paired.paired_stats`). Each
    seed's difference ``b - a`` of test θ L1 is a dot; the bar is the mean with its 95% CI;
    the label gives the paired t-test's p and the seeds improved. Left of 0: the change
    lowers the error.
    """
    import matplotlib.pyplot as plt

    if not paired:
        raise ValueError("paired is empty: the comparison has no pair of rows to compare")
    multi = len({p["preset"] for p in paired}) > 1
    fig, ax = plt.subplots(figsize=(7.5, 0.7 * len(paired) + 1.6))
    for i, item in enumerate(paired):
        st = item["theta_l1"]
        y = len(paired) - 1 - i
        ax.plot(st["diff"], np.full(len(st["diff"]), y), "o", color="tab:gray", alpha=0.7)
        half = st["ci"] if np.isfinite(st["ci"]) else 0.0
        color = (
            "tab:green" if st["mean"] + half < 0 else "tab:red" if st["mean"] - half > 0 else "k"
        )
        ax.errorbar(st["mean"], y, xerr=half, fmt="D", color=color, capsize=4)
    labels = []
    for item in paired:
        st = item["theta_l1"]
        p = st["p_t"]
        lab = item["label"] + (f" [{item['preset']}]" if multi else "")
        p_txt = f"p={p:.2g}" if np.isfinite(p) else "p n/a"
        labels.append(f"{lab}\n{p_txt}, {st['improved']}/{st['n']} seeds better")
    ax.set_yticks(range(len(paired)), labels[::-1], fontsize=8)
    ax.axvline(0.0, color="gray", lw=1)
    ax.set_xlabel("Δ test θ L1 (‰), per seed (dots), mean ± 95% CI (diamond)")
    ax.set_title(title or "paired differences (negative = the change helps)")
    fig.tight_layout()
    return fig


def plot_accuracy_vs_cost(points: list[dict], title: str = "") -> Figure:
    """Fig. 1 in small: test θ L1 against the cost of a training step (log scale).

    ``points``: :func:`scrapl_edu.lab.evidence.cost_accuracy` (``label``, ``theta_l1`` as
    (mean, 95% CI half-width), ``ms_per_step``, ``estimated``). Filled markers: idle-machine
    timings; hollow: costs estimated from a loaded machine.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for p in points:
        m, h = p["theta_l1"]
        face = "none" if p["estimated"] else None
        (line,) = ax.plot(p["ms_per_step"], m, "o", ms=8, mfc=face, label=p["label"])
        if np.isfinite(h):
            ax.errorbar(p["ms_per_step"], m, yerr=h, color=line.get_color(), capsize=3)
    ax.set_xscale("log")
    ax.set_xlabel("ms per training step (idle machine; hollow: estimated)")
    ax.set_ylabel("test θ L1 (‰), mean ± 95% CI")
    ax.set_title(title or "accuracy vs cost (Fig. 1 in small)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_errors_per_parameter(
    rows: list[dict], names: tuple[str, str] = ("θ_AM", "θ_FM")
) -> Figure:
    """Grouped bars of the two parameters' test errors per method (mean ± 95% CI).

    ``rows``: :func:`scrapl_edu.lab.evidence.errors_per_parameter` (``label``, ``am``, ``fm``).
    The dashed line is a constant guess of 0.5 (250 ‰).
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(rows))
    for i, (key, name) in enumerate(zip(("am", "fm"), names, strict=True)):
        means = [r[key][0] for r in rows]
        halves = [r[key][1] if np.isfinite(r[key][1]) else 0.0 for r in rows]
        ax.bar(x + (i - 0.5) * 0.38, means, 0.38, yerr=halves, capsize=3, label=name)
    ax.axhline(250.0, color="gray", ls="--", lw=1, label="constant guess (250 ‰)")
    ax.set_xticks(x, [r["label"] for r in rows], fontsize=8, rotation=15)
    ax.set_ylabel("test L1 (‰)")
    ax.set_title("errors per parameter")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def save_paired_figure(path: str | Path, summary: dict[str, Any], title: str = "") -> bool:
    """Write :func:`plot_paired` of ``summary["paired"]`` to ``path``; False if it has none."""
    import matplotlib.pyplot as plt

    paired = summary.get("paired") or []
    if not paired:
        return False
    fig = plot_paired(paired, title)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def save_theta_is_figures(out: str | Path, report: dict[str, Any], fast: bool = False) -> None:
    """``theta_is_grid.png`` (rate x scale) and ``theta_is_box.png`` (rate x velocity + θ box).

    Draws what :func:`scrapl_edu.lab.theta_box.theta_is_presets` wrote in ``out``
    (``theta_is_probs.npz``) and returned (``report``); ``fast`` as it was given there.
    """
    import matplotlib.pyplot as plt

    out = Path(out)
    presets = list(report["presets"])
    with np.load(out / "theta_is_probs.npz") as z:
        arrays = {k: z[k] for k in z.files}
    jtfs_by = {p: build_jtfs(make_config(p, fast=fast)) for p in presets}
    n = len(presets)
    for kind in ("grid", "box"):
        fig, axes = plt.subplots(1, n, figsize=(5.2 * n, 4.4), squeeze=False)
        for ax, preset in zip(axes[0], presets):
            jt, probs = jtfs_by[preset], arrays[f"{preset}/probs"]
            r = report["presets"][preset]
            title = f"{preset}\nin-box share {r['ratio']:.2f}× uniform"
            if kind == "grid":
                plot_path_grid(jt, probs * probs.size, ax=ax, title=title, label="P · π_p")
            else:
                plot_theta_is_box(
                    jt,
                    probs,
                    tuple(r["am_hz"]),
                    tuple(r["fm_oct_per_s"]),
                    ax=ax,
                    title=title,
                    in_box=arrays[f"{preset}/in_box"],
                )
        fig.tight_layout()
        fig.savefig(out / f"theta_is_{kind}.png", dpi=90)
        plt.close(fig)


def plot_theta_is_box(
    jtfs: JTFS,
    probs: np.ndarray,
    am_hz: tuple[float, float],
    fm_oct_per_s: tuple[float, float],
    ax: Axes | None = None,
    title: str = "",
    in_box: np.ndarray | None = None,
) -> Figure:
    """θ-IS probabilities over AM rate x FM velocity, with the preset's θ box (App. C, Fig. 6).

    Every path with a non-zero frequential scale is a dot at (rate in Hz, |rate / scale| in
    oct/s), coloured by ``P * pi_p`` (1.0 = uniform); the two spins are drawn side by side
    (up: circles, down: triangles). The dashed rectangle is the preset's θ range; ``in_box``
    (a boolean mask) outlines the paths counted as inside.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm
    from matplotlib.patches import Rectangle

    probs = np.asarray(probs, dtype=float).reshape(-1)
    ratio = probs * probs.size
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
    else:
        fig = ax.figure
    xs, ys, cs, marks, edge = [], [], [], [], []
    for i, p in enumerate(jtfs.paths):
        if p.spin == 0 or not p.rate_hz:
            continue
        shift = 1.06 if p.spin > 0 else 1 / 1.06
        xs.append(p.rate_hz * shift)
        ys.append(p.rate_hz / abs(p.scale_cpo))
        cs.append(max(ratio[i], 1e-3))
        marks.append("o" if p.spin > 0 else "^")
        edge.append(bool(in_box[i]) if in_box is not None else False)
    xs, ys, cs = np.array(xs), np.array(ys), np.array(cs)
    norm = LogNorm(vmin=max(1e-2, cs.min()), vmax=max(cs.max(), 1.01))
    sc = None
    for m in ("o", "^"):
        sel = np.array([mk == m for mk in marks])
        ed = np.array(edge)[sel]
        sc = ax.scatter(
            xs[sel],
            ys[sel],
            c=cs[sel],
            marker=m,
            cmap="viridis",
            norm=norm,
            s=45,
            edgecolors=np.where(ed, "red", "none"),
            linewidths=1.2,
        )
    ax.add_patch(
        Rectangle(
            (am_hz[0], fm_oct_per_s[0]),
            am_hz[1] - am_hz[0],
            fm_oct_per_s[1] - fm_oct_per_s[0],
            fill=False,
            ls="--",
            color="k",
        )
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("AM rate (Hz)")
    ax.set_ylabel("FM velocity |rate / scale| (oct/s)")
    ax.set_title(title)
    fig.colorbar(sc, ax=ax, label="P · π_p (1 = uniform)")
    return fig


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


def plot_curves(
    curves: dict[str, tuple[np.ndarray, np.ndarray]],
    ax: Axes | None = None,
    title: str = "",
    xlabel: str = "step",
    ylabel: str = "",
    logy: bool = False,
) -> Figure:
    """Line plot of named ``(x, y)`` curves (loss landscapes, θ error, variance over steps)."""
    import matplotlib.pyplot as plt

    if not curves:
        raise ValueError("curves is empty: pass at least one name -> (x, y)")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.5))
    else:
        fig = ax.figure
    for name, (x, y) in curves.items():
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if x.shape != y.shape:
            raise ValueError(f"curve {name!r}: x and y differ in shape {x.shape} vs {y.shape}")
        ax.plot(x, y, label=name)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
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


def show_plotly(fig, fallback: Figure | None = None) -> None:
    """Display a plotly figure with a static PNG fallback in the same output.

    The output holds the plotly JSON (JupyterLab, Voilà and VS Code draw it interactively)
    and a PNG drawn by matplotlib (``fallback``), which renderers without JavaScript (GitHub,
    nbviewer, nbconvert to PDF) show instead. Nothing is fetched from the network.
    """
    from IPython.display import display

    bundle: dict = {
        "application/vnd.plotly.v1+json": fig.to_plotly_json(),
        "text/plain": f"<plotly figure: {fig.layout.title.text or 'untitled'}>",
    }
    if fallback is not None:
        import matplotlib.pyplot as plt

        buf = io.BytesIO()
        fallback.savefig(buf, format="png", dpi=80, bbox_inches="tight")
        plt.close(fallback)
        bundle["image/png"] = buf.getvalue()
    display(bundle, raw=True)


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


# --------------------------------------------------------------------------- live lab figure
def rolling_variance(
    x: list[float] | np.ndarray, window: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Variance of ``x`` over the last ``window`` values at each step (steps from 1)."""
    if window < 2:
        raise ValueError(f"window must be >= 2, got {window}")
    a = np.asarray(x, dtype=float).reshape(-1)
    if a.size < 2:
        return np.arange(1, a.size + 1), np.zeros(a.size)
    v = np.array([a[max(0, i - window + 1) : i + 1].var() for i in range(a.size)])
    return np.arange(1, a.size + 1), v


def lab_progress_panels(info: Snapshot) -> dict:
    """The three panels of the lab's live figure, as numbers (both renderers draw these).

    ``info`` is the :class:`~scrapl_edu.lab.Snapshot` that :func:`scrapl_edu.lab.run` gives
    its ``callback``. Returns:

    - ``theta``: ``(steps, θ L1 ‰)`` of the validation curve;
    - ``paths``: ``(share of steps per path, π)`` or None when the loss samples no path
      (π uniform when θ-IS is off, Algorithm 1's default);
    - ``variance``: ``(steps, values, title, ylabel)``: for a SCRAPL run with the
      applied-step diagnostic (:mod:`scrapl_edu.lab.applied`), the variance over the path
      draw p ~ π of the step the optimizer would apply (what P-Adam and P-SAGA change),
      measured on a fixed probe batch; otherwise the running variance of the gradient the
      optimizer receives when recorded, else the rolling variance of the per-step loss;
    - ``applied``: ``(steps, var, cos)`` of the applied-step diagnostic (``cos``: mean
      cosine of the applied step with the full-JTFS gradient), or None.
    """
    if not isinstance(info, Snapshot):
        raise TypeError(f"info must be a scrapl_edu.lab.Snapshot, got {type(info).__name__}")
    theta = (list(info.val_steps), list(info.val_theta_l1))
    paths = None
    counts = info.path_counts
    if counts is not None and len(counts):
        c = np.asarray(counts, dtype=float)
        pi = info.probs
        pi = np.full(c.size, 1.0 / c.size) if pi is None else np.asarray(pi, dtype=float)
        if pi.shape != c.shape:
            raise ValueError(f"probs must have one entry per path ({c.size}), got {pi.size}")
        paths = (c / max(c.sum(), 1.0), pi)
    applied = None
    if info.applied:
        steps = np.asarray([a["step"] for a in info.applied])
        av = np.asarray([a["var"] for a in info.applied], dtype=float)
        applied = (steps, av, np.asarray([a["cos"] for a in info.applied], dtype=float))
        var = (
            steps,
            av,
            f"applied step: variance over p ~ π (cos with full grad. {applied[2][-1]:.2f})",
            "Σ π_p ‖d_p − d̄‖²",
        )
    elif info.grad_var:
        gy = np.asarray(info.grad_var, dtype=float)
        var = (
            np.arange(1, gy.size + 1),
            gy,
            "gradient variance (running, ~10 steps)",
            "E‖g − E g‖²",
        )
    else:
        gx, gy = rolling_variance(info.losses)
        var = (gx, gy, "spread of the one-path loss (rolling var., 10 steps)", "variance")
    return {"theta": theta, "paths": paths, "variance": var, "applied": applied}


def _log_scale(y: np.ndarray) -> bool:
    return bool(len(y)) and bool(np.nanmax(y) > 0)


def plot_lab_progress(info: Snapshot) -> Figure:
    """The lab's live figure in matplotlib (the static fallback of :func:`plotly_lab_progress`)."""
    import matplotlib.pyplot as plt

    panels = lab_progress_panels(info)
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
    axes[0].plot(*panels["theta"], "o-")
    axes[0].axhline(100, color="gray", ls=":", lw=1)
    axes[0].set(xlabel="step", ylabel="validation θ L1 (‰)", title="θ error")
    if panels["paths"] is not None:
        share, pi = panels["paths"]
        axes[1].bar(np.arange(share.size), share, width=1.0, color="gray")
        axes[1].step(np.arange(pi.size), pi, where="mid", color="tab:red", label="π")
        axes[1].legend(fontsize=8)
        axes[1].set(xlabel="path", ylabel="share of steps", title="paths drawn vs π")
    else:
        axes[1].text(
            0.5,
            0.5,
            "no path sampling\n(this loss uses no paths)",
            ha="center",
            va="center",
            transform=axes[1].transAxes,
        )
        axes[1].set_axis_off()
    gx, gy, title, ylabel = panels["variance"]
    axes[2].plot(gx, gy, "o-" if panels["applied"] is not None else "-")
    axes[2].set(title=title, ylabel=ylabel, xlabel="step")
    if _log_scale(gy):
        axes[2].set_yscale("log")
    fig.tight_layout()
    return fig


def plotly_lab_progress(info: Snapshot):
    """The lab's live figure in plotly: θ error, paths drawn vs π, gradient variance.

    Hover shows each value; the θ panel marks the 100 ‰ convergence threshold (Table 2).
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    panels = lab_progress_panels(info)
    gx, gy, var_title, var_label = panels["variance"]
    fig = make_subplots(rows=1, cols=3, subplot_titles=("θ error", "paths drawn vs π", var_title))
    steps, err = panels["theta"]
    fig.add_trace(go.Scatter(x=steps, y=err, mode="lines+markers", name="θ L1 (‰)"), 1, 1)
    fig.add_hline(y=100, line_dash="dot", line_color="gray", row=1, col=1)
    if panels["paths"] is not None:
        share, pi = panels["paths"]
        idx = np.arange(share.size)
        fig.add_trace(go.Bar(x=idx, y=share, name="visits", marker_color="gray"), 1, 2)
        fig.add_trace(
            go.Scatter(x=idx, y=pi, name="π", line={"shape": "hvh", "color": "crimson"}), 1, 2
        )
    else:
        fig.add_annotation(
            text="no path sampling<br>(this loss uses no paths)",
            showarrow=False,
            xref="x2 domain",
            yref="y2 domain",
            x=0.5,
            y=0.5,
        )
    mode = "lines+markers" if panels["applied"] is not None else "lines"
    fig.add_trace(go.Scatter(x=gx, y=gy, mode=mode, name="variance"), 1, 3)
    fig.update_xaxes(title_text="step", row=1, col=1)
    fig.update_xaxes(title_text="path", row=1, col=2)
    fig.update_xaxes(title_text="step", row=1, col=3)
    fig.update_yaxes(title_text="validation θ L1 (‰)", row=1, col=1)
    fig.update_yaxes(title_text="share of steps", row=1, col=2)
    log = _log_scale(gy)
    fig.update_yaxes(
        title_text=var_label,
        type="log" if log else "linear",
        dtick="D2" if log else None,
        row=1,
        col=3,
    )
    fig.update_layout(
        title="live training (sound-matching lab)",
        height=380,
        showlegend=False,
        margin={"t": 70, "b": 50, "l": 60, "r": 20},
    )
    return fig


def plot_drum_errors(summary: dict[str, Any], feature: str = "loudness") -> Figure:
    """Transient vs decay error of one drum feature (Tables 8-9): a point per row and preset.

    ``summary`` is a drum comparison's (``compare --table drums``; entries hold ``"drum"``:
    mean and 95% CI per metric). x = the transient error, y = the decay error, with their CIs;
    circles for the aligned presets (micro), triangles for the shifted ones (meso), one colour
    per row, and a line from a row's micro point to its meso point: how misalignment moves it.
    """
    import matplotlib.pyplot as plt

    units = {"loudness": "dB", "centroid": "semitones", "flatness": "dB"}
    if feature not in units:
        raise ValueError(f"feature must be one of {', '.join(units)}, got {feature!r}")
    entries = [e for e in summary.get("entries", []) if "drum" in e]
    if not entries:
        raise ValueError("summary holds no drum metrics: run `compare --table drums` first")
    tx, dx = f"{feature}_transient", f"{feature}_decay"
    rows = list(dict.fromkeys(e["row"] for e in entries))
    colors = {r: f"C{i}" for i, r in enumerate(rows)}
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    points: dict[str, list[tuple[float, float]]] = {r: [] for r in rows}
    for e in entries:
        (x, xe), (y, ye) = e["drum"][tx], e["drum"][dx]
        meso = "meso" in e["preset"]
        ax.errorbar(
            x,
            y,
            xerr=xe if np.isfinite(xe) else None,
            yerr=ye if np.isfinite(ye) else None,
            fmt="^" if meso else "o",
            color=colors[e["row"]],
            capsize=3,
            ms=8,
            label=f"{DRUM_ROW_LABELS.get(e['row'], e['row'])} [{'meso' if meso else 'micro'}]",
        )
        points[e["row"]].append((x, y))
    for r, pts in points.items():
        if len(pts) == 2:
            ax.plot(*zip(*pts), color=colors[r], lw=1, alpha=0.5)
    ax.set_xlabel(f"transient {feature} error ({units[feature]}) ↓")
    ax.set_ylabel(f"decay {feature} error ({units[feature]}) ↓")
    ax.set_title(f"drums: transient vs decay {feature} error (mean ± 95% CI over seeds)")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def save_drum_errors(path: str | Path, summary: dict[str, Any]) -> bool:
    """Write :func:`plot_drum_errors` (loudness, centroid, flatness side by side) to ``path``.

    Returns False (nothing written) when the summary holds no drum metrics.
    """
    import matplotlib.pyplot as plt

    if not any("drum" in e for e in summary.get("entries", [])):
        return False
    for feature in ("loudness", "centroid", "flatness"):
        fig = plot_drum_errors(summary, feature)
        out = Path(path)
        fig.savefig(out.with_name(f"{out.stem}_{feature}{out.suffix}"), dpi=100)
        plt.close(fig)
    return True
