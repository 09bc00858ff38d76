"""The UNet's blocks over 1 or 2 spatial dimensions: x is (B, C, L) or (B, C, H, W).

`dims` picks the convolution (`conv_nd`); everything else is written once: GroupNorm, the
residual block with the embedding of t (and the label) added per channel, self-attention over
the flattened positions, strided-conv downsampling and nearest-neighbour upsampling. Output
convolutions of each residual branch start at zero, so a fresh block is the identity path.
"""
from __future__ import annotations

import math

import torch.nn.functional as F
from torch import nn

from ..utils import append_dims

CONVS = {1: nn.Conv1d, 2: nn.Conv2d}


def conv_nd(dims: int, c_in: int, c_out: int, kernel: int, **kwargs) -> nn.Module:
    """A Conv1d or Conv2d; an odd `kernel` with padding kernel // 2 keeps the size."""
    return CONVS[dims](c_in, c_out, kernel, **kwargs)


def same_conv(dims: int, c_in: int, c_out: int, kernel: int) -> nn.Module:
    """A convolution that keeps the spatial size (stride 1, same padding)."""
    return conv_nd(dims, c_in, c_out, kernel, padding=kernel // 2)


def norm(ch: int, groups: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(groups, ch), ch)       # the largest group count <= groups dividing ch


def zero(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class ResBlock(nn.Module):
    """h = conv(SiLU(GN(x))) + Linear(SiLU(emb)); out = skip(x) + conv(dropout(SiLU(GN(h))))."""

    def __init__(self, dims: int, c_in: int, c_out: int, emb_dim: int, dropout: float, groups: int, kernel: int):
        super().__init__()
        self.norm1, self.conv1 = norm(c_in, groups), same_conv(dims, c_in, c_out, kernel)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = norm(c_out, groups), zero(same_conv(dims, c_out, c_out, kernel))
        self.dropout = nn.Dropout(dropout)
        self.skip = conv_nd(dims, c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + append_dims(self.emb(F.silu(emb)), x.ndim)             # (B, C) -> (B, C, 1, ...)
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    """Multi-head self-attention over the flattened positions (L or H*W), residual: x + proj(attn(GN(x)))."""

    def __init__(self, dims: int, ch: int, groups: int, head_channels: int = 32):
        super().__init__()
        self.heads = max(1, ch // head_channels)
        self.norm = norm(ch, groups)
        self.qkv = conv_nd(dims, ch, 3 * ch, 1)
        self.proj = zero(conv_nd(dims, ch, ch, 1))

    def forward(self, x, emb=None):
        b, c = x.shape[:2]
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, -1).unbind(1)
        out = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return x + self.proj(out.transpose(-1, -2).reshape(x.shape))


class Downsample(nn.Module):
    """3-wide conv with stride 2: every spatial size n -> ceil(n / 2)."""

    def __init__(self, dims: int, ch: int):
        super().__init__()
        self.conv = conv_nd(dims, ch, ch, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample(nn.Module):
    """Nearest-neighbour resize to a given spatial size, then a same-size conv."""

    def __init__(self, dims: int, ch: int, kernel: int):
        super().__init__()
        self.conv = same_conv(dims, ch, ch, kernel)

    def forward(self, x, size):
        return self.conv(F.interpolate(x, size=size, mode="nearest"))


__all__ = ["conv_nd", "same_conv", "norm", "zero", "ResBlock", "SelfAttention", "Downsample", "Upsample"]
