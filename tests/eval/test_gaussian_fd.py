"""The exact Frechet distance to a known Gaussian (eval/gaussian.py) against closed forms."""
import math

import numpy as np
import pytest

from difflab.data import get_dataset
from difflab.errors import DifflabError
from difflab.eval.gaussian import evaluate_gaussian, frechet_to_gaussian, gaussian_floor, truth_moments


def exact_moments(mean, cov, n=500, seed=0):
    """n points whose sample mean is exactly `mean` and unbiased sample covariance exactly `cov`."""
    d = len(mean)
    z = np.random.default_rng(seed).standard_normal((n, d))
    z -= z.mean(axis=0)
    white = np.linalg.cholesky(np.cov(z, rowvar=False))
    z = np.linalg.solve(white, z.T).T                       # sample covariance exactly I
    return np.asarray(mean) + z @ np.linalg.cholesky(cov).T


def random_cov(d, seed):
    a = np.random.default_rng(seed).standard_normal((d, d)) / math.sqrt(d)
    return a @ a.T + 0.2 * np.eye(d)


def test_exact_moments_helper_is_exact():
    cov = random_cov(6, 1)
    x = exact_moments(np.arange(6.0), cov)
    assert np.allclose(x.mean(0), np.arange(6.0)) and np.allclose(np.cov(x, rowvar=False), cov)


def test_identical_gaussian_gives_zero():
    cov, mean = random_cov(8, 2), np.linspace(-1, 1, 8)
    assert frechet_to_gaussian(exact_moments(mean, cov), mean, cov) == pytest.approx(0.0, abs=1e-9)


def test_mean_shift_gives_its_squared_length():
    cov, mean = random_cov(5, 3), np.zeros(5)
    shift = np.array([0.3, -1.0, 0.5, 0.0, 2.0])
    fd = frechet_to_gaussian(exact_moments(mean + shift, cov), mean, cov)
    assert fd == pytest.approx(shift @ shift, rel=1e-9)


def test_scaled_covariance_gives_the_trace_formula():
    # W2^2(N(0, c S), N(0, S)) = tr(cS) + tr(S) - 2 sqrt(c) tr(S) = (sqrt(c) - 1)^2 tr(S)
    cov = random_cov(7, 4)
    for c in (0.25, 2.0, 9.0):
        fd = frechet_to_gaussian(exact_moments(np.zeros(7), c * cov), np.zeros(7), cov)
        assert fd == pytest.approx((math.sqrt(c) - 1) ** 2 * np.trace(cov), rel=1e-8)


def test_diagonal_covariances_give_the_sum_over_axes():
    a, b = np.array([0.5, 1.0, 4.0]), np.array([2.0, 1.0, 1.0])
    fd = frechet_to_gaussian(exact_moments(np.zeros(3), np.diag(a)), np.zeros(3), np.diag(b))
    assert fd == pytest.approx(((np.sqrt(a) - np.sqrt(b)) ** 2).sum(), rel=1e-9)


def test_one_dimension_is_mean_and_std_differences_squared():
    x = np.random.default_rng(5).normal(0.7, 1.3, size=(200, 1))
    m, s = x.mean(), x.std(ddof=1)
    assert frechet_to_gaussian(x, [1.0], [[4.0]]) == pytest.approx((m - 1.0) ** 2 + (s - 2.0) ** 2, rel=1e-9)


def test_truth_moments_are_those_of_the_dataset_construction():
    ds = get_dataset("normal-nd", d=5, n_train=10, n_test=10, cov_seed=3)
    mean, cov = truth_moments(ds)
    rng = np.random.default_rng(3)                           # kinds/vector/toy.py's normal_nd, step by step
    a = rng.standard_normal((5, 5)) / math.sqrt(5)
    assert np.array_equal(cov, a @ a.T + 0.1 * np.eye(5)) and np.array_equal(mean, 0.5 * rng.standard_normal(5))
    with pytest.raises(DifflabError, match="not a Gaussian"):
        truth_moments(get_dataset("moons", n_train=10, n_test=10))


def test_floor_and_evaluation():
    ds = get_dataset("normal-nd", d=4, n_train=10, n_test=10)
    floor = gaussian_floor(ds, 400, np.random.default_rng(0), n_draws=20)
    assert len(floor["values"]) == 20 and 0 < floor["median"] <= floor["p95"]
    assert floor == gaussian_floor(ds, 400, np.random.default_rng(0), n_draws=20)       # seeded
    with pytest.raises(DifflabError, match="at least 20"):
        gaussian_floor(ds, 400, np.random.default_rng(0), n_draws=5)
    truth = evaluate_gaussian(ds.sample(400, np.random.default_rng(9)), ds, np.random.default_rng(1), floor=floor)
    assert truth["d"] == 4 and truth["value"] < 3 * floor["p95"]
    mean, cov = truth_moments(ds)
    wide = mean + 1.5 * (ds.sample(400, np.random.default_rng(9)) - mean)      # covariance x 2.25
    bad = evaluate_gaussian(wide, ds, np.random.default_rng(1), floor=floor)
    assert not bad["within_floor"] and bad["value"] > 10 * floor["p95"]


def test_the_floor_of_a_median_over_groups_is_that_median_and_tighter():
    ds = get_dataset("normal-nd", d=4, n_train=10, n_test=10)
    one = gaussian_floor(ds, 200, np.random.default_rng(0), n_draws=40)
    five = gaussian_floor(ds, 200, np.random.default_rng(0), n_draws=40, groups=5)
    # each value is the median of five independent draws' distances, recomputed here by hand
    rng, (mean, cov) = np.random.default_rng(0), truth_moments(ds)
    first = np.median([frechet_to_gaussian(ds.sample(200, rng), mean, cov) for _ in range(5)])
    assert five["values"][0] == pytest.approx(first, rel=1e-12)
    assert np.std(five["values"]) < 0.8 * np.std(one["values"]) and five["p95"] < one["p95"]
    with pytest.raises(DifflabError, match="groups"):
        gaussian_floor(ds, 200, np.random.default_rng(0), n_draws=20, groups=0)
