"""Sampling time grids: each sampler's default grid, and the noise-ratio spacing of Karras et al.

Times are continuous t in [0, 1] (0 = data), decreasing from t = 1 (noise). The ODE solvers
work in the noise ratio s = sigma / alpha (EDM's sigma); `t_from_noise_ratio` maps s back to t
for any process by bisection on the monotone `process.noise_ratio(t)`, so no sampler needs to
know whether it faces a VP or a VE process.
"""
from __future__ import annotations

import math

import torch

from ..errors import DifflabError, unknown_name
from .registry import get_spec

DEFAULT_ODE_STEPS = 50          # solver steps of euler / heun / dpm-solver when none are given
KARRAS_RHO = 7.0                # Karras et al. 2022: rho = 7 crowds the steps towards small noise

# the registry's noise-ratio grids (see registry.py) and their rho
ODE_RHO = {"karras": KARRAS_RHO, "log": math.inf}
# The grids a run may put its Gaussian sampler on (`sample_grid`): the process's own levels, or a
# noise-ratio grid. The ancestral sampler's error is first order in the step of log sigma, so on a
# fine structure the linear-beta levels, whose first steps jump sigma by 45% and 24% (sigma = 0.010,
# 0.0145, 0.018), pile samples into the modes even with the exact score: gmm's mean true log-density
# -0.21 against the truth's -0.31 at 1000 levels, -0.28 on 1000 log-spaced steps (tests/samplers/
# test_grids.py; BENCHMARKS.md, "Where the ancestral sampler steps").
GRIDS = ("process", "karras", "log")
# Where the ODE grids of a variance-preserving process start: at the noise ratio s where the whole
# sample's signal-to-noise ratio d / s^2 (d values of unit scale) falls to ODE_START_SNR, if that is
# below s(1). Above it x_t is N(0, I) for every practical purpose (VP's prior holds at every large
# t), so steps spent there are wasted. On 2D data (s = 10 instead of DDPM's s(1) = 157, where
# alpha^2 = 1% of the variance is signal) DPM-Solver++(2M) at 10 NFE goes from 1.5x the noise
# floor's p95 in energy distance to 0.4x on the 2D study's gmm DDPM model (two draws; 0.95x in
# the single draw of BENCHMARKS.md, "Samplers", where it is now within the floor on all six
# models), and pinwheel and checkerboard improve too. Images (d >= 784: s = 198 > s(1)) keep t = 1.
ODE_START_SNR = 0.02


def smallest_level_time(process) -> float:
    """The smallest time of the process's own levels that still carries noise.

    VP: t = 1 / T (the first DDPM step; its grid ends at t = 0 where sigma = 0);
    VE: t = 0, where sigma = sigma_min > 0. Below it the network was never trained.
    """
    ts = process.default_times(None)
    positive = [float(t) for t in ts if float(process.sigma(float(t))) > 0]
    return min(positive)


def t_from_noise_ratio(process, s) -> torch.Tensor:
    """Invert s = sigma(t) / alpha(t) (increasing in t) by bisection, float64, any shape.

    Ratios below noise_ratio(0) map to t = 0 and above noise_ratio(1) to t = 1. 60 halvings
    of [0, 1] reach float64 resolution, so the result is exact to rounding for any process
    (for VP it agrees with `t_from_sigma(s / sqrt(1 + s^2))`, for VE with `t_from_sigma(s)`).
    """
    s = torch.as_tensor(s, dtype=torch.float64)
    lo, hi = torch.zeros_like(s), torch.ones_like(s)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        above = process.noise_ratio(mid) >= s
        hi = torch.where(above, mid, hi)
        lo = torch.where(above, lo, mid)
    return hi.clamp(0, 1)


_CACHE: dict = {}                # (process settings, grid settings) -> grid; processes are immutable


def karras_times(process, steps: int, rho: float = KARRAS_RHO, s_min: float | None = None,
                 s_max: float | None = None) -> torch.Tensor:
    """Karras et al. 2022 (eq. 5): `steps` transitions with noise ratios spaced as
    s_i = (s_max^(1/rho) + i / (n - 1) * (s_min^(1/rho) - s_max^(1/rho)))^rho;
    rho = math.inf gives its limit, log s evenly spaced (uniform in log-SNR).

    s_max = the noise ratio at the process's `top_time()` (1 unless cut short), s_min = noise_ratio
    at `smallest_level_time` (VP: the first DDPM level; VE: sigma_min). When the process reaches sigma = 0 at t = 0 (VP) the grid has
    `steps` positive levels followed by t = 0; otherwise (VE) it has `steps + 1` levels ending
    at s_min, and the sampler's final Tweedie step (`finish`) denoises from there.
    Returns a decreasing float64 tensor of times.
    """
    if not isinstance(steps, int) or steps < 1:
        raise DifflabError(f"the number of sampling steps must be a positive integer, got {steps!r}")
    if not rho > 0:
        raise DifflabError(f"rho must be positive, got {rho}")
    try:                                                    # the bisection costs ~0.1 s: remember grids
        key = (type(process).__name__, repr(sorted(process.config().items())), steps, rho, s_min, s_max)
    except NotImplementedError:
        key = None
    if key is not None and key in _CACHE:
        return _CACHE[key].clone()
    ts = _karras_times(process, steps, rho, s_min, s_max)
    if key is not None and len(_CACHE) < 256:
        _CACHE[key] = ts.clone()
    return ts


def _karras_times(process, steps, rho, s_min, s_max):
    t_low = smallest_level_time(process) if s_min is None else None
    s_max = process.top_ratio() if s_max is None else float(s_max)
    s_min = float(process.noise_ratio(t_low)) if s_min is None else float(s_min)
    if not 0 < s_min < s_max:
        raise DifflabError(f"need 0 < s_min < s_max, got s_min={s_min}, s_max={s_max}")
    to_zero = float(process.sigma(0.0)) == 0.0
    n = steps if to_zero else steps + 1                      # positive noise levels
    if n == 1:
        ratios = torch.tensor([s_max], dtype=torch.float64)
    else:
        ramp = torch.linspace(0, 1, n, dtype=torch.float64)
        if math.isinf(rho):                                  # the limit: evenly spaced in log s
            ratios = torch.exp(math.log(s_max) + ramp * (math.log(s_min) - math.log(s_max)))
        else:
            ratios = (s_max ** (1 / rho) + ramp * (s_min ** (1 / rho) - s_max ** (1 / rho))) ** rho
    ts = t_from_noise_ratio(process, ratios)
    if s_max == process.top_ratio():
        ts[0] = process.top_time()                          # exact ends, free of bisection rounding
    if t_low is not None and n > 1:
        ts[-1] = t_low
    if to_zero:
        ts = torch.cat([ts, torch.zeros(1, dtype=torch.float64)])
    return ts


def ode_start_ratio(process, dim: int | None) -> float:
    """The noise ratio where the ODE grids start: s(1), or for a variance-preserving process
    with data of `dim` values the smaller sqrt(dim / ODE_START_SNR) (see ODE_START_SNR)."""
    s1 = process.top_ratio()
    if dim is None or not getattr(process, "variance_preserving", False):
        return s1
    return min(s1, math.sqrt(dim / ODE_START_SNR))


def sampler_times(process, sampler: str, steps: int | None = None, s_max: float | None = None,
                  dim: int | None = None, grid: str | None = None) -> torch.Tensor:
    """The time grid of a sampler: its `grid` in the registry unless `grid` names another
    ("process", "karras" or "log"; see GRIDS). The process's own levels for the discrete-time
    samplers; Karras or log spacing for the ODE solvers (DEFAULT_ODE_STEPS when `steps` is None),
    from noise ratio `s_max` (default: `ode_start_ratio(process, dim)`, the ratio of t = 1 unless a
    VP process's data have few dimensions `dim`). A discrete-time sampler put on a noise-ratio
    grid takes as many steps as the process has levels when `steps` is None."""
    own = get_spec(sampler).grid
    grid = own if grid is None else check_grid(grid)
    if grid == "cells":                                  # one step per cell unless told
        return process.default_times(dim if steps is None else steps)
    if grid not in ODE_RHO:
        return process.default_times(steps)
    if steps is None:
        steps = DEFAULT_ODE_STEPS if own in ODE_RHO else len(process.default_times(None)) - 1
    if s_max is None:
        s_max = ode_start_ratio(process, dim)
    return karras_times(process, steps, rho=ODE_RHO[grid], s_max=s_max)


def check_grid(grid) -> str:
    """A grid name a run may choose (`sample_grid`), else a one-line DifflabError."""
    if grid not in GRIDS:
        raise unknown_name("sample_grid", str(grid), GRIDS)
    return grid


def is_ode_grid(sampler: str) -> bool:
    """Whether a sampler steps on a noise-ratio grid (the ODE solvers) rather than the process's levels."""
    return get_spec(sampler).grid in ODE_RHO


__all__ = ["karras_times", "sampler_times", "ode_start_ratio", "is_ode_grid", "t_from_noise_ratio",
           "smallest_level_time", "DEFAULT_ODE_STEPS"]
