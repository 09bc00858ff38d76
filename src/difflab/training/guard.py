"""Divergence guard: which training steps have gone bad.

The rule: a step is bad when its loss or its gradient norm is not finite, or when its loss
exceeds GROWTH times the run's lowest loss level. The level starts at the first step's loss
(the untrained network's) and comes down to the median of the last WINDOW losses whenever
that is lower (once MIN_SEEN are known). A healthy diffusion loss starts near its untrained
value, falls and levels off; single batches stray from the level by a few times (their noise
levels are drawn at random), never by four orders of magnitude. A diverging run (lr=10) climbs
steadily, so a running median would climb with it; the lowest level stays where training was
last healthy. A median, not a mean or a minimum, so that single batches do not set the level.
"""
from __future__ import annotations

import math
import statistics
from collections import deque

WINDOW = 100       # consecutive losses whose median is the loss level
GROWTH = 1e4       # a loss this many times the lowest level is a divergence
MIN_SEEN = 20      # losses needed before a level is taken


def recent_losses(saved: list[float] | None = None) -> deque:
    """The window of recent losses, optionally restored from a checkpoint."""
    return deque(saved or [], maxlen=WINDOW)


def lowest_level(recent: deque, lowest: float | None) -> float:
    """The run's lowest loss level, after the latest loss joined `recent`."""
    if lowest is None:
        return recent[-1]                          # the first step: the untrained network's loss
    if len(recent) < MIN_SEEN:
        return lowest
    return min(lowest, statistics.median(recent))


def step_problem(loss: float, grad_norm: float, lowest: float | None) -> str | None:
    """What is wrong with a step whose loss and gradient norm are these, or None when nothing is."""
    if not math.isfinite(loss):
        return f"the loss is {loss}"
    if not math.isfinite(grad_norm):
        return f"the gradient norm is {grad_norm}"
    if lowest is not None and lowest > 0 and loss > GROWTH * lowest:
        return f"the loss {loss:.3g} is over {GROWTH:g} times the run's lowest loss level {lowest:.3g}"
    return None
