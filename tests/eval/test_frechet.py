"""Frechet distance and k-NN precision/recall on feature sets whose answers are known."""
import numpy as np
import pytest
import scipy.linalg

from difflab.errors import DifflabError
from difflab.eval.frechet import (frechet_distance, frechet_distance_gaussians, gaussian_fit, knn_precision_recall,
                                  knn_radii, trace_sqrt_product)


def random_cov(rng, d, ridge=0.1):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + ridge * np.eye(d)


def test_identical_sets_give_zero_and_a_shift_gives_its_squared_length():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((500, 16))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    shift = np.full(16, 0.5)                      # same covariance, means 0.5 * sqrt(16) = 2 apart
    assert frechet_distance(a, a + shift) == pytest.approx(4.0, rel=1e-9)
    b = rng.standard_normal((500, 16))
    assert frechet_distance(a, b) < 0.5 < frechet_distance(a, b + shift)


def test_trace_term_matches_scipy_sqrtm():
    rng = np.random.default_rng(1)
    s1, s2 = random_cov(rng, 12), random_cov(rng, 12)
    expected = np.trace(scipy.linalg.sqrtm(s1 @ s2)).real
    assert trace_sqrt_product(s1, s2) == pytest.approx(expected, rel=1e-10)


def test_analytic_value_for_two_gaussians():
    """Diagonal covariances: FD = |mu1 - mu2|^2 + sum (sqrt(v1) - sqrt(v2))^2 exactly; a large sample
    of each Gaussian gets close to it."""
    rng = np.random.default_rng(2)
    mu1, mu2 = np.array([0.0, 1.0, -1.0]), np.array([1.0, 1.0, 0.5])
    v1, v2 = np.array([1.0, 4.0, 0.25]), np.array([2.25, 1.0, 0.25])
    exact = float(((mu1 - mu2) ** 2).sum() + ((np.sqrt(v1) - np.sqrt(v2)) ** 2).sum())   # 3.25 + 0.25 + 1 = 4.5
    assert frechet_distance_gaussians(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(exact, rel=1e-12)
    a = mu1 + np.sqrt(v1) * rng.standard_normal((200_000, 3))
    b = mu2 + np.sqrt(v2) * rng.standard_normal((200_000, 3))
    assert frechet_distance(a, b) == pytest.approx(exact, rel=0.01)


def test_singular_covariances_stay_real_and_non_negative():
    """Fewer points than features and a dead (constant) feature: the covariances are singular."""
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((20, 64)), rng.standard_normal((20, 64))
    a[:, 0] = b[:, 0] = 0.0
    value = frechet_distance(a, b)
    assert np.isfinite(value) and value > 0
    assert frechet_distance(a, a.copy()) == pytest.approx(0.0, abs=1e-8)
    mu, cov = gaussian_fit(a)
    assert mu.shape == (64,) and cov.shape == (64, 64)


def test_bad_feature_sets_are_refused():
    rng = np.random.default_rng(4)
    with pytest.raises(DifflabError, match="dimension"):
        frechet_distance(rng.standard_normal((10, 3)), rng.standard_normal((10, 4)))
    with pytest.raises(DifflabError, match="at least 2"):
        frechet_distance(rng.standard_normal((1, 3)), rng.standard_normal((10, 3)))
    with pytest.raises(DifflabError, match="NaN"):
        knn_precision_recall(np.full((5, 2), np.nan), rng.standard_normal((5, 2)))
    with pytest.raises(DifflabError, match="k must be"):
        knn_precision_recall(rng.standard_normal((5, 2)), rng.standard_normal((5, 2)), k=5)


def test_knn_radii_are_distances_to_the_kth_other_point():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    assert np.sqrt(knn_radii(x, 1)).tolist() == [1.0, 1.0, 2.0, 4.0]
    assert np.sqrt(knn_radii(x, 2)).tolist() == [3.0, 2.0, 3.0, 6.0]


def test_precision_recall_on_known_cases():
    rng = np.random.default_rng(5)
    same = knn_precision_recall(rng.standard_normal((1000, 2)), rng.standard_normal((1000, 2)))
    assert same["precision"] > 0.95 and same["recall"] > 0.95 and same["k"] == 3
    far = knn_precision_recall(rng.standard_normal((500, 2)), rng.standard_normal((500, 2)) + 50.0)
    assert far["precision"] == 0.0 and far["recall"] == 0.0
    centres = np.array([[0.0, 0.0], [30.0, 0.0], [0.0, 30.0], [30.0, 30.0]])
    real = centres[rng.integers(0, 4, 2000)] + rng.standard_normal((2000, 2))
    one_mode = centres[0] + rng.standard_normal((500, 2))        # realistic samples of a quarter of the data
    pr = knn_precision_recall(real, one_mode)
    assert pr["precision"] > 0.95 and 0.15 < pr["recall"] < 0.35
