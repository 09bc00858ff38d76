"""Where a dataset's files are looked for, whatever its kind.

In order: `data_dir` and `data_dir/<name>`; `../shared/data/<name>` relative to the working
directory and to the repository; ~/.cache/difflab/<name>; then any folders the dataset names
itself (a system package's install folder).
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]          # src/difflab/data/paths.py -> repository
CACHE = Path("~/.cache/difflab")


def search_dirs(name: str, data_dir, extra=()) -> list[Path]:
    """Folders to look in for dataset `name`, in order, without duplicates."""
    dirs = []
    if data_dir is not None:
        d = Path(data_dir).expanduser()
        dirs += [d, d / name]
    dirs += [Path.cwd() / ".." / "shared" / "data" / name, REPO_ROOT / ".." / "shared" / "data" / name,
             CACHE.expanduser() / name] + list(extra)
    return list(dict.fromkeys(Path(os.path.abspath(d)) for d in dirs))
