"""The masked (absorbing-state) process for categorical data (D3PM's absorbing state; MDLM,
Sahoo et al. 2024).

Each cell holds a class in 0..K-1; the forward process replaces it by the mask token K,
independently per cell: at time t a cell is still unmasked with probability alpha(t), and once
masked it stays masked. With t in [0, 1] and 0 the data:

    q(x_t | x0) = prod_cells [ alpha(t) 1{x_t = x0} + (1 - alpha(t)) 1{x_t = K} ]

Schedules (alpha decreases from 1 at t = 0 to 0 at t = 1):

- "linear": alpha(t) = 1 - t;
- "cosine": alpha(t) = cos(pi t / 2) (MDLM's cosine noise with eps = 0).

The continuous-time ELBO does not depend on the schedule (a change of variable from t to
alpha); the schedule only spreads the training draws and the sampling steps differently.

The reverse step from t to s < t (MDLM eq. 7): an unmasked cell stays as it is; a masked
cell is revealed with probability (alpha(s) - alpha(t)) / (1 - alpha(t)), its class drawn
from the denoiser's p(x0 | x_t). `subs_log_probs` is MDLM's SUBS parameterisation of that
denoiser: the mask class gets probability 0 and unmasked cells are copied.

Like the Gaussian processes it is immutable, and `alpha` returns float64 tensors.
"""
from __future__ import annotations

import math

import torch

from ..errors import DifflabError, unknown_name
from .base import as_time

SCHEDULES = ("linear", "cosine")


class MaskedProcess:
    """Absorbing-state diffusion over `n_classes` classes; class index `n_classes` is the mask."""

    name = "masked"
    categorical = True            # x0 and x_t are int64 classes (training feeds classes, not floats)

    def __init__(self, n_classes: int, schedule: str = "linear"):
        if not isinstance(n_classes, int) or isinstance(n_classes, bool) or n_classes < 1:
            raise DifflabError(f"process.n_classes must be a positive integer, got {n_classes!r}")
        if schedule not in SCHEDULES:
            raise unknown_name("masking schedule", schedule, SCHEDULES)
        self.n_classes, self.schedule = n_classes, schedule

    @property
    def mask_index(self) -> int:
        """The class index of the mask token: K."""
        return self.n_classes

    # -- the schedule -----------------------------------------------------------------
    def alpha(self, t) -> torch.Tensor:
        """Probability that a cell is still unmasked at time t (float64)."""
        t = as_time(t).clamp(0, 1)
        if self.schedule == "linear":
            return 1 - t
        return torch.cos(0.5 * math.pi * t)

    def alpha_prime(self, t) -> torch.Tensor:
        """d alpha / dt (float64, <= 0)."""
        t = as_time(t).clamp(0, 1)
        if self.schedule == "linear":
            return -torch.ones_like(t)
        return -0.5 * math.pi * torch.sin(0.5 * math.pi * t)

    def t_from_alpha(self, alpha) -> torch.Tensor:
        """The inverse of alpha(t) (float64)."""
        alpha = as_time(alpha).clamp(0, 1)
        if self.schedule == "linear":
            return 1 - alpha
        return torch.arccos(alpha) * (2 / math.pi)

    def elbo_weight(self, t) -> torch.Tensor:
        """-alpha'(t) / (1 - alpha(t)) >= 0, the weight of a masked cell's -log p in the ELBO
        (linear: 1 / t). Infinite at t = 0, where no cell is masked."""
        return -self.alpha_prime(t) / (1 - self.alpha(t))

    def reveal_probability(self, t, s) -> torch.Tensor:
        """(alpha(s) - alpha(t)) / (1 - alpha(t)): the chance that a cell masked at t is unmasked at s < t."""
        a_t, a_s = self.alpha(t), self.alpha(s)
        return ((a_s - a_t) / (1 - a_t)).clamp(0, 1)

    # -- forward process --------------------------------------------------------------
    def marginal(self, x0: torch.Tensor, t: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """x_t ~ q(x_t | x0): x0 (B, ...) int64 classes, t (B,) -> x_t with each cell masked
        independently with probability 1 - alpha(t)."""
        a = self.alpha(t).to(x0.device).reshape(t.shape + (1,) * (x0.ndim - t.ndim))
        u = torch.rand(x0.shape, generator=generator, device=x0.device, dtype=torch.float64)
        return torch.where(u < a, x0, torch.full_like(x0, self.mask_index))

    def prior_sample(self, shape, generator: torch.Generator | None = None, device="cpu") -> torch.Tensor:
        """x_1: every cell masked, int64 of `shape` (the generator is not needed; it keeps the
        signature of the other processes)."""
        return torch.full(tuple(shape), self.mask_index, dtype=torch.long, device=device)

    # -- times ------------------------------------------------------------------------
    def train_times(self, batch: int, generator: torch.Generator | None = None, device="cpu") -> torch.Tensor:
        """Stratified uniform times in (0, 1), shape (batch,) float64: t_i = (u + i) / batch for
        one uniform u (MDLM's low-discrepancy sampler), then shuffled. Each t_i is uniform, so the
        ELBO estimate is unbiased; the strata lower its variance."""
        u = torch.rand((), generator=generator, dtype=torch.float64)
        t = (u + torch.arange(batch, dtype=torch.float64)) / batch
        t = t[torch.randperm(batch, generator=generator)]
        return t.clamp(min=torch.finfo(torch.float64).tiny).to(device)

    def default_times(self, steps: int | None = None) -> torch.Tensor:
        """`steps` evenly spaced transitions from t = 1 to t = 0 (float64, decreasing)."""
        steps = 100 if steps is None else steps
        if not isinstance(steps, int) or steps < 1:
            raise DifflabError(f"the number of sampling steps must be a positive integer, got {steps!r}")
        return torch.linspace(1, 0, steps + 1, dtype=torch.float64)

    def config(self) -> dict:
        return {"name": "masked", "n_classes": self.n_classes, "schedule": self.schedule}


def subs_log_probs(logits: torch.Tensor, x_t: torch.Tensor, mask_index: int) -> torch.Tensor:
    """MDLM's SUBS parameterisation: log p_theta(x0 | x_t), (B, cells, K).

    logits (B, cells, K) cover the K data classes only (the mask's logit is -inf: x0 is never
    the mask); a cell unmasked in x_t (B, cells) is copied (log-probability 0 on its class,
    -inf elsewhere), so only masked cells carry the network's prediction.
    """
    logp = torch.log_softmax(logits.float(), dim=-1)
    unmasked = x_t != mask_index
    copied = torch.full_like(logp, -math.inf).scatter(-1, x_t.clamp(max=logp.shape[-1] - 1).unsqueeze(-1), 0.0)
    return torch.where(unmasked.unsqueeze(-1), copied, logp)
