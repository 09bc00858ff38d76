"""Pictures of audio clips (N, 1, L): waveforms, spectrograms, the reverse process.

- `plot_waveform_stack(ax, x, rate)`: a few clips stacked one above the other on one axis
  (each scaled by the same factor, so loudness differences stay visible).
- `plot_spectrogram_images(ax, x, rate, hop)`: a few model-side spectrogram images (N, 1, F, T)
  (scaled log magnitude, -1 silence .. +1 loud) side by side on one axis.
- `plot_waveforms_vs_reference(samples, reference, path, rate)`: real clips beside generated ones.
- `plot_spectrograms_vs_reference(...)`: the same clips as log-power spectrograms
  (`scipy.signal.stft`, 32 ms Hann windows with 75% overlap; dB relative to a full-scale sine,
  floor -80 dB), so pitch, harmonics and hiss are visible.
- `plot_audio_reverse(snapshots, path, rate)`: the reverse process as a grid, one column per
  clip and one row per time, from noise (top) to the samples (bottom).
"""
from __future__ import annotations

import numpy as np
from scipy.signal import stft

from ...viz._figure import DATA_COLOR, SAMPLE_COLOR, new_figure, save

DB_FLOOR = -80.0            # spectrogram colour range: -80 dB .. 0 dB (full-scale sine)
MAX_CLIPS = 6               # clips per column of a waveform / spectrogram figure


def _clips(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(len(x), -1)


def plot_waveform_stack(ax, x, rate: int, *, color: str = DATA_COLOR, spacing: float = 2.4, **kw):
    """Clips (N, 1, L) as waveforms on one axis, clip i centred at height -spacing * i; time in s."""
    x = np.nan_to_num(_clips(x))
    t = np.arange(x.shape[1]) / rate
    for i, clip in enumerate(x):
        ax.plot(t, clip - spacing * i, color=color, lw=0.5, **kw)
    ax.set_yticks([-spacing * i for i in range(len(x))])
    ax.set_yticklabels([str(i) for i in range(len(x))])
    ax.set_ylim(-spacing * (len(x) - 0.5), spacing * 0.5)
    ax.set_xlim(0, x.shape[1] / rate)
    ax.set_xlabel("time (s)")
    return ax


def plot_spectrogram_images(ax, x, rate: int, hop: int, **kw):
    """Images (N, 1, F, T) of scaled log magnitude side by side on one axis (time in s, kHz up),
    a white line between them; colours from -1 (silence) to +1."""
    x = np.nan_to_num(np.asarray(x, dtype=np.float64))[:, 0]
    n, bins, frames = x.shape
    gap = np.full((bins, 1), np.nan)
    row = np.concatenate([c for img in x for c in (img, gap)][:-1], axis=1) if n else np.zeros((bins, frames))
    seconds = frames * hop / rate
    width = (frames + 1) * hop / rate * n - hop / rate
    ax.imshow(row, origin="lower", aspect="auto", cmap="magma", vmin=-1, vmax=1, interpolation="nearest",
              extent=(0, width, 0, rate / 2000), **kw)
    ax.set_xticks([(frames + 1) * hop / rate * i + seconds / 2 for i in range(n)])
    ax.set_xticklabels([str(i) for i in range(n)])
    ax.set_xlabel(f"clip ({seconds:.2f} s each)")
    ax.set_ylabel("kHz")
    return ax


def spectrogram_db(clip: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frequencies (F,), times (T,), power in dB (F, T)) of one clip, floored at DB_FLOOR."""
    nper = max(16, int(round(0.032 * rate)))
    f, t, z = stft(np.asarray(clip, dtype=np.float64), fs=rate, window="hann", nperseg=nper,
                   noverlap=3 * nper // 4, boundary=None, padded=False)
    power = np.abs(z) ** 2 / 0.25          # scipy's 'spectrum' scaling: a full-scale sine peaks at |z| = 0.5
    return f, t, np.maximum(10 * np.log10(np.maximum(power, 1e-20)), DB_FLOOR)


def _labels_of(labels, class_names, i):
    if labels is None:
        return ""
    name = class_names[labels[i]] if class_names else str(labels[i])
    return f" ({name})"


def plot_waveforms_vs_reference(samples, reference, path, rate: int, title: str = "", *, max_clips: int = MAX_CLIPS):
    """Two columns: real clips (blue) beside generated clips (orange), `max_clips` of each."""
    fig = new_figure(11, 1.0 + 1.1 * max_clips)
    if title:
        fig.suptitle(title)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, (name, x, color) in zip(axes, (("real (test set)", reference, DATA_COLOR),
                                            ("generated", samples, SAMPLE_COLOR))):
        x = _clips(x)[:max_clips]
        plot_waveform_stack(ax, x, rate, color=color)
        ax.set_title(f"{name}: {len(x)} clips")
    axes[0].set_ylabel("clip")
    return save(fig, path)


def plot_spectrograms_vs_reference(samples, reference, path, rate: int, title: str = "", *,
                                   max_clips: int = MAX_CLIPS):
    """A grid of spectrograms: column 0 real clips, column 1 generated clips, one row per clip."""
    real, fake = _clips(reference)[:max_clips], _clips(samples)[:max_clips]
    rows = max(len(real), len(fake))
    fig = new_figure(10, 0.8 + 1.35 * rows)
    if title:
        fig.suptitle(title)
    axes = np.atleast_2d(fig.subplots(rows, 2, sharex=True, sharey=True, squeeze=False))
    image = None
    for col, (name, x) in enumerate((("real", real), ("generated", fake))):
        for r in range(rows):
            ax = axes[r, col]
            if r >= len(x):
                ax.axis("off")
                continue
            f, t, db = spectrogram_db(x[r], rate)
            image = ax.pcolormesh(t, f / 1000, db, vmin=DB_FLOOR, vmax=0, cmap="magma", shading="auto")
            if r == 0:
                ax.set_title(name)
            if col == 0:
                ax.set_ylabel("kHz")
        axes[-1, col].set_xlabel("time (s)")
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.6, label="dB (full-scale sine = 0)")
    return save(fig, path)


def plot_audio_reverse(snapshots, path, rate: int, title: str = "", *, n_times: int = 7, n_clips: int = 3):
    """The reverse process: columns = `n_clips` clips, rows = `n_times` snapshots evenly spaced
    along the sampler's steps, noise at the top, the generated clip at the bottom.

    `snapshots`: a list of (t, x (N, 1, L) in data units), from `Run.reverse_snapshots`.
    Each row shares one y-range (the largest |x| of that row), printed on its left.
    """
    picks = np.unique(np.round(np.linspace(0, len(snapshots) - 1, min(n_times, len(snapshots)))).astype(int))
    n = min(n_clips, len(np.asarray(snapshots[0][1])))
    fig = new_figure(3.6 * n + 0.8, 0.6 + 1.0 * len(picks))
    if title:
        fig.suptitle(title)
    axes = np.atleast_2d(fig.subplots(len(picks), n, sharex=True, squeeze=False))
    for r, k in enumerate(picks):
        t, x = snapshots[k]
        x = _clips(x)[:n]
        top = float(np.nanmax(np.abs(x))) or 1.0
        color = SAMPLE_COLOR if k == len(snapshots) - 1 else "#555555"
        for c in range(n):
            ax = axes[r, c]
            ax.plot(np.arange(x.shape[1]) / rate, np.nan_to_num(x[c]), color=color, lw=0.4)
            ax.set_ylim(-1.05 * top, 1.05 * top)
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(f"t={float(t):.3f}\n|x|<{top:.2g}", fontsize=8, rotation=0, ha="right", va="center")
            if r == 0:
                ax.set_title(f"clip {c}", fontsize=9)
        if r == len(picks) - 1:
            for c in range(n):
                axes[r, c].set_xlabel("time (s)")
    return save(fig, path)
