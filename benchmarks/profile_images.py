"""Where a training step of an image preset spends its time on this CPU (issue 17, point 1).

For each preset (mnist, fashion-mnist, fsdd: the spectrogram UNet) and each variant (torch threads
1 or 2; channels_last memory format; torch.compile where a C++ compiler exists) it builds the run's
parts exactly as `difflab train` does (training/setup.py), runs warm-up steps, then times
--steps steps two ways:
- the trainer's own `one_step` (training/loop.py), whole: seconds per step and images/s;
- the same work in its pieces, each timed on its own (torch's CPU ops are synchronous): the
  minibatch (rows, flips, labels), the times and noise, the forward pass with the loss, the
  backward pass, gradient clipping, AdamW and the EMA update.
The medians over the timed steps are written to BENCHMARKS.md (section `images-profile`).

    python benchmarks/profile_images.py                    # ~5 minutes on an idle 2-core machine
    python benchmarks/profile_images.py --presets mnist --steps 10 --no-write
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_section  # noqa: E402

from difflab.config import make_config  # noqa: E402
from difflab.training.batches import next_batch  # noqa: E402
from difflab.training.loop import gradient_norm, one_step  # noqa: E402
from difflab.training.setup import build_parts  # noqa: E402
from difflab.training.state import start_state  # noqa: E402

PRESETS = ["mnist", "fashion-mnist", "fsdd"]
PIECES = ["batch", "times+noise", "forward+loss", "backward", "clip", "adamw", "ema"]


def variants() -> list[dict]:
    out = [dict(threads=1), dict(threads=2), dict(threads=2, channels_last=True)]
    if shutil.which("c++") or shutil.which("g++"):
        out.append(dict(threads=2, compile=True))
    return out


def label(v: dict) -> str:
    return ", ".join([f"{v['threads']} thread{'s' if v['threads'] > 1 else ''}"]
                     + [k.replace("_", " ") for k in ("channels_last", "compile") if v.get(k)])


def build(preset: str, v: dict):
    cfg = make_config(None, [f"threads={v['threads']}"], data=preset, quiet=True, compile=bool(v.get("compile")),
                      channels_last=bool(v.get("channels_last")))
    torch.set_num_threads(v["threads"])
    return build_parts(cfg)                    # the trainer's own switches (training/runtime.py)


def timed_pieces(parts, s) -> dict:
    """One step's work in its pieces (mirrors training/loop.one_step without its bookkeeping)."""
    cfg, B, tick, out = parts.cfg, parts.cfg.batch_size, time.perf_counter, {}
    t0 = tick()
    if s.pos + B > len(parts.x_train):
        s.pos = 0
    x0, y = next_batch(parts.x_train, parts.y_train, s.perm[s.pos:s.pos + B], parts.gen, hflip=parts.hflip,
                       label_dropout=cfg.label_dropout)
    s.pos += B
    t1 = tick()
    t = parts.process.train_times(len(x0), generator=parts.gen, device=parts.device)
    eps = torch.randn((cfg.n_noise,) + tuple(x0.shape), generator=parts.gen, device=parts.device)
    t2 = tick()
    loss = parts.objective(parts.fwd, parts.process, x0, t=t, eps=eps, y=y).mean()
    t3 = tick()
    parts.opt.zero_grad(set_to_none=True)
    loss.backward()
    t4 = tick()
    gradient_norm(parts.net, cfg.grad_clip)
    t5 = tick()
    parts.opt.step()
    t6 = tick()
    parts.ema.update(parts.net)
    t7 = tick()
    for name, a, b in zip(PIECES, (t0, t1, t2, t3, t4, t5, t6), (t1, t2, t3, t4, t5, t6, t7)):
        out[name] = b - a
    return out


def profile(preset: str, v: dict, steps: int, warmup: int, tmp: Path) -> dict:
    parts = build(preset, v)
    s = start_state(parts)
    t0 = time.perf_counter()
    for _ in range(warmup):                      # includes torch.compile's compilation
        one_step(tmp, parts, s)
    first = time.perf_counter() - t0
    whole = []
    for _ in range(steps):
        if s.pos >= len(parts.x_train):
            s.pos = 0
        a = time.perf_counter()
        one_step(tmp, parts, s)
        whole.append(time.perf_counter() - a)
    pieces = [timed_pieces(parts, s) for _ in range(steps)]
    step = statistics.median(whole)
    r = {"preset": preset, "variant": label(v), "batch": parts.cfg.batch_size, "shape": tuple(parts.x_train.shape[1:]),
         "network": parts.cfg.network.get("preset", parts.cfg.network.get("name")),
         "params": sum(p.numel() for p in parts.net.parameters()), "warmup_s": first, "step_s": step,
         "items_per_s": parts.cfg.batch_size / step, "compiled": parts.speed["compile"],
         "pieces": {k: statistics.median(p[k] for p in pieces) for k in PIECES}}
    print(f"{preset:14s} {r['variant']:28s} {1000 * step:7.1f} ms/step  {r['items_per_s']:6.1f} items/s  "
          + "  ".join(f"{k} {1000 * x:.1f}" for k, x in r["pieces"].items()), flush=True)
    return r


def section(results: list[dict], steps: int, warmup: int, load0: float, load1: float) -> str:
    lines = ["## Images and spectrograms: where a training step's time goes (issue 17)", "",
             f"Machine: {machine()} (per row below).  ",
             f"Command: `python benchmarks/profile_images.py` ({time.strftime('%Y-%m-%d')}); 1-minute load average "
             f"{load0:.1f} at the start and {load1:.1f} at the end, on 2 cores.", "",
             f"Each row builds the preset's training parts as `difflab train` does, runs {warmup} warm-up steps "
             f"(torch.compile compiles in them), then times {steps} steps of the trainer's own `one_step` "
             f"(median: ms per step, items/s) and {steps} more in pieces (median ms of each piece; the pieces "
             "do the same work as a step without its bookkeeping, so they sum to about the step).", "",
             "| preset | network, input | variant | ms / step | items / s | warm-up s | "
             + " | ".join(f"{p} ms" for p in PIECES) + " |", "|---" * (6 + len(PIECES)) + "|"]
    for r in results:
        if "failed" in r:
            lines.append(f"| {r['preset']} | | {r['variant']} | failed: {r['failed']} |" + " |" * (2 + len(PIECES)))
            continue
        shape = "x".join(str(d) for d in r["shape"])
        lines.append(f"| {r['preset']} | {r['network']} ({r['params'] / 1e6:.2f}M), batch {r['batch']} of {shape} | "
                     f"{r['variant']} | {1000 * r['step_s']:.1f} | {r['items_per_s']:.1f} | {r['warmup_s']:.1f} | "
                     + " | ".join(f"{1000 * r['pieces'][p]:.1f}" for p in PIECES) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", nargs="+", default=PRESETS)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--no-write", action="store_true", help="print only")
    a = ap.parse_args()
    load0 = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="difflab-profile-"))
    results = []
    for p in a.presets:
        for v in variants():
            try:
                results.append(profile(p, v, a.steps, a.warmup, tmp))
            except Exception as e:                  # a variant that fails is a finding, not the end of the run
                print(f"{p} {label(v)}: failed: {type(e).__name__}: {str(e).splitlines()[0]}", flush=True)
                results.append({"preset": p, "variant": label(v), "failed": f"{type(e).__name__}: "
                                f"{str(e).splitlines()[0][:120]}"})
    body = section(results, a.steps, a.warmup, load0, os.getloadavg()[0])
    print(body)
    if not a.no_write:
        print(f"wrote {write_section('images-profile', body)}")


if __name__ == "__main__":
    main()
