"""train_minutes: the steps planned inside the warm-up give exactly the run of that step count."""
import json

import pytest
import torch
from safetensors.torch import load_file

from difflab.config import make_config
from difflab.errors import DifflabError
from difflab.training import train
from difflab.training.budget import PLAN_STEPS, SAFETY, planned_steps

TINY = ["network.width=16", "network.depth=1", "network.emb_dim=8", "batch_size=64", "checkpoint_every=500",
        "n_train=200", "n_test=50", "lr_warmup=100"]


def _cfg(steps, *more):
    return make_config({}, TINY + list(more), data="gmm", method="ddpm", steps=steps, seed=3)


def _info(run):
    return json.loads((run / "config.json").read_text())


def _same_weights(a, b):
    ta, tb = load_file(str(a / "checkpoint.safetensors")), load_file(str(b / "checkpoint.safetensors"))
    return ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)


def test_planned_steps_fill_the_time_left():
    # 50 steps done in 5 s of a 1-minute budget at 0.1 s per step: 55 s left, SAFETY of it planned
    assert planned_steps(1.0, 50, 5.0, 0.1, 10**6) == 50 + int(SAFETY * 55 / 0.1)
    assert planned_steps(1.0, 50, 5.0, 0.1, 300) == 300                 # the configured steps stay the most
    assert planned_steps(1.0, 50, 70.0, 0.1, 10**6) == 50               # over time already: stop at once
    with pytest.raises(DifflabError, match="step time"):
        planned_steps(1.0, 50, 5.0, 0.0, 100)


def test_a_planned_run_is_the_run_of_its_planned_steps_and_resumes_exactly(tmp_path):
    # planned and finished in one call
    train(_cfg(100_000, "train_minutes=0.02"), tmp_path / "a", progress=False)
    info = _info(tmp_path / "a")
    plan = info["plan"]
    assert plan["at_step"] == PLAN_STEPS and plan["steps_asked"] == 100_000 and plan["seconds_per_step"] > 0
    assert PLAN_STEPS < plan["steps"] < 100_000 and info["config"]["steps"] == info["steps_done"] == plan["steps"]
    assert info["train_seconds"] < 0.02 * 60 * 1.5
    # the same settings with steps = the plan from the start: the same weights and history
    train(_cfg(plan["steps"]), tmp_path / "b", progress=False)
    assert _same_weights(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "a" / "history.json").read_text() == (tmp_path / "b" / "history.json").read_text()
    # stopped after its plan (max_minutes), then resumed until done: the plan is kept, and the result
    # is again the run of the planned steps
    train(_cfg(100_000, "train_minutes=0.05", "max_minutes=0.005", "checkpoint_every=20"), tmp_path / "c",
          progress=False)
    stopped = _info(tmp_path / "c")
    assert stopped["stopped_by"] == "max_minutes" and PLAN_STEPS < stopped["steps_done"] < stopped["plan"]["steps"]
    for _ in range(100):                          # each call stops after max_minutes (the saved settings)
        train(None, tmp_path / "c", resume=True, progress=False)
        done = _info(tmp_path / "c")
        if done["stopped_by"] is None:
            break
    assert done["plan"] == stopped["plan"] and done["steps_done"] == done["plan"]["steps"]
    train(_cfg(done["plan"]["steps"], "checkpoint_every=20"), tmp_path / "d", progress=False)
    assert _same_weights(tmp_path / "c", tmp_path / "d")


def test_train_minutes_is_checked(tmp_path):
    with pytest.raises(DifflabError, match="lr_warmup must be at least 5"):
        train(_cfg(100, "train_minutes=1", "lr_warmup=2"), tmp_path / "r", progress=False)
    with pytest.raises(DifflabError, match="train_minutes must be a positive number"):
        _cfg(100, "train_minutes=0")
    assert not (tmp_path / "r").exists()
