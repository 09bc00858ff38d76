"""k-NN precision and recall beside their floor, for data without a known density."""
import json

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from difflab.data import get_dataset
from difflab.data.base import Dataset, Normaliser
from difflab.eval import evaluate_samples, format_metrics_table, judge, precision_recall, precision_recall_floors
from difflab.eval.precision_recall import precision_recall_figures, split_draw


def _brute(real, fake, k):
    def radii(x):
        return np.sort(cdist(x, x), axis=1)[:, k]                 # column 0 is the point itself
    prec = (cdist(fake, real) <= radii(real)[None]).any(1).mean()
    rec = (cdist(real, fake) <= radii(fake)[None]).any(1).mean()
    return prec, rec


def test_precision_recall_matches_brute_force_across_tiles_and_shapes():
    rng = np.random.default_rng(0)
    real, fake = rng.standard_normal((1100, 6)), rng.standard_normal((1050, 6)) * 1.3 + 0.2   # > one tile
    pr = precision_recall(fake, real, k=3)
    assert (pr["precision"], pr["recall"]) == pytest.approx(_brute(real, fake, 3), abs=1e-12)
    shaped = precision_recall(fake.reshape(-1, 2, 3), real.reshape(-1, 2, 3), k=3)
    assert shaped == pr


def _ring(n, rng, keep=None):
    """8 Gaussians of std 0.1 on a circle of radius 2 (keep: only these modes)."""
    k = rng.integers(0, 8, n) if keep is None else rng.choice(keep, n)
    angle = 2 * np.pi * k / 8
    return 2 * np.stack([np.cos(angle), np.sin(angle)], 1) + 0.1 * rng.standard_normal((n, 2))


def test_truth_sits_at_the_floor_and_a_collapsed_sample_loses_recall():
    floors = precision_recall_floors(lambda r: (_ring(500, r), _ring(500, r)), np.random.default_rng(1), n_pairs=20)
    assert floors["n"] == 500 and floors["k"] == 3
    rng = np.random.default_rng(2)
    reference = _ring(500, rng)
    good = precision_recall_figures(_ring(500, rng), reference, floors)
    assert good["precision"]["within_floor"] and good["recall"]["within_floor"]
    one_mode = precision_recall_figures(_ring(500, rng, keep=[0]), reference, floors)
    assert one_mode["recall"]["value"] < 0.25 < 0.5 * one_mode["recall"]["floor_p05"]
    assert not one_mode["recall"]["within_floor"] and one_mode["precision"]["within_floor"]
    between = _ring(500, rng)
    between[:50] *= 0.7                                  # 10% between the modes: precision drops
    off = precision_recall_figures(between, reference, floors)
    assert not off["precision"]["within_floor"] and off["precision"]["value"] < off["precision"]["floor_p05"] - 0.05


def test_evaluate_adds_precision_recall_without_a_known_density():
    ds = get_dataset("moons", noise=0.0, n_train=600, n_test=300)      # noiseless: no density
    rng = np.random.default_rng(3)
    res = evaluate_samples(ds.sample(300, rng), ds, np.random.default_rng(4), n_pairs=10)
    json.dumps(res, allow_nan=False)
    assert set(res["metrics"]) == {"mmd2", "energy", "sw2", "precision", "recall"}
    pr = res["metrics"]["recall"]
    assert pr["higher_is_better"] and pr["k"] == 3 and len(pr["floor_values"]) == 10 and "floor_p05" in pr
    assert judge(res)["checked"] == ["mmd2", "energy", "sw2", "precision", "recall"]
    table = format_metrics_table(res)
    assert "precision" in table and "recall" in table and "verdict:" in table
    only = evaluate_samples(ds.sample(300, rng), ds, np.random.default_rng(4), metrics=("sw2",))
    assert set(only["metrics"]) == {"sw2"}         # explicit metrics: exactly those


def test_split_draw_gives_disjoint_sides_of_the_right_sizes():
    train, test = np.arange(20.0)[:, None], np.arange(20.0, 25.0)[:, None]
    x, y = split_draw(train, test, 12)(np.random.default_rng(5))
    assert x.shape == (12, 1) and y.shape == (5, 1) and not set(x.ravel()) & set(y.ravel())
    x, y = split_draw(train, test, 30)(np.random.default_rng(5))   # more than the pool holds: repeats
    assert x.shape == (30, 1) and len(set(x.ravel())) == 20 and not set(x.ravel()) & set(y.ravel())


class RingFile(Dataset):
    """A user's file of ring points: a train/test split, no truth."""

    name = "ring.npz"

    def __init__(self, rng, n_train=1000, n_test=250):
        self.train, self.test = _ring(n_train, rng), _ring(n_test, rng)
        self.normaliser = Normaliser.standardise(self.train)


def test_user_data_floor_varies_even_when_the_samples_outnumber_the_training_rows():
    rng = np.random.default_rng(6)
    ds = RingFile(rng)
    res = evaluate_samples(_ring(1000, rng), ds, np.random.default_rng(7), metrics=None)
    assert res["reference"] == "test set"
    for key in ("precision", "recall"):
        m = res["metrics"][key]
        assert np.std(m["floor_values"]) > 0 and m["within_floor"], key
    collapsed = evaluate_samples(_ring(1000, rng, keep=[0, 1]), ds, np.random.default_rng(7))
    assert not collapsed["metrics"]["recall"]["within_floor"] and not judge(collapsed)["as_good_as_data_allow"]
