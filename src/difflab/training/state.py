"""The loop's position, and how it goes into a checkpoint and comes back out.

A checkpoint holds everything the next step depends on, taken at a step boundary: the weights,
the EMA weights, Adam's moments and hyper-parameters, the training generator and torch's global
generators (network dropout draws from them), the epoch's permutation and the position in it, the
unfinished epoch's losses, the loss history and the divergence guard's loss levels. Loading
it and running the remaining steps gives the same bits as never having stopped.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..errors import DifflabError
from .best import Best
from .checkpoint import load_optimizer, optimizer_tensors, prefixed, read_checkpoint, save_checkpoint, unprefixed
from .guard import recent_losses
from .setup import Parts


def new_history() -> dict:
    return {"epoch": [], "step": [], "train_loss": [], "test_loss": [], "test_loss_ema": []}


@dataclass
class TrainState:
    step: int                          # optimiser steps done
    perm: torch.Tensor                 # this epoch's order of the training items
    pos: int = 0                       # items of `perm` already used
    epoch_losses: list = field(default_factory=list)   # batch losses of the unfinished epoch
    history: dict = field(default_factory=new_history)  # per-epoch train and test losses
    seconds: float = 0.0               # training time so far, over every call
    recent: deque = field(default_factory=recent_losses)  # the divergence guard's window of losses
    lowest_level: float | None = None  # the guard's lowest running median of the losses
    best: Best | None = None           # `keep: best`: the EMA weights of the lowest test loss so far (best.py)


def start_state(parts: Parts) -> TrainState:
    """Step 0: the first epoch's permutation is the generator's first draw."""
    n = len(parts.x_train)
    return TrainState(step=0, perm=torch.randperm(n, generator=parts.gen, device=parts.device))


def settings_key(config: dict) -> dict:
    """The settings a checkpoint must share with its run: all but the number of steps, which may grow."""
    return {k: v for k, v in config.items() if k != "steps"}


def generator_states(parts: Parts) -> dict:
    """Every random generator the steps draw from, as tensors: the training generator, and torch's
    global ones, which network dropout uses (on a GPU, the device's)."""
    states = {"rng.torch": parts.gen.get_state(), "rng.global": torch.get_rng_state()}
    if parts.device.type == "cuda":
        states["rng.cuda"] = torch.cuda.get_rng_state(parts.device)
    return states


def set_generator_states(parts: Parts, states: dict) -> None:
    parts.gen.set_state(states["rng.torch"])
    torch.set_rng_state(states["rng.global"])
    if parts.device.type == "cuda":
        torch.cuda.set_rng_state(states["rng.cuda"], parts.device)


def save_state(run_dir: Path, parts: Parts, s: TrainState) -> None:
    opt_tensors, groups = optimizer_tensors(parts.opt)
    tensors = {**prefixed("net", parts.net.state_dict()), **prefixed("ema", parts.ema.net.state_dict()),
               **opt_tensors, **generator_states(parts), "perm": s.perm,
               **({} if s.best is None else prefixed("best", s.best.weights))}
    state = {"step": s.step, "pos": s.pos, "epoch_losses": s.epoch_losses, "history": s.history,
             "train_seconds": s.seconds, "recent_losses": list(s.recent), "lowest_level": s.lowest_level,
             "best": None if s.best is None else s.best.to_json(),
             "param_groups": groups, "settings": settings_key(parts.cfg.to_dict())}
    save_checkpoint(run_dir, tensors, state)


def load_state(run_dir: Path, parts: Parts) -> TrainState:
    """Restore the checkpoint of `run_dir` into `parts` (in place) and return the loop's position.
    A checkpoint that is damaged or belongs to other settings is refused with a DifflabError."""
    tensors, state = read_checkpoint(run_dir)
    mine = settings_key(parts.cfg.to_dict())
    theirs = state.get("settings")
    if theirs != mine:
        key = next((k for k in mine if not isinstance(theirs, dict) or theirs.get(k) != mine[k]), "settings")
        raise DifflabError(f"cannot resume: the checkpoint in {run_dir} was written with other settings "
                           f"than its config.json ({key} differs)")
    try:
        parts.net.load_state_dict(unprefixed("net", tensors))
        parts.ema.net.load_state_dict(unprefixed("ema", tensors))
        load_optimizer(parts.opt, tensors, state["param_groups"])
        set_generator_states(parts, tensors)
        s = TrainState(step=int(state["step"]), perm=tensors["perm"].to(parts.device), pos=int(state["pos"]),
                       epoch_losses=list(state["epoch_losses"]), history=dict(state["history"]),
                       seconds=float(state["train_seconds"]), recent=recent_losses(state["recent_losses"]),
                       lowest_level=state["lowest_level"], best=saved_best(state, tensors))
    except (KeyError, RuntimeError, ValueError) as e:
        raise DifflabError(f"cannot resume: the checkpoint in {run_dir} does not fit this run ({e})") from None
    if s.best is not None and shapes(s.best.weights) != shapes(parts.ema.net.state_dict()):
        raise DifflabError(f"cannot resume: the best weights in the checkpoint of {run_dir} do not fit this network")
    if len(s.perm) != len(parts.x_train) or not 0 <= s.pos or s.step < 0:
        raise DifflabError(f"cannot resume: the checkpoint in {run_dir} does not fit this run's data")
    return s


def saved_best(state: dict, tensors: dict) -> Best | None:
    """The checkpoint's `keep: best` copy, or None when it holds none."""
    info = state.get("best")
    if info is None:
        return None
    weights = unprefixed("best", tensors)
    if not weights:
        raise KeyError("best weights")
    return Best(loss=float(info["test_loss_ema"]), step=int(info["step"]), weights=weights)


def shapes(weights: dict) -> dict:
    return {k: tuple(v.shape) for k, v in weights.items()}
