"""Boards <-> vectors: decoding model output by rounding, and checking boards given by the user.

A board of n cells is a vector of n values in {-1, 0, 1} (1 = first player, -1 = second,
0 = empty). The diffusion model works on the same vectors as float32; its samples are decoded
by rounding every value to the nearest of -1, 0, 1 (values beyond +-1 are clipped first, so
1.7 -> 1 and -0.4 -> 0; a tie at +-0.5 rounds to even, i.e. to 0).
"""
from __future__ import annotations

import numpy as np

from ..errors import DifflabError

VALUES = (-1, 0, 1)


def encode(boards) -> np.ndarray:
    """Integer boards (N, n) -> float32 vectors (N, n) with the same values (what the model sees)."""
    return np.asarray(boards, dtype=np.float32)


def decode(x) -> np.ndarray:
    """Float vectors (N, n) -> int8 boards: each value rounded to the nearest of -1, 0, 1."""
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise DifflabError(f"cannot decode boards: {int((~np.isfinite(x)).sum())} values are NaN or infinite")
    return np.rint(np.clip(x, -1.0, 1.0)).astype(np.int8)


def move_counts(boards) -> np.ndarray:
    """Discs (pieces) on each board: the number of moves played, (N,) int64."""
    return (np.asarray(boards) != 0).sum(axis=1).astype(np.int64)


def validate_boards(x, n_cells: int, source: str = "boards") -> np.ndarray:
    """User-given boards -> int8 (N, n_cells), or a DifflabError saying what is wrong.

    Accepts (N, n_cells) or a single board (n_cells,), and also (N, rows, cols) grids whose cells
    number n_cells; every value must be exactly -1, 0 or 1 (integers or integer-valued floats).
    `source` names the file or object in the message.
    """
    x = np.asarray(x)
    if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise DifflabError(f"{source}: boards must be numbers, got dtype {x.dtype}")
    if x.ndim == 1 and x.size == n_cells:
        x = x[None]
    elif x.ndim >= 3 and int(np.prod(x.shape[1:])) == n_cells:
        x = x.reshape(len(x), n_cells)
    if x.ndim != 2 or x.shape[1] != n_cells:
        raise DifflabError(f"{source}: expected boards of shape (N, {n_cells}) (one row per board, row-major), "
                           f"got shape {x.shape}")
    if len(x) == 0:
        raise DifflabError(f"{source}: holds no boards")
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise DifflabError(f"{source}: holds {int((~np.isfinite(x)).sum())} NaN or infinite values")
    bad = ~np.isin(x, VALUES)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        raise DifflabError(f"{source}: board values must be -1, 0 or 1 (1 = first player, -1 = second, 0 = empty); "
                           f"{int(bad.sum())} values are not, the first at board {row}, cell {col}: {x[row, col]!r}")
    return x.astype(np.int8)
