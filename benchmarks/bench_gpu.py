"""Issue 17, point 3: images and audio on a GPU, bf16 and torch.compile on and off.

For every dataset (its preset in src/difflab/configs/) and every speed variant: train for a fixed
budget of minutes (a short probe measures seconds per step so the learning-rate schedule ends on
time; `max_minutes` is the hard stop), then report training throughput (items/s: steps x batch /
training seconds, and seconds per step), and the quality reached: FD-clf of unguided samples and,
for class-conditional presets, of guided samples (labels in turn, classifier-free guidance 2),
each beside its floor, with the confident share, as `difflab evaluate` computes them (the
kinds' own classifiers).

    python benchmarks/bench_gpu.py                                   # on a CUDA machine: every row
    python benchmarks/bench_gpu.py --minutes 5 --datasets mnist --variants plain,bf16
    python benchmarks/bench_gpu.py --quick --device cpu              # a smoke run (prints only)

Variants: plain (fp32, eager), bf16 (`amp`: bf16 autocast), compile (`compile`: torch.compile),
bf16+compile. On a machine where a switch cannot work (bf16 on a CPU, compile without a compiler)
difflab runs without it and says why; the row's 'used' column shows what actually ran. Writes
the `gpu` section of BENCHMARKS.md (--print or --quick: print it instead).
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
from common import fmt, machine, publish  # noqa: E402

import difflab  # noqa: E402

DATASETS = {                      # row name -> (preset, data options)
    "mnist": ("mnist", {}),
    "fashion-mnist": ("fashion-mnist", {}),
    "fsdd (waveform)": ("fsdd-waveform", {}),
    "fsdd (spectrogram)": ("fsdd", {}),                 # fsdd's default preset: 64 x 64 log-magnitude STFT
}
VARIANTS = {"plain": {"amp": False, "compile": False}, "bf16": {"amp": True, "compile": False},
            "compile": {"amp": False, "compile": True}, "bf16+compile": {"amp": True, "compile": True}}
GUIDANCE = 2.0


def train_budget(preset: str, minutes: float, probe_steps: int, out: Path, sets: dict):
    """The preset trained for about `minutes` with `sets`; returns (run, seconds per step of the run)."""
    probe = difflab.train(config=preset, out=out / "probe", steps=probe_steps, overwrite=True, progress=False,
                          set=sets)
    per_step = probe.train_seconds / probe.info["steps_done"]
    steps = max(probe_steps, int(0.92 * 60 * minutes / per_step))
    run = difflab.train(config=preset, out=out / "run", steps=steps, overwrite=True, progress=False,
                        max_minutes=minutes, set={**sets, "lr_warmup": min(200, max(1, steps // 10))})
    return run, run.train_seconds / max(1, run.info["steps_done"])


def quality(run, n: int, sample_steps: int | None, seed: int = 0) -> dict:
    """FD-clf (beside its floor p95) and the confident share of unguided and, for a labelled run, guided samples."""
    out = {}
    kinds = [("unguided", {})]
    if run.config.class_conditional:
        kinds.append(("guided", {"labels": np.arange(n) % 10, "guidance": GUIDANCE}))
    for name, kw in kinds:
        t0 = time.perf_counter()
        x = run.sample(n, steps=sample_steps, seed=seed, **kw)
        seconds = time.perf_counter() - t0
        ev = run.evaluate(x, seed=seed)
        metrics = ev["metrics"]
        fd = metrics["fd_clf"] if "fd_clf" in metrics else metrics["fd"]     # images: fd_clf; audio: fd
        out[name] = {"fd_clf": fd["value"], "floor_p95": fd["floor_p95"],
                     "confident": (ev.get("labels") or {}).get("confident_share", float("nan")),
                     "sample_s_per_item": seconds / n}
    return out


def row(name, variant, used, r) -> str:
    q = r["quality"]

    def cell(k):
        if k not in q:
            return "–"
        v = q[k]
        return f"{fmt(v['fd_clf'])} / {fmt(v['floor_p95'])} ({v['confident']:.0%} confident)"

    return (f"| {name} | {variant} | {used} | {r['steps']} | {r['train_s']:.0f} | {r['items_per_s']:.1f} | "
            f"{r['s_per_step']:.3f} | {cell('unguided')} | {cell('guided')} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0, help="training budget per row")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--n-samples", type=int, default=1000)
    ap.add_argument("--sample-steps", type=int, default=None, help="sampler steps (default: each preset's)")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 0.2 min, 24 samples, 5 sampler steps; prints")
    ap.add_argument("--print", action="store_true")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    if a.quick:
        a.minutes, a.n_samples, a.sample_steps = 0.2, 24, 5
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device here; this benchmark is for a GPU machine (--device cpu --quick to smoke-test)")
    names = [d.strip() for d in a.datasets.split(",")]
    unknown = [d for d in names if d not in DATASETS] + [v for v in a.variants.split(",") if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown dataset or variant: {', '.join(unknown)}; datasets: {', '.join(DATASETS)}; "
                         f"variants: {', '.join(VARIANTS)}")
    tmp = Path(tempfile.mkdtemp(prefix="difflab-gpu-"))
    rows, raw = [], []
    for name in names:
        preset, data_options = DATASETS[name]
        for variant in a.variants.split(","):
            sets = {"device": a.device, **VARIANTS[variant],
                    **{f"data_options.{k}": v for k, v in data_options.items()}}
            out = tmp / f"{preset}-{variant}"
            run, s_per_step = train_budget(preset, a.minutes, 3 if a.quick else 20, out, sets)
            used = run.info.get("runtime", {})              # what runtime.resolve let run
            used_text = "+".join(k for k in ("amp", "compile") if used.get(k)) or "fp32 eager"
            steps = run.info["steps_done"]
            r = {"dataset": name, "variant": variant, "used": used_text, "steps": steps,
                 "train_s": run.train_seconds, "s_per_step": s_per_step,
                 "items_per_s": steps * run.config.batch_size / max(run.train_seconds, 1e-9),
                 "quality": quality(run, a.n_samples, a.sample_steps)}
            raw.append(r)
            rows.append(row(name, variant, used_text, r))
            print(rows[-1], flush=True)
    body = "\n".join([
        "## Images and audio on a GPU (issue 17, point 3)", "",
        f"Machine: {machine()}.  ",
        f"Command: `python benchmarks/bench_gpu.py --minutes {a.minutes:g}` ({time.strftime('%Y-%m-%d')}).", "",
        f"Each row: the dataset's preset trained for {a.minutes:g} minutes on {a.device}, then {a.n_samples} samples "
        f"unguided and (labelled presets) guided by labels 0..9 in turn at guidance {GUIDANCE:g}; FD-clf in the "
        "features of difflab's own classifier for that data, beside its floor's p95 as `difflab evaluate` computes it "
        "(images: two disjoint draws of test images, 20 pairs; audio: train against test clips), and the share of samples the classifier labels with confidence > 0.9. "
        "'used' is what ran (bf16 or compile fall back where the machine cannot).", "",
        "| data | variant | used | steps | train s | items/s | s/step | unguided FD-clf / p95 | guided FD-clf / p95 |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ])
    publish("gpu", body, quick=a.quick or a.print, json_path=a.json, raw=json.loads(json.dumps(raw, default=str)))


if __name__ == "__main__":
    main()
