"""The training loop, readable top to bottom: data -> corrupt -> loss -> Adam -> EMA -> checkpoint.

`train` runs in phases: the settings (validated; on resume the saved ones), the run folder
(locked while it trains), the parts (setup.py), the starting state (step 0 or the checkpoint,
state.py), the steps, and the finish (final checkpoint, EMA weights, history, config.json).
Image data adds optional pieces (batches.py, runtime.py): random left-right flips, class labels
with some dropped, bf16 autocast and torch.compile where the device supports them.

Three things stop a run early, each at a step boundary with a checkpoint that resumes exactly:
`max_minutes` (a normal finish), Ctrl-C (interrupt.py) and a diverging loss (guard.py).
"""
from __future__ import annotations

import json
import math
import shutil
import time
from contextlib import closing, nullcontext
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..config import Config
from ..errors import DifflabError
from ..files import atomic_write_text, save_tensors
from ..model_card import write_model_card
from ..outputs import check_replaceable_run_dir, run_inputs
from ..utils import pick_device
from . import distributed, runtime
from .batches import next_batch
from .best import update_best
from .budget import plan_step, planned_steps
from .distributed import agree, ranks_from_env, total
from .guard import lowest_level, step_problem
from .interrupt import StopOnInterrupt
from .lock import LOCK_NAME, RunLock
from .logging import open_log
from .resume import finished_at, killed_before_first_checkpoint, resume_config, saved_plan
from .setup import TORCH_THREADS, Parts, build_parts, fresh_batch, training_threads
from .state import TrainState, generator_states, load_state, save_state, set_generator_states, start_state
from .validate import validate_training

__all__ = ["train", "learning_rate", "prepare_run_dir", "fresh_batch", "training_threads", "TORCH_THREADS"]


def prepare_run_dir(out: Path, resume: bool, overwrite: bool, inputs=()) -> None:
    """An existing folder is never overwritten silently: resume it, or say --overwrite, which
    replaces only a difflab run folder holding none of the run's `inputs` (outputs.py)."""
    if resume:
        if not (out / "config.json").is_file():
            raise DifflabError(f"cannot resume: {out} is not a difflab run folder (no config.json)")
        return
    if out.exists() and any(p.name != LOCK_NAME for p in out.iterdir()):
        if not overwrite:
            raise DifflabError(f"output folder {out} already exists and is not empty; "
                               "choose another --out, pass --resume to continue it, or --overwrite to replace it")
        check_replaceable_run_dir(out, inputs)
        with RunLock(out):                         # never delete a folder another trainer is writing
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

    With `resume`, the run's own saved config is used; `cfg`, when given, must match it in
    everything but the number of steps, and `steps`, when given, raises that number.
    Under torchrun every rank calls this; they train one run together (distributed.py).
    """
    out = Path(out_dir)
    ranks = ranks_from_env()
    # Settings: on resume the saved ones; every number checked before anything is written
    if resume:
        cfg = resume_config(out, cfg, steps)
    elif steps is not None:
        cfg.steps = steps
    validate_training(cfg)
    distributed.start(ranks, distributed.rank_device(pick_device(cfg.device), ranks))
    try:
        # Set up (the data is read and checked here, before --out is created or replaced)
        torch.set_num_threads(training_threads(cfg))
        parts = build_parts(cfg, ranks)
        if ranks.writes:
            prepare_run_dir(out, resume, overwrite, run_inputs(cfg))
        distributed.barrier(ranks)
        with RunLock(out) if ranks.writes else nullcontext():     # one trainer per folder
            # Start at step 0 or at the checkpoint; config.json says what is being trained
            s = starting_state(out, parts, resume)
            if resume:
                parts.plan = saved_plan(out)
            if ranks.writes:
                atomic_write_text(out / "config.json",
                                  json.dumps({**parts.run_info(), "train_seconds": s.seconds}, indent=1))
            # Train the remaining steps, then write the finished run
            started_at = s.step
            stopped_by = run_steps(out, parts, s, progress and ranks.writes)
            if ranks.writes:
                finish(out, parts, s, started_at, stopped_by)
        distributed.barrier(ranks)
    finally:
        distributed.stop(ranks)
    return out


def starting_state(out: Path, parts: Parts, resume: bool) -> TrainState:
    """Step 0 for a new run or one killed before its first checkpoint; else the checkpoint's state."""
    if not resume or killed_before_first_checkpoint(out):
        return start_state(parts)
    s = load_state(out, parts)
    total = parts.cfg.steps
    if s.step > total or (s.step == total and finished_at(out) == total):
        raise DifflabError(f"{out} already finished {s.step} steps; pass a larger --steps to train on")
    return s                                      # at s.step == total a killed finish is completed below


def run_steps(out: Path, parts: Parts, s: TrainState, progress: bool) -> str | None:
    """Train from s.step up to cfg.steps, checkpointing every cfg.checkpoint_every steps. Returns
    "max_minutes" when the time budget ended the call early, else None."""
    cfg = parts.cfg
    bar = tqdm(total=cfg.steps, initial=s.step, disable=not progress, desc=f"train {parts.ds.name}/{cfg.method}",
               unit="step", dynamic_ncols=True)
    start = time.perf_counter() - s.seconds          # the clock counts every call's training time
    call_start = time.perf_counter()
    plan_at = plan_step(cfg) if cfg.train_minutes is not None and parts.plan is None and s.step < plan_step(cfg) else None
    timed_from = None                                # (step, clock) after this call's first step
    ranks, device = parts.ranks, parts.device
    log = open_log(out, parts)
    with StopOnInterrupt() as interrupt, bar, closing(log):
        while s.step < cfg.steps:
            over = cfg.max_minutes is not None and time.perf_counter() - call_start > 60 * cfg.max_minutes
            interrupted, over = agree([interrupt.requested, over], ranks, device)   # the ranks decide together
            if interrupted:                           # Ctrl-C: save this step boundary and stop
                save(out, parts, s)
                raise DifflabError(f"interrupted at step {s.step}; the checkpoint is saved: resume with the "
                                   f"same command plus --resume (or `difflab train ... --out {out} --resume`)")
            if over:
                return "max_minutes"                  # the wall-clock budget: end here, save as usual
            loss, lr, grad_norm = one_step(out, parts, s)
            log.step(s.step, loss, lr, grad_norm)
            if s.pos >= len(parts.x_train):
                end_of_epoch(parts, s)
                log.epoch(s.history)
                h = s.history
                bar.set_postfix(train=f"{h['train_loss'][-1]:.4f}", test=f"{h['test_loss_ema'][-1]:.4f}")
            bar.update(1)
            s.seconds = time.perf_counter() - start
            if plan_at is not None:
                timed_from = timed_from or (s.step, time.perf_counter())
                if s.step == plan_at:
                    plan_steps(out, parts, s, timed_from)
                    plan_at = None
                    bar.total = cfg.steps
                    bar.refresh()
            if s.step % cfg.checkpoint_every == 0 and s.step < cfg.steps:
                save(out, parts, s)
    return None


def plan_steps(out: Path, parts: Parts, s: TrainState, timed_from: tuple[int, float]) -> None:
    """Cut cfg.steps to what fits in train_minutes (budget.py), timed from `timed_from` (step, clock)
    to now; the ranks take rank 0's plan. config.json is rewritten at once, so a resume keeps it."""
    cfg, (step0, clock0) = parts.cfg, timed_from
    # the steps timed in this call; a call that starts one step before the plan has none: its average
    per_step = (time.perf_counter() - clock0) / (s.step - step0) if s.step > step0 else s.seconds / s.step
    steps = planned_steps(cfg.train_minutes, s.step, s.seconds, per_step, cfg.steps)
    steps = int(distributed.from_rank0(float(steps), parts.ranks, parts.device))
    parts.plan = {"train_minutes": cfg.train_minutes, "at_step": s.step, "seconds_per_step": per_step,
                  "steps_asked": cfg.steps, "steps": steps}
    cfg.steps = steps
    if parts.ranks.writes:
        atomic_write_text(out / "config.json", json.dumps({**parts.run_info(), "train_seconds": s.seconds}, indent=1))


def save(out: Path, parts: Parts, s: TrainState) -> None:
    """A checkpoint at this step boundary, written by rank 0 alone."""
    if parts.ranks.writes:
        save_state(out, parts, s)


def one_step(out: Path, parts: Parts, s: TrainState) -> tuple[float, float, float]:
    """One optimiser step on the next minibatch; returns its loss, learning rate and gradient norm.
    A step whose loss or gradients have gone bad is dropped: the run is saved as it was before that
    step, and training stops with a DifflabError."""
    cfg, n, B = parts.cfg, len(parts.x_train), parts.cfg.batch_size
    before = (s.perm, s.pos, generator_states(parts))

    # The next minibatch of this epoch's permutation (a new permutation when the epoch is used up)
    if s.pos >= n:
        s.perm, s.pos = torch.randperm(n, generator=parts.gen, device=parts.device), 0
    if cfg.fresh_data:                                 # keyed by the step, so a resumed run draws the same batch
        x0, y = fresh_batch(parts.ds, min(B, n - s.pos), cfg.seed, s.step, parts.device, parts.categories), None
    else:
        x0, y = next_batch(parts.x_train, parts.y_train, s.perm[s.pos:s.pos + B], parts.gen, hflip=parts.hflip,
                           label_dropout=cfg.label_dropout, symmetries=parts.symmetries)
    s.pos += B

    # The times and noise of the whole batch, drawn as one process draws them; this rank's share
    # (categorical data, int64 classes: float32 noise, which the masked ELBO uses to choose its masks)
    t = parts.process.train_times(len(x0), generator=parts.gen, device=parts.device)
    eps = torch.randn((cfg.n_noise,) + tuple(x0.shape), generator=parts.gen, device=parts.device,
                      dtype=x0.dtype if x0.is_floating_point() else torch.float32)
    mine, world = parts.ranks.share(len(x0)), parts.ranks.world

    # The loss and its gradients, clipped to grad_clip. Each rank's mean is weighted by its share of
    # the batch, so the ranks' average gradient (DistributedDataParallel) is the global mean's
    with runtime.autocast(parts.device, parts.speed["amp"]):
        per_sample = parts.objective(parts.fwd, parts.process, x0[mine], t=t[mine], eps=eps[:, mine],
                                     y=None if y is None else y[mine])
        loss = per_sample.mean() * (len(per_sample) * world / len(x0))
    parts.opt.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = gradient_norm(parts.net, cfg.grad_clip)
    loss_value = loss.item() if world == 1 else total(per_sample.sum().item(), parts.ranks, parts.device) / len(x0)

    # A bad step: put back the data position and generators, save the last good step, stop
    problem = step_problem(loss_value, grad_norm, s.lowest_level)
    if problem is not None:
        s.perm, s.pos = before[0], before[1]
        set_generator_states(parts, before[2])
        save(out, parts, s)
        raise DifflabError(f"training diverged at step {s.step + 1}: {problem}; stopped, and saved its last good "
                           f"step {s.step} in {out}; train again with a smaller lr (now {cfg.lr:g}) or grad_clip")

    # Adam at this step's learning rate, then the moving average
    lr = learning_rate(cfg, s.step)
    for group in parts.opt.param_groups:
        group["lr"] = lr
    parts.opt.step()
    parts.ema.update(parts.net)
    s.step += 1
    s.epoch_losses.append(loss_value)
    s.recent.append(loss_value)
    s.lowest_level = lowest_level(s.recent, s.lowest_level)
    return loss_value, lr, grad_norm


def gradient_norm(net: torch.nn.Module, grad_clip: float) -> float:
    """The global gradient norm before clipping; clips to `grad_clip` when it is positive."""
    if grad_clip > 0:
        return float(torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip))
    return float(torch.nn.utils.get_total_norm([p.grad for p in net.parameters() if p.grad is not None]))


def end_of_epoch(parts: Parts, s: TrainState) -> None:
    """Record the epoch's mean training loss and the test loss of the weights and of their EMA."""
    s.history["epoch"].append(len(s.history["epoch"]) + 1)
    s.history["step"].append(s.step)
    s.history["train_loss"].append(sum(s.epoch_losses) / len(s.epoch_losses))
    s.history["test_loss"].append(parts.test_loss(parts.net))
    s.history["test_loss_ema"].append(parts.test_loss(parts.ema.net))
    s.epoch_losses = []
    if parts.cfg.keep == "best":
        s.best = update_best(s.best, s.history["test_loss_ema"][-1], s.step, parts.ema.net)


def finish(out: Path, parts: Parts, s: TrainState, started_at: int, stopped_by: str | None) -> None:
    """The final checkpoint, the EMA weights used for sampling (the final ones, or with `keep: best`
    those of the lowest test loss: config.json's "kept" says which step), the loss history, and
    config.json last: its `steps_done` marks the run folder complete."""
    save_state(out, parts, s)
    kept = {"keep": "last", "step": s.step} if s.best is None else {"keep": "best", **s.best.to_json()}
    weights = parts.ema.net.state_dict() if s.best is None else s.best.weights
    save_tensors(out / "model.safetensors", weights, metadata={"format": "difflab-ema"})
    atomic_write_text(out / "history.json", json.dumps(s.history))
    atomic_write_text(out / "config.json", json.dumps({**parts.run_info(), "train_seconds": s.seconds,
                                                       "steps_done": s.step, "started_at_step": started_at,
                                                       "stopped_by": stopped_by, "kept": kept}, indent=1))
    write_model_card(out)                         # README.md (and a diffusers scheduler_config.json for VP)
