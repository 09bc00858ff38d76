"""Sampling into a file in bounded memory: `difflab sample --batch-size B` draws B samples at a
time and writes each batch into a memory-mapped .npy, so a million 2D samples never sit in memory
at once. The file is written under a temporary name and renamed when complete, so a crash or a
full disk never leaves a truncated .npy behind; an output that cannot fit is refused first.

One generator serves every batch in turn, so a given (seed, batch size) always gives the same
samples; another batch size draws the same distribution in another order of random numbers.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .errors import DifflabError
from .outputs import check_room
from .utils import make_generator

def npy_bytes(n: int, shape: tuple, dtype) -> int:
    """The data bytes of an (n, *shape) array of `dtype` (the .npy header adds about 128)."""
    return int(n) * int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize


def _slice(labels, start: int, m: int):
    return labels if labels is None or isinstance(labels, int) else labels[start:start + m]


def sample_to_npy(run, n: int, out, *, batch_size: int, seed: int = 0, progress: bool = True,
                  **sample_kw):
    """Draw n samples from `run` in batches of `batch_size` into the .npy file `out`; returns the
    first batch's `SampleResult` (its sampler, steps and NFE) with `seconds` summed over batches.
    `sample_kw` are those of `Run.sample_with_info` (sampler, steps, labels (one int), guidance ...)."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise DifflabError(f"--batch-size must be a positive integer, got {batch_size!r}")
    if not isinstance(n, int) or n < 1:
        raise DifflabError(f"the number of samples must be a positive integer, got {n!r}")
    out = Path(out)
    labels = sample_kw.pop("labels", None)                         # None, one int, or n ints
    if labels is not None and not isinstance(labels, int) and len(labels) != n:
        raise DifflabError(f"labels: expected one per sample ({n}), got {len(labels)}")
    shape = run.hooks.sample_shape(run)
    check_room(out, npy_bytes(n, shape, np.float32), "samples file")   # the widest dtype a kind returns
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp.npy")
    generator = make_generator(seed, run.device)
    first, seconds, data = None, 0.0, None
    try:
        with tqdm(total=n, disable=not progress, desc="sampling", unit="sample") as bar:
            for start in range(0, n, batch_size):
                m = min(batch_size, n - start)
                res = run.sample_with_info(m, generator=generator, labels=_slice(labels, start, m), **sample_kw)
                if data is None:                          # the first batch says the finished dtype (boards: int8)
                    data = np.lib.format.open_memmap(tmp, mode="w+", dtype=res.samples.dtype, shape=(n, *shape))
                data[start:start + m] = res.samples
                seconds += res.seconds
                first = first or res
                bar.update(m)
        data.flush()
        del data
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    first.seconds = seconds
    return first
