"""`keep: best` (training/best.py): the run samples with the EMA weights of its lowest test loss.

The oracle is the run's own test loss: the kept weights, loaded into a fresh network and scored
on the run's fixed test draw, give exactly the lowest value of history.json's EMA test loss, at
the step config.json names. Training itself must not change, and a resumed run keeps the same
best epoch."""
import json
import math

import pytest
import torch
from safetensors.torch import load_file

from difflab.config import make_config
from difflab.errors import DifflabError
from difflab.training import loop, train
from difflab.training.best import Best, update_best
from difflab.training.checkpoint import read_checkpoint, unprefixed
from difflab.training.setup import build_parts

from test_crash_resume import bench

STEPS = 120
# 16 points in batches of 16: an epoch a step, a network that learns the points (its test loss is
# lowest at step 106 and has risen by 2% at 120); checkpoints every 7 steps
SETS = ["network.width=64", "network.depth=2", "network.emb_dim=8", "batch_size=16", "n_train=16", "n_test=50",
        "lr_warmup=5", "checkpoint_every=7", "lr=0.01", "ema_decay=0.9"]


def _cfg(keep, steps=STEPS, sets=()):
    return make_config({}, SETS + [f"keep={keep}", *sets], data="spiral", method="ddpm", steps=steps, seed=5)


def _test_loss_of(run, weights) -> float:
    parts = build_parts(make_config(json.loads((run / "config.json").read_text())["config"], []))
    parts.ema.net.load_state_dict(weights)
    return parts.test_loss(parts.ema.net)


def test_best_keeps_the_weights_of_the_lowest_test_loss_and_trains_the_same(tmp_path):
    last = train(_cfg("last"), tmp_path / "last", progress=False)
    best = train(_cfg("best"), tmp_path / "best", progress=False)
    h = json.loads((best / "history.json").read_text())
    assert h == json.loads((last / "history.json").read_text()), "keep must not change training"
    i = min(range(len(h["test_loss_ema"])), key=h["test_loss_ema"].__getitem__)
    assert i < len(h["epoch"]) - 1, "this run's test loss must turn up before the end, or the test says nothing"
    kept = json.loads((best / "config.json").read_text())["kept"]
    assert kept == {"keep": "best", "step": h["step"][i], "test_loss_ema": h["test_loss_ema"][i]}
    assert json.loads((last / "config.json").read_text())["kept"] == {"keep": "last", "step": STEPS}
    weights = load_file(str(best / "model.safetensors"))
    assert _test_loss_of(best, weights) == h["test_loss_ema"][i]
    assert f"the EMA weights of step {h['step'][i]}, the lowest test loss" in (best / "README.md").read_text()
    # the final EMA weights stay in the checkpoint, the same as the keep-last run's sampling weights
    final = unprefixed("ema", read_checkpoint(best)[0])
    last_weights = load_file(str(last / "model.safetensors"))
    assert all(final[k].equal(last_weights[k]) for k in last_weights)
    assert not all(weights[k].equal(last_weights[k]) for k in last_weights)


def test_best_resumes_exactly(tmp_path, monkeypatch):
    full = train(_cfg("best"), tmp_path / "full", progress=False)
    part = tmp_path / "part"

    class Killed(BaseException):
        pass

    real = loop.learning_rate

    def kill_at_100(cfg, step):
        if step == 100:
            raise Killed
        return real(cfg, step)

    with monkeypatch.context() as m, pytest.raises(Killed):
        m.setattr(loop, "learning_rate", kill_at_100)
        train(_cfg("best"), part, progress=False)
    assert read_checkpoint(part)[1]["best"] is not None
    train(None, part, resume=True, progress=False)
    assert bench.differences(full, part) == []
    assert json.loads((full / "config.json").read_text())["kept"] == json.loads((part / "config.json").read_text())["kept"]


def test_a_run_shorter_than_an_epoch_keeps_the_last_weights(tmp_path):
    run = train(_cfg("best", steps=3, sets=["n_train=64"]), tmp_path / "run", progress=False)   # 4 steps an epoch
    assert json.loads((run / "config.json").read_text())["kept"] == {"keep": "last", "step": 3}


def test_unknown_keep_is_refused(tmp_path):
    with pytest.raises(DifflabError, match="unknown keep 'first'; valid names: best, last"):
        train(_cfg("first"), tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()


def test_update_best_takes_only_a_lower_finite_loss():
    net = torch.nn.Linear(2, 1)
    b = update_best(None, 1.0, 10, net)
    assert (b.loss, b.step) == (1.0, 10)
    assert update_best(b, 1.0, 20, net) is b                  # a tie keeps the earlier epoch
    assert update_best(b, math.nan, 30, net) is b
    assert update_best(b, math.inf, 30, net) is b
    assert update_best(None, math.nan, 30, net) is None
    with torch.no_grad():
        net.weight.add_(1.0)
    c = update_best(b, 0.5, 40, net)
    assert (c.loss, c.step) == (0.5, 40) and c.weights["weight"].equal(net.weight)
    assert not b.weights["weight"].equal(net.weight), "the copy must not follow the network"
    assert isinstance(c, Best)
