"""The UNet over one axis, for audio and other sequences (B, C, L): eps_hat = UNet1d(x_t, t[, y]).

The image UNet's layout and blocks (unet.py) with Conv1d, an odd `kernel_size` for every
same-size convolution, and self-attention only in the middle: attention costs L^2, so it sits
at the lowest resolution (L / 2^(levels-1) positions: 128 for 4096 samples and 6 levels).
Labels are taken exactly as by `UNet` (-1 or y=None: the null class), so class-conditional
training and classifier-free guidance (conditioning.py) call both networks the same way.
"""
from __future__ import annotations

from ..errors import DifflabError
from .unet import UNet

PRESETS = {                            # small enough to train on a CPU
    "unet1d-tiny": dict(               # tests: a few thousand parameters
        base_channels=8,               # channels at full resolution
        channel_mults=(1, 2),          # channels per level = base * mult; one level per entry
        n_res_blocks=1,                # residual blocks per level on the way down (+1 on the way up)
        kernel_size=3,                 # convolution width (odd)
        attention=True,                # self-attention in the middle (lowest resolution)
        dropout=0.0,                   # dropout inside residual blocks
    ),
    # FSDD at 4 kHz, 4096 samples: levels of 4096 .. 128 samples, ~1.3M parameters
    "unet1d-small": dict(base_channels=16, channel_mults=(1, 2, 2, 4, 4, 8), n_res_blocks=1, kernel_size=5,
                         attention=True, dropout=0.0),
    # a GPU-sized variant (~12M parameters)
    "unet1d-base": dict(base_channels=32, channel_mults=(1, 2, 4, 4, 8, 8), n_res_blocks=2, kernel_size=5,
                        attention=True, dropout=0.1),
}
DEFAULTS = dict(base_channels=16, channel_mults=(1, 2, 2), n_res_blocks=1, kernel_size=3, attention=True, dropout=0.0,
                patch=1)


class UNet1d(UNet):
    """eps_hat = UNet1d(x_t, t, y=None) for sequences of shape (C, L).

    preset: "unet1d-tiny", "unet1d-small" or "unet1d-base" (see PRESETS), or None; explicit
    settings override it. base_channels, channel_mults, n_res_blocks, kernel_size, attention,
    dropout: see PRESETS; patch: as in `UNet` (p samples folded into channels). n_classes: None (unconditional) or the number of classes (labels as
    in `UNet`). norm_groups: GroupNorm groups (reduced to a divisor of each width);
    head_channels: channels per attention head.
    """

    name, dims, signal = "unet1d", 1, "sequences of shape (C, L)"
    presets, defaults = PRESETS, DEFAULTS
    bare_down_steps = True

    def check_sizes(self, sizes: list[int], attn: set[int]) -> None:
        super().check_sizes(sizes, attn)
        if sizes[0] < 2 ** (len(sizes) - 1):
            raise DifflabError(f"unet1d: {len(sizes)} levels halve the length {len(sizes) - 1} times; "
                               f"length {sizes[0]} is too short")
