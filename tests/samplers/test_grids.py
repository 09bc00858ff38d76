"""Where the ancestral sampler steps: the linear-beta levels against a grid even in log-SNR.

With the exact score of a fine-structured mixture (gmm's 8 modes of std 0.1 on a ring of radius 2,
standardised as a run standardises it), DDPM's ancestral steps on the 1000 linear-beta levels pile
the samples into the modes: their mean true log-density lies far above the truth's. The same
sampler on 1000 steps evenly spaced in log-SNR lands on the truth. This is why `sample_grid` is
"log" for the ddpm method (config.py).
"""
import math

import pytest
import torch

from difflab.config import make_config, validate
from difflab.errors import DifflabError
from difflab.oracles import gmm_eps_fn
from difflab.processes import VPProcess
from difflab.samplers import sample_ddpm
from difflab.samplers.times import karras_times, ode_start_ratio, sampler_times

SCALE = math.sqrt(2.0 + 0.01)                                  # the ring's per-axis std: standardised units
ANGLES = 2 * math.pi * torch.arange(8, dtype=torch.float64) / 8
MEANS = 2.0 * torch.stack([ANGLES.cos(), ANGLES.sin()], 1) / SCALE
STD = 0.1 / SCALE
WEIGHTS = torch.full((8,), 1 / 8, dtype=torch.float64)


def _log_density(x):
    sq = ((x[:, None, :] - MEANS[None]) ** 2).sum(-1)
    comp = -0.5 * sq / STD**2 - 2 * math.log(STD) - math.log(2 * math.pi)
    return torch.logsumexp(comp + WEIGHTS.log(), 1)


def _truth(n, g):
    k = torch.multinomial(WEIGHTS, n, replacement=True, generator=g)
    return MEANS[k] + STD * torch.randn(n, 2, generator=g, dtype=torch.float64)


def _sample(ts, n=8000, seed=0):
    proc = VPProcess()
    g = torch.Generator().manual_seed(seed)
    fn = gmm_eps_fn(proc, MEANS, WEIGHTS, torch.full((8,), STD, dtype=torch.float64))
    return sample_ddpm(fn, proc, proc.prior_sample((n, 2), g).double(), ts, generator=g)


def test_ancestral_steps_on_the_linear_levels_pile_samples_into_the_modes():
    truth = _log_density(_truth(200_000, torch.Generator().manual_seed(1))).mean().item()
    se = 1.0 / math.sqrt(8000)                                  # log p's spread per sample is about 1 here
    proc = VPProcess()
    on_levels = _log_density(_sample(proc.default_times(None))).mean().item()
    on_log = _log_density(_sample(sampler_times(proc, "ddpm", None, dim=2, grid="log"))).mean().item()
    assert on_levels - truth > 0.06 > 5 * se, (on_levels, truth)          # too concentrated
    assert abs(on_log - truth) < 0.045, (on_log, truth)                   # within about 4 se of the truth


def test_a_discrete_sampler_on_a_noise_ratio_grid_takes_as_many_steps_as_the_process_has_levels():
    proc = VPProcess()
    ts = sampler_times(proc, "ddpm", None, dim=2, grid="log")
    assert torch.equal(ts, karras_times(proc, 1000, rho=math.inf, s_max=ode_start_ratio(proc, 2)))
    assert len(ts) == 1001 and ts[-1] == 0
    assert torch.equal(sampler_times(proc, "ddpm", 40, grid="process"), proc.default_times(40))
    assert len(sampler_times(proc, "dpm-solver", None, grid="log")) == 51          # an ODE solver keeps its 50
    with pytest.raises(DifflabError, match="sample_grid"):
        sampler_times(proc, "ddpm", None, grid="linear")


def test_the_ddpm_method_samples_on_the_log_grid_and_another_sampler_on_its_own():
    assert make_config({}, data="pinwheel", quiet=True).sample_grid == "log"
    assert make_config({}, data="pinwheel", sampler="dpm-solver", quiet=True).sample_grid is None
    assert make_config({}, ["sample_grid=process"], data="pinwheel", quiet=True).sample_grid == "process"
    with pytest.raises(DifflabError, match="sample_grid"):
        validate(make_config({}, ["sample_grid=log"], data="tictactoe", method="masked", quiet=True))
    with pytest.raises(DifflabError, match="sample_grid"):
        validate(make_config({}, ["sample_grid=cells"], data="pinwheel", quiet=True))
