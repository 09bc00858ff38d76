"""Issue 5's audio targets: the Free Spoken Digit Dataset trained within a wall-clock budget on
this machine, then measured.

src/difflab/configs/fsdd-waveform.yaml (DDPM, unet1d-small, class-conditional) trained for --minutes (a short probe
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
    python benchmarks/bench_audio.py --representation spectrogram --minutes 20   # issue 17

`--representation spectrogram` trains configs/fsdd.yaml instead (the clips as 64 x 64
log-magnitude STFT images, the image UNet, Griffin-Lim back to clips), adds unconditional samples
(FD-clf without labels) and a denoising row for the bound of a magnitude-only method (the clean
magnitude with the noisy phase), reports the process's CPU time and the load, and writes its own
subsection of the audio section, keeping the waveform part as it is (and the waveform mode keeps
the spectrogram subsection).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch  # noqa: E402
from common import ROOT, fmt, machine, train_within, write_section  # noqa: E402

import difflab  # noqa: E402
from difflab import viz  # noqa: E402
from difflab.kinds.audio.datasets import find_fsdd  # noqa: E402
from difflab.denoise import add_noise, denoise  # noqa: E402
from difflab.kinds.audio.metrics import audio_reference_floors, evaluate_audio, get_audio_classifier  # noqa: E402
from difflab.kinds.audio.kind import AudioKind, run_spectrogram, snr_db  # noqa: E402
from difflab.kinds.audio.spectrogram import split_clips, with_phase  # noqa: E402

SIGMAS = [0.01, 0.03, 0.1]       # noise std in the data's units (clips peak at 0.9): ~23, ~14, ~4 dB SNR
GUIDANCE = 2.0                   # classifier-free guidance scale of the labelled samples
WIENER_SIZES = [3, 5, 9, 17]     # scipy.signal.wiener windows tried; the best per noise level is reported
FULL = dict(minutes=10.0, probe_steps=20, n_samples=150, sample_steps=50, n_denoise=60, reverse_steps=30,
            n_pairs=20)
PRESETS = {"waveform": "fsdd-waveform", "spectrogram": "fsdd"}   # the preset each representation trains
FIGURES = {"waveform": "audio-fsdd", "spectrogram": "audio-fsdd-spectrogram"}
SPECTROGRAM_HEADING = "### Spectrograms (issue 17)"   # the spectrogram subsection of the audio section
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
    """[(sigma, method, SNR dB)] on n test clips spread over the split (every digit and speaker).
    A spectrogram run restores through `AudioKind.restore` (the magnitude denoised, the noisy
    phase kept) and gets one more row: the clean magnitude with the noisy phase, the best any
    magnitude-only method can do."""
    hooks, spec = AudioKind(), run_spectrogram(run)
    test = ds.waveforms().test
    clean = test[np.unique(np.linspace(0, len(test) - 1, n).astype(int))]
    rows = []
    for sigma in SIGMAS:
        noisy = add_noise(clean, sigma, seed)
        wiener_x, size = wiener_best(clean, noisy, sigma)
        results = {"noisy input": noisy,
                   "posterior mean (1 NFE)": hooks.restore(run, noisy, sigma, denoise, mode="posterior-mean"),
                   f"reverse, ddpm ({reverse_steps} steps max)": hooks.restore(
                       run, noisy, sigma, denoise, mode="reverse", sampler="ddpm", steps=reverse_steps, seed=seed),
                   f"Wiener (scipy.signal.wiener, window {size}, best of {WIENER_SIZES})": wiener_x}
        if spec is not None:
            results["bound: clean magnitude, noisy phase"] = with_phase(split_clips(clean, spec)[0],
                                                                        split_clips(noisy, spec)[1], spec)
        for method, x in results.items():
            rows.append((sigma, method, float(snr_db(clean, np.clip(x, -1, 1)).mean())))
            print(f"  sigma {sigma}: {method:58s} SNR {rows[-1][2]:6.2f} dB", flush=True)
    return rows


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all its threads)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def bench(p: dict, tmp: Path, figures: Path, representation: str = "waveform", threads: int = 1,
          seed: int = 0, reuse: str | None = None) -> dict:
    preset, prefix = PRESETS[representation], FIGURES[representation]
    print(f"fsdd ({representation}, preset {preset}): " + (f"measuring {reuse}" if reuse else
                                                           f"training for {p['minutes']} min"), flush=True)
    load0, cpu0 = os.getloadavg()[0], cpu_seconds()
    if reuse:                          # measure a run trained before (its training time is in its config.json)
        run, probe_per_step = difflab.load(reuse), float("nan")
    else:
        run, probe_per_step = train_within("fsdd", p["minutes"], p["probe_steps"], tmp / "fsdd", max_warmup=40,
                                           config=preset, threads=threads)
    ds = run.dataset
    wav = ds.waveforms()
    net = run.config.network
    r = {"representation": representation, "preset": preset, "threads": threads,
         "network": net.get("preset") or ", ".join(f"{k} {v}" for k, v in net.items() if k != "name"),
         "steps": run.info["steps_done"], "train_seconds": run.train_seconds,
         "clips_per_s": run.info["steps_done"] * run.config.batch_size / run.train_seconds,
         "probe_clips_per_s": run.config.batch_size / probe_per_step,
         "train_cpu_seconds": None if reuse else cpu_seconds() - cpu0, "reused": reuse, "load_start": load0, "load_after_training": os.getloadavg()[0]}
    print(f"  {r['steps']} steps in {r['train_seconds']:.0f} s: {r['clips_per_s']:.1f} clips/s "
          f"(CPU {r['train_cpu_seconds'] or float('nan'):.0f} s with the probe; load {load0:.1f} -> "
          f"{r['load_after_training']:.1f})", flush=True)
    clf = get_audio_classifier(wav)
    r["classifier"] = {"test_accuracy": clf.test_accuracy, "train_seconds": clf.meta.get("train_seconds")}
    n = p["n_samples"]
    labels = [i % wav.n_classes for i in range(n)]
    res = run.sample_with_info(n, seed=seed, steps=p["sample_steps"], labels=labels, guidance=GUIDANCE)
    r["sampler"] = f"{res.sampler}, {res.steps} steps, NFE {res.nfe} per clip, {1000 * res.seconds / n:.0f} ms per clip"
    floors = audio_reference_floors(wav, n, np.random.default_rng(seed + 7), classifier=clf, n_pairs=p["n_pairs"])
    r["eval"] = evaluate_audio(res.samples, wav, np.random.default_rng(seed), classifier=clf, floors=floors)
    fd = r["eval"]["metrics"]["fd"]
    print(f"  FD-clf {fmt(fd['value'])} (floor median {fmt(fd['floor_median'])}, p95 {fmt(fd['floor_p95'])}); "
          f"confident {r['eval']['labels']['confident_share']:.1%}", flush=True)
    # the classifier's label of each sample against the label it was asked for
    pred = clf.predict_proba(np.clip(res.samples, -1, 1)).argmax(1)
    r["label_agreement"] = float(np.mean(pred == np.asarray(labels)))
    r["per_digit_agreement"] = [float(np.mean(pred[np.asarray(labels) == k] == k)) for k in range(wav.n_classes)]
    print(f"  asked label recognised {r['label_agreement']:.1%}", flush=True)
    if representation == "spectrogram":       # issue 17 also asks for the unconditional FD-clf
        unc = run.sample_with_info(n, seed=seed + 1, steps=p["sample_steps"])
        r["uncond_sampler"] = f"{unc.sampler}, {unc.steps} steps, NFE {unc.nfe} per clip"
        r["uncond_eval"] = evaluate_audio(unc.samples, wav, np.random.default_rng(seed + 1), classifier=clf,
                                          floors=floors)
        print(f"  unconditional FD-clf {fmt(r['uncond_eval']['metrics']['fd']['value'])}", flush=True)
    r["figures"] = [*AudioKind().plot_samples(run, res.samples[:6], figures / prefix),
                    *AudioKind().plot_reverse(run, figures / f"{prefix}-reverse", n=3, seed=seed,
                                     steps=p["sample_steps"], labels=[0, 1, 2], guidance=GUIDANCE)]
    history = json.loads((run.path / "history.json").read_text())
    if history["epoch"]:
        r["figures"].append(viz.plot_losses(history, figures / f"{prefix}-losses.png",
                                            title=f"fsdd ({representation}): loss per epoch"))
    r["denoise"] = denoise_table(run, ds, p["n_denoise"], p["reverse_steps"], seed)
    r["load_end"] = os.getloadavg()[0]
    return r


def section(r: dict, p: dict, quick: bool) -> str:
    ev = r["eval"]
    fd, lab = ev["metrics"]["fd"], ev["labels"]
    lines = ["## Audio: spoken digits (FSDD) on a CPU (issue 5)", "",
             f"Machine: {machine()}.  ",
             f"Command: `python benchmarks/bench_audio.py{' --quick' if quick else ''}` ({time.strftime('%Y-%m-%d')}); "
             f"training budget {p['minutes']} min (src/difflab/configs/fsdd-waveform.yaml: DDPM, unet1d-small, class-conditional; "
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


def spectrogram_section(r: dict, p: dict, quick: bool, command: str) -> str:
    """The spectrogram subsection of the audio section (issue 17)."""
    ev, unc = r["eval"], r["uncond_eval"]
    fd, lab, ufd = ev["metrics"]["fd"], ev["labels"], unc["metrics"]["fd"]
    ratio, uratio = fd["value"] / fd["floor_p95"], ufd["value"] / ufd["floor_p95"]
    lines = [SPECTROGRAM_HEADING, "",
             f"Machine: {machine()}; load (1-minute average, {os.cpu_count()} cores): {r['load_start']:.1f} at the "
             f"start, {r['load_after_training']:.1f} after training, {r['load_end']:.1f} at the end.  ",
             f"Command: `{command}` ({time.strftime('%Y-%m-%d')}); " + (f"training budget {p['minutes']} min of wall "
             "time" if not r["reused"] else "a run trained before") + f", {r['threads']} torch thread(s) (src/difflab/configs/{r['preset']}.yaml: DDPM, the image UNet {r['network']} "
             "on 64 x 64 log-magnitude spectrograms, class-conditional; Griffin-Lim, 64 iterations, back to 4096 "
             f"samples at 4 kHz). " + (f"CPU time of training (probe included): {r['train_cpu_seconds']:.0f} s." if not r["reused"]
             else "Training: the run folder RUN trained before (--run), its steps and seconds from its "
                  "config.json; the load above is that of this measuring command."), "",
             "| samples | steps | train s | clips/s | n | sampler | FD-clf | floor median / p95 | FD-clf / p95 | "
             "confident | asked label recognised |", "|---|---|---|---|---|---|---|---|---|---|---|",
             f"| guided (labels 0..9, w = {GUIDANCE}) | {r['steps']} | {r['train_seconds']:.0f} | {r['clips_per_s']:.1f} "
             f"| {ev['n_samples']} | {r['sampler']} | {fmt(fd['value'])} | {fmt(fd['floor_median'])} / "
             f"{fmt(fd['floor_p95'])} | {ratio:.1f}x | {lab['confident_share']:.1%} (test clips "
             f"{lab['test_confident_share']:.1%}) | {r['label_agreement']:.1%} |",
             f"| unconditional | same run | | | {unc['n_samples']} | {r['uncond_sampler']} | {fmt(ufd['value'])} | "
             f"{fmt(ufd['floor_median'])} / {fmt(ufd['floor_p95'])} | {uratio:.1f}x | "
             f"{unc['labels']['confident_share']:.1%} | - |", "",
             f"Rule (issue 17): guided samples recognised as the asked digit >= 80% of the time: "
             f"**{'met' if r['label_agreement'] >= 0.8 else 'missed'}** ({r['label_agreement']:.1%}); FD-clf <= 3x the "
             f"floor's p95: **{'met' if ratio <= 3 else 'missed'}** guided ({ratio:.1f}x), "
             f"**{'met' if uratio <= 3 else 'missed'}** unconditional ({uratio:.1f}x). Floor: FD-clf between "
             f"{ev['n_samples']} train and {ev['n_samples']} test clips, {len(fd['floor_values'])} draws. Recognised "
             "per asked digit 0..9: " + " ".join(f"{v:.0%}" for v in r["per_digit_agreement"]) +
             f". Label histogram of the guided samples: {' '.join(str(c) for c in lab['histogram'])}; of the "
             f"unconditional ones: {' '.join(str(c) for c in unc['labels']['histogram'])}.", "",
             f"Denoising {p['n_denoise']} test clips (as above: white noise of std sigma on the clips, mean SNR in dB). "
             "The model denoises the log magnitude only (at the image noise level that sigma causes on 64 training "
             "clips) and the noisy phase is kept, so the last row, the clean magnitude with the noisy phase, bounds "
             "what it can reach:", "", "| sigma | method | SNR dB |", "|---|---|---|"]
    lines += [f"| {sigma} | {method} | {snr:.2f} |" for sigma, method, snr in r["denoise"]]
    figs = [Path(f) for f in r["figures"] if str(f).endswith(".png")]
    if figs and not quick:
        lines += ["", "Figures: " + ", ".join(f"[{f.name}](benchmarks/figures/{f.name})" for f in figs), "",
                  f"![FSDD spectrogram run: real test clips beside generated ones (after Griffin-Lim)]"
                  f"(benchmarks/figures/{FIGURES['spectrogram']}_spectrograms.png)"]
    return "\n".join(lines)


def merged_section(waveform_part: str | None, spectrogram_part: str | None) -> str:
    """The audio section: the waveform part and the spectrogram subsection, each new or kept from
    BENCHMARKS.md as it stands."""
    text = (ROOT / "BENCHMARKS.md").read_text() if (ROOT / "BENCHMARKS.md").exists() else ""
    m = re.search(r"<!-- audio:start -->\n(.*?)<!-- audio:end -->", text, re.S)
    old = m.group(1) if m else ""
    old_wave, _, old_spec = old.partition(SPECTROGRAM_HEADING)
    wave_part = waveform_part if waveform_part is not None else old_wave.rstrip()
    spec_part = spectrogram_part if spectrogram_part is not None else (
        SPECTROGRAM_HEADING + old_spec.rstrip() if old_spec else "")
    return wave_part.rstrip() + ("\n\n" + spec_part if spec_part else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny budget and counts; print, do not write")
    ap.add_argument("--minutes", type=float, default=None, help="training budget (default 10)")
    ap.add_argument("--representation", choices=sorted(PRESETS), default="waveform",
                    help="what the model learns: raw clips or log-magnitude spectrograms (issue 17)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    ap.add_argument("--run", default=None, help="measure this trained run folder instead of training one")
    ap.add_argument("--json", default=None, help="also dump raw numbers here")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    p = dict(QUICK if a.quick else FULL)
    if a.minutes is not None:
        p["minutes"] = a.minutes
    if find_fsdd(None)[0] is None:
        print("fsdd: files not found here (../shared/data/fsdd or ~/.cache/difflab/fsdd); nothing to do")
        return
    tmp = Path(tempfile.mkdtemp(prefix="difflab-bench-audio-"))
    figures = tmp / "figures" if a.quick else ROOT / "benchmarks" / "figures"
    start = time.perf_counter()
    r = bench(p, tmp, figures, a.representation, a.threads, reuse=a.run)
    if a.json:
        Path(a.json).write_text(json.dumps({k: v for k, v in r.items() if k != "figures"}, indent=1, default=str))
    # paths on this machine mean nothing to a reader: the command names them by role
    args, names = list(sys.argv[1:]), {"--run": "RUN", "--json": "F"}
    args = [names[args[i - 1]] if i and args[i - 1] in names else x for i, x in enumerate(args)]
    command = "python " + " ".join(["benchmarks/bench_audio.py", *args])
    if a.representation == "spectrogram":
        body = spectrogram_section(r, p, a.quick, command)
        whole = merged_section(None, body)
    else:
        body = section(r, p, a.quick)
        whole = merged_section(body, None)
    print(body)
    for f in r["figures"]:
        print(f"figure: {f}")
    print(f"benchmark wall time: {time.perf_counter() - start:.0f} s")
    if not a.quick:
        print(f"wrote {write_section('audio', whole)}")


if __name__ == "__main__":
    main()
