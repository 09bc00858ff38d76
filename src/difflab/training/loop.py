"""The training loop, readable top to bottom: data -> corrupt -> loss -> Adam -> EMA -> checkpoint.

Image data adds three optional pieces (see batches.py and runtime.py): random left-right flips
when the dataset allows them, class labels (with some dropped) for class-conditional runs, and
bf16 autocast / torch.compile where the device supports them. `max_minutes` ends a call cleanly
at a wall-clock budget, saving everything as at a normal end.
"""
from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..version import __version__
from ..config import Config
from ..errors import DifflabError
from ..objectives import get_objective
from ..pipeline import build_dataset, build_network, build_process, dataset_labels, resolve_process_config
from ..utils import pick_device
from . import runtime
from .batches import next_batch
from .checkpoint import atomic_write_text, load_checkpoint, load_json, save_checkpoint, save_tensors
from .ema import EMA

TEST_CHUNK = 1024        # test items per network call in the test loss (bounds memory for images)


def prepare_run_dir(out: Path, resume: bool, overwrite: bool) -> None:
    """An existing folder is never overwritten silently: resume it, or say --overwrite."""
    if resume:
        if not (out / "config.json").is_file():
            raise DifflabError(f"cannot resume: {out} is not a difflab run folder (no config.json)")
        return
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise DifflabError(f"output folder {out} already exists and is not empty; "
                               "choose another --out, pass --resume to continue it, or --overwrite to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def learning_rate(cfg: Config, step: int) -> float:
    """Linear warm-up, then cosine decay to lr_min_ratio * lr at the last step."""
    if step < cfg.lr_warmup:
        return cfg.lr * (step + 1) / cfg.lr_warmup
    progress = (step - cfg.lr_warmup) / max(1, cfg.steps - cfg.lr_warmup)
    return cfg.lr * (cfg.lr_min_ratio + (1 - cfg.lr_min_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


SMALL_NETWORKS = ("mlp",)   # threads 0 trains these on one CPU thread (see training_threads)
TORCH_THREADS = torch.get_num_threads()   # torch's default, before any run changed it


def training_threads(cfg: Config) -> int:
    """torch CPU threads for training: `cfg.threads`, or when 0, one thread for the small MLP and
    torch's own default for the convolutional networks. A 2D MLP step is too small to share: on
    2 cores, pinwheel trains in the same time on 1 or 2 threads when the machine is idle, and
    several times slower on 2 when other work shares the CPU (BENCHMARKS.md, core)."""
    if cfg.threads:
        return cfg.threads
    if cfg.network.get("name", "mlp") in SMALL_NETWORKS:
        return 1
    return TORCH_THREADS


def check_fresh_data(ds, cfg: Config) -> None:
    if not ds.has_truth:
        raise DifflabError(f"fresh_data needs a dataset with a truth sampler; {ds.name} has none "
                           f"(built-in datasets such as pinwheel or gmm have one)")
    if cfg.class_conditional:
        raise DifflabError("fresh_data draws unlabelled points; it cannot be combined with class_conditional")


def fresh_batch(ds, n: int, seed: int, step: int, device) -> torch.Tensor:
    """n new draws from the truth for optimiser step `step`, normalised like the training split.
    The generator is keyed by (seed, step), so a resumed run draws exactly what it would have."""
    rng = np.random.default_rng([seed, step, 0xF4E5])
    return torch.as_tensor(ds.normalise(ds.sample(n, rng)), dtype=torch.float32, device=device)


def train(cfg: Config | None, out_dir, *, resume: bool = False, overwrite: bool = False,
          progress: bool = True, steps: int | None = None) -> Path:
    """Train a model as `cfg` says and write the run folder `out_dir`; returns its path.

    With `resume`, the run's own saved config is used (`cfg` may be None) and `steps`, when
    given, raises its total number of steps.
    """
    out = Path(out_dir)
    if resume:
        if not (out / "config.json").is_file():
            raise DifflabError(f"cannot resume: {out} is not a difflab run folder (no config.json)")
        cfg = Config(**load_json(out / "config.json")["config"])
    if steps is not None:
        cfg.steps = steps
    prepare_run_dir(out, resume, overwrite)
    torch.set_num_threads(training_threads(cfg))
    device = pick_device(cfg.device)

    # Data, normalised with statistics of the training split
    ds = build_dataset(cfg)
    x_train = torch.as_tensor(ds.normalise(ds.train), dtype=torch.float32, device=device)
    x_test = torch.as_tensor(ds.normalise(ds.test), dtype=torch.float32, device=device)
    labels_train, labels_test = dataset_labels(ds)
    y_train = y_test = None
    if cfg.class_conditional and labels_train is not None:
        y_train = torch.as_tensor(labels_train, device=device)
        y_test = torch.as_tensor(labels_test, device=device)
    if cfg.test_loss_points is not None:
        x_test = x_test[:cfg.test_loss_points]
        y_test = None if y_test is None else y_test[:cfg.test_loss_points]
    hflip = bool(getattr(ds, "augment_hflip", False))
    if cfg.fresh_data:
        check_fresh_data(ds, cfg)
    process_cfg = resolve_process_config(cfg, x_train.cpu().numpy())
    process = build_process(process_cfg)

    # Network, EMA copy and optimiser; the seed fixes the initial weights and every draw
    torch.manual_seed(cfg.seed)
    net = build_network(cfg, ds.shape, process, n_classes=getattr(ds, "n_classes", None)).to(device)
    speed = runtime.resolve(cfg.amp, cfg.compile, device)
    fwd = runtime.compiled(net, speed["compile"])          # the module called in training (shares net's weights)
    ema = EMA(net, cfg.ema_decay)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    objective = get_objective(cfg.objective)
    K = cfg.n_noise

    # One fixed draw of times and noise for the test loss, so its curve is comparable across epochs
    test_gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    t_test = process.train_times(len(x_test), generator=test_gen, device=device)
    eps_test = torch.randn((K,) + tuple(x_test.shape), generator=test_gen, device=device)

    n, B = len(x_train), cfg.batch_size
    step, pos, epoch_losses, seconds = 0, 0, [], 0.0
    perm = torch.randperm(n, generator=gen, device=device)
    history = {"epoch": [], "step": [], "train_loss": [], "test_loss": [], "test_loss_ema": []}
    run_info = {"version": __version__, "config": cfg.to_dict(), "process": process_cfg,
                "dataset": ds.info(), "normaliser": ds.normaliser.to_dict(),
                "runtime": {"device": str(device), **speed, "hflip": hflip}}
    if resume:
        perm, info = load_checkpoint(out, net, ema, opt, gen)
        step, pos, epoch_losses, history, seconds = (info["step"], info["pos"], info["epoch_losses"],
                                                     info["history"], info["train_seconds"])
        if step >= cfg.steps:
            raise DifflabError(f"{out} already finished {step} steps; pass a larger --steps to train on")
    atomic_write_text(out / "config.json", json.dumps({**run_info, "train_seconds": seconds}, indent=1))

    def test_loss(model) -> float:
        if len(x_test) <= TEST_CHUNK:                      # one call (2D data)
            with torch.no_grad(), runtime.autocast(device, speed["amp"]):
                return objective(model, process, x_test, t=t_test, eps=eps_test, y=y_test).mean().item()
        total = 0.0
        with torch.no_grad(), runtime.autocast(device, speed["amp"]):
            for i in range(0, len(x_test), TEST_CHUNK):
                y = None if y_test is None else y_test[i:i + TEST_CHUNK]
                total += objective(model, process, x_test[i:i + TEST_CHUNK], t=t_test[i:i + TEST_CHUNK],
                                   eps=eps_test[:, i:i + TEST_CHUNK], y=y).sum().item()
        return total / len(x_test)

    def checkpoint():
        save_checkpoint(out, net, ema, opt, gen, perm, {"step": step, "pos": pos, "epoch_losses": epoch_losses,
                                                         "history": history, "train_seconds": seconds})

    bar = tqdm(total=cfg.steps, initial=step, disable=not progress, desc=f"train {ds.name}/{cfg.method}",
               unit="step", dynamic_ncols=True)
    start = time.perf_counter() - seconds
    call_start, stopped_by = time.perf_counter(), None
    try:
        while step < cfg.steps:
            if cfg.max_minutes is not None and time.perf_counter() - call_start > 60 * cfg.max_minutes:
                stopped_by = "max_minutes"                 # the wall-clock budget: end here, save as usual
                break
            # the next minibatch of this epoch's permutation
            if pos >= n:
                perm, pos = torch.randperm(n, generator=gen, device=device), 0
            if cfg.fresh_data:                             # the same step always draws the same batch (exact resume)
                x0, y = fresh_batch(ds, min(B, n - pos), cfg.seed, step, device), None
            else:
                x0, y = next_batch(x_train, y_train, perm[pos:pos + B], gen, hflip=hflip,
                                   label_dropout=cfg.label_dropout)
            pos += B
            # one optimiser step on the mean of the per-sample losses
            with runtime.autocast(device, speed["amp"]):
                loss = objective(fwd, process, x0, generator=gen, n_noise=K, y=y).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
            for group in opt.param_groups:
                group["lr"] = learning_rate(cfg, step)
            opt.step()
            ema.update(net)
            step += 1
            epoch_losses.append(loss.item())
            # end of an epoch: train and test loss
            if pos >= n:
                history["epoch"].append(len(history["epoch"]) + 1)
                history["step"].append(step)
                history["train_loss"].append(sum(epoch_losses) / len(epoch_losses))
                history["test_loss"].append(test_loss(net))
                history["test_loss_ema"].append(test_loss(ema.net))
                epoch_losses = []
                bar.set_postfix(train=f"{history['train_loss'][-1]:.4f}", test=f"{history['test_loss_ema'][-1]:.4f}")
            bar.update(1)
            seconds = time.perf_counter() - start
            if step % cfg.checkpoint_every == 0 and step < cfg.steps:
                checkpoint()
    except KeyboardInterrupt:
        checkpoint()
        bar.close()
        raise DifflabError(f"interrupted at step {step}; the checkpoint is saved: "
                           f"resume with `difflab train ... --out {out} --resume`") from None
    bar.close()
    seconds = time.perf_counter() - start
    checkpoint()
    save_tensors(out / "model.safetensors", ema.net.state_dict(), metadata={"format": "difflab-ema"})
    atomic_write_text(out / "history.json", json.dumps(history))
    atomic_write_text(out / "config.json", json.dumps({**run_info, "train_seconds": seconds, "steps_done": step,
                                                       "stopped_by": stopped_by}, indent=1))
    return out
