"""Merge the --json files of several `bench_2d.py` runs (seeds split over processes with --first-seed)
into one table: per dataset, method and regime, each seed's figures and how many seeds pass.

    python benchmarks/bench_2d.py --threads 1 --seeds 1 --skip-timing --json s0.json      # writes the section
    python benchmarks/bench_2d.py --threads 1 --seeds 1 --first-seed 1 --skip-timing --json s1.json
    python benchmarks/bench_2d.py --threads 1 --seeds 1 --first-seed 2 --skip-timing --json s2.json
    python benchmarks/merge_2d_seeds.py s0.json s1.json s2.json                             # prints the table

Every run judges its cells by the same rule (`common.judge_cell`) against floors from the same seeded
truth draws, so cells of different runs compare directly.
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict

LETTERS = (("energy", "E"), ("mmd2", "M"), ("outlier_share", "O"), ("mean_log_prob", "L"), ("outside_support", "S"))


def fails(cell) -> str:
    return "".join(c for k, c in LETTERS if k in cell and not cell[k]["within_floor"]) or "-"


def main(paths):
    rows, order = defaultdict(dict), []
    for path in paths:
        for r in json.load(open(path)):
            key = (r["data"], r["method"], r["regime"])
            if key not in rows:
                order.append(key)
            rows[key][r["seed"]] = r
    seeds = sorted({s for v in rows.values() for s in v})
    print(f"| dataset | method | regime | seeds passing | failing (seed {', '.join(map(str, seeds))}) | "
          "outlier % | mean log p | outside % | energy / p95 | MMD^2 / p95 | train CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    total = passing = 0
    for key in order:
        cells = [rows[key][s]["cell"] for s in seeds if s in rows[key]]
        cpu = [rows[key][s]["train_cpu_seconds"] for s in seeds if s in rows[key]]
        total += len(cells)
        passing += sum(c["passes"] for c in cells)
        share = lambda k: ", ".join("–" if k not in c else f"{100 * c[k]['value']:.2f}" for c in cells)  # noqa: E731
        ratio = lambda k: ", ".join(f"{c[k]['value'] / c[k]['floor_bound']:.2f}" for c in cells)  # noqa: E731
        mean = ", ".join(f"{c['mean_log_prob']['value']:.2f}" for c in cells)
        print(f"| {key[0]} | {key[1]} | {key[2]} | {sum(c['passes'] for c in cells)}/{len(cells)} | "
              f"{', '.join(fails(c) for c in cells)} | {share('outlier_share')} | {mean} | {share('outside_support')} | "
              f"{ratio('energy')} | {ratio('mmd2')} | {', '.join(f'{v:.0f}' for v in cpu)} |")
    print(f"\nCells passing every figure: {passing}/{total}.")


if __name__ == "__main__":
    main(sys.argv[1:])
