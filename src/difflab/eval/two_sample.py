"""Two-sample statistics: how far apart are the distributions behind two samples?

Every function takes arrays (N, ...) and (M, ...) with the same per-sample shape, flattens them
to (N, d) and (M, d) in float64, and returns a float. None is meaningful alone: a value is read
against its noise floor (`floor.py`), the same statistic between two samples of the truth.

- `mmd2_unbiased`: squared maximum mean discrepancy, the unbiased U-statistic, with a sum of
  five RBF kernels around the median pairwise distance. Exactly 0 in expectation when the two
  distributions agree (so it can be slightly negative).
- `energy_distance`: the squared energy distance `2E|X-Y| - E|X-X'| - E|Y-Y'|`, V-statistic form
  (equal to `scipy.stats.energy_distance(x, y) ** 2` in 1-D).
- `sliced_wasserstein2`: the sliced 2-Wasserstein distance over random unit directions.

`METRICS` maps the names "mmd2", "energy", "sw2" to callables `metric(x, y, rng) -> float`.
Pairwise statistics cost O(N M d) time and O(TILE^2) memory (see `pairwise.py`).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.spatial.distance import pdist

from ..errors import DifflabError
from .pairwise import as_rows, pair_sum

BANDWIDTH_MULTIPLIERS = (0.25, 0.5, 1.0, 2.0, 4.0)   # RBF bandwidths, in units of the median distance
MEDIAN_MAX_POINTS = 1000                              # the median is taken on at most this many pooled points


def _pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Flatten both samples to (n, d), check they match, and centre them on the pooled mean
    (every statistic here is translation invariant; centring keeps distances accurate)."""
    x, y = as_rows(x), as_rows(y)
    if x.shape[1] != y.shape[1]:
        raise DifflabError(f"the two samples differ in size per sample: {x.shape[1]} vs {y.shape[1]} numbers")
    if len(x) < 2 or len(y) < 2:
        raise DifflabError(f"each sample needs at least 2 points, got {len(x)} and {len(y)}")
    centre = np.concatenate([x, y]).mean(axis=0)
    return x - centre, y - centre


def median_distance(z: np.ndarray) -> float:
    """Median Euclidean distance between distinct rows of z (n, d), on a fixed-stride subset of
    at most MEDIAN_MAX_POINTS rows (deterministic). Falls back to the mean distance, then 1, when
    more than half the pairs coincide."""
    step = max(1, math.ceil(len(z) / MEDIAN_MAX_POINTS))
    dists = pdist(z[::step])
    med = float(np.median(dists)) if dists.size else 0.0
    if med <= 0.0:
        med = float(dists.mean()) if dists.size else 0.0
    return med if med > 0.0 else 1.0


def _rbf_sum_fn(bandwidths):
    """A tile reducer: sum over the tile of sum_h exp(-d2 / (2 h^2)).

    With h_max the largest bandwidth, exp(-d2 / (2 h^2)) = u ** ((h_max / h)^2) where
    u = exp(-d2 / (2 h_max^2)). When every (h_max / h)^2 is a power of two (the default
    bandwidths: 1, 4, 16, 64, 256), one exp and repeated squaring give all kernels, which is
    several times faster than one exp per bandwidth."""
    h = np.sort(np.asarray(bandwidths, dtype=np.float64))[::-1]
    powers = (h[0] / h) ** 2
    log2p = np.log2(powers)
    squaring = bool(np.all(np.abs(log2p - np.round(log2p)) < 1e-9))
    c = -0.5 / h[0] ** 2

    if squaring:
        steps = np.round(log2p).astype(int)   # non-decreasing, steps[0] == 0

        def fn(d2):
            d2 *= c
            u = np.exp(d2, out=d2)
            total, done = 0.0, 0
            for s in steps:
                for _ in range(s - done):
                    np.multiply(u, u, out=u)
                done = s
                total += float(u.sum())
            return total
    else:
        cs = -0.5 / h ** 2

        def fn(d2):
            return float(sum(np.exp(ck * d2).sum() for ck in cs))
    return fn


def mmd2_unbiased(x, y, bandwidths=None) -> float:
    """Unbiased squared MMD between samples x (n, ...) and y (m, ...).

    MMD^2 = mean_{i != j} k(x_i, x_j) + mean_{i != j} k(y_i, y_j) - 2 mean_{i, j} k(x_i, y_j),
    with k the SUM of RBF kernels exp(-|a - b|^2 / (2 h^2)) over `bandwidths` (absolute
    lengths); by default h = median pooled pairwise distance * (0.25, 0.5, 1, 2, 4), which
    covers scales from local detail to the global spread. The estimate is unbiased for a fixed
    kernel (the median bandwidth makes that true only to second order), so it averages to 0
    when x and y come from the same distribution and can be slightly negative."""
    x, y = _pair(x, y)
    if bandwidths is None:
        med = median_distance(np.concatenate([x, y]))
        bandwidths = [med * s for s in BANDWIDTH_MULTIPLIERS]
    bandwidths = np.atleast_1d(np.asarray(bandwidths, dtype=np.float64))
    if bandwidths.size == 0 or np.any(~np.isfinite(bandwidths)) or np.any(bandwidths <= 0):
        raise DifflabError(f"bandwidths must be positive finite numbers, got {bandwidths.tolist()}")
    fn = _rbf_sum_fn(bandwidths)
    n, m, n_k = len(x), len(y), len(bandwidths)
    kxx = (pair_sum(x, None, fn) - n * n_k) / (n * (n - 1))   # the diagonal is k(0) = n_k per point
    kyy = (pair_sum(y, None, fn) - m * n_k) / (m * (m - 1))
    kxy = pair_sum(x, y, fn) / (n * m)
    return float(kxx + kyy - 2.0 * kxy)


def _sqrt_sum(d2):
    return float(np.sqrt(d2, out=d2).sum())


def energy_distance(x, y) -> float:
    """Squared energy distance 2E|X-Y| - E|X-X'| - E|Y-Y'| between samples x (n, ...) and
    y (m, ...), V-statistic form (the means include the zero diagonal terms), so it is >= 0 and
    equals scipy.stats.energy_distance(x, y) ** 2 for 1-D samples."""
    x, y = _pair(x, y)
    n, m = len(x), len(y)
    exy = pair_sum(x, y, _sqrt_sum) / (n * m)
    exx = pair_sum(x, None, _sqrt_sum) / (n * n)
    eyy = pair_sum(y, None, _sqrt_sum) / (m * m)
    return float(2.0 * exy - exx - eyy)


def w2_squared_1d(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Exact squared W2 between empirical measures of SORTED rows xs (P, n) and ys (P, m) -> (P,).

    W2^2 = int_0^1 (F^-1(q) - G^-1(q))^2 dq. Both quantile functions are piecewise constant,
    with steps at the levels i/n and j/m; on the merged grid of these levels the integrand is
    constant, so the integral is an exact weighted sum (equal sizes: mean (xs - ys)^2)."""
    n, m = xs.shape[1], ys.shape[1]
    edges = np.sort(np.concatenate([np.arange(1, n + 1) / n, np.arange(1, m + 1) / m]))
    widths = np.diff(edges, prepend=0.0)
    mid = edges - 0.5 * widths                  # a level inside each interval (zero widths add nothing)
    ix = np.minimum((mid * n).astype(np.int64), n - 1)
    iy = np.minimum((mid * m).astype(np.int64), m - 1)
    return ((xs[:, ix] - ys[:, iy]) ** 2) @ widths


def sliced_wasserstein2(x, y, rng: np.random.Generator, n_projections: int = 256) -> float:
    """Sliced 2-Wasserstein distance: sqrt of the mean over `n_projections` random unit
    directions theta (uniform on the sphere, drawn from `rng`) of W2^2 between the projections
    theta.x and theta.y. Unequal sizes are exact (quantile functions on the merged grid of
    levels, see `w2_squared_1d`). For N(0, I) vs N(mu, I) in d dims it tends to |mu| / sqrt(d)."""
    x, y = _pair(x, y)
    if n_projections < 1:
        raise DifflabError(f"n_projections must be at least 1, got {n_projections}")
    theta = rng.standard_normal((n_projections, x.shape[1]))
    theta /= np.linalg.norm(theta, axis=1, keepdims=True)
    xs = np.sort(theta @ x.T, axis=1)
    ys = np.sort(theta @ y.T, axis=1)
    return float(math.sqrt(max(w2_squared_1d(xs, ys).mean(), 0.0)))


# -- the registry: one call signature, metric(x, y, rng) -> float -----------------------------

def mmd2(x, y, rng: np.random.Generator) -> float:
    """Unbiased squared MMD, sum of RBF kernels at 0.25..4 x the median distance (rng unused).
    0 in expectation for equal distributions; can be slightly negative; no units."""
    return mmd2_unbiased(x, y)


def energy(x, y, rng: np.random.Generator) -> float:
    """Squared energy distance 2E|X-Y| - E|X-X'| - E|Y-Y'| (V-statistic; rng unused).
    >= 0, positive bias of order 1/N; in the data's units."""
    return energy_distance(x, y)


def sw2(x, y, rng: np.random.Generator) -> float:
    """Sliced 2-Wasserstein distance over 256 random directions drawn from rng.
    >= 0, positive bias that shrinks with N; in the data's units."""
    return sliced_wasserstein2(x, y, rng)


METRICS = {"mmd2": mmd2, "energy": energy, "sw2": sw2}
