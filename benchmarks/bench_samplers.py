"""Few-step samplers: quality per network evaluation (the exact likelihood is bench_likelihood.py).

For DDPM and DSM models on pinwheel, gmm and checkerboard (trained with `difflab.train` at the
default settings, or reused from --runs; by default with every batch drawn fresh from the truth,
`--regime split` for the 2D study's 2000-point training split), every sampler at NFE budgets of 5, 10, 20, 50, 100 and
1000: the largest number of steps whose NFE fits the budget is found by counting the
evaluations of a dry run (so the NFE is exact, final denoising step included); a sampler that
cannot run within a budget (e.g. annealed Langevin, 5 steps per level plus a final denoise, at
NFE 5) is skipped and listed. 2000 samples per setting are judged as the core table judges them
(`common.judge_cell`: energy distance and MMD^2 by their median over 5 fresh truth draws against
the floor of that median over 100 truth pairs; the outlier share, the mean true log-density and
the share outside a bounded support against their floors over 100 truth draws; one set of floors
per dataset). Then the wall time to draw 10,000 samples with each sampler at its best setting
(lowest energy distance). Writes the `samplers` section of BENCHMARKS.md.

    python benchmarks/bench_samplers.py --runs runs/bench-samplers    # full (trains 6 models once)
    python benchmarks/bench_samplers.py --quick                       # smoke run: prints, writes nothing

On a shared 2-core machine pass --threads 1: torch's intra-op threads then wait on each other and
small tensor operations become up to 100x slower, which distorts every timing here.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REGIMES, fmt, get_run, judge_cell, load_note, machine, rule_note, truth_floors, write_section  # noqa: E402

import numpy as np  # noqa: E402

from difflab.samplers import SAMPLERS, CountingDenoiser, get_sampler, get_spec  # noqa: E402

DATASETS = ["pinwheel", "gmm", "checkerboard"]
METHODS = ["ddpm", "dsm"]
BUDGETS = [5, 10, 20, 50, 100, 1000]
GAUSSIAN = [name for name in SAMPLERS if not get_spec(name).categorical]   # masked diffusion has its own section


def sampler_options(run, name):
    """The options `Run.sample_with_info` would use: the run's own for its default sampler."""
    return dict(run.config.sampler_options) if name == run.config.sampler else {}


def count_nfe(run, name, steps) -> int:
    """Network evaluations per sample of a sampler at `steps`, by a dry run with a zero denoiser."""
    counter = CountingDenoiser(lambda x, t: torch.zeros_like(x))
    x_T = run.process.prior_sample((1,) + run.shape, torch.Generator().manual_seed(0))
    get_sampler(name)(counter, run.process, x_T, run.times(name, steps), generator=torch.Generator().manual_seed(0),
                      **sampler_options(run, name))
    return counter.nfe


def steps_for_budget(run, name, budget):
    """(steps, nfe) with the largest nfe <= budget (NFE grows with steps), or None if even 1 step exceeds it."""
    if count_nfe(run, name, 1) > budget:
        return None
    lo, hi = 1, budget                                       # every sampler spends >= 1 NFE per step
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_nfe(run, name, mid) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo, count_nfe(run, name, lo)


def bench_run(run, label, budgets, n, floors, n_10k):
    cells, skipped = {}, []
    for name in GAUSSIAN:
        for budget in budgets:
            found = steps_for_budget(run, name, budget)
            if found is None:
                skipped.append(f"{label} {name} at NFE {budget} (needs {count_nfe(run, name, 1)} for one step)")
                continue
            steps, nfe = found
            res = run.sample_with_info(n, sampler=name, steps=steps, seed=1)
            assert res.nfe == nfe, (name, steps, res.nfe, nfe)
            m = judge_cell(res.samples, run.dataset, floors, np.random.default_rng(budget))
            cells[(name, budget)] = {"steps": steps, "nfe": nfe, "seconds": res.seconds,
                                     "energy": m["energy"]["value"], "energy_p95": m["energy"]["floor_bound"],
                                     "mmd2": m["mmd2"]["value"], "mmd2_p95": m["mmd2"]["floor_bound"],
                                     "within": m["passes_bulk"], "passes": m["passes"], "failing": failing(m)}
            print(f"{label:18s} {name:10s} NFE {nfe:4d} (budget {budget:4d}, {steps:4d} steps): energy "
                  f"{m['energy']['value']:.2e} (p95 {m['energy']['floor_bound']:.2e}) mmd2 {m['mmd2']['value']:.2e} "
                  f"(p95 {m['mmd2']['floor_bound']:.2e}) failing {failing(m)} {res.seconds:.2f}s", flush=True)
    best = {}
    for name in GAUSSIAN:
        mine = [(c["energy"], c["nfe"], b) for (s, b), c in cells.items() if s == name]
        if mine:
            _, _, b = min(mine)
            c = cells[(name, b)]
            cpu = time.process_time()
            res = run.sample_with_info(n_10k, sampler=name, steps=c["steps"], seed=2)
            best[name] = {"budget": b, **c, "seconds_10k": res.seconds, "cpu_seconds_10k": time.process_time() - cpu}
    return {"cells": cells, "skipped": skipped, "best": best}


def failing(cell) -> str:
    """The figures a cell misses: E energy, M MMD^2, O outlier share, L mean log-density, S outside the
    support ("-": none)."""
    names = {"energy": "E", "mmd2": "M", "outlier_share": "O", "mean_log_prob": "L", "outside_support": "S"}
    return "".join(names[k] for k in names if k in cell and not cell[k]["within_floor"]) or "-"


def quality_table(label, r, budgets, n):
    cells = r["cells"]
    any_cell = next(iter(cells.values()), None)
    if any_cell is None:
        return [f"### {label}", "", "(no sampler fits any budget)", ""]
    lines = [f"### {label}", "",
             f"Energy distance / MMD^2 of {n} samples (medians over the truth draws); floor p95: energy "
             f"{fmt(any_cell['energy_p95'])}, MMD^2 {fmt(any_cell['mmd2_p95'])}. **Bold**: both within the floor; "
             f"then the figures that miss in brackets (E, M, O outliers, L mean log-density, S outside the "
             f"support; - none: the cell passes every figure). A cell marked (n) used n < budget evaluations.", "",
             "| sampler | " + " | ".join(f"NFE {b}" for b in budgets) + " |",
             "|---|" + "---|" * len(budgets)]
    for name in GAUSSIAN:
        row = []
        for b in budgets:
            c = cells.get((name, b))
            if c is None:
                row.append("skip")
                continue
            text = f"{fmt(c['energy'])} / {fmt(c['mmd2'])}"
            text = f"**{text}**" if c["within"] else text
            row.append(text + f" [{c['failing']}]" + (f" ({c['nfe']})" if c["nfe"] != b else ""))
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    return lines + [""]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default=None, help="folder of trained runs <data>-<method> to reuse (trained there "
                                                 "when missing); default: a fresh temporary folder")
    ap.add_argument("--quick", action="store_true", help="gmm only, 300 training steps, NFE 5 and 10, 500 samples; "
                                                         "prints the section instead of writing BENCHMARKS.md")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--regime", choices=list(REGIMES), default="fresh",
                    help="training data of the models behind the sampler tables")
    ap.add_argument("--json", default=None, help="also dump raw results here")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    datasets, budgets, n, n_10k, train_steps = DATASETS, BUDGETS, 2000, 10_000, None
    if a.quick:
        datasets, budgets, n, n_10k, train_steps = ["gmm"], [5, 10], 500, 1000, 300
    runs = Path(a.runs) if a.runs else Path(tempfile.mkdtemp(prefix="difflab-bench-samplers-"))
    runs.mkdir(parents=True, exist_ok=True)
    started, start_load = time.time(), os.getloadavg()[0]
    results, sections, trained = {}, [], []

    def model(data, method, regime):
        run, new = get_run(runs, data, method, regime, train_steps)
        trained.append(f"{data}/{method}/{regime}: {'trained' if new else 'reused'}, {run.config.steps} steps, "
                       f"{run.train_seconds:.0f} s")
        return run, f"{data} / {method.upper()} ({run.process.name.upper()})"

    floors = None
    for data in datasets:
        floors = None
        for method in METHODS:
            run, label = model(data, method, a.regime)
            if floors is None:                      # one set of floors per dataset, shared by its models
                floors = truth_floors(run.dataset, n, np.random.default_rng(12345), pairs=20 if a.quick else 100)
            r = bench_run(run, label, budgets, n, floors, n_10k=n_10k)
            results[label] = r
            sections += quality_table(label, r, budgets, n)

    command = "python benchmarks/bench_samplers.py" + (" --quick" if a.quick else "") + \
        (f" --runs {a.runs}" if a.runs else "") + (f" --threads {a.threads}" if a.threads else "") + \
        (f" --regime {a.regime}" if a.regime != "fresh" else "")
    lines = ["## Samplers: quality per NFE (few-step samplers issue)", "",
             f"Machine: {machine()}.  ",
             f"Command: `{command}` ({time.strftime('%Y-%m-%d')}, {(time.time() - started) / 60:.1f} min; "
             f"{load_note(start_load)}).  ",
             "Models (seed 0, default settings): " + "; ".join(trained) + ".", "",
             f"The sampler tables use the models trained on the **{a.regime}** regime ("
             + ("every batch drawn fresh from the truth, `fresh_data=true`, so a finite training set does not cap "
                "the quality every sampler is judged by" if a.regime == "fresh" else
                "the 2000-point training split of the 2D study") + "). The exact likelihood has its own section "
             "(bench_likelihood.py).", "",
             "**Statistics.** " + rule_note(n, floors), "",
             "Each sampler runs on its default grid (`samplers/times.py`: the run's `sample_grid` for its own "
             "sampler, i.e. 1000 steps even in log-SNR for DDPM's ancestral sampler, else the process's levels for ddpm, ddim, "
             "langevin and pc; Karras et al. rho = 7 noise ratios for euler and heun; noise ratios evenly spaced in log "
             "(uniform in log-SNR) for dpm-solver; on VP the ODE grids start at noise ratio 10, where 2D samples are "
             "pure noise, instead of 157 at t = 1) with the largest "
             "number of steps whose NFE, counted per sample with the final denoising step, fits the budget; "
             "the sampler's own default options (Langevin: 5 steps per level).", ""]
    lines += sections
    lines += [f"### Best setting per sampler (lowest energy distance) and time for {n_10k:,} samples", "",
              "Wall seconds, and in brackets the process's CPU seconds (with one torch thread, the wall time on an "
              "otherwise idle core).", "",
              "| model | " + " | ".join(GAUSSIAN) + " |", "|---|" + "---|" * len(GAUSSIAN)]
    for label, r in results.items():
        row = []
        for name in GAUSSIAN:
            b = r["best"].get(name)
            row.append("n/a" if b is None else f"NFE {b['nfe']}: {fmt(b['energy'])}, {b['seconds_10k']:.2f} s ({b['cpu_seconds_10k']:.2f})")
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    skipped = [s for r in results.values() for s in r["skipped"]]
    lines += ["", "Skipped (cannot run within the budget): " + ("; ".join(skipped) if skipped else "none") + "."]
    body = "\n".join(lines)
    if a.json:
        raw = {label: {"cells": {f"{s}@{b}": c for (s, b), c in r["cells"].items()}, "best": r["best"],
                       "skipped": r["skipped"]} for label, r in results.items()}
        Path(a.json).write_text(json.dumps(raw, indent=1))
    if a.quick:
        out = write_section("samplers", body, path=runs / "BENCHMARKS-quick.md")
        print(body)
        print(f"\n(quick run: section written to {out}, not to BENCHMARKS.md)")
    else:
        print(f"wrote {write_section('samplers', body)}")


if __name__ == "__main__":
    main()
