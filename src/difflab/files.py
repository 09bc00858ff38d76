"""Files that load safely and never appear half-written: JSON and safetensors (tensors only,
nothing executed on load). Every write goes to a temporary file, is flushed to disk (fsync), then
renamed over the old file, and the folder is synced so the rename itself survives a power cut:
a reader, or a process killed at any moment, sees the old file or the new one, never a mix."""
from __future__ import annotations

import json
import os
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save

from .errors import DifflabError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a crash leaves either the old file or the new one."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)                               # make the rename durable
    finally:
        os.close(fd)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def save_tensors(path: Path, tensors: dict, metadata: dict | None = None) -> None:
    atomic_write_bytes(path, save({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, metadata=metadata))


def load_tensors(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise DifflabError(f"missing file: {path}")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise DifflabError(f"{path} is damaged or not a safetensors file ({e})") from None


def load_json(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise DifflabError(f"missing file: {path}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DifflabError(f"{path} is damaged (not valid JSON: {e})") from None
