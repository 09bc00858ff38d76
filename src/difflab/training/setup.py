"""What a training run works with, built from its config: data, process, network, EMA, optimiser.

`Parts` holds the things that do not change from step to step (the data and the test draw) and
the things the steps update in place (network, EMA, Adam, the random generator). Building the
same config twice gives the same parts, bit for bit: the seed fixes the initial weights and the
generator, so a resumed run rebuilds everything and then loads its checkpoint over it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..version import __version__
from ..config import Config
from ..errors import DifflabError
from ..objectives import get_objective
from ..pipeline import (build_dataset, build_network, build_process, data_coder, dataset_labels,
                        resolve_process_config)
from ..utils import pick_device
from . import distributed, runtime
from .distributed import Ranks
from .ema import EMA

TEST_CHUNK = 1024        # test items per network call in the test loss (bounds memory for images)
SMALL_NETWORKS = ("mlp", "transformer")   # threads 0 trains these on one CPU thread (see training_threads)
TORCH_THREADS = torch.get_num_threads()   # torch's default, before any run changed it


def training_threads(cfg: Config) -> int:
    """torch CPU threads for training: `cfg.threads`, or when 0, one thread for the small MLP and
    torch's own default for the convolutional networks. A 2D MLP step is too small to share: on
    a busy CPU more threads make it slower, not faster (BENCHMARKS.md, core)."""
    if cfg.threads:
        return cfg.threads
    if cfg.network.get("name", "mlp") in SMALL_NETWORKS:
        return 1
    return TORCH_THREADS


def check_fresh_data(ds, cfg: Config) -> None:
    if not ds.has_truth:
        raise DifflabError(f"fresh_data needs a dataset with a truth sampler; {ds.name} has none "
                           f"(built-in datasets such as pinwheel, gmm, tictactoe or connect4 have one)")
    if cfg.class_conditional:
        raise DifflabError("fresh_data draws unlabelled points; it cannot be combined with class_conditional")


def fresh_batch(ds, n: int, seed: int, step: int, device, categories=None) -> torch.Tensor:
    """n new draws from the truth for optimiser step `step`, coded like the training split: float32
    normalised with its statistics, or, for a categorical method, int64 classes by the run's
    `categories` (data/categories.py). The generator is keyed by (seed, step), so a resumed run
    draws exactly what it would have."""
    rng = np.random.default_rng([seed, step, 0xF4E5])
    if categories is not None:
        return torch.as_tensor(categories.normalise(ds.sample(n, rng)), dtype=torch.long, device=device)
    return torch.as_tensor(ds.normalise(ds.sample(n, rng)), dtype=torch.float32, device=device)


def board_symmetries(ds, device) -> torch.Tensor | None:
    """The dataset's cell permutations for training (`augment_symmetries`), or None."""
    perms = getattr(ds, "augment_symmetries", None)
    return None if perms is None else torch.as_tensor(perms, dtype=torch.long, device=device)


@dataclass
class Parts:
    cfg: Config
    device: torch.device
    ds: object                     # the dataset (normaliser, truth sampler, name)
    x_train: torch.Tensor          # normalised training split (N, ...)
    y_train: torch.Tensor | None   # its labels, for class-conditional runs
    x_test: torch.Tensor           # normalised test items used by the test loss
    y_test: torch.Tensor | None
    t_test: torch.Tensor           # one fixed draw of times and noise for the test loss, so its
    eps_test: torch.Tensor         # curve is comparable across epochs
    hflip: bool                    # random left-right flips (image datasets that allow them)
    symmetries: torch.Tensor | None  # (S, cells) board symmetries drawn per training row (datasets that allow them)
    process_cfg: dict              # the process settings with data-dependent values filled in
    process: object
    objective: object
    net: torch.nn.Module           # the trained weights
    fwd: torch.nn.Module           # the module called in training (net, or torch.compile(net))
    ema: EMA                       # the averaged weights used for sampling
    opt: torch.optim.Optimizer
    gen: torch.Generator           # every random draw of training: permutations, flips, times, noise
    speed: dict                    # what runtime.resolve decided for amp and compile
    ranks: Ranks                   # this process among those training together (distributed.py)
    categories: object = None      # the values <-> classes table of categorical data (None: floats)
    plan: dict | None = None       # how train_minutes set `steps` (budget.py), once planned

    def run_info(self) -> dict:
        """The run's description written to config.json."""
        extra = {} if self.categories is None else {"categories": self.categories.to_dict()}
        return {"version": __version__, "config": self.cfg.to_dict(), "process": self.process_cfg,
                "dataset": self.ds.info(), "normaliser": self.ds.normaliser.to_dict(), **extra,
                **({} if self.plan is None else {"plan": self.plan}),
                "runtime": {"device": str(self.device), **self.speed, "hflip": self.hflip,
                            "symmetries": 0 if self.symmetries is None else len(self.symmetries),
                            "ranks": self.ranks.world, "batch_per_rank": -(-self.cfg.batch_size // self.ranks.world)}}

    def test_loss(self, model) -> float:
        """Mean loss of `model` over the test items, in chunks of TEST_CHUNK."""
        total = 0.0
        with torch.no_grad(), runtime.autocast(self.device, self.speed["amp"]):
            if len(self.x_test) <= TEST_CHUNK:              # one call (2D data)
                return self.objective(model, self.process, self.x_test, t=self.t_test, eps=self.eps_test,
                                      y=self.y_test).mean().item()
            for i in range(0, len(self.x_test), TEST_CHUNK):
                y = None if self.y_test is None else self.y_test[i:i + TEST_CHUNK]
                part = slice(i, i + TEST_CHUNK)
                total += self.objective(model, self.process, self.x_test[part], t=self.t_test[part],
                                        eps=self.eps_test[:, part], y=y).sum().item()
        return total / len(self.x_test)


def build_parts(cfg: Config, ranks: Ranks = Ranks()) -> Parts:
    device = distributed.rank_device(pick_device(cfg.device), ranks)

    # Data, normalised with statistics of the training split (floats), or as int64 classes for a
    # categorical process (the dataset's categories, data/categories.py)
    ds = build_dataset(cfg)
    coder = data_coder(cfg, ds)
    categories = None if coder is ds.normaliser else coder
    dtype = torch.float32 if categories is None else torch.long
    x_train = torch.as_tensor(coder.normalise(ds.train), dtype=dtype, device=device)
    x_test = torch.as_tensor(coder.normalise(ds.test), dtype=dtype, device=device)
    labels_train, labels_test = dataset_labels(ds)
    y_train = y_test = None
    if cfg.class_conditional and labels_train is not None:
        y_train = torch.as_tensor(labels_train, device=device)
        y_test = torch.as_tensor(labels_test, device=device)
    if cfg.test_loss_points is not None:
        x_test = x_test[:cfg.test_loss_points]
        y_test = None if y_test is None else y_test[:cfg.test_loss_points]
    if cfg.fresh_data:
        check_fresh_data(ds, cfg)
    process_cfg = resolve_process_config(cfg, x_train.cpu().numpy(), categories)
    process = build_process(process_cfg)

    # Network, EMA copy and optimiser; the seed fixes the initial weights and every draw
    torch.manual_seed(cfg.seed)
    net = build_network(cfg, ds.shape, process, n_classes=getattr(ds, "n_classes", None)).to(device)
    speed = runtime.resolve(cfg.amp, cfg.compile, device, cfg.channels_last, len(ds.shape))
    net, x_train = runtime.memory_format(net, x_train, speed["channels_last"])
    gen = torch.Generator(device=device).manual_seed(cfg.seed)

    test_gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    t_test = process.train_times(len(x_test), generator=test_gen, device=device)
    eps_test = torch.randn((cfg.n_noise,) + tuple(x_test.shape), generator=test_gen, device=device)

    return Parts(cfg=cfg, device=device, ds=ds, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
                 t_test=t_test, eps_test=eps_test, hflip=bool(getattr(ds, "augment_hflip", False)),
                 symmetries=board_symmetries(ds, device),
                 process_cfg=process_cfg, process=process, objective=get_objective(cfg.objective), net=net,
                 fwd=runtime.compiled(distributed.wrap(net, ranks, device), speed["compile"]), ema=EMA(net, cfg.ema_decay),
                 opt=torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay),
                 gen=gen, speed=speed, ranks=ranks, categories=categories)
