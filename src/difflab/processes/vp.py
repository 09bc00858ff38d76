"""The variance-preserving process of DDPM, built from a discrete beta schedule.

The schedule lives on the integer grid i = 0..T (i = 0 is data). Continuous time is
t = i / T; between grid points log(alpha_bar) is interpolated linearly in t, so the
process is defined for every t in [0, 1] and agrees exactly with the discrete DDPM
schedule on the grid. The words `beta` and `alpha_bar` appear only in this file.
"""
from __future__ import annotations

import math

import torch

from ..errors import DifflabError, unknown_name
from .base import Process, as_time

SCHEDULES = ("linear", "cosine")
TIME_SAMPLING = ("uniform", "log-snr")


def linear_betas(n_steps: int, beta_start: float, beta_end: float) -> torch.Tensor:
    """Ho et al. 2020: betas evenly spaced from beta_start to beta_end (float64, (T,))."""
    return torch.linspace(beta_start, beta_end, n_steps, dtype=torch.float64)


def cosine_betas(n_steps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Nichol & Dhariwal 2021: alpha_bar(t) = cos^2(((t + s) / (1 + s)) * pi / 2), betas clipped."""
    i = torch.arange(n_steps + 1, dtype=torch.float64)
    f = torch.cos((i / n_steps + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    betas = 1 - alpha_bar[1:] / alpha_bar[:-1]
    return betas.clamp(max=max_beta)


class VPProcess(Process):
    """DDPM: alpha(t) = sqrt(alpha_bar(t)), sigma(t) = sqrt(1 - alpha_bar(t)).

    max_ratio (None: off) cuts the process short at `top_step`, the first grid step whose noise
    ratio sigma / alpha reaches it (rounded up to a multiple of T / 10): training draws no step
    above it and sampling and the likelihood start there, from N(0, I). The linear schedule runs
    to s(1) = 157; for 2D data x_t is pure noise from s = 10 on (`samplers.times.ode_start_ratio`,
    which the ddpm method's "auto" uses), and the levels above it took 28% of the log-SNR
    draws (BENCHMARKS.md, "Exact likelihood").
    """

    name = "vp"
    variance_preserving = True     # alpha^2 + sigma^2 = 1: inputs need no rescaling (nets/scaling.py)

    def __init__(self, schedule: str = "linear", n_steps: int = 1000, beta_start: float = 1e-4,
                 beta_end: float = 0.02, cosine_s: float = 0.008, max_alpha_end: float = 0.02,
                 time_sampling: str = "uniform", max_ratio: float | None = None):
        if schedule not in SCHEDULES:
            raise unknown_name("beta schedule", schedule, SCHEDULES)
        if not isinstance(n_steps, int) or n_steps < 1:
            raise DifflabError(f"process.n_steps must be a positive integer, got {n_steps!r}")
        if schedule == "linear":
            for key, b in (("beta_start", beta_start), ("beta_end", beta_end)):
                if not 0 < b < 1:
                    raise DifflabError(f"process.{key} must lie in (0, 1), got {b}")
            if beta_start > beta_end:
                raise DifflabError(f"process.beta_start ({beta_start}) must not exceed beta_end ({beta_end})")
            betas = linear_betas(n_steps, beta_start, beta_end)
        else:
            if cosine_s <= 0:
                raise DifflabError(f"process.cosine_s must be positive, got {cosine_s}")
            betas = cosine_betas(n_steps, cosine_s)
        if time_sampling not in TIME_SAMPLING:
            raise unknown_name("process.time_sampling", time_sampling, TIME_SAMPLING)
        if max_ratio is not None and not (isinstance(max_ratio, (int, float)) and max_ratio > 0):
            raise DifflabError(f"process.max_ratio must be a positive number or null, got {max_ratio!r}")
        self.schedule, self.n_steps, self.time_sampling = schedule, n_steps, time_sampling
        self.beta_start, self.beta_end, self.cosine_s = beta_start, beta_end, cosine_s
        self.betas = betas                                                    # (T,)
        self.alpha_bars = torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - betas, 0)])  # (T+1,)
        self._log_ab = self.alpha_bars.log()
        # The top level: the first grid step whose noise ratio reaches max_ratio, rounded up to a
        # multiple of T / 10 so that 10, 20, 25, 50 or 100 steps divide it (diffusers' DDIM steps by
        # top_step // steps); T when None or beyond
        self.max_ratio = None if max_ratio is None else float(max_ratio)
        ratios = ((1 - self.alpha_bars[1:]) / self.alpha_bars[1:]).sqrt()
        reached = (ratios >= self.max_ratio).nonzero() if self.max_ratio is not None else []
        unit = max(1, n_steps // 10)
        self.top_step = min(n_steps, -(-(int(reached[0]) + 1) // unit) * unit) if len(reached) else n_steps
        # Sampling starts from N(0, I): the schedule must end near pure noise, else every
        # sample starts from the wrong prior (a 50-step linear schedule ends at alpha_bar = 0.60).
        self._time_weights = self.train_time_weights().float()   # drawn from at every training step
        alpha_end = float(self.alpha_bars[-1].sqrt())
        if alpha_end > max_alpha_end:
            raise DifflabError(
                f"the {schedule} schedule with n_steps={n_steps} ends at alpha(1) = {alpha_end:.3f} "
                f"(alpha_bar = {alpha_end ** 2:.3f}), far from pure noise; raise process.beta_end "
                f"or process.n_steps (e.g. beta_end = {min(0.999, 20.0 / n_steps):.3g})")

    # log(alpha_bar) at continuous t, linear between grid points i / T
    def _log_alpha_bar(self, t) -> torch.Tensor:
        t = as_time(t)
        tables = self._log_ab.to(t.device)
        u = (t.clamp(0, 1) * self.n_steps)
        i0 = u.floor().long().clamp(max=self.n_steps - 1)
        w = u - i0
        return tables[i0] * (1 - w) + tables[i0 + 1] * w

    def alpha(self, t):
        return (0.5 * self._log_alpha_bar(t)).exp()

    def sigma(self, t):
        return (-torch.expm1(self._log_alpha_bar(t))).clamp(min=0).sqrt()

    def train_time_weights(self) -> torch.Tensor:
        """Probabilities (T,) of the grid steps 1..T in training.

        "uniform": 1/T each, as in DDPM. "log-snr": each step gets the share of the range of
        log(sigma/alpha) it spans, i.e. log noise levels are drawn uniformly, as the VE ladder
        does. Uniform steps spend only ~5% of the draws below sigma = 0.2 with the linear
        schedule, where the fine structure of 2D data is decided; log-snr spends about a third
        there. The minimiser of the eps loss at each t is the same either way, E[eps | x_t]:
        only how the network's capacity and the gradient noise are spread over t changes.
        Steps above `top_step` (a process cut short by max_ratio) get none.
        """
        T = self.n_steps
        if self.time_sampling == "uniform":
            w = torch.ones(T, dtype=torch.float64)
        else:
            ab = self.alpha_bars.clamp(max=1 - 1e-12)
            log_r = 0.5 * (torch.log1p(-ab) - ab.log())             # (T+1,), -inf at i = 0
            log_r[0] = log_r[1] - (log_r[2] - log_r[1]) if T > 1 else log_r[1] - 1.0
            w = (log_r[1:] - log_r[:-1]).clamp(min=0)
        w[self.top_step:] = 0
        return w / w.sum()

    def train_times(self, batch, generator=None, device="cpu"):
        """Grid times {1, ..., top_step} / T drawn with `train_time_weights()` (uniform: as in DDPM)."""
        if self.time_sampling == "uniform":
            i = torch.randint(1, self.top_step + 1, (batch,), generator=generator, device=device)
        else:
            w = self._time_weights.to(device)
            i = torch.multinomial(w, batch, replacement=True, generator=generator) + 1
        return i.float() / self.n_steps

    def default_times(self, steps=None):
        """`steps` transitions on the integer grid from `top_step` (T unless cut short) to 0 (all when None)."""
        steps = self.top_step if steps is None else steps
        if steps < 1:
            raise DifflabError(f"the number of sampling steps must be positive, got {steps}")
        i = torch.linspace(self.top_step, 0, steps + 1, dtype=torch.float64).round().unique_consecutive()
        return i / self.n_steps

    def top_time(self):
        return self.top_step / self.n_steps

    def t_from_sigma(self, sigma):
        """Inverse of sigma(t) (monotone), by interpolation on the grid."""
        sigma = torch.as_tensor(sigma, dtype=torch.float64)
        log_ab_target = torch.log1p(-sigma.clamp(max=1 - 1e-12) ** 2)  # decreasing in t
        tab = -self._log_ab.to(sigma.device)  # increasing
        j = torch.searchsorted(tab, -log_ab_target).clamp(1, self.n_steps)
        lo, hi = tab[j - 1], tab[j]
        w = ((-log_ab_target - lo) / (hi - lo)).clamp(0, 1)
        return (j - 1 + w) / self.n_steps

    def config(self):
        return {"name": "vp", "schedule": self.schedule, "n_steps": self.n_steps,
                "beta_start": self.beta_start, "beta_end": self.beta_end, "cosine_s": self.cosine_s,
                "time_sampling": self.time_sampling, "max_ratio": self.max_ratio}
