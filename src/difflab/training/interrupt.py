"""Ctrl-C (SIGINT) during training ends the run at the next step boundary, never mid-step.

While training, the first SIGINT only raises a flag; the loop finishes the step it is in, saves
a checkpoint whose step counter, data position, random generators and optimiser all agree, and
stops. A second SIGINT is the impatient user: it raises KeyboardInterrupt at once, and the run
keeps its last complete checkpoint (checkpoint writes are atomic). Outside the main thread,
where Python cannot install signal handlers and delivers no SIGINT, nothing changes.
"""
from __future__ import annotations

import signal
import threading


class StopOnInterrupt:
    """Context manager; `.requested` turns true after the first SIGINT."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False
