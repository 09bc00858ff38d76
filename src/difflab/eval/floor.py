"""The noise floor of a two-sample statistic: what it reads when nothing is wrong.

Two finite samples of the SAME distribution never give a distance of exactly 0 (the MMD
estimate even scatters around it). The floor is the statistic between independent pairs of
reference samples drawn the same way, with the same sizes, as the comparison it is read
against; a value at or below the floor's 95th percentile cannot be told apart from sampling
noise at this sample size.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import DifflabError


def noise_floor(metric: Callable, draw_x: Callable, draw_y: Callable, rng: np.random.Generator,
                n_pairs: int = 10) -> dict:
    """Evaluate `metric(draw_x(rng), draw_y(rng), rng)` on `n_pairs` independent pairs.

    draw_x, draw_y: rng -> array (N, ...), each call an independent draw.
    Returns {"median": float, "p95": float (numpy percentile 95, linear interpolation),
    "values": list of n_pairs floats, in draw order}."""
    if n_pairs < 1:
        raise DifflabError(f"n_pairs must be at least 1, got {n_pairs}")
    values = []
    for _ in range(n_pairs):
        x = draw_x(rng)
        y = draw_y(rng)
        values.append(float(metric(x, y, rng)))
    arr = np.asarray(values)
    return {"median": float(np.median(arr)), "p95": float(np.percentile(arr, 95)), "values": values}
