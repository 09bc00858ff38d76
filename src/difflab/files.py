"""Files that load safely and never appear half-written: JSON and safetensors (tensors only,
nothing executed on load), each written to a temporary name, flushed to disk and renamed."""
from __future__ import annotations

import json
import os
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import DifflabError


def _replace(tmp: Path, path: Path) -> None:
    """Make the finished temporary file `tmp` durable, then put it in place of `path` atomically."""
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    _replace(tmp, path)


def save_tensors(path: Path, tensors: dict, metadata: dict | None = None) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=metadata)
    _replace(tmp, path)


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
