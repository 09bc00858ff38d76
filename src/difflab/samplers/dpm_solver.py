"""DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", Algorithm 2): data prediction, multistep.

With lambda = log(alpha / sigma) = -log s and h_i = lambda_i - lambda_{i-1}, the exact solution
of the probability-flow ODE in the data-prediction form is

    x_i / alpha_i = (s_i / s_{i-1}) x_{i-1} / alpha_{i-1} + integral of e^{lambda} x0_hat d lambda,

and DPM-Solver++(2M) approximates x0_hat along the step by a line through the last two data
predictions. In y = x / alpha (see ode.py) one step reads

    y_i = (s_i / s_{i-1}) y_{i-1} + (1 - s_i / s_{i-1}) D_i,
    D_i = (1 + 1 / (2 r_i)) x0_hat_{i-1} - 1 / (2 r_i) x0_hat_{i-2},   r_i = h_{i-1} / h_i,

with D_1 = x0_hat_0 on the first step (first order: exactly DDIM with eta = 0). A step that ends
at sigma = 0 (lambda = +inf) returns the data prediction x0_hat itself; a grid that ends at
sigma_min > 0 (VE) is finished by the Tweedie step of `finish`. One evaluation per step.

`stochastic=True` is SDE-DPM-Solver++(2M) (Lu et al. 2022, section 5 and appendix; diffusers'
"sde-dpmsolver++"), the same data prediction D on the reverse SDE instead of the ODE:

    y_i = (s_i / s_{i-1})^2 y_{i-1} + (1 - (s_i / s_{i-1})^2) D_i + s_i sqrt(1 - (s_i / s_{i-1})^2) z_i,

fresh noise z_i at every step. Its first order is DDIM with eta = 1. The noise it adds each step
corrects part of the network's error where the ODE carries it to the end (Karras et al. 2022,
section 4: stochastic sampling helps imperfect denoisers).
"""
from __future__ import annotations

import math

import torch

from ..errors import DifflabError
from .common import finish, noise_like, predict, report
from .ode import ode_grid


@torch.no_grad()
def sample_dpm_solver(denoise_fn, process, x_T, ts, *, generator=None, callback=None, order: int = 2,
                      stochastic: bool = False):
    """DPM-Solver++ over the decreasing times `ts`.

    order: 2 is the multistep DPM-Solver++(2M); 1 is DPM-Solver++(1), identical to DDIM (eta = 0).
    stochastic: SDE-DPM-Solver++ (see above; order 1 is DDIM with eta = 1), its noise drawn from
    `generator` (unused by the deterministic solver; it keeps the common signature).
    """
    if order not in (1, 2):
        raise DifflabError(f"dpm-solver order must be 1 or 2, got {order!r}")
    times, alphas, ratios = ode_grid(process, ts)
    if ratios[0] <= 0:
        raise DifflabError("dpm-solver decodes from noise: its first time must have sigma > 0")
    y = x_T / alphas[0]
    x0_prev, h_prev = None, None
    for i in range(len(times) - 1):
        eps = predict(denoise_fn, process, alphas[i] * y, times[i]).eps
        x0_hat = y - ratios[i] * eps                                  # data prediction
        report(callback, i, times[i], alphas[i] * y, x0_hat)
        if ratios[i + 1] == 0:                                        # lambda = +inf: the step lands on x0_hat
            y = x0_hat
            continue
        h = math.log(ratios[i] / ratios[i + 1])                       # lambda_{i+1} - lambda_i
        if order == 1 or x0_prev is None:
            D = x0_hat                                                # first order (DDIM)
        else:
            r = h_prev / h
            D = (1 + 0.5 / r) * x0_hat - (0.5 / r) * x0_prev          # linear extrapolation in lambda
        ratio = ratios[i + 1] / ratios[i]                             # e^{-h}
        if stochastic:
            y = ratio**2 * y + (1 - ratio**2) * D
            y = y + ratios[i + 1] * math.sqrt(1 - ratio**2) * noise_like(y, generator)
        else:
            y = ratio * y + (1 - ratio) * D
        x0_prev, h_prev = x0_hat, h
    return finish(denoise_fn, process, alphas[-1] * y, ts, callback, len(times) - 1)


__all__ = ["sample_dpm_solver"]
