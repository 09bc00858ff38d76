"""Issue 14, point 2: what limits the tails of default DDPM and DSM runs on the 2D data? An ablation.

For each dataset and method, seed 0, fresh data (the method without the limit of a finite training
set): the default run, then one lever at a time, each judged by `common.judge_cell` (energy and
MMD^2 as the median over 5 truth draws against the floor of that median; outlier share, mean true
log-density and share outside a bounded support against 100 truth draws) and by the model's KL
estimate on 500 test points (`run_likelihood`, with its standard error).

Levers, two kinds:
- the sampler's last steps, on the default network: the grid ending at noise ratio END_RATIO with
  a final denoising (Tweedie) step, instead of at the smallest level; other samplers on the same
  network (DDPM: DPM-Solver++(2M) at 20 steps, DSM's default; DSM: DPM-Solver++(2M) at 50 steps
  and the seed's annealed Langevin dynamics), which separates the sampler's share of the misses
  from the network's;
- training: the EMA decay 0.999 instead of 0.995; twice the optimiser steps (6000: about 60 s of
  CPU on one core, the issue's training budget).

    python benchmarks/bench_tails.py --threads 1 [--datasets pinwheel,gmm] [--runs DIR]

`--runs DIR` keeps the trained runs (DIR/<data>-<method>-fresh[-lever]) and reuses those found
there. Writes the `core-tails` section of BENCHMARKS.md (--print: print it instead).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REGIMES, judge_cell, load_note, machine, publish, truth_floors  # noqa: E402

import difflab  # noqa: E402
import difflab.data  # noqa: E402
from difflab.samplers import get_sampler  # noqa: E402
from difflab.samplers.likelihood import run_likelihood  # noqa: E402
from difflab.samplers.times import karras_times, ode_start_ratio  # noqa: E402
from difflab.utils import make_generator  # noqa: E402

DATASETS = ["pinwheel", "gmm", "checkerboard"]
METHODS = ["ddpm", "dsm"]
N = 2000
END_RATIO = 0.05          # noise ratio (normalised units) where the shortened grids end, then one Tweedie step
TRAINING_LEVERS = {"ema 0.999": {"ema_decay": 0.999}, "6000 steps": {"steps": 6000}}
LEVERS = {"grid": None, "samplers": None, "ema": "ema 0.999", "steps": "6000 steps"}   # --levers names


def trained(runs: Path, data: str, method: str, lever: str | None, sets: dict):
    """The fresh-data run of seed 0 with `sets`, trained now unless runs/<name> holds it."""
    out = runs / (f"{data}-{method}-fresh" + ("" if lever is None else "-" + lever.replace(" ", "-")))
    if (out / "model.safetensors").is_file():
        return difflab.load(out)
    return difflab.train(data, method=method, out=out, seed=0, progress=False, overwrite=True,
                         set={**REGIMES["fresh"], **sets})


def sample_on(run, sampler: str, ts, seed: int = 100, **options) -> np.ndarray:
    """n samples of `run` by `sampler` over the times `ts`, in the data's units."""
    gen = make_generator(seed, run.device)
    x_T = run.process.prior_sample((N,) + run.shape, gen, device=run.device)
    x0 = get_sampler(sampler)(run.denoiser(), run.process, x_T, ts, generator=gen, **options)
    return run.normaliser.unnormalise(x0.cpu().numpy().astype(np.float64))


def shortened(run, sampler: str):
    """The run's default grid for `sampler`, ending at noise ratio END_RATIO (then a Tweedie step)."""
    if sampler == "dpm-solver":
        return karras_times(run.process, 20, rho=float("inf"), s_min=END_RATIO,
                            s_max=ode_start_ratio(run.process, int(np.prod(run.shape))))
    ts = run.times(sampler, None)
    keep = [float(t) for t in ts if float(run.process.noise_ratio(float(t))) >= END_RATIO]
    return torch.tensor(keep, dtype=torch.float64)


def variants(run, method: str, levers):
    """(label, samples, NFE) of the default sampler and the chosen sampler levers on one network."""
    default = run.config.sampler
    res = run.sample_with_info(N, seed=100)
    out = [(f"default ({default}, {res.nfe} NFE)", res.samples.astype(np.float64), res.nfe)]
    if "grid" in levers:
        ts = shortened(run, default)
        opts = dict(run.config.sampler_options)
        out.append((f"grid ends at s = {END_RATIO} + Tweedie step", sample_on(run, default, ts, **opts), len(ts)))
    others = [("dpm-solver", 20)] if method == "ddpm" else [("dpm-solver", 50), ("langevin", None)]
    for sampler, steps in others if "samplers" in levers else []:
        res = run.sample_with_info(N, sampler=sampler, steps=steps, seed=100)
        out.append((f"{sampler}, {res.steps} steps ({res.nfe} NFE)", res.samples.astype(np.float64), res.nfe))
    return out


def row(data, method, lever, cell, lik, nfe, train_s) -> str:
    pct = lambda k: "–" if k not in cell else f"{100 * cell[k]['value']:.2f}"  # noqa: E731
    fails = "".join(c for k, c in (("energy", "E"), ("mmd2", "M"), ("outlier_share", "O"), ("mean_log_prob", "L"),
                                   ("outside_support", "S")) if k in cell and not cell[k]["within_floor"]) or "-"
    kl = "–" if lik is None or lik["kl_nats"] is None else f"{lik['kl_nats']:.3f} ± {lik['kl_se']:.3f}"
    mean_lp = "–" if "mean_log_prob" not in cell else f"{cell['mean_log_prob']['value']:.3f}"
    ratio = lambda k: cell[k]["value"] / cell[k]["floor_bound"]  # noqa: E731
    return (f"| {data} | {method} | {lever} | {train_s} | {ratio('energy'):.2f} | {ratio('mmd2'):.2f} "
            f"| {pct('outlier_share')} "
            f"| {mean_lp} | {pct('outside_support')} | {kl} | {fails} | {nfe} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--floor-pairs", type=int, default=100, help="truth pairs behind each two-sample floor")
    ap.add_argument("--runs", default=None, help="folder for the trained runs (default: a temporary one)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--levers", default=",".join(LEVERS), help="comma-separated subset of " + ", ".join(LEVERS))
    ap.add_argument("--print", action="store_true", help="print the section instead of writing BENCHMARKS.md")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    levers = [v.strip() for v in a.levers.split(",") if v.strip()]
    if any(v not in LEVERS for v in levers):
        raise SystemExit(f"unknown lever in {a.levers!r}; valid: {', '.join(LEVERS)}")
    if a.threads:
        torch.set_num_threads(a.threads)
    start_load, started = os.getloadavg()[0], time.time()
    runs = Path(a.runs) if a.runs else Path(tempfile.mkdtemp(prefix="difflab-tails-"))
    lines, raw, floors_note = [], [], {}
    for data in a.datasets.split(","):
        ds = difflab.data.get_dataset(data)
        floors = truth_floors(ds, N, np.random.default_rng(12345), pairs=a.floor_pairs)
        if "tails" in floors:              # datasets without an exact log-density (spiral, moons) have none
            floors_note[data] = (floors["tails"]["outlier_share"]["p95"], floors["tails"]["mean_log_prob"]["p05"])
        for method in a.methods.split(","):
            chosen = [LEVERS[k] for k in levers if LEVERS[k]]
            for lever, sets in [(None, {})] + [(k, v) for k, v in TRAINING_LEVERS.items() if k in chosen]:
                run = trained(runs, data, method, lever, sets)
                lik = run_likelihood(run, run.dataset.test)
                if lever is None:
                    todo = variants(run, method, levers)
                else:
                    res = run.sample_with_info(N, seed=100)
                    todo = [(f"{lever} (default sampler)", res.samples.astype(np.float64), res.nfe)]
                for k, (label, samples, nfe) in enumerate(todo):
                    cell = judge_cell(samples, ds, floors, np.random.default_rng(200))
                    first = k == 0                 # the later rows of a network share its training and KL
                    lines.append(row(data, method, label, cell, lik if first else None, nfe,
                                     f"{run.train_seconds:.0f}" if first else "same network"))
                    raw.append({"data": data, "method": method, "lever": label, "cell": cell, "likelihood": lik,
                                "train_seconds": run.train_seconds})
                    print(lines[-1], flush=True)
    body = [
        "### What limits the tails: an ablation (issue 14, point 2)",
        "",
        f"Machine: {machine()}.  ",
        f"Command: `python benchmarks/bench_tails.py{' --threads %d' % a.threads if a.threads else ''}"
        f"{'' if a.floor_pairs == 100 else ' --floor-pairs %d' % a.floor_pairs}"
        f"{'' if a.datasets == ','.join(DATASETS) else ' --datasets ' + a.datasets}"
        f"{'' if levers == list(LEVERS) else ' --levers ' + ','.join(levers)}` ({time.strftime('%Y-%m-%d')}, "
        f"{(time.time() - started) / 60:.0f} min); {load_note(start_load)}.",
        "",
        f"Seed 0, fresh data (every batch drawn from the truth), 2000 samples per row, the defaults except the "
        f"lever. Judged as in the table above (energy and MMD^2: median over 5 truth draws / floor p95 over "
        f"{a.floor_pairs} truth pairs; the tail figures against 100 truth draws). KL: the model's NLL minus the "
        f"truth's on the 500 test points, ± its standard error (one per network). Sampler levers use the default "
        f"network; 'grid ends at s = {END_RATIO}' stops the default sampler's grid at noise ratio {END_RATIO} "
        f"(normalised units) and returns the denoised x0_hat there. Outlier-share bounds (floor p95) and "
        f"mean-log-density bounds (floor p05): " + "; ".join(f"{d} {100 * o:.2f}% / {m:.3f}"
                                                             for d, (o, m) in floors_note.items()) + ".",
        "",
        "| dataset | method | lever | train s | energy / p95 | MMD^2 / p95 | outlier % | mean log p | outside % "
        "| KL (nats) | failing | NFE |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ] + lines
    publish("core-tails", "\n".join(body), quick=a.print, json_path=a.json, raw=raw)


if __name__ == "__main__":
    main()
