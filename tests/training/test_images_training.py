"""Image runs through the same trainer: class labels with the K noise draws, classifier-free
guidance at sampling time, random flips that resume exactly, the time budget, the switches."""
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import difflab
from difflab.config import make_config
from difflab.errors import DifflabError
from difflab.objectives import dsm_loss, eps_loss
from difflab.processes import VPProcess
from difflab.training import train
from difflab.training.batches import next_batch, random_hflip
from difflab.training.runtime import resolve

TINY_IMAGE = ["network.name=unet", "network.base_channels=8", "network.channel_mults=[1, 2]",
              "network.attention_resolutions=[]", "process.n_steps=100", "process.beta_end=0.2",
              "batch_size=16", "n_train=64", "n_test=16", "checkpoint_every=5"]


def image_cfg(steps, *sets, seed=3):
    return make_config({}, TINY_IMAGE + list(sets), data="shapes", method="ddpm", steps=steps, seed=seed)


class LabelEcho(torch.nn.Module):
    """eps_hat = t + y (or t alone): shows which label reached which corrupted copy."""

    def forward(self, x, t, y=None):
        v = t if y is None else t + y.to(t.dtype)
        return v.view(-1, *([1] * (x.ndim - 1))).expand_as(x)


@pytest.mark.parametrize("loss", [eps_loss, dsm_loss])
def test_labels_follow_their_samples_through_the_k_draws(loss):
    proc, g = VPProcess(), torch.Generator().manual_seed(0)
    x0 = torch.randn(5, 1, 4, 4, generator=g)
    t, eps = torch.rand(5, generator=g), torch.randn(3, 5, 1, 4, 4, generator=g)
    y = torch.tensor([0, 1, 2, 3, 4])
    got = loss(LabelEcho(), proc, x0, t=t, eps=eps, y=y)
    want = torch.stack([(t[b] + y[b] - eps[:, b]).pow(2).flatten(1).mean(1).mean() for b in range(5)])
    assert got.shape == (5,) and torch.allclose(got, want, rtol=1e-4, atol=1e-5)


def test_random_hflip_is_seeded_and_flips_about_half():
    x = torch.arange(2000 * 4, dtype=torch.float32).view(2000, 1, 1, 4)
    a = random_hflip(x, torch.Generator().manual_seed(1))
    b = random_hflip(x, torch.Generator().manual_seed(1))
    flipped = (a != x).any(dim=-1).flatten()
    assert torch.equal(a, b) and 0.45 < flipped.float().mean() < 0.55
    assert torch.equal(a[flipped], x[flipped].flip(-1))
    x0, y = next_batch(x, None, torch.arange(8), torch.Generator(), hflip=False, label_dropout=0.5)
    assert torch.equal(x0, x[:8]) and y is None


def test_conditional_run_samples_labels_and_guidance(tmp_path):
    train(image_cfg(6, "class_conditional=true"), tmp_path / "c", progress=False)
    run = difflab.load(tmp_path / "c")
    assert run.n_classes == 4 and run.kind == "image"
    labels = [0, 1, 2, 3, 3, 2]
    for sampler, steps in (("ddpm", 5), ("ddim", 5), ("dpm-solver", 4), ("heun", 3), ("pc", 3), ("langevin", 2)):
        res = run.sample_with_info(6, sampler=sampler, steps=steps, labels=labels, guidance=2.0, seed=1)
        assert res.samples.shape == (6, 1, 8, 8) and np.isfinite(res.samples).all(), sampler
        assert res.samples.min() >= 0 and res.samples.max() <= 1
    plain = run.sample_with_info(6, sampler="ddim", steps=5, labels=labels, seed=1)
    guided = run.sample_with_info(6, sampler="ddim", steps=5, labels=labels, guidance=3.0, seed=1)
    assert guided.nfe == 2 * plain.nfe == 10                  # guidance: conditional + unconditional passes
    assert not np.array_equal(plain.samples, guided.samples)
    one = run.sample(6, sampler="ddim", steps=5, labels=2, seed=1)
    assert np.array_equal(one, run.sample(6, sampler="ddim", steps=5, labels=[2] * 6, seed=1))
    assert run.sample(3, sampler="ddim", steps=5, seed=1).shape == (3, 1, 8, 8)      # the null class
    for bad, message in (({"labels": 4}, "0..3"), ({"labels": [-1] * 6}, "0..3"), ({"labels": [1, 2]}, "2 labels"),
                         ({"guidance": 2.0}, "guidance needs labels"), ({"labels": 1, "guidance": -1.0}, ">= 0"),
                         ({"labels": "cat"}, "integer")):
        with pytest.raises(DifflabError, match=message):
            run.sample(6, sampler="ddim", steps=5, **bad)


def test_labels_on_an_unconditional_run_are_refused(tmp_path):
    train(image_cfg(2), tmp_path / "u", progress=False)
    run = difflab.load(tmp_path / "u")
    assert run.n_classes is None
    with pytest.raises(DifflabError, match="unconditional"):
        run.sample(2, sampler="ddim", steps=3, labels=1)


def test_hflip_and_label_dropout_resume_exactly(tmp_path):
    sets = ["class_conditional=true", "label_dropout=0.3", "data_options={hflip: true}"]
    train(image_cfg(10, *sets), tmp_path / "full", progress=False)
    train(image_cfg(7, *sets), tmp_path / "part", progress=False)       # stops mid-epoch (4 steps per epoch)
    train(None, tmp_path / "part", resume=True, steps=10, progress=False)
    a = load_file(str(tmp_path / "full" / "checkpoint.safetensors"))
    b = load_file(str(tmp_path / "part" / "checkpoint.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    info = json.loads((tmp_path / "full" / "config.json").read_text())
    assert info["runtime"]["hflip"] is True and info["steps_done"] == 10
    other = tmp_path / "noflip"                                           # the flips do change training
    train(image_cfg(10, "class_conditional=true", "label_dropout=0.3"), other, progress=False)
    c = load_file(str(other / "checkpoint.safetensors"))
    assert not all(torch.equal(a[k], c[k]) for k in a if k.startswith("net."))


def test_time_budget_stops_cleanly_and_saves(tmp_path):
    train(image_cfg(10_000, "max_minutes=0.0001"), tmp_path / "b", progress=False)
    info = json.loads((tmp_path / "b" / "config.json").read_text())
    assert info["stopped_by"] == "max_minutes" and info["steps_done"] < 10_000
    assert (tmp_path / "b" / "model.safetensors").exists()
    difflab.load(tmp_path / "b").sample(2, sampler="ddim", steps=2)


@pytest.mark.parametrize("sets, message", [(["label_dropout=1.5"], "label_dropout"), (["amp=maybe"], "amp"),
                                           (["max_minutes=0"], "max_minutes"), (["test_loss_points=0"], "test_loss_points")])
def test_image_settings_are_validated(sets, message):
    with pytest.raises(DifflabError, match=message):
        make_config({}, sets, data="shapes")


def test_class_conditional_needs_labels_and_a_unet(tmp_path):
    with pytest.raises(DifflabError, match="labelled data"):
        train(make_config({}, ["class_conditional=true", "steps=2"], data="gmm"), tmp_path / "a", progress=False)
    with pytest.raises(DifflabError, match="unet"):
        train(make_config({}, ["class_conditional=true", "steps=2", "n_train=32", "n_test=8"], data="shapes"),
              tmp_path / "b", progress=False)


def test_speed_switches_are_skipped_where_unsupported():
    cpu = resolve(amp=True, compile=False, device=torch.device("cpu"))
    assert cpu["amp"] is False and "amp skipped" in cpu["notes"][0]
    assert resolve(False, False, torch.device("cpu")) == {"amp": False, "compile": False, "channels_last": False,
                                                          "notes": []}
    vectors = resolve(False, False, torch.device("cpu"), channels_last=True, item_dims=1)
    assert vectors["channels_last"] is False and "channels_last skipped" in vectors["notes"][0]


def test_channels_last_trains_the_same_model_in_nhwc(tmp_path, monkeypatch):
    """channels_last changes the memory order of the image batches and the convolution weights,
    not the values: the losses and weights agree with a plain run to float32 round-off, the
    network really runs in NHWC, and the saved weights load and sample as a plain run's do."""
    from difflab.training import setup

    seen = []
    real = setup.build_parts

    def spy(cfg, *a, **kw):
        parts = real(cfg, *a, **kw)
        # a 3x3 kernel over several channels, whose NHWC order differs from the NCHW one (one-channel
        # tensors, like these images, are both at once)
        w = next(p for p in parts.net.parameters() if p.dim() == 4 and p.shape[1] > 1 and p.shape[2] > 1)
        seen.append((w.is_contiguous(memory_format=torch.channels_last), w.is_contiguous()))
        return parts

    monkeypatch.setattr("difflab.training.loop.build_parts", spy)
    sets = ["network.attention_resolutions=[4]", "class_conditional=true"]
    train(image_cfg(6, *sets, "channels_last=true"), tmp_path / "nhwc", progress=False)
    train(image_cfg(6, *sets), tmp_path / "plain", progress=False)
    assert seen == [(True, False), (False, True)]
    info = json.loads((tmp_path / "nhwc" / "config.json").read_text())
    assert info["runtime"]["channels_last"] is True
    h1, h2 = (json.loads((tmp_path / r / "history.json").read_text()) for r in ("nhwc", "plain"))
    assert np.allclose(h1["train_loss"], h2["train_loss"], rtol=1e-4)
    a, b = (load_file(str(tmp_path / r / "model.safetensors")) for r in ("nhwc", "plain"))
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    x = difflab.load(tmp_path / "nhwc").sample(2, sampler="ddim", steps=2, seed=1, labels=1)
    y = difflab.load(tmp_path / "plain").sample(2, sampler="ddim", steps=2, seed=1, labels=1)
    assert np.allclose(x, y, atol=1e-4)


def test_channels_last_on_vectors_is_skipped_with_a_note(tmp_path):
    train(make_config({}, ["channels_last=true", "n_train=64", "n_test=16"], data="gmm", steps=2), tmp_path / "v",
          progress=False)
    info = json.loads((tmp_path / "v" / "config.json").read_text())
    assert info["runtime"]["channels_last"] is False and "channels_last skipped" in info["runtime"]["notes"][0]


def test_amp_switch_trains_on_cpu(tmp_path):
    train(image_cfg(2, "amp=true"), tmp_path / "a", progress=False)
    info = json.loads((tmp_path / "a" / "config.json").read_text())
    assert info["runtime"]["amp"] is False and info["runtime"]["notes"]


@pytest.mark.slow
def test_compile_switch_trains_on_cpu(tmp_path):
    """torch.compile on a CPU with a C++ compiler (a few minutes of compiling on 2 cores), through
    an epoch's smaller last batch (n_train 40, batch 16: batches of 16, 16, 8), which compiles a
    second shape, on a UNet with attention (the failure of automatic dynamic shapes was seen on a
    second input shape of an attention UNet, in benchmarks/profile_images.py)."""
    train(image_cfg(4, "compile=true", "n_train=40", "network.attention_resolutions=[4]"), tmp_path / "c",
          progress=False)
    info = json.loads((tmp_path / "c" / "config.json").read_text())
    assert info["runtime"]["compile"] is (resolve(False, True, torch.device("cpu"))["compile"])
    assert difflab.load(tmp_path / "c").sample(2, sampler="ddim", steps=2).shape == (2, 1, 8, 8)
