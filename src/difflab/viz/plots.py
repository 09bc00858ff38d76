"""Still pictures of one run: its data, its losses, its samples beside the truth.

Every function takes raw arrays (N, *shape) and a path, writes one PNG, and returns the path.
Panels meant to be compared share their limits, which come from the reference data.
"""
from __future__ import annotations

import numpy as np
from matplotlib.ticker import FuncFormatter

from ._figure import (DATA_COLOR, DENSITY_CMAP, REFERENCE_GREY, SAMPLE_COLOR, TRUTH_COLOR,
                      new_figure, save)
from .pairwise import draw_corner, plot_pairwise
from .vector import (as_points, axis_limits, finite_rows, hist_density, outside_note, plot_points, scatter_style,
                     union_limits)


def _side_by_side(layers, path, title, limits, bins=60):
    """One panel per (points, colour, label); shared limits (and y-range for histograms)."""
    d = layers[0][0].shape[1]
    n = len(layers)
    fig = new_figure(4.2 * n, 4.0 if d == 1 else 4.5)
    axes = fig.subplots(1, n, squeeze=False, sharey=d == 1)[0]
    for ax, (pts, color, label) in zip(axes, layers):
        if d == 1:
            plot_points(ax, pts, color=color, bins=bins, limits=limits[:1], alpha=0.6)
        else:
            plot_points(ax, pts, color=color, limits=limits[:2], **scatter_style(len(pts)))
        outside_note(ax, pts, limits)
        ax.set_title(f"{label} (N={len(pts)})")
    for ax in axes[1:]:
        ax.set_ylabel("")
    fig.suptitle(title)
    return save(fig, path)


def plot_dataset(train, test, path, title: str):
    """Train and test splits side by side: histograms in 1D, scatters in 2D, a corner plot above."""
    tr, te = as_points(train), as_points(test)
    limits = union_limits(axis_limits(tr), axis_limits(te))
    if tr.shape[1] <= 2:
        return _side_by_side([(tr, DATA_COLOR, "train"), (te, DATA_COLOR, "test")], path, title, limits)
    k = min(4, tr.shape[1])
    fig = new_figure(1.3 + 2.1 * k, 1.3 + 2.1 * k, constrained=False)
    draw_corner(fig, [(finite_rows(tr), DATA_COLOR, "train"), (finite_rows(te), REFERENCE_GREY, "test")], k, limits)
    fig.suptitle(title + (f" (first {k} of {tr.shape[1]} dims)" if k < tr.shape[1] else ""))
    return save(fig, path)


def _as_float_array(values) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def plot_losses(history: dict, path, title: str):
    """Train and test loss per epoch (`history` holds lists `epoch`, `train_loss`, `test_loss`).

    Missing values (None/NaN) are skipped; the y axis is logarithmic when every loss is positive.
    The best test epoch is marked.
    """
    epoch = _as_float_array(history.get("epoch", []))
    fig = new_figure(6.4, 4.0)
    ax = fig.subplots()
    positive = True
    for key, label, color in (("train_loss", "train", DATA_COLOR), ("test_loss", "test", SAMPLE_COLOR)):
        y = _as_float_array(history.get(key) or [])
        n = min(len(y), len(epoch))
        x, y = epoch[:n], y[:n]
        ok = np.isfinite(y)
        if not ok.any():
            continue
        positive &= bool((y[ok] > 0).all())
        ax.plot(x[ok], y[ok], color=color, label=label, linewidth=1.6, marker="o" if ok.sum() <= 30 else None,
                markersize=3)
        if key == "test_loss":
            best = np.flatnonzero(ok)[np.argmin(y[ok])]
            ax.plot(x[best], y[best], marker="*", color=color, markersize=12, linestyle="",
                    label=f"best test {y[best]:.4g} (epoch {x[best]:g})")
    if positive:
        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(plain)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (mean per sample)" + (", log scale" if positive else ""))
    ax.grid(True, which="major", alpha=0.3)
    if ax.lines:
        ax.legend(frameon=False)
    else:
        ax.text(0.5, 0.5, "no losses recorded", transform=ax.transAxes, ha="center", va="center")
    ax.set_title(title)
    return save(fig, path)


def plot_samples_vs_reference(samples, reference, path, title: str, labels=("samples", "test set")):
    """Samples (orange) beside the reference (blue), identical limits taken from the reference.

    1D: histograms over the same bins and the same y-range;
    2D: scatters; d > 2: a corner plot of the first dims (`plot_pairwise`).
    """
    s, ref = as_points(samples), as_points(reference)
    if ref.shape[1] > 2:
        return plot_pairwise(s, ref, path, title, labels=labels)
    limits = axis_limits(ref, margin=0.15 if ref.shape[1] == 1 else 0.1)
    out = _side_by_side([(s, SAMPLE_COLOR, labels[0]), (ref, DATA_COLOR, labels[1])], path, title, limits)
    return out


def _hist2d(x: np.ndarray, n_total: int, limits: np.ndarray, bins: int) -> np.ndarray:
    """Density histogram (bins, bins) [row = y, column = x] of finite points `x` out of `n_total`.

    Normalised by `n_total`, so mass outside the view (or non-finite) stays missing.
    """
    h, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=bins, range=limits[:2])
    area = np.prod((limits[:2, 1] - limits[:2, 0]) / bins)
    return h.T / max(n_total, 1) / area


def _grid_density(log_prob, limits: np.ndarray, bins: int, shape, supersample: int = 3) -> np.ndarray:
    """exp(log_prob) averaged over each histogram cell (supersample^2 points per cell), (bins, bins)."""
    n = bins * supersample
    edges = [np.linspace(lo, hi, n + 1) for lo, hi in limits[:2]]
    cx, cy = [(e[:-1] + e[1:]) / 2 for e in edges]
    gx, gy = np.meshgrid(cx, cy)                 # row = y, column = x
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1).reshape((-1,) + tuple(shape))
    lp = np.asarray(log_prob(pts), dtype=np.float64).reshape(n, n)
    p = np.where(np.isfinite(lp), np.exp(np.minimum(lp, 700.0)), 0.0)
    return p.reshape(bins, supersample, bins, supersample).mean(axis=(1, 3))


def plot_density(samples, path, title: str, log_prob=None, reference=None, bins: int = 80, limits=None):
    """The density of the samples beside the true one.

    2D: a density histogram of the samples beside exp(log_prob) averaged over the same cells
    (or, without `log_prob`, the histogram of `reference`), one shared colour scale.
    1D: the samples' histogram over the true density curve (or the reference histogram).
    `log_prob` maps raw points (M, *shape) to (M,) log-densities. Limits come from the reference
    (or the samples) unless given as (d, 2). d > 2 is drawn by `plot_pairwise` against `reference`.
    """
    s = as_points(samples)
    shape = np.asarray(samples).shape[1:] or (1,)
    ref = None if reference is None else as_points(reference)
    d = s.shape[1]
    if d > 2:
        if ref is None:
            raise ValueError("plot_density draws 1D and 2D data; for d > 2 pass `reference` or use plot_pairwise")
        return plot_pairwise(s, ref, path, title, labels=("samples", "reference"))
    if limits is None:
        limits = axis_limits(ref, margin=0.15) if ref is not None else axis_limits(s, margin=0.15, quantile=0.005)
    limits = np.asarray(limits, dtype=np.float64)
    sf = finite_rows(s)
    if d == 1:
        return _density_1d(s, ref, log_prob, limits, shape, path, title)

    panels = [("samples", _hist2d(sf, len(s), limits, bins))]
    if log_prob is not None:
        panels.append(("true density", _grid_density(log_prob, limits, bins, shape)))
    elif ref is not None:
        panels.append((f"reference (N={len(ref)})", _hist2d(finite_rows(ref), len(ref), limits, bins)))
    vmax = panels[-1][1].max() if len(panels) > 1 else panels[0][1].max()
    vmax = vmax if vmax > 0 else 1.0
    fig = new_figure(4.0 * len(panels) + 0.9, 4.3)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    extent = [*limits[0], *limits[1]]
    for ax, (label, img) in zip(axes, panels):
        im = ax.imshow(img, origin="lower", extent=extent, cmap=DENSITY_CMAP, vmin=0, vmax=vmax,
                       interpolation="nearest", aspect="equal")
        ax.set_title(f"{label} (N={len(s)})" if label == "samples" else label)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    outside_note(axes[0], s, limits)
    for ax in axes[1:]:
        ax.set_ylabel("")
    fig.colorbar(im, ax=list(axes), label="density", shrink=0.9)
    fig.suptitle(title)
    return save(fig, path)


def _density_1d(s, ref, log_prob, limits, shape, path, title, bins=80):
    fig = new_figure(6.4, 4.0)
    ax = fig.subplots()
    edges = np.linspace(*limits[0], bins + 1)
    h = hist_density(s[:, 0], edges)
    ax.stairs(h, edges, fill=True, color=SAMPLE_COLOR, alpha=0.55, label=f"samples (N={len(s)})")
    peak = float(h.max())
    if log_prob is not None:
        grid = np.linspace(*limits[0], 600)
        lp = np.asarray(log_prob(grid.reshape((-1,) + tuple(shape))), dtype=np.float64)
        p = np.where(np.isfinite(lp), np.exp(np.minimum(lp, 700.0)), 0.0)
        ax.plot(grid, p, color=TRUTH_COLOR, linewidth=1.6, label="true density")
        peak = max(peak, p.max())
    elif ref is not None:
        h_ref = hist_density(ref[:, 0], edges)
        ax.stairs(h_ref, edges, color=DATA_COLOR, linewidth=1.5, label=f"reference (N={len(ref)})")
        peak = max(peak, h_ref.max())
    ax.set_xlim(*limits[0])
    ax.set_ylim(0, 1.22 * peak if peak > 0 else 1.0)    # headroom for the legend
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    outside_note(ax, s, limits)
    ax.legend(frameon=False, loc="upper right", ncols=2)
    ax.set_title(title)
    return save(fig, path)
