"""Probability-flow ODE solvers: Euler and Heun (Karras et al. 2022, Algorithm 1, deterministic).

The probability-flow ODE of x_t = alpha(t) x0 + sigma(t) eps takes one form for every process
in the scaled state y = x / alpha and the noise ratio s = sigma / alpha (EDM's sigma):

    dy/ds = eps_hat(alpha(t) y, t),   t = t(s),

because p(y; s) is the data convolved with N(0, s^2 I) whatever the schedule (Song et al. 2021,
Karras et al. 2022 eq. 4; Lu et al. 2022 eq. 3.3 after the change of variables). The denoised
estimate is x0_hat = y - s eps_hat. The solvers step in s between the noise ratios of the
given times and return x = alpha y; a grid that ends at a time with sigma > 0 (VE's sigma_min)
is finished by one Tweedie step (`finish`), counted as one more network evaluation.

Run with the times increasing, Euler and Heun integrate the ODE forwards (data -> noise).
"""
from __future__ import annotations

import torch

from .common import finish, predict, report


def ode_grid(process, ts):
    """(times, alphas, noise ratios) of the grid as Python floats (float64 arithmetic)."""
    times = [float(t) for t in ts]
    alphas = [float(process.alpha(t)) for t in times]
    ratios = [float(process.noise_ratio(t)) for t in times]
    return times, alphas, ratios


@torch.no_grad()
def sample_euler(denoise_fn, process, x_T, ts, *, generator=None, callback=None):
    """Euler steps of dy/ds = eps_hat: y <- y + (s_next - s) eps_hat. One evaluation per step.

    This is DDIM with eta = 0 written in (y, s): the same update on the same times.
    `generator` is unused (the sampler is deterministic); it keeps the common signature.
    """
    times, alphas, ratios = ode_grid(process, ts)
    y = x_T / alphas[0]
    for i in range(len(times) - 1):
        eps = predict(denoise_fn, process, alphas[i] * y, times[i]).eps
        report(callback, i, times[i], alphas[i] * y, y - ratios[i] * eps)
        y = y + (ratios[i + 1] - ratios[i]) * eps
    return finish(denoise_fn, process, alphas[-1] * y, ts, callback, len(times) - 1)


@torch.no_grad()
def sample_heun(denoise_fn, process, x_T, ts, *, generator=None, callback=None):
    """Heun's second-order method (Karras et al. 2022, Algorithm 1 with S_churn = 0).

    Each step takes an Euler step to s_next, evaluates the slope there and averages the two
    slopes; a step that ends at s = 0 (VP's last step) stays first order, because eps_hat is
    undefined at zero noise. Evaluations: 2 per step, minus 1 when the grid ends at s = 0.
    """
    times, alphas, ratios = ode_grid(process, ts)
    y = x_T / alphas[0]
    for i in range(len(times) - 1):
        h = ratios[i + 1] - ratios[i]
        eps = predict(denoise_fn, process, alphas[i] * y, times[i]).eps     # slope at the start
        report(callback, i, times[i], alphas[i] * y, y - ratios[i] * eps)
        y_euler = y + h * eps                                        # Euler predictor
        if ratios[i + 1] == 0:
            y = y_euler
            continue
        eps_next = predict(denoise_fn, process, alphas[i + 1] * y_euler, times[i + 1]).eps   # slope at the end
        y = y + 0.5 * h * (eps + eps_next)                           # trapezoidal corrector
    return finish(denoise_fn, process, alphas[-1] * y, ts, callback, len(times) - 1)


__all__ = ["sample_euler", "sample_heun", "ode_grid"]
