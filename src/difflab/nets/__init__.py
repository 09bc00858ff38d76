"""Networks: eps_hat = net(x_t, t) with t of shape (B,) in [0, 1]."""
from __future__ import annotations

from ..errors import DifflabError, unknown_name
from .mlp import MLP
from .unet import UNet

NETWORKS = {"mlp": MLP, "unet": UNet}
_LAZY = {"unet1d": ("difflab.nets.unet1d", "UNet1d")}     # name -> (module, class), imported when asked for
_LAZY["transformer"] = ("difflab.nets.transformer", "Transformer")   # cells of categorical data (masked diffusion)


def _network_class(name):
    if name in NETWORKS:
        return NETWORKS[name]
    if name in _LAZY:
        import importlib

        module, cls = _LAZY[name]
        return getattr(importlib.import_module(module), cls)
    raise unknown_name("network", str(name), list(NETWORKS) + list(_LAZY))


def make_network(cfg: dict, data_shape) -> "torch.nn.Module":  # noqa: F821
    """Build a network from its config dict ({"name": "mlp", ...settings}, or
    {"name": "unet", "preset": "unet-28", ...settings that override the preset})."""
    cfg = dict(cfg)
    name = cfg.pop("name", None)
    cls = _network_class(name)
    try:
        return cls(data_shape, **cfg)
    except TypeError as e:
        raise DifflabError(f"network {name!r}: {e}") from None


__all__ = ["MLP", "NETWORKS", "UNet", "make_network"]
