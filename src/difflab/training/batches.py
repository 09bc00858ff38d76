"""One training minibatch: the permutation's next rows, random flips, labels with some dropped.

Every random choice comes from the run's own generator, in a fixed order (flips, then label
dropout, then the objective's times and noise), so a resumed run draws exactly what an
uninterrupted one would. Switches that are off draw nothing, so runs without them keep the
random stream they always had.
"""
from __future__ import annotations

import torch

from ..conditioning import drop_labels
from ..utils import append_dims


def random_hflip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Flip each image (B, C, H, W) left-right with probability 1/2."""
    flip = torch.rand(x.shape[0], generator=generator, device=x.device) < 0.5
    return torch.where(append_dims(flip, x.ndim), x.flip(-1), x)


def next_batch(x_train: torch.Tensor, y_train: torch.Tensor | None, idx: torch.Tensor, generator: torch.Generator,
               *, hflip: bool, label_dropout: float):
    """(x0 (B, ...), labels (B,) or None) for the rows `idx` of the training split."""
    x0 = x_train[idx]
    if hflip:
        x0 = random_hflip(x0, generator)
    y = None
    if y_train is not None:
        y = y_train[idx]
        if label_dropout > 0:
            y = drop_labels(y, label_dropout, generator)
    return x0, y
