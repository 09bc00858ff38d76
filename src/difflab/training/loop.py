"""The training loop, readable top to bottom: data -> corrupt -> loss -> Adam -> EMA -> checkpoint."""
from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .. import __version__
from ..config import Config
from ..errors import DifflabError
from ..objectives import get_objective
from ..pipeline import build_dataset, build_network, build_process, resolve_process_config
from ..utils import pick_device
from .checkpoint import atomic_write_text, load_checkpoint, load_json, save_checkpoint, save_tensors
from .ema import EMA


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
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)

    # Data, normalised with statistics of the training split
    ds = build_dataset(cfg)
    x_train = torch.as_tensor(ds.normalise(ds.train), dtype=torch.float32, device=device)
    x_test = torch.as_tensor(ds.normalise(ds.test), dtype=torch.float32, device=device)
    process_cfg = resolve_process_config(cfg, x_train.cpu().numpy())
    process = build_process(process_cfg)

    # Network, EMA copy and optimiser; the seed fixes the initial weights and every draw
    torch.manual_seed(cfg.seed)
    net = build_network(cfg, ds.shape).to(device)
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
                "dataset": ds.info(), "normaliser": ds.normaliser.to_dict()}
    if resume:
        perm, info = load_checkpoint(out, net, ema, opt, gen)
        step, pos, epoch_losses, history, seconds = (info["step"], info["pos"], info["epoch_losses"],
                                                     info["history"], info["train_seconds"])
        if step >= cfg.steps:
            raise DifflabError(f"{out} already finished {step} steps; pass a larger --steps to train on")
    atomic_write_text(out / "config.json", json.dumps({**run_info, "train_seconds": seconds}, indent=1))

    def test_loss(model) -> float:
        with torch.no_grad():
            return objective(model, process, x_test, t=t_test, eps=eps_test).mean().item()

    def checkpoint():
        save_checkpoint(out, net, ema, opt, gen, perm, {"step": step, "pos": pos, "epoch_losses": epoch_losses,
                                                         "history": history, "train_seconds": seconds})

    bar = tqdm(total=cfg.steps, initial=step, disable=not progress, desc=f"train {ds.name}/{cfg.method}",
               unit="step", dynamic_ncols=True)
    start = time.perf_counter() - seconds
    try:
        while step < cfg.steps:
            # the next minibatch of this epoch's permutation
            if pos >= n:
                perm, pos = torch.randperm(n, generator=gen, device=device), 0
            x0 = x_train[perm[pos:pos + B]]
            pos += B
            # one optimiser step on the mean of the per-sample losses
            loss = objective(net, process, x0, generator=gen, n_noise=K).mean()
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
    atomic_write_text(out / "config.json", json.dumps({**run_info, "train_seconds": seconds}, indent=1))
    return out
