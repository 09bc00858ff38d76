"""Networks: eps_hat = net(x_t, t) with t of shape (B,) in [0, 1]."""
from __future__ import annotations

from torch import nn

from ..errors import check_options, unknown_name
from .cellconv import CellConv
from .cellmlp import CellMLP
from .mlp import MLP
from .transformer import Transformer
from .unet import UNet
from .unet1d import UNet1d

NETWORKS = {"mlp": MLP, "unet": UNet, "unet1d": UNet1d,
            "transformer": Transformer,      # cells of categorical data (masked diffusion)
            "cellmlp": CellMLP,              # the same, a residual MLP on one-hot cells
            "cellconv": CellConv}            # the same, a residual conv net over cells on a grid (boards)


def _network_class(name):
    if name not in NETWORKS:
        raise unknown_name("network", str(name), NETWORKS)
    return NETWORKS[name]


def make_network(cfg: dict, data_shape) -> nn.Module:
    """Build a network from its config dict ({"name": "mlp", ...settings}, or
    {"name": "unet", "preset": "unet-28", ...settings that override the preset})."""
    cfg = dict(cfg)
    name = cfg.pop("name", None)
    cls = _network_class(name)
    check_options(cls, cfg, f"network {name!r}", fixed=("data_shape",))
    return cls(data_shape, **cfg)


__all__ = ["CellConv", "CellMLP", "MLP", "NETWORKS", "UNet", "UNet1d", "make_network"]
