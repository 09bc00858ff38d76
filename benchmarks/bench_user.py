"""Issue 14, point 2, on a user's own data: default DDPM and DSM runs on .npz files of 2000 train /
500 test points from distributions that no difflab default was tuned on, judged against their truth.

A user's file carries no truth, but these files are written here from distributions whose sampler and
exact log-density this script knows, so every figure of the core table can be read (`common.judge_cell`:
energy and MMD^2 as the median over 5 fresh truth draws against the floor of that median over 100
truth pairs; outlier share, mean true log-density and share outside a bounded support against 100
truth draws of n). The runs see only the file (`difflab.train(path.npz)`, the defaults), as a user's do.

- ring6: six Gaussian modes on a circle of radius 2 with unequal weights (1:2:3:1:2:3) and widths
  (0.05 to 0.3): modes of very different density;
- rectangles: uniform on two rectangles of unequal shape (a 1.5 x 2 block and a 2 x 0.5 bar):
  hard edges, a bounded support;
- thin-circle: a circle of radius 1.5 blurred by N(0, 0.04^2): a thin structure.

    python benchmarks/bench_user.py --threads 1 [--methods ddpm,dsm] [--json F]

Writes the `core-user` section of BENCHMARKS.md (--print: print it instead).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import judge_cell, load_note, machine, publish, rule_note, truth_floors  # noqa: E402

import difflab  # noqa: E402
from difflab.kinds.vector.curves import blurred_curve_log_prob  # noqa: E402
from difflab.kinds.vector.toy import MixtureDataset, ToyDataset  # noqa: E402

N = 2000
SPLIT = {"n_train": 2000, "n_test": 500, "seed": 0}
RECTS = np.array([[-2.0, -1.0, 1.5, 2.0], [0.5, -0.25, 2.0, 0.5]])    # x0, y0, width, height


def ring6() -> ToyDataset:
    angles = np.arange(6) * (2 * math.pi / 6)
    means = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return MixtureDataset("ring6", "six unequal modes on a ring", means, [1, 2, 3, 1, 2, 3],
                          [0.05, 0.1, 0.3, 0.15, 0.2, 0.08], **SPLIT)


def rectangles() -> ToyDataset:
    areas = RECTS[:, 2] * RECTS[:, 3]

    def inside(x):
        return np.any([(x[:, 0] >= r[0]) & (x[:, 0] <= r[0] + r[2]) & (x[:, 1] >= r[1]) & (x[:, 1] <= r[1] + r[3])
                       for r in RECTS], axis=0)

    def draw(n, rng):
        k = rng.choice(len(RECTS), size=n, p=areas / areas.sum())
        return RECTS[k, :2] + RECTS[k, 2:] * rng.random((n, 2))

    def log_density(x):
        lp = np.where(inside(x), -math.log(areas.sum()), -np.inf)
        return np.where(np.isnan(x).any(axis=1), np.nan, lp)

    return ToyDataset("rectangles", "uniform on two unequal rectangles", 2, draw, log_density, support=inside, **SPLIT)


def thin_circle(radius: float = 1.5, noise: float = 0.04) -> ToyDataset:
    circle = lambda u: radius * np.stack([np.cos(u), np.sin(u)], axis=1)  # noqa: E731

    def draw(n, rng):
        return circle(rng.uniform(0, 2 * math.pi, n)) + noise * rng.standard_normal((n, 2))

    return ToyDataset("thin-circle", f"a circle of radius {radius} blurred by {noise}", 2, draw,
                      lambda x: blurred_curve_log_prob(x, [circle], 2 * math.pi, noise), **SPLIT)


TRUTHS = {"ring6": ring6, "rectangles": rectangles, "thin-circle": thin_circle}


def row(name, method, cell, cpu, nfe, steps) -> str:
    bounds = {"outlier_share": "floor_p95", "outside_support": "bound"}
    pct = lambda k: "–" if k not in cell else f"{100 * cell[k]['value']:.2f} ({100 * cell[k][bounds[k]]:.2f})"  # noqa: E731
    fails = "".join(c for k, c in (("energy", "E"), ("mmd2", "M"), ("outlier_share", "O"), ("mean_log_prob", "L"),
                                   ("outside_support", "S")) if k in cell and not cell[k]["within_floor"]) or "-"
    ratio = lambda k: cell[k]["value"] / cell[k]["floor_bound"]  # noqa: E731
    lp = cell["mean_log_prob"]
    return (f"| {name} | {method} | {steps} | {cpu:.0f} | {ratio('energy'):.2f} | {ratio('mmd2'):.2f} "
            f"| {pct('outlier_share')} | {lp['value']:.3f} ({lp['floor_p05']:.3f} to {lp['floor_p99']:.3f}) "
            f"| {pct('outside_support')} "
            f"| {fails} | {nfe} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=",".join(TRUTHS))
    ap.add_argument("--methods", default="ddpm,dsm")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--print", action="store_true", help="print the section instead of writing BENCHMARKS.md")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    start_load, started = os.getloadavg()[0], time.time()
    tmp = Path(tempfile.mkdtemp(prefix="difflab-user-"))
    rows, raw, floors = [], [], None
    for name in a.datasets.split(","):
        truth = TRUTHS[name]()
        path = tmp / f"{name}.npz"
        np.savez(path, train=truth.train, test=truth.test)          # what the user has: a file
        floors = truth_floors(truth, N, np.random.default_rng(12345))
        for method in a.methods.split(","):
            cpu = time.process_time()
            run = difflab.train(str(path), method=method, out=tmp / f"{name}-{method}", seed=0, progress=False,
                                overwrite=True, threads=a.threads or None)
            cpu = time.process_time() - cpu
            res = run.sample_with_info(N, seed=100)
            cell = judge_cell(res.samples, truth, floors, np.random.default_rng(200))
            rows.append(row(name, method, cell, cpu, res.nfe, run.config.steps))
            raw.append({"data": name, "method": method, "train_cpu_seconds": cpu, "cell": cell})
            print(rows[-1], flush=True)
    minutes = (time.time() - started) / 60
    body = "\n".join([
        "### A user's own data: .npz files of 2000 points (issue 14, point 2)",
        "",
        f"Machine: {machine()}.  ",
        f"Command: `python benchmarks/bench_user.py{' --threads %d' % a.threads if a.threads else ''}` "
        f"({time.strftime('%Y-%m-%d')}, {minutes:.0f} min); {load_note(start_load)}.",
        "",
        "Three distributions that no default was tuned on, each written to an .npz of 2000 train / 500 test "
        "points and trained from that file with the defaults (seed 0), as a user would; the script keeps their "
        "sampler and exact log-density to judge the samples: ring6 (six unequal Gaussian modes on a ring), "
        "rectangles (uniform on two unequal rectangles: hard edges), thin-circle (a circle of radius 1.5 "
        "blurred by 0.04: a thin structure).",
        "",
        "**Statistics.** " + rule_note(N, floors),
        "",
        "Columns: train CPU s of the training call (one torch thread); energy and MMD^2 as the median over the truth "
        "draws divided by the floor's p95 (at most 1 passes); outlier share and share outside the support in "
        "percent, the bound in brackets; mean true log-density, the truth's p05 to p99 in brackets (both sides fail); failing: E energy, "
        "M MMD^2, O outliers, L mean log-density, S outside the support.",
        "",
        "| data | method | steps | train CPU s | energy / p95 | MMD^2 / p95 | outlier % (p95) | mean log p (p05 to p99) "
        "| outside % (bound) | failing | NFE |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ])
    if a.print:
        print(body)
    else:
        publish("core-user", body, quick=False, json_path=a.json, raw=raw)


if __name__ == "__main__":
    main()
