"""Files that load safely and never appear half-written: JSON, safetensors (tensors only, nothing
executed on load) and NumPy arrays. Every write goes to a temporary name beside the target, is
flushed to disk (fsync), then renamed over the old file, and the folder is synced so the rename
itself survives a power cut: a reader, or a process killed at any moment, sees the old file or
the new one, never a mix. A write that fails (a full disk) removes its temporary file."""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from .errors import DifflabError


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary name beside `path` to write. When the block ends, the file is flushed to
    disk and replaces `path` atomically; when it fails, the temporary file is removed and `path`
    is left as it was. (A process that dies leaves `<name>.tmp`, which the next write replaces.)"""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
    except Exception:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)                               # make the rename durable
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def save_tensors(path: Path, tensors: dict, metadata: dict | None = None) -> None:
    atomic_write_bytes(path, save({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, metadata=metadata))


def save_npy(path: Path, x: np.ndarray) -> Path:
    """`np.save(path, x)`, atomically (an open file handle, so NumPy adds no second suffix)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.asarray(x), allow_pickle=False)
    return Path(path)


def save_npz(path: Path, **arrays: np.ndarray) -> Path:
    """`np.savez(path, **arrays)`, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})
    return Path(path)


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
