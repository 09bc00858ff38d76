"""The pictures of one run: its data, its losses, its samples beside the truth, its reverse process."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import viz


def plot_split(ds, path) -> Path:
    """A dataset's train and test split side by side: points for vectors, the dataset's own
    picture (e.g. an image grid) for other kinds."""
    if ds.kind == "vector":
        return Path(viz.plot_dataset(ds.train, ds.test, path, title=f"{ds.name}: train and test"))
    from .viz._figure import new_figure, save

    fig = new_figure(10, 5.4)
    fig.suptitle(f"{ds.name}: train and test")
    for ax, (label, x) in zip(fig.subplots(1, 2), (("train", ds.train), ("test", ds.test))):
        ds.plot(ax, x)
        ax.set_title(f"{label} (N={len(x)})")
    return save(fig, path)


def plot_training(run_path) -> list[Path]:
    """dataset.png (train/test) and losses.png (train and test loss per epoch) in the run folder."""
    from .run import load

    run = load(run_path)
    path = Path(run_path)
    ds = run.dataset
    out = [plot_split(ds, path / "dataset.png")]
    history = json.loads((path / "history.json").read_text())
    if history["epoch"]:
        out.append(viz.plot_losses(history, path / "losses.png",
                                   title=f"{ds.name} / {run.config.method}: loss per epoch"))
    return [Path(p) for p in out]


def plot_samples(run, samples: np.ndarray, prefix) -> list[Path]:
    """<prefix>_vs_test.png and, for 1D/2D data, <prefix>_density.png (beside the true density)."""
    prefix = Path(prefix)
    ds = run.dataset
    name = f"{ds.name} / {run.config.method}"
    out = [viz.plot_samples_vs_reference(samples, ds.test, f"{prefix}_vs_test.png", title=f"{name}: samples beside the test set")]
    if ds.dim <= 2:
        log_prob = ds.log_prob if ds.has_log_prob else None
        out.append(viz.plot_density(samples, f"{prefix}_density.png", title=f"{name}: density of samples vs truth",
                                    log_prob=log_prob, reference=ds.test))
    else:
        out.append(viz.plot_pairwise(samples, ds.test, f"{prefix}_pairwise.png", title=f"{name}: pairwise marginals"))
    return [Path(p) for p in out]


def plot_reverse(run, out_dir, n: int = 2000, seed: int = 0, **sample_kw) -> list[Path]:
    """reverse.png (a strip of snapshots) and reverse.gif of the reverse process."""
    out_dir = Path(out_dir)
    snaps = run.reverse_snapshots(n, seed=seed, **sample_kw)
    title = f"{run.dataset.name} / {run.config.method}: reverse process ({run.config.sampler})"
    return [Path(viz.plot_reverse_strip(snaps, out_dir / "reverse.png", title=title)),
            Path(viz.save_reverse_gif(snaps, out_dir / "reverse.gif", title=title))]
