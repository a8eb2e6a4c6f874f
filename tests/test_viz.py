"""Figures: data in, figure out; the right value lands in the right (rate, scale) cell."""

from __future__ import annotations

import dataclasses

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from scrapl_edu import JTFS, viz
from scrapl_edu.lab import Snapshot


@pytest.fixture(scope="module")
def jtfs() -> JTFS:
    return JTFS(shape=1024, J=5, Q1=4, Q2=1, J_fr=2, Q_fr=1, sr=1000)


def test_path_grid_places_each_value_at_its_rate_and_scale(jtfs: JTFS) -> None:
    values = np.arange(jtfs.n_paths, dtype=float)
    grid, rates, scales = viz.path_grid(jtfs, values)
    for p in jtfs.paths:
        r, c = viz.path_cell(jtfs, p.index)
        assert grid[r, c] == p.index
        assert rates[r] == pytest.approx(p.rate_hz)
        assert scales[c] == pytest.approx(p.scale_cpo)
    assert rates == sorted(rates, reverse=True)
    assert scales == sorted(scales)


def test_plot_path_grid_image_holds_the_grid(jtfs: JTFS) -> None:
    values = np.random.default_rng(0).random(jtfs.n_paths)
    fig = viz.plot_path_grid(jtfs, values)
    img = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(np.asarray(img), viz.path_grid(jtfs, values)[0])
    plt.close(fig)


def test_mark_path_draws_a_square_on_the_cell(jtfs: JTFS) -> None:
    fig = viz.plot_path_grid(jtfs, np.ones(jtfs.n_paths))
    viz.mark_path(fig.axes[0], jtfs, 3)
    (rect,) = fig.axes[0].patches
    r, c = viz.path_cell(jtfs, 3)
    assert rect.get_xy() == (c - 0.5, r - 0.5)
    plt.close(fig)


def test_littlewood_paley_and_filterbank_figure(jtfs: JTFS) -> None:
    F = jtfs.filters("psi1")
    lp = viz.littlewood_paley(F)
    np.testing.assert_allclose(lp, (np.abs(F) ** 2).sum(0))
    fig = viz.plot_filterbank(F, sr=jtfs.sr)
    assert len(fig.axes[0].lines) == len(F) + 1  # one per filter + the LP sum
    np.testing.assert_allclose(fig.axes[0].lines[-1].get_ydata(), lp[: F.shape[1] // 2])
    plt.close(fig)
    with pytest.raises(ValueError, match="Fourier filters"):
        viz.littlewood_paley(F[0])


def test_plot_curves_and_path_image(jtfs: JTFS) -> None:
    fig = viz.plot_curves({"a": ([0, 1, 2], [3.0, 2.0, 1.0])}, logy=True)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [3, 2, 1])
    assert fig.axes[0].get_yscale() == "log"
    plt.close(fig)
    with pytest.raises(ValueError, match="differ in shape"):
        viz.plot_curves({"bad": ([0, 1], [1.0])})
    with pytest.raises(ValueError, match="empty"):
        viz.plot_curves({})
    coef = np.random.default_rng(1).random((4, 6))
    fig = viz.plot_path(coef, jtfs, 2)
    np.testing.assert_allclose(np.asarray(fig.axes[0].images[0].get_array()), coef)
    plt.close(fig)


def test_plotly_grid_matches_and_bundle_has_png_fallback(jtfs: JTFS, monkeypatch) -> None:
    values = np.linspace(0, 1, jtfs.n_paths)
    fig = viz.plotly_path_grid(jtfs, values, title="t")
    np.testing.assert_allclose(
        np.asarray(fig.data[0].z, dtype=float), viz.path_grid(jtfs, values)[0]
    )
    shown = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
    viz.show_plotly(fig, viz.plot_path_grid(jtfs, values))
    (bundle,) = shown
    assert "application/vnd.plotly.v1+json" in bundle
    assert bundle["image/png"][:4] == b"\x89PNG"


def test_path_histogram_and_errors(jtfs: JTFS) -> None:
    counts = np.zeros(jtfs.n_paths)
    counts[0] = 3
    counts[1] = 1
    fig = viz.plot_path_histogram(jtfs, counts)
    heights = [b.get_height() for b in fig.axes[0].patches]
    assert heights[:2] == [0.75, 0.25]
    plt.close(fig)
    with pytest.raises(ValueError, match="one entry per path"):
        viz.plot_path_histogram(jtfs, counts[:-1])
    with pytest.raises(ValueError, match="path index"):
        viz.path_cell(jtfs, jtfs.n_paths)


def _snap(**kw) -> Snapshot:
    base = {
        "step": 3,
        "steps": 6,
        "val_steps": [0, 3],
        "val_theta_l1": [250.0, 120.0],
        "path_counts": [3, 1, 0, 0],
        "probs": [0.4, 0.3, 0.2, 0.1],
        "losses": [1.0, 0.5, 0.2],
        "grad_var": [0.0, 2.0, 1.0],
    }
    return Snapshot(**{**base, **kw})


def test_lab_progress_panels_from_a_snapshot() -> None:
    info = _snap()
    panels = viz.lab_progress_panels(info)
    assert panels["theta"] == ([0, 3], [250.0, 120.0])
    share, pi = panels["paths"]
    np.testing.assert_allclose(share, [0.75, 0.25, 0, 0])
    np.testing.assert_allclose(pi, [0.4, 0.3, 0.2, 0.1])
    gx, gy, title, _ = panels["variance"]
    assert list(gx) == [1, 2, 3] and list(gy) == [0.0, 2.0, 1.0] and "gradient" in title
    # no θ-IS: π is uniform (Algorithm 1's default); no path sampling: no panel
    np.testing.assert_allclose(viz.lab_progress_panels(_snap(probs=None))["paths"][1], 0.25)
    assert viz.lab_progress_panels(_snap(path_counts=None))["paths"] is None
    # no gradient variance recorded: the rolling variance of the loss, against numpy
    losses = [1.0, 3.0, 2.0, 5.0]
    gx, gy, title, _ = viz.lab_progress_panels(_snap(losses=losses, grad_var=[]))["variance"]
    assert "loss" in title and list(gx) == [1, 2, 3, 4]
    np.testing.assert_allclose(gy, [0.0, np.var([1, 3]), np.var([1, 3, 2]), np.var(losses)])
    np.testing.assert_allclose(viz.rolling_variance(losses, window=2)[1][3], np.var([2, 5]))
    with pytest.raises(ValueError, match="window"):
        viz.rolling_variance(losses, window=1)
    with pytest.raises(ValueError, match="probs must have one entry per path"):
        viz.lab_progress_panels(_snap(probs=[0.5, 0.5]))
    with pytest.raises(TypeError, match="Snapshot"):
        viz.lab_progress_panels({"val_steps": [0]})


def test_lab_progress_figures_plotly_and_fallback() -> None:
    info = _snap(
        val_steps=[0, 3, 6],
        val_theta_l1=[250.0, 180.0, 90.0],
        path_counts=[2, 4],
        probs=None,
        grad_var=[1e-3, 1e-2],
    )
    fig = viz.plotly_lab_progress(info)
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["θ L1 (‰)"].y) == [250.0, 180.0, 90.0]
    np.testing.assert_allclose(by_name["visits"].y, [1 / 3, 2 / 3])
    np.testing.assert_allclose(by_name["π"].y, [0.5, 0.5])
    assert list(by_name["variance"].y) == [1e-3, 1e-2]
    assert list(by_name["variance"].x) == [1, 2]  # steps from 1 when not given
    assert fig.layout.yaxis3.type == "log"
    assert any(s.y0 == 100 for s in fig.layout.shapes)  # the convergence threshold
    no_paths = viz.plotly_lab_progress(dataclasses.replace(info, path_counts=None, grad_var=[]))
    assert "visits" not in {t.name for t in no_paths.data}
    assert "no path sampling" in no_paths.layout.annotations[-1].text
    static = viz.plot_lab_progress(info)
    assert len(static.axes) == 3 and static.axes[2].get_yscale() == "log"
    np.testing.assert_allclose([b.get_height() for b in static.axes[1].patches], [1 / 3, 2 / 3])
    plt.close(static)
