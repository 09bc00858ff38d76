"""The pinwheel distribution of Johnson et al. 2016 (SVAE code): sampler and exact log-density.

Generation (K arms, theta_k = 2 pi k / K):

    k ~ Uniform{0..K-1},  f = (1 + radial_std * z0, tangential_std * z1),  z ~ N(0, I)
    angle = theta_k + rate * exp(f0),   x = R(angle) f          (R: the 2D rotation matrix)

(The SVAE code also multiplies by 10 and, through its einsum, rotates by -angle; both only
rescale or mirror the picture. Here x = R(angle) f, counter-clockwise, unscaled.)

The exact density. The map f -> x is NOT area-preserving. In polar coordinates
f = rho (cos a, sin a) it is (rho, a) -> (rho, psi) with |x| = rho and

    psi = h_k(a) := a + theta_k + rate * exp(rho cos a)      (mod 2 pi),
    d psi / d a  = g'(a) = 1 - rate * rho * sin(a) * exp(rho cos a),

where g(a) = a + rate * exp(rho cos a). The polar area element is rho drho da on both sides,
so by the change of variables

    p(x) = sum_k (1/K) sum_{a in [0, 2pi): h_k(a) = psi mod 2pi}  N(f(a); (1, 0), diag(rs^2, ts^2)) / |g'(a)|.

g is not monotone when rho is large, so a point can have several pre-images per arm. Because
the arm offsets theta_k are the multiples of P = 2 pi / K, the roots of all arms together are
exactly the a with g(a) - psi in P * Z, so one root search serves every arm:

1. on a grid of `n_grid` angles in [0, 2 pi] evaluate v(a) = (g(a) - psi) / P, which is
   continuous in a (g(a + 2 pi) = g(a) + 2 pi, so no wrapping and no false jumps);
2. wherever floor(v) changes between neighbours, every integer level L crossed there has a root
   of g(a) - psi - L P in that interval: refine each by safeguarded Newton (vectorised);
3. sum N(f(a)) / |g'(a)| over the roots in log space and subtract log K.

Checks (tests/test_data_toy.py): the density integrates to 1 on a grid and matches a histogram
of samples. Only the second detects a missing Jacobian: without 1/|g'| the integral is still 1,
since where g' > 0 it changes by rate * int N(f) rho sin(a) exp(rho cos a), which is odd in a.

Far from the data (rho >~ 10) g becomes so steep that one grid interval crosses many levels;
there (more than MAX_LEVELS crossings) the sum over its roots is replaced by its limit
(1/P) * integral of N(f(a)) da over the interval (the roots are then spaced P/|g'| apart,
so the sum is a Riemann sum). This only changes log p where it is below about -450, and keeps
it finite and cheap there. Beyond |x| ~ 700 the exponent is clipped, so log p is only a very
negative approximation.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

N_GRID = 1024          # angles per point in the root search
MAX_LEVELS = 16        # more crossings than this in one grid interval: use the Riemann limit
NEWTON_STEPS = 16      # safeguarded Newton steps per root (bisection where Newton leaves the bracket)
CHUNK = 1024           # points per block: a few (CHUNK, N_GRID + 1) float64 arrays, ~8 MB each


def sample_pinwheel(n: int, rng: np.random.Generator, *, n_arms: int, radial_std: float,
                    tangential_std: float, rate: float) -> np.ndarray:
    """n draws, shape (n, 2), float64, using only `rng`."""
    k = rng.integers(0, n_arms, size=n)
    z = rng.standard_normal(size=(n, 2))
    f0 = 1.0 + radial_std * z[:, 0]
    f1 = tangential_std * z[:, 1]
    angle = 2 * math.pi * k / n_arms + rate * np.exp(f0)
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * f0 - s * f1, s * f0 + c * f1], axis=1)


def pinwheel_log_prob(x: np.ndarray, *, n_arms: int, radial_std: float, tangential_std: float,
                      rate: float, n_grid: int = N_GRID) -> np.ndarray:
    """Exact log-density at points x (N, 2) -> (N,) float64 (see the module docstring)."""
    x = np.asarray(x, dtype=np.float64)
    finite = np.isfinite(x).all(axis=1)
    out = np.where(np.isnan(x).any(axis=1), np.nan, -np.inf)          # NaN in -> NaN, inf -> -inf
    rows = np.flatnonzero(finite)
    for start in range(0, len(rows), CHUNK):
        block = rows[start:start + CHUNK]
        out[block] = _log_prob_block(x[block], n_arms, radial_std, tangential_std, rate, n_grid)
    return out


def _log_prob_block(x, n_arms, rs, ts, rate, n_grid):
    P = 2 * math.pi / n_arms
    rho = np.hypot(x[:, 0], x[:, 1])
    psi = np.arctan2(x[:, 1], x[:, 0])
    log_norm = -math.log(2 * math.pi * rs * ts)

    def g(a, r):                                   # the angle map without its arm offset
        with np.errstate(over="ignore"):
            return a + rate * np.exp(np.minimum(r * np.cos(a), 700.0))

    def dg_da(a, r):                               # g'(a), the Jacobian of the angle map
        with np.errstate(over="ignore"):
            return 1.0 - rate * r * np.sin(a) * np.exp(np.minimum(r * np.cos(a), 700.0))

    def log_gauss(a, r):                           # log N(f(a); (1, 0), diag(rs^2, ts^2))
        f0, f1 = r * np.cos(a), r * np.sin(a)
        return log_norm - 0.5 * ((f0 - 1.0) / rs) ** 2 - 0.5 * (f1 / ts) ** 2

    # 1. m = floor((g - psi) / P) on the grid; levels crossed between neighbours
    grid = np.linspace(0.0, 2 * math.pi, n_grid + 1)
    m = np.multiply.outer(rho, np.cos(grid))      # (N, n_grid + 1); g(grid) - psi, in place
    np.minimum(m, 700.0, out=m)
    np.exp(m, out=m)
    m *= rate
    m += grid
    m -= psi[:, None]
    m *= 1.0 / P
    np.floor(m, out=m)
    step = np.diff(m, axis=1)                      # +-(number of levels crossed) per interval
    pt, iv = np.nonzero(step)
    count = np.abs(step[pt, iv])
    lo = np.minimum(m[pt, iv], m[pt, iv + 1])
    steep = count > MAX_LEVELS
    steep_pt, steep_iv = pt[steep], iv[steep]
    pt, iv, count, lo = pt[~steep], iv[~steep], count[~steep], lo[~steep]

    # 2. one root per (point, interval, level): Newton steps kept inside a shrinking bracket
    reps = count.astype(np.int64)
    pt, iv, lo = np.repeat(pt, reps), np.repeat(iv, reps), np.repeat(lo, reps)
    first = np.repeat(np.cumsum(reps) - reps, reps)
    level = lo + 1 + (np.arange(len(pt)) - first)
    r, target = rho[pt], psi[pt] + level * P
    a_lo, a_hi = grid[iv], grid[iv + 1]
    res_lo, res_hi = g(a_lo, r) - target, g(a_hi, r) - target
    sign_lo = np.sign(res_lo)
    a = a_lo - res_lo * (a_hi - a_lo) / (res_hi - res_lo)          # start: linear interpolation
    for _ in range(NEWTON_STEPS):
        res, dg = g(a, r) - target, dg_da(a, r)
        below = np.sign(res) == sign_lo
        a_lo, a_hi = np.where(below, a, a_lo), np.where(below, a_hi, a)
        a = a - res / dg
        outside = ~((a > a_lo) & (a < a_hi))                       # also catches dg = 0 (nan/inf)
        a[outside] = 0.5 * (a_lo[outside] + a_hi[outside])
    with np.errstate(divide="ignore"):
        terms = log_gauss(a, r) - np.log(np.abs(dg_da(a, r)))

    # steep intervals: (1/P) * trapezoid integral of N(f(a)) over the interval
    if len(steep_pt):
        r_s, a0, a1 = rho[steep_pt], grid[steep_iv], grid[steep_iv + 1]
        both = np.stack([log_gauss(a0, r_s), log_gauss(a1, r_s)])
        steep_terms = logsumexp(both, axis=0) + np.log(0.5 * (a1 - a0) / P)
        pt = np.concatenate([pt, steep_pt])
        terms = np.concatenate([terms, steep_terms])

    # 3. log-sum-exp of the terms of each point, minus log K
    out = np.full(len(x), -np.inf)
    if len(pt):
        order = np.argsort(pt, kind="stable")
        pt, terms = pt[order], terms[order]
        starts = np.flatnonzero(np.r_[True, pt[1:] != pt[:-1]])
        per_point = np.diff(np.r_[starts, len(pt)])               # number of terms of each point
        peak = np.maximum.reduceat(terms, starts)
        peak = np.where(np.isfinite(peak), peak, 0.0)
        sums = np.add.reduceat(np.exp(terms - np.repeat(peak, per_point)), starts)
        out[pt[starts]] = peak + np.log(sums)
    return out - math.log(n_arms)
