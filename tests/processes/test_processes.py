"""Schedule identities and closed-form marginals of the VP and VE processes."""
import math

import pytest
import torch

from difflab.errors import DifflabError
from difflab.processes import VEProcess, VPProcess, make_process, sigma_max_from_data


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_vp_identities(schedule):
    p = VPProcess(schedule=schedule)
    t = torch.linspace(0, 1, 257, dtype=torch.float64)
    assert torch.allclose(p.alpha(t) ** 2 + p.sigma(t) ** 2, torch.ones_like(t), atol=1e-12)
    # on the grid, alpha_bar is the running product of (1 - beta)
    grid = torch.arange(p.n_steps + 1, dtype=torch.float64) / p.n_steps
    assert torch.allclose(p.alpha(grid) ** 2, torch.cumprod(torch.cat([torch.ones(1, dtype=torch.float64), 1 - p.betas]), 0))
    # alpha decreases from 1 (data) to near 0 (pure noise): sampling from N(0, I) is right
    assert float(p.alpha(0.0)) == 1.0 and float(p.sigma(0.0)) == 0.0
    assert float(p.alpha(1.0)) < 0.02
    assert torch.all(torch.diff(p.alpha(t)) < 0)


def test_vp_rejects_schedules_that_end_short_of_noise():
    # the popular toy setting: 50 linear steps 1e-4..0.02 leaves alpha_bar_T = 0.60
    with pytest.raises(DifflabError, match="far from pure noise"):
        VPProcess(n_steps=50)
    assert float(VPProcess(n_steps=50, beta_end=0.4).alpha(1.0)) < 0.02


@pytest.mark.parametrize("kw,name", [({"beta_start": 0.0}, "beta_start"), ({"beta_end": 1.5}, "beta_end"),
                                     ({"beta_start": 0.1, "beta_end": 0.01}, "beta_start"),
                                     ({"n_steps": 0}, "n_steps"), ({"schedule": "quadratic"}, "schedule")])
def test_vp_bad_settings_are_named(kw, name):
    with pytest.raises(DifflabError, match=name):
        VPProcess(**kw)


@pytest.mark.parametrize("kw,name", [({"sigma_min": 0.0}, "sigma_min"), ({"sigma_min": 5.0, "sigma_max": 1.0}, "sigma_min"),
                                     ({"n_levels": 1}, "n_levels"), ({"time_sampling": "log"}, "time_sampling")])
def test_ve_bad_settings_are_named(kw, name):
    with pytest.raises(DifflabError, match=name):
        VEProcess(**kw)


def test_vp_forward_chain_matches_closed_form_marginal():
    """Simulating x_i = sqrt(1 - beta_i) x_{i-1} + sqrt(beta_i) z gives N(alpha x0, sigma^2)."""
    p = VPProcess()
    g = torch.Generator().manual_seed(0)
    x0 = torch.full((20000, 1), 1.5, dtype=torch.float64)
    x = x0.clone()
    k = 300
    for i in range(k):
        x = (1 - p.betas[i]).sqrt() * x + p.betas[i].sqrt() * torch.randn(x.shape, generator=g, dtype=torch.float64)
    t = k / p.n_steps
    se = float(p.sigma(t)) / math.sqrt(len(x))
    assert abs(x.mean().item() - 1.5 * float(p.alpha(t))) < 4 * se
    assert abs(x.std().item() / float(p.sigma(t)) - 1) < 0.03


@pytest.mark.parametrize("proc", [VPProcess(), VPProcess(schedule="cosine"), VEProcess(sigma_max=7.0)])
def test_marginal_and_conversions(proc):
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn(64, 3, generator=g)
    eps = torch.randn(64, 3, generator=g)
    t = torch.rand(64, generator=g) * 0.98 + 0.01
    x_t = proc.marginal(x0, t, eps)
    assert torch.allclose(proc.x0_from_eps(x_t, t, eps), x0, atol=1e-4)
    assert torch.allclose(proc.eps_from_x0(x_t, t, x0), eps, atol=1e-3)
    assert torch.allclose(proc.eps_from_score(x_t, t, proc.score_from_eps(x_t, t, eps)), eps, atol=1e-5)
    sig = proc.sigma(t)
    assert torch.allclose(proc.t_from_sigma(sig), t.double(), atol=1e-6)


def test_ve_ladder_is_geometric():
    p = VEProcess(sigma_min=0.01, sigma_max=10.0, n_levels=4)
    s = p.sigma(p.default_times())
    assert torch.allclose(s, torch.tensor([10.0, 1.0, 0.1, 0.01], dtype=torch.float64))
    assert float(p.alpha(0.3)) == 1.0
    levels = p.train_times(1000, torch.Generator().manual_seed(0))
    assert torch.allclose(torch.unique(levels).double() * 3, torch.arange(4, dtype=torch.float64), atol=1e-6)


def test_ve_continuous_times_are_uniform_between_the_levels():
    p = VEProcess(sigma_min=0.01, sigma_max=10.0, n_levels=4, time_sampling="continuous")
    t = p.train_times(20000, torch.Generator().manual_seed(0)).double()
    assert 0 <= t.min() and t.max() <= 1 and len(torch.unique(t)) > 19000
    assert abs(float(t.mean()) - 0.5) < 0.01 and abs(float(t.var()) - 1 / 12) < 0.003   # U[0, 1]
    assert make_process(p.config()).time_sampling == "continuous"


def test_sigma_max_is_the_largest_pairwise_distance():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]]).numpy()
    assert sigma_max_from_data(x) == pytest.approx(5.0)


def test_default_times_are_decreasing_and_on_the_grid():
    p = VPProcess()
    ts = p.default_times(50)
    assert ts[0] == 1.0 and ts[-1] == 0.0 and len(ts) == 51
    assert torch.all(torch.diff(ts) < 0)
    assert torch.allclose(ts * 1000, (ts * 1000).round())
    with pytest.raises(DifflabError):
        p.default_times(0)


def test_make_process_lists_valid_names():
    with pytest.raises(DifflabError, match="valid names: masked, ve, vp"):
        make_process({"name": "sde"})


def test_vp_cut_short_at_max_ratio():
    """max_ratio stops training draws, the sampling grids and the top time at the first grid step
    whose noise ratio reaches it, rounded up to a multiple of T / 10; None keeps the whole schedule."""
    whole, cut = VPProcess(time_sampling="log-snr"), VPProcess(time_sampling="log-snr", max_ratio=10.0)
    assert (whole.top_step, whole.top_time(), whole.max_ratio) == (1000, 1.0, None)
    first = int((((1 - cut.alpha_bars) / cut.alpha_bars).sqrt() >= 10.0).nonzero()[0])   # grid index reaching 10
    assert cut.top_step == 100 * math.ceil(first / 100) == 700 and cut.top_time() == 0.7
    assert 10.0 <= cut.top_ratio() < float(cut.noise_ratio((first + 100) / 1000))
    g = torch.Generator().manual_seed(0)
    for proc in (cut, VPProcess(max_ratio=10.0)):                              # log-snr and uniform draws
        t = proc.train_times(20000, generator=g)
        assert float(t.max()) == pytest.approx(0.7) and float(t.min()) == pytest.approx(0.001)
    w = cut.train_time_weights()
    assert float(w[700:].sum()) == 0 and float(w.sum()) == pytest.approx(1.0)
    below = whole.train_time_weights()[:700]
    assert torch.allclose(w[:700], below / below.sum())                      # the same shares, renormalised
    ts = cut.default_times(None)
    assert len(ts) == 701 and float(ts[0]) == pytest.approx(0.7) and float(ts[-1]) == 0.0
    assert float(cut.default_times(50)[0]) == pytest.approx(0.7)
    assert make_process(cut.config()).top_step == 700                        # saved with the run and rebuilt
    assert VPProcess(max_ratio=1e6).top_step == 1000                          # beyond s(1): the whole schedule
    with pytest.raises(DifflabError, match="max_ratio"):
        VPProcess(max_ratio=-1.0)
