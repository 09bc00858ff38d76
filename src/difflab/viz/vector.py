"""Pictures of a batch of vectors on one axis: a histogram in 1D, a scatter in 2D and above.

Points arrive as raw arrays (N, *shape); they are flattened to (N, d). Rows with a NaN or an
infinity are left out of the picture (a diverged sampler must not break its own plot) and
counted by `outside_note`.
"""
from __future__ import annotations

import numpy as np

from ._figure import DATA_COLOR


def as_points(x) -> np.ndarray:
    """(N,) or (N, *shape) -> float64 (N, d)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        raise ValueError("expected a batch of points, got a scalar")
    return x.reshape(len(x), -1)


def finite_rows(x: np.ndarray) -> np.ndarray:
    """The rows of (N, d) `x` whose entries are all finite."""
    return x[np.isfinite(x).all(axis=1)]


def axis_limits(x, margin: float = 0.1, quantile: float = 0.0) -> np.ndarray:
    """Per-dimension (lo, hi) covering `x` (N, *shape), widened by `margin` of the span on each side.

    `quantile` > 0 ignores that fraction of the points at each end (robust to outliers).
    Returns (d, 2) float64. A flat or empty dimension gets a unit-wide window.
    """
    x = as_points(x)
    d = x.shape[1]
    x = finite_rows(x)
    if len(x) == 0:
        return np.tile([-1.0, 1.0], (d, 1))
    lo, hi = (np.quantile(x, [quantile, 1 - quantile], axis=0) if quantile > 0
              else (x.min(axis=0), x.max(axis=0)))
    span = hi - lo
    flat = span <= 1e-12 * np.maximum(1.0, np.abs(lo))
    mid = (lo + hi) / 2
    lo = np.where(flat, mid - 0.5, lo - margin * span)
    hi = np.where(flat, mid + 0.5, hi + margin * span)
    return np.stack([lo, hi], axis=1)


def union_limits(*limits: np.ndarray) -> np.ndarray:
    """The smallest window containing every (d, 2) window."""
    stack = np.stack(limits)
    return np.stack([stack[..., 0].min(axis=0), stack[..., 1].max(axis=0)], axis=1)


def hist_density(x, edges: np.ndarray) -> np.ndarray:
    """Histogram of 1D values `x` over `edges` as a density of ALL of x (len(edges) - 1,).

    Unlike `density=True`, the mass outside the edges (or non-finite) stays missing instead of
    inflating the bars inside, so a spread-out batch looks spread out.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    counts, _ = np.histogram(x[np.isfinite(x)], bins=edges)
    return counts / (max(len(x), 1) * np.diff(edges))


def scatter_style(n: int) -> dict:
    """Marker size and transparency that keep n points readable."""
    if n >= 2000:
        return {"s": 2, "alpha": 0.35}
    if n >= 500:
        return {"s": 4, "alpha": 0.5}
    return {"s": 8, "alpha": 0.7}


def outside_note(ax, x, limits: np.ndarray, dims=(0, 1)) -> None:
    """Write "k of N outside view" in the corner of `ax` when points fall outside `limits`."""
    x = as_points(x)
    n = len(x)
    if n == 0:
        return
    finite = np.isfinite(x).all(axis=1)
    inside = finite.copy()
    for axis_i, dim in enumerate(dims[: x.shape[1]]):
        lo, hi = limits[axis_i]
        inside &= (x[:, dim] >= lo) & (x[:, dim] <= hi)
    k = int(n - inside.sum())
    if k:
        text = f"{k} of {n} outside view" + (f" ({int(n - finite.sum())} non-finite)" if not finite.all() else "")
        ax.text(0.02, 0.98, text, transform=ax.transAxes, ha="left", va="top", fontsize=7, color="#B22222",
                bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})


def plot_points(ax, x, color=None, label=None, s=3, alpha=0.5, bins=60, limits=None, dims=(0, 1)):
    """Draw raw points (N, *shape) on `ax`: a density histogram for d=1, else a scatter of two dims.

    The histogram is normalised by all N points, so mass outside the view is missing, not spread.

    `limits` ((1, 2) for 1D, (2, 2) for the two plotted dims) fixes the histogram range and the
    view; by default they follow the data. 2D data gets equal aspect. Returns `ax`.
    """
    all_pts = as_points(x)
    pts = finite_rows(all_pts)
    color = DATA_COLOR if color is None else color
    if pts.shape[1] == 1:
        rng = tuple(limits[0]) if limits is not None else tuple(axis_limits(pts)[0])
        edges = np.linspace(*rng, bins + 1)
        ax.stairs(hist_density(all_pts[:, 0], edges), edges, fill=True, color=color, alpha=alpha, label=label)
        ax.set_xlim(*rng)
        ax.set_xlabel("x")
        ax.set_ylabel("density")
        return ax
    i, j = dims
    ax.scatter(pts[:, i], pts[:, j], s=s, alpha=alpha, color=color, label=label, linewidths=0, rasterized=True)
    if limits is not None:
        ax.set_xlim(*limits[0])
        ax.set_ylim(*limits[1])
    if pts.shape[1] == 2:
        ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(f"x{i}" if pts.shape[1] > 2 else "x")
    ax.set_ylabel(f"x{j}" if pts.shape[1] > 2 else "y")
    return ax
