"""Exact likelihood: the model NLL of test points by the probability-flow ODE beside the true NLL.

For gmm and pinwheel (their log-density is exact), DDPM and DSM at the default settings (3000
steps) on both training regimes (the 2D study's 2000-point split, and every batch drawn fresh
from the truth), plus DSM on fresh data trained longer (`--long-steps`). Each model scores 500
test points (exact divergence, 64 RK4 steps in log noise ratio); model NLL - true NLL of the same
points estimates KL(truth || model) (paired standard error over the points). The few-step
samplers issue asks for a gap within 0.05 nats, and the time for 500 points. Writes the
`likelihood` section of BENCHMARKS.md.

    python benchmarks/bench_likelihood.py --runs runs/bench-likelihood --threads 1   (~35 min on 1 core)
    python benchmarks/bench_likelihood.py --quick                                   (smoke run, prints)
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REGIMES, get_run, load_note, machine, publish  # noqa: E402

from difflab.samplers.likelihood import DEFAULT_STEPS, run_likelihood  # noqa: E402

DATASETS = ["gmm", "pinwheel"]            # the 2D datasets of the study with an exact log-density
TARGET = 0.05                             # nats: the bound on model NLL - true NLL


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default=None, help="folder of trained runs to reuse (trained there when missing); "
                                                 "default: a fresh temporary folder")
    ap.add_argument("--long-steps", type=int, default=30000, help="training steps of the long DSM models")
    ap.add_argument("--points", type=int, default=500, help="test points scored per model")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--quick", action="store_true", help="gmm only, 300 and 600 steps, 100 points; prints only")
    ap.add_argument("--json", default=None, help="also dump raw results here")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    datasets, steps, long_steps, points = DATASETS, None, a.long_steps, a.points
    if a.quick:
        datasets, steps, long_steps, points = ["gmm"], 300, 600, 100
    runs = Path(a.runs) if a.runs else Path(tempfile.mkdtemp(prefix="difflab-bench-likelihood-"))
    runs.mkdir(parents=True, exist_ok=True)
    started, start_load = time.time(), os.getloadavg()[0]
    settings = [(m, r, steps) for m in ("ddpm", "dsm") for r in REGIMES] + [("dsm", "fresh", long_steps)]
    rows = []
    for data in datasets:
        for method, regime, n_steps in settings:
            run, new = get_run(runs, data, method, regime, n_steps)
            lik = run_likelihood(run, run.dataset.test[:points], seed=0)
            rows.append({**lik, "data": data, "method": method, "regime": regime,
                         "train_steps": run.info["steps_done"], "train_seconds": run.train_seconds, "trained_now": new})
            print(f"{data:9s} {method:5s} {regime:6s} {run.info['steps_done']:6d} steps: model {lik['nll_nats']:.3f} "
                  f"true {lik['nll_true_nats']:.3f} gap {lik['kl_nats']:.3f} +- {lik['kl_se']:.3f} "
                  f"({lik['seconds']:.1f} s)", flush=True)

    command = "python benchmarks/bench_likelihood.py" + (" --quick" if a.quick else "") + \
        (f" --runs {a.runs}" if a.runs else "") + (f" --threads {a.threads}" if a.threads else "") + \
        (f" --long-steps {a.long_steps}" if a.long_steps != 30000 and not a.quick else "")
    lines = ["## Exact likelihood: model NLL vs the true NLL (few-step samplers issue)", "",
             f"Machine: {machine()}.  ",
             f"Command: `{command}` ({time.strftime('%Y-%m-%d')}, {(time.time() - started) / 60:.1f} min; "
             f"{load_note(start_load)}).", "",
             f"{points} test points per model, exact divergence, {DEFAULT_STEPS} RK4 steps in log noise ratio, from "
             "t_min = 1/T (VP) or sigma_min (VE); nats per point in the data's own units. Model - true estimates "
             "KL(truth || model); its +- is the paired standard error over the points. Training data: **split** = "
             "the 2D study's 2000 training points, **fresh** = every batch drawn fresh from the truth "
             "(`--set fresh_data=true`). Seconds: the time to score the points (wall).", "",
             f"| dataset | method | training data | training steps | train s | model NLL | true NLL | model - true | "
             f"within {TARGET} | bits/dim | seconds |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        within = "yes" if r["kl_nats"] <= TARGET else "no"
        lines.append(f"| {r['data']} | {r['method'].upper()} ({'VP' if r['method'] == 'ddpm' else 'VE'}) | "
                     f"{r['regime']} | {r['train_steps']} | {r['train_seconds']:.0f} | {r['nll_nats']:.3f} +- "
                     f"{r['nll_se']:.3f} | {r['nll_true_nats']:.3f} +- {r['nll_true_se']:.3f} | "
                     f"**{r['kl_nats']:.3f} +- {r['kl_se']:.3f}** | {within} | {r['bits_per_dim']:.3f} | "
                     f"{r['seconds']:.2f} |")
    met = [r for r in rows if r["kl_nats"] <= TARGET]
    lines += ["", "Within the 0.05-nat target: " + ("; ".join(
        f"{r['data']} {r['method'].upper()} {r['regime']} {r['train_steps']} steps (gap {r['kl_nats']:.3f}, "
        f"gap + 2 se {r['kl_nats'] + 2 * r['kl_se']:.3f})" for r in met) if met else "none") + ". "
        "Longer training closes the gap (compare the DSM fresh rows); models trained on the 2000-point split "
        "stay further from the truth, since they can learn those points instead of the distribution."]
    publish("likelihood", "\n".join(lines), quick=a.quick, json_path=a.json, raw=rows)


if __name__ == "__main__":
    main()
