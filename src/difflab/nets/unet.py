"""A small 2D UNet for images (B, C, H, W): eps_hat = UNet(x_t, t[, y]).

The DDPM / guided-diffusion layout, kept small for CPUs:

    x -> 3x3 conv -> per level: n_res_blocks x ResBlock (+ attention at chosen sizes), downsample
      -> middle: ResBlock, attention, ResBlock
      -> per level, reversed: (n_res_blocks + 1) x [concat skip, ResBlock (+ attention)], upsample
      -> GroupNorm, SiLU, 3x3 conv -> eps_hat

Every ResBlock adds the embedding of t (the shared `TimeEmbedding`) and, when `n_classes` is
set, of the class label. The class embedding has one extra row, the null class, used when the
label is dropped; training with labels dropped at random and sampling with the guided eps of
conditioning.py is classifier-free guidance. Strided-conv downsampling takes
H to ceil(H/2); upsampling goes back to the exact size of the matching skip, so odd sizes
(28 -> 14 -> 7 -> 4 -> 7) work. Output convolutions of each block start at zero, so a fresh
network is a small perturbation of the identity path and predicts eps_hat = 0.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..conditioning import drop_labels  # noqa: F401  (training/batches.py imports it from here)
from ..errors import DifflabError, unknown_name
from .embedding import TimeEmbedding

PRESETS = {                          # small enough to train on a CPU; see the class docstring for bigger
    "unet-28": dict(                 # MNIST / Fashion-MNIST, 28x28x1: feature maps 28, 14, 7
        base_channels=16,            # channels at full resolution
        channel_mults=(1, 2, 4),     # channels per level = base * mult; one level per entry
        n_res_blocks=1,              # residual blocks per level on the way down (+1 on the way up)
        attention_resolutions=(7,),  # feature-map sizes that get self-attention (the middle always has it)
        dropout=0.0,                 # dropout inside residual blocks
    ),
    "unet-32": dict(                 # CIFAR-10 / photos, 32x32x3: feature maps 32, 16, 8, 4
        base_channels=32,
        channel_mults=(1, 2, 2, 2),
        n_res_blocks=1,
        attention_resolutions=(8, 4),
        dropout=0.1,
    ),
}
DEFAULTS = dict(base_channels=32, channel_mults=(1, 2, 2), n_res_blocks=1, attention_resolutions=(),
                dropout=0.0)


def _norm(ch: int, groups: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(groups, ch), ch)       # the largest group count <= groups dividing ch


def _zero(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class ResBlock(nn.Module):
    """h = conv(SiLU(GN(x))) + Linear(SiLU(emb)); out = skip(x) + conv(dropout(SiLU(GN(h))))."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, dropout: float, groups: int):
        super().__init__()
        self.norm1, self.conv1 = _norm(c_in, groups), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = _norm(c_out, groups), _zero(nn.Conv2d(c_out, c_out, 3, padding=1))
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(F.silu(emb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    """Multi-head self-attention over the H*W positions, residual: x + proj(attn(GN(x)))."""

    def __init__(self, ch: int, groups: int, head_channels: int = 32):
        super().__init__()
        self.heads = max(1, ch // head_channels)
        self.norm = _norm(ch, groups)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.proj = _zero(nn.Conv2d(ch, ch, 1))

    def forward(self, x, emb=None):
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).unbind(1)
        out = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        return x + self.proj(out.transpose(-1, -2).reshape(b, c, h, w))


class Downsample(nn.Module):
    """3x3 conv with stride 2: (H, W) -> (ceil(H/2), ceil(W/2))."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample(nn.Module):
    """Nearest-neighbour resize to a given size, then a 3x3 conv."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x, size):
        return self.conv(F.interpolate(x, size=size, mode="nearest"))


class UNet(nn.Module):
    """eps_hat = UNet(x_t, t, y=None) for images of shape (C, H, W).

    preset: "unet-28" or "unet-32" (see PRESETS), or None; explicit settings override it.
    base_channels, channel_mults, n_res_blocks, attention_resolutions, dropout: see PRESETS.
    n_classes: None (unconditional) or the number of classes; labels y (B,) in 0..n_classes-1,
    -1 (or y=None for the whole batch) meaning "no label" (the null class).
    norm_groups: GroupNorm groups (reduced to a divisor of each width); head_channels: channels
    per attention head.

    DDPM's CIFAR-10 network (35.7M parameters, a GPU model) is preset "unet-32" with
    base_channels=128, channel_mults=(1, 2, 2, 2), n_res_blocks=2, attention_resolutions=(16,).
    """

    def __init__(self, data_shape, preset: str | None = None, *, norm_groups: int = 8,
                 head_channels: int = 32, n_classes: int | None = None, **settings):
        super().__init__()
        if preset is not None and preset not in PRESETS:
            raise unknown_name("unet preset", preset, PRESETS)
        unknown = set(settings) - set(DEFAULTS)
        if unknown:
            raise DifflabError(f"unet: unknown setting(s) {', '.join(sorted(unknown))}; valid: "
                               f"preset, {', '.join(sorted(DEFAULTS))}, n_classes, norm_groups, head_channels")
        cfg = {**DEFAULTS, **(PRESETS[preset] if preset else {}), **settings}
        if len(tuple(data_shape)) != 3:
            raise DifflabError(f"unet needs images of shape (C, H, W), got data of shape {tuple(data_shape)}")
        if n_classes is not None and (not isinstance(n_classes, int) or isinstance(n_classes, bool) or n_classes < 1):
            raise DifflabError(f"unet: n_classes must be None or an integer >= 1, got {n_classes!r}")
        self.data_shape = tuple(int(s) for s in data_shape)
        self.settings = {"preset": preset, **cfg, "n_classes": n_classes}
        self.n_classes = n_classes
        c_img, height, width = self.data_shape
        base, mults = int(cfg["base_channels"]), tuple(int(m) for m in cfg["channel_mults"])
        n_res, dropout = int(cfg["n_res_blocks"]), float(cfg["dropout"])
        sizes = [height]                                  # feature-map height at each level
        for _ in mults[1:]:
            sizes.append(-(-sizes[-1] // 2))
        attn = {int(r) for r in cfg["attention_resolutions"]}
        if not attn <= set(sizes):
            raise DifflabError(f"unet: attention_resolutions {sorted(attn)} are not all among this network's "
                               f"feature-map sizes {sizes} (image height {height}, {len(mults)} levels)")
        emb_dim = 4 * base
        self.temb = TimeEmbedding(base, emb_dim)
        self.label_emb = nn.Embedding(n_classes + 1, emb_dim) if n_classes else None   # last row: null class

        def block(c_in, c_out):
            return ResBlock(c_in, c_out, emb_dim, dropout, norm_groups)

        def attention(ch):
            return SelfAttention(ch, norm_groups, head_channels)

        # Down path: every output is kept as a skip for the up path
        self.inp = nn.Conv2d(c_img, base, 3, padding=1)
        self.down = nn.ModuleList()
        skips, ch = [base], base
        for level, mult in enumerate(mults):
            for _ in range(n_res):
                layers = [block(ch, base * mult)]
                ch = base * mult
                if sizes[level] in attn:
                    layers.append(attention(ch))
                self.down.append(nn.ModuleList(layers))
                skips.append(ch)
            if level < len(mults) - 1:
                self.down.append(nn.ModuleList([Downsample(ch)]))
                skips.append(ch)

        # Middle, at the lowest resolution
        self.mid = nn.ModuleList([block(ch, ch), attention(ch), block(ch, ch)])

        # Up path: each block eats one skip
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(mults))):
            for i in range(n_res + 1):
                layers = [block(ch + skips.pop(), base * mult)]
                ch = base * mult
                if sizes[level] in attn:
                    layers.append(attention(ch))
                if level > 0 and i == n_res:
                    layers.append(Upsample(ch))
                self.up.append(nn.ModuleList(layers))

        self.out = nn.Sequential(_norm(ch, norm_groups), nn.SiLU(), _zero(nn.Conv2d(ch, c_img, 3, padding=1)))

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
        """x: (B, C, H, W), t: (B,) in [0, 1], y: (B,) labels or None -> eps_hat (B, C, H, W)."""
        emb = self.embed(t, y)
        h = self.inp(x)
        hs = [h]
        for layers in self.down:
            for layer in layers:
                h = layer(h, emb) if isinstance(layer, (ResBlock, SelfAttention)) else layer(h)
            hs.append(h)
        for layer in self.mid:
            h = layer(h, emb)
        for layers in self.up:
            h = torch.cat([h, hs.pop()], dim=1)
            for layer in layers:
                h = layer(h, hs[-1].shape[-2:]) if isinstance(layer, Upsample) else layer(h, emb)
        return self.out(h)

