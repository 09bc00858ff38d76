"""A small transformer over the cells of categorical data: logits of p(x0 | x_t) per cell.

Each cell is a token: its class (0..K-1, or the mask K) embedded, plus a learned embedding of its
position; `depth` pre-norm encoder layers (bidirectional attention, as in MDLM's DiT backbone,
much smaller) and a linear head give K logits per cell. The time can be added to every token
(time="add") or left out (time="none", the default): in absorbing-state diffusion the exact
p(x0 | x_t) does not depend on t, since which cells are masked says nothing about their classes
(MDLM, Sahoo et al. 2024, section 3.2; Ou et al. 2024), so a time-free network loses nothing.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import unknown_name
from .embedding import TimeEmbedding

TIME_CONDITIONING = ("none", "add")


def set_cells(net: nn.Module, data_shape, n_classes: int, time: str) -> int:
    """What every network over categorical cells starts with: check `time`, keep data_shape,
    n_classes and time on `net`, and return the number of cells."""
    if time not in TIME_CONDITIONING:
        raise unknown_name("time conditioning", time, TIME_CONDITIONING)
    net.data_shape, net.n_classes, net.time = tuple(data_shape), n_classes, time
    return math.prod(net.data_shape)


class Transformer(nn.Module):
    """logits = Transformer(x_t, t): x_t (B, *data_shape) int64 in 0..K (K = mask) -> (B, cells, K).

    n_classes: K; width: token features; depth: encoder layers; heads: attention heads;
    mlp_ratio: hidden units of each layer's MLP per feature; time: "none" or "add" (see above);
    emb_dim: sinusoidal features of t when time = "add".
    """

    def __init__(self, data_shape, n_classes: int = 3, width: int = 128, depth: int = 4, heads: int = 4,
                 mlp_ratio: int = 4, time: str = "none", emb_dim: int = 64):
        super().__init__()
        cells = set_cells(self, data_shape, n_classes, time)
        self.token = nn.Embedding(n_classes + 1, width)                   # K classes and the mask
        self.position = nn.Parameter(torch.randn(cells, width) * 0.02)     # learned, one per cell
        self.temb = TimeEmbedding(emb_dim, width) if time == "add" else None
        layer = nn.TransformerEncoderLayer(width, heads, mlp_ratio * width, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.layers = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, n_classes)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x: (B, *data_shape) int64, t: (B,) in [0, 1] -> logits (B, cells, K)."""
        h = self.token(x.reshape(x.shape[0], -1)) + self.position
        if self.temb is not None:
            h = h + self.temb(t)[:, None, :]
        return self.out(self.norm(self.layers(h)))
