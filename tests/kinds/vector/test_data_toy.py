"""Built-in toy datasets, checked against analytic oracles (scipy densities, entropies, integrals)."""
import math

import numpy as np
import pytest
from scipy import stats

from difflab.data import get_dataset
from difflab.kinds.vector.pinwheel import pinwheel_log_prob
from difflab.errors import DifflabError

NAMES = ["normal1d", "normal2d", "normal-nd", "gmm", "pinwheel", "spiral", "moons", "checkerboard"]
EXACT = ["normal1d", "normal2d", "normal-nd", "gmm", "pinwheel", "spiral", "moons", "checkerboard"]
PW = dict(n_arms=5, radial_std=0.3, tangential_std=0.1, rate=0.25)


def _grid(lim, n):
    """Midpoints of an n x n grid on [-lim, lim]^2 -> (points (n*n, 2), cell area)."""
    edges = np.linspace(-lim, lim, n + 1)
    c = 0.5 * (edges[1:] + edges[:-1])
    x, y = np.meshgrid(c, c, indexing="ij")
    return np.stack([x.ravel(), y.ravel()], axis=1), (edges[1] - edges[0]) ** 2


@pytest.mark.parametrize("name", NAMES)
def test_shapes_dtypes_and_split(name):
    ds = get_dataset(name, n_train=300, n_test=100, seed=3)
    d = ds.dim
    assert ds.kind == "vector" and ds.has_truth and ds.description and name in ds.info()["name"]
    assert ds.train.shape == (300, d) and ds.test.shape == (100, d)
    assert ds.train.dtype == np.float32 and ds.test.dtype == np.float32
    assert ds.has_log_prob == (name in EXACT)
    again, other = get_dataset(name, n_train=300, n_test=100, seed=3), get_dataset(name, n_train=300, n_test=100, seed=4)
    assert np.array_equal(ds.train, again.train) and np.array_equal(ds.test, again.test)
    assert not np.array_equal(ds.train, other.train) and not np.array_equal(ds.test, other.test)
    # the test split does not depend on n_train
    assert np.array_equal(ds.test, get_dataset(name, n_train=50, n_test=100, seed=3).test)
    # normaliser standardises the training split
    xn = ds.normalise(ds.train.astype(np.float64))
    assert np.allclose(xn.mean(0), 0, atol=1e-5) and np.allclose(xn.std(0), 1, atol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_fresh_samples(name):
    ds = get_dataset(name, n_train=10, n_test=10)
    rng = np.random.default_rng(0)
    a, b = ds.sample(200, rng), ds.sample(200, rng)
    assert a.shape == (200, ds.dim) and a.dtype == np.float32 and not np.array_equal(a, b)
    assert np.array_equal(a, ds.sample(200, np.random.default_rng(0)))
    assert ds.sample(0, rng).shape == (0, ds.dim)


@pytest.mark.parametrize("name", EXACT)
def test_log_prob_of_own_samples_is_finite(name):
    ds = get_dataset(name, n_train=10, n_test=10)
    x = ds.sample(2000, np.random.default_rng(1))
    lp = ds.log_prob(x)
    assert lp.shape == (2000,) and lp.dtype == np.float64 and np.isfinite(lp).all()


@pytest.mark.parametrize("name", EXACT)
def test_log_prob_edge_inputs(name):
    ds = get_dataset(name, n_train=10, n_test=10)
    assert ds.log_prob(np.zeros((0, ds.dim))).shape == (0,)
    x = np.zeros((3, ds.dim))
    x[0, 0], x[1, 0] = np.nan, np.inf
    lp = ds.log_prob(x)
    assert np.isnan(lp[0]) and lp[1] == -np.inf and np.isfinite(lp[2])
    with pytest.raises(ValueError, match="shape"):
        ds.log_prob(np.zeros((4, ds.dim + 1)))


def test_gaussians_match_scipy():
    ds = get_dataset("normal1d", mean=-2.0, std=3.0)
    x = np.linspace(-10, 10, 7)[:, None]
    assert np.allclose(ds.log_prob(x), stats.norm(-2.0, 3.0).logpdf(x[:, 0]))
    assert np.allclose(ds.log_prob(x[:, 0]), ds.log_prob(x))           # (N,) accepted in 1D
    for name, opts in [("normal2d", {}), ("normal-nd", {"d": 5, "cov_seed": 7})]:
        ds = get_dataset(name, **opts)
        x = ds.sample(50, np.random.default_rng(2)).astype(np.float64)
        assert np.allclose(ds.log_prob(x), stats.multivariate_normal(ds.mean, ds.cov).logpdf(x))
    ds = get_dataset("normal2d")
    assert np.allclose(ds.mean, [1, -1]) and np.allclose(ds.cov, [[1, 0.8], [0.8, 1]])


def test_normal_nd_moments_entropy_and_speed():
    ds = get_dataset("normal-nd", d=6, n_train=10, n_test=10)
    assert np.allclose(ds.cov, ds.cov.T) and np.linalg.eigvalsh(ds.cov).min() >= 0.1 - 1e-9
    assert np.array_equal(ds.cov, get_dataset("normal-nd", d=6, seed=5, n_train=10, n_test=10).cov)
    assert not np.array_equal(ds.cov, get_dataset("normal-nd", d=6, cov_seed=1, n_train=10, n_test=10).cov)
    x = ds.sample(40000, np.random.default_rng(0)).astype(np.float64)
    assert np.allclose(x.mean(0), ds.mean, atol=0.05) and np.allclose(np.cov(x.T), ds.cov, atol=0.05)
    entropy = 0.5 * np.linalg.slogdet(2 * math.pi * math.e * ds.cov)[1]
    assert abs(-ds.log_prob(x).mean() - entropy) < 0.05
    big = get_dataset("normal-nd", d=512, n_train=20, n_test=20)
    lp = big.log_prob(big.sample(2000, np.random.default_rng(0)))
    assert np.isfinite(lp).all() and big.mean.shape == (512,) and big.cov.shape == (512, 512)


@pytest.mark.parametrize("name,opts,lim,n,tol", [
    ("normal2d", {}, 7.0, 200, 1e-3),
    ("gmm", {}, 2.6, 400, 1e-3),
    ("gmm", {"preset": "grid25"}, 4.6, 250, 1e-3),
    ("checkerboard", {}, 2.5, 200, 1e-9),        # grid lines fall on the square edges
])
def test_density_integrates_to_one(name, opts, lim, n, tol):
    ds = get_dataset(name, n_train=10, n_test=10, **opts)
    pts, area = _grid(lim, n)
    assert abs(np.exp(ds.log_prob(pts)).sum() * area - 1.0) < tol


def test_pinwheel_density_integrates_to_one():
    # NB: a density without the Jacobian 1/|g'| integrates to 1 as well (where g' > 0 its integral
    # differs by a term odd in the angle), so only the histogram test below catches a missing
    # Jacobian (chi2 ~330 on ~85 bins instead of ~85)
    pts, area = _grid(3.0, 150)
    total = np.exp(pinwheel_log_prob(pts, n_grid=128, **PW)).sum() * area
    assert abs(total - 1.0) < 1e-3
    # the coarse root grid used above gives the same densities as the default one
    ds = get_dataset("pinwheel", n_train=10, n_test=10)
    x = np.concatenate([ds.sample(300, np.random.default_rng(0)), pts[::300]])
    assert np.allclose(pinwheel_log_prob(x, n_grid=128, **PW), ds.log_prob(x), atol=1e-8)


def test_pinwheel_density_matches_histogram():
    ds = get_dataset("pinwheel", n_train=10, n_test=10)
    n, lim, bins, sub = 100_000, 3.0, 20, 6
    x = ds.sample(n, np.random.default_rng(7))
    edges = np.linspace(-lim, lim, bins + 1)
    counts = np.histogram2d(x[:, 0], x[:, 1], bins=[edges, edges])[0]
    pts, area = _grid(lim, bins * sub)
    p = np.exp(pinwheel_log_prob(pts, n_grid=128, **PW)).reshape(bins, sub, bins, sub)
    expected = n * p.sum(axis=(1, 3)) * area
    keep = expected > 20
    chi2 = (((counts - expected) ** 2 / expected)[keep]).sum()
    dof = int(keep.sum())
    assert dof > 50 and chi2 < dof + 5 * math.sqrt(2 * dof)          # ~ 5 sigma of a chi-square
    # and the mean log-density of samples matches a histogram (plug-in) estimate of -entropy
    fine = np.histogram2d(x[:, 0], x[:, 1], bins=[np.linspace(-lim, lim, 101)] * 2)[0]
    q = fine[fine > 0] / n
    plug_in = (q * np.log(q / (2 * lim / 100) ** 2)).sum()
    assert abs(ds.log_prob(x[:10000]).mean() - plug_in) < 0.1


def test_pinwheel_log_prob_far_away_is_finite_and_fast():
    ds = get_dataset("pinwheel", n_train=10, n_test=10)
    far = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, -8.0], [10.0, 1.0], [-20.0, 3.0], [100.0, 0.0]])
    lp = ds.log_prob(far)
    assert np.isfinite(lp).all() and (np.diff(lp[1:]) < 0).all()
    # at the origin the map is a rotation: p(0) = N(0; (1, 0), diag(0.3^2, 0.1^2))
    assert np.isclose(lp[0], stats.multivariate_normal([1, 0], np.diag([0.09, 0.01])).logpdf([0, 0]))


def test_gmm_modes_entropy_and_options():
    ds = get_dataset("gmm", n_train=10, n_test=10)
    means, weights, stds = ds.modes()
    assert ds.has_modes and means.shape == (8, 2) and np.allclose(np.hypot(*means.T), 2.0)
    assert np.allclose(weights, 1 / 8) and np.allclose(stds, 0.1)
    # well-separated modes: entropy = log K + entropy of one component
    x = ds.sample(20000, np.random.default_rng(0))
    assert abs(-ds.log_prob(x).mean() - (math.log(8) + math.log(2 * math.pi * math.e * 0.01))) < 0.03
    g = get_dataset("gmm", preset="grid25", n_train=10, n_test=10)
    assert g.modes()[0].shape == (25, 2) and set(np.unique(g.modes()[0])) == {-4, -2, 0, 2, 4}
    w = get_dataset("gmm", n_modes=3, radius=1.0, weights=[1, 2, 1], n_train=10, n_test=10)
    assert np.allclose(w.modes()[1], [0.25, 0.5, 0.25])
    k = np.argmin(((w.sample(8000, np.random.default_rng(0))[:, None] - w.modes()[0]) ** 2).sum(-1), axis=1)
    assert abs(np.mean(k == 1) - 0.5) < 0.03


def test_checkerboard_support():
    ds = get_dataset("checkerboard", n_train=10, n_test=10)
    x = ds.sample(5000, np.random.default_rng(0))
    assert np.allclose(ds.log_prob(x), -math.log(8)) and np.abs(x).max() <= 2
    outside = np.array([[0.5, -0.5], [-1.5, -0.5], [3.0, 0.0], [0.0, 2.5]])   # white squares and beyond
    assert np.all(ds.log_prob(outside) == -np.inf)
    # each of the 8 dark squares gets 1/8 of the samples
    cells = np.floor(x + 2).astype(int)
    counts = np.bincount(cells[:, 0] * 4 + cells[:, 1], minlength=16)
    assert (counts > 0).sum() == 8 and np.abs(counts[counts > 0] / 5000 - 1 / 8).max() < 0.02


def test_moons_are_not_on_a_grid_and_spiral_has_two_arms():
    moons = get_dataset("moons", noise=0.0, n_train=10, n_test=10)
    x = moons.sample(2000, np.random.default_rng(0)).astype(np.float64)
    upper = np.isclose(np.hypot(x[:, 0], x[:, 1]), 1.0, atol=1e-5) & (x[:, 1] >= -1e-6)
    lower = np.isclose(np.hypot(1 - x[:, 0], 0.5 - x[:, 1]), 1.0, atol=1e-5) & (x[:, 1] <= 0.5 + 1e-6)
    assert (upper | lower).all() and 0.45 < upper.mean() < 0.55
    angles = np.arctan2(x[upper, 1], x[upper, 0])
    assert len(np.unique(np.round(angles, 6))) > 0.99 * upper.sum()   # sklearn's grid would repeat
    spiral = get_dataset("spiral", noise=0.0, n_train=10, n_test=10)
    s = spiral.sample(2000, np.random.default_rng(0)).astype(np.float64)
    r, phi = np.hypot(*s.T), np.arctan2(s[:, 1], s[:, 0])
    u = r / 2.0 * 3 * math.pi                                        # angle along the arm from the radius
    arm_a = np.isclose(np.cos(u), np.cos(phi), atol=1e-4) & np.isclose(np.sin(u), np.sin(phi), atol=1e-4)
    arm_b = np.isclose(np.cos(u), -np.cos(phi), atol=1e-4) & np.isclose(np.sin(u), -np.sin(phi), atol=1e-4)
    assert (arm_a | arm_b).all() and 0.4 < arm_a.mean() < 0.6


def test_no_log_prob_for_noiseless_moons_and_spiral():
    for name in ["moons", "spiral"]:                 # points on a curve: no density in 2D
        with pytest.raises(NotImplementedError):
            get_dataset(name, noise=0.0, n_train=10, n_test=10).log_prob(np.zeros((3, 2)))


@pytest.mark.parametrize("name,opts,word", [
    ("normal1d", {"std": 0}, "std"),
    ("normal1d", {"std": -1.0}, "std"),
    ("normal1d", {"mean": "a"}, "mean"),
    ("normal2d", {"corr": 1.0}, "corr"),
    ("normal2d", {"mean": [1, 2, 3]}, "mean"),
    ("normal-nd", {"d": 0}, "d"),
    ("normal-nd", {"d": 2.5}, "d"),
    ("gmm", {"preset": "square"}, "grid25"),
    ("gmm", {"std": 0.0}, "std"),
    ("gmm", {"n_modes": 0}, "n_modes"),
    ("gmm", {"weights": [1, 2]}, "weights"),
    ("gmm", {"weights": [1, 1, 1, 1, 1, 1, 1, -1]}, "weights"),
    ("gmm", {"preset": "grid25", "radius": 3}, "radius"),
    ("pinwheel", {"n_arms": 0}, "n_arms"),
    ("pinwheel", {"radial_std": 0}, "radial_std"),
    ("pinwheel", {"rate": float("nan")}, "rate"),
    ("moons", {"noise": -0.1}, "noise"),
    ("spiral", {"turns": 0}, "turns"),
    ("checkerboard", {"n_train": 0}, "n_train"),
    ("moons", {"n_test": 0}, "n_test"),
    ("moons", {"seed": -1}, "seed"),
    ("moons", {"std": 1.0}, "std"),                 # an option moons does not take
])
def test_bad_options_raise(name, opts, word):
    with pytest.raises(DifflabError, match=word):
        get_dataset(name, **opts)
