"""One trainer per run folder: an exclusive lock on `train.lock` inside it while it trains.

The lock is an flock(2) on an open file, so the kernel releases it when the process ends in any
way (kill -9 included); a stale lock file never blocks the next run. The file stays in the
folder: deleting it would let two processes lock two different files of the same name.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..errors import DifflabError

LOCK_NAME = "train.lock"


class RunLock:
    """Hold the run folder's lock; a second holder gets a one-line DifflabError."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> "RunLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DifflabError(f"{self.path.parent} is being trained by another process "
                               f"(it holds {self.path.name}); wait for it or choose another --out") from None
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)                      # closing the file drops the lock
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False
