"""A Gaussian skip: the network predicts only what the data adds to the eps of N(0, I) data.

For data normalised to zero mean and unit variance, the simplest guess of the noise in
x_t = alpha x0 + sigma eps is the exact one for x0 ~ N(0, I):

    E[eps | x_t] = sigma / (alpha^2 + sigma^2) * x_t            (the linear Wiener estimate)

which at high noise is x_t itself. A plain MLP must learn that identity map through its own
layers. When its width is not above the data's dimension (d = 512 at width 512) the product of
its square random input and output matrices has directions of near-zero gain, and Adam does not
grow them in a few thousand steps: there eps_hat ignores x_t, x0_hat = (x_t - sigma eps_hat) /
alpha amplifies those directions by 1 / alpha(1) ~ 150, and every sampler diverges. With the
skip, eps_hat = c_skip(t) x_t + net(x_t, t): the identity is built in and the network learns a
correction (zero for white data). EDM's c_skip (Karras et al. 2022) is the same idea for a
denoiser. Objectives and samplers do not change: the wrapper still returns eps_hat(x_t, t).
"""
from __future__ import annotations

import torch

from ..utils import append_dims
from .scaling import ProcessWrapper


class GaussianSkip(ProcessWrapper):
    """eps_hat = sigma / (alpha^2 + sigma^2) * x_t + net(x_t, t, ...) for `process` (VP or VE)."""

    def forward(self, x: torch.Tensor, t: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        a, s = self.process.alpha(t), self.process.sigma(t)
        c_skip = append_dims(s / (a * a + s * s), x.ndim).to(x.dtype)
        return c_skip * x + self.net(x, t, *args, **kwargs)
