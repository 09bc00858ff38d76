"""Ancestral sampling (Ho et al. 2020): draw x_s ~ q(x_s | x_t, x0 = x0_hat) step by step."""
from __future__ import annotations

import torch

from ..errors import unknown_name
from .common import coeffs, finish, noise_like, posterior, predict, report

VARIANCES = ("small", "large")


@torch.no_grad()
def sample_ddpm(denoise_fn, process, x_T, ts, *, generator=None, callback=None, variance: str = "small"):
    """DDPM's reverse process over the decreasing times `ts`.

    variance: "small" is the posterior variance beta-tilde, "large" is beta (both from Ho et al.).
    No noise is added on a step that ends at sigma = 0.
    """
    if variance not in VARIANCES:
        raise unknown_name("variance", variance, VARIANCES)
    x = x_T
    for i in range(len(ts) - 1):
        t, s = float(ts[i]), float(ts[i + 1])
        eps, x0_hat = predict(denoise_fn, process, x, t)
        report(callback, i, t, x, x0_hat)
        a_t, s_t, a_s, s_s = coeffs(process, t, s)
        mean, var_small, var_large = posterior(x, x0_hat, a_t, s_t, a_s, s_s)
        var = var_small if variance == "small" else var_large
        x = mean + (var**0.5) * noise_like(x, generator) if s_s > 0 else mean
    return finish(denoise_fn, process, x, ts, callback, len(ts) - 1)
