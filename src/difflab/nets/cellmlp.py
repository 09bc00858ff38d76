"""A residual MLP over the cells of categorical data: logits of p(x0 | x_t) per cell.

The input is every cell's one-hot class, the mask included as class K (so the mask indicator is
part of the one-hot), flattened: cells * (K + 1) features. A linear layer of one-hot features is a
sum of one learned row per (cell, class) pair, so the first layer is an `EmbeddingBag` (sum mode)
over the indices cell * (K + 1) + class: the same function as Linear(one_hot(x)), without building
the one-hot tensor. Then `depth` residual layers h <- h + SiLU(Linear(h)) (no normalisation
layers, as in nets/mlp.py: on a CPU their elementwise work costs as much as the matmul), and a
linear head with K logits per cell.

Every cell sees every other cell from the first layer on; for boards of a few dozen cells the
whole network is a handful of (B, width) matmuls, far cheaper per step than attention over cell
tokens. Time is not an input by default (time="none"): the exact p(x0 | x_t) of absorbing-state
diffusion does not depend on t (see nets/transformer.py).
"""
from __future__ import annotations

import torch
from torch import nn

from .embedding import TimeEmbedding
from .transformer import set_cells


class CellMLP(nn.Module):
    """logits = CellMLP(x_t, t): x_t (B, *data_shape) int64 in 0..K (K = mask) -> (B, cells, K).

    n_classes: K; width: hidden units; depth: residual layers; time: "none" or "add" (sinusoidal
    features of t added to every layer's pre-activation); emb_dim: those features' size.
    """

    def __init__(self, data_shape, n_classes: int = 3, width: int = 256, depth: int = 4, time: str = "none",
                 emb_dim: int = 64):
        super().__init__()
        cells = set_cells(self, data_shape, n_classes, time)
        self.cells = cells
        self.inp = nn.EmbeddingBag(cells * (n_classes + 1), width, mode="sum")   # = Linear(one-hot) without bias
        self.bias = nn.Parameter(torch.zeros(width))
        self.register_buffer("offset", torch.arange(cells) * (n_classes + 1), persistent=False)
        self.temb = TimeEmbedding(emb_dim, width) if time == "add" else None
        self.layers = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.out = nn.Linear(width, cells * n_classes)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x: (B, *data_shape) int64, t: (B,) in [0, 1] -> logits (B, cells, K)."""
        B = x.shape[0]
        h = self.inp(x.reshape(B, self.cells) + self.offset) + self.bias
        temb = self.temb(t) if self.temb is not None else 0
        for layer in self.layers:
            h = h + self.act(layer(h) + temb)
        return self.out(h).view(B, self.cells, self.n_classes)
