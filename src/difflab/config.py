"""The run configuration: one dataclass, a comment per field, method presets underneath.

Precedence (lowest first): the dataclass defaults, the method's preset (`METHODS`), a YAML
`--config` (a file, or the name of a preset shipped in difflab/configs/; without one, the preset
named like the dataset when there is one), command-line flags, then `--set key=value` overrides
(dotted keys reach into the dict fields, e.g. `--set process.beta_end=0.01 --set network.width=256`).
"""
from __future__ import annotations

import copy
import dataclasses
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml

from .errors import DifflabError, unknown_name
from .objectives import get_objective
from .processes import is_categorical
from .samplers import get_sampler, get_spec
from .samplers.times import check_grid

# What "ddpm" and "dsm" mean: a process, an objective and a default sampler.
METHODS = {
    "ddpm": {
        # max_ratio "auto": training, sampling and the likelihood stop at the noise ratio where the
        # data's size makes x_t pure noise (s = 10 for 2D data: step 700 of 1000; images keep all
        # 1000), not at the linear schedule's s(1) = 157. Above it went 28% of the log-SNR draws;
        # the cut takes KL(truth || model) on fresh 2D data to 25-59% of what it was (BENCHMARKS.md,
        # "Exact likelihood").
        "process": {"name": "vp", "schedule": "linear", "n_steps": 1000, "beta_start": 1e-4, "beta_end": 0.02,
                    "time_sampling": "log-snr", "max_ratio": "auto"},
        "objective": "eps",
        "n_noise": 1,
        "sampler": "ddpm",
        "sample_steps": 1000,
        # 1000 ancestral steps evenly spaced in log-SNR, not on the 1000 linear-beta levels: those
        # take the last factor of 7 in sigma (where 2D data's fine structure is drawn) in 18 steps
        # and pile the samples into the modes even with the exact score (samplers/times.py, GRIDS).
        "sample_grid": "log",
        "sampler_options": {"variance": "small"},
        # Training steps when no preset or flag sets them: about 60 s of one core for the 2D MLP, the
        # budget of issue 14. Four times the earlier 3000 halves the tail misses and the KL estimate
        # (BENCHMARKS.md, "What limits the tails"); presets of other data set their own.
        "steps": 12000,
    },
    "dsm": {
        "process": {"name": "ve", "sigma_min": 0.01, "sigma_max": "auto", "n_levels": 100},
        "objective": "dsm",
        "n_noise": 2,
        # Ancestral sampling down the noise levels (NCSN's reverse diffusion): its noise corrects the
        # score's errors between the modes, where a probability-flow ODE (`--sampler dpm-solver`, 21
        # NFE, the earlier default) carries them into 3-6x more outliers on the same network; see
        # BENCHMARKS.md, "What limits the tails".
        "sampler": "ddpm",
        # 1000 steps geometric in sigma, ten between each pair of the 100 training levels: on 100 the
        # ancestral steps pile the samples into the modes (gmm's mean true log-density -0.23 with the
        # exact score against the truth's -0.31; -0.28 on 1000). The network, conditioned on log sigma,
        # is smooth between its levels (BENCHMARKS.md, "Where the ancestral sampler steps").
        "sample_steps": 1000,
        "sampler_options": {},
        "steps": 8000,           # about 60 s of one core for the 2D MLP (two noise draws per sample)
    },
    # Masked (absorbing-state) diffusion for categorical data (boards, a file of small integers):
    # MDLM's ELBO in its count form, unmasking one cell per step, a residual MLP on one-hot cells
    # (cellmlp: 3x to 25x the steps per second of a small cell transformer on 9 to 42 cells, and more
    # legal boards at the same wall time: BENCHMARKS.md, "Games: masked diffusion", ablation).
    # `defaults` are the training settings it changes.
    "masked": {
        "process": {"name": "masked", "schedule": "linear"},   # alpha(t) = 1 - t; n_classes from the data
        "objective": "masked-elbo",
        "n_noise": 1,
        "sampler": "masked",
        "sample_steps": None,              # one step per cell: one cell revealed per step
        "sampler_options": {"order": "random", "corrector_rounds": 0},
        "defaults": {
            "network": {"name": "cellmlp", "width": 256, "depth": 4,
                        "time": "none",    # the exact p(x0 | x_t) of absorbing diffusion does not depend on t
                        "input_scaling": False},
            "steps": 20000,
            "threads": 1,                  # a small MLP: one CPU thread (as training_threads gives the mlp)
            "lr_warmup": 200,
            "batch_size": 256,
            "ema_decay": 0.999,
        },
    },
}


@dataclass
class Config:
    data: str = "pinwheel"                 # a built-in dataset name or a .npy/.csv/.npz file
    data_options: dict = field(default_factory=dict)  # dataset-specific settings, e.g. {"preset": "grid25"}
    n_train: int | None = None             # training points (None: the dataset's default, 2000 for toys)
    n_test: int | None = None              # held-out points (None: the dataset's default, 500 for toys)
    data_seed: int = 0                     # fixes the train/test split of built-in datasets
    method: str = "ddpm"                   # "ddpm" (VP process, eps loss), "dsm" (VE process, DSM loss) or
                                           # "masked" (categorical data: masked diffusion, MDLM's ELBO)
    process: dict = field(default_factory=dict)    # noise process settings (defaults from the method)
    objective: str = ""                    # "eps", "dsm" or "masked-elbo" (default from the method)
    n_noise: int = 0                       # K noise draws per sample in the loss (0: the method's default)
    network: dict = field(default_factory=lambda: {"name": "mlp", "width": 128, "depth": 4, "emb_dim": 64})  # the eps network
    steps: int = 3000                      # optimiser steps (unset: the method's, METHODS[...]["steps"] where
                                           # it has one: ddpm 12000, dsm 8000, about 60 s of one core each for
                                           # the 2D MLP; presets of images, audio, text and boards set their own)
    batch_size: int = 256                  # samples per step
    lr: float = 2e-3                       # Adam learning rate (after warm-up, cosine-decayed to lr_min_ratio*lr)
    lr_warmup: int = 100                   # steps of linear learning-rate warm-up
    lr_min_ratio: float = 0.05             # final learning rate as a fraction of lr
    weight_decay: float = 0.0              # Adam(W) weight decay
    ema_decay: float = 0.995               # exponential moving average of the weights used for sampling
    keep: str = "last"                     # the EMA weights a run samples with: "last" (the final ones) or "best"
                                           # (those of the epoch with the lowest test loss: the held-out split
                                           # chooses where a finite training set stops helping; training.best)
    grad_clip: float = 1.0                 # max global gradient norm (0 disables)
    seed: int = 0                          # fixes every random choice of training
    device: str = "auto"                   # "auto" (CUDA when present), "cpu", "cuda", ...
    threads: int = 0                       # torch CPU threads (0: 1 for the MLP, whose steps are too small to
                                           # share, torch's default for the convolutional networks)
    checkpoint_every: int = 1000           # steps between checkpoints (also saved at the end and on Ctrl-C)
    sampler: str = ""                      # default sampler of the run (default from the method)
    sample_steps: int | None = None        # default number of sampler steps (None: every level)
    sample_grid: str | None = None         # the default sampler's time grid: "process" (its levels), "log"
                                           # or "karras" noise ratios (None: the sampler's own; see GRIDS)
    sampler_options: dict = field(default_factory=dict)  # e.g. {"variance": "large"} or {"eta": 0.5}
    class_conditional: bool = False        # feed class labels to the network (labelled data; n_classes from the data)
    label_dropout: float = 0.1             # chance a training label is dropped, for classifier-free guidance
    amp: bool = False                      # bf16 autocast of the network, used only where the device has bf16 (CUDA)
    compile: bool = False                  # torch.compile the training network, used only where it works (see runtime.py)
    channels_last: bool = False            # image batches and convolution weights in NHWC memory order while training
                                           # (runtime.py; image data only: a faster step on some CPUs)
    max_minutes: float | None = None       # stop cleanly and save after this many minutes of one training call
    train_minutes: float | None = None     # plan the steps to fit this many minutes of training: the first steps
                                           # of the warm-up are timed and `steps` (then an upper bound) is cut to
                                           # what fits, saved in config.json (training/budget.py)
    test_loss_points: int | None = None    # test items in the per-epoch test loss (None: all of them)
    fresh_data: bool = False               # draw every batch fresh from the dataset's truth instead of the
                                           # training split (datasets with a truth sampler; normalised with the
                                           # training split's statistics, or classes for masked): shows what the
                                           # method reaches when data is unlimited
    log: str = ""                          # "tensorboard": write RUN/tensorboard while training ("" writes none)
    log_every: int = 100                   # steps between logged losses, learning rates and gradient norms
    log_pictures_every: int = 1000         # steps between logged pictures of samples (0: none)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


FIELDS = {f.name for f in dataclasses.fields(Config)}


def parse_value(text: str):
    """`--set` values: numbers (1e-3 included, which YAML 1.1 reads as a string), then YAML
    scalars and collections (true, [1, 2], {a: 1}), else the plain string."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def apply_override(d: dict, key: str, value) -> None:
    """Set a dotted key (`process.beta_end`) in a nested config dict, checking the top-level name."""
    parts = key.split(".")
    if parts[0] not in FIELDS:
        raise unknown_name("config field", parts[0], FIELDS)
    node = d
    for p in parts[:-1]:
        if not isinstance(node.get(p), dict):
            node[p] = {}
        node = node[p]
    node[parts[-1]] = value


PRESET_DIR = Path(__file__).parent / "configs"   # YAML presets shipped inside the package (and its wheel)
# What a preset chooses for its method; dropped when a preset is the default and the user picks another method.
METHOD_FIELDS = ("process", "objective", "n_noise", "sampler", "sample_steps", "sample_grid", "sampler_options")
# What such a preset keeps for a method with training defaults of its own (METHODS[...]["defaults"]).
DATA_FIELDS = ("data", "data_options", "n_train", "n_test", "data_seed")


def preset_names() -> list[str]:
    """The presets shipped with difflab, by name (`--config NAME`)."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def preset_path(name: str) -> Path:
    """The file of the preset `name` (e.g. "mnist"); an unknown name is an error listing the valid ones."""
    if name not in preset_names():
        raise unknown_name("preset", name, preset_names())
    return PRESET_DIR / f"{name}.yaml"


def resolve_config(spec) -> Path:
    """`--config`: an existing YAML file, else the name of a shipped preset."""
    path = Path(spec)
    if path.is_file():
        return path
    if path.suffix in (".yaml", ".yml") or len(path.parts) > 1:
        hint = f"; difflab's own presets go by name, e.g. --config {path.stem}" if path.stem in preset_names() else ""
        raise DifflabError(f"config file not found: {path}{hint}")
    return preset_path(str(spec))


def default_preset(data) -> Path | None:
    """The preset named like a built-in dataset (`mnist` -> configs/mnist.yaml) that trains it, if any."""
    if not isinstance(data, str) or data not in preset_names():
        return None
    path = PRESET_DIR / f"{data}.yaml"
    return path if load_yaml(path).get("data") == data else None


def load_yaml(path) -> dict:
    """The settings of a `--config`: a YAML file, or a shipped preset by name ("mnist")."""
    path = resolve_config(path)
    try:
        d = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise DifflabError(f"config file {path} is not valid YAML: {e}") from None
    if not isinstance(d, dict):
        raise DifflabError(f"config file {path} must hold a mapping of settings")
    return d


def make_config(base: dict | None = None, sets: list[str] | None = None, *, quiet: bool = False, **flags) -> Config:
    """Resolve defaults <- method preset <- `base` (a config file's dict) <- flags <- `sets`.

    Without a `base`, a built-in dataset with a preset of its own name (mnist, tictactoe, fsdd,
    sentences, ...) takes that preset as its base, less the method's fields when another method is
    asked for (only its data settings when that method has training defaults of its own: masked);
    stderr says so unless `quiet`."""
    user = _overridden(base or {}, sets, flags)
    preset = None if base else default_preset(user.get("data", Config.data))
    if preset is not None:
        defaults = load_yaml(preset)
        asked = user.get("method", defaults.get("method"))
        other_method = asked != defaults.get("method")
        if other_method:
            defaults = {k: v for k, v in defaults.items() if k not in METHOD_FIELDS + ("method",)}
            if METHODS.get(asked, {}).get("defaults"):    # a method with its own network and training (masked)
                defaults = {k: v for k, v in defaults.items() if k in DATA_FIELDS}
        dropped = ("" if not other_method else " without its method settings" if not METHODS.get(asked, {}).get("defaults")
                   else " for its data settings only")
        if not quiet:
            print(f"difflab: {user['data']} uses the preset {preset.stem!r} (difflab/configs/{preset.name})"
                  f"{dropped}; --set KEY=VALUE overrides it, "
                  "--config FILE replaces it", file=sys.stderr)
        user = _overridden(defaults, sets, flags)
    for k in user:
        if k not in FIELDS:
            raise unknown_name("config field", k, FIELDS)
    method = user.get("method", Config.method)
    if method not in METHODS:
        raise unknown_name("method", str(method), METHODS)
    preset = METHODS[method]
    d = Config().to_dict()
    d.update({"objective": preset["objective"], "n_noise": preset["n_noise"], "sampler": preset["sampler"],
              "sample_steps": preset["sample_steps"], "sample_grid": preset.get("sample_grid"),
              "process": copy.deepcopy(preset["process"]),
              "sampler_options": dict(preset["sampler_options"]), "steps": preset.get("steps", d["steps"])})
    d.update(copy.deepcopy(preset.get("defaults", {})))     # a method's own training defaults (masked)
    if user.get("sampler", preset["sampler"]) != preset["sampler"]:
        d["sampler_options"] = {}             # the preset's options and steps belong to the preset's sampler
        d["sample_steps"] = None
        d["sample_grid"] = None
    for k, v in user.items():
        if isinstance(v, dict) and isinstance(d.get(k), dict) and k != "data_options":
            if k in ("process", "network") and v.get("name", d[k].get("name")) != d[k].get("name"):
                d[k] = {}
            d[k].update(v)
        else:
            d[k] = v
    cfg = Config(**d)
    validate(cfg)
    return cfg


def _overridden(base: dict, sets, flags: dict) -> dict:
    """A copy of `base` with the flags (None: unset) and then the `--set key=value` items applied."""
    user = copy.deepcopy(base)
    for k, v in flags.items():
        if v is not None:
            apply_override(user, k, v)
    for item in sets or []:
        if "=" not in item:
            raise DifflabError(f"--set expects key=value, got {item!r}")
        k, v = item.split("=", 1)
        apply_override(user, k.strip(), parse_value(v.strip()))
    return user


NUMBERS = ("lr", "lr_min_ratio", "weight_decay", "ema_decay", "grad_clip")
INTEGERS = ("steps", "batch_size", "lr_warmup", "seed", "data_seed", "threads", "checkpoint_every", "n_noise")


SEED_LIMIT = 2 ** 63                        # torch and NumPy take seeds in [0, 2**63)
NETWORK_SIZES = {"width": 1, "depth": 0, "emb_dim": 1, "base_channels": 1, "n_res_blocks": 1, "kernel_size": 1,
                 "norm_groups": 1, "head_channels": 1}       # integer network settings -> their least value
DEVICE_TYPES = ("cpu", "cuda", "mps")


def check_device(name, *, here: bool = True) -> None:
    """`auto`, `cpu`, `cuda`, `cuda:N`, `mps`; with `here`, one this torch build and machine have
    (a CPU-only build has no `cuda`), else a one-line error naming what it has."""
    if isinstance(name, torch.device):
        name = str(name)
    if not isinstance(name, str):
        raise DifflabError(f"device must be a name such as 'auto', 'cpu' or 'cuda', got {name!r}")
    if name == "auto":
        return
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        dev = None
    if dev is None or dev.type not in DEVICE_TYPES:
        raise unknown_name("device", name, ("auto", *DEVICE_TYPES, "cuda:N"))
    if not here:
        return
    have = available_devices()
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0:
            build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
            raise DifflabError(f"device {name!r} is not available: this torch {torch.__version__} is {build} "
                               f"and sees no GPU; this machine has: {', '.join(have)}")
        if dev.index is not None and dev.index >= n:
            raise DifflabError(f"device {name!r} is not available: torch sees {n} GPU(s); this machine has: "
                               f"{', '.join(have)}")
    if dev.type == "mps" and "mps" not in have:
        raise DifflabError(f"device {name!r} is not available; this machine has: {', '.join(have)}")


def available_devices() -> list[str]:
    have = ["auto", "cpu"]
    if torch.cuda.is_available():
        have += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        have.append("mps")
    return have


SETTING_INT_LIMIT = 2 ** 31                 # larger integers in a dict of settings are typos or damage
TABLE_SIZES = {"n_steps": 10 ** 6, "n_levels": 10 ** 6}   # process settings that size float64 tables


def check_setting_values(key: str, node) -> None:
    """NaN, an infinity or an absurd integer anywhere inside a dict of settings (process, network,
    sampler options), and process tables too large to build, each a DifflabError naming the key."""
    if isinstance(node, dict):
        for k, v in node.items():
            check_setting_values(f"{key}.{k}", v)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            check_setting_values(f"{key}[{i}]", v)
    elif isinstance(node, float) and not math.isfinite(node):
        raise DifflabError(f"{key} must be a finite number, got {node}")
    elif isinstance(node, int) and not isinstance(node, bool):
        limit = TABLE_SIZES.get(key.rsplit(".", 1)[-1], SETTING_INT_LIMIT) if key.startswith("process.") \
            else SETTING_INT_LIMIT
        if abs(node) > limit:
            raise DifflabError(f"{key} must be at most {limit}, got {node}")


def validate(cfg: Config, *, here: bool = True) -> None:
    """Catch bad settings early, naming the setting. `here`: the config is about to run on this
    machine, so its device must exist here (a loaded run folder samples on any device)."""
    for key in NUMBERS:
        v = getattr(cfg, key)
        if isinstance(v, str):
            try:
                setattr(cfg, key, float(v))
            except ValueError:
                raise DifflabError(f"{key} must be a number, got {v!r}") from None
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise DifflabError(f"{key} must be a number, got {v!r}")
    for key in INTEGERS:
        v = getattr(cfg, key)
        if isinstance(v, bool) or not isinstance(v, int):
            raise DifflabError(f"{key} must be an integer, got {v!r}")
    for key in ("data_options", "process", "network", "sampler_options"):
        if not isinstance(getattr(cfg, key), dict):
            raise DifflabError(f"{key} must be a mapping of settings, got {getattr(cfg, key)!r}")
        check_setting_values(key, getattr(cfg, key))
    for key in ("data", "method", "objective", "sampler"):
        if not isinstance(getattr(cfg, key), str):
            raise DifflabError(f"{key} must be a name, got {getattr(cfg, key)!r}")
    for key in ("seed", "data_seed"):
        if not 0 <= getattr(cfg, key) < SEED_LIMIT:
            raise DifflabError(f"{key} must be an integer in [0, 2**63), got {getattr(cfg, key)}")
    for key in ("n_train", "n_test"):
        v = getattr(cfg, key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise DifflabError(f"{key} must be a positive integer (or null for the dataset's default), got {v!r}")
    for key, least in NETWORK_SIZES.items():
        v = cfg.network.get(key)
        if key in cfg.network and (isinstance(v, bool) or not isinstance(v, int) or v < least):
            raise DifflabError(f"network.{key} must be an integer >= {least}, got {v!r}")
    if not isinstance(cfg.network.get("name", "mlp"), str):
        raise DifflabError(f"network.name must be a name, got {cfg.network.get('name')!r}")
    check_device(cfg.device, here=here)
    for key in ("steps", "batch_size"):
        v = getattr(cfg, key)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise DifflabError(f"{key} must be a positive integer, got {v!r}")
    for key in ("class_conditional", "amp", "compile"):
        if not isinstance(getattr(cfg, key), bool):
            raise DifflabError(f"{key} must be true or false, got {getattr(cfg, key)!r}")
    if isinstance(cfg.label_dropout, bool) or not isinstance(cfg.label_dropout, (int, float)) \
            or not 0 <= cfg.label_dropout < 1:
        raise DifflabError(f"label_dropout must be a number in [0, 1), got {cfg.label_dropout!r}")
    for key in ("max_minutes", "train_minutes"):
        v = getattr(cfg, key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0):
            raise DifflabError(f"{key} must be a positive number (or null for no limit), got {v!r}")
    if cfg.test_loss_points is not None and (isinstance(cfg.test_loss_points, bool)
                                             or not isinstance(cfg.test_loss_points, int) or cfg.test_loss_points < 1):
        raise DifflabError(f"test_loss_points must be a positive integer (or null for all), got {cfg.test_loss_points!r}")
    if cfg.n_noise < 1:
        raise DifflabError(f"n_noise must be a positive integer, got {cfg.n_noise!r}")
    if not cfg.lr > 0:
        raise DifflabError(f"lr must be positive, got {cfg.lr}")
    if not 0 <= cfg.ema_decay < 1:
        raise DifflabError(f"ema_decay must lie in [0, 1), got {cfg.ema_decay}")
    if cfg.sample_steps is not None and (not isinstance(cfg.sample_steps, int) or cfg.sample_steps < 1):
        raise DifflabError(f"sample_steps must be a positive integer, got {cfg.sample_steps!r}")
    get_objective(cfg.objective)
    get_sampler(cfg.sampler)
    if cfg.sample_grid is not None:
        check_grid(cfg.sample_grid)
        if get_spec(cfg.sampler).categorical:
            raise DifflabError(f"sample_grid {cfg.sample_grid!r} is a grid of noise levels; the {cfg.sampler} sampler "
                               "unmasks cells one step at a time (leave sample_grid unset)")
    check_sampler_fits(cfg.sampler, cfg.process)


def check_sampler_fits(sampler: str, process: dict) -> None:
    """A categorical sampler (masked) for a categorical process, a Gaussian one for VP or VE."""
    categorical = is_categorical(process)
    if get_spec(sampler).categorical != categorical:
        fits = "masked" if categorical else "ddpm, ddim, dpm-solver, ..."
        raise DifflabError(f"sampler {sampler!r} does not fit the {process.get('name')!r} process; "
                           f"use one of: {fits}")
