"""Ancestral sampling (Ho et al. 2020): draw x_s ~ q(x_s | x_t, x0 = x0_hat) step by step."""
from __future__ import annotations

import torch

from ..errors import unknown_name
from .common import noise_like, posterior, run_steps

VARIANCES = ("small", "large")


@torch.no_grad()
def sample_ddpm(denoise_fn, process, x_T, ts, *, generator=None, callback=None, variance: str = "small"):
    """DDPM's reverse process over the decreasing times `ts`.

    variance: "small" is the posterior variance beta-tilde, "large" is beta (both from Ho et al.).
    No noise is added on a step that ends at sigma = 0.
    """
    if variance not in VARIANCES:
        raise unknown_name("variance", variance, VARIANCES)

    def step(x, eps, x0_hat, a_t, s_t, a_s, s_s):
        mean, var_small, var_large = posterior(x, x0_hat, a_t, s_t, a_s, s_s)
        var = var_small if variance == "small" else var_large
        return mean + (var**0.5) * noise_like(x, generator) if s_s > 0 else mean

    return run_steps(denoise_fn, process, x_T, ts, callback, step)
