"""Issue 5, high-dimensional Gaussians: DDPM on normal-nd as d grows, against the exact truth.

For d in {2, 8, 32, 128, 512}: train DDPM (the method's defaults, the residual MLP) on normal-nd
(N(mean, A A^T + 0.1 I), data/toy.py), draw N samples with the run's default sampler (ancestral
DDPM over all 1000 levels) and report:

- the exact Frechet distance between the samples' Gaussian fit and the TRUE Gaussian
  (eval/gaussian.py) beside its floor: the same distance for fresh truth samples of the same N,
  median and p95 over FLOOR_DRAWS draws;
- training time (the trainer's own clock), sampling time;
- peak memory: each of training and sampling runs in a fresh process; the figure is the growth
  of that process's peak resident set size (getrusage ru_maxrss) over its size after the imports,
  i.e. everything the step needed: data, network, optimiser, activations, allocator caches.

Settings: STEPS optimiser steps at batch 256 for every d; MLP width max(128, min(2 d, 512))
(depth 4): the network's output is linear in its last hidden layer, so a width below d could
only produce eps_hat in a width-dimensional subspace, while a full-covariance Gaussian needs all
d; and at d = 128 the default width 128 was found too narrow (after 3000 steps its eps error at
high noise, t > 0.7, was 0.08 per coordinate where the optimum is below 0.01, and every sampler
diverged: FD 5e5); 2 d is capped at 512 to keep d = 512 within the time budget; N_TRAIN =
50,000 training points (a model that learned its training set exactly would otherwise inherit
that set's covariance error, which at d = 512 and 2000 points is as large as the floor itself).
N = 2000 samples at every d, and the floor's truth draws have the same N. More samples at high d
would make the measure sharper (the FD of a Gaussian fit grows like d^2 / N, so at d = 512 the
floor is large), but sampling time is proportional to N and d = 512 already dominates the run
(1000 network calls on 2000 x 512 inputs with a 1.9M-parameter MLP); the comparison with the
floor stays fair at any N because both sides use the same N.

Writes the `gaussians` section of BENCHMARKS.md and benchmarks/figures/gaussians-scaling.png.

    python benchmarks/bench_gaussians.py           # full (about 10-15 min on 2 cores; see BENCHMARKS.md)
    python benchmarks/bench_gaussians.py --quick   # d in {2, 8}, 1000 steps; prints, writes nothing
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, fmt, machine, write_section  # noqa: E402

DIMS = (2, 8, 32, 128, 512)
STEPS = 3000
N_TRAIN = 50_000
FLOOR_DRAWS = 30
N_SAMPLES = 2000
FIGURE = ROOT / "benchmarks" / "figures" / "gaussians-scaling.png"


def width_for(d: int) -> int:
    return max(128, min(2 * d, 512))


def n_samples_for(d: int) -> int:
    return N_SAMPLES


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024          # Linux: KiB


def train_job(d: int, width: int, steps: int, out: str, threads: int) -> dict:
    """In a fresh process: train normal-nd at d; the trainer's seconds and the peak RSS growth."""
    import torch

    import difflab

    torch.set_num_threads(threads)
    base = _peak_mib()
    difflab.train("normal-nd", method="ddpm", out=out, steps=steps, seed=0, progress=False, n_train=N_TRAIN,
                  set={"data_options.d": d, "network.width": width, "threads": threads})
    info = json.loads((Path(out) / "config.json").read_text())
    return {"train_s": float(info["train_seconds"]), "train_mib": _peak_mib() - base}


def sample_job(out: str, n: int, threads: int) -> dict:
    """In a fresh process: load the run, draw n samples (seed 1); the samples, seconds and peak RSS growth."""
    import torch

    import difflab

    torch.set_num_threads(threads)
    base = _peak_mib()
    res = difflab.load(out).sample_with_info(n, seed=1)
    return {"samples": res.samples, "sample_s": res.seconds, "sample_mib": _peak_mib() - base,
            "sampler": f"{res.sampler} ({res.steps} steps)"}


def fresh(fn, *args):
    """fn(*args) in a new process (spawned: nothing inherited), so its peak RSS is its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def one(d: int, steps: int, threads: int, tmp: Path) -> dict:
    from difflab.data import get_dataset
    from difflab.eval.gaussian import evaluate_gaussian, gaussian_floor

    out = str(tmp / f"d{d}")
    width = width_for(d)
    row = {"d": d, "width": width, "steps": steps, **fresh(train_job, d, width, steps, out, threads)}
    n = n_samples_for(d)
    s = fresh(sample_job, out, n, threads)
    ds = get_dataset("normal-nd", d=d, n_train=10, n_test=10)               # the same truth (cov_seed 0)
    floor = gaussian_floor(ds, n, np.random.default_rng(d), n_draws=FLOOR_DRAWS)
    ev = evaluate_gaussian(s.pop("samples"), ds, np.random.default_rng(0), floor=floor)
    row.update(s, n=n, fd=ev["value"], floor_median=ev["floor_median"], floor_p95=ev["floor_p95"],
               within=ev["within_floor"], trace=float(np.trace(ds.cov)))
    print(f"d={d:4d} width {row['width']:4d}: FD {fmt(row['fd'])} (floor {fmt(row['floor_median'])}, p95 "
          f"{fmt(row['floor_p95'])}, {'within' if row['within'] else 'ABOVE'}); train {row['train_s']:.1f} s, "
          f"{row['train_mib']:.0f} MiB; sample {n} {row['sample_s']:.1f} s, {row['sample_mib']:.0f} MiB", flush=True)
    return row


def figure(rows, path: Path) -> Path:
    from matplotlib.ticker import NullLocator

    from difflab.viz._figure import DATA_COLOR, REFERENCE_GREY, SAMPLE_COLOR, new_figure, save

    d = np.array([r["d"] for r in rows])
    fig = new_figure(14, 4.2)
    fig.suptitle("DDPM on normal-nd as the dimension grows")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    ax1.plot(d, [r["train_s"] for r in rows], "o-", color=DATA_COLOR, label=f"training ({rows[0]['steps']} steps)")
    ax1.plot(d, [r["sample_s"] for r in rows], "s-", color=SAMPLE_COLOR, label=f"sampling (N = {N_SAMPLES})")
    ax1.set(xscale="log", yscale="log", xlabel="dimension d", ylabel="seconds", title="time")
    med = np.array([r["floor_median"] for r in rows])         # the floor grows like d^2: show ratios to it
    ax2.fill_between(d, np.ones(len(d)), np.array([r["floor_p95"] for r in rows]) / med, color=REFERENCE_GREY,
                     alpha=0.35, label="floor: median to p95")
    ax2.plot(d, np.array([r["fd"] for r in rows]) / med, "o-", color=SAMPLE_COLOR, label="samples")
    ax2.set(xscale="log", yscale="log", xlabel="dimension d", ylabel="FD to the true Gaussian / floor median",
            title="exact FD relative to its floor")
    ax3.plot(d, [r["train_mib"] for r in rows], "o-", color=DATA_COLOR, label="training")
    ax3.plot(d, [r["sample_mib"] for r in rows], "s-", color=SAMPLE_COLOR, label="sampling")
    ax3.set(xscale="log", yscale="log", xlabel="dimension d", ylabel="MiB", title="peak RSS growth (ru_maxrss)")
    for ax in (ax1, ax2, ax3):
        ax.set_xticks(d, [str(v) for v in d])
        ax.xaxis.set_minor_locator(NullLocator())          # only the d values on the x axis
        ax.legend(loc="best")
    return save(fig, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="d in {2, 8}, 1000 steps; print, do not write")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    dims, steps = ((2, 8), a.steps or 1000) if a.quick else (DIMS, a.steps or STEPS)
    tmp = Path(tempfile.mkdtemp(prefix="difflab-bench-gauss-"))
    rows = [one(d, steps, a.threads, tmp) for d in dims]
    import torch

    torch.set_num_threads(a.threads)
    if a.quick:                                          # the picture goes to the temporary folder only
        print(f"figure (not kept): {figure(rows, tmp / FIGURE.name)}")
        return
    figure(rows, FIGURE)
    lines = [
        "## Gaussians in d dimensions (issue 5)", "",
        f"`python benchmarks/bench_gaussians.py` on {machine()}.", "",
        f"normal-nd (N(mean, A A^T + 0.1 I), cov_seed 0), DDPM with the method's defaults, "
        f"MLP width max(128, min(2d, 512)) "
        f"x depth 4, {steps} steps at batch 256 on {N_TRAIN} training points, samples by the run's sampler "
        f"({rows[0]['sampler']}). FD: the exact Frechet distance between the samples' Gaussian fit and the true "
        f"Gaussian; floor: the same for fresh truth samples of the same N, {FLOOR_DRAWS} draws. Memory: growth of "
        "a fresh process's peak RSS over its size after the imports.", "",
        "| d | width | N | FD | floor median | floor p95 | within | tr(S) | train s | sample s | train MiB | sample MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *[f"| {r['d']} | {r['width']} | {r['n']} | {fmt(r['fd'])} | {fmt(r['floor_median'])} | {fmt(r['floor_p95'])} | "
          f"{'yes' if r['within'] else 'no'} | {fmt(r['trace'])} | {r['train_s']:.1f} | {r['sample_s']:.1f} | "
          f"{r['train_mib']:.0f} | {r['sample_mib']:.0f} |" for r in rows], "",
        "Target: FD within the floor's p95 up to d = 128: "
        + ("met." if all(r["within"] for r in rows if r["d"] <= 128) else "NOT met (see the table)."), "",
        f"![time, FD beside its floor and memory against d]({FIGURE.relative_to(ROOT)})",
    ]
    print(f"wrote {write_section('gaussians', chr(10).join(lines))}")


if __name__ == "__main__":
    main()
