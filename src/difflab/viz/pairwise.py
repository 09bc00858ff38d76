"""Corner plots: the first few dimensions of d-dimensional points, two by two.

Off the diagonal each panel scatters one pair of dimensions; on the diagonal each dimension's
histogram. Several layers (reference in grey under samples in orange, or train under test)
share every panel, so their marginals can be compared at a glance.
"""
from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from ._figure import REFERENCE_GREY, SAMPLE_COLOR, new_figure, save
from .vector import as_points, axis_limits, finite_rows, hist_density, scatter_style

MAX_SCATTER = 5000      # points per layer drawn in a scatter panel (histograms use all of them)


def _thin(x: np.ndarray, n: int = MAX_SCATTER) -> np.ndarray:
    """At most n rows of x, chosen by a fixed generator (the picture must not depend on chance)."""
    if len(x) <= n:
        return x
    return x[np.random.default_rng(0).choice(len(x), n, replace=False)]


def draw_corner(fig, layers, n_dims: int, limits: np.ndarray, bins: int = 40):
    """Fill `fig` with an n_dims x n_dims corner plot of `layers` [(points (N, d), colour, label)].

    `limits` (>= n_dims, 2) fixes every panel's range. Returns the axes grid.
    """
    if fig.get_layout_engine() is None:      # a fixed layout: much faster than constrained for k x k axes
        w, h = fig.get_size_inches()
        fig.subplots_adjust(left=0.75 / w, right=1 - 0.2 / w, bottom=0.6 / h, top=1 - 0.45 / h,
                            wspace=0.08, hspace=0.08)
    axes = fig.subplots(n_dims, n_dims, squeeze=False)
    for r in range(n_dims):
        for c in range(n_dims):
            ax = axes[r, c]
            if c > r:
                ax.set_axis_off()
                continue
            if r == c:
                edges = np.linspace(*limits[c], bins + 1)
                for i, (pts, color, label) in enumerate(layers):   # the first layer filled, the others outlined
                    h = hist_density(pts[:, c], edges)
                    if i == 0:
                        ax.stairs(h, edges, fill=True, color=color, alpha=0.4)
                    else:
                        ax.stairs(h, edges, color=color, linewidth=1.5)
                ax.set_yticks([])
            else:
                for pts, color, label in layers:
                    sub = _thin(pts)
                    ax.scatter(sub[:, c], sub[:, r], color=color, linewidths=0, rasterized=True,
                               **scatter_style(len(sub)))
                ax.set_ylim(*limits[r])
            ax.set_xlim(*limits[c])
            ax.tick_params(labelsize=7)
            if r == n_dims - 1:
                ax.set_xlabel(f"x{c}")
            else:
                ax.set_xticklabels([])
            if c == 0 and r > 0:
                ax.set_ylabel(f"x{r}")
            elif r != c:
                ax.set_yticklabels([])
    handles = [Line2D([], [], marker="o", linestyle="", color=color, markersize=6, label=f"{label} (N={len(pts)})")
               for pts, color, label in layers]
    if n_dims > 1:
        axes[0, n_dims - 1].legend(handles=handles, loc="upper right", frameon=False, fontsize=9)
    else:
        axes[0, 0].legend(handles=handles, loc="upper right", fontsize=8)
    return axes


def plot_pairwise(samples, reference, path, title: str, max_dims: int = 4,
                  labels=("samples", "reference"), colors=(SAMPLE_COLOR, REFERENCE_GREY)):
    """Corner plot of the first `max_dims` dims: `reference` in grey under `samples` in orange.

    samples (N, *shape), reference (M, *shape), raw units; ranges follow the reference with a
    margin. Writes a PNG to `path` and returns it.
    """
    s = finite_rows(as_points(samples))
    ref = finite_rows(as_points(reference))
    d = ref.shape[1]
    k = max(1, min(max_dims, d))
    limits = axis_limits(ref[:, :k], margin=0.1)
    size = 1.3 + 2.1 * k if k > 1 else 5.0
    fig = new_figure(size, size if k > 1 else 3.8, constrained=False)
    draw_corner(fig, [(ref, colors[1], labels[1]), (s, colors[0], labels[0])], k, limits)
    shown = f" (first {k} of {d} dims)" if k < d else ""
    fig.suptitle(title + shown)
    return save(fig, path)
