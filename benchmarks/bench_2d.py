"""Issue 2's targets: DDPM and DSM on the 2D datasets, measured against fresh truth and the noise floor.

For every dataset and method: train with the defaults (several seeds), draw 2000 samples with the
run's default sampler, and compare them with fresh truth by energy distance and MMD^2 beside the
floor's 95th percentile; the median training wall time, and the time to sample 10,000 points.
Also: training time with 1 vs 2 torch threads. Writes the `core` section of BENCHMARKS.md.

    python benchmarks/bench_2d.py                 # full: 6 datasets x 2 methods x 3 seeds (~35 min)
    python benchmarks/bench_2d.py --quick         # smoke run, prints instead of writing
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import matplotlib
import numpy as np
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, fmt, machine, median, write_section  # noqa: E402

import difflab  # noqa: E402
import difflab.data  # noqa: E402
from difflab.eval import evaluate_samples, reference_floors  # noqa: E402

DATASETS = ["pinwheel", "gmm", "spiral", "moons", "checkerboard", "normal2d"]
METHODS = ["ddpm", "dsm"]


METRICS = ("energy", "mmd2")
FIGURE = ROOT / "docs" / "bench-2d.png"
FLOOR_PAIRS = 100     # truth pairs behind each dataset's floor: a p95 from 20 pairs moves by 2-3x


def one(data, method, seed, out, floors, sets=(), n=2000):
    run = difflab.train(data, method=method, out=out, seed=seed, progress=False, overwrite=True,
                        set=dict(s.split("=", 1) for s in sets))
    res = run.sample_with_info(n, seed=seed + 100)
    ev = evaluate_samples(res.samples, run.dataset, np.random.default_rng(seed + 200), metrics=METRICS, floors=floors)
    return run, res, ev


def samples_figure(shown, path):
    """One row per dataset: truth, then seed 0's samples of each method, on the same axes."""
    fig, axes = plt.subplots(len(shown), 1 + len(METHODS), figsize=(3.2 * (1 + len(METHODS)), 3.2 * len(shown)),
                             squeeze=False)
    for row, (data, (truth, by_method)) in zip(axes, shown.items()):
        panels = [("truth", truth)] + [(m, by_method[m]) for m in METHODS if m in by_method]
        lo, hi = truth.min(0) - 0.3, truth.max(0) + 0.3
        for ax, (title, x) in zip(row, panels):
            ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.5)
            ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), xticks=[], yticks=[], title=f"{data}: {title}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="2 datasets, 1 seed, 300 steps; print, do not write")
    ap.add_argument("--set", action="append", default=[], help="config override for every run")
    ap.add_argument("--json", default=None, help="also dump raw results here")
    a = ap.parse_args()
    datasets, seeds, sets = DATASETS, list(range(a.seeds)), list(a.set)
    if a.quick:
        datasets, seeds, sets = ["pinwheel", "gmm"], [0], sets + ["steps=300"]
    tmp = Path(tempfile.mkdtemp(prefix="difflab-bench-"))
    rows, raw, shown, sample_10k = [], [], {}, {}
    for data in datasets:
        floors = None
        for method in METHODS:
            times, energy, mmd, passes, nfe = [], [], [], [], None
            for seed in seeds:
                if floors is None:
                    ds = difflab.data.get_dataset(data)
                    floors = reference_floors(ds, 2000, np.random.default_rng(12345), FLOOR_PAIRS, METRICS)
                    shown[data] = (ds.sample(2000, np.random.default_rng(1)), {})
                run, res, ev = one(data, method, seed, tmp / f"{data}-{method}-{seed}", floors, sets)
                if seed == seeds[0]:
                    shown[data][1][method] = res.samples
                m = ev["metrics"]
                times.append(run.train_seconds)
                energy.append((m["energy"]["value"], m["energy"]["floor_p95"]))
                mmd.append((m["mmd2"]["value"], m["mmd2"]["floor_p95"]))
                passes.append(m["energy"]["within_floor"] and m["mmd2"]["within_floor"])
                nfe = res.nfe
                if seed == seeds[0] and method not in sample_10k:   # the same MLP for every 2D dataset
                    sample_10k[method] = (median([run.sample_with_info(10_000, seed=s).seconds for s in range(3)]),
                                          res.sampler, res.nfe)
                raw.append({"data": data, "method": method, "seed": seed, "train_seconds": run.train_seconds,
                            "evaluation": ev})
                print(f"{data:12s} {method:5s} seed {seed}: train {run.train_seconds:5.1f}s "
                      f"energy {m['energy']['value']:.2e} (p95 {m['energy']['floor_p95']:.2e}) "
                      f"mmd2 {m['mmd2']['value']:.2e} (p95 {m['mmd2']['floor_p95']:.2e}) pass={passes[-1]}", flush=True)
            rows.append((data, method, median(times), energy, mmd, passes, nfe))

    # threads: the same training run with 1 and 2 torch threads
    thread_rows = []
    for threads in (1, 2):
        secs = []
        for seed in seeds[:2]:
            run = difflab.train("pinwheel", method="ddpm", out=tmp / f"threads-{threads}-{seed}", seed=seed,
                                progress=False, overwrite=True, threads=threads,
                                set=dict(s.split("=", 1) for s in sets))
            secs.append(run.train_seconds)
        thread_rows.append((threads, median(secs)))
    torch.set_num_threads(2)

    cfg = difflab.load(tmp / f"{datasets[0]}-ddpm-0").config
    lines = [
        "## Core: DDPM and DSM on 2D data (issue 2)",
        "",
        f"Machine: {machine()}.  ",
        f"Command: `python benchmarks/bench_2d.py{' ' + ' '.join('--set ' + s for s in a.set) if a.set else ''}` "
        f"({len(seeds)} seed(s) per row; {time.strftime('%Y-%m-%d')}).",
        "",
        f"Defaults: MLP width {cfg.network['width']}, depth {cfg.network['depth']} with input Fourier features; "
        f"{cfg.steps} Adam steps of batch {cfg.batch_size}; DDPM = linear schedule, T=1000, training times drawn "
        f"uniformly in log noise level, ancestral sampling (1000 NFE); DSM = VE ladder of 100 levels, K=2 noise "
        f"draws, annealed Langevin 5 steps/level (501 NFE). 2000 samples vs 2000 fresh truth points; the floor is "
        f"the same metric between two independent truth samples, {FLOOR_PAIRS} pairs, one floor per dataset shared "
        f"by its rows. A row passes a seed when both energy and MMD^2 are at or below the floor's p95 (a perfect "
        f"model fails one of the two about 5-10% of the time).",
        "",
        f"![samples of seed 0 beside the truth]({FIGURE.relative_to(ROOT)})",
        "",
        "| dataset | method | train s (median) | energy: value / floor p95 (per seed) | MMD^2: value / floor p95 (per seed) | within floor | NFE |",
        "|---|---|---|---|---|---|---|",
    ]
    for data, method, t, energy, mmd, passes, nfe in rows:
        e = ", ".join(f"{fmt(v)}/{fmt(p)}" for v, p in energy)
        m = ", ".join(f"{fmt(v)}/{fmt(p)}" for v, p in mmd)
        lines.append(f"| {data} | {method} | {t:.1f} | {e} | {m} | {sum(passes)}/{len(passes)} | {nfe} |")
    lines += ["", "Time to draw 10,000 samples with each method's default sampler (median of 3; the network is the "
              "same for every 2D dataset):", "", "| method | sampler | NFE | seconds |", "|---|---|---|---|"]
    lines += [f"| {m} | {smp} | {nfe} | {sec:.1f} |" for m, (sec, smp, nfe) in sample_10k.items()]
    lines += ["", "Training time of pinwheel/DDPM against torch's CPU thread count (median of 2 seeds):", "",
              "| threads | train s |", "|---|---|"]
    lines += [f"| {th} | {s:.1f} |" for th, s in thread_rows]
    samples_figure(shown, tmp / "bench-2d.png" if a.quick else FIGURE)
    body = "\n".join(lines)
    if a.json:
        Path(a.json).write_text(json.dumps(raw, indent=1))
    if a.quick:
        print(body)
    else:
        print(f"wrote {write_section('core', body)}")


if __name__ == "__main__":
    main()
