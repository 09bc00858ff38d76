"""Built-in vector datasets whose truth is known: Gaussians, mixtures and 2D toy shapes.

Every factory takes `n_train` (2000), `n_test` (500) and `seed` (0, fixes the split) plus its own
keyword-only options, and returns a `ToyDataset`: a truth sampler, the train/test split drawn
from it, and the exact log-density (for spiral and moons a 1D integral, curves.py). Train and test come from two
independent streams spawned from `seed`, so the test set does not change with `n_train`.
Arrays are float32 (N, d) in raw units; the normaliser standardises on the training split.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import logsumexp

from ...errors import DifflabError, unknown_name
from ...data.base import Dataset, Normaliser
from .curves import blurred_curve_log_prob
from .pinwheel import pinwheel_log_prob, sample_pinwheel
from ...data.registry import register

Sampler = Callable[[int, np.random.Generator], np.ndarray]     # (n, rng) -> (n, d)
LogProb = Callable[[np.ndarray], np.ndarray]                   # (N, d) float64 -> (N,)
Support = Callable[[np.ndarray], np.ndarray]                   # (N, d) float64 -> (N,) bool


class ToyDataset(Dataset):
    """A vector dataset defined by a truth sampler and, where known, its exact log-density."""

    kind = "vector"
    has_truth = True

    def __init__(self, name: str, description: str, dim: int, sampler: Sampler,
                 log_prob: LogProb | None = None, *, n_train: int, n_test: int, seed: int,
                 support: Support | None = None):
        _check_split(n_train, n_test, seed)
        self.name, self.description, self._dim = name, description, dim
        self._sampler, self._log_prob, self._support = sampler, log_prob, support
        self.has_log_prob = log_prob is not None
        train_rng, test_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
        self.train = self.sample(n_train, train_rng)
        self.test = self.sample(n_test, test_rng)
        self.normaliser = Normaliser.standardise(self.train)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n fresh draws (n, d) float32, raw units, using only `rng`."""
        return np.asarray(self._sampler(int(n), rng), dtype=np.float32).reshape(int(n), self._dim)

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """Exact log-density at raw points x (N, d) -> (N,) float64 (-inf outside the support)."""
        if self._log_prob is None:
            return super().log_prob(x)
        return self._log_prob(self._points(x))

    def in_support(self, x: np.ndarray) -> np.ndarray | None:
        """Bool (N,) for a bounded support, None for an unbounded one."""
        return None if self._support is None else np.asarray(self._support(self._points(x)), dtype=bool)

    def _points(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1 and self._dim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self._dim:
            raise ValueError(f"{self.name}: expected points of shape (N, {self._dim}), got {x.shape}")
        return x


class GaussianDataset(ToyDataset):
    """N(mean, cov) in d dimensions; `mean` (d,) and `cov` (d, d) are exposed (float64)."""

    def __init__(self, name, description, mean, cov, **split):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.cov = np.asarray(cov, dtype=np.float64)
        self._chol = np.linalg.cholesky(self.cov)                        # cov = L L^T
        d = len(self.mean)
        self._chol_inv = solve_triangular(self._chol, np.eye(d), lower=True)  # L^-1, once
        self._log_norm = -0.5 * d * math.log(2 * math.pi) - np.log(np.diag(self._chol)).sum()
        super().__init__(name, description, d, self._draw, self._log_density, **split)

    def _draw(self, n, rng):
        return self.mean + rng.standard_normal((n, len(self.mean))) @ self._chol.T

    def _log_density(self, x):
        z = (x - self.mean) @ self._chol_inv.T                           # whitened: L^-1 (x - mean)
        return self._log_norm - 0.5 * (z * z).sum(axis=1)


class MixtureDataset(ToyDataset):
    """Isotropic Gaussian mixture sum_k w_k N(means_k, stds_k^2 I)."""

    has_modes = True

    def __init__(self, name, description, means, weights, stds, **split):
        self.means = np.asarray(means, dtype=np.float64)
        self.weights = np.asarray(weights, dtype=np.float64) / np.sum(weights)
        self.stds = np.broadcast_to(np.asarray(stds, dtype=np.float64), self.weights.shape).copy()
        super().__init__(name, description, self.means.shape[1], self._draw, self._log_density, **split)

    def modes(self):
        return self.means.copy(), self.weights.copy(), self.stds.copy()

    def _draw(self, n, rng):
        k = rng.choice(len(self.weights), size=n, p=self.weights)
        return self.means[k] + self.stds[k, None] * rng.standard_normal((n, self.means.shape[1]))

    def _log_density(self, x):
        d = x.shape[1]
        sq = ((x[:, None, :] - self.means[None]) ** 2).sum(axis=2)       # (N, K)
        log_comp = (-0.5 * sq / self.stds**2 - d * np.log(self.stds) - 0.5 * d * math.log(2 * math.pi))
        return logsumexp(log_comp + np.log(self.weights), axis=1)


# -- option checks -----------------------------------------------------------------------

def _number(name: str, value, *, positive=False, nonnegative=False, below=None) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok and math.isfinite(float(value)):
        v = float(value)
        if (not positive or v > 0) and (not nonnegative or v >= 0) and (below is None or abs(v) < below):
            return v
    need = "> 0" if positive else ">= 0" if nonnegative else f"with |value| < {below}" if below else "finite"
    raise DifflabError(f"option {name} must be a number {need}, got {value!r}")


def _integer(name: str, value, minimum: int) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum:
        return int(value)
    raise DifflabError(f"option {name} must be an integer >= {minimum}, got {value!r}")


def _vector(name: str, value, length: int, *, positive=False) -> np.ndarray:
    try:
        v = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise DifflabError(f"option {name} must be a list of {length} numbers, got {value!r}") from None
    if len(v) != length or not np.isfinite(v).all() or (positive and (v <= 0).any()):
        what = "positive numbers" if positive else "finite numbers"
        raise DifflabError(f"option {name} must be a list of {length} {what}, got {value!r}")
    return v


def _check_split(n_train, n_test, seed) -> None:
    _integer("n_train", n_train, 1)
    _integer("n_test", n_test, 1)
    _integer("seed", seed, 0)


# -- Gaussians -----------------------------------------------------------------------------

@register("normal1d", "1D Gaussian N(1, 0.5^2)")
def normal1d(n_train=2000, n_test=500, seed=0, *, mean=1.0, std=0.5) -> Dataset:
    """One-dimensional N(mean, std^2), shape (N, 1)."""
    mean, std = _number("mean", mean), _number("std", std, positive=True)
    return GaussianDataset("normal1d", f"N(mean={mean:g}, std={std:g}) in 1D", [mean], [[std**2]],
                           n_train=n_train, n_test=n_test, seed=seed)


@register("normal2d", "correlated 2D Gaussian, mean (1, -1), unit variances, correlation 0.8")
def normal2d(n_train=2000, n_test=500, seed=0, *, mean=(1.0, -1.0), corr=0.8) -> Dataset:
    """2D N(mean, [[1, corr], [corr, 1]]); default mean (1, -1), corr 0.8."""
    mean, corr = _vector("mean", mean, 2), _number("corr", corr, below=1.0)
    return GaussianDataset("normal2d", f"2D Gaussian, mean ({mean[0]:g}, {mean[1]:g}), unit variances, "
                           f"correlation {corr:g}", mean, [[1.0, corr], [corr, 1.0]],
                           n_train=n_train, n_test=n_test, seed=seed)


@register("normal-nd", "d-dimensional Gaussian with a random full covariance (d=8)")
def normal_nd(n_train=2000, n_test=500, seed=0, *, d=8, cov_seed=0) -> Dataset:
    """N(mean, cov) in d dims: A ~ N(0, 1/d)^(d x d), cov = A A^T + 0.1 I, mean ~ N(0, 0.5^2 I),
    all drawn from `cov_seed` (independent of the split seed)."""
    d, cov_seed = _integer("d", d, 1), _integer("cov_seed", cov_seed, 0)
    rng = np.random.default_rng(cov_seed)
    a = rng.standard_normal((d, d)) / math.sqrt(d)
    cov = a @ a.T + 0.1 * np.eye(d)                                      # well conditioned: eig >= 0.1
    mean = 0.5 * rng.standard_normal(d)
    return GaussianDataset("normal-nd", f"{d}-D Gaussian, random full covariance A A^T + 0.1 I "
                           f"(cov_seed={cov_seed})", mean, cov, n_train=n_train, n_test=n_test, seed=seed)


# -- Gaussian mixtures -----------------------------------------------------------------------

GMM_PRESETS = ("ring", "grid25")


@register("gmm", "Gaussian mixture: 8 modes on a ring of radius 2 (preset=grid25: 5x5 grid)")
def gmm(n_train=2000, n_test=500, seed=0, *, preset="ring", n_modes=None, radius=None, std=0.1,
        weights=None) -> Dataset:
    """Isotropic Gaussian mixture. preset "ring": n_modes (8) means on a circle of `radius` (2);
    "grid25": 25 means on {-4,-2,0,2,4}^2. std (0.1) per mode; weights (equal) are normalised."""
    std = _number("std", std, positive=True)
    if preset == "ring":
        n_modes = _integer("n_modes", 8 if n_modes is None else n_modes, 1)
        radius = _number("radius", 2.0 if radius is None else radius, positive=True)
        angle = 2 * math.pi * np.arange(n_modes) / n_modes
        means = radius * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        shape = f"{n_modes} modes on a ring of radius {radius:g}"
    elif preset == "grid25":
        for opt, val in (("n_modes", n_modes), ("radius", radius)):
            if val is not None:
                raise DifflabError(f"option {opt} applies to preset 'ring' only, not 'grid25'")
        axis = np.arange(-4.0, 5.0, 2.0)
        means = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
        shape = "25 modes on the 5x5 grid {-4,-2,0,2,4}^2"
    else:
        raise unknown_name("gmm preset", preset, GMM_PRESETS)
    k = len(means)
    w = np.full(k, 1.0 / k) if weights is None else _vector("weights", weights, k, positive=True)
    equal = "equal weights" if weights is None else "weights " + ", ".join(f"{v:g}" for v in w / w.sum())
    return MixtureDataset("gmm", f"Gaussian mixture: {shape}, std {std:g}, {equal}", means, w, std,
                          n_train=n_train, n_test=n_test, seed=seed)


# -- 2D shapes ---------------------------------------------------------------------------------

@register("pinwheel", "5-arm pinwheel (Johnson et al. 2016), exact density")
def pinwheel(n_train=2000, n_test=500, seed=0, *, n_arms=5, radial_std=0.3, tangential_std=0.1,
             rate=0.25) -> Dataset:
    """Pinwheel of Johnson et al. 2016; exact density by root finding (see pinwheel.py)."""
    opts = dict(n_arms=_integer("n_arms", n_arms, 1),
                radial_std=_number("radial_std", radial_std, positive=True),
                tangential_std=_number("tangential_std", tangential_std, positive=True),
                rate=_number("rate", rate))
    desc = ("pinwheel: {n_arms} arms, radial_std {radial_std:g}, tangential_std {tangential_std:g}, "
            "rate {rate:g}").format(**opts)
    return ToyDataset("pinwheel", desc, 2, lambda n, rng: sample_pinwheel(n, rng, **opts),
                      lambda x: pinwheel_log_prob(x, **opts), n_train=n_train, n_test=n_test, seed=seed)


@register("spiral", "two interleaved spiral arms")
def spiral(n_train=2000, n_test=500, seed=0, *, turns=1.5, radius=2.0, noise=0.1) -> Dataset:
    """Two arms: angle u ~ U(0, 2 pi turns), r = radius * u / (2 pi turns), point r (cos u, sin u)
    (second arm rotated by pi), plus isotropic N(0, noise^2) noise. Log-density: the blurred
    curve's integral (curves.py); none when noise is 0."""
    turns = _number("turns", turns, positive=True)
    radius = _number("radius", radius, positive=True)
    noise = _number("noise", noise, nonnegative=True)
    u_max = 2 * math.pi * turns

    def arm(sign):
        return lambda u: sign * (radius * u / u_max)[:, None] * np.stack([np.cos(u), np.sin(u)], axis=1)

    def draw(n, rng):
        u = rng.uniform(0.0, u_max, size=n)
        sign = np.where(rng.random(n) < 0.5, 1.0, -1.0)                  # -1: rotated by pi
        return sign[:, None] * arm(1.0)(u) + noise * rng.standard_normal((n, 2))

    log_prob = (lambda x: blurred_curve_log_prob(x, [arm(1.0), arm(-1.0)], u_max, noise)) if noise > 0 else None
    return ToyDataset("spiral", f"two spirals: {turns:g} turns, radius {radius:g}, noise {noise:g}", 2,
                      draw, log_prob, n_train=n_train, n_test=n_test, seed=seed)


@register("moons", "two interleaving half circles")
def moons(n_train=2000, n_test=500, seed=0, *, noise=0.1) -> Dataset:
    """Like sklearn's make_moons but with a uniformly random angle per point (not a fixed grid):
    upper arc (cos u, sin u), lower arc (1 - cos u, 0.5 - sin u), u ~ U(0, pi), plus N(0, noise^2).
    Log-density: the blurred curve's integral (curves.py); none when noise is 0."""
    noise = _number("noise", noise, nonnegative=True)
    upper = lambda u: np.stack([np.cos(u), np.sin(u)], axis=1)               # noqa: E731
    lower = lambda u: np.stack([1.0 - np.cos(u), 0.5 - np.sin(u)], axis=1)   # noqa: E731

    def draw(n, rng):
        u = rng.uniform(0.0, math.pi, size=n)
        is_lower = rng.random(n) < 0.5
        x = np.where(is_lower[:, None], lower(u), upper(u))
        return x + noise * rng.standard_normal((n, 2))

    log_prob = (lambda x: blurred_curve_log_prob(x, [upper, lower], math.pi, noise)) if noise > 0 else None
    return ToyDataset("moons", f"two moons, uniform angle along each arc, noise {noise:g}", 2, draw, log_prob,
                      n_train=n_train, n_test=n_test, seed=seed)


@register("checkerboard", "uniform on the 8 dark squares of a 4x4 checkerboard on [-2, 2]^2")
def checkerboard(n_train=2000, n_test=500, seed=0) -> Dataset:
    """Uniform on the unit squares [i-2, i-1] x [j-2, j-1] with i + j even (8 of 16); density 1/8."""
    cells = np.array([(i, j) for i in range(4) for j in range(4) if (i + j) % 2 == 0], dtype=np.float64)

    def draw(n, rng):
        return cells[rng.integers(0, len(cells), size=n)] - 2.0 + rng.random((n, 2))

    def on_board(x):                                                     # on a dark square
        ij = np.floor(x + 2.0)
        with np.errstate(invalid="ignore"):
            return ((ij >= 0) & (ij <= 3)).all(axis=1) & (ij.sum(axis=1) % 2 == 0)

    def log_density(x):
        log_p = np.where(on_board(x), -math.log(len(cells)), -np.inf)
        return np.where(np.isnan(x).any(axis=1), np.nan, log_p)

    return ToyDataset("checkerboard", "uniform on the 8 dark unit squares of a 4x4 board on [-2, 2]^2", 2,
                      draw, log_density, n_train=n_train, n_test=n_test, seed=seed, support=on_board)
