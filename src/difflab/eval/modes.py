"""Mode coverage for mixture data: which components do the samples land on, and how often?

Every sample is assigned to its nearest component mean (Euclidean). It is "on" that mode when
its distance to the mean is below `on_mode_radius(std_k, d)`: the radius that holds 99.73% of
an isotropic Gaussian N(mean_k, std_k^2 I) in d dimensions (the chi distribution with d degrees
of freedom; 3 std in 1-D, 3.44 std in 2-D, about sqrt(d) std in high d). So a perfect sampler
leaves about 0.27% of its samples off-mode (a little more where components overlap).

A mode is "covered" when at least COVERED_FRACTION of its expected count N * w_k of samples is
on it. The weight error compares the shares of the on-mode samples with the weights w_k.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.stats import chi2

from .pairwise import as_rows

ON_MODE_MASS = math.erf(3 / math.sqrt(2))   # 0.9973: the mass within 3 std of a 1-D Gaussian
COVERED_FRACTION = 0.25                      # a mode is covered with >= 1/4 of its expected samples


def on_mode_radius(std, d: int) -> np.ndarray:
    """Radius around a mean holding ON_MODE_MASS of N(mean, std^2 I_d); std scalar or (K,)."""
    return np.asarray(std, dtype=np.float64) * math.sqrt(chi2.ppf(ON_MODE_MASS, d))


def mode_coverage(samples, means, weights, stds) -> dict:
    """samples (N, ...), means (K, ...), weights (K,), stds (K,) in raw units ->
    {"n_modes": K, "covered": k, "share_covered": k/K, "max_weight_error": float,
     "frac_off_mode": float}."""
    x = as_rows(samples)
    mu = as_rows(means)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    w = w / w.sum()
    n, k_modes = len(x), len(mu)
    stds = np.broadcast_to(np.asarray(stds, dtype=np.float64).reshape(-1), (k_modes,))

    # distance of every sample to every mean, one mode at a time (memory N * d)
    dist = np.empty((n, k_modes))
    for k in range(k_modes):
        dist[:, k] = np.sqrt(((x - mu[k]) ** 2).sum(axis=1))
    nearest = dist.argmin(axis=1)
    on = dist[np.arange(n), nearest] < on_mode_radius(stds, x.shape[1])[nearest]

    counts = np.bincount(nearest[on], minlength=k_modes).astype(np.float64)
    n_on = counts.sum()
    covered = int((counts >= COVERED_FRACTION * n * w).sum())
    shares = counts / n_on if n_on > 0 else np.zeros(k_modes)
    return {
        "n_modes": int(k_modes),
        "covered": covered,
        "share_covered": covered / k_modes,
        "max_weight_error": float(np.abs(shares - w).max()),
        "frac_off_mode": float(1.0 - n_on / n),
    }
