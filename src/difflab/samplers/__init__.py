"""Samplers: functions `sample_<name>(denoise_fn, process, x_T, ts, *, generator, callback, **options)`.

`denoise_fn(x, t)` returns eps_hat (see common.py); `ts` is a decreasing sequence of times
from 1 (noise); `callback` receives {"i", "t", "x", "x0_hat"} at every step. registry.py lists
them all, each with its default time grid and its count of network evaluations.
"""
from __future__ import annotations

from .ancestral import sample_ddpm
from .common import CountingDenoiser
from .ddim import sample_ddim
from .dpm_solver import sample_dpm_solver
from .langevin import sample_langevin
from .masked import sample_masked
from .ode import sample_euler, sample_heun
from .pc import sample_pc
from .registry import REGISTRY, SAMPLERS, SamplerSpec, gaussian_samplers, get_sampler, get_spec

__all__ = ["REGISTRY", "SAMPLERS", "SamplerSpec", "get_sampler", "get_spec", "sample_ddpm", "sample_ddim",
           "sample_langevin", "sample_pc", "sample_euler", "sample_heun", "sample_dpm_solver", "sample_masked", "gaussian_samplers",
           "CountingDenoiser"]
