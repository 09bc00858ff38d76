"""Build the pieces of a run (dataset, process, network) from a Config, for training and loading."""
from __future__ import annotations

import numpy as np

from .config import Config
from .data import get_dataset
from .nets import make_network
from .processes import make_process, sigma_max_from_data


def build_dataset(cfg: Config):
    opts = dict(cfg.data_options)
    for key in ("n_train", "n_test"):
        if getattr(cfg, key) is not None:
            opts[key] = getattr(cfg, key)
    opts.setdefault("seed", cfg.data_seed)
    return get_dataset(cfg.data, **opts)


def resolve_process_config(cfg: Config, x_train_normalised: np.ndarray) -> dict:
    """The process settings with data-dependent values filled in (VE's sigma_max = "auto")."""
    pc = dict(cfg.process)
    if pc.get("name") == "ve" and pc.get("sigma_max", "auto") == "auto":
        pc["sigma_max"] = sigma_max_from_data(x_train_normalised)
    return pc


def build_process(process_config: dict):
    return make_process(process_config)


def build_network(cfg: Config, data_shape):
    return make_network(cfg.network, data_shape)
