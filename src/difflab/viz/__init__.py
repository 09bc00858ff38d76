"""Pictures and reports: every function takes raw arrays and a path, writes one file, returns the path.

Figures are drawn on their own Agg canvas (`matplotlib.figure.Figure`), never through pyplot,
so the user's backend and open figures are left alone. Colours: data blue (grey when overlaid),
samples orange, exact densities black.
"""
from .pairwise import plot_pairwise
from .plots import plot_dataset, plot_density, plot_losses, plot_samples_vs_reference
from .links import report_problems
from .report import write_report
from .reverse import plot_reverse_strip, save_reverse_gif
from .vector import axis_limits, plot_points

__all__ = [
    "axis_limits",
    "plot_dataset",
    "plot_density",
    "plot_losses",
    "plot_pairwise",
    "plot_points",
    "plot_reverse_strip",
    "plot_samples_vs_reference",
    "report_problems",
    "save_reverse_gif",
    "write_report",
]
