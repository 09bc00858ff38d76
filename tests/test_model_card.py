"""Run folders others can read: the README.md model card and diffusers' scheduler_config.json,
checked by driving a trained run's network with diffusers' DDIMScheduler."""
import json

import numpy as np
import pytest
import torch

import difflab
from difflab.model_card import scheduler_config, write_model_card
from difflab.processes import make_process
from difflab.samplers import get_sampler

diffusers = pytest.importorskip("diffusers")

TINY = {"network.width": 32, "network.depth": 2, "network.emb_dim": 16}


@pytest.fixture(scope="module")
def ddpm_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("card") / "pw"
    return difflab.train("pinwheel", method="ddpm", out=out, steps=150, seed=0, progress=False, threads=1,
                         batch_size=128, set=TINY)


@pytest.mark.parametrize("process", [
    {"name": "vp", "schedule": "linear", "n_steps": 1000, "beta_start": 1e-4, "beta_end": 0.02},
    {"name": "vp", "schedule": "cosine", "n_steps": 1000},
    {"name": "vp", "schedule": "cosine", "n_steps": 200, "cosine_s": 0.02},     # written out as trained_betas
    {"name": "vp", "schedule": "linear", "n_steps": 1000, "beta_start": 1e-4, "beta_end": 0.02, "max_ratio": 10.0},
], ids=["linear", "cosine", "cosine-s", "cut-short"])
def test_scheduler_config_has_difflabs_alpha_bars(process):
    """diffusers' alphas_cumprod[k] is difflab's alpha_bar at grid step k + 1 (time (k + 1) / T)."""
    sched = diffusers.DDPMScheduler.from_config(scheduler_config(process))
    vp = make_process(process)
    assert len(sched.alphas_cumprod) == vp.top_step          # T, or the top level of a process cut short
    np.testing.assert_allclose(sched.alphas_cumprod.double().numpy(), vp.alpha_bars[1:vp.top_step + 1].numpy(),
                               rtol=1e-5, atol=1e-7)


def test_ve_runs_have_no_scheduler_config():
    assert scheduler_config({"name": "ve", "sigma_min": 0.01, "sigma_max": 10.0, "n_levels": 10}) is None


def test_diffusers_ddim_drives_the_run_and_matches_difflabs_ddim(ddpm_run):
    """Same start noise, 50 steps: diffusers' DDIMScheduler (from the run's scheduler_config.json,
    `trailing` spacing) and difflab's `ddim` agree to float32 rounding on the trained network."""
    write_model_card(ddpm_run.path)
    scheduler = diffusers.DDIMScheduler.from_pretrained(ddpm_run.path)
    scheduler.set_timesteps(50)
    ts = ddpm_run.times("ddim", 50)
    assert len(scheduler.timesteps) == len(ts) - 1
    np.testing.assert_allclose((scheduler.timesteps.numpy() + 1) / 1000, ts[:-1].numpy(), rtol=1e-12)   # the same grid

    x_T = torch.randn(500, 2, generator=torch.Generator().manual_seed(1))
    eps_fn = ddpm_run.denoiser()
    ours = get_sampler("ddim")(eps_fn, ddpm_run.process, x_T, ts)
    x = x_T.clone()
    T = ddpm_run.process.n_steps            # cut short at top_step < T: diffusers' grid ends there too
    assert scheduler.config.num_train_timesteps == ddpm_run.process.top_step < T
    with torch.no_grad():
        for k in scheduler.timesteps:
            eps = eps_fn(x, torch.full((len(x),), (int(k) + 1) / T))
            x = scheduler.step(eps, k, x).prev_sample
    spread = float(ours.std())
    assert spread > 0.1                                         # the samples are not collapsed
    assert float((x - ours).abs().max()) < 1e-3 * max(1.0, float(ours.abs().max()))


def test_model_card_says_what_a_reader_needs(ddpm_run):
    x = ddpm_run.sample(300, sampler="ddim", steps=20, seed=2)
    (ddpm_run.path / "metrics.json").write_text(json.dumps(ddpm_run.evaluate(x, n_pairs=10)))
    paths = write_model_card(ddpm_run.path)
    assert {p.name for p in paths} == {"README.md", "scheduler_config.json"}
    card = (ddpm_run.path / "README.md").read_text()
    for words in ("DDPM on pinwheel", "## Data", "## Method", "## Training", "## Metrics", "floor median",
                  "verdict", "difflab.load(", "difflab sample", "DDIMScheduler", "schedule=linear", "150 of 150 steps"):
        assert words in card, words
    assert "`ddpm`, 1000 steps" in card and "T = 1000" in card


def test_model_card_of_a_dsm_run_without_metrics(tmp_path):
    run = difflab.train("gmm", method="dsm", out=tmp_path / "dsm", steps=5, seed=0, progress=False, threads=1,
                        batch_size=64, set=TINY)
    assert [p.name for p in write_model_card(run.path)] == ["README.md"]
    card = (run.path / "README.md").read_text()
    assert "DSM on gmm" in card and "Not measured yet" in card and "DDIMScheduler" not in card
    assert not (run.path / "scheduler_config.json").exists()
