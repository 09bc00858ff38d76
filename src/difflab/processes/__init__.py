"""Noise processes: VP (DDPM) and VE (NCSN-style DSM) behind one interface; masked (absorbing
state) diffusion for categorical data, whose processes say `categorical = True`."""
from __future__ import annotations

from ..errors import check_options, unknown_name
from .base import Process
from .masked import MaskedProcess
from .ve import VEProcess, sigma_max_from_data
from .vp import VPProcess

PROCESSES = {"vp": VPProcess, "ve": VEProcess, "masked": MaskedProcess}


def is_categorical(cfg: dict) -> bool:
    """Whether the process named in a config dict works on classes (int64) rather than floats."""
    return bool(getattr(PROCESSES.get(cfg.get("name")), "categorical", False))


def make_process(cfg: dict) -> Process:
    """Build a process from its config dict ({"name": "vp"|"ve"|"masked", ...settings})."""
    cfg = dict(cfg)
    name = cfg.pop("name", None)
    if name not in PROCESSES:
        raise unknown_name("process", str(name), PROCESSES)
    check_options(PROCESSES[name], cfg, f"process {name!r}")
    return PROCESSES[name](**cfg)


__all__ = ["Process", "VPProcess", "VEProcess", "MaskedProcess", "make_process", "is_categorical", "sigma_max_from_data", "PROCESSES"]
