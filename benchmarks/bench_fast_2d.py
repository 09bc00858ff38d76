"""Issue 14, point 3: how fast 10,000 2D samples come at 10 network evaluations, beside diffusers.

One DDPM run of the default 2D network (the residual MLP, width 128, depth 4, Fourier features;
trained briefly: the time does not depend on the weights) samples 10,000 points with DPM-Solver++(2M)
at 10 steps (10 NFE), and diffusers' DPMSolverMultistepScheduler (dpmsolver++, order 2, 10 steps)
drives the same network for the same count. Both on one torch thread, timed alternately, REPEATS
times each; the figures are the medians of wall and CPU seconds, and their ratio is measured within
the one run (so a busy machine slows both alike).

    python benchmarks/bench_fast_2d.py [--repeats 9] [--print]

Writes the `fast-2d` section of BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_note, machine, publish  # noqa: E402

import difflab  # noqa: E402

N = 10_000
STEPS = 10
TARGET_S = 0.3


def diffusers_sampler(run):
    """10,000 samples by diffusers' DPM-Solver++(2M) on the run's eps network (None without diffusers)."""
    try:
        from diffusers import DPMSolverMultistepScheduler
    except ImportError:
        return None
    proc = run.process
    sched = DPMSolverMultistepScheduler(num_train_timesteps=proc.n_steps, beta_start=proc.beta_start,
                                        beta_end=proc.beta_end, beta_schedule="linear",
                                        algorithm_type="dpmsolver++", solver_order=2)
    net = run.net.eval()

    @torch.no_grad()
    def sample(seed):
        sched.set_timesteps(STEPS)
        gen = torch.Generator().manual_seed(seed)
        x = torch.randn((N,) + run.shape, generator=gen)
        for k in sched.timesteps:
            # diffusers' alphas_cumprod[k] is difflab's alpha_bar at grid time (k + 1) / T
            eps = net(x, torch.full((N,), (int(k) + 1) / proc.n_steps))
            x = sched.step(eps, k, x).prev_sample
        return x

    return sample


def timed(fn, seed):
    w, c = time.perf_counter(), time.process_time()
    fn(seed)
    return time.perf_counter() - w, time.process_time() - c


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--print", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    start_load = os.getloadavg()[0]
    run = difflab.train("pinwheel", method="ddpm", out=Path(tempfile.mkdtemp()) / "run", steps=200, seed=0,
                        progress=False, set={"threads": 1})
    ours = lambda seed: run.sample_with_info(N, sampler="dpm-solver", steps=STEPS, seed=seed)  # noqa: E731
    theirs = diffusers_sampler(run)
    nfe = ours(0).nfe
    if theirs is not None:
        theirs(0)                                                       # warm-up
    t_ours, t_theirs = [], []
    for r in range(a.repeats):
        t_ours.append(timed(ours, r))
        if theirs is not None:
            t_theirs.append(timed(theirs, r))
    med = lambda ts, i: statistics.median(t[i] for t in ts)  # noqa: E731
    params = sum(p.numel() for p in run.net.parameters())
    lines = [
        "## Few-step sampling speed: 10,000 2D samples at 10 NFE (issue 14, point 3)", "",
        f"Machine: {machine()}.  ",
        f"Command: `python benchmarks/bench_fast_2d.py --repeats {a.repeats}` ({time.strftime('%Y-%m-%d')}); "
        f"{load_note(start_load)}.", "",
        f"The default 2D network (residual MLP, {params:,} parameters), one torch thread, {N:,} samples, "
        f"{a.repeats} alternating repeats; medians.", "",
        "| sampler | NFE | wall s | CPU s |", "|---|---|---|---|",
        f"| difflab dpm-solver, {STEPS} steps | {nfe} | {med(t_ours, 0):.3f} | {med(t_ours, 1):.3f} |",
    ]
    if t_theirs:
        lines.append(f"| diffusers DPMSolverMultistepScheduler (dpmsolver++, order 2), {STEPS} steps | {STEPS} | "
                     f"{med(t_theirs, 0):.3f} | {med(t_theirs, 1):.3f} |")
        ratios = [o[1] / t[1] for o, t in zip(t_ours, t_theirs)]
        lines += ["", f"difflab / diffusers CPU time, median of the per-repeat ratios: {statistics.median(ratios):.2f}."]
    met = med(t_ours, 1) <= TARGET_S
    lines += ["", f"Target: at most {TARGET_S} s of one core: {'met' if met else 'not met'} "
                  f"({med(t_ours, 1):.3f} s CPU)."]
    publish("fast-2d", "\n".join(lines), quick=a.print)


if __name__ == "__main__":
    main()
