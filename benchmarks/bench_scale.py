"""Scale-out on this machine: training steps/s and items/s on 1 process vs 2 ranks (torchrun, gloo on
the CPU), and the peak memory of `difflab sample --n 1000000` on a 2D run, streamed in batches
and in one batch. Figures are medians of --repeats runs. Writes the "Scale-out" section of
BENCHMARKS.md.

    python benchmarks/bench_scale.py [--repeats 3] [--steps 300] [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fmt, load_note, machine, median, publish  # noqa: E402

CASES = {  # dataset: (settings, what an item is)
    "gmm": (["--set", "threads=1"], "points"),
    "mnist": (["--set", "threads=1", "--set", "n_train=2048", "--set", "n_test=256", "--set", "batch_size=64",
               "--set", "network={name: unet, preset: unet-28}"], "images"),
}


def train_seconds(args, ranks: int, out: Path) -> float:
    """Wall time of the training steps alone (config.json's train_seconds), one call."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launcher = [sys.executable, "-m", "difflab"] if ranks == 1 else \
        [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={ranks}", "-m", "difflab"]
    subprocess.run([*launcher, *args, "--out", str(out), "--no-progress", "--overwrite"], check=True, env=env,
                   capture_output=True)
    return float(json.loads((out / "config.json").read_text())["train_seconds"])


def peak_rss_mb(args) -> float:
    """Maximum resident set size of one `difflab sample` (GNU time)."""
    done = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "difflab", *args], check=True,
                          capture_output=True, text=True)
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1)) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--quick", action="store_true", help="one repeat, few steps, print instead of writing")
    a = ap.parse_args()
    repeats, steps = (1, 30) if a.quick else (a.repeats, a.steps)
    load0 = os.getloadavg()[0]
    rows, raw = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for data, (sets, item) in CASES.items():
            n_steps = steps if data == "gmm" else max(10, steps // 10)
            args = ["train", data, "--steps", str(n_steps), *sets]
            batch = 64 if data == "mnist" else 256
            per = {}
            for ranks in (1, 2):
                secs = [train_seconds(args, ranks, tmp / f"{data}-{ranks}") for _ in range(repeats)]
                per[ranks] = median(secs)
                raw[f"{data}-{ranks}"] = secs
            for ranks in (1, 2):
                sps = n_steps / per[ranks]
                rows.append(f"| {data} | {ranks} | {n_steps} | {batch} ({batch // ranks} per rank) | {fmt(sps)} | "
                            f"{fmt(sps * batch)} {item}/s | {fmt(per[1] / per[ranks])}x |")
        run = tmp / "gmm-1"
        sample = ["sample", str(run), "--n", "1000000", "--sampler", "dpm-solver", "--steps", "10", "--no-progress",
                  "--overwrite", "--out", str(tmp / "s.npy")]
        streamed = peak_rss_mb([*sample, "--batch-size", "100000"])
        whole = peak_rss_mb(sample)
        baseline = peak_rss_mb(["sample", str(run), "--n", "10", "--no-progress", "--overwrite", "--out",
                                str(tmp / "t.npy")])
    body = "\n".join([
        "## Scale-out",
        "",
        f"`python benchmarks/bench_scale.py` on {machine()}; {load_note(load0)}. Medians of {repeats} runs; "
        "the time is the training steps alone (config.json's train_seconds), each rank on one thread.",
        "",
        "| dataset | ranks | steps | global batch | steps/s | items/s | speed-up |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Two ranks on this 2-core machine split each batch between two processes, and every step then "
        "waits for one all-reduce of the gradients over gloo. The table says whether that pays here; on "
        "machines with more cores or GPUs each rank has its own.",
        "",
        f"Peak memory of `difflab sample RUN --n 1000000` (2D gmm run, dpm-solver 10 steps): "
        f"{streamed:.0f} MB with `--batch-size 100000` (memory-mapped output), {whole:.0f} MB in one batch; "
        f"a 10-sample call takes {baseline:.0f} MB (the interpreter, torch and difflab).",
    ])
    publish("scale", body, quick=a.quick, raw=raw)


if __name__ == "__main__":
    t0 = time.time()
    main()
    print(f"{time.time() - t0:.0f} s")
