"""Issue 2's targets: DDPM and DSM on the 2D datasets, measured against fresh truth and the noise floor.

For every dataset and method: train with the defaults (several seeds), draw 2000 samples with the
run's default sampler, and compare them with fresh truth by energy distance and MMD^2 beside the
floor's 95th percentile; the median training wall time, and the time to sample 10,000 points.
Also: training time with 1 vs 2 torch threads. Writes the `core` section of BENCHMARKS.md.

    python benchmarks/bench_2d.py                 # full: 6 datasets x 2 methods x 3 seeds (~25 min)
    python benchmarks/bench_2d.py --quick         # smoke run, prints instead of writing
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fmt, machine, median, write_section  # noqa: E402

import difflab  # noqa: E402

DATASETS = ["pinwheel", "gmm", "spiral", "moons", "checkerboard", "normal2d"]
METHODS = ["ddpm", "dsm"]


def one(data, method, seed, out, sets=(), n=2000):
    run = difflab.train(data, method=method, out=out, seed=seed, progress=False, overwrite=True,
                        set=dict(s.split("=", 1) for s in sets))
    res = run.sample_with_info(n, seed=seed + 100)
    ev = run.evaluate(res.samples, seed=seed + 200, n_pairs=20)
    return run, res, ev


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
    rows, raw = [], []
    for data in datasets:
        for method in METHODS:
            times, energy, mmd, passes, s10k, nfe = [], [], [], [], [], None
            for seed in seeds:
                run, res, ev = one(data, method, seed, tmp / f"{data}-{method}-{seed}", sets)
                m = ev["metrics"]
                times.append(run.train_seconds)
                energy.append((m["energy"]["value"], m["energy"]["floor_p95"]))
                mmd.append((m["mmd2"]["value"], m["mmd2"]["floor_p95"]))
                passes.append(m["energy"]["within_floor"] and m["mmd2"]["within_floor"])
                nfe = res.nfe
                if seed == seeds[0]:
                    s10k = [run.sample_with_info(10_000, seed=s).seconds for s in range(3)]
                raw.append({"data": data, "method": method, "seed": seed, "train_seconds": run.train_seconds,
                            "evaluation": ev})
                print(f"{data:12s} {method:5s} seed {seed}: train {run.train_seconds:5.1f}s "
                      f"energy {m['energy']['value']:.2e} (p95 {m['energy']['floor_p95']:.2e}) "
                      f"mmd2 {m['mmd2']['value']:.2e} (p95 {m['mmd2']['floor_p95']:.2e}) pass={passes[-1]}", flush=True)
            rows.append((data, method, median(times), energy, mmd, passes, median(s10k), nfe))

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
        f"({len(seeds)} seeds per row; {time.strftime('%Y-%m-%d')}).",
        "",
        f"Defaults: MLP width {cfg.network['width']}, depth {cfg.network['depth']}; {cfg.steps} Adam steps of batch "
        f"{cfg.batch_size}; DDPM = linear schedule, T=1000, ancestral sampling (1000 NFE); DSM = VE ladder of 100 "
        f"levels, K=2 noise draws, annealed Langevin 5 steps/level (501 NFE). 2000 samples vs 2000 fresh truth points; "
        f"the floor is the same metric between two independent truth samples (20 pairs).",
        "",
        "| dataset | method | train s (median) | energy: value / floor p95 (per seed) | MMD^2: value / floor p95 (per seed) | within floor | sample 10k s | NFE |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for data, method, t, energy, mmd, passes, s10k, nfe in rows:
        e = ", ".join(f"{fmt(v)}/{fmt(p)}" for v, p in energy)
        m = ", ".join(f"{fmt(v)}/{fmt(p)}" for v, p in mmd)
        lines.append(f"| {data} | {method} | {t:.1f} | {e} | {m} | {sum(passes)}/{len(passes)} | {s10k:.2f} | {nfe} |")
    lines += ["", "Training time of pinwheel/DDPM against torch's CPU thread count (median of 2 seeds):", "",
              "| threads | train s |", "|---|---|"]
    lines += [f"| {th} | {s:.1f} |" for th, s in thread_rows]
    body = "\n".join(lines)
    if a.json:
        Path(a.json).write_text(json.dumps(raw, indent=1))
    if a.quick:
        print(body)
    else:
        print(f"wrote {write_section('core', body)}")


if __name__ == "__main__":
    main()
