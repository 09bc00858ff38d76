"""Noise processes: VP (DDPM) and VE (NCSN-style DSM) behind one interface."""
from __future__ import annotations

from ..errors import check_options, unknown_name
from .base import Process
from .ve import VEProcess, sigma_max_from_data
from .vp import VPProcess

PROCESSES = {"vp": VPProcess, "ve": VEProcess}


def make_process(cfg: dict) -> Process:
    """Build a process from its config dict ({"name": "vp"|"ve", ...settings})."""
    cfg = dict(cfg)
    name = cfg.pop("name", None)
    if name not in PROCESSES:
        raise unknown_name("process", str(name), PROCESSES)
    check_options(PROCESSES[name], cfg, f"process {name!r}")
    return PROCESSES[name](**cfg)


__all__ = ["Process", "VPProcess", "VEProcess", "make_process", "sigma_max_from_data", "PROCESSES"]
