"""One way of sampling a trained image run, judged over several draws: issue 17's unguided targets on
the median, not on one draw of 500 (issue 14, point 4: one draw flips verdicts).

Draw k (k = 0 .. K-1) samples N images with sampling seed k; the conditional way draws its labels from
the training labels with label seed 11 + k (draw 0 is then exactly bench_images.py's conditional row),
the guided way uses labels 0..9 in turn. Every draw is judged by `evaluate_images` against the same
floors (20 pairs of disjoint test-image draws of N, p95). Prints each draw and the medians of the
FD-clf / floor-p95 ratio and of the confident share / real test images' share, with the verdict on
the medians (unguided: ratio <= 2 and confident >= 0.9x; guided: ratio <= 1).

    python benchmarks/draws_images.py RUN --draws 5                        # conditional, w = 1
    python benchmarks/draws_images.py RUN --way guided --guidance 1.5 --draws 5 --json F
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_images import CONFIDENT_RATIO, UNGUIDED_FD, image_metrics  # noqa: E402
from common import machine  # noqa: E402

import difflab  # noqa: E402
from difflab.conditioning import prior_labels  # noqa: E402

WAYS = ("plain", "conditional", "guided")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="a trained image run folder")
    ap.add_argument("--way", choices=WAYS, default="conditional", help="plain (null label), conditional (labels "
                    "drawn from the training labels) or guided (labels 0..9); default conditional")
    ap.add_argument("--guidance", type=float, default=None, help="guidance scale (default: 1 unless --way guided, 2)")
    ap.add_argument("--draws", type=int, default=5, help="draws of --n images (default 5)")
    ap.add_argument("--n", type=int, default=500, help="images per draw (default 500)")
    ap.add_argument("--steps", type=int, default=None, help="sampler steps (default: the run's)")
    ap.add_argument("--json", default=None, help="also write every draw's figures here")
    a = ap.parse_args(argv)
    evaluate_images, floor_fn = image_metrics()
    run = difflab.load(a.run)
    ds = run.dataset
    w = a.guidance if a.guidance is not None else (2.0 if a.way == "guided" else 1.0)
    load0 = os.getloadavg()[0]
    floors = floor_fn(ds, a.n, np.random.default_rng(7))            # bench_images' floors: seed + 7 with seed 0
    rows = []
    for k in range(a.draws):
        kw = {}
        if a.way == "conditional":
            kw = dict(labels=prior_labels(ds.labels_train, a.n, 11 + k), guidance=w)
        elif a.way == "guided":
            kw = dict(labels=[i % ds.n_classes for i in range(a.n)], guidance=w)
        res = run.sample_with_info(a.n, seed=k, steps=a.steps, **kw)
        ev = evaluate_images(res.samples, ds, np.random.default_rng(k), floors=floors)
        fd, lab = ev["metrics"]["fd_clf"], ev["labels"]
        row = {"draw": k, "fd_clf": fd["value"], "floor_p95": fd["floor_p95"], "ratio": fd["value"] / fd["floor_p95"],
               "confident": lab["confident_share"], "test_confident": lab["test_confident_share"],
               "confident_ratio": lab["confident_share"] / lab["test_confident_share"],
               "classes": lab["n_classes_present"], "seconds": res.seconds}
        rows.append(row)
        print(f"draw {k}: FD-clf {row['fd_clf']:.4f} = {row['ratio']:.2f}x the floor's p95 {row['floor_p95']:.4f}; "
              f"confident {row['confident']:.1%} = {row['confident_ratio']:.2f}x the test images' "
              f"{row['test_confident']:.1%}; {row['classes']} classes; {res.seconds:.0f} s", flush=True)
    ratio = float(np.median([r["ratio"] for r in rows]))
    conf = float(np.median([r["confident_ratio"] for r in rows]))
    ok = ratio <= 1 if a.way == "guided" else (ratio <= UNGUIDED_FD and conf >= CONFIDENT_RATIO)
    target = ("FD-clf at most the floor's p95" if a.way == "guided"
              else f"FD-clf at most {UNGUIDED_FD:g}x the floor's p95 and confident at least {CONFIDENT_RATIO:g}x")
    print(f"{run.config.data}, {a.way} (w = {w:g}), {a.draws} draws of {a.n}, {res.sampler} {res.steps} steps: median "
          f"FD-clf ratio {ratio:.3f}, median confident ratio {conf:.3f} -> {'met' if ok else 'missed'} ({target}); "
          f"load {load0:.1f} at the start; {machine()}")
    if a.json:
        Path(a.json).write_text(json.dumps({"run": a.run, "way": a.way, "guidance": w, "n": a.n, "draws": rows,
                                            "median_ratio": ratio, "median_confident_ratio": conf, "met": ok,
                                            "load_start": load0}, indent=1))


if __name__ == "__main__":
    main()
