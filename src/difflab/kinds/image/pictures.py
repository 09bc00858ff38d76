"""Pictures of image runs: grids of samples beside real images, the reverse process as a grid of
snapshots (rows = samples, columns = times) and as a GIF, and strips of clean/noisy/restored.

Images are raw (N, C, H, W) arrays in [0, 1]; values outside are clipped for display only.
Greyscale is drawn with the grey colour map, white = 1.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .datasets import image_grid
from ...viz.reverse import pick_levels
from ...viz._figure import new_figure, render_rgb, save, settle


def _show(ax, grid: np.ndarray):
    ax.set_xticks([])
    ax.set_yticks([])
    if grid.shape[2] == 1:
        return ax.imshow(grid[..., 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    return ax.imshow(grid, interpolation="nearest")


def _inches(grid: np.ndarray, width: float) -> float:
    return width * grid.shape[0] / grid.shape[1]


def plot_image_grid(images, path, title: str, ncols: int | None = None) -> Path:
    """One grid of images."""
    grid = image_grid(np.asarray(images), ncols)
    fig = new_figure(6.0, 0.5 + _inches(grid, 6.0))
    ax = fig.subplots()
    _show(ax, grid)
    ax.set_title(title, fontsize=10)
    return save(fig, path)


def plot_images_vs_reference(samples, reference, path, title: str, max_images: int = 64) -> Path:
    """Samples (left) beside as many real images (right), each as a square-ish grid."""
    n = min(len(samples), len(reference), max_images)
    fig = new_figure(11.0, 6.0)
    fig.suptitle(title)
    for ax, (label, x) in zip(fig.subplots(1, 2), (("samples", samples), ("real test images", reference))):
        _show(ax, image_grid(np.asarray(x)[:n]))
        ax.set_title(f"{label} ({n} shown)", fontsize=10)
    return save(fig, path)


def _pick(n_items: int, n: int) -> np.ndarray:
    return np.unique(np.round(np.linspace(0, n_items - 1, max(1, min(n, n_items)))).astype(int))


def plot_reverse_grid(snapshots, path, title: str, n_rows: int = 8, n_cols: int = 10, log_ratios=None) -> Path:
    """Rows = the first `n_rows` samples, columns = `n_cols` times from noise (left) to the samples
    (right), evenly spaced in log noise ratio when `log_ratios` are given; `snapshots` is
    [(t, images (N, C, H, W))]."""
    idx = _pick(len(snapshots), n_cols) if log_ratios is None else pick_levels(log_ratios, n_cols)
    snaps = [snapshots[i] for i in idx]
    rows = min(n_rows, len(snaps[0][1]))
    cols = len(snaps)
    c, h, w = np.asarray(snaps[0][1]).shape[1:]
    tiles = np.stack([np.asarray(x)[r] for r in range(rows) for _, x in snaps])   # row-major: sample, time
    grid = image_grid(tiles, ncols=cols)
    fig = new_figure(1.0 + 0.9 * cols, 0.9 + 0.9 * rows * (h + 1) / (w + 1))
    ax = fig.subplots()
    _show(ax, grid)
    ax.set_xticks([1 + (w + 1) * j + w / 2 for j in range(cols)])
    ax.set_xticklabels([f"{float(t):.2f}" for t, _ in snaps], fontsize=8)
    ax.set_xlabel("t (1 = noise, 0 = data)")
    ax.set_title(title, fontsize=10)
    return save(fig, path)


def save_reverse_gif(snapshots, path, title: str, n_images: int = 16, n_frames: int = 40, fps: int = 10,
                     hold_seconds: float = 1.5) -> Path:
    """The reverse process of the first `n_images` samples as an animated GIF of image grids; the
    last frame (the samples) is held for `hold_seconds`."""
    snaps = [snapshots[i] for i in _pick(len(snapshots), n_frames)]
    first = image_grid(np.asarray(snaps[0][1])[:n_images])
    fig = new_figure(4.2, 0.6 + _inches(first, 4.2))
    ax = fig.subplots()
    artist = _show(ax, first)
    fig.suptitle(title, fontsize=8)
    ax.set_title("t = 1.000", fontsize=10)
    settle(fig)
    fig.set_layout_engine("none")                     # every frame has the same geometry
    frames = []
    for t, x in snaps:
        grid = image_grid(np.asarray(x)[:n_images])
        artist.set_data(grid[..., 0] if grid.shape[2] == 1 else grid)
        ax.set_title(f"t = {float(t):.3f}", fontsize=10)
        frames.append(Image.fromarray(render_rgb(fig)).quantize(colors=255, method=Image.Quantize.FASTOCTREE))
    fig.clear()
    durations = [int(round(1000 / fps))] * len(frames)
    durations[-1] = max(durations[-1], int(round(1000 * hold_seconds)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return path


def plot_image_rows(rows, path, title: str, max_images: int = 8) -> Path:
    """Labelled rows of images, e.g. [("clean", x), ("noisy", y), ("restored", z)], one column per item."""
    n = min(max_images, min(len(x) for _, x in rows))
    fig = new_figure(1.4 + 1.1 * n, 0.6 + 1.25 * len(rows))
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    for ax, (label, x) in zip(axes, rows):
        _show(ax, image_grid(np.asarray(x)[:n], ncols=n))
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=10)
    fig.suptitle(title, fontsize=10)
    return save(fig, path)
