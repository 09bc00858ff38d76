"""Every sampler, driven by the exact score of a Gaussian mixture, recovers it (both processes).

Categorical samplers (the masked one: int64 classes and logits) are tested against exact
categorical denoisers in test_masked.py; `gaussian_samplers()` leaves them out here."""

import pytest
import torch

from difflab.oracles import gaussian_eps_fn, gmm_eps_fn
from difflab.processes import VEProcess, VPProcess
from difflab.errors import DifflabError
from difflab.samplers import REGISTRY, SAMPLERS, CountingDenoiser, gaussian_samplers, get_sampler, get_spec, sample_ddim
from difflab.samplers.times import sampler_times

MEANS = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
WEIGHTS = torch.tensor([0.5, 0.3, 0.2])
STDS = torch.tensor([0.3, 0.3, 0.3])

PROCESSES = {"vp": VPProcess(), "ve": VEProcess(sigma_min=0.01, sigma_max=8.0, n_levels=60)}
# settings that keep each check well under a second
STEPS = {"ddpm": 250, "ddim": 50, "langevin": None, "pc": 100, "euler": 50, "heun": 20, "dpm-solver": 20}
OPTIONS = {"ddpm": {}, "ddim": {}, "langevin": {"n_steps_each": 3, "step_size": 5e-5}, "pc": {"n_corrector": 1},
           "euler": {}, "heun": {}, "dpm-solver": {}}


def _run(name, proc, n=3000, seed=0, ts=None, **kw):
    g = torch.Generator().manual_seed(seed)
    fn = gmm_eps_fn(proc, MEANS, WEIGHTS, STDS)
    x_T = proc.prior_sample((n, 2), g)
    if ts is None:
        ts = sampler_times(proc, name, STEPS[name])  # each sampler's own default grid
        if name == "langevin" and proc.name == "vp":
            # VP's levels sit close together near t = 1: more levels, more and larger steps to mix
            ts = proc.default_times(200)
            kw = {"step_size": 5e-4, "n_steps_each": 10, **kw}
    return SAMPLERS[name](fn, proc, x_T, ts, generator=g, **{**OPTIONS[name], **kw})


@pytest.mark.parametrize("proc_name", ["vp", "ve"])
@pytest.mark.parametrize("name", sorted(gaussian_samplers()))
def test_exact_score_recovers_the_mixture(name, proc_name):
    x = _run(name, PROCESSES[proc_name])
    assert x.shape == (3000, 2) and torch.isfinite(x).all()
    k = torch.cdist(x, MEANS).argmin(1)
    shares = torch.stack([(k == i).float().mean() for i in range(3)])
    # mode weights within ~4 standard errors of a multinomial share
    assert torch.all((shares - WEIGHTS).abs() < 4 * (WEIGHTS * (1 - WEIGHTS) / 3000).sqrt() + 0.01), shares
    within = (x - MEANS[k]).std(0)
    assert torch.all((within / 0.3 - 1).abs() < 0.12), within


@pytest.mark.parametrize("proc_name", ["vp", "ve"])
def test_gaussian_moments_with_full_covariance(proc_name):
    # VE's prior N(0, sigma_max^2) ignores the data mean: sigma_max must dwarf it (Song & Ermon 2020)
    proc = PROCESSES["vp"] if proc_name == "vp" else VEProcess(sigma_min=0.01, sigma_max=40.0)
    mean = torch.tensor([1.0, -1.0])
    cov = torch.tensor([[1.0, 0.8], [0.8, 1.0]])
    g = torch.Generator().manual_seed(3)
    x = sample_ddim(gaussian_eps_fn(proc, mean, cov), proc, proc.prior_sample((6000, 2), g), proc.default_times(100))
    assert torch.allclose(x.mean(0), mean, atol=0.06)
    assert torch.allclose(torch.cov(x.T), cov, atol=0.08)


@pytest.mark.parametrize("proc_name", ["vp", "ve"])
def test_ddim_eta0_is_deterministic_and_invertible(proc_name):
    proc = PROCESSES[proc_name]
    # a Gaussian keeps the flow well conditioned (between mixture modes encoding is unstable)
    fn = gaussian_eps_fn(proc, torch.tensor([0.5, -0.5]), torch.tensor([[1.0, 0.6], [0.6, 0.8]]))
    x_T = proc.prior_sample((500, 2), torch.Generator().manual_seed(0))
    ts = _grid(proc, 200)
    a = sample_ddim(fn, proc, x_T, ts, generator=torch.Generator().manual_seed(1))
    b = sample_ddim(fn, proc, x_T, ts, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b)

    # decoding then encoding returns to x_T, with an error that falls like a first-order method's
    def round_trip_error(steps):
        ts = _grid(proc, steps)
        x0 = sample_ddim(fn, proc, x_T, ts)
        return (sample_ddim(fn, proc, x0, ts.flip(0)) - x_T).abs().max().item() / float(proc.sigma(1.0))

    e1, e4 = round_trip_error(100), round_trip_error(400)
    assert e4 < 0.08 and e4 < e1 / 2.5, (e1, e4)  # first order: 4x the steps, ~1/4 of the error


def _grid(proc, steps):
    """Sampling times that stop at a small noise level (at t = 0 the map collapses onto x0_hat)."""
    ts = proc.default_times(steps)
    return ts[:-1] if proc.name == "ve" else torch.cat([ts[:-1], torch.tensor([0.01], dtype=ts.dtype)])


def test_callback_sees_every_step_and_nfe_is_counted():
    proc = PROCESSES["vp"]
    seen = []
    fn = CountingDenoiser(gmm_eps_fn(proc, MEANS, WEIGHTS, STDS))
    ts = proc.default_times(20)
    sample_ddim(fn, proc, proc.prior_sample((10, 2)), ts, callback=seen.append)
    assert [s["i"] for s in seen] == list(range(20))
    assert fn.nfe == 20
    assert seen[0]["t"] == 1.0 and seen[-1]["x0_hat"].shape == (10, 2)


def test_same_seed_same_samples():
    a = _run("ddpm", PROCESSES["vp"], n=100, seed=7)
    b = _run("ddpm", PROCESSES["vp"], n=100, seed=7)
    c = _run("ddpm", PROCESSES["vp"], n=100, seed=8)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_unknown_variance_lists_valid_names():
    from difflab.errors import DifflabError

    with pytest.raises(DifflabError, match="large, small"):
        _run("ddpm", PROCESSES["vp"], n=4, variance="tiny")


# -- the registry: one entry per sampler, with its grid and its count of network evaluations ---------------

@pytest.mark.parametrize("proc_name", ["vp", "ve"])
@pytest.mark.parametrize("name", sorted(gaussian_samplers()))
def test_registry_counts_network_evaluations(name, proc_name):
    proc = PROCESSES[proc_name]
    spec = get_spec(name)
    assert spec.name == name and SAMPLERS[name] is spec.fn is get_sampler(name)
    variants = {"langevin": [{}, {"n_steps_each": 2, "final_denoise": False}], "pc": [{}, {"n_corrector": 0}],
                "ddpm": [{}], "ddim": [{}, {"eta": 1.0}]}.get(name, [{}])
    for options in variants:
        for steps in (1, 4):
            ts = sampler_times(proc, name, steps)
            counter = CountingDenoiser(gmm_eps_fn(proc, MEANS, WEIGHTS, STDS))
            SAMPLERS[name](counter, proc, proc.prior_sample((3, 2)), ts, generator=torch.Generator().manual_seed(0),
                           **options)
            assert counter.nfe == spec.nfe(proc, ts, **options), (options, steps)


def test_registry_names_options_and_errors():
    assert set(SAMPLERS) == set(REGISTRY) == {"ddpm", "ddim", "langevin", "pc", "euler", "heun", "dpm-solver", "masked"}
    assert set(gaussian_samplers()) == set(REGISTRY) - {"masked"} and get_spec("masked").categorical
    assert get_spec("pc").options() == {"n_corrector": 1, "snr": 0.16}
    get_spec("ddim").check_options({"eta": 0.5})
    with pytest.raises(DifflabError, match=r"^sampler 'ddim': unknown option 'etta'; valid options: eta$"):
        get_spec("ddim").check_options({"etta": 0.5})
    with pytest.raises(DifflabError, match="unknown sampler 'rk4'; valid names: ddim, ddpm, dpm-solver, euler"):
        get_sampler("rk4")


@pytest.mark.parametrize("name", sorted(gaussian_samplers()))
def test_every_sampler_calls_the_network_one_way(name):
    """Through common.predict: (B,) times, float64 for float64 states (exact oracles), else float32."""
    proc = PROCESSES["ve"]
    for dtype, t_dtype in ((torch.float32, torch.float32), (torch.float64, torch.float64)):
        calls = set()

        def fn(x, t):
            calls.add((x.dtype, t.dtype, tuple(t.shape)))
            return 0.1 * x

        x_T = proc.prior_sample((4, 2), torch.Generator().manual_seed(0)).to(dtype)
        SAMPLERS[name](fn, proc, x_T, sampler_times(proc, name, 3), generator=torch.Generator().manual_seed(0))
        assert calls == {(dtype, t_dtype, (4,))}
