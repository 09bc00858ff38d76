"""Geometry of sentence embeddings: unit rows, nearest neighbours by cosine, principal axes."""
from __future__ import annotations

import numpy as np

TILE = 1024             # rows of a cosine tile (TILE x n_reference float32)


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32); a zero row stays zero."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def nearest_cosines(x: np.ndarray, reference: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(cosines (N, k), indices (N, k)) of the k reference rows most similar to each row of x,
    most similar first; computed in tiles so 10k x 10k never sits in memory at once."""
    a, b = unit_rows(x), unit_rows(reference)
    k = min(k, len(b))
    sims, idx = np.empty((len(a), k), np.float32), np.empty((len(a), k), np.int64)
    for i0 in range(0, len(a), TILE):
        c = a[i0:i0 + TILE] @ b.T
        top = np.argpartition(-c, k - 1, axis=1)[:, :k] if k < len(b) else np.tile(np.arange(len(b)), (len(c), 1))
        top_c = np.take_along_axis(c, top, axis=1)
        order = np.argsort(-top_c, axis=1)
        idx[i0:i0 + TILE] = np.take_along_axis(top, order, axis=1)
        sims[i0:i0 + TILE] = np.take_along_axis(top_c, order, axis=1)
    return sims, idx


def pca_basis(x: np.ndarray, n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(centre (d,), basis (d, n)): the mean and the top-n principal directions of x (N, d)."""
    x = np.asarray(x, dtype=np.float64)
    centre = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - centre, full_matrices=False)
    basis = vt[:n].T
    basis *= np.sign(basis[np.abs(basis).argmax(axis=0), np.arange(n)])    # a fixed sign per axis
    return centre, basis
