"""Input scaling: the network sees x_t / sqrt(alpha(t)^2 + sigma(t)^2), unit variance at every t.

The data are normalised to unit variance, so x_t = alpha x0 + sigma eps has variance
alpha^2 + sigma^2 per dimension. For VP that is 1 already; for VE it grows to sigma_max^2
(sigma_max is the data's largest pairwise distance, often 5-10x the spread), and a network
without normalisation layers then has to cope with inputs a hundred times larger at the top
of the ladder than at the bottom. Dividing by the known standard deviation (EDM's c_in,
Karras et al. 2022) takes that job off the network; the prediction is still eps_hat(x_t, t),
so objectives and samplers do not change.
"""
from __future__ import annotations

import torch
from torch import nn

from ..utils import append_dims


class ProcessWrapper(nn.Module):
    """A network wrapped with the noise process it serves (InputScaled, GaussianSkip).

    Attributes the wrapper does not have (n_classes, data_shape, ...) are read from `net`.
    """

    def __init__(self, net: nn.Module, process):
        super().__init__()
        self.net = net
        self.process = process

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__("net"), name)


class InputScaled(ProcessWrapper):
    """net(x_t * c_in(t), t, ...) with c_in = 1 / sqrt(alpha^2 + sigma^2) of `process`."""

    def forward(self, x: torch.Tensor, t: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        a, s = self.process.alpha(t), self.process.sigma(t)
        c_in = append_dims((a * a + s * s).rsqrt(), x.ndim).to(x.dtype)
        return self.net(x * c_in, t, *args, **kwargs)
