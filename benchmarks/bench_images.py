"""Issue 4's image targets: MNIST (and Fashion-MNIST when its files exist) trained within a
wall-clock budget on this machine, then measured.

For every dataset: the preset src/difflab/configs/<name>.yaml trained for --minutes (a short probe sets the
number of steps so the learning-rate schedule ends on time; `max_minutes` is the hard stop),
training throughput in images/s, samples judged by difflab's own classifier (FD-clf beside its
test-vs-test floor, confident share, classes present, k-NN precision/recall) three ways: the null label,
labels drawn from the training labels without guidance (`difflab sample --labels prior`), and labels
0..9 with classifier-free guidance; issue 17's targets judged per way; sampling time per image for each
sampler (null label) at its best NFE
(the fewest evaluations within 10% of that sampler's best FD-clf), and a denoising table (PSNR
and SSIM of noisy and restored test images at sigma 0.1, 0.2, 0.5, beside scikit-image's
non-local means). Writes one section of BENCHMARKS.md per dataset (`images-mnist`, ...) and figures under
benchmarks/figures/.

    python benchmarks/bench_images.py                 # full: 20 min of training + ~20 min of measuring per dataset
    python benchmarks/bench_images.py --datasets fashion-mnist     # one dataset (its section only)
    python benchmarks/bench_images.py --quick         # ~2 minutes, MNIST only: tiny budget and counts; prints only
    python benchmarks/bench_images.py --datasets mnist --run RUN --json F   # measure a run trained before
    python benchmarks/bench_images.py --publish F     # write the section(s) again from that JSON
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, fmt, machine, train_within, write_section  # noqa: E402

import difflab  # noqa: E402
from difflab.kinds.image.datasets import find_idx_dataset  # noqa: E402
from difflab.conditioning import prior_labels  # noqa: E402
from difflab.denoise import add_noise, denoise, psnr  # noqa: E402
from difflab import viz  # noqa: E402

DATASETS = ["mnist", "fashion-mnist"]
SIGMAS = [0.1, 0.2, 0.5]
GUIDANCE = 2.0                   # classifier-free guidance scale of the labelled samples
# The three ways of drawing samples: plain (the null label, the unconditional model that label dropout
# trains on 10% of its batches), conditional (labels drawn from the training labels, no guidance: an
# unguided sample of p(x) as the mixture of the class models) and guided (labels 0..9, GUIDANCE).
KINDS = ("plain", "conditional", "guided")
UNGUIDED_FD = 2.0                # issue 17: unguided FD-clf at most 2x the floor's p95 ...
CONFIDENT_RATIO = 0.9            # ... and a confident share at least 0.9x that of real test images
SWEEP = {"ddpm": [50, 100], "ddim": [25, 50], "euler": [25], "heun": [13, 25], "dpm-solver": [10, 20],
         "pc": [25]}             # sampler -> solver steps tried (NFE: heun 2n-1, pc 2n)
FULL = dict(minutes=20.0, probe_steps=30, n_samples=500, sample_steps=None, n_sweep=200, n_denoise=200,
            reverse_steps=50, sweep=SWEEP, datasets=DATASETS)
QUICK = dict(minutes=0.3, probe_steps=5, n_samples=40, sample_steps=10, n_sweep=24, n_denoise=6, reverse_steps=10,
             sweep={"ddpm": [10], "dpm-solver": [5, 10]}, datasets=["mnist"])


def image_metrics():
    """`difflab.kinds.image.metrics.evaluate_images` and its floor helper, or (None, None) if absent."""
    try:
        from difflab.kinds.image.metrics import evaluate_images, image_reference_floors
    except ImportError:
        return None, None
    return evaluate_images, image_reference_floors

def classifier_accuracy(ds) -> float:
    """Test accuracy of the dataset's cached classifier (the judge of every image metric)."""
    from difflab.kinds.image.classifier import get_classifier

    return get_classifier(ds, progress=False).test_accuracy


def throughput(run) -> float:
    return run.info["steps_done"] * run.config.batch_size / run.train_seconds


def judge(samples, ds, floors_for, seed):
    evaluate_images, _ = image_metrics()
    if evaluate_images is None:
        return None
    return evaluate_images(samples, ds, np.random.default_rng(seed), floors=floors_for(len(samples)))


def sampler_sweep(run, ds, sweep: dict, n: int, floors_for, seed: int):
    """{sampler: {"rows": [(steps, nfe, s/image, fd)], "best": row}}; best = fewest NFE within 10% of
    the sampler's best FD-clf (the most steps when there is no classifier metric)."""
    out = {}
    for name, steps_list in sweep.items():
        rows = []
        for steps in steps_list:
            res = run.sample_with_info(n, sampler=name, steps=steps, seed=seed)
            ev = judge(res.samples, ds, floors_for, seed)
            fd = ev["metrics"]["fd_clf"]["value"] if ev else float("nan")
            rows.append((steps, res.nfe, res.seconds / n, fd))
            print(f"  {name:10s} steps {steps:4d} NFE {res.nfe:4d} {1000 * res.seconds / n:8.1f} ms/image FD-clf {fmt(fd)}",
                  flush=True)
        fds = [r[3] for r in rows]
        if all(np.isfinite(fds)):
            ok = [r for r in rows if r[3] <= 1.1 * min(fds)]
            best = min(ok, key=lambda r: r[1])
        else:
            best = rows[-1]
        out[name] = {"rows": rows, "best": best}
    return out


def ssim(clean, other) -> float:
    from skimage.metrics import structural_similarity

    vals = [structural_similarity(c.transpose(1, 2, 0), o.transpose(1, 2, 0), data_range=1.0, channel_axis=2)
            for c, o in zip(np.asarray(clean, np.float64), np.asarray(other, np.float64))]
    return float(np.mean(vals))


def nl_means(noisy, sigma: float) -> np.ndarray:
    """scikit-image's non-local means per image, h = 0.8 sigma (its documented rule of thumb)."""
    from skimage.restoration import denoise_nl_means

    def one(x):                                          # (C, H, W) -> (C, H, W)
        grey = x.shape[0] == 1
        img = x[0] if grey else x.transpose(1, 2, 0)
        out = denoise_nl_means(img.astype(np.float64), h=0.8 * sigma, sigma=sigma, patch_size=5, patch_distance=6,
                               fast_mode=True, channel_axis=None if grey else -1)
        return out[None] if grey else out.transpose(2, 0, 1)

    return np.stack([one(x) for x in noisy]).astype(np.float32)


def denoise_table(run, ds, n: int, reverse_steps: int, seed: int):
    """[(sigma, method, psnr, ssim)] on the first n test images."""
    clean = ds.test[:n]
    rows = []
    for sigma in SIGMAS:
        noisy = add_noise(clean, sigma, seed)
        results = {"noisy input": noisy,
                   "posterior mean (1 NFE)": denoise(run, noisy, sigma, mode="posterior-mean"),
                   f"reverse, ddpm ({reverse_steps} steps max)": denoise(run, noisy, sigma, mode="reverse",
                                                                        sampler="ddpm", steps=reverse_steps, seed=seed),
                   "non-local means (skimage)": nl_means(noisy, sigma)}
        for method, x in results.items():
            rows.append((sigma, method, float(psnr(clean, x).mean()), ssim(clean, x)))
            print(f"  sigma {sigma}: {method:34s} PSNR {rows[-1][2]:6.2f} dB  SSIM {rows[-1][3]:.3f}", flush=True)
    return rows


def quality_cells(ev) -> str:
    if ev is None:
        return "n/a (difflab.kinds.image.metrics not available) | | | | "
    fd, lab, pr = ev["metrics"]["fd_clf"], ev["labels"], ev["precision_recall"]
    return (f"{fmt(fd['value'])} / {fmt(fd['floor_p95'])} | {lab['confident_share']:.1%} | "
            f"{lab['n_classes_present']}/{len(lab['class_names'])} | {pr['precision']['value']:.3f} / "
            f"{pr['recall']['value']:.3f} | {' '.join(str(c) for c in lab['histogram'])}")


def bench_dataset(name: str, p: dict, tmp: Path, figures: Path, seed: int = 0, reuse: str | None = None) -> dict:
    load0 = os.getloadavg()[0]
    if reuse:                            # measure a run trained before (its steps and seconds are in its config.json)
        print(f"{name}: measuring {reuse}", flush=True)
        run, probe_per_step = difflab.load(reuse), float("nan")
        if run.config.data != name:
            raise SystemExit(f"--run {reuse} holds a {run.config.data} run, not {name}")
    else:
        print(f"{name}: training for {p['minutes']} min", flush=True)
        run, probe_per_step = train_within(name, p["minutes"], p["probe_steps"], tmp / name)
    ds = run.dataset
    r = {"name": name, "run": run, "steps": run.info["steps_done"], "train_seconds": run.train_seconds,
         "images_per_s": throughput(run), "probe_images_per_s": run.config.batch_size / probe_per_step,
         "reused": reuse, "load_start": load0}
    print(f"  {r['steps']} steps in {r['train_seconds']:.0f} s: {r['images_per_s']:.1f} images/s", flush=True)

    _, floor_fn = image_metrics()
    floors = {}

    def floors_for(n):
        if floor_fn is not None and n not in floors:
            floors[n] = floor_fn(ds, n, np.random.default_rng(seed + 7))
        return floors.get(n)

    n = p["n_samples"]
    labels = [i % ds.n_classes for i in range(n)]
    plain = run.sample_with_info(n, seed=seed, steps=p["sample_steps"])
    drawn = prior_labels(ds.labels_train, n, seed + 11)          # `difflab sample --labels prior`
    conditional = run.sample_with_info(n, seed=seed, steps=p["sample_steps"], labels=drawn, guidance=1.0)
    guided = run.sample_with_info(n, seed=seed, steps=p["sample_steps"], labels=labels, guidance=GUIDANCE)
    for kind, res in zip(KINDS, (plain, conditional, guided)):
        r[kind] = judge(res.samples, ds, floors_for, seed)
    r["classifier_accuracy"] = classifier_accuracy(ds)
    r["sampler"] = f"{plain.sampler}, {plain.steps} steps, NFE {plain.nfe} (guided: {guided.nfe})"
    r["figures"] = [*run.hooks.plot_samples(run, plain.samples, figures / f"images-{name}-plain"),
                    *run.hooks.plot_samples(run, conditional.samples, figures / f"images-{name}-conditional"),
                    *run.hooks.plot_samples(run, guided.samples, figures / f"images-{name}-guided"),
                    *run.hooks.plot_reverse(run, figures / f"images-{name}-reverse", n=8, seed=seed,
                                             steps=p["sample_steps"], labels=list(range(8)), guidance=GUIDANCE)]
    history = json.loads((run.path / "history.json").read_text())
    if history["epoch"]:
        r["figures"].append(viz.plot_losses(history, figures / f"images-{name}-losses.png",
                                            title=f"{name}: loss per epoch"))
    r["sweep"] = sampler_sweep(run, ds, p["sweep"], p["n_sweep"], floors_for, seed)
    r["denoise"] = denoise_table(run, ds, p["n_denoise"], p["reverse_steps"], seed)
    return r


def target_verdict(r: dict, minutes: float) -> str:
    """Issue 17's targets in words, per way of sampling: without guidance (plain, conditional) FD-clf at
    most UNGUIDED_FD x the floor's p95 and a confident share at least CONFIDENT_RATIO x that of real
    test images; guided, FD-clf within the floor (at most its p95); all within `minutes` of training."""
    in_time = r["train_seconds"] <= 60 * minutes + 5        # the trainer stops itself at the budget
    words = []
    for kind in KINDS:
        ev = r[kind]
        fd, lab = ev["metrics"]["fd_clf"], ev["labels"]
        ratio, conf = fd["value"] / fd["floor_p95"], lab["confident_share"] / lab["test_confident_share"]
        if kind == "guided":
            ok = ratio <= 1
            why = f"FD-clf {ratio:.2f}x the floor's p95 (target: at most 1)"
        else:
            ok = ratio <= UNGUIDED_FD and conf >= CONFIDENT_RATIO
            why = (f"FD-clf {ratio:.2f}x the floor's p95 (target: at most {UNGUIDED_FD:g}), confident share "
                   f"{conf:.2f}x the real images' (target: at least {CONFIDENT_RATIO:g})")
        words.append(f"{kind}: {'met' if ok and in_time else 'missed'} ({why})")
    return "; ".join(words) + ("" if in_time else f"; training took longer than {minutes:g} min")


def section(results: list[dict], p: dict, quick: bool) -> str:
    title = " and ".join(r["name"] for r in results) or "no dataset found"
    lines = [f"## Images: {title} on a CPU (issue 4)", "",
             f"Machine: {machine()}.  ",
             f"Command: `python benchmarks/bench_images.py{' --quick' if quick else ''} --datasets "
             f"{' '.join(r['name'] for r in results)}"
             f"{' --run RUN' if any(r['reused'] for r in results) else ''}` ({time.strftime('%Y-%m-%d')}); "
             f"training budget {p['minutes']} min per dataset (src/difflab/configs/<name>.yaml), {p['n_samples']} samples; "
             f"1-minute load average at the start of this command: "
             f"{', '.join(format(r['load_start'], '.1f') for r in results)} (2 cores).",
             *(["", "RUN: a run trained before by the same preset within the same budget; its steps and training "
                "seconds come from its config.json."] if any(r['reused'] for r in results) else []),
             "", "FD-clf is the Frechet distance in the features of difflab's own classifier (not Inception, so "
             "not FID), beside its floor (two disjoint draws of test images of the same count, 20 pairs, p95). Confident = share of "
             "samples the classifier labels with probability > 0.9. Plain = no label (the null label: the "
             "unconditional model, which label dropout trains on its share of the batches); conditional = labels "
             "drawn from the training labels, no guidance (w = 1: an unguided sample of p(x) as the mixture of the "
             f"class models); guided = labels 0..9 in turn, classifier-free guidance {GUIDANCE}.", "",
             "| dataset | steps | train s | images/s | samples | FD-clf / floor p95 | confident | classes | "
             "precision / recall | label histogram |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for kind in KINDS:
            lines.append(f"| {r['name']} | {r['steps']} | {r['train_seconds']:.0f} | {r['images_per_s']:.1f} | "
                         f"{kind} | {quality_cells(r[kind])} |")
    lines += [""] + [f"{r['name']}: samples drawn with {r['sampler']}.  " for r in results]
    lines += [f"{r['name']}: the classifier labels {r['guided']['labels']['test_confident_share']:.1%} of real test "
              f"images with confidence > 0.9 (the same measure on real data; classifier test accuracy "
              f"{r['classifier_accuracy']:.1%}).  " for r in results if r["guided"] is not None]
    lines += [f"{r['name']}: issue 17's targets after at most {p['minutes']:g} min of training: "
              f"{target_verdict(r, p['minutes'])}.  " for r in results if r["guided"] is not None]
    lines += ["", "Sampling time per image (batch of "
              f"{p['n_sweep']}) for each sampler at its best NFE (the fewest evaluations within 10% of its best FD-clf):",
              "", "| dataset | sampler | steps | NFE | ms / image | FD-clf | tried (steps: FD-clf) |", "|---|---|---|---|---|---|---|"]
    for r in results:
        for name, s in r["sweep"].items():
            steps, nfe, sec, fd = s["best"]
            tried = ", ".join(f"{st}: {fmt(f)}" for st, _, _, f in s["rows"])
            lines.append(f"| {r['name']} | {name} | {steps} | {nfe} | {1000 * sec:.1f} | {fmt(fd)} | {tried} |")
    lines += ["", f"Denoising {p['n_denoise']} test images (noise std sigma in [0, 1] pixel units; mean PSNR in dB "
              "and SSIM per image):", "", "| dataset | sigma | method | PSNR | SSIM |", "|---|---|---|---|---|"]
    for r in results:
        for sigma, method, ps, ss in r["denoise"]:
            lines.append(f"| {r['name']} | {sigma} | {method} | {ps:.2f} | {ss:.3f} |")
    figs = [f for r in results for f in r["figures"] if str(f).endswith(".png")]
    if figs and not quick:
        lines += ["", "Figures: " + ", ".join(f"[{f.name}](benchmarks/figures/{f.name})" for f in figs)]
    if image_metrics()[0] is None:
        lines += ["", "Quality metrics were not computed: `difflab.kinds.image.metrics` was not importable."]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny budget and counts; print, do not write")
    ap.add_argument("--minutes", type=float, default=None, help="training budget per dataset (default 20)")
    ap.add_argument("--datasets", nargs="+", default=None, help="default: mnist fashion-mnist (quick: mnist)")
    ap.add_argument("--json", default=None, help="also dump raw numbers here")
    ap.add_argument("--run", default=None, help="measure this trained run folder instead of training one "
                    "(one dataset: --datasets NAME)")
    ap.add_argument("--publish", default=None, metavar="JSON", help="write the section(s) again from a --json "
                    "file of an earlier measurement (its figures are those it wrote), measuring nothing")
    a = ap.parse_args()
    p = dict(QUICK if a.quick else FULL)
    if a.minutes is not None:
        p["minutes"] = a.minutes
    if a.publish:
        for r in json.loads(Path(a.publish).read_text()):
            r["figures"] = [Path(f) for f in r["figure_files"]]
            print(f"wrote {write_section('images-' + r['name'], section([r], p, False))}")
        return
    tmp = Path(tempfile.mkdtemp(prefix="difflab-bench-images-"))
    figures = tmp / "figures" if a.quick else ROOT / "benchmarks" / "figures"
    if a.run and len(a.datasets or []) != 1:
        ap.error("--run measures one run: name its dataset with --datasets NAME")
    results = []
    for name in a.datasets or p["datasets"]:
        if find_idx_dataset(name, None)[0] is None:
            print(f"{name}: files not found here; skipped", flush=True)
            continue
        results.append(bench_dataset(name, p, tmp, figures, reuse=a.run))
    if a.json:
        raw = [{**{k: v for k, v in r.items() if k not in ("run", "figures")},
                "figure_files": [str(f) for f in r["figures"]]} for r in results]
        Path(a.json).write_text(json.dumps(raw, indent=1, default=str))
    for r in results:                      # one section per dataset, so datasets can be re-run one at a time
        body = section([r], p, a.quick)
        print(body)
        for f in r["figures"]:
            print(f"figure: {f}")
        if not a.quick:
            print(f"wrote {write_section('images-' + r['name'], body)}")


if __name__ == "__main__":
    main()
