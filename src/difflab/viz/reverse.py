"""Pictures of the reverse process: a strip of snapshots and an animated GIF.

`snapshots` is a list of (t, x) pairs, x raw points (N, *shape), ordered from the first step
(t = 1, noise) to the last (t = 0, data). Every panel and frame shares one window: the data's
(the last snapshot) widened towards the noise, up to `MAX_WIDEN` times its half-width; points
beyond it are clipped and counted in the corner of the panel.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ._figure import SAMPLE_COLOR, new_figure, render_rgb, save, settle
from .vector import as_points, axis_limits, finite_rows, hist_density, outside_note, plot_points, scatter_style

MAX_WIDEN = 1.75        # the view is at most this many times the data's half-width (noise may be far wider)


def pick(n_items: int, n: int) -> np.ndarray:
    """Up to n evenly spaced indices into n_items, always the first and the last."""
    if n_items <= 0:
        raise ValueError("no snapshots to draw")
    return np.unique(np.round(np.linspace(0, n_items - 1, max(1, min(n, n_items)))).astype(int))


def pick_levels(log_ratios, n: int) -> np.ndarray:
    """Up to n snapshot indices whose log noise ratios log(sigma / alpha) are as evenly spaced as the
    snapshots allow (evenly in log-SNR), always the first (noise) and the last (data). Where noise
    levels are spaced evenly in time, most of them are pure noise; this spends the panels on change."""
    lam = np.asarray(log_ratios, dtype=np.float64)
    finite = np.flatnonzero(np.isfinite(lam))
    if len(lam) <= n or len(finite) < 2:
        return pick(len(lam), n)
    targets = np.linspace(lam[finite[0]], lam[finite[-1]], n - (0 if finite[-1] == len(lam) - 1 else 1))
    chosen = {int(finite[np.argmin(np.abs(lam[finite] - v))]) for v in targets}
    last = len(lam) - 1                     # a final denoising step repeats the last level: one panel for both
    chosen = {i for i in chosen if i == last or not lam[i] == lam[last]}
    return np.array(sorted(chosen | {0, last}))


def reverse_limits(snapshots) -> np.ndarray:
    """(k, 2) window over the plotted dims (k = 1 or 2): the data's, widened towards the noise."""
    last = as_points(snapshots[-1][1])
    first = as_points(snapshots[0][1])
    k = min(2, last.shape[1])
    final = axis_limits(last[:, :k], margin=0.15, quantile=0.01)   # stray samples must not set the view
    noise = axis_limits(first[:, :k], margin=0.05, quantile=0.01)
    centre = final.mean(axis=1)
    half = (final[:, 1] - final[:, 0]) / 2
    reach = np.maximum(np.abs(noise[:, 0] - centre), np.abs(noise[:, 1] - centre))
    half = np.clip(reach, half, MAX_WIDEN * half)
    return np.stack([centre - half, centre + half], axis=1)


def _draw(ax, x, limits, t, y_max=None, bins=60):
    """One snapshot on `ax` in the shared window."""
    pts = as_points(x)
    if pts.shape[1] == 1:
        plot_points(ax, pts, color=SAMPLE_COLOR, bins=bins, limits=limits, alpha=0.7)
        if y_max:
            ax.set_ylim(0, y_max)
    else:
        plot_points(ax, pts, color=SAMPLE_COLOR, limits=limits, **scatter_style(len(pts)))
    outside_note(ax, pts, limits)
    ax.set_title(f"t = {float(t):.3f}", fontsize=10)


def _hist_peak(snapshots, limits, bins=60) -> float:
    """Largest 1D histogram density among the snapshots, for one shared y-range."""
    edges = np.linspace(*limits[0], bins + 1)
    peak = max(float(hist_density(as_points(x)[:, 0], edges).max()) for _, x in snapshots)
    return 1.08 * peak if peak > 0 else 1.0


def plot_reverse_strip(snapshots, path, title: str, n_panels: int = 8, log_ratios=None):
    """A row of `n_panels` snapshots (always the noise and the data), one window: evenly spaced in
    log noise ratio when `log_ratios` (one per snapshot) are given, else evenly in steps."""
    idx = pick(len(snapshots), n_panels) if log_ratios is None else pick_levels(log_ratios, n_panels)
    snaps = [snapshots[i] for i in idx]
    limits = reverse_limits(snapshots)
    d = as_points(snaps[-1][1]).shape[1]
    y_max = _hist_peak(snaps, limits) if d == 1 else None
    n = len(snaps)
    fig = new_figure(0.4 + 2.15 * n, 3.0 if d == 1 else 3.1)
    axes = fig.subplots(1, n, squeeze=False)[0]
    for i, (ax, (t, x)) in enumerate(zip(axes, snaps)):
        _draw(ax, x, limits, t, y_max)
        ax.tick_params(labelsize=7)
        if i > 0:
            ax.set_ylabel("")
            ax.set_yticklabels([])
    fig.suptitle(title + ("" if d <= 2 else f" (dims 0 and 1 of {d})"))
    return save(fig, path)


def save_reverse_gif(snapshots, path, title: str, n_frames: int = 40, fps: int = 10, hold_seconds: float = 1.5):
    """The reverse process as an animated GIF of up to `n_frames` snapshots at `fps`.

    The last frame (the samples) stays on screen for `hold_seconds`. One figure is laid out
    once on an Agg canvas; each frame only updates its points, and Pillow writes the GIF.
    Returns the path.
    """
    snaps = [snapshots[i] for i in pick(len(snapshots), n_frames)]
    limits = reverse_limits(snapshots)
    d = as_points(snaps[-1][1]).shape[1]
    fig = new_figure(4.6, 4.0 if d == 1 else 4.6)
    ax = fig.subplots()
    fig.suptitle(title if d <= 2 else f"{title} (dims 0 and 1 of {d})", fontsize=9)
    note = ax.text(0.02, 0.98, "", transform=ax.transAxes, ha="left", va="top", fontsize=7, color="#B22222")
    if d == 1:
        edges = np.linspace(*limits[0], 61)
        artist = ax.stairs(np.zeros(60), edges, fill=True, color=SAMPLE_COLOR, alpha=0.7)
        ax.set_xlim(*limits[0])
        ax.set_ylim(0, _hist_peak(snaps, limits))
        ax.set_xlabel("x")
        ax.set_ylabel("density")
    else:
        style = scatter_style(len(snaps[-1][1]))
        artist = ax.scatter(np.zeros(0), np.zeros(0), color=SAMPLE_COLOR, linewidths=0,
                            s=2 * style["s"], alpha=min(1.0, 1.3 * style["alpha"]))   # one big panel: bigger dots
        ax.set_xlim(*limits[0])
        ax.set_ylim(*limits[1])
        if d == 2:
            ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel("x" if d == 2 else "x0")
        ax.set_ylabel("y" if d == 2 else "x1")
    ax.set_title("t = 1.000", fontsize=10)
    settle(fig)
    fig.set_layout_engine("none")       # freeze the layout: every frame has the same geometry

    frames = []
    for t, x in snaps:
        pts = as_points(x)
        if d == 1:
            artist.set_data(values=hist_density(pts[:, 0], edges))
        else:
            artist.set_offsets(finite_rows(pts)[:, :2])
        k = _n_outside(pts, limits)
        note.set_text(f"{k} of {len(pts)} outside view" if k else "")
        ax.set_title(f"t = {float(t):.3f}", fontsize=10)
        frames.append(Image.fromarray(render_rgb(fig)).quantize(colors=255, method=Image.Quantize.FASTOCTREE))
    fig.clear()
    frame_ms = int(round(1000 / fps))
    durations = [frame_ms] * len(frames)
    durations[-1] = max(frame_ms, int(round(1000 * hold_seconds)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return path


def _n_outside(pts: np.ndarray, limits: np.ndarray) -> int:
    """How many rows of (N, d) `pts` are non-finite or outside the window on the plotted dims."""
    inside = np.isfinite(pts).all(axis=1)
    for i, (lo, hi) in enumerate(limits):
        inside &= (pts[:, i] >= lo) & (pts[:, i] <= hi)
    return int(len(pts) - inside.sum())
