"""A residual MLP for vector data: predicts eps from (x_t, t)."""
from __future__ import annotations

import torch
from torch import nn

from .embedding import TimeEmbedding


class MLP(nn.Module):
    """eps_hat = MLP(x_t, t) for samples of any shape, flattened to (B, D) inside.

    Each of the `depth` layers is h <- h + SiLU(Linear(h) + time features); no normalisation
    layers, because on a CPU the elementwise work of a LayerNorm costs as much as the matmul.
    width: hidden units; depth: residual layers; emb_dim: sinusoidal features of t.
    """

    def __init__(self, data_shape, width: int = 128, depth: int = 4, emb_dim: int = 64):
        super().__init__()
        self.data_shape = tuple(data_shape)
        dim = 1
        for s in self.data_shape:
            dim *= s
        self.inp = nn.Linear(dim, width)
        self.temb = TimeEmbedding(emb_dim, width)
        self.layers = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.out = nn.Linear(width, dim)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x: (B, *data_shape), t: (B,) in [0, 1] -> eps_hat with x's shape."""
        if not self.training and t.numel() > 1 and bool((t == t[0]).all()):
            temb = self.temb(t[:1])  # sampling: one time for the whole batch, embed it once
        else:
            temb = self.temb(t)
        h = self.inp(x.flatten(1))
        for layer in self.layers:
            h = h + self.act(layer(h) + temb)
        return self.out(h).view_as(x)
