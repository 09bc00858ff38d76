"""Where the ancestral sampler steps, judged with the exact score (issue 14: the tails' mean log-density).

    python benchmarks/bench_grids.py [--draws 10] [--print]

gmm (8 modes of std 0.1 on a ring of radius 2), standardised as a run standardises it, sampled with
its exact score (`difflab.oracles.gmm_eps_fn`) so that no network error enters: what is left is the
sampler's own error. For each grid, `--draws` draws of 2000 samples; the median over draws of their
mean true log-density and outlier share, beside the truth's band (p05 to p99 of the mean over 100
truth draws of 2000) and the outlier share's floor p95: the same rule as the core table. Writes the
`core-grids` section of BENCHMARKS.md.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_note, machine, publish  # noqa: E402

from difflab.data import get_dataset  # noqa: E402
from difflab.eval.tails import tail_floors  # noqa: E402
from difflab.oracles import gmm_eps_fn  # noqa: E402
from difflab.processes import VEProcess, VPProcess  # noqa: E402
from difflab.samplers import SAMPLERS  # noqa: E402
from difflab.samplers.times import karras_times, sampler_times  # noqa: E402

N = 2000


def grids():
    """(label, process, sampler, time grid, options): the defaults before and after this change, and neighbours."""
    vp, ve = VPProcess(time_sampling="log-snr"), VEProcess(0.01, 8.0, 100)
    log_vp = lambda steps, **kw: sampler_times(vp, "ddpm", steps, dim=2, grid="log", **kw)  # noqa: E731
    return [
        ("VP, ancestral (small), the 1000 linear-beta levels (DDPM's earlier default)", vp, "ddpm",
         vp.default_times(None), {}),
        ("VP, ancestral (large), the 1000 levels", vp, "ddpm", vp.default_times(None), {"variance": "large"}),
        ("VP, ancestral (small), 200 steps even in log-SNR", vp, "ddpm", log_vp(200), {}),
        ("VP, ancestral (small), 1000 steps even in log-SNR (DDPM's default now)", vp, "ddpm", log_vp(None), {}),
        ("VP, ancestral (small), 1000 steps even in log-SNR down to s = 0.002", vp, "ddpm",
         karras_times(vp, 1000, rho=math.inf, s_min=0.002, s_max=10.0), {}),
        ("VE, ancestral, its 100 levels (DSM's earlier default)", ve, "ddpm", ve.default_times(None), {}),
        ("VE, ancestral, 1000 steps over the same range (DSM's default now)", ve, "ddpm", ve.default_times(1000), {}),
        ("VP, DPM-Solver++(2M), 20 steps", vp, "dpm-solver", sampler_times(vp, "dpm-solver", 20, dim=2), {}),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--print", action="store_true", help="print the section instead of writing BENCHMARKS.md")
    a = ap.parse_args()
    torch.set_num_threads(1)
    start_load, started = os.getloadavg()[0], time.time()
    ds = get_dataset("gmm")
    scale, shift = ds.normaliser.scale.reshape(-1), ds.normaliser.shift.reshape(-1)
    means, weights, stds = ds.modes()
    floors = tail_floors(ds, N, np.random.default_rng(12345))
    rows = []
    for label, proc, sampler, ts, opts in grids():
        fn = gmm_eps_fn(proc, torch.tensor((means - shift) / scale), torch.tensor(weights),
                        torch.tensor(stds / scale.mean()))
        logp, outl = [], []
        for d in range(a.draws):
            g = torch.Generator().manual_seed(d)
            x = SAMPLERS[sampler](fn, proc, proc.prior_sample((N, 2), g).double(), ts, generator=g, **opts)
            lp = ds.log_prob(x.numpy() * scale + shift)
            logp.append(lp.mean())
            outl.append(np.mean(lp < floors["threshold"]))
        nfe = len(ts) - 1 + (float(proc.sigma(float(ts[-1]))) > 0)
        rows.append((label, nfe, np.median(logp), np.quantile(logp, [0.1, 0.9]), np.median(outl)))
        print(f"{label}: NFE {nfe}; mean log p median {rows[-1][2]:.3f}; outliers {100 * rows[-1][4]:.2f}%", flush=True)
    band = floors["mean_log_prob"]
    p99 = float(np.percentile(band["values"], 99))
    lines = [
        "### Where the ancestral sampler steps: the exact score on gmm (issue 14)",
        "",
        f"Machine: {machine()}.  ",
        f"Command: `python benchmarks/bench_grids.py --draws {a.draws}` ({time.strftime('%Y-%m-%d')}, "
        f"{(time.time() - started) / 60:.0f} min); {load_note(start_load)}.",
        "",
        f"gmm standardised as a run does, sampled with its exact score, so the figures are the sampler's own "
        f"error. {a.draws} draws of n = {N} per grid: the median over draws (10th to 90th percentile in brackets) "
        f"of the samples' mean true log-density, beside the truth's band over 100 truth draws of n "
        f"(p05 {band['p05']:.3f}, median {band['median']:.3f}, p99 {p99:.3f}); "
        f"the median outlier share, beside its floor p95 ({100 * floors['outlier_share']['p95']:.2f}%).",
        "",
        "| sampler and grid | NFE | mean log p (p10 to p90) | outlier % |",
        "|---|---|---|---|",
    ]
    lines += [f"| {label} | {nfe} | {m:.3f} ({lo:.3f} to {hi:.3f}) | {100 * o:.2f} |"
              for label, nfe, m, (lo, hi), o in rows]
    publish("core-grids", "\n".join(lines), quick=a.print)


if __name__ == "__main__":
    main()
