"""Per-sample losses: shapes, DSM == eps loss, and K noise draws lower the variance, not the mean."""
import torch

from difflab.nets import MLP
from difflab.objectives import dsm_loss, eps_loss
from difflab.processes import VEProcess, VPProcess


def _net():
    torch.manual_seed(0)
    return MLP((2,), width=32, depth=1, emb_dim=16)


def test_losses_are_per_sample_and_equal():
    net, g = _net(), torch.Generator().manual_seed(0)
    x0 = torch.randn(16, 2, generator=g)
    t = torch.rand(16, generator=g)
    eps = torch.randn(3, 16, 2, generator=g)
    for proc in (VPProcess(), VEProcess(sigma_max=5.0)):
        a = eps_loss(net, proc, x0, t=t, eps=eps)
        b = dsm_loss(net, proc, x0, t=t, eps=eps)
        assert a.shape == (16,) and b.shape == (16,)
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)


def test_k_draws_keep_the_mean_and_lower_the_variance():
    net, proc = _net(), VEProcess(sigma_max=5.0)
    x0 = torch.tensor([[0.5, -1.0]]).expand(4000, 2)
    t = torch.full((4000,), 0.4)
    with torch.no_grad():
        l1 = dsm_loss(net, proc, x0, t=t, generator=torch.Generator().manual_seed(1), n_noise=1)
        l8 = dsm_loss(net, proc, x0, t=t, generator=torch.Generator().manual_seed(2), n_noise=8)
    se = (l1.var() / len(l1) + l8.var() / len(l8)).sqrt()
    assert abs(l1.mean() - l8.mean()) < 4 * se
    ratio = (l8.var() / l1.var()).item()
    assert 0.08 < ratio < 0.2  # ~1/8 for independent draws
