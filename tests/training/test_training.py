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


@pytest.mark.parametrize("key,value,words", [
    ("lr", float("nan"), "finite"), ("lr", float("inf"), "finite"), ("lr", 0.0, "positive"),
    ("lr_min_ratio", float("nan"), "finite"), ("lr_min_ratio", 1.5, "in \\[0, 1\\]"),
    ("grad_clip", float("nan"), "finite"), ("grad_clip", -1.0, "zero"),
    ("weight_decay", float("nan"), "finite"), ("weight_decay", -0.1, "zero or positive"),
    ("ema_decay", 1.0, "in \\[0, 1\\)"), ("ema_decay", float("nan"), "finite"),
    ("batch_size", 0, "at least 1"), ("steps", -5, "at least 1"), ("checkpoint_every", 0, "at least 1"),
    ("threads", -1, "at least 0"), ("lr_warmup", -1, "at least 0"), ("seed", 2**63, "an integer in"),
    ("seed", -1, "an integer in"), ("max_minutes", float("inf"), "finite"),
    ("label_dropout", 1.0, "in \\[0, 1\\)"), ("batch_size", 2.5, "an integer"),
])
def test_numeric_settings_are_checked_before_anything_is_written(tmp_path, key, value, words):
    cfg = _cfg(4)
    setattr(cfg, key, value)
    with pytest.raises(DifflabError, match=f"{key} must .*{words}") as e:
        train(cfg, tmp_path / "r", progress=False)
    assert "\n" not in str(e.value) and not (tmp_path / "r").exists()


def test_divergence_stops_at_the_last_good_step_and_keeps_its_checkpoint(tmp_path):
    from difflab.training.checkpoint import read_checkpoint

    cfg = make_config({}, ["lr=10"], data="gmm", steps=300, seed=0)
    with pytest.raises(DifflabError, match=r"training diverged at step (\d+): .*last good step") as e:
        train(cfg, tmp_path / "r", progress=False)
    bad = int(str(e.value).split("diverged at step ")[1].split(":")[0])
    assert f"last good step {bad - 1} " in str(e.value) and "\n" not in str(e.value)
    tensors, state = read_checkpoint(tmp_path / "r")
    assert state["step"] == bad - 1 and all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point())
    assert not (tmp_path / "r" / "model.safetensors").exists()


def test_non_finite_gradients_stop_training(tmp_path):
    cfg = make_config({}, ["lr=1e30", "grad_clip=0"] + TINY, data="gmm", steps=50, seed=0)
    with pytest.raises(DifflabError, match="training diverged at step .*(not finite|inf|nan|times)"):
        train(cfg, tmp_path / "r", progress=False)


def test_the_divergence_rule():
    from difflab.training.guard import GROWTH, MIN_SEEN, lowest_level, recent_losses, step_problem

    recent, level = recent_losses(), None
    for loss in [1.0, 0.9] + [0.5] * MIN_SEEN:          # the level follows the median down...
        recent.append(loss)
        level = lowest_level(recent, level)
    assert level == 0.5
    for loss in [50.0] * 200:                           # ...and not up
        recent.append(loss)
        level = lowest_level(recent, level)
    assert level == 0.5
    assert step_problem(0.5 * GROWTH * 0.99, 1.0, level) is None
    assert "times the run's lowest loss level" in step_problem(0.5 * GROWTH * 1.01, 1.0, level)
    assert "loss is nan" in step_problem(float("nan"), 1.0, level)
    assert "gradient norm is inf" in step_problem(1.0, float("inf"), level)


def test_a_run_folder_is_locked_while_it_trains(tmp_path):
    from difflab.training.lock import RunLock

    train(_cfg(8), tmp_path / "r", progress=False)
    with RunLock(tmp_path / "r"):                       # another trainer holds the folder
        with pytest.raises(DifflabError, match="being trained by another process"):
            train(None, tmp_path / "r", resume=True, steps=16, progress=False)
        with pytest.raises(DifflabError, match="being trained by another process"):
            train(_cfg(8), tmp_path / "r", overwrite=True, progress=False)
        assert (tmp_path / "r" / "model.safetensors").exists()      # nothing deleted
    train(None, tmp_path / "r", resume=True, steps=16, progress=False)   # free again


def _masked_cfg(steps, fresh=True, data="tictactoe"):
    cfg = make_config({}, ["network.width=16", "network.depth=1", "batch_size=64", "checkpoint_every=7",
                           "n_train=200", "n_test=50", "threads=1"], data=data, method="masked", steps=steps, seed=3)
    cfg.fresh_data = fresh
    return cfg


def test_fresh_data_masked_batches_are_classes_of_truth_draws():
    from difflab.data import get_dataset
    from difflab.training.loop import fresh_batch

    ds = get_dataset("connect4", n_train=50, n_test=10)
    cats = ds.categories()
    x = fresh_batch(ds, 300, seed=0, step=3, device="cpu", categories=cats)
    assert x.dtype == torch.int64 and x.shape == (300, 42)
    assert int(x.min()) >= 0 and int(x.max()) < len(cats)
    # the same classes the training split is coded to, of the boards the truth sampler draws for this step
    boards = ds.sample(300, np.random.default_rng([0, 3, 0xF4E5]))
    assert np.array_equal(x.numpy(), cats.normalise(boards))
    assert np.array_equal(cats.unnormalise(x.numpy()), boards)
    assert torch.equal(fresh_batch(ds, 8, 0, 3, "cpu", cats), fresh_batch(ds, 8, 0, 3, "cpu", cats))
    assert not torch.equal(fresh_batch(ds, 8, 0, 3, "cpu", cats), fresh_batch(ds, 8, 0, 4, "cpu", cats))
    # tic-tac-toe: more distinct boards than its training split holds, so not resampled from it
    ttt = get_dataset("tictactoe", n_train=200)
    y = fresh_batch(ttt, 2000, 0, 0, "cpu", ttt.categories()).numpy()
    assert len(np.unique(y, axis=0)) > len(ttt.train)


def test_fresh_data_masked_trains_and_draws_valid_classes(tmp_path, monkeypatch):
    from difflab.training import loop

    seen = []
    real = loop.fresh_batch

    def spy(*args, **kw):
        x = real(*args, **kw)
        seen.append(x)
        return x

    monkeypatch.setattr(loop, "fresh_batch", spy)
    train(_masked_cfg(2, data="connect4"), tmp_path / "c4", progress=False)
    assert len(seen) == 2
    for x in seen:
        assert x.dtype == torch.int64 and x.shape == (64, 42) and int(x.min()) >= 0 and int(x.max()) <= 2
    info = json.loads((tmp_path / "c4" / "config.json").read_text())
    assert info["steps_done"] == 2 and info["process"]["name"] == "masked"


def test_fresh_data_masked_resumes_exactly(tmp_path):
    train(_masked_cfg(20), tmp_path / "full", progress=False)
    train(_masked_cfg(11), tmp_path / "part", progress=False)
    train(None, tmp_path / "part", resume=True, steps=20, progress=False)
    a = load_file(str(tmp_path / "full" / "model.safetensors"))
    b = load_file(str(tmp_path / "part" / "model.safetensors"))
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # the same seed on the training split learns something else: the batches really are fresh draws
    c = load_file(str(train(_masked_cfg(20, fresh=False), tmp_path / "split", progress=False) / "model.safetensors"))
    assert any(not torch.equal(a[k], c[k]) for k in a)
