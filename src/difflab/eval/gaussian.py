"""How far samples are from a KNOWN Gaussian: the exact Frechet distance to the truth, with its floor.

For samples x (N, d) of a model of N(mu, S), fit the Gaussian of the samples (mean m, unbiased
covariance C) and take the squared 2-Wasserstein distance between N(m, C) and the truth itself,
in closed form (Dowson & Landau 1982):

    FD = |m - mu|^2 + tr(C) + tr(S) - 2 tr((C^{1/2} S C^{1/2})^{1/2})

Unlike the two-sample Frechet distance (eval/frechet.py), only ONE side is estimated: the truth's
mean and covariance are exact (`GaussianDataset.mean` / `.cov` in kinds/vector/toy.py). The number is
still not 0 for perfect samples, because m and C come from N points: E[FD] grows roughly like
d^2 / N for covariances of order 1. The floor is the same distance for fresh samples of the
truth of the same size N, over `n_draws` (>= 20) draws: median and 95th percentile. Samples
whose FD lies at or below the p95 cannot be told from the truth by their first two moments.
"""
from __future__ import annotations

import numpy as np

from ..errors import DifflabError
from .frechet import frechet_distance_gaussians, gaussian_fit

MIN_DRAWS = 20


def truth_moments(dataset) -> tuple[np.ndarray, np.ndarray]:
    """(mean (d,), cov (d, d)) float64 of a Gaussian dataset (normal1d, normal2d, normal-nd)."""
    if not (hasattr(dataset, "mean") and hasattr(dataset, "cov")):
        raise DifflabError(f"dataset {getattr(dataset, 'name', dataset)!r} is not a Gaussian with known mean "
                           "and covariance (normal1d, normal2d, normal-nd are)")
    return np.asarray(dataset.mean, dtype=np.float64), np.asarray(dataset.cov, dtype=np.float64)


def frechet_to_gaussian(samples, mean, cov) -> float:
    """Frechet distance between the Gaussian fit of samples (N, d) and the exact N(mean, cov)."""
    x = np.asarray(samples, dtype=np.float64)
    mean, cov = np.asarray(mean, dtype=np.float64), np.asarray(cov, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(mean) or cov.shape != (len(mean), len(mean)):
        raise DifflabError(f"samples of shape {x.shape} do not match a {len(mean)}-D Gaussian")
    if len(x) < 2 or not np.isfinite(x).all():
        raise DifflabError("need at least 2 finite samples")
    m, c = gaussian_fit(x)
    return frechet_distance_gaussians(m, c, mean, cov)


def gaussian_floor(dataset, n: int, rng: np.random.Generator, n_draws: int = MIN_DRAWS, groups: int = 1) -> dict:
    """{"median", "p95", "values"}: frechet_to_gaussian of n_draws fresh truth samples of size n;
    with `groups` > 1 each value is the median over that many truth samples of size n, the floor of
    a figure reported as the median over as many groups of model samples (a median of 5 groups
    spreads less than one group, so one group's p95 would be too lenient a bound for it)."""
    if n_draws < MIN_DRAWS:
        raise DifflabError(f"the floor needs at least {MIN_DRAWS} draws, got {n_draws}")
    if not isinstance(groups, int) or groups < 1:
        raise DifflabError(f"groups must be a positive integer, got {groups!r}")
    mean, cov = truth_moments(dataset)
    values = [float(np.median([frechet_to_gaussian(dataset.sample(n, rng), mean, cov) for _ in range(groups)]))
              for _ in range(n_draws)]
    arr = np.asarray(values)
    return {"median": float(np.median(arr)), "p95": float(np.percentile(arr, 95)), "values": values}


def evaluate_gaussian(samples, dataset, rng: np.random.Generator, n_draws: int = MIN_DRAWS,
                      floor: dict | None = None) -> dict:
    """{"d", "n_samples", "value", "floor_median", "floor_p95", "within_floor", "floor_values"};
    `floor`: a precomputed gaussian_floor for the same n (computed here when None)."""
    mean, cov = truth_moments(dataset)
    value = frechet_to_gaussian(samples, mean, cov)
    n = len(samples)
    floor = floor or gaussian_floor(dataset, n, rng, n_draws)
    return {"d": int(len(mean)), "n_samples": int(n), "value": value, "floor_median": floor["median"],
            "floor_p95": floor["p95"], "within_floor": bool(value <= floor["p95"]), "floor_values": floor["values"]}
