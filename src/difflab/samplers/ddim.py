"""DDIM (Song, Meng & Ermon 2021): a non-Markovian reverse process; deterministic at eta = 0."""
from __future__ import annotations

import torch

from .common import noise_like, posterior, run_steps


@torch.no_grad()
def sample_ddim(denoise_fn, process, x_T, ts, *, generator=None, callback=None, eta: float = 0.0):
    """x_s = alpha_s x0_hat + sqrt(sigma_s^2 - c^2) eps_hat + c z, with c = eta * the posterior std.

    eta = 0 is deterministic (and the first-order solver of the probability-flow ODE);
    eta = 1 matches ancestral sampling with the "small" variance.
    """

    def step(x, eps, x0_hat, a_t, s_t, a_s, s_s):
        c2 = eta**2 * posterior(x, x0_hat, a_t, s_t, a_s, s_s)[1]       # c^2, the added noise's variance
        x = a_s * x0_hat + max(s_s**2 - c2, 0.0) ** 0.5 * eps
        return x + c2**0.5 * noise_like(x, generator) if c2 > 0 else x

    return run_steps(denoise_fn, process, x_T, ts, callback, step)
