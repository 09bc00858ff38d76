"""Files that load safely and never appear half-written: JSON, safetensors (tensors only,
nothing executed on load) and NumPy arrays, each written to a temporary name beside the target,
flushed to disk and renamed, so a full disk or a crash leaves the old file or none, never a
truncated one."""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import DifflabError


def _replace(tmp: Path, path: Path) -> None:
    """Make the finished temporary file `tmp` durable, then put it in place of `path` atomically."""
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary name beside `path` to write; on success it replaces `path` atomically,
    on any failure (a full disk: OSError) it is removed and `path` is left as it was."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        _replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def save_tensors(path: Path, tensors: dict, metadata: dict | None = None) -> None:
    with atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=metadata)


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
