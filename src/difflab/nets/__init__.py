"""Networks: eps_hat = net(x_t, t) with t of shape (B,) in [0, 1]."""
from __future__ import annotations

from ..errors import DifflabError, unknown_name
from .mlp import MLP
from .unet import UNet

NETWORKS = {"mlp": MLP, "unet": UNet}


def make_network(cfg: dict, data_shape) -> "torch.nn.Module":  # noqa: F821
    """Build a network from its config dict ({"name": "mlp", ...settings}, or
    {"name": "unet", "preset": "unet-28", ...settings that override the preset})."""
    cfg = dict(cfg)
    name = cfg.pop("name", None)
    if name not in NETWORKS:
        raise unknown_name("network", str(name), NETWORKS)
    try:
        return NETWORKS[name](data_shape, **cfg)
    except TypeError as e:
        raise DifflabError(f"network {name!r}: {e}") from None


__all__ = ["MLP", "NETWORKS", "UNet", "make_network"]
