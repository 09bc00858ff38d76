"""Tuning aid for issue 2's targets: train one setting on some 2D datasets and print how far
the samples are from the floor (value / floor p95 for energy and MMD^2; <= 1 passes).

    python benchmarks/sweep_2d.py --data spiral moons --method dsm --seeds 2 --set steps=6000
    python benchmarks/sweep_2d.py --data gmm --method ddpm --sampler heun --steps 18

Each seed's samples are judged twice (two independent draws of 2000 samples and of the
truth), because near the floor one draw says little; the floor comes from 100 truth pairs. Prints; writes nothing but the runs.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

import difflab
from difflab.config import parse_value
from difflab.eval import evaluate_samples, reference_floors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="+", default=["pinwheel", "gmm", "spiral", "moons", "checkerboard", "normal2d"])
    ap.add_argument("--method", nargs="+", default=["ddpm", "dsm"])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], help="config override, key=value")
    ap.add_argument("--sampler", default=None, help="sampler for judging (default: the run's own)")
    ap.add_argument("--steps", type=int, default=None, help="sampler steps")
    ap.add_argument("--option", action="append", default=[], help="sampler option key=value (numbers)")
    ap.add_argument("--out", default=None, help="keep the runs here (default: a temporary folder)")
    ap.add_argument("--reuse", action="store_true", help="judge the runs already in --out instead of training")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--pairs", type=int, default=100, help="truth pairs behind the floor")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    out = Path(a.out or tempfile.mkdtemp(prefix="difflab-sweep-"))
    sets = dict(s.split("=", 1) for s in a.set)
    opts = {k: parse_value(v) for k, v in (s.split("=", 1) for s in a.option)}
    label = " ".join(a.set) or "defaults"
    metrics = ("mmd2", "energy")
    for data in a.data:
        floors = None
        for method in a.method:
            ratios, secs, passes = [], [], 0
            for seed in range(a.seeds):
                folder = out / f"{data}-{method}-{seed}"
                if a.reuse and (folder / "model.safetensors").is_file():
                    run = difflab.load(folder)
                else:
                    run = difflab.train(data, method=method, out=folder, seed=seed, progress=False,
                                        overwrite=True, set=sets)
                secs.append(run.train_seconds)
                if floors is None:  # one floor per dataset, over many pairs, so its p95 is stable
                    floors = reference_floors(run.dataset, a.n, np.random.default_rng(7), a.pairs, metrics)
                for k in range(2):
                    res = run.sample_with_info(a.n, seed=1000 + 10 * seed + k, sampler=a.sampler, steps=a.steps, **opts)
                    m = evaluate_samples(res.samples, run.dataset, np.random.default_rng(2000 + 10 * seed + k),
                                         metrics=metrics, floors=floors)["metrics"]
                    re = m["energy"]["value"] / m["energy"]["floor_p95"]
                    rm = m["mmd2"]["value"] / m["mmd2"]["floor_p95"]
                    ratios.append(f"{re:.2f}/{rm:.2f}")
                    passes += (re <= 1) and (rm <= 1)
            print(f"{data:12s} {method:4s} [{label}] sampler={res.sampler} nfe={res.nfe} train {min(secs):.0f}-{max(secs):.0f}s "
                  f"pass {passes}/{2 * a.seeds}  energy/mmd ratios: {'  '.join(ratios)}", flush=True)


if __name__ == "__main__":
    main()
