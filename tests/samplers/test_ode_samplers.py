"""Probability-flow ODE solvers against the exact solution for Gaussian data; time grids; PC.

For data N(m, C) the scaled state y = x / alpha at noise ratio s = sigma / alpha has the marginal
N(m, C + s^2 I), and the PF-ODE dy/ds = eps_hat = s (C + s^2 I)^{-1} (y - m) decouples along the
eigenvectors of C (eigenvalues c): d log(y - m) / ds = s / (c + s^2), so

    y(s) - m = (y(s_max) - m) * sqrt((c + s^2) / (c + s_max^2))      per eigen-direction.

The solvers end with the Tweedie step x0_hat = m + C (C + s^2 I)^{-1} (y - m) at the last level
(`finish`), a fixed well-conditioned linear map of y, so the error of x0_hat shows the order of
the solver.
"""

import math
import pytest
import torch

from difflab.errors import DifflabError
from difflab.oracles import gaussian_eps_fn
from difflab.processes import VEProcess, VPProcess
from difflab.samplers import (SAMPLERS, CountingDenoiser, sample_ddim, sample_dpm_solver, sample_euler,
                              sample_heun, sample_pc)
from difflab.samplers.times import ODE_START_SNR, ode_start_ratio, karras_times, sampler_times, smallest_level_time, t_from_noise_ratio
from difflab.utils import append_dims

MEAN = torch.tensor([0.5, -0.3], dtype=torch.float64)
COV = torch.tensor([[1.0, 0.6], [0.6, 0.8]], dtype=torch.float64)
PROCESSES = {"vp": VPProcess(), "ve": VEProcess(sigma_min=0.01, sigma_max=20.0, n_levels=60)}
SOLVERS = {"euler": sample_euler, "heun": sample_heun, "dpm-solver": sample_dpm_solver}
ORDER = {"euler": 1, "heun": 2, "dpm-solver": 2}
S_END = 0.05      # the convergence grids stop here: no final first-order step to sigma = 0


def exact_x0_hat(proc, x_T, s_end):
    """Tweedie's x0_hat at noise ratio s_end on the exact PF-ODE trajectory from x_T at t = 1."""
    c, U = torch.linalg.eigh(COV)
    s_max = float(proc.noise_ratio(1.0))
    z = (x_T / float(proc.alpha(1.0)) - MEAN) @ U                 # y(s_max) - m in the eigenbasis
    z = z * ((c + s_end**2) / (c + s_max**2)).sqrt()             # y(s_end) - m
    return MEAN + (z * c / (c + s_end**2)) @ U.T                 # m + C (C + s^2)^-1 (y - m)


def _convergence_grid(proc, steps):
    ts = karras_times(proc, steps, s_min=S_END)
    return ts[:-1] if float(proc.sigma(float(ts[-1]))) == 0 else ts   # VP: drop the step to t = 0


@pytest.mark.parametrize("proc_name", ["vp", "ve"])
@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_order_of_convergence(name, proc_name):
    proc = PROCESSES[proc_name]
    fn = gaussian_eps_fn(proc, MEAN, COV)
    x_T = proc.prior_sample((200, 2), torch.Generator().manual_seed(0)).double()
    errors = []
    for steps in (16, 32, 64):
        ts = _convergence_grid(proc, steps)
        s_end = float(proc.noise_ratio(float(ts[-1])))
        assert abs(s_end / S_END - 1) < 1e-9
        x = SOLVERS[name](fn, proc, x_T, ts)
        errors.append((x - exact_x0_hat(proc, x_T, s_end)).abs().max().item())
    ratios = [errors[i] / errors[i + 1] for i in range(2)]
    expected = 2.0 ** ORDER[name]                                # halving the step divides the error by 2^order
    assert all(0.85 * expected < r < 1.2 * expected for r in ratios), (errors, ratios)


def _float32_times(fn):
    """The oracle at float32-rounded times, as a float32 network sees them, on a grid that float32 represents."""
    return lambda x, t: fn(x, t.float().double())


@pytest.mark.parametrize("proc_name", ["vp", "ve"])
def test_euler_and_first_order_dpm_solver_are_ddim(proc_name):
    proc = PROCESSES[proc_name]
    fn = _float32_times(gaussian_eps_fn(proc, MEAN, COV))
    x_T = proc.prior_sample((100, 2), torch.Generator().manual_seed(1)).double()
    for ts in (karras_times(proc, 12), proc.default_times(15)):
        ts = ts.float().double()                                  # grid times that float32 represents exactly
        ddim = sample_ddim(fn, proc, x_T, ts)
        assert torch.allclose(sample_euler(fn, proc, x_T, ts), ddim, rtol=0, atol=1e-10)
        assert torch.allclose(sample_dpm_solver(fn, proc, x_T, ts, order=1), ddim, rtol=0, atol=1e-10)
    ts = karras_times(proc, 1).float().double()                   # one step: DPM-Solver++(2M) is first order
    assert torch.allclose(sample_dpm_solver(fn, proc, x_T, ts), sample_ddim(fn, proc, x_T, ts), rtol=0, atol=1e-10)


@pytest.mark.parametrize("proc_name", ["vp", "ve"])
def test_stochastic_dpm_solver_is_ddim_eta_1_at_first_order_and_samples_the_gaussian(proc_name):
    """SDE-DPM-Solver++: its first order draws exactly DDIM's eta = 1 steps (the same noise from the
    same generator); its second order, with the exact denoiser of N(m, C), gives samples whose mean
    and covariance match m and C within their sampling error."""
    proc = PROCESSES[proc_name]
    fn = _float32_times(gaussian_eps_fn(proc, MEAN, COV))
    x_T = proc.prior_sample((100, 2), torch.Generator().manual_seed(1)).double()
    ts = proc.default_times(15).float().double()
    one = sample_dpm_solver(fn, proc, x_T, ts, order=1, stochastic=True, generator=torch.Generator().manual_seed(5))
    ddim = sample_ddim(fn, proc, x_T, ts, eta=1.0, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(one, ddim, rtol=0, atol=1e-10)
    assert not torch.allclose(one, sample_dpm_solver(fn, proc, x_T, ts, order=1), atol=1e-3)   # it adds noise
    n = 20000
    x_T = proc.prior_sample((n, 2), torch.Generator().manual_seed(2)).double()
    x = sample_dpm_solver(gaussian_eps_fn(proc, MEAN, COV), proc, x_T, sampler_times(proc, "dpm-solver", 50, grid="log"),
                          stochastic=True, generator=torch.Generator().manual_seed(3))
    # standard errors at n = 20000: mean about 0.007, covariance entries about 0.01
    assert (x.mean(0) - MEAN).abs().max() < 0.03 and (torch.cov(x.T) - COV).abs().max() < 0.05


def test_dpm_solver_second_step_uses_the_multistep_correction():
    proc = PROCESSES["ve"]
    fn = gaussian_eps_fn(proc, MEAN, COV)
    x_T = proc.prior_sample((50, 2), torch.Generator().manual_seed(2)).double()
    ts = karras_times(proc, 6)
    one, two = [], []
    sample_dpm_solver(fn, proc, x_T, ts, order=1, callback=one.append)
    sample_dpm_solver(fn, proc, x_T, ts, order=2, callback=two.append)
    assert torch.equal(one[1]["x"], two[1]["x"])                  # the first step is first order in both
    assert not torch.allclose(one[2]["x"], two[2]["x"])


@pytest.mark.parametrize("proc_name", ["vp", "ve"])
def test_nfe_is_counted_honestly(proc_name):
    proc = PROCESSES[proc_name]
    fn = gaussian_eps_fn(proc, MEAN, COV)
    to_zero = proc_name == "vp"                                   # VP grids end at sigma = 0, VE at sigma_min + finish
    n = 7
    expected = {"euler": n if to_zero else n + 1,
                "dpm-solver": n if to_zero else n + 1,
                "heun": 2 * n - 1 if to_zero else 2 * n + 1,
                # pc, 2 corrector steps: every level with sigma > 0, one predictor per step, finish on VE
                "pc": 2 * n + n if to_zero else 2 * (n + 1) + n + 1}
    for name, nfe in expected.items():
        counter = CountingDenoiser(fn)
        ts = sampler_times(proc, name, n)
        assert len(ts) == n + 1
        SAMPLERS[name](counter, proc, proc.prior_sample((5, 2)).double(), ts, n_corrector=2) if name == "pc" else \
            SAMPLERS[name](counter, proc, proc.prior_sample((5, 2)).double(), ts)
        assert counter.nfe == nfe, (name, counter.nfe, nfe)


def _iso_eps(proc, var=0.5):
    """Exact eps for N(0, var I) data of any shape (B, ...)."""
    def fn(x, t):
        a, s = append_dims(proc.alpha(t), x.ndim), append_dims(proc.sigma(t), x.ndim)
        return (s * x.double() / (a**2 * var + s**2)).to(x.dtype)
    return fn


@pytest.mark.parametrize("proc_name", ["vp", "ve"])
@pytest.mark.parametrize("name", ["euler", "heun", "dpm-solver", "pc"])
def test_any_shape(name, proc_name):
    """(B, C, L) samples equal the flattened (B, C*L) samples: nothing assumes vectors."""
    proc = PROCESSES[proc_name]
    fn = _iso_eps(proc)
    x_T = proc.prior_sample((8, 3, 4), torch.Generator().manual_seed(0))
    ts = sampler_times(proc, name, 10)
    a = SAMPLERS[name](fn, proc, x_T, ts, generator=torch.Generator().manual_seed(1))
    b = SAMPLERS[name](fn, proc, x_T.flatten(1), ts, generator=torch.Generator().manual_seed(1))
    assert a.shape == (8, 3, 4) and torch.isfinite(a).all()
    assert torch.allclose(a.flatten(1), b, atol=1e-5)


def test_pc_recovers_gaussian_moments_on_ve():
    proc = VEProcess(sigma_min=0.01, sigma_max=40.0)
    g = torch.Generator().manual_seed(4)
    x = sample_pc(gaussian_eps_fn(proc, MEAN, COV), proc, proc.prior_sample((4000, 2), g), proc.default_times(100),
                  generator=g)
    assert torch.allclose(x.mean(0).double(), MEAN, atol=0.06)
    assert torch.allclose(torch.cov(x.T).double(), COV, atol=0.08)


def test_pc_options_are_checked():
    proc = PROCESSES["ve"]
    with pytest.raises(DifflabError, match="n_corrector"):
        sample_pc(_iso_eps(proc), proc, proc.prior_sample((2, 2)), proc.default_times(3), n_corrector=-1)
    with pytest.raises(DifflabError, match="order"):
        sample_dpm_solver(_iso_eps(proc), proc, proc.prior_sample((2, 2)), proc.default_times(3), order=3)


# -- time grids ------------------------------------------------------------------------------

@pytest.mark.parametrize("proc_name", ["vp", "ve"])
def test_t_from_noise_ratio_inverts_the_process(proc_name):
    proc = PROCESSES[proc_name]
    t = torch.tensor([0.0, 1e-3, 0.02, 0.3, 0.77, 1.0], dtype=torch.float64)
    s = proc.noise_ratio(t)
    assert torch.allclose(t_from_noise_ratio(proc, s), t, atol=1e-12)
    sigma = s / (1 + s**2).sqrt() if proc_name == "vp" else s     # VP: alpha^2 + sigma^2 = 1; VE: alpha = 1
    assert torch.allclose(t_from_noise_ratio(proc, s), proc.t_from_sigma(sigma), atol=1e-9)


@pytest.mark.parametrize("proc_name", ["vp", "ve"])
def test_karras_times(proc_name):
    proc, rho, steps = PROCESSES[proc_name], 7.0, 10
    ts = karras_times(proc, steps, rho=rho)
    assert len(ts) == steps + 1 and ts[0] == 1.0 and torch.all(ts[1:] < ts[:-1])
    levels = ts[:-1] if proc_name == "vp" else ts                 # VP ends with t = 0 after its positive levels
    if proc_name == "vp":
        assert ts[-1] == 0.0 and abs(float(levels[-1]) - 1 / proc.n_steps) < 1e-12
    else:
        assert float(proc.sigma(float(ts[-1]))) == pytest.approx(proc.sigma_min)
    root = proc.noise_ratio(levels) ** (1 / rho)                  # s^(1/rho) is evenly spaced
    assert torch.allclose(root.diff(), root.diff()[0].expand(len(root) - 1), rtol=1e-6)
    assert smallest_level_time(proc) == (1 / proc.n_steps if proc_name == "vp" else 0.0)


@pytest.mark.parametrize("proc_name", ["vp", "ve"])
def test_log_grid_is_the_limit_of_karras_spacing(proc_name):
    proc = PROCESSES[proc_name]
    ts = karras_times(proc, 10, rho=math.inf)
    levels = ts[:-1] if proc_name == "vp" else ts
    log_s = proc.noise_ratio(levels).log()                        # log s is evenly spaced ...
    assert torch.allclose(log_s.diff(), log_s.diff()[0].expand(len(log_s) - 1), rtol=1e-6)
    big = karras_times(proc, 10, rho=1e4)                         # ... as Karras's spacing is for large rho
    assert torch.allclose(proc.noise_ratio(big[:-1]).log(), log_s[:len(big) - 1], atol=1e-2)
    assert ts[0] == 1.0 and torch.all(ts[1:] < ts[:-1])


def test_sampler_times_registry():
    proc = PROCESSES["vp"]
    for name in ("ddpm", "ddim", "langevin", "pc"):
        assert torch.equal(sampler_times(proc, name, 20), proc.default_times(20))
    for name in ("euler", "heun"):
        assert torch.equal(sampler_times(proc, name, 20), karras_times(proc, 20))
    assert torch.equal(sampler_times(proc, "dpm-solver", 20), karras_times(proc, 20, rho=math.inf))
    for name in ("euler", "heun", "dpm-solver"):
        assert len(sampler_times(proc, name, None)) == 51
    assert set(SAMPLERS) >= {"pc", "euler", "heun", "dpm-solver"}
    with pytest.raises(DifflabError, match="dpm-solver"):
        sampler_times(proc, "rk4", 10)


def test_vp_ode_grids_start_where_the_sample_is_pure_noise():
    vp, ve = PROCESSES["vp"], PROCESSES["ve"]
    s1 = float(vp.noise_ratio(1.0))
    assert ode_start_ratio(vp, None) == s1 and ode_start_ratio(vp, 28 * 28) == s1      # images: t = 1
    assert ode_start_ratio(vp, 2) == pytest.approx(math.sqrt(2 / ODE_START_SNR))        # 2D: later
    assert ode_start_ratio(vp, 2) < s1
    assert ode_start_ratio(ve, 2) == float(ve.noise_ratio(1.0))                         # VE's prior needs t = 1
    ts = sampler_times(vp, "dpm-solver", 10, dim=2)
    assert float(vp.noise_ratio(ts[0])) == pytest.approx(math.sqrt(2 / ODE_START_SNR), rel=1e-9)
    assert len(ts) == 11 and ts[-1] == 0 and torch.all(ts[1:] < ts[:-1])
    assert torch.equal(sampler_times(vp, "ddpm", 10, dim=2), vp.default_times(10))      # not the process's grid
    # x_T ~ N(0, I) is the VP marginal there up to alpha^2 = 1 / (1 + s^2) = 1% of the variance
