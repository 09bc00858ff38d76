"""The noise process: x_t = alpha(t) * x0 + sigma(t) * eps, with t in [0, 1] and 0 the data.

Both cases of the pipeline are one interface:

- VP (DDPM): alpha^2 + sigma^2 = 1, from a discrete beta schedule (`vp.py`);
- VE (NCSN-style DSM): alpha = 1, sigma a geometric ladder (`ve.py`).

A process is immutable. Its tables are float64; `alpha`/`sigma` accept a float or a
tensor of times and return float64 tensors on the times' device (callers cast).
"""
from __future__ import annotations

import math

import torch

from ..utils import append_dims


class Process:
    """Common behaviour; subclasses define `alpha`, `sigma`, `train_times`, `default_times`."""

    name = "process"
    variance_preserving = False    # True when alpha(t)^2 + sigma(t)^2 = 1 for every t

    # -- the two functions that define the process ------------------------------------
    def alpha(self, t) -> torch.Tensor:
        raise NotImplementedError

    def sigma(self, t) -> torch.Tensor:
        raise NotImplementedError

    # -- derived quantities -----------------------------------------------------------
    def noise_ratio(self, t) -> torch.Tensor:
        """sigma(t) / alpha(t): the noise level of x_t / alpha(t) (EDM's sigma)."""
        return self.sigma(t) / self.alpha(t)

    def marginal(self, x0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x_t = alpha(t) x0 + sigma(t) eps for per-sample times t of shape (B,)."""
        a = append_dims(self.alpha(t), x0.ndim).to(x0.dtype)
        s = append_dims(self.sigma(t), x0.ndim).to(x0.dtype)
        return a * x0 + s * eps

    def prior_sample(self, shape, generator: torch.Generator | None = None, device="cpu") -> torch.Tensor:
        """x_T ~ N(0, sigma(1)^2 I), the distribution sampling starts from."""
        s1 = float(self.sigma(1.0))
        return s1 * torch.randn(shape, generator=generator, device=device)

    def prior_logp(self, x: torch.Tensor) -> torch.Tensor:
        """log N(x; 0, sigma(1)^2 I) per sample, shape (B,)."""
        s1 = float(self.sigma(1.0))
        d = x[0].numel()
        sq = x.flatten(1).double().pow(2).sum(1)
        return -0.5 * sq / s1**2 - d * math.log(s1) - 0.5 * d * math.log(2 * math.pi)

    # -- conversions between eps, x0 and the score --------------------------------------
    def x0_from_eps(self, x_t, t, eps):
        a = append_dims(self.alpha(t), x_t.ndim).to(x_t.dtype)
        s = append_dims(self.sigma(t), x_t.ndim).to(x_t.dtype)
        return (x_t - s * eps) / a

    def eps_from_x0(self, x_t, t, x0):
        a = append_dims(self.alpha(t), x_t.ndim).to(x_t.dtype)
        s = append_dims(self.sigma(t), x_t.ndim).to(x_t.dtype)
        return (x_t - a * x0) / s

    def score_from_eps(self, x_t, t, eps):
        """score = grad log p_t(x_t) = -eps / sigma(t)."""
        return -eps / append_dims(self.sigma(t), x_t.ndim).to(x_t.dtype)

    def eps_from_score(self, x_t, t, score):
        return -score * append_dims(self.sigma(t), x_t.ndim).to(x_t.dtype)

    # -- times ------------------------------------------------------------------------
    def train_times(self, batch: int, generator: torch.Generator | None = None, device="cpu") -> torch.Tensor:
        """Times at which training corrupts the data, shape (batch,)."""
        raise NotImplementedError

    def default_times(self, steps: int | None = None) -> torch.Tensor:
        """A decreasing float64 grid of sampling times from 1 to the process's last level."""
        raise NotImplementedError

    def t_from_sigma(self, sigma) -> torch.Tensor:
        raise NotImplementedError

    def top_time(self) -> float:
        """The largest time training draws and sampling starts from (1 unless the process is cut short)."""
        return 1.0

    def top_ratio(self) -> float:
        """The noise ratio sigma / alpha at `top_time()`."""
        return float(self.noise_ratio(self.top_time()))

    def config(self) -> dict:
        """The settings that rebuild this process (saved with a run)."""
        raise NotImplementedError


def as_time(t) -> torch.Tensor:
    """A float64 tensor of times (a float becomes a 0-dim tensor)."""
    if isinstance(t, torch.Tensor):
        return t.to(torch.float64)
    return torch.tensor(t, dtype=torch.float64)
