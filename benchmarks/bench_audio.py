"""Issue 5's audio targets: the Free Spoken Digit Dataset trained within a wall-clock budget on
this machine, then measured.

src/difflab/configs/fsdd.yaml (DDPM, unet1d-small, class-conditional) trained for --minutes (a short probe
sets the number of steps so the learning-rate schedule ends on time; `max_minutes` is the hard
stop); training throughput in clips/s; samples with labels 0..9 in turn and classifier-free
guidance, judged in the features of difflab's own spoken-digit classifier (FD-clf beside its
train-vs-test floor, confident share, label histogram); pictures of waveforms, spectrograms and
the reverse process; a denoising table (SNR in dB of noisy and restored test clips at three noise
levels: the one-step posterior mean, the reverse process, and scipy.signal.wiener as the classical
baseline). Writes the `audio` section of BENCHMARKS.md and figures under benchmarks/figures/.

    python benchmarks/bench_audio.py            # full: 10 min of training + ~8 min of measuring (~19 min in all
                                                # on 2 cores; + ~1.5 min the first time, to train the classifier)
    python benchmarks/bench_audio.py --quick    # a few minutes: tiny budget and counts; prints only
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, fmt, machine, train_within, write_section  # noqa: E402

import difflab  # noqa: E402
from difflab import viz  # noqa: E402
from difflab.kinds.audio.datasets import find_fsdd  # noqa: E402
from difflab.denoise import add_noise, denoise  # noqa: E402
from difflab.kinds.audio.metrics import audio_reference_floors, evaluate_audio, get_audio_classifier  # noqa: E402
from difflab.kinds.audio.kind import AudioKind, snr_db  # noqa: E402

SIGMAS = [0.01, 0.03, 0.1]       # noise std in the data's units (clips peak at 0.9): ~23, ~14, ~4 dB SNR
GUIDANCE = 2.0                   # classifier-free guidance scale of the labelled samples
WIENER_SIZES = [3, 5, 9, 17]     # scipy.signal.wiener windows tried; the best per noise level is reported
FULL = dict(minutes=10.0, probe_steps=20, n_samples=150, sample_steps=50, n_denoise=60, reverse_steps=30,
            n_pairs=20)
QUICK = dict(minutes=0.3, probe_steps=3, n_samples=12, sample_steps=5, n_denoise=3, reverse_steps=5, n_pairs=5)



def wiener_best(clean, noisy, sigma: float):
    """scipy.signal.wiener on every clip with the noise power given (sigma^2), for each window in
    WIENER_SIZES; returns (the restored clips of the window with the best mean SNR, that window)."""
    from scipy.signal import wiener

    best = None
    for size in WIENER_SIZES:
        x = np.stack([wiener(c[0].astype(np.float64), mysize=size, noise=sigma ** 2) for c in noisy])[:, None]
        score = float(snr_db(clean, x).mean())
        if best is None or score > best[0]:
            best = (score, x.astype(np.float32), size)
    return best[1], best[2]


def denoise_table(run, ds, n: int, reverse_steps: int, seed: int):
    """[(sigma, method, SNR dB)] on n test clips spread over the split (every digit and speaker)."""
    clean = ds.test[np.unique(np.linspace(0, len(ds.test) - 1, n).astype(int))]
    rows = []
    for sigma in SIGMAS:
        noisy = add_noise(clean, sigma, seed)
        wiener_x, size = wiener_best(clean, noisy, sigma)
        results = {"noisy input": noisy,
                   "posterior mean (1 NFE)": denoise(run, noisy, sigma, mode="posterior-mean"),
                   f"reverse, ddpm ({reverse_steps} steps max)": denoise(run, noisy, sigma, mode="reverse",
                                                                        sampler="ddpm", steps=reverse_steps, seed=seed),
                   f"Wiener (scipy.signal.wiener, window {size}, best of {WIENER_SIZES})": wiener_x}
        for method, x in results.items():
            rows.append((sigma, method, float(snr_db(clean, np.clip(x, -1, 1)).mean())))
            print(f"  sigma {sigma}: {method:58s} SNR {rows[-1][2]:6.2f} dB", flush=True)
    return rows


def bench(p: dict, tmp: Path, figures: Path, seed: int = 0) -> dict:
    print(f"fsdd: training for {p['minutes']} min", flush=True)
    run, probe_per_step = train_within("fsdd", p["minutes"], p["probe_steps"], tmp / "fsdd", max_warmup=40)
    ds = run.dataset
    r = {"steps": run.info["steps_done"], "train_seconds": run.train_seconds,
         "clips_per_s": run.info["steps_done"] * run.config.batch_size / run.train_seconds,
         "probe_clips_per_s": run.config.batch_size / probe_per_step}
    print(f"  {r['steps']} steps in {r['train_seconds']:.0f} s: {r['clips_per_s']:.1f} clips/s", flush=True)
    clf = get_audio_classifier(ds)
    r["classifier"] = {"test_accuracy": clf.test_accuracy, "train_seconds": clf.meta.get("train_seconds")}
    n = p["n_samples"]
    labels = [i % ds.n_classes for i in range(n)]
    res = run.sample_with_info(n, seed=seed, steps=p["sample_steps"], labels=labels, guidance=GUIDANCE)
    r["sampler"] = f"{res.sampler}, {res.steps} steps, NFE {res.nfe} per clip, {1000 * res.seconds / n:.0f} ms per clip"
    floors = audio_reference_floors(ds, n, np.random.default_rng(seed + 7), classifier=clf, n_pairs=p["n_pairs"])
    r["eval"] = evaluate_audio(res.samples, ds, np.random.default_rng(seed), classifier=clf, floors=floors)
    fd = r["eval"]["metrics"]["fd"]
    print(f"  FD-clf {fmt(fd['value'])} (floor median {fmt(fd['floor_median'])}, p95 {fmt(fd['floor_p95'])}); "
          f"confident {r['eval']['labels']['confident_share']:.1%}", flush=True)
    # the classifier's label of each sample against the label it was asked for
    pred = clf.predict_proba(np.clip(res.samples, -1, 1)).argmax(1)
    r["label_agreement"] = float(np.mean(pred == np.asarray(labels)))
    r["figures"] = [*AudioKind().plot_samples(run, res.samples[:6], figures / "audio-fsdd"),
                    *AudioKind().plot_reverse(run, figures / "audio-fsdd-reverse", n=3, seed=seed,
                                     steps=p["sample_steps"], labels=[0, 1, 2], guidance=GUIDANCE)]
    history = json.loads((run.path / "history.json").read_text())
    if history["epoch"]:
        r["figures"].append(viz.plot_losses(history, figures / "audio-fsdd-losses.png", title="fsdd: loss per epoch"))
    r["denoise"] = denoise_table(run, ds, p["n_denoise"], p["reverse_steps"], seed)
    return r


def section(r: dict, p: dict, quick: bool) -> str:
    ev = r["eval"]
    fd, lab = ev["metrics"]["fd"], ev["labels"]
    lines = ["## Audio: spoken digits (FSDD) on a CPU (issue 5)", "",
             f"Machine: {machine()}.  ",
             f"Command: `python benchmarks/bench_audio.py{' --quick' if quick else ''}` ({time.strftime('%Y-%m-%d')}); "
             f"training budget {p['minutes']} min (src/difflab/configs/fsdd.yaml: DDPM, unet1d-small, class-conditional; "
             "clips of 4096 samples at 4 kHz).", "",
             "| steps | train s | clips/s | samples | sampler | FD-clf | floor median / p95 | confident | "
             "asked label recognised |", "|---|---|---|---|---|---|---|---|---|",
             f"| {r['steps']} | {r['train_seconds']:.0f} | {r['clips_per_s']:.1f} | {ev['n_samples']} | {r['sampler']} | "
             f"{fmt(fd['value'])} | {fmt(fd['floor_median'])} / {fmt(fd['floor_p95'])} | "
             f"{lab['confident_share']:.1%} (test clips {lab['test_confident_share']:.1%}) | {r['label_agreement']:.1%} |",
             "", f"Samples: labels 0..9 in turn, classifier-free guidance {GUIDANCE}. FD-clf is the Frechet distance in "
             "the features of difflab's own spoken-digit classifier (a 1D CNN on log spectrograms, test accuracy "
             f"{r['classifier']['test_accuracy']:.1%}), beside its floor: the same distance between as many train and "
             f"test clips, {len(fd['floor_values'])} draws. 'Asked label recognised' = share of samples the classifier "
             f"labels as the digit they were drawn for (chance 10%). Label histogram: "
             f"{' '.join(str(c) for c in lab['histogram'])}.", "",
             f"Denoising {p['n_denoise']} test clips (noise std sigma in the data's units, clips peak at 0.9; mean SNR "
             "in dB over clips):", "", "| sigma | method | SNR dB |", "|---|---|---|"]
    lines += [f"| {sigma} | {method} | {snr:.2f} |" for sigma, method, snr in r["denoise"]]
    figs = [Path(f) for f in r["figures"] if str(f).endswith(".png")]
    if figs and not quick:
        lines += ["", "Figures: " + ", ".join(f"[{f.name}](benchmarks/figures/{f.name})" for f in figs),
                  "", "![FSDD: real test clips beside generated ones](benchmarks/figures/audio-fsdd_spectrograms.png)"]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny budget and counts; print, do not write")
    ap.add_argument("--minutes", type=float, default=None, help="training budget (default 10)")
    ap.add_argument("--json", default=None, help="also dump raw numbers here")
    a = ap.parse_args()
    p = dict(QUICK if a.quick else FULL)
    if a.minutes is not None:
        p["minutes"] = a.minutes
    if find_fsdd(None)[0] is None:
        print("fsdd: files not found here (../shared/data/fsdd or ~/.cache/difflab/fsdd); nothing to do")
        return
    tmp = Path(tempfile.mkdtemp(prefix="difflab-bench-audio-"))
    figures = tmp / "figures" if a.quick else ROOT / "benchmarks" / "figures"
    start = time.perf_counter()
    r = bench(p, tmp, figures)
    body = section(r, p, a.quick)
    if a.json:
        Path(a.json).write_text(json.dumps({k: v for k, v in r.items() if k != "figures"}, indent=1, default=str))
    print(body)
    for f in r["figures"]:
        print(f"figure: {f}")
    print(f"benchmark wall time: {time.perf_counter() - start:.0f} s")
    if not a.quick:
        print(f"wrote {write_section('audio', body)}")


if __name__ == "__main__":
    main()
