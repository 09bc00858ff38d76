"""The PF-ODE likelihood against analytic Gaussian densities, Hutchinson against the exact
divergence, and `difflab likelihood` on a tiny trained run.

Tolerances. With the exact eps of N(m, C) data the only errors are (1) the RK4 error of the
integral (~1e-4 nats at 64 steps in 2-D), (2) the prior N(0, sigma(1)^2 I) standing in for the
true p_1 (VP: alpha(1) ~ 0.006 leaves a mean term; VE: |m| / sigma_max), and (3) the start at
t_min > 0 (VP: sigma ~ 0.01 of smoothing, ~1e-4 nats). The solver alone is held to 1e-3 nats
(by swapping in the exact log p_1), the whole estimate to 0.01 nats on average and 0.02 nats for
every point against log N(x; m, C).
"""
import json
import math

import numpy as np
import pytest
import torch

from difflab.errors import DifflabError
from difflab.oracles import gaussian_eps_fn
from difflab.processes import VEProcess, VPProcess
from difflab.samplers.likelihood import log_likelihood

MEAN = torch.tensor([0.3, -0.2], dtype=torch.float64)
COV = torch.tensor([[1.0, 0.6], [0.6, 0.8]], dtype=torch.float64)
# VE's prior ignores the data mean: sigma_max must dwarf it (the error is ~ |x_1| |m| / sigma_max^2)
PROCESSES = {"vp": VPProcess(), "ve": VEProcess(sigma_min=0.01, sigma_max=100.0)}


def gaussian_logp(x, mean, cov, a=1.0, s=0.0):
    """log N(x; a m, a^2 C + s^2 I): the marginal at a time with alpha = a, sigma = s."""
    eye = torch.eye(len(mean), dtype=torch.float64)
    return torch.distributions.MultivariateNormal(a * mean, a**2 * cov + s**2 * eye).log_prob(x)


@pytest.mark.parametrize("proc_name", ["vp", "ve"])
def test_exact_divergence_matches_the_gaussian_density(proc_name):
    proc = PROCESSES[proc_name]
    torch.manual_seed(0)
    x = torch.distributions.MultivariateNormal(MEAN, COV).sample((200,))
    out = log_likelihood(gaussian_eps_fn(proc, MEAN, COV), proc, x, steps=64)
    assert out["log_prob"].shape == (200,) and out["hutchinson_se"] is None
    t_min = out["t_min"]
    assert t_min == (1 / proc.n_steps if proc_name == "vp" else 0.0)

    # the ODE solver alone: swap the prior for the exact p_1 and compare with the exact p_{t_min}
    p1 = gaussian_logp(out["x_1"], MEAN, COV, float(proc.alpha(1.0)), float(proc.sigma(1.0)))
    solver = out["log_prob"] - out["prior_log_prob"] + p1
    target = gaussian_logp(x, MEAN, COV, float(proc.alpha(t_min)), float(proc.sigma(t_min)))
    assert (solver - target).abs().max() < 1e-3

    # end to end, against the data density itself
    err = out["log_prob"] - gaussian_logp(x, MEAN, COV)
    assert err.abs().mean() < 0.01 and err.abs().max() < 0.02, (err.abs().mean(), err.abs().max())


def test_a_vp_process_cut_short_integrates_to_its_top_level():
    """DDPM on small data stops at max_ratio (s ~ 12 for 2D): the integral ends at the top time, whose
    prior N(0, I) stands in for p_top. For standardised data (mean 0, unit variances, as runs are) its
    mean error is of second order in alpha(top) ~ 0.08."""
    proc, mean = VPProcess(max_ratio=10.0), torch.zeros(2, dtype=torch.float64)
    cov = torch.tensor([[1.0, 0.6], [0.6, 1.0]], dtype=torch.float64)
    torch.manual_seed(0)
    x = torch.distributions.MultivariateNormal(mean, cov).sample((200,))
    out = log_likelihood(gaussian_eps_fn(proc, mean, cov), proc, x, steps=64)
    top = proc.top_time()
    p_top = gaussian_logp(out["x_1"], mean, cov, float(proc.alpha(top)), float(proc.sigma(top)))
    solver = out["log_prob"] - out["prior_log_prob"] + p_top
    t_min = out["t_min"]
    assert (solver - gaussian_logp(x, mean, cov, float(proc.alpha(t_min)), float(proc.sigma(t_min)))).abs().max() < 1e-3
    # end to end: per point, the prior's mismatch at x_top (of order alpha(top)^2 |x|^2) plus the solver's
    err = out["log_prob"] - gaussian_logp(x, mean, cov)
    assert err.abs().mean() < 0.01
    assert ((err - (out["prior_log_prob"] - p_top)).abs() < 1e-3).all()


def test_rk4_converges_at_fourth_order():
    proc = PROCESSES["ve"]
    x = MEAN + torch.randn(50, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    fn = gaussian_eps_fn(proc, MEAN, COV)
    ref = log_likelihood(fn, proc, x, steps=128)["log_prob"]
    e16 = (log_likelihood(fn, proc, x, steps=16)["log_prob"] - ref).abs().max()
    e32 = (log_likelihood(fn, proc, x, steps=32)["log_prob"] - ref).abs().max()
    assert e32 < e16 / 8, (e16, e32)                              # ~16x for a fourth-order method


@pytest.mark.parametrize("probe", ["rademacher", "gaussian"])
def test_hutchinson_agrees_with_the_exact_divergence(probe):
    g = torch.Generator().manual_seed(0)
    d = 5                                                         # Rademacher probes in 2-D have too few outcomes
    A = torch.randn(d, d, generator=g, dtype=torch.float64)
    cov = A @ A.T / d + 0.3 * torch.eye(d, dtype=torch.float64)
    mean = 0.2 * torch.randn(d, generator=g, dtype=torch.float64)
    proc = PROCESSES["vp"]
    fn = gaussian_eps_fn(proc, mean, cov)
    x = mean + torch.randn(100, d, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(cov).T
    exact = log_likelihood(fn, proc, x, steps=16)["log_prob"]       # same steps: only the divergence differs
    hutch = log_likelihood(fn, proc, x, steps=16, divergence="hutchinson", n_probes=8, probe=probe,
                           generator=torch.Generator().manual_seed(1))
    se = hutch["hutchinson_se"]
    assert se.shape == (100,) and torch.all(se > 0)
    z = (hutch["log_prob"] - exact) / se
    assert (z.abs() < 3).float().mean() >= 0.9, z                 # per point (8 probes: a t-like spread)
    mean_se = (se**2).sum().sqrt() / len(x)
    assert abs((hutch["log_prob"] - exact).mean()) < 3 * mean_se   # and on average, within 3 standard errors
    # the same seed gives the same estimate
    def seeded(seed):
        return log_likelihood(fn, proc, x[:10], steps=2, divergence="hutchinson", n_probes=2, probe=probe,
                              generator=torch.Generator().manual_seed(seed))["log_prob"]

    assert torch.equal(seeded(1), seeded(1)) and not torch.equal(seeded(1), seeded(2))


def test_any_shape_and_bad_options():
    proc = PROCESSES["ve"]

    def iso(x, t):                                                # N(0, I) data of any shape
        s = proc.sigma(t).to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
        return s * x / (1 + s**2)

    x = torch.randn(4, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out = log_likelihood(iso, proc, x, steps=32)
    truth = -0.5 * x.flatten(1).pow(2).sum(1) - 3 * math.log(2 * math.pi)
    assert out["log_prob"].shape == (4,) and torch.allclose(out["log_prob"], truth, atol=0.02)
    with pytest.raises(DifflabError, match="exact, hutchinson"):
        log_likelihood(iso, proc, x, divergence="trace")
    with pytest.raises(DifflabError, match="probes"):
        log_likelihood(iso, proc, x, divergence="hutchinson", n_probes=0)


# -- the command line on a tiny trained run -------------------------------------------------

@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from difflab.cli import main

    out = tmp_path_factory.mktemp("lik") / "gmm"
    assert main(["train", "gmm", "--out", str(out), "--steps", "30", "--set", "network.width=16",
                 "--set", "network.depth=1", "--set", "network.emb_dim=8", "--no-progress"]) == 0
    return out


def test_cli_likelihood_json(tiny_run, capsys):
    from difflab.cli import main

    capsys.readouterr()
    assert main(["likelihood", str(tiny_run), "--n", "40", "--steps", "8", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    for key in ("nll_nats", "bits_per_dim", "nll_true_nats", "n", "seconds", "nll_se", "kl_nats"):
        assert key in r
    assert r["n"] == 40 and r["d"] == 2 and r["divergence"] == "exact" and math.isfinite(r["nll_nats"])
    assert r["bits_per_dim"] == pytest.approx(r["nll_nats"] / (2 * math.log(2)))
    assert r["nll_true_nats"] is not None                           # gmm knows its density
    assert r["kl_nats"] == pytest.approx(r["nll_nats"] - r["nll_true_nats"])


def test_cli_likelihood_text_hutchinson_and_files(tiny_run, tmp_path, capsys):
    from difflab.cli import main
    from difflab.run import load

    capsys.readouterr()
    assert main(["likelihood", str(tiny_run), "--n", "20", "--steps", "4", "--divergence", "hutchinson",
                 "--probes", "2", "--data", "train"]) == 0
    text = capsys.readouterr().out
    assert "model NLL" in text and "bits/dim" in text and "Hutchinson" in text and "true NLL" in text

    test = load(tiny_run).dataset.test
    np.save(tmp_path / "pts.npy", test[:10])
    assert main(["likelihood", str(tiny_run), "--data", str(tmp_path / "pts.npy"), "--steps", "4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 10
    np.savez(tmp_path / "pts.npz", test=test[:12])
    assert main(["likelihood", str(tiny_run), "--data", str(tmp_path / "pts.npz"), "--steps", "4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 12


@pytest.mark.parametrize("args, message", [
    (["--data", "valid"], "unknown data 'valid'"),
    (["--data", "missing.npy"], "not found"),
    (["--data", "WRONG"], "shape"),
    (["--n", "1"], "at least 2"),
    (["--divergence", "hutchinson", "--probes", "0"], "probes"),
])
def test_cli_likelihood_bad_input_is_one_line(tiny_run, tmp_path, capsys, args, message):
    from difflab.cli import main

    np.save(tmp_path / "wrong.npy", np.zeros((5, 3)))
    args = [str(tmp_path / "wrong.npy") if a == "WRONG" else a for a in args]
    if "missing.npy" in args:
        args = [str(tmp_path / "missing.npy") if a == "missing.npy" else a for a in args]
    capsys.readouterr()
    assert main(["likelihood", str(tiny_run), "--steps", "2", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("difflab: error:") and message in err[0], err
