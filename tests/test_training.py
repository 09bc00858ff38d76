"""The trainer: exact resume, safe checkpoints, no silent overwrite, settings validated."""
import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import difflab
from difflab.config import make_config
from difflab.errors import DifflabError
from difflab.training import train

TINY = ["network.width=16", "network.depth=1", "network.emb_dim=8", "batch_size=64", "checkpoint_every=7"]


def _cfg(steps, method="ddpm", data="gmm"):
    return make_config({}, TINY + ["n_train=200", "n_test=50"], data=data, method=method, steps=steps, seed=3)


@pytest.mark.parametrize("method", ["ddpm", "dsm"])
def test_resume_equals_an_uninterrupted_run(tmp_path, method):
    train(_cfg(20, method), tmp_path / "full", progress=False)
    train(_cfg(11, method), tmp_path / "part", progress=False)   # stops mid-epoch (4 steps per epoch)
    train(None, tmp_path / "part", resume=True, steps=20, progress=False)
    a = load_file(str(tmp_path / "full" / "checkpoint.safetensors"))
    b = load_file(str(tmp_path / "part" / "checkpoint.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    ha = json.loads((tmp_path / "full" / "history.json").read_text())
    hb = json.loads((tmp_path / "part" / "history.json").read_text())
    assert ha == hb


def test_run_folder_contents_and_sampling_is_seeded(tmp_path):
    train(_cfg(12), tmp_path / "r", progress=False)
    names = {p.name for p in (tmp_path / "r").iterdir()}
    assert {"config.json", "model.safetensors", "checkpoint.safetensors", "checkpoint.json", "history.json"} <= names
    assert not any(n.endswith(".pt") or n.endswith(".pkl") for n in names)
    run = difflab.load(tmp_path / "r")
    a, b = run.sample(50, seed=1), run.sample(50, seed=1)
    assert a.shape == (50, 2) and a.dtype == np.float32 and np.array_equal(a, b)
    assert not np.array_equal(a, run.sample(50, seed=2))


def test_existing_folder_is_not_overwritten(tmp_path):
    train(_cfg(4), tmp_path / "r", progress=False)
    with pytest.raises(DifflabError, match="already exists"):
        train(_cfg(4), tmp_path / "r", progress=False)
    train(_cfg(4), tmp_path / "r", progress=False, overwrite=True)


def test_resume_from_missing_or_damaged_checkpoint_says_so(tmp_path):
    with pytest.raises(DifflabError, match="not a difflab run folder"):
        train(None, tmp_path / "nothing", resume=True)
    train(_cfg(8), tmp_path / "r", progress=False)
    (tmp_path / "r" / "checkpoint.safetensors").write_bytes(b"garbage")
    with pytest.raises(DifflabError, match="damaged"):
        train(None, tmp_path / "r", resume=True, steps=16, progress=False)
    (tmp_path / "r" / "checkpoint.safetensors").unlink()
    with pytest.raises(DifflabError, match="no checkpoint"):
        train(None, tmp_path / "r", resume=True, steps=16, progress=False)


@pytest.mark.parametrize("sets,name", [(["steps=0"], "steps"), (["lr=-1"], "lr"), (["process.beta_end=1.5"], "beta_end"),
                                       (["process.sigma_min=20", "process.sigma_max=1"], "sigma_min"),
                                       (["bogus=1"], "bogus"), (["sampler=euler_a"], "sampler")])
def test_invalid_settings_are_named(tmp_path, sets, name):
    method = "dsm" if any("sigma" in s for s in sets) else "ddpm"
    with pytest.raises(DifflabError, match=name):
        cfg = make_config({}, sets, data="gmm", method=method)
        train(cfg, tmp_path / "r", progress=False)


def test_unknown_method_lists_valid_names():
    with pytest.raises(DifflabError, match="valid names: ddpm, dsm"):
        make_config({}, [], method="flow")


def test_dsm_sigma_max_comes_from_the_data(tmp_path):
    train(_cfg(2, "dsm"), tmp_path / "r", progress=False)
    info = json.loads((tmp_path / "r" / "config.json").read_text())
    assert info["process"]["name"] == "ve" and info["process"]["sigma_max"] > 2.0


def test_fresh_data_draws_new_points_and_resumes_exactly(tmp_path):
    cfg = _cfg(20)
    cfg.fresh_data = True
    train(cfg, tmp_path / "full", progress=False)
    part = _cfg(11)
    part.fresh_data = True
    train(part, tmp_path / "part", progress=False)
    train(None, tmp_path / "part", resume=True, steps=20, progress=False)
    a = load_file(str(tmp_path / "full" / "model.safetensors"))
    b = load_file(str(tmp_path / "part" / "model.safetensors"))
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # the same seed on the training split learns something else: the batches really are fresh draws
    c = load_file(str(train(_cfg(20), tmp_path / "split", progress=False) / "model.safetensors"))
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_fresh_data_batches_are_truth_draws():
    from difflab.data import get_dataset
    from difflab.training.loop import fresh_batch

    ds = get_dataset("normal2d")
    x = fresh_batch(ds, 20000, seed=0, step=3, device="cpu").numpy()
    assert len(np.unique(x, axis=0)) > len(ds.train)                 # not resampled from the split
    assert np.allclose(x.mean(0), ds.normalise(ds.mean[None])[0], atol=0.03)
    assert np.allclose(np.cov(x.T), np.cov(ds.normalise(ds.sample(20000, np.random.default_rng(1))).T), atol=0.05)
    assert torch.equal(fresh_batch(ds, 8, 0, 3, "cpu"), fresh_batch(ds, 8, 0, 3, "cpu"))
    assert not torch.equal(fresh_batch(ds, 8, 0, 3, "cpu"), fresh_batch(ds, 8, 0, 4, "cpu"))


def test_fresh_data_needs_a_truth_sampler(tmp_path):
    pts = tmp_path / "pts.npy"
    np.save(pts, np.random.default_rng(0).standard_normal((300, 2)))
    cfg = make_config({}, ["fresh_data=true"], data=str(pts), method="ddpm")
    with pytest.raises(DifflabError, match="truth sampler"):
        train(cfg, tmp_path / "r", progress=False)


def test_training_threads_default_to_one_for_the_mlp():
    from difflab.training.loop import TORCH_THREADS, training_threads

    assert training_threads(make_config({}, [], data="gmm")) == 1
    assert training_threads(make_config({}, ["threads=2"], data="gmm")) == 2
    unet = make_config({}, ["network.name=unet"], data="gmm")
    assert training_threads(unet) == TORCH_THREADS
