"""The `difflab` command line. Every user-fixable problem ends in one line on stderr, no traceback.

Each flag means one thing in every command: `--set KEY=VALUE` overrides a config field (train,
run, data), `--option KEY=VALUE` passes an option to the sampler (sample), `--steps` counts
training steps in train and run, sampler steps in sample and denoise, ODE steps in likelihood.
"""
from __future__ import annotations

import argparse
import os
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from .version import __version__
from .arrays import load_points_file
from .config import METHODS, SEED_LIMIT, Config, load_yaml, make_config, parse_value, preset_names
from .data import get_dataset, list_datasets
from .data.registry import prefix_names
from .denoise import MODES, add_noise, complete, denoise, flip_cells, hidden_stand_in, hide_cells, restore_flips
from .errors import DifflabError, unknown_name
from .files import atomic_write_text, save_npy, save_npz
from .kind import kind_of
from .outputs import check_new_file, check_new_files, check_room, check_writable_folder, staged_folder
from .model_card import write_model_card
from .pictures import plot_training
from .conditioning import prior_labels
from .pipeline import build_dataset, dataset_labels
from .run import load
from .samplers import SAMPLERS
from .samplers.likelihood import load_points, run_likelihood
from .nll_bound import run_nll_bound
from .streaming import sample_to_npy
from .study import run_study
from .training import train
from .training.distributed import ranks_from_env
from .training.resume import check_data

EPILOG = "Run `difflab COMMAND --help` for the options of a command."
METHOD_NAMES = ", ".join(METHODS)
SAMPLER_NAMES = ", ".join(SAMPLERS)


def _add_train_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--steps", type=int, help="number of training steps")
    p.add_argument("--seed", type=int, help="seed that fixes every random choice")
    p.add_argument("--config", help="YAML file of settings, or a preset shipped with difflab by name: "
                   f"{', '.join(preset_names())} (default: the preset named like the dataset, if any)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set process.beta_end=0.01 (repeatable; the fields are "
                        "documented in difflab/config.py)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


DEVICE_HELP = "auto (CUDA when present), cpu, cuda, cuda:N or mps"


def _add_runtime_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help=DEVICE_HELP + " (default auto)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="difflab", description="Train, sample and measure diffusion models.",
                                     epilog=EPILOG)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="the 2D study: DDPM and DSM on pinwheel and a Gaussian mixture, with a report")
    p.add_argument("--out", default="difflab-study", help="output folder (default: difflab-study)")
    _add_train_options(p)
    p.add_argument("--n-samples", type=int, default=2000, help="samples drawn per run (default 2000)")

    p = sub.add_parser("train", help="train a model on a dataset")
    p.add_argument("data", help="built-in dataset name (see `difflab datasets`) or a .npy/.csv/.npz file")
    p.add_argument("--method", default=None,
                   help=f"one of {METHOD_NAMES} (default ddpm)")
    p.add_argument("--out", required=True, help="run folder to write")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--data-dir", default=None, help="folder holding an image dataset's files (data_options.data_dir)")
    p.add_argument("--device", default=None, help=DEVICE_HELP + " (the config field device)")
    p.add_argument("--log", default=None, metavar="LOGGER", help="tensorboard: also write RUN/tensorboard while "
                   "training (losses, learning rate, gradient norm, pictures of samples; the config field log)")
    _add_train_options(p)

    p = sub.add_parser("sample", help="draw samples from a trained run")
    p.add_argument("run", help="run folder")
    p.add_argument("--n", type=int, default=2000, help="number of samples (default 2000)")
    p.add_argument("--sampler", default=None,
                   help=f"one of {SAMPLER_NAMES} (default: the run's)")
    p.add_argument("--steps", type=int, default=None, help="sampler steps (default: the run's own for its own "
                   "sampler, e.g. 20 for DSM's dpm-solver; otherwise every level, 50 for euler, heun, dpm-solver)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--out", default=None, help="output .npy file (default RUN/samples.npy), (N, d) in the data's units; for images "
                   "(N, C, H, W) in [0, 1] with a PNG grid beside it")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="sampler option, e.g. --option eta=0.5 (ddim) or --option variance=large (ddpm)")
    p.add_argument("--labels", default=None, help="class-conditional runs: one class (3), a list cycled over "
                   "the samples (0,1,2), 'all' (every class in turn), or 'prior' (drawn from the training labels: "
                   "with guidance 1, unguided samples of the data)")
    p.add_argument("--guidance", type=float, default=None,
                   help="classifier-free guidance scale with --labels (1 = plain conditional, default)")
    p.add_argument("--plot", action="store_true", help="also write PNG pictures beside the .npy "
                   "(samples beside the test set, the reverse process)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--batch-size", type=int, default=None, help="draw this many samples at a time into a "
                   "memory-mapped .npy (bounded memory for large --n)")
    _add_runtime_options(p)

    p = sub.add_parser("denoise", help="restore noisy data (images, audio, embeddings, boards) with a trained run")
    p.add_argument("run", help="run folder")
    p.add_argument("--input", required=True, help="images: .npy (N, C, H, W) in [0, 1] or a PNG; other kinds: their own files (see docs)")
    p.add_argument("--sigma", type=float, default=None, help="noise standard deviation in the data's own units ([0, 1] pixels "
                   "for images); needed by every run but a masked one")
    p.add_argument("--hide", type=float, default=None, help="masked runs (--method masked): the share of cells hidden "
                   "at random, then completed from the model's posterior given the other cells")
    p.add_argument("--flip", type=float, default=None, help="masked runs: flip round(P * cells) cells of each item (at "
                   "least 1) to another value at random; the model finds and redraws them, not told where")
    p.add_argument("--out", required=True, help="restored data .npy (images: a PNG strip is written beside it)")
    p.add_argument("--mode", default="posterior-mean",
                   help="posterior-mean (one step, default) or reverse (the sampler from the matching noise level)")
    p.add_argument("--noisy", action="store_true", help="the input already carries noise of std --sigma")
    p.add_argument("--seed", type=int, default=0, help="seed of the added noise and of the reverse sampler")
    p.add_argument("--sampler", default=None,
                   help=f"sampler for --mode reverse, one of {SAMPLER_NAMES} (default: the run's)")
    p.add_argument("--steps", type=int, default=None, help="sampler steps for --mode reverse")
    p.add_argument("--n", type=int, default=None, help="restore the first N items only")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    _add_runtime_options(p)

    p = sub.add_parser("evaluate", help="measure samples against the truth, beside the noise floor")
    p.add_argument("run", help="run folder")
    p.add_argument("--samples", required=True, help=".npy file of samples in the data's units")
    p.add_argument("--out", default=None, help="metrics JSON (default: RUN/metrics.json)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-pairs", type=int, default=10, help="independent truth pairs for the noise floor (>= 10)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing metrics file")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")

    p = sub.add_parser("likelihood", help="model NLL of data points by the probability-flow ODE, beside the truth "
                                        "(masked runs: the ELBO's NLL bound, nats per sample and bits per cell)")
    p.add_argument("run", help="run folder")
    p.add_argument("--data", default="test", help="test (default), train, or a .npy/.npz file of points in the data's units")
    p.add_argument("--n", type=int, default=None, help="score the first N points (default: all)")
    p.add_argument("--divergence", choices=["exact", "hutchinson"], default=None,
                   help="exact (d backward passes) or hutchinson (random probes); default: exact up to 32 dimensions")
    p.add_argument("--probes", type=int, default=1, help="Hutchinson probes per point (default 1)")
    p.add_argument("--steps", type=int, default=64, help="RK4 steps in log noise ratio (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the Hutchinson probes or the random maskings (default 0)")
    p.add_argument("--repeats", type=int, default=1,
                   help="masked runs: random maskings per point in the NLL bound (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    _add_runtime_options(p)

    p = sub.add_parser("datasets", help="list the built-in datasets")
    p.add_argument("--plot", default=None, metavar="DIR", help="also draw each dataset's train/test split into DIR")
    p.add_argument("--overwrite", action="store_true", help="replace existing pictures in DIR")

    p = sub.add_parser("data", help="write a built-in dataset's train/test split to an .npz file")
    p.add_argument("name")
    p.add_argument("--out", required=True)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field of the data: data_options.KEY (a dataset option; a bare KEY that "
                        "is not a config field is read as one), n_train, n_test")
    p.add_argument("--seed", type=int, default=0, help="split seed")
    p.add_argument("--overwrite", action="store_true")
    return parser


def _options(items, flag: str) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise DifflabError(f"{flag} expects key=value, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = parse_value(v.strip())
    return out


def _check_seed(seed) -> None:
    if seed is not None and not 0 <= seed < SEED_LIMIT:
        raise DifflabError(f"--seed must be an integer in [0, 2**63), got {seed}")


def _plot_names(out: Path) -> list[Path]:
    """Pictures that `sample --plot` may have written beside `out` before: <stem>_*.png / .gif."""
    return sorted(p for ext in ("png", "gif") for p in out.parent.glob(f"{out.stem}_*.{ext}") if p.is_file())


def cmd_train(a) -> None:
    def settings(quiet=False):
        return make_config(load_yaml(a.config) if a.config else {}, a.set, quiet=quiet, data=a.data,
                           method=a.method, steps=a.steps, seed=a.seed,
                           **{"data_options.data_dir": a.data_dir, "log": a.log, "device": a.device})

    if a.resume:
        # `train DATA --out RUN --resume` continues with the saved settings; the original command
        # with --resume added repeats them, and they must match (all but --steps)
        repeated = a.method or a.config or a.set or a.seed is not None or a.data_dir or a.log or a.device
        if not repeated:
            check_data(a.out, a.data)
        path = train(settings(quiet=True) if repeated else None, a.out, resume=True, progress=not a.no_progress,
                     steps=a.steps)
    else:
        path = train(settings(), a.out, overwrite=a.overwrite, progress=not a.no_progress)
    if ranks_from_env().writes:                    # under torchrun, rank 0 alone writes and prints
        plot_training(path)
        print(f"trained: {path}")


def cmd_sample(a) -> None:
    out = Path(a.out) if a.out else Path(a.run) / "samples.npy"
    if out.suffix != ".npy":
        raise DifflabError(f"--out must be a .npy file, got {out}")
    if a.n < 1:
        raise DifflabError(f"--n must be a positive integer, got {a.n}")
    if a.batch_size is not None and a.batch_size < 1:
        raise DifflabError(f"--batch-size must be a positive integer, got {a.batch_size}")
    run = load(a.run, device=a.device)
    hooks = run.hooks
    check_new_file(out, a.overwrite)
    check_new_files(hooks.extra_outputs(out), a.overwrite)
    if a.plot and not a.overwrite and _plot_names(out):
        raise DifflabError(f"{_plot_names(out)[0]} already exists (--plot writes {out.stem}_*.png beside --out); "
                           f"choose another --out or pass --overwrite")
    batch = min(a.n, a.batch_size or a.n)
    run.check_sample_memory(batch)
    check_room(out, a.n * int(np.prod(hooks.sample_shape(run))) * 4, "samples file")
    labels = _labels(a.labels, a.n, run.n_classes, lambda: prior_labels(dataset_labels(run.dataset)[0], a.n, a.seed))
    options = _options(a.option, "--option")
    out.parent.mkdir(parents=True, exist_ok=True)
    if batch < a.n:                                   # bounded memory: batches into a memory-mapped .npy
        res = sample_to_npy(run, a.n, out, batch_size=batch, seed=a.seed, progress=not a.no_progress,
                            sampler=a.sampler, steps=a.steps, labels=labels, guidance=a.guidance, **options)
        res.samples = np.load(out, mmap_mode="r")
    else:
        res = run.sample_with_info(a.n, sampler=a.sampler, steps=a.steps, seed=a.seed, labels=labels,
                                   guidance=a.guidance, **options)
        save_npy(out, res.samples)
    print(f"wrote {out}: {res.samples.shape[0]} samples of shape {tuple(res.samples.shape[1:])}; "
          f"sampler {res.sampler}, {res.steps} steps, NFE {res.nfe} per sample, {res.seconds:.2f} s")
    for path in hooks.write_outputs(run, res.samples, out, labels):
        print(f"wrote {path}")
    if a.plot:
        with staged_folder(out.parent, a.overwrite) as stage:          # pictures appear whole or not at all
            prefix = stage.folder / out.stem
            paths = hooks.plot_samples(run, res.samples, prefix)
            few = labels if labels is None or isinstance(labels, int) else labels[:8]
            n_rev = 8 if few is None or isinstance(few, int) else len(few)
            paths += hooks.plot_reverse(run, Path(f"{prefix}_reverse"), n_rev, seed=a.seed, sampler=a.sampler,
                                        steps=a.steps, labels=few, guidance=a.guidance, **options)
        for p in stage.moved:
            print(f"wrote {p}")


def _labels(text: str | None, n: int, n_classes: int | None, prior=None):
    """--labels: None, one int, or a list of n ints (a given list or 'all' cycled over the n samples,
    or 'prior': `prior()`, n labels drawn from the training labels)."""
    if text is None:
        return None
    if text.strip() in ("all", "prior"):
        if not n_classes:
            raise DifflabError("--labels needs a class-conditional run; this run is unconditional")
        if text.strip() == "prior":
            return prior()
        seq = list(range(n_classes))
    else:
        try:
            seq = [int(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise DifflabError(f"--labels expects integers separated by commas, 'all' or 'prior', got {text!r}") from None
        if not seq:
            raise DifflabError("--labels is empty")
    return seq[0] if len(seq) == 1 else [seq[i % len(seq)] for i in range(n)]


def cmd_denoise(a) -> None:
    out = Path(a.out)
    if out.suffix != ".npy":
        raise DifflabError(f"--out must be a .npy file, got {out}")
    if a.mode not in MODES:
        raise unknown_name("--mode", a.mode, MODES)
    if a.sigma is not None and not a.sigma > 0:
        raise DifflabError(f"--sigma must be positive, got {a.sigma}")
    if a.n is not None and a.n < 1:
        raise DifflabError(f"--n must be a positive integer, got {a.n}")
    run = load(a.run, device=a.device)
    if run.categories is not None:
        return _complete_hidden(a, run, out)
    if a.flip is not None or a.hide is not None:
        raise DifflabError(f"--{'flip' if a.flip is not None else 'hide'} damages the cells of a masked run "
                           f"(--method masked); {a.run} is a Gaussian run: give --sigma")
    if a.sigma is None:
        raise DifflabError("denoise needs --sigma, the standard deviation of the noise in the data's units")
    hooks = run.hooks
    x = np.asarray(hooks.read_input(a.input, run, noisy=a.noisy), dtype=np.float32)[:a.n]
    check_new_file(out, a.overwrite)
    check_new_files(hooks.extra_outputs(out), a.overwrite)
    clean, noisy = (None, x) if a.noisy else (x, add_noise(x, a.sigma, a.seed))
    restored = hooks.restore(run, noisy, a.sigma, denoise, mode=a.mode, sampler=a.sampler, steps=a.steps, seed=a.seed)
    restored = hooks.finish(run, restored)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_npy(out, restored)
    print(f"wrote {out}: {len(restored)} items restored from noise of std {a.sigma:g} ({a.mode})")
    _report_denoised(run, out, clean, noisy, restored, f"denoising at sigma {a.sigma:g} ({a.mode})")


def _complete_hidden(a, run, out: Path) -> None:
    """denoise for a masked run: hide --hide of the cells at random, complete them (denoise.complete)."""
    if a.hide is not None and a.flip is not None:
        raise DifflabError("give either --hide P or --flip P, not both")
    if a.hide is None and a.flip is None:
        raise DifflabError("a masked run restores hidden or flipped cells: give --hide P or --flip P, the share "
                           "of cells damaged at random")
    if a.noisy:
        raise DifflabError("a masked run hides the cells itself: give clean data with --hide, without --noisy")
    hooks = run.hooks
    x = np.asarray(hooks.read_input(a.input, run), dtype=np.float32)[:a.n]
    check_new_file(out, a.overwrite)
    check_new_files(hooks.extra_outputs(out), a.overwrite)
    if a.flip is not None:
        damaged, _, k = flip_cells(run, x, a.flip, a.seed)
        restored = hooks.finish(run, restore_flips(run, damaged, k, seed=a.seed))
        said, what = f"{k} cells of each flipped, found and changed back", f"{k} cells of each flipped, restored"
    else:
        hidden = hide_cells(x.shape, a.hide, a.seed)
        damaged = np.where(hidden, hidden_stand_in(run), x).astype(np.float32)     # boards: hidden cells shown empty
        restored = hooks.finish(run, complete(run, x, hidden, sampler=a.sampler, steps=a.steps, seed=a.seed))
        said, what = f"{hidden.mean():.1%} of their cells hidden and completed", f"{a.hide:.0%} of cells hidden, completed"
    out.parent.mkdir(parents=True, exist_ok=True)
    save_npy(out, restored)
    print(f"wrote {out}: {len(restored)} items, {said}")
    _report_denoised(run, out, x, damaged, restored, what)


def _report_denoised(run, out: Path, clean, noisy, restored, what: str) -> None:
    hooks = run.hooks
    if clean is not None:
        report = hooks.denoise_report(clean, noisy, restored)
        if report:
            print(report)
    rows = ([] if clean is None else [("clean", clean)]) + [("noisy", noisy), ("restored", restored)]
    title = f"{run.dataset_name}: {what}"
    for path in hooks.write_denoised(run, rows, out, title):
        print(f"wrote {path}")


def cmd_evaluate(a) -> None:
    if a.n_pairs < 10:
        raise DifflabError(f"--n-pairs must be at least 10, got {a.n_pairs}")
    run = load(a.run)
    samples = load_points_file(a.samples, "samples")
    run.check_samples(samples)
    out = Path(a.out) if a.out else run.path / "metrics.json"
    if out.resolve() == Path(a.samples).resolve():
        raise DifflabError(f"--out {out} is the --samples file; choose another --out")
    check_new_file(out, a.overwrite)
    result = run.evaluate(samples, seed=a.seed, n_pairs=a.n_pairs)
    out.parent.mkdir(parents=True, exist_ok=True)
    replaced = out.exists()
    atomic_write_text(out, json.dumps(result, indent=1))
    print(run.hooks.format_result(result))
    print(f"{'replaced' if replaced else 'wrote'} {out}")
    if out == run.path / "metrics.json":
        write_model_card(run.path)
        print(f"updated {run.path / 'README.md'} (the run's model card, now with these metrics)")


def cmd_likelihood(a) -> None:
    run = load(a.run, device=a.device)
    x, what = load_points(run, a.data, a.n)
    if run.categories is not None:                 # categorical data (masked diffusion): the ELBO's bound
        _print_nll_bound(a, run, x, what)
        return
    r = run_likelihood(run, x, steps=a.steps, divergence=a.divergence, n_probes=a.probes, seed=a.seed)
    r["data"] = what
    if a.json:
        print(json.dumps(r))
        return
    how = r["divergence"] + (f", {r['probes']} probe(s)" if r["probes"] else "")
    print(f"{r['n']} points of the {what} under {run.path} ({how}, {r['steps']} RK4 steps from t = {r['t_min']:.4g})")
    hutch = f", Hutchinson +- {r['hutchinson_se']:.3f}" if r["hutchinson_se"] is not None else ""
    print(f"model NLL: {r['nll_nats']:.4f} +- {r['nll_se']:.4f} nats per point ({r['bits_per_dim']:.4f} bits/dim){hutch}")
    if r["nll_true_nats"] is not None:
        print(f"true NLL:  {r['nll_true_nats']:.4f} +- {r['nll_true_se']:.4f} nats per point; model - true = "
              f"{r['kl_nats']:.4f} +- {r['kl_se']:.4f} (estimates KL(truth || model) on test points)")
    print(f"time: {r['seconds']:.2f} s ({r['nfe_per_point']} network evaluations per point)")


def _print_nll_bound(a, run, x, what) -> None:
    r = run_nll_bound(run, x, repeats=a.repeats, seed=a.seed)
    r["data"] = what
    if a.json:
        print(json.dumps(r))
        return
    print(f"{r['n']} points of the {what} under {run.path} (masked diffusion: the ELBO summed over the number "
          f"of masked cells, {r['repeats']} random masking(s) per point)")
    print(f"NLL bound: {r['nll_nats']:.4f} +- {r['nll_se']:.4f} nats per sample "
          f"({r['bits_per_cell']:.4f} +- {r['bits_per_cell_se']:.4f} bits per cell)")
    print(f"time: {r['seconds']:.2f} s ({r['nfe_per_point']} network evaluations per point)")


def cmd_datasets(a) -> None:
    rows = list_datasets()
    print(f"{'name':14s} {'shape':12s} {'train/test':12s} {'truth':6s} {'exact logp':10s}  description")
    for r in rows:
        print(f"{r['name']:14s} {str(tuple(r['shape'])):12s} {str(r['n_train']) + '/' + str(r['n_test']):12s} "
              f"{'yes' if r['truth_sampler'] else 'no':6s} {'yes' if r['exact_log_density'] else 'no':10s}  "
              f"{r['description'] or r['summary']}")
    for prefix, summary in prefix_names().items():
        print(f"{prefix + '<path>':14s} {'':12s} {'':12s} {'no':6s} {'no':10s}  {summary}")
    print("\nYour own data: a .npy or .csv file of shape (N, d), or an .npz with 'train' and 'test' arrays.")
    if a.plot:
        out = Path(a.plot)
        if out.exists() and not out.is_dir():
            raise DifflabError(f"--plot {out} is a file; name a folder for the pictures")
        check_writable_folder(out, "pictures")
        if not a.overwrite:
            for r in rows:
                if (out / f"{r['name']}.png").exists():
                    raise DifflabError(f"{out / (r['name'] + '.png')} already exists; choose another --plot folder "
                                       f"or pass --overwrite to replace its pictures")
        out.mkdir(parents=True, exist_ok=True)
        for r in rows:
            try:
                ds = get_dataset(r["name"], n_train=min(2000, r["n_train"] or 2000), n_test=min(500, r["n_test"] or 500))
            except DifflabError as e:
                print(f"skipped {r['name']}: {e}")
                continue
            with staged_folder(out, a.overwrite) as stage:
                kind_of(ds.kind).plot_split(ds, stage.folder / f"{r['name']}.png")
            for p in stage.moved:
                print(f"wrote {p}")


def cmd_data(a) -> None:
    out = Path(a.out)
    if out.suffix != ".npz":
        raise DifflabError(f"--out must be an .npz file, got {out}")
    check_new_file(out, a.overwrite)
    fields = {f.name for f in dataclasses.fields(Config)}
    sets = []
    for item in a.set:
        key = item.split("=", 1)[0].strip()
        if "." not in key and key not in fields:      # a dataset option given by its bare name
            print(f"difflab: --set {key}=... read as --set data_options.{item.strip()}", file=sys.stderr)
            item = f"data_options.{item.strip()}"
        sets.append(item)
    cfg = make_config({}, sets, data=a.name, data_seed=a.seed)
    ds = build_dataset(cfg)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_npz(out, train=ds.train, test=ds.test)
    print(f"wrote {out}: train {ds.train.shape}, test {ds.test.shape}")


def cmd_run(a) -> None:
    report = run_study(a.out, steps=a.steps, seed=a.seed if a.seed is not None else 0, sets=a.set,
                       overwrite=a.overwrite, n_samples=a.n_samples, progress=not a.no_progress,
                       config=a.config)
    print(f"report: {report}")


COMMANDS = {"run": cmd_run, "train": cmd_train, "sample": cmd_sample, "denoise": cmd_denoise, "evaluate": cmd_evaluate,
            "likelihood": cmd_likelihood,
            "datasets": cmd_datasets, "data": cmd_data}


def main(argv=None) -> int:
    parser = build_parser()
    a = parser.parse_args(argv)
    if a.version:
        print(__version__)
        return 0
    if a.command is None:
        parser.print_help(sys.stderr)
        return 2
    if getattr(a, "no_progress", False):
        os.environ["TQDM_DISABLE"] = "1"              # every progress bar of this command (tqdm reads it)
    try:
        _check_seed(getattr(a, "seed", None))
        COMMANDS[a.command](a)
    except DifflabError as e:
        print(f"difflab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("difflab: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
