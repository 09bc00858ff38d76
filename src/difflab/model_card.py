"""A run folder that others can read: a README.md model card and, for VP (DDPM) runs, the
`scheduler_config.json` of diffusers' DDPMScheduler.

`write_model_card(run_dir)` reads the folder's config.json (and history.json and metrics.json
when present) and writes both files; it loads no weights and can be run again at any time, e.g.
after `difflab evaluate` has written metrics.json.

The diffusers mapping (checked in tests/test_model_card.py): diffusers' timestep k uses
alphas_cumprod[k], the product of the first k + 1 betas, which is difflab's alpha_bar at grid step
k + 1, so the network is called at difflab time t = (k + 1) / T (T = the process's n_steps). With
`timestep_spacing: trailing` diffusers' 50-step DDIM grid is difflab's `ddim` grid with 50 steps
(grid steps T, T - T/50, ..., T/50, then 0), and `set_alpha_to_one` (DDIM's default) makes its last
step land on the data, as difflab's does. Samples are in the run's normalised units. A process cut
short at its `top_step` (`max_ratio`: DDPM on small data) is written as its first top_step betas,
so diffusers' grids start where the network's training stopped, as difflab's do.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from .files import atomic_write_text, load_json
from .kind import kind_of
from .processes import make_process

DIFFUSERS_VERSION = "0.25.0"      # the oldest diffusers these settings were written for


def scheduler_config(process: dict) -> dict | None:
    """diffusers' DDPMScheduler settings for a VP process config (None for any other process).

    The linear schedule and the cosine one with s = 0.008 ("squaredcos_cap_v2", max beta 0.999)
    are diffusers' own; any other schedule is written out as `trained_betas`.
    """
    if process.get("name") != "vp":
        return None
    vp = make_process(process)                               # the betas, exactly as training built them
    schedule = {"linear": "linear", "cosine": "squaredcos_cap_v2"}[vp.schedule]
    whole = vp.top_step == vp.n_steps
    exact = whole and (vp.schedule == "linear" or math.isclose(vp.cosine_s, 0.008))
    return {
        "_class_name": "DDPMScheduler",
        "_diffusers_version": DIFFUSERS_VERSION,
        "num_train_timesteps": vp.top_step,              # T unless cut short; difflab time t = (timestep + 1) / T
        "beta_start": vp.beta_start,
        "beta_end": vp.beta_end,
        "beta_schedule": schedule,
        "trained_betas": None if exact else [float(b) for b in vp.betas[:vp.top_step]],
        "variance_type": "fixed_small",                  # ancestral sampling with DDPM's beta-tilde
        "prediction_type": "epsilon",                    # the network predicts the noise
        "clip_sample": False,                            # samples are in normalised units, not [-1, 1]
        "thresholding": False,
        "timestep_spacing": "trailing",                  # starts at the last step, as difflab's grids do
        "steps_offset": 0,
        "rescale_betas_zero_snr": False,
    }


def write_model_card(run_dir) -> list[Path]:
    """Write README.md (and scheduler_config.json for VP runs) into a run folder; returns the paths."""
    run_dir = Path(run_dir)
    info = load_json(run_dir / "config.json")
    written = []
    sched = scheduler_config(info["process"])
    if sched is not None:
        atomic_write_text(run_dir / "scheduler_config.json", json.dumps(sched, indent=1) + "\n")
        written.append(run_dir / "scheduler_config.json")
    atomic_write_text(run_dir / "README.md", model_card(run_dir, info, sched is not None))
    return [run_dir / "README.md", *written]


def model_card(run_dir: Path, info: dict, has_scheduler: bool) -> str:
    """The README.md text of a run folder."""
    cfg, ds = info["config"], info["dataset"]
    name = run_dir.name
    sections = [f"# {name}: {cfg['method'].upper()} on {ds.get('name', cfg['data'])}",
                "A run folder of difflab (diffusion models on any kind of data): the weights, the settings "
                "they were trained with, how well they do, and how to use them.",
                _data(cfg, ds, info.get("categories")), _method(cfg, info), _training(cfg, info, run_dir),
                _metrics(run_dir, info), _usage(name, cfg, ds, has_scheduler, info["process"].get("n_steps")),
                _files(has_scheduler)]
    return "\n\n".join(s for s in sections if s) + "\n"


def _data(cfg: dict, ds: dict, categories: dict | None = None) -> str:
    lines = ["## Data", "",
             f"- dataset: `{ds.get('name', cfg['data'])}` ({ds.get('kind', 'vector')} data): {ds.get('description', '')}",
             f"- shape of one item: {tuple(ds['shape'])}; {ds.get('n_train')} training / {ds.get('n_test')} test items"
             f" (split seed {cfg['data_seed']})"]
    if cfg.get("data_options"):
        lines.append(f"- options: `{json.dumps(cfg['data_options'])}`")
    if ds.get("n_classes") and cfg.get("class_conditional"):
        lines.append(f"- class-conditional on {ds['n_classes']} classes (labels dropped {cfg['label_dropout']:.0%} "
                     "of the time, for classifier-free guidance)")
    if categories:
        lines.append(f"- categorical: the network sees classes 0..{len(categories['values']) - 1} standing for the values "
                     f"{categories['values']} (`config.json: categories`); samples come back in those values")
    else:
        lines.append("- the network sees normalised data (`config.json: normaliser`); samples come back in the data's units")
    return "\n".join(lines)


def _method(cfg: dict, info: dict) -> str:
    process = info["process"]
    what = {"vp": "variance-preserving (DDPM): x_t = sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) eps",
            "ve": "variance-exploding (NCSN-style DSM): x_t = x0 + sigma eps",
            "masked": "masked (absorbing-state, MDLM): each cell is masked with probability 1 - alpha(t)"}.get(process.get("name"), process.get("name"))
    settings = ", ".join(f"{k}={v}" for k, v in process.items() if k != "name")
    return "\n".join(["## Method", "",
                      f"- method `{cfg['method']}`: {what}, time t in [0, 1] (0 = data)",
                      f"- process: {settings}",
                      f"- objective `{cfg['objective']}` with {cfg['n_noise']} noise draw(s) per item",
                      f"- network: `{json.dumps(cfg['network'])}`",
                      f"- default sampler: `{cfg['sampler']}`, "
                      + (f"{cfg['sample_steps']} steps" if cfg["sample_steps"] else
                         "one step per cell" if process.get("name") == "masked" else "every level of the process")
                      + (f", options `{json.dumps(cfg['sampler_options'])}`" if cfg.get("sampler_options") else "")])


def _training(cfg: dict, info: dict, run_dir: Path) -> str:
    lines = ["## Training", "",
             f"- {info.get('steps_done', cfg['steps'])} of {cfg['steps']} steps at batch {cfg['batch_size']}, "
             f"Adam lr {cfg['lr']:g} (warm-up {cfg['lr_warmup']}, cosine decay), EMA {cfg['ema_decay']}, seed {cfg['seed']}",
             f"- {info.get('train_seconds', float('nan')):.0f} s on {info.get('runtime', {}).get('device', '?')}"
             f" with difflab {info.get('version', '?')}"]
    kept = info.get("kept") or {}
    if kept.get("keep") == "best":
        lines.append(f"- sampling weights: the EMA weights of step {kept['step']}, the lowest test loss "
                     f"({kept['test_loss_ema']:.4f}; `keep: best`)")
    if (run_dir / "history.json").is_file():
        h = load_json(run_dir / "history.json")
        if h.get("train_loss"):
            last = f"train {h['train_loss'][-1]:.4f}"
            if h.get("test_loss"):
                last += f", test {h['test_loss'][-1]:.4f}"
            if h.get("test_loss_ema"):
                last += f", test with the EMA weights {h['test_loss_ema'][-1]:.4f}"
            lines.append(f"- last epoch's loss: {last}")
    return "\n".join(lines)


def _metrics(run_dir: Path, info: dict) -> str:
    path = run_dir / "metrics.json"
    if not path.is_file():
        return ("## Metrics\n\nNot measured yet: `difflab sample RUN --out s.npy` then `difflab evaluate RUN "
                "--samples s.npy` writes metrics.json; run `write_model_card(RUN)` again to show them here.")
    text = kind_of(info["dataset"].get("kind", "vector")).format_result(load_json(path))
    return ("## Metrics\n\nFrom metrics.json, each figure beside its noise floor (the same figure between two "
            "samples of the truth; a figure inside the floor is as good as the data allow):\n\n"
            + "\n".join("    " + line for line in text.splitlines()))


def _usage(name: str, cfg: dict, ds: dict, has_scheduler: bool, n_steps: int | None) -> str:
    conditional = " labels=3," if cfg.get("class_conditional") else ""
    text = ["## Use", "", "```python", "import difflab", "",
            f'run = difflab.load("{name}")                 # safetensors + JSON: nothing is unpickled',
            f"x = run.sample(1000,{conditional} seed=1)                # (1000, {', '.join(map(str, ds['shape']))}), the data's units",
            ('x = run.sample(1000, order="confidence")     # unmask the surest cells first' if cfg.get("sampler") == "masked" else
             'x = run.sample(1000, sampler="ddim", steps=50)  # any sampler: ddpm, ddim, euler, heun, dpm-solver, ...'),
            "print(run.hooks.format_result(run.evaluate(x)))  # metrics beside their noise floors", "```", "",
            "```sh",
            f"difflab sample {name} --n 1000 --out samples.npy --plot",
            f"difflab evaluate {name} --samples samples.npy             # writes metrics.json", "```"]
    if has_scheduler:
        text += ["", "With diffusers (`scheduler_config.json`; diffusers' timestep k is difflab's time "
                 f"t = (k + 1) / {n_steps}, the process's n_steps):", "",
                 "```python", "import torch, difflab", "from diffusers import DDIMScheduler", "",
                 f'run = difflab.load("{name}")',
                 f'scheduler = DDIMScheduler.from_pretrained("{name}")',
                 "scheduler.set_timesteps(50)",
                 "eps_fn = run.denoiser()           # the network (x0 clipped to the data's range for images)",
                 f"x = torch.randn(16, {', '.join(map(str, ds['shape']))})",
                 f"T = {n_steps}                        # the process's n_steps",
                 "for k in scheduler.timesteps:",
                 "    eps = eps_fn(x, torch.full((len(x),), (int(k) + 1) / T))",
                 "    x = scheduler.step(eps, k, x).prev_sample",
                 "samples = run.normaliser.unnormalise(x.numpy())   # difflab's ddim sampler, 50 steps",
                 "```"]
    return "\n".join(text)


def _files(has_scheduler: bool) -> str:
    rows = ["## Files", "",
            "- `model.safetensors`: the EMA weights used for sampling",
            "- `config.json`: every setting, the process, the dataset and its normalisation",
            "- `history.json`: losses per epoch; `checkpoint.*`: the state to resume training",
            "- `metrics.json` (after `difflab evaluate`): figures beside their noise floors"]
    if has_scheduler:
        rows.append("- `scheduler_config.json`: the noise schedule for diffusers' DDPMScheduler / DDIMScheduler")
    return "\n".join(rows)
