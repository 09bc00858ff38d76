"""What every sampler shares: calling the network at a time, the posterior step, the end.

A `denoise_fn(x, t)` takes x_t (B, ...) and times t (B,) and returns eps_hat with x's
shape (the network's noise prediction). Samplers call it only through `predict`, and read
x0_hat and the score off the process (`x0_from_eps`, `score_from_eps`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..utils import append_dims


@dataclass(frozen=True)
class Prediction:
    """The network's eps_hat at (x, t), and what the process derives from it."""
    process: object
    x: torch.Tensor             # x_t, (B, ...)
    t: torch.Tensor             # (B,) the times the network saw
    eps: torch.Tensor           # eps_hat, x's shape

    @property
    def x0_hat(self) -> torch.Tensor:
        return self.process.x0_from_eps(self.x, self.t, self.eps)

    @property
    def score(self) -> torch.Tensor:
        return self.process.score_from_eps(self.x, self.t, self.eps)


def predict(denoise_fn, process, x, t) -> Prediction:
    """The network at the scalar time t: the one place where samplers call `denoise_fn`.

    t is broadcast to (B,), in float64 for float64 states (exact oracles then see the exact
    time) and in float32 otherwise (what the networks take).
    """
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    tb = torch.full((x.shape[0],), float(t), dtype=dtype, device=x.device)
    return Prediction(process, x, tb, denoise_fn(x, tb))


def run_steps(denoise_fn, process, x, ts, callback, update):
    """The loop of the samplers that go from x_t to x_s given the prediction at t.

    For consecutive times t > s of `ts`: predict at t, report, x = update(x, eps_hat, x0_hat,
    alpha_t, sigma_t, alpha_s, sigma_s); then `finish`.
    """
    for i in range(len(ts) - 1):
        t, s = float(ts[i]), float(ts[i + 1])
        p = predict(denoise_fn, process, x, t)
        x0_hat = p.x0_hat
        report(callback, i, t, x, x0_hat)
        x = update(x, p.eps, x0_hat, *coeffs(process, t, s))
    return finish(denoise_fn, process, x, ts, callback, len(ts) - 1)


def coeffs(process, t, s):
    """alpha_t, sigma_t, alpha_s, sigma_s as floats for a step from t to s < t."""
    return (float(process.alpha(float(t))), float(process.sigma(float(t))),
            float(process.alpha(float(s))), float(process.sigma(float(s))))


def posterior(x, x0_hat, a_t, s_t, a_s, s_s):
    """Mean and variances of q(x_s | x_t, x0) for x_t = a x0 + s eps (any VP or VE process).

    With a_ts = a_t / a_s and v_ts = s_t^2 - a_ts^2 s_s^2 (the transition's variance):
    mean = a_ts s_s^2 / s_t^2 x_t + a_s v_ts / s_t^2 x0, and the variance is either
    v_ts s_s^2 / s_t^2 ("small", DDPM's beta-tilde) or v_ts ("large", DDPM's beta).
    """
    a_ts = a_t / a_s
    v_ts = max(s_t**2 - a_ts**2 * s_s**2, 0.0)
    mean = (a_ts * s_s**2 / s_t**2) * x + (a_s * v_ts / s_t**2) * x0_hat
    return mean, v_ts * s_s**2 / s_t**2, v_ts


def report(callback, i, t, x, x0_hat):
    if callback is not None:
        callback({"i": i, "t": float(t), "x": x, "x0_hat": x0_hat})


def finish(denoise_fn, process, x, ts, callback=None, i=None):
    """Return x0_hat at the last time when it still carries noise (VE ends at sigma_min > 0).

    Nothing is done when `ts` increases (running a deterministic sampler forwards encodes data).
    """
    t_last = ts[-1]
    if float(process.sigma(float(t_last))) <= 0 or float(ts[-1]) > float(ts[0]):
        return x
    x0_hat = predict(denoise_fn, process, x, t_last).x0_hat
    report(callback, i, 0.0, x0_hat, x0_hat)
    return x0_hat


def noise_like(x, generator):
    return torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)


class CountingDenoiser:
    """Wraps a denoise_fn and counts network evaluations per sample (NFE)."""

    def __init__(self, fn):
        self.fn, self.nfe = fn, 0

    def __call__(self, x, t):
        self.nfe += 1
        return self.fn(x, t)


__all__ = ["Prediction", "predict", "run_steps", "coeffs", "posterior", "report", "finish", "noise_like", "CountingDenoiser", "append_dims"]
