"""Crash and resume: a training run killed with SIGKILL at random moments, resumed until done,
ends bit for bit where an uninterrupted run ends.

`difflab train gmm --method ddpm --steps 1500 --seed 0` runs once uninterrupted, then again in
a fresh folder as a series of processes: each one is killed with SIGKILL at a random moment
(seeded), and the next one is the same command with `--resume` added, until KILLS kills have
been made and a last process finishes. Most kills land a random time after the process began
training (uniform over twice the time of one checkpoint interval, so most land between two
checkpoints and lose the steps since the last one); some land at a random moment of start-up,
and some as soon as a checkpoint write is seen in progress. A kill that leaves a checkpoint's
temporary file behind landed inside a checkpoint write.

Verdict: the final checkpoint (weights, EMA, Adam, random generators, data position), the
loss history and the sampling weights equal the uninterrupted run's, and the last process
started at the step of the checkpoint it found on disk, so it trained only the remaining steps.

Writes the `crash-resume` section of BENCHMARKS.md.

    python benchmarks/bench_crash_resume.py          # about 3 min on one busy core
The test suite runs a small version of the same loop (tests/training/test_crash_resume.py).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
SECTION = "crash-resume"


def difflab_command(out: Path, args: list[str]) -> list[str]:
    return [sys.executable, "-m", "difflab", "train", *args, "--out", str(out), "--no-progress"]


def child_env(threads: int) -> dict:
    """The environment of a training process: this checkout's package first, `threads` CPU threads."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def checkpoint_step(out: Path) -> int:
    """The step of the checkpoint in `out` (read from the checkpoint itself), 0 when there is none."""
    path = out / "checkpoint.safetensors"
    if not path.exists():
        return 0
    with safe_open(str(path), framework="pt") as f:
        return json.loads(f.metadata()["state"])["step"]


def finished(out: Path, steps: int) -> bool:
    try:
        return json.loads((out / "config.json").read_text()).get("steps_done") == steps
    except (OSError, ValueError):
        return False


def training_began(out: Path, since: float) -> bool:
    """Whether the process started at `since` got past its set-up (it rewrites config.json then)."""
    try:
        return (out / "config.json").stat().st_mtime >= since
    except OSError:
        return False


def writing_since(out: Path, since: float) -> bool:
    """Whether a checkpoint write begun after `since` is in progress (its temporary file exists)."""
    for name in ("checkpoint.safetensors.tmp", "checkpoint.json.tmp"):
        try:
            if os.stat(out / name).st_mtime >= since:
                return True
        except OSError:
            pass
    return False


def wait_for(condition, proc, timeout_s: float, pause_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while proc.poll() is None and not condition() and time.monotonic() < deadline:
        time.sleep(pause_s)


def kill_and_resume(args: list[str], out: Path, steps: int, kills: int, rng: random.Random, interval_s: float,
                    env: dict, startup_share: float = 0.15, write_share: float = 0.25, timeout_s: float = 600) -> dict:
    """Train `difflab train ARGS --out OUT`, SIGKILL it `kills` times, resume until done.

    Each kill lands, with chance `startup_share`, `uniform(0, 1)` s after the process started
    (mostly during start-up); with chance `write_share`, as soon as a checkpoint write is seen in
    progress, at the first to fourth write the process begins; otherwise `uniform(0, 2 * interval_s)`
    s after the process began training. Returns what happened: kills made, kills that left a
    checkpoint write unfinished (its temporary file behind), the step each process resumed from,
    and the step the last process started at according to its own config.json.
    """
    report = {"kills": 0, "kills_during_write": 0, "resumed_from": [], "processes": 0}
    deadline = time.monotonic() + timeout_s
    while not finished(out, steps):
        if time.monotonic() > deadline:
            raise RuntimeError(f"kill_and_resume: no finished run in {out} after {timeout_s} s: {report}")
        resume = (out / "config.json").exists()
        report["resumed_from"].append(checkpoint_step(out) if resume else None)
        spawned = time.time()
        proc = subprocess.Popen(difflab_command(out, args) + (["--resume"] if resume else []), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        report["processes"] += 1
        if report["kills"] < kills:
            moment = rng.random()
            if moment < startup_share:
                time.sleep(rng.uniform(0, 1.0))
            elif moment < startup_share + write_share:
                for _ in range(rng.randint(1, 4)):       # the k-th write this process begins
                    began = time.time()
                    wait_for(lambda: writing_since(out, began), proc, timeout_s, 0.0002)
            else:
                wait_for(lambda: training_began(out, spawned), proc, timeout_s, 0.005)
                time.sleep(rng.uniform(0, 2 * interval_s))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                report["kills"] += 1
                proc.wait()
                torn = [p for p in out.glob("*.tmp") if p.stat().st_mtime >= spawned]
                report["kills_during_write"] += bool(torn)
                continue
        err = proc.communicate()[1].decode()
        if proc.returncode != 0 and not finished(out, steps):
            raise RuntimeError(f"a resumed process failed ({proc.returncode}): {err.strip()}")
    report["last_started_at"] = json.loads((out / "config.json").read_text())["started_at_step"]
    return report


def differences(a: Path, b: Path) -> list[str]:
    """What differs between two finished run folders: checkpoint tensors and state (all but the
    wall-clock time), the loss history, the sampling weights. Empty when they are the same run."""
    diff = []
    for name in ("checkpoint.safetensors", "model.safetensors"):
        ta, tb = load_file(str(a / name)), load_file(str(b / name))
        if ta.keys() != tb.keys():
            diff.append(f"{name}: tensor names")
        diff += [f"{name}: {k}" for k in sorted(ta.keys() & tb.keys()) if not ta[k].equal(tb[k])]
    states = []
    for run in (a, b):
        with safe_open(str(run / "checkpoint.safetensors"), framework="pt") as f:
            state = json.loads(f.metadata()["state"])
        state.pop("train_seconds")
        states.append(state)
    diff += [f"checkpoint state: {k}" for k in states[0] if states[0][k] != states[1].get(k)]
    if json.loads((a / "history.json").read_text()) != json.loads((b / "history.json").read_text()):
        diff.append("history.json")
    return diff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=20, help="SIGKILLs before the run may finish (default 20)")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--checkpoint-every", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill moments (the run's seed is 0)")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads of each training process")
    ap.add_argument("--quick", action="store_true", help="print the section instead of writing BENCHMARKS.md")
    a = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import torch
    from common import load_note, machine, publish

    torch.set_num_threads(a.threads)                # as in the training processes, so machine() says so

    args = ["gmm", "--method", "ddpm", "--steps", str(a.steps), "--seed", "0",
            "--set", f"checkpoint_every={a.checkpoint_every}", "--set", f"threads={a.threads}"]
    env, load0, t0 = child_env(a.threads), os.getloadavg()[0], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        full, crashed = Path(tmp) / "full", Path(tmp) / "crashed"
        subprocess.run(difflab_command(full, args), env=env, check=True, stdout=subprocess.DEVNULL)
        seconds = json.loads((full / "config.json").read_text())["train_seconds"]
        interval = seconds * a.checkpoint_every / a.steps
        report = kill_and_resume(args, crashed, a.steps, a.kills, random.Random(a.seed), interval, env)
        diff = differences(full, crashed)
    resumed = [s for s in report["resumed_from"] if s is not None]
    exact = not diff and report["last_started_at"] == report["resumed_from"][-1]
    verdict = ("**bit-identical**: the final checkpoint (weights, EMA, Adam, generators, data position), the loss "
               "history and the sampling weights equal the uninterrupted run's" if not diff
               else f"**differs**: {', '.join(diff)}")
    body = f"""## Crash and resume

Machine: {machine()}.  
Command: `python benchmarks/bench_crash_resume.py --kills {a.kills} --threads {a.threads}` \
({time.strftime('%Y-%m-%d')}, {(time.perf_counter() - t0) / 60:.1f} min; {load_note(load0)}).

Run: `difflab train {' '.join(args)}`, uninterrupted ({seconds:.1f} s of training), then in a fresh folder as \
{report['processes']} processes: {report['kills']} killed with SIGKILL at seeded random moments \
({report['kills_during_write']} of them inside a checkpoint write, seen by the temporary file they left), each \
followed by the same command with `--resume`. Checkpoints every {a.checkpoint_every} steps. A kill lands at a random \
moment of start-up (chance 0.15), as soon as the process is seen writing its first to fourth checkpoint (0.25), or \
else up to two checkpoint intervals ({2 * interval:.2f} s) after the process began training, losing the steps since \
the last checkpoint. The processes resumed from steps {', '.join(map(str, resumed))}; the last one started at \
step {report['last_started_at']}, the step of the checkpoint it found, and trained only the remaining \
{a.steps - report['last_started_at']}.

Verdict: {verdict}{'' if exact else ' (the last process did not start at the checkpoint it found)'}.
"""
    publish(SECTION, body, quick=a.quick)


if __name__ == "__main__":
    main()
