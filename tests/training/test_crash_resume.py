"""Real processes, real signals: SIGKILL at random moments and Ctrl-C, then `--resume`, end
bit for bit where an uninterrupted run ends. The loop is benchmarks/bench_crash_resume.py's, smaller."""
import importlib.util
import json
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from difflab.config import make_config
from difflab.training import train

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("bench_crash_resume", ROOT / "benchmarks" / "bench_crash_resume.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

STEPS = 200
SETS = ["network.width=16", "network.depth=1", "network.emb_dim=8", "batch_size=64", "n_train=200", "n_test=50",
        "lr_warmup=20", "checkpoint_every=5", "threads=1"]
ARGS = ["gmm", "--method", "ddpm", "--steps", str(STEPS), "--seed", "0"] + [x for s in SETS for x in ("--set", s)]


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> Path:
    """The uninterrupted run, trained in this process (the command line builds the same config)."""
    out = tmp_path_factory.mktemp("crash") / "full"
    return train(make_config({}, SETS, data="gmm", method="ddpm", steps=STEPS, seed=0), out, progress=False)


def test_sigkill_at_random_moments_then_resume_is_bit_identical(tmp_path, full):
    seconds = json.loads((full / "config.json").read_text())["train_seconds"]
    # kills during start-up, aimed at checkpoint writes in progress, or within two checkpoint
    # intervals of 5 steps after training began (seeded choices; the moments depend on timing)
    report = bench.kill_and_resume(ARGS, tmp_path / "crashed", STEPS, kills=4, rng=random.Random(0),
                                   interval_s=max(seconds * 5 / STEPS, 0.02), env=bench.child_env(1),
                                   startup_share=0.2, write_share=0.4, timeout_s=240)
    assert report["kills"] == 4, report
    assert bench.differences(full, tmp_path / "crashed") == [], report
    assert report["last_started_at"] == report["resumed_from"][-1], report   # it trained only the remaining steps


def test_ctrl_c_saves_a_step_boundary_and_the_same_command_resumes(tmp_path, full):
    out = tmp_path / "run"
    env = bench.child_env(1)
    proc = subprocess.Popen(bench.difflab_command(out, ARGS), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.safetensors").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    err = proc.communicate()[1].decode()
    assert proc.returncode == 2 and "interrupted at step" in err, err
    stopped = int(err.split("interrupted at step ")[1].split(";")[0])
    assert bench.checkpoint_step(out) == stopped
    done = subprocess.run(bench.difflab_command(out, ARGS) + ["--resume"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert bench.differences(full, out) == []
    assert json.loads((out / "config.json").read_text())["started_at_step"] == stopped
