"""A 1D UNet for audio and other sequences (B, C, L): eps_hat = UNet1d(x_t, t[, y]).

The image UNet's layout (nets/unet.py) over one axis:

    x -> conv -> per level: n_res_blocks x ResBlock1d, downsample by 2
      -> middle (the lowest resolution): ResBlock1d, self-attention, ResBlock1d
      -> per level, reversed: (n_res_blocks + 1) x [concat skip, ResBlock1d], upsample
      -> GroupNorm, SiLU, conv -> eps_hat

Every ResBlock1d adds the shared time embedding (`TimeEmbedding`) and, when `n_classes` is set,
a class embedding with one extra row for the null class: labels y (B,) in 0..n_classes-1, -1
(or y=None for the whole batch) meaning "no label", exactly as `UNet` takes them, so
class-conditional training and classifier-free guidance (conditioning.py) call both networks
the same way. Attention costs L^2, so it sits only at the lowest resolution
(L / 2^(levels-1) positions: 128 for 4096 samples and 6 levels). Convolutions use odd
`kernel_size` with same-padding; strided-conv downsampling takes L to ceil(L/2) and upsampling
goes back to the exact length of the matching skip, so any L works. Output convolutions of each
block start at zero, so a fresh network predicts eps_hat = 0.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DifflabError, unknown_name
from .embedding import TimeEmbedding

PRESETS = {                            # small enough to train on a CPU
    "unet1d-tiny": dict(               # tests: a few thousand parameters
        base_channels=8,               # channels at full resolution
        channel_mults=(1, 2),          # channels per level = base * mult; one level per entry
        n_res_blocks=1,                # residual blocks per level on the way down (+1 on the way up)
        kernel_size=3,                 # convolution width (odd)
        attention=True,                # self-attention in the middle (lowest resolution)
        dropout=0.0,                   # dropout inside residual blocks
    ),
    "unet1d-small": dict(              # FSDD at 4 kHz, 4096 samples: levels of 4096 .. 128 samples, ~1.3M parameters
        base_channels=16,
        channel_mults=(1, 2, 2, 4, 4, 8),
        n_res_blocks=1,
        kernel_size=5,
        attention=True,
        dropout=0.0,
    ),
    "unet1d-base": dict(               # a GPU-sized variant (~12M parameters)
        base_channels=32,
        channel_mults=(1, 2, 4, 4, 8, 8),
        n_res_blocks=2,
        kernel_size=5,
        attention=True,
        dropout=0.1,
    ),
}
DEFAULTS = dict(base_channels=16, channel_mults=(1, 2, 2), n_res_blocks=1, kernel_size=3, attention=True, dropout=0.0)


def _norm(ch: int, groups: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(groups, ch), ch)       # the largest group count <= groups dividing ch


def _zero(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class ResBlock1d(nn.Module):
    """h = conv(SiLU(GN(x))) + Linear(SiLU(emb)); out = skip(x) + conv(dropout(SiLU(GN(h))))."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, dropout: float, groups: int, kernel: int):
        super().__init__()
        pad = kernel // 2
        self.norm1, self.conv1 = _norm(c_in, groups), nn.Conv1d(c_in, c_out, kernel, padding=pad)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = _norm(c_out, groups), _zero(nn.Conv1d(c_out, c_out, kernel, padding=pad))
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(F.silu(emb))[:, :, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SelfAttention1d(nn.Module):
    """Multi-head self-attention over the L positions, residual: x + proj(attn(GN(x)))."""

    def __init__(self, ch: int, groups: int, head_channels: int = 32):
        super().__init__()
        self.heads = max(1, ch // head_channels)
        self.norm = _norm(ch, groups)
        self.qkv = nn.Conv1d(ch, 3 * ch, 1)
        self.proj = _zero(nn.Conv1d(ch, ch, 1))

    def forward(self, x, emb=None):
        b, c, length = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, length).unbind(1)
        out = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return x + self.proj(out.transpose(-1, -2).reshape(b, c, length))


class Downsample1d(nn.Module):
    """Conv with stride 2: L -> ceil(L/2)."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv = nn.Conv1d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample1d(nn.Module):
    """Nearest-neighbour resize to a given length, then a conv."""

    def __init__(self, ch: int, kernel: int):
        super().__init__()
        self.conv = nn.Conv1d(ch, ch, kernel, padding=kernel // 2)

    def forward(self, x, length):
        return self.conv(F.interpolate(x, size=length, mode="nearest"))


class UNet1d(nn.Module):
    """eps_hat = UNet1d(x_t, t, y=None) for sequences of shape (C, L).

    preset: "unet1d-tiny", "unet1d-small" or "unet1d-base" (see PRESETS), or None; explicit
    settings override it. base_channels, channel_mults, n_res_blocks, kernel_size, attention,
    dropout: see PRESETS. n_classes: None (unconditional) or the number of classes (labels as
    in `UNet`). norm_groups: GroupNorm groups (reduced to a divisor of each width);
    head_channels: channels per attention head.
    """

    def __init__(self, data_shape, preset: str | None = None, *, norm_groups: int = 8,
                 head_channels: int = 32, n_classes: int | None = None, **settings):
        super().__init__()
        if preset is not None and preset not in PRESETS:
            raise unknown_name("unet1d preset", preset, PRESETS)
        unknown = set(settings) - set(DEFAULTS)
        if unknown:
            raise DifflabError(f"unet1d: unknown setting(s) {', '.join(sorted(unknown))}; valid: "
                               f"preset, {', '.join(sorted(DEFAULTS))}, n_classes, norm_groups, head_channels")
        cfg = {**DEFAULTS, **(PRESETS[preset] if preset else {}), **settings}
        if len(tuple(data_shape)) != 2:
            raise DifflabError(f"unet1d needs sequences of shape (C, L), got data of shape {tuple(data_shape)}")
        if n_classes is not None and (not isinstance(n_classes, int) or isinstance(n_classes, bool) or n_classes < 1):
            raise DifflabError(f"unet1d: n_classes must be None or an integer >= 1, got {n_classes!r}")
        kernel = cfg["kernel_size"]
        if not isinstance(kernel, int) or isinstance(kernel, bool) or kernel < 1 or kernel % 2 == 0:
            raise DifflabError(f"unet1d: kernel_size must be an odd positive integer, got {kernel!r}")
        mults = tuple(int(m) for m in cfg["channel_mults"])
        if not mults or min(mults) < 1:
            raise DifflabError(f"unet1d: channel_mults must be a non-empty list of positive integers, got {mults!r}")
        self.data_shape = tuple(int(s) for s in data_shape)
        self.settings = {"preset": preset, **cfg, "n_classes": n_classes}
        self.n_classes = n_classes
        c_in, length = self.data_shape
        if length < 2 ** (len(mults) - 1):
            raise DifflabError(f"unet1d: {len(mults)} levels halve the length {len(mults) - 1} times; "
                               f"length {length} is too short")
        base, n_res, dropout = int(cfg["base_channels"]), int(cfg["n_res_blocks"]), float(cfg["dropout"])
        emb_dim = 4 * base
        self.temb = TimeEmbedding(base, emb_dim)
        self.label_emb = nn.Embedding(n_classes + 1, emb_dim) if n_classes else None   # last row: null class

        def block(a, b):
            return ResBlock1d(a, b, emb_dim, dropout, norm_groups, kernel)

        # Down path: every output is kept as a skip for the up path
        self.inp = nn.Conv1d(c_in, base, kernel, padding=kernel // 2)
        self.down = nn.ModuleList()
        skips, ch = [base], base
        for level, mult in enumerate(mults):
            for _ in range(n_res):
                self.down.append(block(ch, base * mult))
                ch = base * mult
                skips.append(ch)
            if level < len(mults) - 1:
                self.down.append(Downsample1d(ch))
                skips.append(ch)

        # Middle, at the lowest resolution: the only place with attention
        self.mid = nn.ModuleList([block(ch, ch)] + ([SelfAttention1d(ch, norm_groups, head_channels)]
                                                    if cfg["attention"] else []) + [block(ch, ch)])

        # Up path: each block eats one skip
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(mults))):
            for i in range(n_res + 1):
                layers = [block(ch + skips.pop(), base * mult)]
                ch = base * mult
                if level > 0 and i == n_res:
                    layers.append(Upsample1d(ch, kernel))
                self.up.append(nn.ModuleList(layers))

        self.out = nn.Sequential(_norm(ch, norm_groups), nn.SiLU(),
                                 _zero(nn.Conv1d(ch, c_in, kernel, padding=kernel // 2)))

    def embed(self, t: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """(B,) times and optional (B,) labels -> (B, emb_dim); label -1 or y=None -> null class."""
        emb = self.temb(t)
        if self.label_emb is None:
            if y is not None:
                raise DifflabError("this network was built without n_classes; it takes no labels")
            return emb
        null = self.n_classes
        if y is None:
            y = torch.full((len(t),), null, dtype=torch.long, device=t.device)
        else:
            y = y.long()
            if bool(((y < -1) | (y >= null)).any()):
                raise DifflabError(f"labels must lie in 0..{null - 1} (or -1 for none), "
                                   f"got {y.min().item()}..{y.max().item()}")
            y = torch.where(y < 0, torch.full_like(y, null), y)
        return emb + self.label_emb(y)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, C, L), t: (B,) in [0, 1], y: (B,) labels or None -> eps_hat (B, C, L)."""
        emb = self.embed(t, y)
        h = self.inp(x)
        hs = [h]
        for layer in self.down:
            h = layer(h, emb) if isinstance(layer, ResBlock1d) else layer(h)
            hs.append(h)
        for layer in self.mid:
            h = layer(h, emb)
        for layers in self.up:
            h = torch.cat([h, hs.pop()], dim=1)
            for layer in layers:
                h = layer(h, hs[-1].shape[-1]) if isinstance(layer, Upsample1d) else layer(h, emb)
        return self.out(h)
