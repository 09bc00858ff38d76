"""Cross-check the DDPM schedule, posterior variances and one reverse step against diffusers."""
import pytest
import torch

from difflab.processes import VPProcess
from difflab.samplers.common import coeffs, posterior

diffusers = pytest.importorskip("diffusers", reason="diffusers is a test-only dependency (pip install -e .[test])")


@pytest.mark.parametrize("schedule,theirs", [("linear", "linear"), ("cosine", "squaredcos_cap_v2")])
def test_schedule_matches_diffusers(schedule, theirs):
    ref = diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule=theirs, beta_start=1e-4, beta_end=0.02)
    p = VPProcess(schedule=schedule)
    assert torch.allclose(p.betas.float(), ref.betas, rtol=1e-5, atol=1e-7)
    assert torch.allclose(p.alpha_bars[1:].float(), ref.alphas_cumprod, rtol=1e-4, atol=1e-7)


def test_posterior_variances_match_diffusers():
    ref = diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", variance_type="fixed_small")
    p = VPProcess()
    # diffusers' timestep k (0-based) is the step from our grid point k + 1 to k
    for i in [1, 2, 10, 250, 500, 1000]:
        a_t, s_t, a_s, s_s = coeffs(p, i / 1000, (i - 1) / 1000)
        _, small, large = posterior(torch.zeros(1), torch.zeros(1), a_t, s_t, a_s, s_s)
        assert small == pytest.approx(float(ref._get_variance(i - 1)), rel=5e-4, abs=1e-12)  # diffusers works in float32
        assert large == pytest.approx(float(ref.betas[i - 1]), rel=1e-4)


def test_reverse_step_matches_diffusers():
    ref = diffusers.DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", variance_type="fixed_small",
                                  clip_sample=False)
    p = VPProcess()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 2, generator=g)
    eps = torch.randn(8, 2, generator=g)
    for step in [999, 500, 37]:
        theirs = ref.step(eps, step, x, generator=torch.Generator().manual_seed(5)).prev_sample
        noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
        t, s = (step + 1) / 1000, step / 1000
        a_t, s_t, a_s, s_s = coeffs(p, t, s)
        x0_hat = p.x0_from_eps(x, torch.full((8,), t), eps)
        mean, small, _ = posterior(x, x0_hat, a_t, s_t, a_s, s_s)
        ours = mean + small**0.5 * noise
        assert torch.allclose(ours, theirs, atol=2e-5)
