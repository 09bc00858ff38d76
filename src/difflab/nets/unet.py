"""One UNet for signals with 1 or 2 spatial axes: eps_hat = UNet(x_t, t[, y]).

The DDPM / guided-diffusion layout, kept small for CPUs, over sequences (B, C, L) or images
(B, C, H, W) alike (the blocks are in blocks.py):

    x -> conv -> per level: n_res_blocks x ResBlock (+ attention at chosen sizes), downsample
      -> middle: ResBlock, attention, ResBlock
      -> per level, reversed: (n_res_blocks + 1) x [concat skip, ResBlock (+ attention)], upsample
      -> GroupNorm, SiLU, conv -> eps_hat

Every ResBlock adds the embedding of t (the shared `TimeEmbedding`) and, when `n_classes` is
set, of the class label. The class embedding has one extra row, the null class, used when the
label is dropped; training with labels dropped at random and sampling with the guided eps of
conditioning.py is classifier-free guidance. Strided-conv downsampling takes each size n to
ceil(n/2); upsampling goes back to the exact size of the matching skip, so odd sizes
(28 -> 14 -> 7 -> 4 -> 7) work. Output convolutions of each block start at zero, so a fresh
network is a small perturbation of the identity path and predicts eps_hat = 0.

`UNet` is the image network ("unet", 2 spatial axes, the PRESETS below); `UNet1d` (unet1d.py) the
same class over one axis, with its own presets and settings.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DifflabError, unknown_name
from .blocks import Downsample, ResBlock, SelfAttention, Upsample, norm, same_conv, zero
from .embedding import TimeEmbedding

PRESETS = {                          # small enough to train on a CPU; see the class docstring for bigger
    "unet-28": dict(                 # MNIST / Fashion-MNIST, 28x28x1: feature maps 28, 14, 7
        base_channels=16,            # channels at full resolution
        channel_mults=(1, 2, 4),     # channels per level = base * mult; one level per entry
        n_res_blocks=1,              # residual blocks per level on the way down (+1 on the way up)
        attention_resolutions=(7,),  # feature-map sizes that get self-attention (the middle always has it)
        dropout=0.0,                 # dropout inside residual blocks
    ),
    "unet-64": dict(                 # spectrogram images 64x64x1 (audio, representation: spectrogram): maps 64 .. 8
        base_channels=16,            # as unet-28: ~0.8 s per step of 32 images on one CPU thread
        channel_mults=(1, 2, 2, 4),  # four levels, so the middle (and its attention) works on 8x8
        n_res_blocks=1,
        attention_resolutions=(8,),
        dropout=0.0,
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
                dropout=0.0, patch=1)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class UNet(nn.Module):
    """eps_hat = UNet(x_t, t, y=None) for images of shape (C, H, W) (or, as `UNet1d`, sequences (C, L)).

    preset: "unet-28" or "unet-32" (see PRESETS), or None; explicit settings override it.
    base_channels, channel_mults, n_res_blocks, attention_resolutions, dropout: see PRESETS.
    patch: p > 1 folds each p x p patch (p samples for sequences) into channels before the first
    convolution and unfolds the output back (pixel unshuffle / shuffle): the levels run at 1/p of
    the size, so a step costs about 1/p^2 as much for images (1/p for sequences). Every spatial
    size must be a multiple of p; `attention_resolutions` count the folded sizes. Measured on FSDD
    spectrograms (BENCHMARKS.md, audio notes): patch 2 at base 16, 4787 steps in 20 minutes, 38% of
    guided clips recognised against unet-64's 67% at 3152 steps; no preset uses it.
    n_classes: None (unconditional) or the number of classes; labels y (B,) in 0..n_classes-1,
    -1 (or y=None for the whole batch) meaning "no label" (the null class).
    norm_groups: GroupNorm groups (reduced to a divisor of each width); head_channels: channels
    per attention head.

    DDPM's CIFAR-10 network (35.7M parameters, a GPU model) is preset "unet-32" with
    base_channels=128, channel_mults=(1, 2, 2, 2), n_res_blocks=2, attention_resolutions=(16,).

    A subclass for other signals sets the class attributes below; settings it does not list
    take the image network's values (kernel_size 3, attention in the middle, no other attention).
    """

    name = "unet"                        # the network's name in configs and messages
    dims = 2                             # spatial axes: data of shape (C, H, W)
    signal = "images of shape (C, H, W)"
    presets, defaults = PRESETS, DEFAULTS
    bare_down_steps = False              # True: a one-layer step of the down path is stored as that layer
    #                                      (state_dict keys down.N.*), else in a list (down.N.0.*)

    def __init__(self, data_shape, preset: str | None = None, *, norm_groups: int = 8,
                 head_channels: int = 32, n_classes: int | None = None, **settings):
        super().__init__()
        name, dims = self.name, self.dims
        if preset is not None and preset not in self.presets:
            raise unknown_name(f"{name} preset", preset, self.presets)
        unknown = set(settings) - set(self.defaults)
        if unknown:
            raise DifflabError(f"{name}: unknown setting(s) {', '.join(sorted(unknown))}; valid: "
                               f"preset, {', '.join(sorted(self.defaults))}, n_classes, norm_groups, head_channels")
        cfg = {**self.defaults, **(self.presets[preset] if preset else {}), **settings}
        if len(tuple(data_shape)) != dims + 1:
            raise DifflabError(f"{name} needs {self.signal}, got data of shape {tuple(data_shape)}")
        if n_classes is not None and (not _is_int(n_classes) or n_classes < 1):
            raise DifflabError(f"{name}: n_classes must be None or an integer >= 1, got {n_classes!r}")
        kernel = cfg.get("kernel_size", 3)
        if not _is_int(kernel) or kernel < 1 or kernel % 2 == 0:
            raise DifflabError(f"{name}: kernel_size must be an odd positive integer, got {kernel!r}")
        mults = tuple(int(m) for m in cfg["channel_mults"])
        if not mults or min(mults) < 1:
            raise DifflabError(f"{name}: channel_mults must be a non-empty list of positive integers, got {mults!r}")
        self.data_shape = tuple(int(s) for s in data_shape)
        patch = cfg.get("patch", 1)
        if not _is_int(patch) or patch < 1:
            raise DifflabError(f"{name}: patch must be a positive integer, got {patch!r}")
        if any(n % patch for n in self.data_shape[1:]):
            raise DifflabError(f"{name}: patch {patch} does not divide the data's spatial size(s) "
                               f"{list(self.data_shape[1:])}")
        self.patch = patch
        self.settings = {"preset": preset, **cfg, "n_classes": n_classes}
        self.n_classes = n_classes
        c_in = self.data_shape[0] * patch ** dims         # channels after folding the patches
        sizes = [self.data_shape[1] // patch]             # size of the first spatial axis at each level
        for _ in mults[1:]:
            sizes.append(-(-sizes[-1] // 2))
        attn = {int(r) for r in cfg.get("attention_resolutions", ())}
        self.check_sizes(sizes, attn)
        base, n_res, dropout = int(cfg["base_channels"]), int(cfg["n_res_blocks"]), float(cfg["dropout"])
        emb_dim = 4 * base
        self.temb = TimeEmbedding(base, emb_dim)
        self.label_emb = nn.Embedding(n_classes + 1, emb_dim) if n_classes else None   # last row: null class

        def block(c_a, c_b):
            return ResBlock(dims, c_a, c_b, emb_dim, dropout, norm_groups, kernel)

        def attention(ch):
            return SelfAttention(dims, ch, norm_groups, head_channels)

        def step(layers):
            return layers[0] if self.bare_down_steps and len(layers) == 1 else nn.ModuleList(layers)

        # Down path: every output is kept as a skip for the up path
        self.inp = same_conv(dims, c_in, base, kernel)
        self.down = nn.ModuleList()
        skips, ch = [base], base
        for level, mult in enumerate(mults):
            for _ in range(n_res):
                layers = [block(ch, base * mult)]
                ch = base * mult
                if sizes[level] in attn:
                    layers.append(attention(ch))
                self.down.append(step(layers))
                skips.append(ch)
            if level < len(mults) - 1:
                self.down.append(step([Downsample(dims, ch)]))
                skips.append(ch)

        # Middle, at the lowest resolution
        self.mid = nn.ModuleList([block(ch, ch)] + ([attention(ch)] if cfg.get("attention", True) else [])
                                 + [block(ch, ch)])

        # Up path: each block eats one skip
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(mults))):
            for i in range(n_res + 1):
                layers = [block(ch + skips.pop(), base * mult)]
                ch = base * mult
                if sizes[level] in attn:
                    layers.append(attention(ch))
                if level > 0 and i == n_res:
                    layers.append(Upsample(dims, ch, kernel))
                self.up.append(nn.ModuleList(layers))

        self.out = nn.Sequential(norm(ch, norm_groups), nn.SiLU(), zero(same_conv(dims, ch, c_in, kernel)))

    def check_sizes(self, sizes: list[int], attn: set[int]) -> None:
        """Refuse settings that do not fit the levels' sizes (of the first spatial axis)."""
        if not attn <= set(sizes):
            raise DifflabError(f"{self.name}: attention_resolutions {sorted(attn)} are not all among this network's "
                               f"feature-map sizes {sizes} (size {sizes[0]}, {len(sizes)} levels)")

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

    def fold(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, *spatial) -> (B, C p^dims, *spatial / p): each patch's values as channels."""
        p = self.patch
        if p == 1:
            return x
        if self.dims == 2:
            return F.pixel_unshuffle(x, p)
        b, c, n = x.shape
        return x.reshape(b, c, n // p, p).transpose(2, 3).reshape(b, c * p, n // p)

    def unfold(self, h: torch.Tensor) -> torch.Tensor:
        """The inverse of `fold`."""
        p = self.patch
        if p == 1:
            return h
        if self.dims == 2:
            return F.pixel_shuffle(h, p)
        b, cp, n = h.shape
        return h.reshape(b, cp // p, p, n).transpose(2, 3).reshape(b, cp // p, n * p)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B, C, *spatial), t: (B,) in [0, 1], y: (B,) labels or None -> eps_hat with x's shape."""
        emb = self.embed(t, y)
        h = self.inp(self.fold(x))
        hs = [h]
        for step in self.down:
            for layer in step if isinstance(step, nn.ModuleList) else [step]:
                h = layer(h) if isinstance(layer, Downsample) else layer(h, emb)
            hs.append(h)
        for layer in self.mid:
            h = layer(h, emb)
        for layers in self.up:
            h = torch.cat([h, hs.pop()], dim=1)
            for layer in layers:
                h = layer(h, hs[-1].shape[2:]) if isinstance(layer, Upsample) else layer(h, emb)
        return self.unfold(self.out(h))
