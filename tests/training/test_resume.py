"""Exact resume, in this process: a run stopped by Ctrl-C mid-step, or killed (no checkpoint
written at the kill), resumes to the same bits as an uninterrupted run, and the resumed call
trains only the remaining steps. The runs go past the warm-up and stop mid-epoch, so the cosine
schedule (which depends on the total number of steps) and the data position both matter."""
import signal

import pytest

from difflab.cli import main as cli
from difflab.config import make_config
from difflab.errors import DifflabError
from difflab.training import loop, train
from difflab.training.checkpoint import read_checkpoint

from test_crash_resume import bench

STEPS = 40
# 200 points in batches of 64: 4 steps per epoch; warm-up 5 steps; checkpoints every 7 steps
SETS = ["network.width=16", "network.depth=1", "network.emb_dim=8", "batch_size=64", "n_train=200", "n_test=50",
        "lr_warmup=5", "checkpoint_every=7"]


def _cfg(steps=STEPS, sets=()):
    return make_config({}, SETS + list(sets), data="gmm", method="ddpm", steps=steps, seed=3)


class Killed(BaseException):
    """Stands for kill -9: the loop does not catch it, so nothing is saved at that moment."""


def _steps_counted(monkeypatch, *, at: int | None = None, action=None) -> list:
    """Count optimiser steps through `learning_rate`, which the loop calls once per step, after the
    backward pass and before Adam: the middle of a step. At step `at`, run `action` there."""
    seen = []
    real = loop.learning_rate

    def counting(cfg, step):
        seen.append(step)
        if step == at:
            action()
        return real(cfg, step)

    monkeypatch.setattr(loop, "learning_rate", counting)
    return seen


def _resume_counting(monkeypatch, out, steps=None) -> list:
    """The optimiser steps of a resumed call."""
    with monkeypatch.context() as m:
        seen = _steps_counted(m)
        train(None, out, resume=True, steps=steps, progress=False)
    return seen


def _sigint():
    signal.raise_signal(signal.SIGINT)


def _kill():
    raise Killed


def _check_resume(tmp_path, monkeypatch, stop_at: int, action, stops_with, saved: int) -> None:
    """Run `action` in the middle of step `stop_at` (it stops the run with `stops_with`, leaving a
    checkpoint at step `saved`), resume, and compare with an uninterrupted run; the resumed call
    must train only the remaining steps."""
    full = train(_cfg(), tmp_path / "full", progress=False)
    part = tmp_path / "part"
    with monkeypatch.context() as m, pytest.raises(stops_with):
        _steps_counted(m, at=stop_at, action=action)
        train(_cfg(), part, progress=False)
    if saved:
        assert read_checkpoint(part)[1]["step"] == saved
    seen = _resume_counting(monkeypatch, part)
    assert seen == list(range(saved, STEPS)), "the resumed call must train only the remaining steps"
    assert bench.differences(full, part) == []


@pytest.mark.parametrize("stop_at", [0, 17, 38])
def test_sigint_mid_step_finishes_the_step_and_resumes_exactly(tmp_path, monkeypatch, stop_at):
    _check_resume(tmp_path, monkeypatch, stop_at, _sigint, DifflabError, saved=stop_at + 1)


@pytest.mark.parametrize("stop_at", [3, 23])
def test_kill_mid_step_resumes_from_the_last_checkpoint_exactly(tmp_path, monkeypatch, stop_at):
    # at step 3 no checkpoint exists yet (config.json only): the run starts again from step 0
    _check_resume(tmp_path, monkeypatch, stop_at, _kill, Killed, saved=stop_at // 7 * 7)


def test_the_checks_catch_a_resume_that_retrains_from_step_zero(tmp_path, monkeypatch):
    """The mutation of issue 15: validate the checkpoint, ignore it, retrain from step 0. Training
    is deterministic, so the final weights agree; the step count gives it away."""
    def ignore_checkpoint(out, parts):
        read_checkpoint(out)                          # still validated
        return loop.start_state(parts)

    monkeypatch.setattr(loop, "load_state", ignore_checkpoint)
    with pytest.raises(AssertionError, match="only the remaining steps"):
        _check_resume(tmp_path, monkeypatch, 17, _sigint, DifflabError, saved=18)


def test_the_checks_catch_a_checkpoint_saved_mid_step(tmp_path, monkeypatch):
    """The other resume bug of issue 15: Ctrl-C saving the state from partway through a step
    (data position and generator moved, step counter not)."""
    inside = []
    real_step = loop.one_step

    def remembering(out, parts, s):
        inside[:] = [out, parts, s]
        return real_step(out, parts, s)

    def save_mid_step():
        loop.save_state(*inside)
        raise Killed

    monkeypatch.setattr(loop, "one_step", remembering)
    with pytest.raises(AssertionError):
        _check_resume(tmp_path, monkeypatch, 17, save_mid_step, Killed, saved=17)


def test_same_command_with_resume_added(tmp_path, monkeypatch, capsys):
    run, full = tmp_path / "run", tmp_path / "full"
    args = ["gmm", "--steps", STEPS, "--seed", 3, "--method", "ddpm"] + [x for s in SETS for x in ("--set", s)]
    args = [str(a) for a in args]
    assert cli(["train", *args, "--out", str(full), "--no-progress"]) == 0
    with monkeypatch.context() as m:
        _steps_counted(m, at=21, action=_sigint)
        assert cli(["train", *args, "--out", str(run), "--no-progress"]) == 2
    assert "interrupted at step 22" in capsys.readouterr().err
    # settings that differ are named, and nothing changes
    assert cli(["train", *args, "--out", str(run), "--resume", "--set", "lr=0.01"]) == 2
    assert "setting lr differs" in capsys.readouterr().err
    assert cli(["train", "pinwheel", "--out", str(run), "--resume"]) == 2
    assert "trains on 'gmm'" in capsys.readouterr().err
    assert read_checkpoint(run)[1]["step"] == 22
    # the original command with --resume added continues it
    assert cli(["train", *args, "--out", str(run), "--resume", "--no-progress"]) == 0
    assert bench.differences(full, run) == []


def test_resume_may_raise_the_number_of_steps_only_forward(tmp_path):
    train(_cfg(12), tmp_path / "r", progress=False)
    with pytest.raises(DifflabError, match="already finished 12 steps"):
        train(None, tmp_path / "r", resume=True, progress=False)
    with pytest.raises(DifflabError, match="already finished 12 steps"):
        train(None, tmp_path / "r", resume=True, steps=8, progress=False)
    train(None, tmp_path / "r", resume=True, steps=14, progress=False)
    assert read_checkpoint(tmp_path / "r")[1]["step"] == 14


def test_a_killed_finish_is_completed_on_resume(tmp_path, monkeypatch):
    """Killed after the final checkpoint and before config.json said the run was done."""
    full = train(_cfg(), tmp_path / "full", progress=False)
    real = loop.save_tensors

    def killed(*a, **k):
        raise Killed

    monkeypatch.setattr(loop, "save_tensors", killed)
    with pytest.raises(Killed):
        train(_cfg(), tmp_path / "part", progress=False)
    monkeypatch.setattr(loop, "save_tensors", real)
    assert _resume_counting(monkeypatch, tmp_path / "part") == []
    assert bench.differences(full, tmp_path / "part") == []


def test_a_second_ctrl_c_stops_at_once():
    from difflab.training.interrupt import StopOnInterrupt

    before = signal.getsignal(signal.SIGINT)
    with StopOnInterrupt() as stop:
        _sigint()
        assert stop.requested                         # the first only asks for a stop at the next step boundary
        with pytest.raises(KeyboardInterrupt):
            _sigint()
    assert signal.getsignal(signal.SIGINT) is before


def test_python_api_resume_checks_repeated_settings(tmp_path):
    import difflab

    run = tmp_path / "r"
    train(_cfg(8), run, progress=False)
    with pytest.raises(DifflabError, match="trains on 'gmm', not 'pinwheel'"):
        difflab.train("pinwheel", out=run, resume=True, steps=10, progress=False)
    with pytest.raises(DifflabError, match="setting seed differs"):
        difflab.train("gmm", method="ddpm", out=run, resume=True, steps=10, seed=4, progress=False,
                      set=dict(s.split("=") for s in SETS))
    difflab.train("gmm", method="ddpm", out=run, resume=True, steps=10, seed=3, progress=False,
                  set=dict(s.split("=") for s in SETS))
    assert read_checkpoint(run)[1]["step"] == 10
