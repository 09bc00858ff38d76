"""Issue 2's and 14's targets: DDPM and DSM on the 2D datasets, judged against fresh truth and the noise floor.

For every dataset and method: train with the defaults (several seeds), draw 2000 samples with the
run's default sampler, and judge them (`common.judge_cell`): energy distance and MMD^2 by their
median over 5 fresh truth draws against the floor of that median over 100 truth pairs, and the tail
figures (outlier share, mean true log-density, share outside a bounded support) against their
floors over 100 truth draws. Also the median training wall time, the time to sample 10,000 points,
and training time with 1 vs 2 torch threads. Writes the `core` section of BENCHMARKS.md.

Two training regimes, each seed with its own data split (data_seed = seed):
- split: the study's setting, the 2000-point training split. Such a model can at best learn its
  2000 points, and those are one finite draw of the truth: the table gives, beside each row, how
  often the training points themselves (resampled, as a model that reproduced them exactly would
  be) pass the same test.
- fresh: every batch drawn fresh from the truth (`fresh_data=true`), which shows what the method
  itself reaches when data is unlimited.

    python benchmarks/bench_2d.py --threads 1     # full: 6 datasets x 2 methods x 2 regimes x 3 seeds (72 trainings)
    python benchmarks/bench_2d.py --quick         # smoke run (a few minutes), prints instead of writing
    python benchmarks/bench_2d.py --threads 1 --seeds 1 --datasets pinwheel,gmm --skip-timing   # a subset
"""
from __future__ import annotations

import argparse
import math
import os
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
from common import (FLOOR_PAIRS, REGIMES, ROOT, judge_cell, load_note, machine, median, publish,  # noqa: E402
                    reused, rule_note, truth_floors)

import difflab  # noqa: E402
import difflab.data  # noqa: E402

DATASETS = ["pinwheel", "gmm", "spiral", "moons", "checkerboard", "normal2d"]
METHODS = ["ddpm", "dsm"]
METRICS = ("energy", "mmd2")
FIGURE = ROOT / "docs" / "bench-2d.png"
SUBSET_FIGURE = ROOT / "benchmarks" / "figures" / "bench-2d-subset.png"
REFERENCE_DRAWS = 20  # draws behind each reference pass rate
N = 2000              # samples per cell, truth points per draw


def grid_note(run) -> str:
    """How a run's default sampler steps, e.g. "1000 steps even in log-SNR"."""
    if run is None:
        return "-"
    cfg = run.config
    steps = len(run.times(cfg.sampler, cfg.sample_steps)) - 1
    return f"{steps} steps " + ("even in log-SNR" if cfg.sample_grid == "log" else "on the process's levels")


def one(data, method, seed, regime, out, floors, sets=(), n=N, reuse=False):
    """Train (or, with `reuse`, load the run trained earlier in `out` when it is there), sample, judge;
    the run also carries the CPU seconds of the training call (NaN when reused)."""
    overrides = {**REGIMES[regime], "data_seed": seed, **dict(s.split("=", 1) for s in sets)}
    if reuse and (out / "model.safetensors").is_file():
        run = reused(out, data, method, overrides)
    else:
        cpu = time.process_time()
        run = difflab.train(data, method=method, out=out, seed=seed, progress=False, overwrite=True, set=overrides)
        run.train_cpu_seconds = time.process_time() - cpu
    res = run.sample_with_info(n, seed=seed + 100)
    cell = judge_cell(res.samples, run.dataset, floors, np.random.default_rng(seed + 200))
    return run, res, cell


def split_reference(ds, floors, n, rng, draws=REFERENCE_DRAWS) -> float:
    """Share of draws in which n points resampled from the training split pass every figure: what a
    model that reproduced its training points exactly would score."""
    return float(np.mean([judge_cell(ds.train[rng.integers(0, len(ds.train), n)], ds, floors, rng)["passes"]
                          for _ in range(draws)]))


def truth_reference(ds, floors, n, rng, draws=REFERENCE_DRAWS) -> float:
    """The same share for fresh truth samples: what a perfect model scores (each figure is allowed its 5% tail)."""
    return float(np.mean([judge_cell(ds.sample(n, rng), ds, floors, rng)["passes"] for _ in range(draws)]))


def samples_figure(shown, path):
    """One row per dataset: truth, then seed 0's samples of each method and regime, on the same axes."""
    ncol = 1 + len(METHODS) * len(REGIMES)
    fig, axes = plt.subplots(len(shown), ncol, figsize=(2.8 * ncol, 2.8 * len(shown)), squeeze=False)
    for row, (data, (truth, by_run)) in zip(axes, shown.items()):
        panels = [("truth", truth)] + [(f"{m}, {r}", by_run[m, r]) for r in REGIMES for m in METHODS
                                       if (m, r) in by_run]
        lo, hi = truth.min(0) - 0.3, truth.max(0) + 0.3
        for ax, (title, x) in zip(row, panels):
            ax.scatter(x[:, 0], x[:, 1], s=1, alpha=0.5)
            ax.set(xlim=(lo[0], hi[0]), ylim=(lo[1], hi[1]), xticks=[], yticks=[])
            ax.set_title(f"{data}: {title}", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def timed_sampling(run, n, repeats=3) -> tuple[float, float]:
    """Median (wall, CPU) seconds to draw n samples with the run's default sampler."""
    wall, cpu = [], []
    for s in range(repeats):
        c = time.process_time()
        wall.append(run.sample_with_info(n, seed=s).seconds)
        cpu.append(time.process_time() - c)
    return median(wall), median(cpu)


def ratios(cells, key) -> str:
    """Per seed: the judged value over its floor's p95, e.g. "0.28, 1.18"."""
    return ", ".join(f"{c[key]['value'] / c[key]['floor_bound']:.2f}" for c in cells)


def shares(cells, key) -> str:
    """Per seed: a share in percent, then the bound it is judged against, e.g. "0.45, 0.10 (0.25)"."""
    if any(key not in c for c in cells):
        return "–"
    bound = cells[0][key].get("bound", cells[0][key].get("floor_p95"))
    return ", ".join(f"{100 * c[key]['value']:.2f}" for c in cells) + f" ({100 * bound:.2f})"


def mean_logs(cells) -> str:
    """Per seed: the samples' mean true log-density, then the truth's p05 to p99, e.g. "-1.23 (-0.97 to -0.91)"."""
    if any("mean_log_prob" not in c for c in cells):
        return "–"
    vals = ", ".join("–" if c["mean_log_prob"]["value"] is None else f"{c['mean_log_prob']['value']:.2f}"
                     for c in cells)
    m = cells[0]["mean_log_prob"]
    return f"{vals} ({m['floor_p05']:.2f} to {m['floor_p99']:.2f})"


def failing(cells) -> str:
    """The figures that miss, per seed ("-" when none)."""
    names = {"energy": "E", "mmd2": "M", "outlier_share": "O", "mean_log_prob": "L", "outside_support": "S"}
    return ", ".join("".join(names[k] for k in names if k in c and not c[k]["within_floor"]) or "-" for c in cells)


def csv(value: str, valid) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in valid]
    if bad:
        raise SystemExit(f"unknown {', '.join(bad)}; valid: {', '.join(valid)}")
    return items


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0,
                    help="run seeds first..first+seeds-1 (to split seeds over processes); with it the section is "
                         "printed, not written (one process cannot publish another's seeds)")
    ap.add_argument("--quick", action="store_true",
                    help="pinwheel and checkerboard, 1 seed, 1000 steps, 20 floor pairs, 5 reference draws, no timing; "
                         "print, do not write (about 4 min on one thread)")
    ap.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated subset of " + ", ".join(DATASETS))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--regimes", default=",".join(REGIMES))
    ap.add_argument("--floor-pairs", type=int, default=FLOOR_PAIRS,
                    help=f"truth pairs behind each floor (at least {FLOOR_PAIRS} to publish)")
    ap.add_argument("--skip-timing", action="store_true", help="skip the 10,000-sample and thread-count timings")
    ap.add_argument("--set", action="append", default=[], help="config override for every run")
    ap.add_argument("--json", default=None, help="also dump raw results here")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads for the study runs (0: torch's default)")
    ap.add_argument("--reuse", default=None, metavar="DIR",
                    help="load the runs DIR/<data>-<method>-<regime>-<seed> that an earlier run of this script "
                         "trained (its temporary folder) instead of training, and sample them with today's "
                         "sampler defaults (refused for a run whose training settings are not today's); the "
                         "runs missing there are trained into DIR")
    a = ap.parse_args()
    start_load, started = os.getloadavg()[0], time.time()
    datasets, methods, regimes = csv(a.datasets, DATASETS), csv(a.methods, METHODS), csv(a.regimes, list(REGIMES))
    seeds, sets, n_timed, pairs, ref_draws = (list(range(a.first_seed, a.first_seed + a.seeds)), list(a.set), 10_000,
                                              a.floor_pairs, REFERENCE_DRAWS)
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.quick:
        datasets, seeds, sets, pairs, ref_draws = ["pinwheel", "checkerboard"], [0], sets + ["steps=1000"], 20, 5
        a.skip_timing = True
    if pairs < FLOOR_PAIRS and not a.quick:
        raise SystemExit(f"--floor-pairs must be at least {FLOOR_PAIRS} for a published table (--quick prints only)")
    full = (datasets, methods, regimes, len(seeds)) == (DATASETS, METHODS, list(REGIMES), 3)
    tmp = Path(a.reuse) if a.reuse else Path(tempfile.mkdtemp(prefix="difflab-bench-"))
    rows, raw, shown, sample_10k, references, floor_notes, first_runs = [], [], {}, {}, {}, {}, {}
    n_reused = 0
    for data in datasets:
        ds = difflab.data.get_dataset(data)
        t0 = time.perf_counter()
        floors = truth_floors(ds, N, np.random.default_rng(12345), METRICS, pairs=pairs)
        floor_notes[data] = time.perf_counter() - t0
        shown[data] = (ds.sample(N, np.random.default_rng(1)), {})
        rng = np.random.default_rng(54321)
        references[data] = {"truth": truth_reference(ds, floors, N, rng, ref_draws),
                            "split": [split_reference(difflab.data.get_dataset(data, seed=s), floors, N, rng, ref_draws)
                                      for s in seeds]}
        print(f"{data}: floors in {floor_notes[data]:.0f} s; reference pass rates {references[data]}", flush=True)
        for regime in regimes:
            for method in methods:
                times, cpus, cells, nfe = [], [], [], None
                for seed in seeds:
                    out = tmp / f"{data}-{method}-{regime}-{seed}"
                    run, res, cell = one(data, method, seed, regime, out, floors, sets, reuse=bool(a.reuse))
                    if seed == seeds[0]:
                        shown[data][1][method, regime] = res.samples
                        first_runs.setdefault(method, run)
                    times.append(run.train_seconds)
                    cpus.append(run.train_cpu_seconds)
                    n_reused += math.isnan(run.train_cpu_seconds)                     # NaN: loaded, not trained
                    cells.append(cell)
                    nfe = res.nfe
                    if not a.skip_timing and seed == seeds[0] and method not in sample_10k:   # one MLP for all 2D data
                        sample_10k[method] = (timed_sampling(run, n_timed), res.sampler, res.nfe)
                    raw.append({"data": data, "method": method, "regime": regime, "seed": seed,
                                "train_seconds": run.train_seconds, "train_cpu_seconds": run.train_cpu_seconds,
                                "cell": cell})
                    print(f"{data:12s} {method:5s} {regime:5s} seed {seed}: train {run.train_seconds:5.1f}s "
                          f"energy {ratios([cell], 'energy')} mmd2 {ratios([cell], 'mmd2')} of p95; outliers "
                          f"{shares([cell], 'outlier_share')}%; mean log p {mean_logs([cell])}; outside "
                          f"{shares([cell], 'outside_support')}%; failing {failing([cell])}", flush=True)
                rows.append((data, method, regime, (median(times), median(cpus)), cells, nfe))

    # threads: the same training run with 1 and 2 torch threads
    thread_rows = []
    if not a.skip_timing:
        for threads in (1, 2):
            secs = []
            for seed in seeds[:2]:
                run = difflab.train("pinwheel", method="ddpm", out=tmp / f"threads-{threads}-{seed}", seed=seed,
                                    progress=False, overwrite=True, threads=threads,
                                    set=dict(s.split("=", 1) for s in sets))
                secs.append(run.train_seconds)
            thread_rows.append((threads, median(secs)))
        torch.set_num_threads(a.threads or 2)

    first = rows[0]
    cfg = first_runs[first[1]].config
    configs = {m: r.config for m, r in first_runs.items()}
    steps_note = ", ".join(f"{m.upper()} {c.steps}" for m, c in configs.items())
    dsm_sampler = configs["dsm"].sampler if "dsm" in configs else "-"
    n_cells = sum(len(r[4]) for r in rows)
    by_regime = {r: [c for row in rows if row[2] == r for c in row[4]] for r in regimes}
    minutes = (time.time() - started) / 60
    what = ("all rows" if full else
            f"a subset: datasets {', '.join(datasets)}; methods {', '.join(methods)}; regimes {', '.join(regimes)}; "
            f"{len(seeds)} seed(s) per row ({n_cells - n_reused} trainings, {n_reused} runs reused)")
    command = (f"python benchmarks/bench_2d.py{' --threads %d' % a.threads if a.threads else ''}"
               f"{'' if a.seeds == 3 else ' --seeds %d' % a.seeds}"
               + "".join(f" --{k} {','.join(v)}" for k, v, d in (("datasets", datasets, DATASETS),
                                                                   ("methods", methods, METHODS),
                                                                   ("regimes", regimes, list(REGIMES))) if v != d)
               + (" --skip-timing" if a.skip_timing and not a.quick else "")
               + (" --reuse DIR" if a.reuse else "")
               + "".join(f" --set {x}" for x in a.set))
    if a.quick:
        command = f"python benchmarks/bench_2d.py --quick{' --threads %d' % a.threads if a.threads else ''}"
    figure = FIGURE if full else SUBSET_FIGURE
    lines = [
        "## Core: DDPM and DSM on 2D data (issues 2 and 14)",
        "",
        f"Machine: {machine()}.  ",
        f"Command: `{command}` ({time.strftime('%Y-%m-%d')}, {minutes:.0f} min); {load_note(start_load)}.  ",
        f"Rows run: {what}.",
        "",
        f"Defaults: MLP width {cfg.network['width']}, depth {cfg.network['depth']} with input Fourier features; "
        f"Adam steps of batch {cfg.batch_size}: {steps_note}; DDPM = linear schedule, T=1000, training times drawn "
        f"uniformly in log noise level, ancestral sampling ({grid_note(first_runs.get('ddpm'))}); DSM = VE ladder of "
        f"100 training levels, K=2 noise draws, its default sampler ({dsm_sampler}, {grid_note(first_runs.get('dsm'))}; "
        f"NFE column). Each seed s trains on its own split (data_seed = s)."
        + (f" {n_reused} of the {n_cells} networks were trained by an earlier run of this script with the same "
           "training settings (checked) and sampled here with today's sampler defaults; their train s is that "
           "run's wall time (its CPU time was not kept)." if n_reused else ""),
        "",
        "**Statistics.** " + rule_note(N, floors) + f" One set of floors per dataset, shared by its rows. "
        f"Two regimes: **split** trains on the study's 2000-point training split; **fresh** draws every batch "
        f"fresh from the truth (`--set fresh_data=true`). The reference pass rate is the share of {ref_draws} draws "
        f"that pass every figure by the same rule, for fresh truth samples (a perfect model; each figure may "
        f"miss in its 5% tail) and for 2000 points resampled from each seed's training split (a model that "
        f"reproduced its training points exactly; judged against fresh truth as the split-trained models are).",
        "",
        "Cells passing every figure: " + ", ".join(f"{r} {sum(c['passes'] for c in by_regime[r])}/{len(by_regime[r])}"
                                                    for r in regimes)
        + "; energy and MMD^2 only: " + ", ".join(f"{r} {sum(c['passes_bulk'] for c in by_regime[r])}/"
                                                    f"{len(by_regime[r])}" for r in regimes) + ".",
        "",
        f"![samples of seed 0 beside the truth]({figure.relative_to(ROOT)})",
        "",
        "Columns, one value per seed: energy and MMD^2 as the median over the truth draws divided by the floor's "
        "p95 (at most 1 passes); outlier share and share outside the support in percent, the bound in brackets; "
        "the mean true log-density of the samples, the truth's p05 to p99 in brackets (above p99: too concentrated); failing: the figures that miss "
        "(E energy, M MMD^2, O outlier share, L mean log-density, S outside the support; - none). Train s: the "
        "median wall time of the training call, its CPU time in brackets.",
        "",
        "| dataset | method | regime | train s | energy / p95 | MMD^2 / p95 | outlier % (p95) | mean log p (p05 to p99) "
        "| outside % (bound) | failing | cells passing | reference pass rate | NFE |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for data, method, regime, (t, cpu), cells, nfe in rows:
        ref = references[data]
        r = (f"truth {ref['truth']:.2f}" if regime == "fresh" else
             "training split " + ", ".join(f"{v:.2f}" for v in ref["split"]))
        cpu_text = "–" if np.isnan(cpu) else f"{cpu:.1f}"
        lines.append(f"| {data} | {method} | {regime} | {t:.1f} ({cpu_text}) | {ratios(cells, 'energy')} | "
                     f"{ratios(cells, 'mmd2')} | {shares(cells, 'outlier_share')} | {mean_logs(cells)} | "
                     f"{shares(cells, 'outside_support')} | {failing(cells)} | {sum(c['passes'] for c in cells)}/"
                     f"{len(cells)} | {r} | {nfe} |")
    if sample_10k:
        lines += ["", "Time to draw 10,000 samples with each method's default sampler (median of 3; the network is "
                  "the same for every 2D dataset):", "", "| method | sampler | NFE | wall s (CPU s) |",
                  "|---|---|---|---|"]
        lines += [f"| {m} | {smp} | {nfe} | {w:.1f} ({c:.1f}) |" for m, ((w, c), smp, nfe) in sample_10k.items()]
    if thread_rows:
        lines += ["", "Training time of pinwheel/DDPM against torch's CPU thread count (median of 2 seeds):", "",
                  "| threads | train s |", "|---|---|"]
        lines += [f"| {th} | {s:.1f} |" for th, s in thread_rows]
    samples_figure(shown, tmp / "bench-2d.png" if a.quick or a.first_seed > 0 else figure)
    publish("core", "\n".join(lines), quick=a.quick or a.first_seed > 0, json_path=a.json, raw=raw)


if __name__ == "__main__":
    main()
