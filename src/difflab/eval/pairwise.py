"""Sums of a function of pairwise squared distances, in tiles, so memory stays bounded.

`pair_sum(a, b, fn)` returns `sum_{i,j} fn(|a_i - b_j|^2)` without ever holding the full
(n, m) distance matrix: the rows and columns are cut into tiles of `TILE` points and `fn`
reduces one tile (a float64 array of squared distances, which it may overwrite) to a float.

Squared distances are exact differences for low dimension (d <= DIRECT_MAX_DIM, where the
usual `|a|^2 + |b|^2 - 2 a.b` expansion loses digits for near pairs, and a square root then
amplifies the loss) and the matmul expansion, clipped at zero, above it. Callers centre the
pooled data first, which keeps the expansion's cancellation small.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

TILE = 256              # points per tile side: a tile holds TILE^2 float64 = 512 KiB (cache-sized)
DIRECT_MAX_DIM = 4      # up to this dimension, distances are summed coordinate by coordinate


def as_rows(x) -> np.ndarray:
    """(N, ...) -> float64 (N, d), one flattened sample per row."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        raise ValueError("expected an array of samples (N, ...), got a scalar")
    return x.reshape(len(x), -1) if x.ndim != 1 else x[:, None]


def _tile_sq_dists(a, b, a_sq, b_sq, out, tmp):
    """Squared distances between the rows of a (p, d) and b (q, d) into out (p, q)."""
    d = a.shape[1]
    if d <= DIRECT_MAX_DIM:
        np.subtract.outer(a[:, 0], b[:, 0], out=out)
        np.multiply(out, out, out=out)
        for k in range(1, d):
            np.subtract.outer(a[:, k], b[:, k], out=tmp)
            np.multiply(tmp, tmp, out=tmp)
            out += tmp
    else:
        np.matmul(a, b.T, out=out)
        out *= -2.0
        out += a_sq[:, None]
        out += b_sq[None, :]
        np.maximum(out, 0.0, out=out)
    return out


def pair_sum(a: np.ndarray, b: np.ndarray | None, fn: Callable[[np.ndarray], float]) -> float:
    """sum over all (i, j) of fn(|a_i - b_j|^2); b=None means b = a (the diagonal is included,
    with squared distance exactly 0, and symmetry halves the work)."""
    same = b is None
    b = a if same else b
    a_sq = np.einsum("ij,ij->i", a, a)
    b_sq = a_sq if same else np.einsum("ij,ij->i", b, b)
    buf = np.empty((TILE, TILE))
    tmp = np.empty((TILE, TILE))
    total = 0.0
    for i0 in range(0, len(a), TILE):
        i1 = min(i0 + TILE, len(a))
        for j0 in range(i0 if same else 0, len(b), TILE):
            j1 = min(j0 + TILE, len(b))
            p, q = i1 - i0, j1 - j0
            d2 = _tile_sq_dists(a[i0:i1], b[j0:j1], a_sq[i0:i1], b_sq[j0:j1], buf[:p, :q], tmp[:p, :q])
            if same and i0 == j0:
                np.fill_diagonal(d2, 0.0)
            weight = 2.0 if same and j0 != i0 else 1.0   # an off-diagonal tile stands for its mirror too
            total += weight * float(fn(d2))
    return total
