"""`difflab likelihood` for a categorical (masked diffusion) run: the NLL bound of its ELBO.

The masked run's negative ELBO (`objectives.masked.masked_nll_bound`, MDLM's bound summed over
the number of masked cells, one network call per cell) bounds -log p_theta(x) of the model's
reverse process from above; averaged over `repeats` random maskings per point it is reported in
nats per point and in bits per cell (nats / (cells ln 2)), with its standard error over the points.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from .arrays import check_samples
from .errors import DifflabError
from .objectives.masked import masked_nll_bound


@torch.no_grad()
def run_nll_bound(run, x_raw: np.ndarray, *, repeats: int = 1, seed: int = 0, batch_size: int = 1000) -> dict:
    """The NLL bound of raw points (N, *run.shape) in the data's values under a categorical run.

    Returns a JSON-ready dict: nll_nats (mean bound per point), nll_se (its standard error over
    the points), bits_per_cell and bits_per_cell_se, n, cells, repeats, nfe_per_point, seconds."""
    if run.categories is None:
        raise DifflabError(f"{run.path} is not a categorical run; its likelihood comes from the probability-flow ODE")
    if not isinstance(repeats, int) or repeats < 1:
        raise DifflabError(f"--repeats must be a positive integer, got {repeats!r}")
    x_raw = check_samples(x_raw, run.shape, what="points")
    classes = run.categories.normalise(x_raw)          # a value outside the run's categories is an error
    cells = int(np.prod(run.shape))
    gen = torch.Generator(device=run.device).manual_seed(int(seed))
    start = time.perf_counter()
    parts = []
    for i in tqdm(range(0, len(classes), batch_size), desc="NLL bound", unit="batch", leave=False, disable=None):
        x0 = torch.from_numpy(classes[i:i + batch_size]).to(run.device)
        bound = sum(masked_nll_bound(run.net, run.process, x0, generator=gen) for _ in range(repeats)) / repeats
        parts.append(bound.cpu().numpy())
    nll = np.concatenate(parts)
    n, se = len(nll), float(nll.std(ddof=1) / math.sqrt(len(nll)))
    return {"nll_nats": float(nll.mean()), "nll_se": se, "bits_per_cell": float(nll.mean() / (cells * math.log(2))),
            "bits_per_cell_se": se / (cells * math.log(2)), "n": n, "cells": cells, "repeats": repeats,
            "nfe_per_point": cells * repeats, "seconds": time.perf_counter() - start}


__all__ = ["run_nll_bound"]
