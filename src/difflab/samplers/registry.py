"""The one sampler registry: each sampler's function, default time grid and network evaluations.

`grid` is the time grid a sampler steps on by default (times.py builds it): "process", the
process's own levels (the discrete-time samplers); "karras", the noise-ratio spacing of Karras
et al. 2022 (the ODE solvers); "log", noise ratios evenly spaced in log, i.e. uniform in
log-SNR, the rho -> infinity limit of Karras's spacing and Lu et al. 2022's choice for
DPM-Solver (on the 2D study's pinwheel at 10 NFE, DPM-Solver++(2M) lands within the noise floor
on the log grid and 6-19x above it on Karras's).

"cells": one step per cell of the data by default (the masked sampler: one cell revealed per
step), else `steps` even steps of the process (`default_times`).

`categorical` marks the samplers of categorical processes (masked diffusion): they take int64
classes and logits, not the Gaussian processes' floats and eps, so the Gaussian sampler tests
leave them out and a run's sampler must match its process's kind.

`count(steps, to_zero, options)` counts network evaluations per sample on a decreasing grid of
`steps` transitions that ends at sigma = 0 (`to_zero`, VP) or at sigma > 0 (VE, where one more
evaluation is the final Tweedie step of `finish`); `options` are the sampler's own, with their
defaults filled in. `SamplerSpec.nfe(process, ts, **options)` applies it to a grid.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

from ..errors import check_options, unknown_name
from .ancestral import sample_ddpm
from .ddim import sample_ddim
from .dpm_solver import sample_dpm_solver
from .langevin import sample_langevin
from .masked import sample_masked
from .ode import sample_euler, sample_heun
from .pc import sample_pc

COMMON = ("denoise_fn", "process", "x_T", "ts", "generator", "callback")    # what every sampler takes
GRID_KINDS = ("process", "karras", "log", "cells")


@dataclass(frozen=True)
class SamplerSpec:
    name: str               # the name in configs and on the command line
    fn: Callable            # sample_<name>(denoise_fn, process, x_T, ts, *, generator, callback, **options)
    grid: str               # default time grid: one of GRID_KINDS
    count: Callable         # (steps, to_zero, options) -> network evaluations per sample
    categorical: bool = False   # works on a categorical process (int64 classes, logits), not a Gaussian one

    def __post_init__(self):
        if self.grid not in GRID_KINDS:
            raise ValueError(f"sampler {self.name!r}: grid must be one of {GRID_KINDS}, got {self.grid!r}")

    def options(self) -> dict:
        """The sampler's own options and their defaults."""
        return {p.name: p.default for p in inspect.signature(self.fn).parameters.values() if p.name not in COMMON}

    def check_options(self, options: dict) -> None:
        """A one-line DifflabError for an option this sampler does not take (before calling it)."""
        check_options(self.fn, options, f"sampler {self.name!r}", fixed=COMMON)

    def nfe(self, process, ts, **options) -> int:
        """Network evaluations per sample over the decreasing times `ts`."""
        to_zero = float(ts[-1]) == 0.0 if self.categorical else float(process.sigma(float(ts[-1]))) == 0.0
        return self.count(len(ts) - 1, to_zero, {**self.options(), **options})


def _one_per_step(steps, to_zero, options):
    return steps + (not to_zero)                         # + the Tweedie step on a VE grid


def _heun(steps, to_zero, options):
    return 2 * steps - 1 if to_zero else 2 * steps + 1   # the step to sigma = 0 is an Euler step


def _pc(steps, to_zero, options):
    levels = steps if to_zero else steps + 1             # corrector steps at every level with sigma > 0
    return options["n_corrector"] * levels + steps + (not to_zero)


def _langevin(steps, to_zero, options):
    levels = steps if to_zero else steps + 1
    return options["n_steps_each"] * levels + bool(options["final_denoise"])


def _masked(steps, to_zero, options):
    return steps + options["corrector_rounds"] * options["corrector_block"]   # at most: a step that reveals
                                                                                # nothing skips its call


REGISTRY = {spec.name: spec for spec in (
    SamplerSpec("ddpm", sample_ddpm, "process", _one_per_step),
    SamplerSpec("ddim", sample_ddim, "process", _one_per_step),
    SamplerSpec("langevin", sample_langevin, "process", _langevin),
    SamplerSpec("pc", sample_pc, "process", _pc),
    SamplerSpec("euler", sample_euler, "karras", _one_per_step),
    SamplerSpec("heun", sample_heun, "karras", _heun),
    SamplerSpec("dpm-solver", sample_dpm_solver, "log", _one_per_step),
    SamplerSpec("masked", sample_masked, "cells", _masked, categorical=True),
)}
SAMPLERS = {name: spec.fn for name, spec in REGISTRY.items()}    # name -> function: a view of REGISTRY


def get_spec(name: str) -> SamplerSpec:
    if name not in REGISTRY:
        raise unknown_name("sampler", name, REGISTRY)
    return REGISTRY[name]


def gaussian_samplers() -> list[str]:
    """The names of the samplers of the Gaussian (VP, VE) processes."""
    return [name for name, spec in REGISTRY.items() if not spec.categorical]


def get_sampler(name: str):
    """The sampler function registered under `name`."""
    return get_spec(name).fn


__all__ = ["SamplerSpec", "REGISTRY", "SAMPLERS", "GRID_KINDS", "get_spec", "get_sampler", "gaussian_samplers"]
