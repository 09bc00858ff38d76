"""`keep: best` against `keep: last` on the 2D datasets: where a held-out split says to stop (issue 14).

One training per cell, with `keep=best` (training is the same bits as with `keep=last`): its
model.safetensors holds the EMA weights of the epoch with the lowest test loss, its checkpoint
the final EMA weights. Both are judged the same way:
- the sample figures of the core table (`common.judge_cell`: energy and MMD^2 by the median over
  5 truth draws against 100 truth pairs, the tail figures against 100 truth draws), n = 2000
  samples with the run's default sampler, sampling seed 100 + seed;
- KL(truth || model) on the fresh truth draw of bench_likelihood.py (2000 points, POINTS_SEED),
  passing on gap + 2 se at most 0.05 nats.
The test loss that chooses the epoch is the split's 500 test points; every figure is read on
fresh truth draws, so the choice does not see them.

    python benchmarks/bench_keep.py --runs DIR [--datasets ...] [--methods ...] [--regimes split fresh]
        [--seeds 0 1 2] --json part.json          (trains what DIR lacks; prints each cell)
    python benchmarks/bench_keep.py --from-json part1.json part2.json   (writes the section)
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_likelihood import DATASETS, POINTS_SEED, TARGET  # noqa: E402
from common import REGIMES, judge_cell, load_note, machine, median, publish, rule_note, truth_floors  # noqa: E402

import difflab  # noqa: E402
import difflab.data  # noqa: E402
from difflab.files import atomic_write_bytes  # noqa: E402
from difflab.samplers.likelihood import run_likelihood  # noqa: E402
from difflab.training.checkpoint import read_checkpoint, unprefixed  # noqa: E402

N = 2000
LETTERS = {"energy": "E", "mmd2": "M", "outlier_share": "O", "mean_log_prob": "L", "outside_support": "S"}


def trained(runs: Path, data: str, method: str, regime: str, seed: int):
    """The keep=best run of this cell (trained now when DIR lacks it), and its training wall seconds."""
    out = runs / f"{data}-{method}-{regime}-{seed}"
    if (out / "model.safetensors").is_file():
        return difflab.load(out)
    return difflab.train(data, method=method, out=out, seed=seed, progress=False, overwrite=True,
                         set={"threads": 1, "data_seed": seed, "keep": "best", **REGIMES[regime]})


def figures(run, ds, floors, points, seed) -> dict:
    cell = judge_cell(run.sample(N, seed=100 + seed).astype(float), ds, floors, np.random.default_rng(7))
    lik = run_likelihood(run, points, seed=0)
    failing = "".join(v for k, v in LETTERS.items() if k in cell and not cell[k]["within_floor"]) or "-"
    return {"passes": bool(cell["passes"]), "failing": failing,
            "energy": cell["energy"]["value"] / cell["energy"]["floor_bound"],
            "mmd2": cell["mmd2"]["value"] / cell["mmd2"]["floor_bound"],
            "outliers": 100 * cell["outlier_share"]["value"], "mean_log_p": cell["mean_log_prob"]["value"],
            "outside": 100 * cell["outside_support"]["value"] if "outside_support" in cell else None,
            "kl": lik["kl_nats"], "kl_se": lik["kl_se"], "kl_passes": lik["kl_nats"] + 2 * lik["kl_se"] <= TARGET}


def measure(a) -> list[dict]:
    runs = Path(a.runs)
    runs.mkdir(parents=True, exist_ok=True)
    rows = []
    for data in a.datasets:
        ds = difflab.data.get_dataset(data)
        cache = runs / f"floors-{data}.pkl"
        if cache.is_file():
            floors = pickle.loads(cache.read_bytes())
        else:
            floors = truth_floors(ds, N, np.random.default_rng(12345))
            atomic_write_bytes(cache, pickle.dumps(floors))
        points = ds.sample(2000, np.random.default_rng(POINTS_SEED))
        for method in a.methods:
            for regime in a.regimes:
                for seed in a.seeds:
                    run = trained(runs, data, method, regime, seed)
                    h = json.loads((run.path / "history.json").read_text())
                    kept = run.info["kept"]
                    row = {"data": data, "method": method, "regime": regime, "seed": seed,
                           "steps": run.info["steps_done"], "kept_step": kept["step"],
                           "test_loss_best": kept.get("test_loss_ema"), "test_loss_last": h["test_loss_ema"][-1],
                           "train_seconds": run.train_seconds, "best": figures(run, ds, floors, points, seed)}
                    run.net.load_state_dict(unprefixed("ema", read_checkpoint(run.path)[0]))
                    row["last"] = figures(run, ds, floors, points, seed)
                    rows.append(row)
                    print(f"{data:12s} {method:4s} {regime:5s} seed {seed}: kept step {row['kept_step']} of "
                          f"{row['steps']} | last: KL {row['last']['kl']:.3f}+-{row['last']['kl_se']:.3f} "
                          f"fails {row['last']['failing']} | best: KL {row['best']['kl']:.3f}+-"
                          f"{row['best']['kl_se']:.3f} fails {row['best']['failing']}", flush=True)
    return rows


def section(rows, meta) -> str:
    floors_note = rule_note(N, {"draws": 5, "pairs": 100})
    lines = [
        "### Stopping where the held-out loss is lowest: `keep: best` (issue 14, point 2)",
        "",
        f"Machine: {meta['machine']}.  ",
        f"Commands: {'; '.join(meta['commands'])}.",
        "",
        "One training per row, seed s on its own split (data_seed = s), the defaults plus `keep=best`: the run "
        "samples with the EMA weights of the epoch whose EMA test loss (the split's 500 test points, one fixed "
        "draw of times and noise) was lowest; **last** is the same training's final EMA weights (what `keep: "
        "last`, the default, samples with; training is the same bits). **Statistics.** " + floors_note +
        f" KL(truth || model) on one fresh truth draw of 2000 points per dataset (bench_likelihood.py's), "
        f"passing on gap + 2 se at most {TARGET}. Every figure is read on fresh truth draws, which the choice of "
        "epoch never sees.",
        "",
        "| dataset | method | regime | seed | kept step / steps | test loss best / last | KL last | KL best | "
        "failing last | failing best | outliers % last / best | mean log p last / best |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        L, B = r["last"], r["best"]
        lines.append(
            f"| {r['data']} | {r['method']} | {r['regime']} | {r['seed']} | {r['kept_step']} / {r['steps']} | "
            f"{r['test_loss_best']:.4f} / {r['test_loss_last']:.4f} | {L['kl']:.3f} +- {L['kl_se']:.3f} | "
            f"{B['kl']:.3f} +- {B['kl_se']:.3f} | {L['failing']} | {B['failing']} | "
            f"{L['outliers']:.2f} / {B['outliers']:.2f} | {L['mean_log_p']:.3f} / {B['mean_log_p']:.3f} |")
    for regime in sorted({r["regime"] for r in rows}):
        sub = [r for r in rows if r["regime"] == regime]
        lines += ["", f"{regime}: cells passing every sample figure, last {sum(r['last']['passes'] for r in sub)}"
                  f"/{len(sub)}, best {sum(r['best']['passes'] for r in sub)}/{len(sub)}; KL within {TARGET} "
                  f"(gap + 2 se), last {sum(r['last']['kl_passes'] for r in sub)}/{len(sub)}, best "
                  f"{sum(r['best']['kl_passes'] for r in sub)}/{len(sub)}; median KL last "
                  f"{median([r['last']['kl'] for r in sub]):.3f}, best {median([r['best']['kl'] for r in sub]):.3f}."]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", default="keep-runs")
    ap.add_argument("--datasets", nargs="+", default=DATASETS)
    ap.add_argument("--methods", nargs="+", default=["ddpm", "dsm"])
    ap.add_argument("--regimes", nargs="+", default=["split"], choices=list(REGIMES))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write the raw rows (and the command's note) here")
    ap.add_argument("--from-json", nargs="+", help="merge raw rows written by --json into the section")
    ap.add_argument("--quick", action="store_true", help="print the section instead of writing BENCHMARKS.md")
    a = ap.parse_args()
    if a.from_json:
        parts = [json.loads(Path(p).read_text()) for p in a.from_json]
        rows = [r for p in parts for r in p["rows"]]
        meta = {"machine": parts[0]["machine"], "commands": [p["command"] for p in parts]}
        publish("keep", section(rows, meta), quick=a.quick)
        return
    torch.set_num_threads(a.threads)
    t0, load0 = time.time(), os.getloadavg()[0]
    rows = measure(a)
    command = (f"`python benchmarks/bench_keep.py {' '.join(sys.argv[1:])}` ({time.strftime('%Y-%m-%d')}, "
               f"{(time.time() - t0) / 60:.1f} min; {load_note(load0)})")
    raw = {"machine": machine(), "command": command, "rows": rows}
    if a.json:
        Path(a.json).write_text(json.dumps(raw, indent=1))
    print(section(rows, {"machine": raw["machine"], "commands": [command]}))


if __name__ == "__main__":
    main()
