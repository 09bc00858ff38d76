"""`difflab run`: the first seed document's study, DDPM and DSM on pinwheel and a Gaussian mixture.

Four runs (2000 train / 500 test points each), 2000 samples per run measured against fresh
truth beside the noise floor (two-sample metrics, the tail figures, the verdict of
`difflab.eval.judge`), the model's NLL and KL estimate on the test split where the truth's
density is exact, every picture, and a report in Markdown and HTML.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

from .config import load_yaml, make_config
from .errors import DifflabError
from .eval import judge, reference_floors
from .outputs import check_replaceable_study_dir
from .pictures import plot_training
from .run import load
from .samplers.likelihood import run_likelihood
from .training import train
from .viz import write_report

STUDY = [("pinwheel", "ddpm"), ("pinwheel", "dsm"), ("gmm", "ddpm"), ("gmm", "dsm")]
SEED_SAMPLER = {"dsm": "langevin"}   # the seed document's sampler, shown beside a method's default when it differs
LIKELIHOOD_KEYS = ("nll_nats", "nll_se", "nll_true_nats", "nll_true_se", "kl_nats", "kl_se", "n", "steps",
                   "divergence", "seconds")   # what the report keeps of `run_likelihood`


def likelihood_on_test(run, seed: int) -> dict | None:
    """The model's NLL on the run's test split beside the truth's, and the KL estimate, each with
    its standard error (as `difflab likelihood RUN` reports it); None unless the truth's density
    is exact, where it says most about the whole density."""
    ds = run.dataset
    if not (ds.has_truth and ds.has_log_prob):
        return None
    r = run_likelihood(run, ds.test, seed=seed)
    return {**{k: r[k] for k in LIKELIHOOD_KEYS}, "data": "test split"}


def run_study(out, *, steps=None, seed: int = 0, sets=None, overwrite=False, n_samples=2000,
              progress=True, config=None, runs=STUDY) -> Path:
    """Train, sample, evaluate and picture every (dataset, method) in `runs`; returns the HTML report path.

    Runs of one dataset share one noise floor. A DSM run is also sampled with the seed's annealed
    Langevin dynamics (its own row and pictures) when its default sampler is another one.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise DifflabError(f"output folder {out} already exists; choose another --out or pass --overwrite")
        check_replaceable_study_dir(out)              # only a study folder: never a user's other files
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    base = load_yaml(config) if config else {}
    summaries, floors, twice = [], {}, set()   # twice: methods also sampled by the seed's sampler
    for data, method in runs:
        name = f"{data}-{method}"
        cfg = make_config(base, sets, data=data, method=method, steps=steps, seed=seed)
        run_dir = train(cfg, out / name, progress=progress)
        plot_training(run_dir)
        run = load(run_dir)
        likelihood = likelihood_on_test(run, seed)    # the network's density: one per run, whatever the sampler
        if data not in floors:
            floors[data] = reference_floors(run.dataset, n_samples, np.random.default_rng(seed + 3))
        samplers = [run.config.sampler]
        if SEED_SAMPLER.get(method, run.config.sampler) != run.config.sampler:
            samplers.append(SEED_SAMPLER[method])
            twice.add(method)
        for sampler in samplers:
            default = sampler == run.config.sampler
            tag = "" if default else f"_{sampler}"
            res, snapshots = run.sample_with_snapshots(n_samples, sampler=sampler, seed=seed + 1)
            np.save(run_dir / f"samples{tag}.npy", res.samples)
            start = time.perf_counter()
            evaluation = run.evaluate(res.samples, seed=seed + 2, floors=floors[data])
            evaluate_seconds = time.perf_counter() - start
            (run_dir / f"metrics{tag}.json").write_text(json.dumps(evaluation, indent=1))
            label = f"{data} / {method}" + ("" if default else f" ({sampler})")
            run.hooks.plot_samples(run, res.samples, run_dir / f"samples{tag}", label=label)
            run.hooks.plot_reverse(run, run_dir / f"reverse{tag}", snapshots=snapshots, sampler=sampler)
            images = {"samples beside the test set": f"samples{tag}_vs_test.png",
                      "reverse process": f"reverse{tag}.png", "reverse process (animated)": f"reverse{tag}.gif"}
            if default:
                images = {"data (train, test)": "dataset.png", "loss per epoch": "losses.png", **images}
            dens = f"samples{tag}_density.png"
            images["density of samples vs truth"] = dens if (run_dir / dens).exists() else f"samples{tag}_pairwise.png"
            summaries.append({"name": name + ("" if default else f" ({sampler})"), "dataset": data, "method": method,
                              "sampler": f"{sampler}, {res.steps} steps", "train_seconds": run.train_seconds,
                              "sample_seconds": res.seconds, "nfe": res.nfe, "evaluate_seconds": evaluate_seconds,
                              "evaluation": evaluation, "verdict": judge(evaluation), "likelihood": likelihood,
                              "images": {k: f"{name}/{v}" for k, v in images.items()}})
    notes = ("Each run trains on 2000 points and is tested on 500. Samples are compared with fresh draws of the "
             "true distribution; the noise floor is the same metric between two independent true samples (10 "
             "pairs for the two-sample metrics, 100 truth draws for the tail figures). The NLL and KL estimate "
             "are those of the run's network on its 500 test points, so both sampler rows of a run share them.")
    for m in sorted(twice):
        notes += (f" {m.upper()} runs are sampled twice from the same network: by their default sampler and by the "
                  f"seed document's {SEED_SAMPLER[m]} sampler (the rows marked {SEED_SAMPLER[m]}).")
    write_report(out, "difflab 2D study: DDPM and DSM on pinwheel and a Gaussian mixture", summaries, notes=notes)
    (out / "summary.json").write_text(json.dumps(summaries, indent=1))
    return out / "report.html"
