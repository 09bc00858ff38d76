"""Two-sample metrics, noise floors and evaluate_samples, checked against analytic oracles."""
import json
import math

import numpy as np
import pytest
import scipy.stats
from scipy.spatial.distance import cdist

from difflab.data.base import Dataset, Normaliser
from difflab.errors import DifflabError
from difflab.eval import (METRICS, energy_distance, evaluate_samples, format_metrics_table, mmd2_unbiased,
                          reference_floors,
                          mode_coverage, noise_floor, on_mode_radius, sliced_wasserstein2)
from difflab.eval.two_sample import w2_squared_1d


# -- a tiny Gaussian mixture with a known truth ---------------------------------------------------

class TinyMixture(Dataset):
    """Four isotropic 2-D Gaussians on a square, unequal weights."""

    name = "tiny-mixture"
    has_truth = has_log_prob = has_modes = True
    means = np.array([[3.0, 3.0], [-3.0, 3.0], [-3.0, -3.0], [3.0, -3.0]])
    weights = np.array([0.4, 0.3, 0.2, 0.1])
    stds = np.array([0.5, 0.5, 0.7, 0.7])

    def __init__(self, n_train=400, n_test=300, seed=0):
        rng = np.random.default_rng(seed)
        self.train = self.sample(n_train, rng).astype(np.float32)
        self.test = self.sample(n_test, rng).astype(np.float32)
        self.normaliser = Normaliser.standardise(self.train)

    def sample(self, n, rng, keep=None):
        k = rng.choice(4, size=n, p=self.weights)
        if keep is not None:                       # a "model" that drops the other modes
            k = rng.choice(keep, size=n)
        return self.means[k] + self.stds[k, None] * rng.standard_normal((n, 2))

    def log_prob(self, x):
        x = np.asarray(x, dtype=np.float64)
        d2 = ((x[:, None, :] - self.means[None]) ** 2).sum(-1)
        comp = np.log(self.weights) - d2 / (2 * self.stds ** 2) - np.log(2 * np.pi * self.stds ** 2)
        return scipy.special.logsumexp(comp, axis=1)

    def modes(self):
        return self.means, self.weights, self.stds


class UserData(TinyMixture):
    """The same data, but only as a train/test split (no truth)."""

    name = "user-data"
    has_truth = has_log_prob = has_modes = False


class UnitSquare(Dataset):
    """Uniform on [0, 1]^2: log-density 0 inside, -inf outside."""

    name = "unit-square"
    has_truth = has_log_prob = True

    def __init__(self):
        self.train = self.test = np.zeros((10, 2), np.float32)

    def sample(self, n, rng):
        return rng.random((n, 2))

    def log_prob(self, x):
        inside = np.all((x >= 0) & (x <= 1), axis=1)
        return np.where(inside, 0.0, -np.inf)


def _brute_mmd2(x, y, bandwidths):
    k = lambda a, b: sum(np.exp(-cdist(a, b, "sqeuclidean") / (2 * h * h)) for h in bandwidths)
    n, m = len(x), len(y)
    kxx, kyy = k(x, x), k(y, y)
    return ((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
            - 2 * k(x, y).mean())


# -- energy distance ----------------------------------------------------------------------------

def test_energy_matches_scipy_in_1d():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal(300), 0.5 + 2 * rng.standard_normal(410)
    assert energy_distance(x, y) == pytest.approx(scipy.stats.energy_distance(x, y) ** 2, rel=1e-10)
    assert energy_distance(x[:, None], y[:, None]) == pytest.approx(energy_distance(x, y), rel=1e-12)


@pytest.mark.parametrize("d", [3, 12])   # the direct and the matmul distance paths, several tiles
def test_energy_and_mmd_match_brute_force(d):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((300, d)) + 5.0, rng.standard_normal((270, d)) * 1.3 + 5.0
    e = 2 * cdist(x, y).mean() - cdist(x, x).mean() - cdist(y, y).mean()
    assert energy_distance(x, y) == pytest.approx(e, rel=1e-9)
    bw = [0.5, 1.0, 2.0, 4.0]                          # squaring path
    assert mmd2_unbiased(x, y, bw) == pytest.approx(_brute_mmd2(x, y, bw), rel=1e-8, abs=1e-12)
    bw = [0.7, 3.0]                                    # one exp per bandwidth
    assert mmd2_unbiased(x, y, bw) == pytest.approx(_brute_mmd2(x, y, bw), rel=1e-8, abs=1e-12)


# -- MMD ----------------------------------------------------------------------------------------

def test_mmd2_is_unbiased_and_detects_a_shift():
    rng = np.random.default_rng(2)
    null = np.array([mmd2_unbiased(rng.standard_normal((150, 2)), rng.standard_normal((150, 2)))
                     for _ in range(30)])
    se = null.std(ddof=1) / math.sqrt(len(null))
    assert abs(null.mean()) < 3 * se
    assert null.min() < 0 < null.max()               # a U-statistic scatters around zero
    shifted = mmd2_unbiased(rng.standard_normal((150, 2)), rng.standard_normal((150, 2)) + [1.0, 0.0])
    assert shifted > null.max() + 10 * null.std()


def test_mmd2_rejects_bad_input():
    with pytest.raises(DifflabError, match="per sample"):
        mmd2_unbiased(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(DifflabError, match="bandwidths"):
        mmd2_unbiased(np.zeros((5, 2)), np.ones((5, 2)), bandwidths=[0.0])


# -- sliced Wasserstein -------------------------------------------------------------------------

def test_sw2_gaussian_shift_approaches_norm_over_sqrt_d():
    rng = np.random.default_rng(3)
    d, mu = 3, np.array([1.2, -0.8, 1.0])
    x, y = rng.standard_normal((2000, d)), rng.standard_normal((2000, d)) + mu
    sw = sliced_wasserstein2(x, y, rng, n_projections=800)   # relative spread about 2%
    assert sw == pytest.approx(np.linalg.norm(mu) / math.sqrt(d), rel=0.06)


def test_sw2_in_1d_is_exact_w2():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal(500), rng.exponential(size=500)
    exact = math.sqrt(np.mean((np.sort(x) - np.sort(y)) ** 2))
    assert sliced_wasserstein2(x, y, rng, n_projections=3) == pytest.approx(exact, rel=1e-12)


def test_w2_unequal_sizes_matches_the_expanded_equal_size_case():
    rng = np.random.default_rng(5)
    xs, ys = np.sort(rng.standard_normal((3, 6)), 1), np.sort(rng.standard_normal((3, 4)), 1)
    # 6 and 4 points -> 12 and 12 by repeating each point: the same empirical measures
    expanded = ((np.repeat(xs, 2, axis=1) - np.repeat(ys, 3, axis=1)) ** 2).mean(1)
    np.testing.assert_allclose(w2_squared_1d(xs, ys), expanded, rtol=1e-12)
    assert sliced_wasserstein2(xs[0], np.repeat(xs[0], 3), rng) == pytest.approx(0.0, abs=1e-12)


def test_metrics_are_deterministic_given_the_rng():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((200, 3)), rng.standard_normal((250, 3))
    for name, metric in METRICS.items():
        assert metric.__doc__
        a = metric(x, y, np.random.default_rng(7))
        assert a == metric(x, y, np.random.default_rng(7)), name
    assert METRICS["sw2"](x, y, np.random.default_rng(7)) != METRICS["sw2"](x, y, np.random.default_rng(8))


# -- noise floor --------------------------------------------------------------------------------

def test_noise_floor():
    draw = lambda r: r.standard_normal((100, 2))
    f = noise_floor(METRICS["energy"], draw, draw, np.random.default_rng(0), n_pairs=12)
    assert len(f["values"]) == 12 and f["median"] <= f["p95"] <= max(f["values"])
    assert f["p95"] == pytest.approx(np.percentile(f["values"], 95))
    assert f == noise_floor(METRICS["energy"], draw, draw, np.random.default_rng(0), n_pairs=12)


# -- modes --------------------------------------------------------------------------------------

def test_on_mode_radius_is_three_sigma_in_1d():
    assert on_mode_radius(2.0, 1) == pytest.approx(6.0, rel=1e-9)
    assert on_mode_radius(1.0, 2) == pytest.approx(math.sqrt(-2 * math.log(1 - math.erf(3 / math.sqrt(2)))))


def test_mode_coverage_counts():
    means, w, s = TinyMixture.means[:3], np.array([0.45, 0.45, 0.1]), np.full(3, 0.5)
    x = np.concatenate([np.repeat(means[:1], 60, 0), np.repeat(means[1:2], 30, 0), [[0.0, 0.0]] * 10])
    m = mode_coverage(x, means, w, s)
    assert m["n_modes"] == 3 and m["covered"] == 2          # mode 2 has 0 of its expected 10
    assert m["frac_off_mode"] == pytest.approx(0.1)
    assert m["max_weight_error"] == pytest.approx(60 / 90 - 0.45)


# -- evaluate_samples ---------------------------------------------------------------------------

KEYS = {"value", "floor_median", "floor_p95", "within_floor", "floor_values"}


def test_evaluate_truth_samples_sit_within_the_floor():
    ds = TinyMixture()
    rng = np.random.default_rng(10)
    res = evaluate_samples(ds.sample(500, rng), ds, rng, n_pairs=10)
    json.dumps(res, allow_nan=False)
    assert res["n_samples"] == 500 and res["reference"] == "fresh truth"
    assert set(res) == {"n_samples", "reference", "metrics", "log_density", "modes"}
    assert set(res["metrics"]) == {"mmd2", "energy", "sw2"}
    assert all(set(m) == KEYS and len(m["floor_values"]) == 10 for m in res["metrics"].values())
    assert sum(m["within_floor"] for m in res["metrics"].values()) >= 2
    modes = res["modes"]
    assert modes["covered"] == modes["n_modes"] == 4 and modes["share_covered"] == 1.0
    assert modes["max_weight_error"] < 0.1 and modes["frac_off_mode"] < 0.02
    ld = res["log_density"]
    assert abs(ld["samples_mean"] - ld["truth_mean"]) < 4 * ld["truth_mean_sd"]
    assert ld["samples_frac_outside_support"] == ld["truth_frac_outside_support"] == 0.0
    table = format_metrics_table(res)
    assert all(name in table for name in ("mmd2", "energy", "sw2", "floor p95", "4/4 covered"))


def test_evaluate_detects_dropped_modes():
    ds = TinyMixture()
    rng = np.random.default_rng(11)
    res = evaluate_samples(ds.sample(500, rng, keep=[0, 1]), ds, rng, n_pairs=10)
    assert res["modes"]["covered"] == 2 and res["modes"]["share_covered"] == 0.5
    assert res["modes"]["max_weight_error"] > 0.2
    for name, m in res["metrics"].items():
        assert not m["within_floor"] and m["value"] > 2 * m["floor_p95"], name


@pytest.mark.parametrize("n", [200, 700])   # fewer and more samples than training rows
def test_evaluate_user_data_uses_the_test_set(n):
    ds = UserData()
    rng = np.random.default_rng(12)
    res = evaluate_samples(ds.sample(n, rng), ds, rng, n_pairs=10, metrics=("energy", "sw2"))
    json.dumps(res, allow_nan=False)
    assert res["reference"] == "test set" and set(res) == {"n_samples", "reference", "metrics"}
    assert set(res["metrics"]) == {"energy", "sw2"}
    assert res["metrics"]["energy"]["floor_median"] <= res["metrics"]["energy"]["floor_p95"]


def test_evaluate_counts_points_outside_the_support():
    ds = UnitSquare()
    rng = np.random.default_rng(13)
    x = np.concatenate([rng.random((100, 2)), rng.random((100, 2)) + 2.0])
    ld = evaluate_samples(x, ds, rng, n_pairs=10, metrics=("sw2",))["log_density"]
    assert ld["samples_frac_outside_support"] == 0.5 and ld["truth_frac_outside_support"] == 0.0
    assert ld["samples_mean"] == ld["truth_mean"] == 0.0 and ld["truth_mean_sd"] == 0.0


def test_evaluate_rejects_bad_input():
    ds = TinyMixture()
    rng = np.random.default_rng(14)
    with pytest.raises(DifflabError, match="valid names: energy, mmd2, sw2"):
        evaluate_samples(ds.sample(50, rng), ds, rng, metrics=("fid",))
    with pytest.raises(DifflabError, match="expected"):
        evaluate_samples(np.zeros((50, 3)), ds, rng)
    with pytest.raises(DifflabError, match="finite"):
        evaluate_samples(np.full((50, 2), np.nan), ds, rng)


def test_evaluate_is_deterministic_given_the_seed():
    ds = TinyMixture()
    x = ds.sample(200, np.random.default_rng(0))
    a = evaluate_samples(x, ds, np.random.default_rng(1), metrics=("sw2",))
    assert a == evaluate_samples(x, ds, np.random.default_rng(1), metrics=("sw2",))


def test_a_shared_floor_is_used_as_given():
    ds = TinyMixture()
    floors = reference_floors(ds, 300, np.random.default_rng(3), n_pairs=12, metrics=("energy", "mmd2"))
    assert set(floors) == {"energy", "mmd2"} and len(floors["energy"]["values"]) == 12
    good = evaluate_samples(ds.sample(300, np.random.default_rng(4)), ds, np.random.default_rng(5),
                            metrics=("energy", "mmd2"), floors=floors)
    bad = evaluate_samples(ds.sample(300, np.random.default_rng(4), keep=[0]), ds, np.random.default_rng(5),
                           metrics=("energy", "mmd2"), floors=floors)
    for name in ("energy", "mmd2"):
        assert good["metrics"][name]["floor_values"] == floors[name]["values"]
        assert good["metrics"][name]["floor_p95"] == bad["metrics"][name]["floor_p95"] == floors[name]["p95"]
        assert not bad["metrics"][name]["within_floor"]
    with pytest.raises(DifflabError, match="floors must hold"):
        evaluate_samples(ds.sample(300, np.random.default_rng(4)), ds, np.random.default_rng(5),
                         metrics=("energy", "sw2"), floors=floors)
