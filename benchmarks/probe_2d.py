"""One lever, one line: train a 2D run with some settings and judge its samples as bench_2d does.

    python benchmarks/probe_2d.py DATA METHOD REGIME [key=value ...] [+SAMPLER[:STEPS[:OPT=V,...]] ...] [--runs DIR] [--kl]

Trains DATA with METHOD (seed 0; REGIME split or fresh) and the `--set`-style settings given, one
torch thread, into DIR/<data>-<method>-<regime>-<settings> (reused when it is already there), then
samples 2000 points with the run's default sampler and with each +SAMPLER[:STEPS[:OPTIONS]] (the sampler's
options, e.g. +dpm-solver:10:stochastic=true; `--draws K`: K draws
each, seeds 100 to 99 + K), and prints per draw: NFE, the training call's CPU and wall seconds, energy and MMD^2 over their floor's p95,
the outlier share, mean true log-density and share outside the support ('!' marks a miss), judged
by `common.judge_cell` against floors of 100 truth pairs / draws (cached in DIR). `--kl` adds the
KL(truth || model) estimate on the 500 test points. The exploratory rows of BENCHMARKS.md's
"What limits the tails" that no table script wrote came from this probe.
"""
from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REGIMES, judge_cell, truth_floors  # noqa: E402

import difflab  # noqa: E402
import difflab.data  # noqa: E402
from difflab.config import parse_value  # noqa: E402
from difflab.files import atomic_write_bytes  # noqa: E402
from difflab.samplers.likelihood import run_likelihood  # noqa: E402

N = 2000


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("method")
    ap.add_argument("regime", choices=list(REGIMES))
    ap.add_argument("items", nargs="*", help="key=value settings and +sampler[:steps] extra samplers")
    ap.add_argument("--runs", default="probe-runs")
    ap.add_argument("--kl", action="store_true")
    ap.add_argument("--draws", type=int, default=1, help="sampler draws per sampler (seeds 100, 101, ...)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    sets = {k: parse_value(v) for k, v in (i.split("=", 1) for i in a.items if not i.startswith("+"))}
    extra = [i[1:] for i in a.items if i.startswith("+")]
    runs = Path(a.runs)
    runs.mkdir(parents=True, exist_ok=True)
    ds = difflab.data.get_dataset(a.data)
    cache = runs / f"floors-{a.data}.pkl"
    if cache.is_file():
        floors = pickle.loads(cache.read_bytes())
    else:   # written whole, then renamed: a probe started beside this one never reads half a file
        floors = truth_floors(ds, N, np.random.default_rng(12345))
        atomic_write_bytes(cache, pickle.dumps(floors))
    name = "-".join([a.data, a.method, a.regime] + [f"{k}={v}" for k, v in sets.items()])
    out = runs / name
    cpu, wall = float("nan"), float("nan")
    if (out / "model.safetensors").is_file():
        run = difflab.load(out)
    else:
        c0, w0 = time.process_time(), time.time()
        run = difflab.train(a.data, method=a.method, out=out, seed=0, progress=False, overwrite=True,
                            set={"threads": 1, **REGIMES[a.regime], **sets})
        cpu, wall = time.process_time() - c0, time.time() - w0
    for spec in ["default"] + extra:
        kw = {}
        if spec != "default":
            sampler, _, rest = spec.partition(":")
            steps, _, options = rest.partition(":")
            kw = {"sampler": sampler, "steps": int(steps) if steps else None,
                  **{k: parse_value(v) for k, v in (o.split("=", 1) for o in options.split(",") if o)}}
        for draw in range(a.draws):
            res = run.sample_with_info(N, seed=100 + draw, **kw)
            cell = judge_cell(res.samples.astype(float), ds, floors, np.random.default_rng(7))
            mark = lambda k: "" if cell[k]["within_floor"] else "!"  # noqa: E731
            ratio = lambda k: f"{cell[k]['value'] / cell[k]['floor_bound']:.2f}{mark(k)}"  # noqa: E731
            share = lambda k: "-" if k not in cell else f"{100 * cell[k]['value']:.2f}{mark(k)}"  # noqa: E731
            lp = "-" if "mean_log_prob" not in cell else f"{cell['mean_log_prob']['value']:.3f}{mark('mean_log_prob')}"
            print(f"{name} [{spec}, draw {draw}] NFE {res.nfe}; train {cpu:.1f} s CPU ({wall:.1f} s wall); energy "
                  f"{ratio('energy')} MMD^2 {ratio('mmd2')} of p95; outliers {share('outlier_share')}%; mean log p {lp}; "
                  f"outside {share('outside_support')}%; passes {cell['passes']}", flush=True)
    if a.kl:
        lik = run_likelihood(run, ds.test[:500])
        print(f"{name}: KL {lik['kl_nats']:.3f} +- {lik['kl_se']:.3f} nats", flush=True)


if __name__ == "__main__":
    main()
