"""The pictures of one run: its data, its losses, its samples beside the truth, its reverse process."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import viz
from .viz import images as image_viz


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


def plot_samples(run, samples: np.ndarray, prefix, label: str | None = None) -> list[Path]:
    """<prefix>_vs_test.png and, for 1D/2D data, <prefix>_density.png (beside the true density);
    for images, <prefix>_vs_test.png is a grid of samples beside a grid of real test images.
    `label` names the samples in titles (default: "<dataset> / <method>")."""
    prefix = Path(prefix)
    ds = run.dataset
    name = label or f"{ds.name} / {run.config.method}"
    from .modality import modality

    own = modality(run.kind).plot_samples(run, samples, prefix)
    if own is not None:
        return [Path(p) for p in own]
    if run.kind == "image":
        return [Path(image_viz.plot_images_vs_reference(samples, ds.test, f"{prefix}_vs_test.png",
                                                        title=f"{name}: samples beside real test images"))]
    out = [viz.plot_samples_vs_reference(samples, ds.test, f"{prefix}_vs_test.png", title=f"{name}: samples beside the test set")]
    if ds.dim <= 2:
        log_prob = ds.log_prob if ds.has_log_prob else None
        out.append(viz.plot_density(samples, f"{prefix}_density.png", title=f"{name}: density of samples vs truth",
                                    log_prob=log_prob, reference=ds.test))
    else:
        out.append(viz.plot_pairwise(samples, ds.test, f"{prefix}_pairwise.png", title=f"{name}: pairwise marginals"))
    return [Path(p) for p in out]


def plot_reverse(run, out_dir, n: int = 2000, seed: int = 0, name: str = "reverse", snapshots=None,
                 **sample_kw) -> list[Path]:
    """<name>.png (a strip of snapshots) and <name>.gif of the reverse process (`sample_kw`:
    sampler, steps, ... as for `Run.sample`; default: the run's own sampler). `snapshots` from
    `Run.sample_with_snapshots` are drawn as they are instead of sampling again."""
    out_dir = Path(out_dir)
    if run.kind == "image":
        return plot_image_reverse(run, out_dir / name, n=min(n, 16), seed=seed, **sample_kw)
    snaps = snapshots if snapshots is not None else run.reverse_snapshots(n, seed=seed, **sample_kw)
    sampler = sample_kw.get("sampler") or run.config.sampler
    title = f"{run.dataset.name} / {run.config.method}: reverse process ({sampler})"
    return [Path(viz.plot_reverse_strip(snaps, out_dir / f"{name}.png", title=title)),
            Path(viz.save_reverse_gif(snaps, out_dir / f"{name}.gif", title=title))]


def image_sample_grid(run, samples: np.ndarray, path, labels=None) -> Path:
    """One PNG grid of image samples (one column per class when a label list cycles through classes)."""
    ncols = None
    if labels is not None and not isinstance(labels, int) and 2 <= len(set(labels)) <= 16:
        ncols = len(set(labels))
    title = f"{run.dataset_name} / {run.config.method}: {len(samples)} samples"
    return Path(image_viz.plot_image_grid(samples, path, title, ncols=ncols))


def plot_image_reverse(run, prefix, n: int = 8, seed: int = 0, **sample_kw) -> list[Path]:
    """<prefix>.png (rows = samples, columns = times) and <prefix>.gif of an image run's reverse process."""
    prefix = Path(prefix)
    snaps = run.reverse_snapshots(n, seed=seed, **sample_kw)
    sampler = sample_kw.get("sampler") or run.config.sampler
    title = f"{run.dataset_name} / {run.config.method}: reverse process ({sampler})"
    return [Path(image_viz.plot_reverse_grid(snaps, f"{prefix}.png", title)),
            Path(image_viz.save_reverse_gif(snaps, f"{prefix}.gif", title))]


def plot_denoising(rows, path, title: str) -> Path:
    """A strip of labelled image rows (clean / noisy / restored)."""
    return Path(image_viz.plot_image_rows(rows, path, title))
