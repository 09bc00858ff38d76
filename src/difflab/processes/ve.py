"""The variance-exploding process of NCSN-style denoising score matching.

alpha(t) = 1 and sigma(t) = sigma_min * (sigma_max / sigma_min) ** t, a geometric ladder of
noise levels; training uses the L levels t_l = l / (L - 1), as in Song & Ermon 2019, or with
`time_sampling="continuous"` every t in [0, 1] (log sigma uniform, as in Song et al. 2021's
continuous VE SDE), which the ODE samplers and the likelihood, evaluating between the levels, use.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from ..errors import DifflabError, unknown_name
from .base import Process, as_time


def sigma_max_from_data(x: np.ndarray, max_points: int = 4000) -> float:
    """Song & Ermon 2020, technique 1: sigma_max = the largest pairwise Euclidean distance.

    `x` is the normalised training data (N, ...); a deterministic subset of at most
    `max_points` rows keeps this cheap for large sets.
    """
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if len(x) > max_points:
        x = x[:: int(math.ceil(len(x) / max_points))]
    sq = (x * x).sum(1)
    d2 = sq[:, None] + sq[None, :] - 2 * x @ x.T
    return float(np.sqrt(max(d2.max(), 0.0)))


class VEProcess(Process):
    """NCSN: x_t = x0 + sigma(t) eps, sigma geometric between sigma_min and sigma_max."""

    name = "ve"

    TIME_SAMPLING = ("levels", "continuous")

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 10.0, n_levels: int = 100,
                 time_sampling: str = "levels"):
        if not sigma_min > 0:
            raise DifflabError(f"process.sigma_min must be positive, got {sigma_min}")
        if not sigma_min < sigma_max:
            raise DifflabError(f"process.sigma_min ({sigma_min}) must be below process.sigma_max ({sigma_max})")
        if not isinstance(n_levels, int) or n_levels < 2:
            raise DifflabError(f"process.n_levels must be an integer >= 2, got {n_levels!r}")
        if time_sampling not in self.TIME_SAMPLING:
            raise unknown_name("process.time_sampling", time_sampling, self.TIME_SAMPLING)
        self.sigma_min, self.sigma_max, self.n_levels = float(sigma_min), float(sigma_max), n_levels
        self.time_sampling = time_sampling
        self._log_ratio = math.log(self.sigma_max / self.sigma_min)

    def alpha(self, t):
        return torch.ones_like(as_time(t))

    def sigma(self, t):
        return self.sigma_min * torch.exp(as_time(t) * self._log_ratio)

    def train_times(self, batch, generator=None, device="cpu"):
        """Uniform over the L levels t_l = l / (L - 1) (continuous: uniform on [0, 1])."""
        if self.time_sampling == "continuous":
            return torch.rand(batch, generator=generator, device=device)
        l = torch.randint(0, self.n_levels, (batch,), generator=generator, device=device)
        return l.float() / (self.n_levels - 1)

    def default_times(self, steps=None):
        """`steps` transitions over the geometric ladder from sigma_max to sigma_min (all levels when None)."""
        steps = self.n_levels - 1 if steps is None else steps
        if steps < 1:
            raise DifflabError(f"the number of sampling steps must be positive, got {steps}")
        return torch.linspace(1, 0, steps + 1, dtype=torch.float64)

    def t_from_sigma(self, sigma):
        return torch.log(torch.as_tensor(sigma, dtype=torch.float64) / self.sigma_min) / self._log_ratio

    def config(self):
        return {"name": "ve", "sigma_min": self.sigma_min, "sigma_max": self.sigma_max, "n_levels": self.n_levels,
                "time_sampling": self.time_sampling}
