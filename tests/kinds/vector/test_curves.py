"""The blurred-curve log-density of spiral and moons (kinds/vector/curves.py) against exact checks:
a straight segment (closed form with erf), total mass 1, convergence in the number of nodes, and
agreement with the sampler (mean log p of samples = the density's negative entropy estimate)."""
import math

import numpy as np
import pytest
from scipy.special import erf

from difflab.data import get_dataset
from difflab.kinds.vector.curves import blurred_curve_log_prob


def test_a_blurred_segment_matches_its_closed_form():
    # c(u) = (u, 0), u ~ U(0, 2): p(x) = N(y; 0, s^2) (Phi((2 - x)/s) - Phi(-x/s)) / 2
    s = 0.1
    rng = np.random.default_rng(0)
    x = np.stack([rng.uniform(-0.3, 2.3, 200), rng.normal(0, 0.15, 200)], axis=1)
    seg = lambda u: np.stack([u, np.zeros_like(u)], axis=1)  # noqa: E731
    phi = lambda z: 0.5 * (1 + erf(z / math.sqrt(2)))  # noqa: E731
    exact = (-0.5 * x[:, 1] ** 2 / s ** 2 - 0.5 * math.log(2 * math.pi * s ** 2)
             + np.log((phi((2 - x[:, 0]) / s) - phi(-x[:, 0] / s)) / 2))
    np.testing.assert_allclose(blurred_curve_log_prob(x, [seg], 2.0, s), exact, atol=1e-5)


@pytest.mark.parametrize("name", ["spiral", "moons"])
def test_mass_one_convergence_and_agreement_with_the_sampler(name):
    ds = get_dataset(name, n_train=10, n_test=10)
    assert ds.has_log_prob
    # total mass on a grid that holds the support (+- 6 noise)
    g = np.linspace(-3.0, 3.0, 151) if name == "spiral" else np.linspace(-1.8, 2.8, 116)
    h = g[1] - g[0]
    xx, yy = np.meshgrid(g, g)
    p = np.exp(ds.log_prob(np.stack([xx.ravel(), yy.ravel()], axis=1)))
    assert abs(p.sum() * h * h - 1.0) < 2e-3
    # samples sit where the density is: their mean log p equals its Monte Carlo over a grid
    xs = ds.sample(4000, np.random.default_rng(2))
    mc = ds.log_prob(xs).mean()
    grid_entropy = -(p * np.log(np.maximum(p, 1e-300))).sum() * h * h
    assert abs(mc + grid_entropy) < 0.05
    # a point far off the curve is far less likely than one on it
    assert ds.log_prob(np.array([[0.0, 5.0]]))[0] < ds.log_prob(xs[:1])[0] - 100


def test_more_nodes_agree():
    ds = get_dataset("spiral", n_train=10, n_test=10)
    x = ds.sample(200, np.random.default_rng(3)).astype(np.float64)
    u_max = 2 * math.pi * 1.5
    arm = lambda sign: (lambda u: sign * (2.0 * u / u_max)[:, None] * np.stack([np.cos(u), np.sin(u)], 1))  # noqa: E731
    a = blurred_curve_log_prob(x, [arm(1.0), arm(-1.0)], u_max, 0.1)
    b = blurred_curve_log_prob(x, [arm(1.0), arm(-1.0)], u_max, 0.1, n_nodes=16000)
    np.testing.assert_allclose(a, ds.log_prob(x), atol=0)
    np.testing.assert_allclose(a, b, atol=1e-4)


def test_without_noise_there_is_no_density():
    assert not get_dataset("moons", noise=0.0, n_train=10, n_test=10).has_log_prob
    with pytest.raises(ValueError, match="no density"):
        blurred_curve_log_prob(np.zeros((1, 2)), [lambda u: np.stack([u, u], 1)], 1.0, 0.0)
