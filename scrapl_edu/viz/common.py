"""What the figures share: curves, a plotly figure with its PNG fallback, running variance."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # annotations only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


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
