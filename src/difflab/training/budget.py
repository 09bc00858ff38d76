"""Training for a number of minutes: `train_minutes` plans the steps that fit.

A fixed step count takes 10 minutes on one machine and 14 on a slower one, and a run cut short by
`max_minutes` stops with its learning rate still high. With `train_minutes: M`, the loop times its
first steps and cuts `steps` (then an upper bound) to what fits in M minutes, so the cosine decay
ends on time on any machine.

The plan is made at step `plan_step(cfg)`, inside the learning-rate warm-up, where the learning
rate does not depend on `steps`: the planned run is therefore exactly the run that `steps:
<planned>` would have trained from the start, and config.json saves it that way (`steps` the
planned count, the plan beside it), so `--resume` continues it exactly and the saved config
repeats it. The timing covers this call's steps from its second one (the first holds one-off
work: allocation, compilation) up to the plan step; SAFETY leaves room for what the timed steps
did not hold (epoch ends' test losses, checkpoints, a busier machine). A plan that still runs over
is stopped by `max_minutes` when that is set.
"""
from __future__ import annotations

import math

from ..errors import DifflabError

PLAN_STEPS = 50       # plan at this step at the latest (earlier when the warm-up is shorter)
MIN_WARMUP = 5        # warm-up steps needed: one to skip and at least 3 to time, before the plan
SAFETY = 0.92         # share of the remaining minutes planned for steps (as benchmarks/common.train_within)


def plan_step(cfg) -> int:
    """The step at which a run with `train_minutes` plans its steps: within the warm-up."""
    return min(PLAN_STEPS, cfg.lr_warmup)


def check_budget(cfg) -> None:
    """`train_minutes` needs a warm-up long enough to time steps inside it."""
    if cfg.train_minutes is not None and cfg.lr_warmup < MIN_WARMUP:
        raise DifflabError(f"train_minutes plans the steps within the learning-rate warm-up: lr_warmup must be at "
                           f"least {MIN_WARMUP}, got {cfg.lr_warmup}")


def planned_steps(minutes: float, at_step: int, seconds_so_far: float, seconds_per_step: float, most: int) -> int:
    """Steps in all for a run that has trained `at_step` steps in `seconds_so_far` seconds at
    `seconds_per_step`: those done plus SAFETY of the remaining time's worth, at least `at_step`
    and at most `most` (the configured steps)."""
    if not seconds_per_step > 0:
        raise DifflabError(f"cannot plan steps from a step time of {seconds_per_step} s")
    left = max(0.0, 60.0 * minutes - seconds_so_far)
    return int(min(most, max(at_step, at_step + math.floor(SAFETY * left / seconds_per_step))))
