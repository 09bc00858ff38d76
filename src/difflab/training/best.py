"""`keep: best`: sample with the EMA weights of the epoch whose test loss was lowest.

On a finite training set a network keeps lowering its training loss after its held-out loss has
turned up: it learns the training points themselves (on the 2000-point 2D splits, the input
Fourier features carve the density around each point; BENCHMARKS.md, "Exact likelihood"). The
held-out split can say where that starts. With `keep: best` the loop copies the EMA weights at
every epoch whose EMA test loss is the lowest so far, and the run samples with that copy;
training itself is unchanged, bit for bit, so the final weights stay in the checkpoint.

The test loss is the run's fixed draw of test items, times and noise (setup.py), so epochs are
compared on the same draw. The copy goes into every checkpoint, so a resumed run keeps the
same best epoch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

KEEP = ("last", "best")


@dataclass
class Best:
    """The lowest EMA test loss so far, the step it was reached at, and the EMA weights then."""
    loss: float
    step: int
    weights: dict

    def to_json(self) -> dict:
        return {"step": self.step, "test_loss_ema": self.loss}


def copy_weights(net: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def update_best(best: Best | None, loss: float, step: int, ema_net: torch.nn.Module) -> Best | None:
    """The new Best when `loss` is lower than the best so far (or there is none yet), else `best`.
    A non-finite loss never becomes the best."""
    if not math.isfinite(loss):
        return best
    if best is None or loss < best.loss:
        return Best(loss=loss, step=step, weights=copy_weights(ema_net))
    return best
