"""One training minibatch: the permutation's next rows, random flips or board symmetries, labels
with some dropped.

Every random choice comes from the run's own generator, in a fixed order (flips or symmetries,
then label dropout, then the objective's times and noise), so a resumed run draws exactly what an
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


def random_symmetry(x: torch.Tensor, symmetries: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each row of x (B, cells, ...) with its cells rearranged by one of the `symmetries` (S, cells,
    on x's device: training/setup.py puts them there once), drawn uniformly per row."""
    pick = torch.randint(len(symmetries), (x.shape[0],), generator=generator, device=x.device)
    perm = symmetries[pick]                                                # (B, cells)
    return torch.gather(x, 1, append_dims(perm, x.ndim).expand_as(x))


def next_batch(x_train: torch.Tensor, y_train: torch.Tensor | None, idx: torch.Tensor, generator: torch.Generator,
               *, hflip: bool, label_dropout: float, symmetries: torch.Tensor | None = None):
    """(x0 (B, ...), labels (B,) or None) for the rows `idx` of the training split."""
    x0 = x_train[idx]
    if hflip:
        x0 = random_hflip(x0, generator)
    if symmetries is not None:
        x0 = random_symmetry(x0, symmetries, generator)
    y = None
    if y_train is not None:
        y = y_train[idx]
        if label_dropout > 0:
            y = drop_labels(y, label_dropout, generator)
    return x0, y
