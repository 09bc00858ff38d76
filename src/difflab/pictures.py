"""The pictures of a finished training run: its data split and its losses. Samples and the
reverse process are drawn by the run's kind (`run.hooks.plot_samples`, `run.hooks.plot_reverse`)."""
from __future__ import annotations

import json
from pathlib import Path

from . import viz
from .run import load


def plot_training(run_path) -> list[Path]:
    """dataset.png (train/test) and losses.png (train and test loss per epoch) in the run folder."""
    run = load(run_path)
    path = Path(run_path)
    ds = run.dataset
    out = [run.hooks.plot_split(ds, path / "dataset.png")]
    history = json.loads((path / "history.json").read_text())
    if history["epoch"]:
        out.append(viz.plot_losses(history, path / "losses.png",
                                   title=f"{ds.name} / {run.config.method}: loss per epoch"))
    return [Path(p) for p in out]
