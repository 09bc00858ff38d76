"""Figures that never touch pyplot: a `Figure` on its own Agg canvas, saved as PNG and dropped.

Drawing through `matplotlib.figure.Figure` + `FigureCanvasAgg` leaves the user's backend and
pyplot's figure registry alone, so nothing has to be closed and nothing leaks in a long session.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 110                       # resolution of every saved picture
DATA_COLOR = "#4C72B0"          # data (train, test, reference): blue
REFERENCE_GREY = "#7F7F7F"      # reference when overlaid under samples: grey
SAMPLE_COLOR = "#DD8452"        # model samples: orange
TRUTH_COLOR = "#222222"         # exact density curves: near black
DENSITY_CMAP = "magma"          # colour map of 2D densities


def new_figure(width: float, height: float, *, constrained: bool = True) -> Figure:
    """A figure of `width` x `height` inches on an Agg canvas, outside pyplot."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained" if constrained else None)
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path) -> Path:
    """Write `fig` to `path` as PNG (creating the folder), release it, return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    settle(fig)
    fig.savefig(path, dpi=DPI, format="png", facecolor="white")
    fig.clear()
    return path


def settle(fig: Figure) -> None:
    """Run the constrained layout once before the real draw.

    With equal-aspect axes the layout needs a second pass to converge; without it, labels at
    the bottom edge can be cut off.
    """
    if any(ax.get_aspect() != "auto" for ax in fig.axes):
        fig.draw_without_rendering()


def render_rgb(fig: Figure) -> np.ndarray:
    """The figure as an (H, W, 3) uint8 image, for animation frames."""
    canvas = fig.canvas
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return np.ascontiguousarray(rgba[..., :3])
