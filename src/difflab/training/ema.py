"""Exponential moving average of a network's weights (the weights used for sampling)."""
from __future__ import annotations

import copy

import torch


class EMA:
    """ema <- decay * ema + (1 - decay) * weights, after every optimiser step."""

    def __init__(self, net: torch.nn.Module, decay: float):
        self.decay = decay
        self.net = copy.deepcopy(net).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, net: torch.nn.Module) -> None:
        for e, p in zip(self.net.parameters(), net.parameters()):
            e.lerp_(p.detach(), 1 - self.decay)
        for e, b in zip(self.net.buffers(), net.buffers()):
            e.copy_(b)
