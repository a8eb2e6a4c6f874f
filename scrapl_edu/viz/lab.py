"""Figures of the lab: its live progress, comparison tables, paired effects, θ boxes, drums.

They take the lab's typed payloads (:class:`scrapl_edu.lab.Snapshot`, the comparison
summary).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import t as student_t

from scrapl_edu.lab import Snapshot, build_jtfs, make_config
from scrapl_edu.lab.drums import DRUM_ROW_LABELS
from scrapl_edu.lab.summary import PairedRows, Summary, SummaryEntry
from scrapl_edu.viz.common import rolling_variance
from scrapl_edu.viz.transform import plot_path_grid

if TYPE_CHECKING:  # annotations only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from scrapl_edu.jtfs import JTFS


def plot_lab_comparison(
    curves: dict[str, tuple[np.ndarray, np.ndarray]],
    entries: Sequence[SummaryEntry],
    title: str = "",
) -> Figure:
    """Lab comparison figure (Fig. 1-2 in small): validation curves and cost vs accuracy.

    Args:
        curves: label -> (steps (E,), values (seeds, E)) of the validation θ L1 in ‰;
            drawn as the mean with a 95% CI band (Fig. 2 right, Fig. 4).
        entries: the ``entries`` of the :class:`~scrapl_edu.lab.summary.Summary` of
            :func:`scrapl_edu.lab.comparison.aggregate`: each with ``label``, ``theta_l1``
            and ``ms_per_step`` as (mean, 95% CI half-width); drawn as test θ L1 against ms
            per step (Fig. 1).
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
    multi = len({x.preset for x in entries}) > 1
    for e in entries:
        (m, h), (c, ch) = e.theta_l1, e.ms_per_step
        lab = e.label + (f" [{e.preset}]" if multi else "")
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
    summary: Summary,
    title: str = "",
) -> None:
    """Write :func:`plot_lab_comparison` of a comparison (``scrapl-edu compare``'s figure.png).

    ``curves``: :func:`scrapl_edu.lab.comparison.validation_curves`; ``summary``: what
    :func:`scrapl_edu.lab.comparison.aggregate` returned.
    """
    import matplotlib.pyplot as plt

    fig = plot_lab_comparison(curves, summary.entries, title=title)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_paired(paired: Sequence[PairedRows], title: str = "") -> Figure:
    """Paired differences of a comparison (the paper's Table 6 in small): one row per change.

    ``paired`` is a summary's ``paired`` (:func:`scrapl_edu.lab.paired.paired_stats`) or
    a switch comparison's pair (:meth:`scrapl_edu.lab.switch.SwitchComparison.paired`).
    Each seed's difference ``b - a`` of test θ L1 is a dot; the bar is the mean with its 95%
    CI; the label gives the paired t-test's p and the seeds improved. Left of 0: the change
    lowers the error.
    """
    import matplotlib.pyplot as plt

    if not paired:
        raise ValueError("paired is empty: the comparison has no pair of rows to compare")
    for p in paired:
        if not isinstance(p, PairedRows):
            raise TypeError(
                f"paired must hold PairedRows (a summary's paired or SwitchComparison.paired()), "
                f"got {type(p).__name__}"
            )
    items = list(paired)
    multi = len({p.preset for p in items}) > 1
    fig, ax = plt.subplots(figsize=(7.5, 0.7 * len(items) + 1.6))
    for i, item in enumerate(items):
        st = item.theta_l1
        y = len(items) - 1 - i
        ax.plot(st.diff, np.full(len(st.diff), y), "o", color="tab:gray", alpha=0.7)
        half = st.ci if np.isfinite(st.ci) else 0.0
        color = "tab:green" if st.mean + half < 0 else "tab:red" if st.mean - half > 0 else "k"
        ax.errorbar(st.mean, y, xerr=half, fmt="D", color=color, capsize=4)
    labels = []
    for item in items:
        st = item.theta_l1
        lab = item.label + (f" [{item.preset}]" if multi else "")
        p_txt = f"p={st.p_t:.2g}" if np.isfinite(st.p_t) else "p n/a"
        labels.append(f"{lab}\n{p_txt}, {st.improved}/{st.n} seeds better")
    ax.set_yticks(range(len(items)), labels[::-1], fontsize=8)
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


def save_paired_figure(path: str | Path, summary: Summary, title: str = "") -> bool:
    """Write :func:`plot_paired` of ``summary.paired`` to ``path``; False if it has none."""
    import matplotlib.pyplot as plt

    paired = summary.paired or []
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


def plot_drum_errors(summary: Summary, feature: str = "loudness") -> Figure:
    """Transient vs decay error of one drum feature (Tables 8-9): a point per row and preset.

    ``summary`` is a drum comparison's (``compare --table drums``; entries hold ``drum``:
    mean and 95% CI per metric). x = the transient error, y = the decay error, with their CIs;
    circles for the aligned presets (micro), triangles for the shifted ones (meso), one colour
    per row, and a line from a row's micro point to its meso point: how misalignment moves it.
    """
    import matplotlib.pyplot as plt

    units = {"loudness": "dB", "centroid": "semitones", "flatness": "dB"}
    if feature not in units:
        raise ValueError(f"feature must be one of {', '.join(units)}, got {feature!r}")
    entries = [e for e in summary.entries if e.drum is not None]
    if not entries:
        raise ValueError("summary holds no drum metrics: run `compare --table drums` first")
    tx, dx = f"{feature}_transient", f"{feature}_decay"
    rows = list(dict.fromkeys(e.row for e in entries))
    colors = {r: f"C{i}" for i, r in enumerate(rows)}
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    points: dict[str, list[tuple[float, float]]] = {r: [] for r in rows}
    for e in entries:
        drum = e.drum or {}
        (x, xe), (y, ye) = drum[tx], drum[dx]
        meso = "meso" in e.preset
        ax.errorbar(
            x,
            y,
            xerr=xe if np.isfinite(xe) else None,
            yerr=ye if np.isfinite(ye) else None,
            fmt="^" if meso else "o",
            color=colors[e.row],
            capsize=3,
            ms=8,
            label=f"{DRUM_ROW_LABELS.get(e.row, e.row)} [{'meso' if meso else 'micro'}]",
        )
        points[e.row].append((x, y))
    for r, pts in points.items():
        if len(pts) == 2:
            ax.plot(*zip(*pts), color=colors[r], lw=1, alpha=0.5)
    ax.set_xlabel(f"transient {feature} error ({units[feature]}) ↓")
    ax.set_ylabel(f"decay {feature} error ({units[feature]}) ↓")
    ax.set_title(f"drums: transient vs decay {feature} error (mean ± 95% CI over seeds)")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def save_drum_errors(path: str | Path, summary: Summary) -> bool:
    """Write :func:`plot_drum_errors` (loudness, centroid, flatness side by side) to ``path``.

    Returns False (nothing written) when the summary holds no drum metrics.
    """
    import matplotlib.pyplot as plt

    if not any(e.drum is not None for e in summary.entries):
        return False
    for feature in ("loudness", "centroid", "flatness"):
        fig = plot_drum_errors(summary, feature)
        out = Path(path)
        fig.savefig(out.with_name(f"{out.stem}_{feature}{out.suffix}"), dpi=100)
        plt.close(fig)
    return True


def plot_theta_is_quality(reports: list[dict[str, Any]]) -> Figure:
    """θ-IS's π against its cost: Spearman ρ and TV distance to the reference π.

    ``reports``: :func:`scrapl_edu.lab.theta_is_quality.measure_theta_is_quality`'s reports.
    One line per N_IS over the power iterations, x = estimated cost (s, log scale); the
    dotted lines are the choice rule's thresholds, the star the rule's pick and the ring
    the preset's own setting.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(reports), figsize=(5.5 * len(reports), 7), squeeze=False)
    for col, rep in enumerate(reports):
        rule, own, pick = rep["rule"], rep["preset_setting"], rep["chosen"]
        for row, (key, thr, label) in enumerate(
            (
                ("rho", rule["rho_min"], "Spearman ρ with the reference π"),
                ("tv", rule["tv_max"], "total variation to the reference π"),
            )
        ):
            ax = axes[row, col]
            for n in sorted({r["n_examples"] for r in rep["rows"]}):
                pts = [r for r in rep["rows"] if r["n_examples"] == n]
                ax.plot(
                    [r["cost_s"] for r in pts],
                    [r[key] for r in pts],
                    "o-",
                    ms=3,
                    label=f"N_IS = {n}",
                )
            for r in rep["rows"]:
                at = (r["n_examples"], r["n_iter"])
                if pick and at == (pick["n_examples"], pick["n_iter"]):
                    ax.plot(r["cost_s"], r[key], "*", ms=14, color="black", label="rule's pick")
                if at == (own["n_examples"], own["n_iter"]):
                    ax.plot(
                        r["cost_s"],
                        r[key],
                        "o",
                        ms=12,
                        mfc="none",
                        color="red",
                        label="preset's setting",
                    )
            ax.axhline(thr, color="gray", ls=":", lw=1)
            ax.set_xscale("log")
            ax.set_xlabel("estimated θ-IS cost (s)")
            ax.set_ylabel(label)
            if row == 0:
                ax.set_title(
                    f"{rep['preset']} (seed {rep['seed']}; reference "
                    f"{rep['reference']['n_examples']} × {rep['reference']['n_iter']})"
                )
                ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def save_theta_is_quality(path: str | Path, reports: list[dict[str, Any]]) -> None:
    """Write :func:`plot_theta_is_quality` to ``path``."""
    import matplotlib.pyplot as plt

    fig = plot_theta_is_quality(reports)
    fig.savefig(path, dpi=100)
    plt.close(fig)
