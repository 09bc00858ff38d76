"""The vector network's pieces: input Fourier features and the input scaling wrapper."""
import math

import torch

from difflab.config import make_config
from difflab.nets.mlp import MLP, FourierFeatures
from difflab.nets.scaling import InputScaled
from difflab.pipeline import build_network
from difflab.processes import make_process


def test_fourier_features_shape_and_values():
    f = FourierFeatures(2, 3, w_min=1.0, w_max=4.0)
    x = torch.tensor([[0.5, -1.0]])
    y = f(x)
    assert y.shape == (1, f.out_dim) == (1, 2 * 7)
    assert torch.allclose(y[0, :2], x[0])
    # the sines: coordinate-major, frequencies 1, 2, 4
    assert torch.allclose(y[0, 2:8], torch.sin(torch.tensor([0.5, 1.0, 2.0, -1.0, -2.0, -4.0])), atol=1e-6)


def test_mlp_uses_fourier_features_only_in_low_dimension():
    assert isinstance(MLP((2,)).features, FourierFeatures)
    assert isinstance(MLP((32,)).features, torch.nn.Identity)
    assert isinstance(MLP((2,), fourier=0).features, torch.nn.Identity)
    assert MLP((3,), fourier=4)(torch.randn(5, 3), torch.rand(5)).shape == (5, 3)


class Probe(torch.nn.Module):
    def forward(self, x, t):
        return x


def test_input_scaling_gives_unit_variance_inputs_for_ve_and_leaves_vp_alone():
    ve = make_process({"name": "ve", "sigma_min": 0.01, "sigma_max": 10.0, "n_levels": 10})
    x0, eps = torch.randn(4000, 2), torch.randn(4000, 2)
    t = torch.full((4000,), 1.0)
    seen = InputScaled(Probe(), ve)(ve.marginal(x0, t, eps), t)
    assert abs(seen.var().item() - 1.0) < 0.08
    c = InputScaled(Probe(), ve)(torch.ones(1, 2), torch.tensor([1.0]))
    assert torch.allclose(c, torch.full((1, 2), 1 / math.sqrt(1 + 100.0)))
    vp = make_process({"name": "vp", "schedule": "linear", "n_steps": 1000, "beta_start": 1e-4, "beta_end": 0.02})
    x = torch.randn(8, 2)
    assert torch.allclose(InputScaled(Probe(), vp)(x, torch.rand(8)), x, atol=1e-6)


def test_build_network_wraps_unless_told_not_to():
    ve = make_process({"name": "ve", "sigma_min": 0.01, "sigma_max": 10.0, "n_levels": 10})
    net = build_network(make_config(method="dsm"), (2,), ve)
    assert isinstance(net, InputScaled) and net.data_shape == (2,)   # attributes read through
    plain = build_network(make_config(method="dsm", sets=["network.input_scaling=false"]), (2,), ve)
    assert isinstance(plain, MLP)


def test_log_snr_time_sampling_spreads_draws_evenly_in_log_noise_level():
    import pytest

    from difflab.errors import DifflabError

    vp = make_process({"name": "vp", "schedule": "linear", "n_steps": 1000, "beta_start": 1e-4,
                       "beta_end": 0.02, "time_sampling": "log-snr"})
    w = vp.train_time_weights()
    assert w.shape == (1000,) and abs(float(w.sum()) - 1) < 1e-9 and bool((w >= 0).all())
    t = torch.arange(1, 1001, dtype=torch.float64) / 1000
    log_r = torch.log(vp.noise_ratio(t))
    # the share of draws in a band of log noise ratio equals the band's share of the whole range
    band = (log_r > -2) & (log_r < 0)
    expected = 2 / float(log_r[-1] - log_r[0] + (log_r[1] - log_r[0]))
    assert abs(float(w[band].sum()) - expected) < 0.01
    g = torch.Generator().manual_seed(0)
    draws = vp.train_times(20000, generator=g)
    assert float((vp.sigma(draws) < 0.2).double().mean()) > 0.3       # uniform steps: about 0.06
    with pytest.raises(DifflabError, match="time_sampling"):
        make_process({"name": "vp", "time_sampling": "sometimes"})


def test_a_variance_preserving_process_gets_no_wrapper():
    vp = make_process({"name": "vp"})
    assert isinstance(build_network(make_config(method="ddpm"), (2,), vp), MLP)


class Zero(torch.nn.Module):
    def forward(self, x, t):
        return torch.zeros_like(x)


def test_gaussian_skip_alone_is_the_exact_eps_of_white_data():
    from difflab.nets.skip import GaussianSkip

    # x0 ~ N(0, I): E[eps | x_t] = sigma / (alpha^2 + sigma^2) x_t, for VP and VE alike
    for proc in (make_process({"name": "vp"}),
                 make_process({"name": "ve", "sigma_min": 0.01, "sigma_max": 10.0, "n_levels": 10})):
        g = torch.Generator().manual_seed(0)
        x0, eps = torch.randn(20000, 3, generator=g), torch.randn(20000, 3, generator=g)
        t = torch.full((20000,), 0.7)                                   # sigma near 1 for both
        xt = proc.marginal(x0, t, eps)
        eps_hat = GaussianSkip(Zero(), proc)(xt, t)
        slope = float((eps_hat * eps).sum() / (eps_hat * eps_hat).sum())   # least squares eps ~ c eps_hat
        assert abs(slope - 1) < 0.03
        a, s = float(proc.alpha(torch.tensor(1.0))), float(proc.sigma(torch.tensor(1.0)))
        x = torch.randn(4, 3)
        assert torch.allclose(GaussianSkip(Zero(), proc)(x, torch.ones(4)), s / (a * a + s * s) * x, atol=1e-6)


def test_build_network_adds_the_gaussian_skip_only_when_asked():
    import pytest

    from difflab.errors import DifflabError
    from difflab.nets.skip import GaussianSkip

    vp = make_process({"name": "vp"})
    net = build_network(make_config(method="ddpm", sets=["network.gaussian_skip=true"]), (4,), vp)
    assert isinstance(net, GaussianSkip) and isinstance(net.net, MLP) and net.data_shape == (4,)
    ve = make_process({"name": "ve", "sigma_min": 0.01, "sigma_max": 10.0, "n_levels": 10})
    both = build_network(make_config(method="dsm", sets=["network.gaussian_skip=true"]), (4,), ve)
    assert isinstance(both, GaussianSkip) and isinstance(both.net, InputScaled)
    assert isinstance(build_network(make_config(method="ddpm"), (4,), vp), MLP)
    with pytest.raises(DifflabError, match="gaussian_skip"):
        build_network(make_config(method="ddpm", sets=["network.gaussian_skip=maybe"]), (4,), vp)


def test_the_fused_sampling_path_computes_the_training_sums():
    torch.manual_seed(0)
    net = MLP((2,), width=32, depth=3)
    x, t = torch.randn(64, 2), torch.rand(64)
    with torch.no_grad():
        fused = net(x, t)
    plain = net(x, t)                                        # grad enabled: the unfused training path
    assert plain.requires_grad and not fused.requires_grad
    torch.testing.assert_close(fused, plain.detach(), rtol=1e-5, atol=1e-6)
    net.eval()
    with torch.no_grad():                                    # one shared time (embedded once) as in sampling
        torch.testing.assert_close(net(x, torch.full((64,), 0.3)), net.train()(x, torch.full((64,), 0.3)),
                                   rtol=1e-5, atol=1e-6)
