"""Boards <-> vectors: the two encodings the model can see, decoding its output, and checking
boards given by the user.

A board of n cells is a vector of n values in {-1, 0, 1} (1 = first player, -1 = second,
0 = empty). The diffusion model sees it in one of two encodings (`ENCODINGS`):

- "value": the same n values as float32, shape (n,); samples are decoded by rounding every value
  to the nearest of -1, 0, 1 (values beyond +-1 are clipped first, so 1.7 -> 1 and -0.4 -> 0; a
  tie at +-0.5 rounds to even, i.e. to 0).
- "onehot": three channels per cell (empty, first player, second player), +1 for the cell's
  state and -1 for the other two ("analog bits", Chen et al. 2022), shape (n, 3); samples are
  decoded by the largest channel of each cell. The three states sit at equal distances, so the
  model never has to pass "empty" to turn an X into an O, and a cell's three scores are kept
  apart instead of sharing one number line.

The encoding shows in the shape of one sample, (n,) or (n, 3), so `decode` needs no option and
a run's encoding is known from its shape alone (`encoding_of`).
"""
from __future__ import annotations

import numpy as np

from ...errors import DifflabError, unknown_name

VALUES = (-1, 0, 1)
ENCODINGS = ("value", "onehot")
CHANNEL_VALUES = np.array([0, 1, -1], dtype=np.int8)     # onehot channel k holds the cells of value CHANNEL_VALUES[k]


def check_encoding(encoding) -> str:
    if encoding not in ENCODINGS:
        raise unknown_name("board encoding", encoding, ENCODINGS)
    return encoding


def encoding_of(shape) -> str:
    """The encoding of one sample of this shape: (n,) "value", (n, 3) "onehot"."""
    shape = tuple(shape)
    if len(shape) == 1:
        return "value"
    if len(shape) == 2 and shape[1] == len(CHANNEL_VALUES):
        return "onehot"
    raise DifflabError(f"a board is encoded as (cells,) or (cells, 3); got a sample of shape {shape}")


def encode(boards, encoding: str = "value") -> np.ndarray:
    """Integer boards (N, n) -> float32 (N, n) ("value") or (N, n, 3) ("onehot"), what the model sees."""
    b = np.asarray(boards)
    if check_encoding(encoding) == "value":
        return b.astype(np.float32)
    channel = np.rint(b).astype(np.int64) % 3                  # 0 -> 0, 1 -> 1, -1 -> 2
    return (2 * np.eye(3, dtype=np.float32)[channel] - 1).astype(np.float32)


def decode(x) -> np.ndarray:
    """Model output -> int8 boards (N, n). (N, n): each value rounded to the nearest of -1, 0, 1;
    (N, n, 3): each cell takes the state of its largest channel (see the module's docstring)."""
    x = np.asarray(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise DifflabError(f"cannot decode boards: {int((~np.isfinite(x)).sum())} values are NaN or infinite")
    if x.ndim == 3 and encoding_of(x.shape[1:]) == "onehot":
        return CHANNEL_VALUES[np.argmax(x, axis=-1)]
    if x.ndim != 2:
        raise DifflabError(f"cannot decode boards of shape {x.shape}: expected (N, cells) or (N, cells, 3)")
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
