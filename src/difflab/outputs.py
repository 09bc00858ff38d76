"""Where commands write: nothing of the user's is replaced unless asked, and never a folder
that is not a difflab run folder.

Every check here runs before the work it guards, reads the file system and writes nothing that
stays behind (a folder's writability is probed with a temporary file, removed at once):

    check_new_file(path, overwrite)        an output file: not a folder, not an existing file
                                           without --overwrite, in a folder that can be written
    check_new_files(paths, overwrite)      the same for several files (or output folders) at once
    check_room(path, n_bytes)              enough free disk beside `path` for `n_bytes`
    check_replaceable_run_dir(path, inputs)   what `train --out path --overwrite` may delete:
                                           only a difflab run folder that holds none of the inputs
    check_replaceable_study_dir(path)      what `run --out path --overwrite` may delete: only
                                           run folders and the study's report
    run_inputs(cfg)                        the files and folders a config reads (its data file,
                                           a dataset's folder), for check_replaceable_run_dir
    staged_folder(dest, overwrite)         pictures drawn into a temporary folder, then moved
                                           into `dest` file by file (os.replace)

The writes themselves are atomic (difflab.files: a temporary name, then os.replace).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import DifflabError


def nearest_existing(path: Path) -> Path:
    """`path` itself or its closest ancestor that exists."""
    path = Path(os.path.abspath(path))
    while not path.exists() and not path.is_symlink() and path != path.parent:
        path = path.parent
    return path


def check_writable_folder(folder: Path, what: str = "output") -> None:
    """`folder` exists as a writable folder or can be created: its closest existing ancestor is
    a folder (not a file) in which a file can be made."""
    folder = Path(folder)
    base = nearest_existing(folder)
    if not base.is_dir():
        raise DifflabError(f"cannot write the {what} in {folder}: {base} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".difflab-probe-", dir=base)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise DifflabError(f"cannot write the {what} in {folder}: folder {base} is not writable ({reason})") from None
    os.close(fd)
    os.unlink(probe)


def check_new_file(path, overwrite: bool = False, flag: str = "--out") -> Path:
    """An output file the command may write: refuses a folder, an existing file without
    `overwrite`, and a place that cannot be written. Creates nothing."""
    path = Path(path)
    if path.is_dir():
        raise DifflabError(f"{path} is a folder; {flag} names the file to write")
    if path.exists() or path.is_symlink():
        if not overwrite:
            raise DifflabError(f"{path} already exists; choose another {flag} or pass --overwrite to replace it")
        if not path.is_file():
            raise DifflabError(f"{path} exists and is not a regular file; not replacing it")
    check_writable_folder(path.parent)
    return path


def check_new_files(paths, overwrite: bool = False, flag: str = "--out") -> None:
    """`check_new_file` for each path; a path that exists as a folder (the WAV folder of an audio
    sample) is refused without `overwrite`, like a file."""
    for path in map(Path, paths):
        if path.is_dir():
            if not overwrite:
                raise DifflabError(f"{path} already exists; choose another {flag} or pass --overwrite to replace it")
            check_writable_folder(path)
        else:
            check_new_file(path, overwrite, flag)


def check_room(path, n_bytes: int, what: str = "output") -> None:
    """Enough free disk where `path` goes for `n_bytes` (with a margin of 1%)."""
    base = nearest_existing(Path(path).parent)
    free = shutil.disk_usage(base if base.is_dir() else base.parent).free
    if n_bytes * 1.01 > free:
        raise DifflabError(f"the {what} {path} needs {_size(n_bytes)} but only {_size(free)} are free on {base}")


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"


def is_run_dir(path: Path) -> bool:
    """A folder holding a config.json that difflab wrote (a JSON object with its version and config)."""
    cfg = Path(path) / "config.json"
    if not cfg.is_file():
        return False
    try:
        info = json.loads(cfg.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(info, dict) and "version" in info and isinstance(info.get("config"), dict)


def check_replaceable_run_dir(path, inputs=()) -> None:
    """What `train --out path --overwrite` may delete: nothing (a missing or empty folder), or a
    difflab run folder (see `is_run_dir`) that holds none of `inputs` (the data file, a dataset's
    folder, the --config file: see `run_inputs`) and is not the working directory or above it.
    Anything else is a one-line DifflabError and nothing is deleted."""
    path = Path(path)
    if path.is_symlink():
        raise DifflabError(f"--out {path} is a symbolic link; --overwrite replaces only a real run folder")
    if not path.exists():
        return
    if not path.is_dir():
        raise DifflabError(f"--out {path} is a file, not a run folder; --overwrite replaces only a difflab run folder")
    if not any(path.iterdir()):
        return
    if not is_run_dir(path):
        raise DifflabError(f"--out {path} is not a difflab run folder (no config.json written by difflab); "
                           f"--overwrite replaces only a run folder, so choose another --out")
    here = Path.cwd().resolve()
    root = path.resolve()
    if here == root or root in here.parents:
        raise DifflabError(f"--out {path} holds the working directory; --overwrite would delete it")
    for item in inputs:
        item = Path(item).resolve()
        if item == root or root in item.parents:
            raise DifflabError(f"--out {path} holds this run's input {item}; --overwrite would delete it, "
                               f"so choose another --out")


STUDY_FILES = ("report.html", "report.md", "summary.json")     # what `difflab run` writes beside its run folders


def check_replaceable_study_dir(path) -> None:
    """What `difflab run --out path --overwrite` may delete: nothing, or a folder that holds only
    difflab run folders and the study's report files (STUDY_FILES). Anything else, a thesis.txt
    say, is a one-line DifflabError and nothing is deleted."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise DifflabError(f"--out {path} is not a folder; --overwrite replaces only a difflab study folder")
    if not path.exists():
        return
    here = Path.cwd().resolve()
    if here == path.resolve() or path.resolve() in here.parents:
        raise DifflabError(f"--out {path} holds the working directory; --overwrite would delete it")
    for item in sorted(path.iterdir()):
        if not (item.name in STUDY_FILES and item.is_file()) and not (item.is_dir() and is_run_dir(item)):
            raise DifflabError(f"--out {path} holds {item.name}, which difflab did not write; --overwrite replaces "
                               f"only a difflab study folder, so choose another --out")


def run_inputs(cfg) -> list[Path]:
    """The existing files and folders a config reads: its data (a file, or the path after a
    `prefix:` such as `wav:FOLDER`) and every string dataset option that names an existing path
    (e.g. data_options.data_dir)."""
    names = [str(cfg.data)] + [v for v in dict(cfg.data_options).values() if isinstance(v, str)]
    found = []
    for name in names:
        for candidate in (name, name.partition(":")[2]):
            if candidate and Path(candidate).exists():
                found.append(Path(candidate))
    return found


class _Stage:
    def __init__(self, folder: Path):
        self.folder = folder            # where the block writes
        self.moved: list[Path] = []     # the files in their final place, once the block ended


@contextmanager
def staged_folder(dest, overwrite: bool = False):
    """A temporary folder inside `dest` (created if needed) for files drawn by code that writes in
    place (pictures); when the block ends each file is moved into `dest` with os.replace, so a
    reader never sees half a picture. Without `overwrite`, a file that appeared in `dest`
    meanwhile is refused. The temporary folder is always removed."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    stage = _Stage(Path(tempfile.mkdtemp(prefix=".difflab-stage-", dir=dest)))
    try:
        yield stage
        files = sorted(p for p in stage.folder.iterdir() if p.is_file())
        if not overwrite:
            for p in files:
                if (dest / p.name).exists():
                    raise DifflabError(f"{dest / p.name} already exists; pass --overwrite to replace it")
        for p in files:
            os.replace(p, dest / p.name)
            stage.moved.append(dest / p.name)
    finally:
        shutil.rmtree(stage.folder, ignore_errors=True)
