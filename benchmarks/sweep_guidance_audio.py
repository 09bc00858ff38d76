"""Guidance scale and sampler steps against the asked-digit rate and FD-clf, on one trained FSDD run.

    python benchmarks/sweep_guidance_audio.py RUN [--guidance 1 2 3 4] [--steps 50] [--n 150] [--json F]

For each guidance scale w (and each --steps), samples n clips with labels 0..9 in turn and the
run's sampler (seed 0, as bench_audio.py draws its guided row), and judges them as bench_audio.py
does: the share the spoken-digit classifier labels as the asked digit, FD-clf beside its floor
(FD-clf between n train and n test clips, 20 draws, the p95) and the confident share. Prints a
markdown table; one draw per cell. Sampling only: the run is not changed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_note, machine  # noqa: E402

import difflab  # noqa: E402
from difflab.kinds.audio.metrics import audio_reference_floors, evaluate_audio, get_audio_classifier  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--guidance", nargs="+", type=float, default=[1.0, 2.0, 3.0, 4.0])
    ap.add_argument("--steps", nargs="+", type=int, default=[50])
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    t0, load0 = time.time(), os.getloadavg()[0]
    run = difflab.load(a.run)
    wav = run.dataset.waveforms()
    clf = get_audio_classifier(wav)
    labels = np.array([i % wav.n_classes for i in range(a.n)])
    floors = audio_reference_floors(wav, a.n, np.random.default_rng(a.seed + 7), classifier=clf, n_pairs=20)
    rows = []
    for steps in a.steps:
        for w in a.guidance:
            res = run.sample_with_info(a.n, seed=a.seed, steps=steps, labels=labels.tolist(), guidance=w)
            ev = evaluate_audio(res.samples, wav, np.random.default_rng(a.seed), classifier=clf, floors=floors)
            pred = clf.predict_proba(np.clip(res.samples, -1, 1)).argmax(1)
            fd = ev["metrics"]["fd"]
            rows.append({"guidance": w, "steps": steps, "nfe": res.nfe, "recognised": float(np.mean(pred == labels)),
                         "per_digit": [float(np.mean(pred[labels == k] == k)) for k in range(wav.n_classes)],
                         "fd": fd["value"], "fd_p95": fd["floor_p95"], "confident": ev["labels"]["confident_share"],
                         "histogram": ev["labels"]["histogram"]})
            r = rows[-1]
            print(f"w {w:g}, {steps} steps (NFE {res.nfe}): recognised {r['recognised']:.1%}, FD-clf {r['fd']:.1f} "
                  f"({r['fd'] / r['fd_p95']:.1f}x p95 {r['fd_p95']:.2f}), confident {r['confident']:.1%}", flush=True)
    print(f"\nRun {a.run}: {run.info['steps_done']} steps in {run.train_seconds:.0f} s. Machine: {machine()}; "
          f"{(time.time() - t0) / 60:.1f} min, {load_note(load0)}.\n")
    print("| guidance w | sampler steps | NFE per clip | asked digit recognised | FD-clf / floor p95 | confident |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['guidance']:g} | {r['steps']} | {r['nfe']} | {r['recognised']:.1%} | {r['fd']:.1f} / "
              f"{r['fd_p95']:.2f} = {r['fd'] / r['fd_p95']:.1f}x | {r['confident']:.1%} |")
    if a.json:
        Path(a.json).write_text(json.dumps({"run": a.run, "steps_done": run.info["steps_done"], "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
