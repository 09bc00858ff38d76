"""Checkpoints as safetensors (tensors only, nothing executed on load) plus JSON.

A training checkpoint is `checkpoint.safetensors` (network, EMA network, Adam moments, the
random generator's state and the epoch's permutation) beside `checkpoint.json` (step, epoch
position, loss history, optimiser hyper-parameters). Files are written to a temporary name
and renamed, so a crash mid-write never leaves a half-written checkpoint.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import DifflabError


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save_tensors(path: Path, tensors: dict, metadata: dict | None = None) -> None:
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=metadata)
    os.replace(tmp, path)


def load_tensors(path: Path) -> dict:
    if not path.is_file():
        raise DifflabError(f"missing file: {path}")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise DifflabError(f"{path} is damaged or not a safetensors file ({e})") from None


def load_json(path: Path) -> dict:
    if not path.is_file():
        raise DifflabError(f"missing file: {path}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DifflabError(f"{path} is damaged (not valid JSON: {e})") from None


def prefixed(prefix: str, state: dict) -> dict:
    return {f"{prefix}.{k}": v for k, v in state.items()}


def unprefixed(prefix: str, tensors: dict) -> dict:
    n = len(prefix) + 1
    return {k[n:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}


def optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict, dict]:
    """Adam's per-parameter state as flat tensors, and its param_groups as JSON."""
    sd = opt.state_dict()
    tensors = {}
    for idx, st in sd["state"].items():
        for k, v in st.items():
            tensors[f"opt.{idx}.{k}"] = torch.as_tensor(v)
    return tensors, sd["param_groups"]


def load_optimizer(opt: torch.optim.Optimizer, tensors: dict, param_groups: list) -> None:
    state: dict = {}
    for key, v in tensors.items():
        if key.startswith("opt."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = v
    opt.load_state_dict({"state": state, "param_groups": param_groups})


def save_checkpoint(run_dir: Path, net, ema, opt, generator: torch.Generator, perm: torch.Tensor, info: dict) -> None:
    tensors = {**prefixed("net", net.state_dict()), **prefixed("ema", ema.net.state_dict())}
    opt_tensors, groups = optimizer_tensors(opt)
    tensors.update(opt_tensors)
    tensors["rng.torch"] = generator.get_state()
    tensors["perm"] = perm
    save_tensors(run_dir / "checkpoint.safetensors", tensors)
    atomic_write_text(run_dir / "checkpoint.json", json.dumps({**info, "param_groups": groups}, indent=1))


def load_checkpoint(run_dir: Path, net, ema, opt, generator: torch.Generator):
    """Restore everything in place; returns (perm, info). Raises DifflabError when missing or damaged."""
    ck = run_dir / "checkpoint.safetensors"
    if not ck.is_file():
        raise DifflabError(f"cannot resume: no checkpoint in {run_dir} (expected {ck.name})")
    tensors = load_tensors(ck)
    info = load_json(run_dir / "checkpoint.json")
    try:
        net.load_state_dict(unprefixed("net", tensors))
        ema.net.load_state_dict(unprefixed("ema", tensors))
        load_optimizer(opt, tensors, info["param_groups"])
        generator.set_state(tensors["rng.torch"])
        perm = tensors["perm"]
    except (KeyError, RuntimeError, ValueError) as e:
        raise DifflabError(f"cannot resume: checkpoint in {run_dir} does not match this run ({e})") from None
    return perm, info
