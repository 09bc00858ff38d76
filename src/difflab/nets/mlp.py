"""A residual MLP for vector data: predicts eps from (x_t, t)."""
from __future__ import annotations

import torch
from torch import nn

from .embedding import TimeEmbedding


class Block(nn.Module):
    """h + Linear(SiLU(Linear(h) + time features))."""

    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.lin1 = nn.Linear(width, width)
        self.lin2 = nn.Linear(width, width)
        self.act = nn.SiLU()

    def forward(self, h, temb):
        return h + self.lin2(self.act(self.lin1(self.norm(h)) + temb))


class MLP(nn.Module):
    """eps_hat = MLP(x_t, t) for samples of any shape, flattened to (B, D) inside.

    width: hidden units per layer; depth: residual blocks; emb_dim: sinusoidal features of t.
    """

    def __init__(self, data_shape, width: int = 128, depth: int = 3, emb_dim: int = 64):
        super().__init__()
        self.data_shape = tuple(data_shape)
        dim = 1
        for s in self.data_shape:
            dim *= s
        self.inp = nn.Linear(dim, width)
        self.temb = TimeEmbedding(emb_dim, width)
        self.blocks = nn.ModuleList(Block(width) for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(width), nn.SiLU(), nn.Linear(width, dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x: (B, *data_shape), t: (B,) in [0, 1] -> eps_hat with x's shape."""
        temb = self.temb(t)
        h = self.inp(x.flatten(1))
        for block in self.blocks:
            h = block(h, temb)
        return self.out(h).view_as(x)
