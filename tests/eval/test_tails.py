"""The tail figures (outlier share, outside share, mean true log-density) against analytic cases,
the floor helpers, and their wiring into evaluate_samples, the floors cache and the verdict."""
import json
import math

import numpy as np
import pytest
import scipy.stats

from difflab.data import get_dataset
from difflab.data.base import Dataset, Normaliser
from difflab.errors import DifflabError
from difflab.eval import (evaluate_samples, format_metrics_table, judge, judge_median, noise_floor,
                          reference_floors, summarise)
from difflab.eval.tails import (OUTSIDE_TOLERANCE, log_density_threshold, tail_figures, tail_floors,
                                tail_values)


class UniformBox(Dataset):
    """Uniform on [0, 2] x [0, 1]: log-density -log 2 inside; the support is declared."""

    name = "uniform-box"
    has_truth = has_log_prob = True
    high = np.array([2.0, 1.0])

    def __init__(self):
        self.train = self.test = self.sample(50, np.random.default_rng(0))
        self.normaliser = Normaliser.standardise(self.train)

    def sample(self, n, rng):
        return rng.random((n, 2)) * self.high

    def in_support(self, x):
        return np.all((x >= 0) & (x <= self.high), axis=1)

    def log_prob(self, x):
        return np.where(self.in_support(x), -math.log(2.0), -np.inf)


# -- the floor helpers ------------------------------------------------------------------------

def test_summarise_and_noise_floor_with_medians_over_draws():
    s = summarise(range(101))
    assert (s["median"], s["p05"], s["p95"], len(s["values"])) == (50.0, 5.0, 95.0, 101)
    mean_gap = lambda x, y, rng: abs(float(x.mean() - y.mean()))
    draw = lambda r: r.standard_normal(100)
    one = noise_floor(mean_gap, draw, draw, np.random.default_rng(0), n_pairs=40)
    five = noise_floor(mean_gap, draw, draw, np.random.default_rng(0), n_pairs=40, n_draws=5)
    assert five == noise_floor(mean_gap, draw, draw, np.random.default_rng(0), n_pairs=40, n_draws=5)
    # |mean gap| of two n=100 draws is half-normal with scale sqrt(2/100): median 0.095
    assert one["median"] == pytest.approx(scipy.stats.halfnorm.median(scale=math.sqrt(0.02)), rel=0.3)
    assert five["p95"] < one["p95"]                # a median over draws scatters less


def test_judge_median_reads_the_median_of_five_draws_against_the_floor():
    mean_gap = lambda x, y, rng: abs(float(x.mean() - y.mean()))
    draw = lambda r: r.standard_normal(200)
    floor = noise_floor(mean_gap, draw, draw, np.random.default_rng(1), n_pairs=100, n_draws=5)
    rng = np.random.default_rng(2)
    good = judge_median(rng.standard_normal(200), mean_gap, draw, floor, rng)
    bad = judge_median(rng.standard_normal(200) + 0.5, mean_gap, draw, floor, rng)
    assert good["n_draws"] == len(good["values"]) == 5 and good["value"] == np.median(good["values"])
    assert good["within_floor"] and not bad["within_floor"] and good["floor_bound"] == floor["p95"]
    high = judge_median(rng.standard_normal(200), lambda x, y, r: 1.0, draw, floor, rng, higher_is_better=True)
    assert high["floor_bound"] == floor["p05"] and high["within_floor"]
    with pytest.raises(DifflabError, match="at least 5"):
        judge_median(rng.standard_normal(200), mean_gap, draw, floor, rng, n_draws=3)


# -- the tail figures against analytic cases --------------------------------------------------

def test_exact_gaussian_samples_put_a_tenth_of_a_percent_in_the_tail():
    ds = get_dataset("normal2d")
    threshold = log_density_threshold(ds, np.random.default_rng(0))
    # log p = c - r^2 / 2 with r^2 ~ chi2(2): the 0.1% quantile of log p is c - chi2.ppf(0.999, 2) / 2
    c = -math.log(2 * math.pi) - 0.5 * math.log(1 - 0.8 ** 2)
    assert threshold == pytest.approx(c - 0.5 * scipy.stats.chi2.ppf(0.999, 2), abs=0.1)
    n = 200_000
    share = tail_values(ds.sample(n, np.random.default_rng(1)), ds, threshold)["outlier_share"]
    se = math.sqrt(2 * 0.001 * 0.999 / n)         # binomial error of the share and of the threshold
    assert abs(share - 0.001) < 4 * se


def test_the_outlier_floor_is_the_binomial_p95():
    ds = get_dataset("gmm")
    f = tail_floors(ds, 2000, np.random.default_rng(3), n_draws=200)
    # 2000 draws, 0.1% each: Binomial(2000, 0.001) has p95 = 5 points, 0.25%
    assert f["outlier_share"]["p95"] == pytest.approx(scipy.stats.binom.ppf(0.95, 2000, 0.001) / 2000, abs=0.0005)
    assert f["outside_share"]["p95"] == 0.0 and not f["bounded_support"]
    assert f["mean_log_prob"]["p05"] < f["mean_log_prob"]["median"]


def test_truth_passes_and_samples_between_the_modes_are_caught():
    ds = get_dataset("gmm")                       # 8 modes of std 0.1 on a ring of radius 2
    floors = tail_floors(ds, 2000, np.random.default_rng(4))
    rng = np.random.default_rng(5)
    good = tail_figures(ds.sample(2000, rng), ds, floors)
    assert good["outlier_share"]["within_floor"] and good["mean_log_prob"]["within_floor"]
    assert "outside_support" not in good
    x = ds.sample(2000, rng)
    x[:40] *= 0.7                                  # 2% pulled 0.6 (6 std) inwards, between the modes
    bad = tail_figures(x, ds, floors)
    assert bad["outlier_share"]["value"] >= 0.02 > 5 * bad["outlier_share"]["floor_p95"]
    assert not bad["outlier_share"]["within_floor"] and not bad["mean_log_prob"]["within_floor"]
    assert bad["mean_log_prob"]["value"] < bad["mean_log_prob"]["floor_p05"]


@pytest.mark.parametrize("name", ["checkerboard", "uniform-box"])
def test_samples_pushed_off_a_bounded_support_are_caught(name):
    ds = get_dataset("checkerboard") if name == "checkerboard" else UniformBox()
    floors = tail_floors(ds, 1000, np.random.default_rng(6))
    assert floors["bounded_support"] and floors["outside_share"]["p95"] == 0.0
    rng = np.random.default_rng(7)
    good = tail_figures(ds.sample(1000, rng), ds, floors)
    assert good["outside_support"]["value"] == 0.0 and good["outside_support"]["within_floor"]
    assert good["outlier_share"]["value"] == 0.0 and good["mean_log_prob"]["within_floor"]   # a flat density
    x = ds.sample(1000, rng)
    x[:50, 0] += 1.0                               # 5% moved one unit right: a light square, or past the edge
    share = float(np.mean(~ds.in_support(x)))
    bad = tail_figures(x, ds, floors)["outside_support"]
    assert bad["value"] == share and share > 0.02 and not bad["within_floor"]
    assert bad["bound"] == OUTSIDE_TOLERANCE


def test_in_support_of_the_toy_datasets():
    board = get_dataset("checkerboard")
    x = np.random.default_rng(8).uniform(-3, 3, (500, 2))
    np.testing.assert_array_equal(board.in_support(x), np.isfinite(board.log_prob(x)))
    assert get_dataset("gmm").in_support(x) is None and get_dataset("moons").in_support(x) is None


# -- wiring: evaluate_samples, the floors cache, the table and the verdict ------------------------

def test_evaluate_reports_the_tails_and_caches_their_floors():
    ds = get_dataset("checkerboard")
    floors = reference_floors(ds, 500, np.random.default_rng(9), metrics=("energy",))
    assert set(floors) == {"energy"}
    rng = np.random.default_rng(10)
    good = evaluate_samples(ds.sample(500, rng), ds, np.random.default_rng(11), metrics=("energy",), floors=floors)
    cached = floors["tails"]
    assert cached["n"] == 500 and cached["n_draws"] == 100
    x = ds.sample(500, rng)
    x[:25] += 2.5                                  # 5% off the board (or onto light squares)
    bad = evaluate_samples(x, ds, np.random.default_rng(11), metrics=("energy",), floors=floors)
    assert floors["tails"] is cached               # computed once, shared by both calls
    json.dumps(bad, allow_nan=False)
    assert set(good["log_density"]) >= {"samples_mean", "outlier_share", "mean_log_prob", "outside_support"}
    assert judge(good) == {"as_good_as_data_allow": True, "checked": ["energy", "outlier_share", "mean_log_prob",
                                                                      "outside_support"], "failing": []}
    assert "outside_support" in judge(bad)["failing"]
    assert "verdict: as good as the data allow" in format_metrics_table(good)
    table = format_metrics_table(bad)
    assert "outside the support" in table and "NOT as good as the data allow" in table
    with pytest.raises(DifflabError, match="computed for 500 samples"):
        evaluate_samples(ds.sample(300, rng), ds, rng, metrics=("energy",), floors=floors)


def test_reference_floors_can_hold_every_floor():
    ds = get_dataset("gmm")
    floors = reference_floors(ds, 300, np.random.default_rng(12), n_pairs=5, metrics=("sw2",), tails=True,
                              precision_recall=True, n_tail_draws=20)
    assert set(floors) == {"sw2", "tails", "precision_recall"}
    assert floors["tails"]["n_draws"] == 20 and len(floors["precision_recall"]["recall"]["values"]) == 5
    res = evaluate_samples(ds.sample(300, np.random.default_rng(13)), ds, np.random.default_rng(14),
                           metrics=("sw2",), floors=floors, precision_recall=True)
    assert set(res["metrics"]) == {"sw2", "precision", "recall"}
    assert res["metrics"]["recall"]["floor_values"] == floors["precision_recall"]["recall"]["values"]


def test_samples_piled_into_the_modes_are_too_concentrated():
    """The two-sided mean log-density: samples at the gmm's mode centres (plus a tenth of the
    modes' spread) have a higher mean log p than any truth draw, which energy and MMD^2 barely see."""
    ds = get_dataset("gmm")
    rng = np.random.default_rng(0)
    floors = tail_floors(ds, 2000, rng, n_draws=50)
    truth = tail_figures(ds.sample(2000, rng), ds, floors)["mean_log_prob"]
    assert truth["within_floor"] and not truth["too_concentrated"]
    assert truth["floor_p05"] < truth["floor_median"] < truth["floor_p99"]
    x = ds.sample(2000, rng).astype(np.float64)
    means, _, stds = ds.modes()
    nearest = np.argmin(((x[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    sharp = means[nearest] + 0.1 * (x - means[nearest])
    m = tail_figures(sharp, ds, floors)["mean_log_prob"]
    assert m["too_concentrated"] and not m["within_floor"] and m["value"] > m["floor_p99"] + 0.5
