"""Build the pieces of a run (dataset, process, network) from a Config, for training and loading."""
from __future__ import annotations

import numpy as np

from .config import Config
from .data import get_dataset
from .errors import DifflabError
from .nets import make_network
from .nets.scaling import InputScaled
from .nets.skip import GaussianSkip
from .processes import is_categorical, make_process, sigma_max_from_data
from .samplers.times import ode_start_ratio


def build_dataset(cfg: Config):
    opts = dict(cfg.data_options)
    for key in ("n_train", "n_test"):
        if getattr(cfg, key) is not None:
            opts[key] = getattr(cfg, key)
    opts.setdefault("seed", cfg.data_seed)
    return get_dataset(cfg.data, **opts)


def resolve_process_config(cfg: Config, x_train_normalised: np.ndarray, categories=None) -> dict:
    """The process settings with data-dependent values filled in (VE's sigma_max = "auto"; VP's
    max_ratio = "auto", the noise ratio where the data's size makes x_t pure noise, see
    `samplers.times.ode_start_ratio`; a categorical process's n_classes, the number of the data's
    `categories`)."""
    pc = dict(cfg.process)
    if pc.get("name") == "ve" and pc.get("sigma_max", "auto") == "auto":
        pc["sigma_max"] = sigma_max_from_data(x_train_normalised)
    if pc.get("name") == "vp" and pc.get("max_ratio") == "auto":
        full = make_process({**pc, "max_ratio": None})
        pc["max_ratio"] = ode_start_ratio(full, int(np.prod(x_train_normalised.shape[1:])))
    if categories is not None:
        pc.setdefault("n_classes", len(categories))
    return pc


def data_coder(cfg: Config, ds):
    """How the run's data become what the process sees and back (`normalise` / `unnormalise`):
    the dataset's `Categories` (values <-> int64 classes) for a categorical process, else its
    Normaliser (floats)."""
    return ds.categories() if is_categorical(cfg.process) else ds.normaliser


def build_process(process_config: dict):
    return make_process(process_config)


def build_network(cfg: Config, data_shape, process=None, *, n_classes: int | None = None):
    """The eps network. A class-conditional run gets `n_classes` (the dataset's) for its network.
    With `network.input_scaling` (on unless set false) and a process, the network is wrapped so
    it sees unit-variance inputs at every noise level (see nets/scaling.py); a variance-preserving
    process needs no wrapper, so none is added to its hot path. With `network.gaussian_skip` (off
    unless set true) the network learns only a correction to the exact eps of N(0, I) data (see
    nets/skip.py); high-dimensional vectors need it when the MLP is not wider than the data."""
    net_cfg = dict(cfg.network)
    scaled = net_cfg.pop("input_scaling", True)
    skip = net_cfg.pop("gaussian_skip", False)
    if not isinstance(skip, bool):
        raise DifflabError(f"network.gaussian_skip must be true or false, got {skip!r}")
    if cfg.class_conditional:
        if not n_classes:
            raise DifflabError(f"class_conditional needs labelled data; dataset {cfg.data!r} has no class labels")
        if net_cfg.get("name") not in ("unet", "unet1d"):
            raise DifflabError("class_conditional needs a network that takes labels (unet, unet1d), "
                               f"not {net_cfg.get('name')!r}")
        net_cfg["n_classes"] = int(n_classes)
    if getattr(process, "categorical", False):       # a categorical network predicts the process's classes
        net_cfg["n_classes"] = process.n_classes
        scaled = False
    net = make_network(net_cfg, data_shape)
    if scaled and process is not None and not process.variance_preserving:   # VP inputs have unit variance already
        net = InputScaled(net, process)
    if skip:
        if process is None:
            raise DifflabError("network.gaussian_skip needs the noise process")
        net = GaussianSkip(net, process)
    return net


def dataset_labels(ds):
    """(train labels, test labels) as int64 arrays, or (None, None) for unlabelled data."""
    if getattr(ds, "labels_train", None) is None:
        return None, None
    return np.asarray(ds.labels_train, dtype=np.int64), np.asarray(ds.labels_test, dtype=np.int64)
