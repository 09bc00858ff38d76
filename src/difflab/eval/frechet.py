"""Distances between two sets of feature vectors: the Frechet distance and k-NN precision/recall.

- `frechet_distance(a, b)`: the Frechet (2-Wasserstein) distance between the Gaussians fitted to
  a (n, F) and b (m, F): |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^{1/2}). This is
  the formula of FID; it is only "FID" in Inception features, so callers name the feature space.
- `knn_precision_recall(real, fake, k)`: Kynkaanniemi et al. 2019, "Improved precision and recall
  metric for assessing generative models": each set's manifold is the union of balls around its
  points with radius the distance to the k-th nearest other point of the same set; precision is
  the share of fake points inside the real manifold (are samples realistic?), recall the share
  of real points inside the fake manifold (is the data's variety covered?).

The trace term. `scipy.linalg.sqrtm(S_a @ S_b)` (as pytorch-fid computes it) takes the root of a
non-symmetric product: round-off gives it complex parts, and singular covariances (fewer points
than features, dead features) can make it fail, which that code papers over by adding eps*I.
Here the same number is computed exactly from symmetric matrices: S_a S_b is similar to
M = S_a^{1/2} S_b S_a^{1/2}, which is symmetric positive semi-definite, so
tr((S_a S_b)^{1/2}) = sum_i sqrt(lambda_i(M)); eigenvalues below zero are round-off and are
set to zero. Nothing complex, no offset, singular covariances are fine (the tests check the
value against sqrtm on well-conditioned covariances). With fewer points than feature dimensions
the covariance estimate is singular and the distance strongly biased upward; read it against a
floor computed at the same sample size.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import eigh, eigvalsh

from ..errors import DifflabError

TILE_ROWS = 1024        # rows of a distance tile (TILE_ROWS x m float64); 10k columns: 80 MiB


def _features(x, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise DifflabError(f"{what}: expected features of shape (N, F), got {x.shape}")
    if len(x) < 2:
        raise DifflabError(f"{what}: need at least 2 feature vectors, got {len(x)}")
    if not np.all(np.isfinite(x)):
        raise DifflabError(f"{what}: features hold NaN or infinite values")
    return x


def _pair(a, b) -> tuple[np.ndarray, np.ndarray]:
    a, b = _features(a, "first set"), _features(b, "second set")
    if a.shape[1] != b.shape[1]:
        raise DifflabError(f"the two feature sets differ in dimension: {a.shape[1]} vs {b.shape[1]}")
    centre = np.concatenate([a, b]).mean(axis=0)         # translation invariant; centring keeps digits
    return a - centre, b - centre


def gaussian_fit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (F,) and unbiased covariance (F, F) of features x (N, F)."""
    return x.mean(axis=0), np.cov(x, rowvar=False, ddof=1).reshape(x.shape[1], x.shape[1])


def trace_sqrt_product(s1: np.ndarray, s2: np.ndarray) -> float:
    """tr((s1 s2)^{1/2}) for symmetric PSD s1, s2, as the sum of sqrt of the eigenvalues of
    s1^{1/2} s2 s1^{1/2} (see the module docstring)."""
    w, v = eigh(s1)
    root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
    m = root @ s2 @ root
    lam = eigvalsh(0.5 * (m + m.T))
    return float(np.sqrt(np.clip(lam, 0.0, None)).sum())


def frechet_distance_gaussians(mu1, s1, mu2, s2) -> float:
    """Squared 2-Wasserstein distance between N(mu1, s1) and N(mu2, s2); >= 0 (round-off below
    zero, as for identical inputs, is returned as 0)."""
    diff = np.asarray(mu1, dtype=np.float64) - np.asarray(mu2, dtype=np.float64)
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_sqrt_product(s1, s2))
    return max(value, 0.0)


def frechet_distance(a, b) -> float:
    """Frechet distance between Gaussian fits (mean, unbiased covariance) of feature sets a (n, F)
    and b (m, F). Same units as squared features; 0 only when mean and covariance agree."""
    a, b = _pair(a, b)
    return frechet_distance_gaussians(*gaussian_fit(a), *gaussian_fit(b))


# -- k-NN precision and recall -----------------------------------------------------------------------

def _sq_dists(a: np.ndarray, b: np.ndarray, a_sq: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    d2 = a @ b.T
    d2 *= -2.0
    d2 += a_sq[:, None]
    d2 += b_sq[None, :]
    return np.maximum(d2, 0.0, out=d2)


def knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Squared distance from each row of x (n, F) to its k-th nearest OTHER row -> (n,)."""
    if not 1 <= k < len(x):
        raise DifflabError(f"k must be between 1 and the number of points - 1 ({len(x) - 1}), got {k}")
    sq = np.einsum("ij,ij->i", x, x)
    out = np.empty(len(x))
    for i0 in range(0, len(x), TILE_ROWS):
        i1 = min(i0 + TILE_ROWS, len(x))
        d2 = _sq_dists(x[i0:i1], x, sq[i0:i1], sq)
        d2[np.arange(i1 - i0), np.arange(i0, i1)] = 0.0     # the point itself is neighbour 0
        out[i0:i1] = np.partition(d2, k, axis=1)[:, k]
    return out


def share_inside(points: np.ndarray, centres: np.ndarray, radii2: np.ndarray) -> float:
    """Share of points within squared distance radii2[j] of at least one centre j."""
    p_sq, c_sq = np.einsum("ij,ij->i", points, points), np.einsum("ij,ij->i", centres, centres)
    inside = 0
    for i0 in range(0, len(points), TILE_ROWS):
        i1 = min(i0 + TILE_ROWS, len(points))
        d2 = _sq_dists(points[i0:i1], centres, p_sq[i0:i1], c_sq)
        inside += int(np.count_nonzero((d2 <= radii2[None, :]).any(axis=1)))
    return inside / len(points)


def knn_precision_recall(real, fake, k: int = 3) -> dict:
    """{"precision", "recall", "k"} of fake features (m, F) against real features (n, F) with
    k-nearest-neighbour manifolds (Kynkaanniemi et al. 2019; they use k = 3). Both in [0, 1]."""
    real, fake = _pair(real, fake)
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise DifflabError(f"k must be an integer, got {k!r}")
    precision = share_inside(fake, real, knn_radii(real, k))
    recall = share_inside(real, fake, knn_radii(fake, k))
    return {"precision": precision, "recall": recall, "k": int(k)}
