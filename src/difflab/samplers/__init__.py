"""Samplers: functions `sample_<name>(denoise_fn, process, x_T, ts, *, generator, callback, **options)`.

`denoise_fn(x, t)` returns eps_hat (see common.py); `ts` is a decreasing sequence of times
from 1 (noise); `callback` receives {"i", "t", "x", "x0_hat"} at every step.
"""
from __future__ import annotations

from ..errors import unknown_name
from .ancestral import sample_ddpm
from .common import CountingDenoiser
from .ddim import sample_ddim
from .dpm_solver import sample_dpm_solver
from .langevin import sample_langevin
from .ode import sample_euler, sample_heun
from .pc import sample_pc

SAMPLERS = {"ddpm": sample_ddpm, "ddim": sample_ddim, "langevin": sample_langevin, "pc": sample_pc,
            "euler": sample_euler, "heun": sample_heun, "dpm-solver": sample_dpm_solver}


def get_sampler(name: str):
    if name not in SAMPLERS:
        raise unknown_name("sampler", name, SAMPLERS)
    return SAMPLERS[name]


__all__ = ["SAMPLERS", "get_sampler", "sample_ddpm", "sample_ddim", "sample_langevin", "sample_pc", "sample_euler",
           "sample_heun", "sample_dpm_solver", "CountingDenoiser"]
