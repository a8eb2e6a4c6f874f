"""Figures: data in, figure out (matplotlib for static figures, plotly for interactive ones).

Nothing here computes a transform; callers pass tensors/arrays and the JTFS whose
metadata labels the axes. The lab's figures take its typed payloads
(:class:`scrapl_edu.lab.Snapshot`, the comparison summary). matplotlib, plotly and IPython
are imported inside the functions that draw: they are heavy, and a caller that only wants
numbers (``lab_progress_panels``) should not pay for them.
"""

from __future__ import annotations

from scrapl_edu.viz.common import plot_curves, rolling_variance, show_plotly
from scrapl_edu.viz.lab import (
    lab_progress_panels,
    plot_accuracy_vs_cost,
    plot_drum_errors,
    plot_errors_per_parameter,
    plot_lab_comparison,
    plot_lab_progress,
    plot_paired,
    plot_theta_is_box,
    plot_theta_is_quality,
    plotly_lab_progress,
    save_drum_errors,
    save_lab_comparison,
    save_paired_figure,
    save_theta_is_figures,
    save_theta_is_quality,
)
from scrapl_edu.viz.transform import (
    littlewood_paley,
    mark_path,
    path_cell,
    path_grid,
    plot_filterbank,
    plot_path,
    plot_path_grid,
    plot_path_histogram,
    plot_scalogram,
    plotly_path_grid,
)

__all__ = [
    "lab_progress_panels",
    "littlewood_paley",
    "mark_path",
    "path_cell",
    "path_grid",
    "plot_accuracy_vs_cost",
    "plot_curves",
    "plot_drum_errors",
    "plot_errors_per_parameter",
    "plot_filterbank",
    "plot_lab_comparison",
    "plot_lab_progress",
    "plot_paired",
    "plot_path",
    "plot_path_grid",
    "plot_path_histogram",
    "plot_scalogram",
    "plot_theta_is_box",
    "plot_theta_is_quality",
    "plotly_lab_progress",
    "plotly_path_grid",
    "rolling_variance",
    "save_drum_errors",
    "save_lab_comparison",
    "save_paired_figure",
    "save_theta_is_figures",
    "save_theta_is_quality",
    "show_plotly",
]
