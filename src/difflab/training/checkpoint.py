"""Checkpoints as safetensors (tensors only, nothing executed on load) plus JSON.

A training checkpoint is one file, `checkpoint.safetensors`: the network, the EMA network,
Adam's moments, every random generator's state and the epoch's permutation as tensors, and the
loop's JSON state (step, epoch position, loss history, Adam's hyper-parameters, the run's
settings) in its metadata, beside a sha256 over all of it. One file replaced by one rename
cannot tear: a reader sees the old checkpoint or the new one, never a mix. A file whose hash
does not match is refused. `checkpoint.json` is a readable copy of the JSON state for people
and tools; resume never reads it, so a crash between the two writes loses nothing.

Every write goes to a temporary file, is flushed to disk (fsync), then renamed over the old
file, and the folder is synced so the rename itself survives a power cut.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

from ..errors import DifflabError
from ..files import atomic_write_bytes, atomic_write_text

FORMAT = "difflab-checkpoint-2"      # the metadata tag of a checkpoint written by this file
CHECKPOINT = "checkpoint.safetensors"


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


def digest(tensors: dict, state_json: str) -> str:
    """sha256 over the JSON state and every tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256(state_json.encode())
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        h.update(f"\0{name}\0{t.dtype}\0{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_checkpoint(run_dir: Path, tensors: dict, state: dict) -> None:
    """Write the one-file checkpoint, then its readable copy `checkpoint.json`."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    state_json = json.dumps(state)
    meta = {"format": FORMAT, "state": state_json, "sha256": digest(tensors, state_json)}
    atomic_write_bytes(run_dir / CHECKPOINT, save(tensors, metadata=meta))
    atomic_write_text(run_dir / "checkpoint.json", json.dumps(state, indent=1))


def read_checkpoint(run_dir: Path) -> tuple[dict, dict]:
    """(tensors, state) of the run's checkpoint, checked against its hash; a one-line DifflabError
    when it is missing, damaged or torn."""
    path = run_dir / CHECKPOINT
    if not path.is_file():
        raise DifflabError(f"cannot resume: no checkpoint in {run_dir} (expected {CHECKPOINT})")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise DifflabError(f"cannot resume: {path} is damaged or not a safetensors file ({e})") from None
    if meta.get("format") != FORMAT or "state" not in meta or "sha256" not in meta:
        raise DifflabError(f"cannot resume: {path} is not a difflab training checkpoint of this version "
                           f"(format {meta.get('format')!r}, expected {FORMAT!r})")
    if digest(tensors, meta["state"]) != meta["sha256"]:
        raise DifflabError(f"cannot resume: {path} is damaged (its contents do not match their sha256)")
    try:
        state = json.loads(meta["state"])
    except json.JSONDecodeError as e:
        raise DifflabError(f"cannot resume: {path} holds a damaged state ({e})") from None
    return tensors, state
