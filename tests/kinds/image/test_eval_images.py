"""The image metrics: difflab's own classifier (trains, caches, reloads, retrains on new data),
evaluate_images on known cases, and `difflab evaluate` on an image run. Synthetic 8x8 `shapes`
images only: seconds on a CPU, nothing read from ../shared."""
import json

import numpy as np
import pytest

from difflab.cli import main
from difflab.data import get_dataset
from difflab.errors import DifflabError
from difflab.eval.classifier import ClassifierOptions, default_cache_dir
from difflab.kinds.image import classifier as classifier_module
from difflab.kinds.image.classifier import get_classifier
from difflab.kinds.image.metrics import FD_NAME, evaluate_images, format_image_metrics, image_reference_floors

SMALL = ClassifierOptions(width=8, feature_dim=16, epochs=8, min_steps=0, batch_size=64)   # ~1 s on 8x8 images


@pytest.fixture(scope="module")
def shapes():
    return get_dataset("shapes", n_train=1000, n_test=300)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("classifiers")


@pytest.fixture(scope="module")
def clf(shapes, cache):
    return get_classifier(shapes, cache_dir=cache, progress=False, options=SMALL)


def fresh_shapes(n, seed=7, **kw):
    """n new shapes images (a test split of another seed) and their labels."""
    ds = get_dataset("shapes", n_train=1, n_test=n, seed=seed, **kw)
    return ds.test, ds.labels_test


def test_classifier_learns_the_shapes(clf, shapes):
    assert clf.test_accuracy >= 0.95
    x, y = fresh_shapes(200)
    proba = clf.predict_proba(x)
    assert proba.shape == (200, 4) and np.allclose(proba.sum(axis=1), 1.0)
    assert (proba.argmax(axis=1) == y).mean() >= 0.95
    f = clf.features(x)
    assert f.shape == (200, 16) and f.dtype == np.float64 and np.isfinite(f).all()
    with pytest.raises(DifflabError, match="takes images"):
        clf.features(np.zeros((3, 1, 9, 9)))


def test_rgb_images_train_too(tmp_path):
    ds = get_dataset("shapes", n_train=600, n_test=200, channels=3, size=12)
    rgb = get_classifier(ds, cache_dir=tmp_path, progress=False, options=SMALL)
    assert rgb.shape == (3, 12, 12) and rgb.test_accuracy >= 0.9


def test_cache_reloads_without_training_and_holds_no_pickle(clf, shapes, cache, monkeypatch):
    files = sorted(p.name for p in cache.iterdir())
    assert files == sorted([clf.path.name, clf.path.with_suffix(".json").name])
    meta = json.loads(clf.path.with_suffix(".json").read_text())
    assert meta["dataset"] == "shapes" and meta["shape"] == [1, 8, 8] and meta["options"]["width"] == 8
    assert len(meta["data_sha256"]) == 64 and meta["test_accuracy"] == clf.test_accuracy
    assert clf.path.read_bytes()[8:9] == b"{"                   # a safetensors header, not a pickle

    def no_training(*a, **k):
        raise AssertionError("the cached classifier should have been reloaded")

    monkeypatch.setattr(classifier_module, "train_classifier", no_training)
    again = get_classifier(shapes, cache_dir=cache, progress=False, options=SMALL)
    x, _ = fresh_shapes(50)
    assert np.array_equal(again.features(x), clf.features(x)) and again.test_accuracy == clf.test_accuracy


def test_new_data_or_a_mismatched_hash_retrains(clf, shapes, tmp_path, capsys):
    other = get_dataset("shapes", n_train=1000, n_test=300, seed=1)
    retrained = get_classifier(other, cache_dir=tmp_path / "other", progress=False, options=SMALL)
    assert retrained.path.name != clf.path.name and retrained.meta["data_sha256"] != clf.meta["data_sha256"]
    # a cache file whose recorded hash does not match the data is not trusted
    folder = tmp_path / "tampered"
    first = get_classifier(shapes, cache_dir=folder, progress=False, options=SMALL)
    meta_path = first.path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["data_sha256"] = "0" * 64
    meta_path.write_text(json.dumps(meta))
    again = get_classifier(shapes, cache_dir=folder, progress=False, options=SMALL)
    assert "does not match" in capsys.readouterr().err
    assert json.loads(meta_path.read_text())["data_sha256"] == first.meta["data_sha256"]
    assert again.test_accuracy >= 0.95


def test_cache_folder_follows_difflab_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("DIFFLAB_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path / "classifiers"
    monkeypatch.delenv("DIFFLAB_CACHE", raising=False)
    assert str(default_cache_dir()).endswith(".cache/difflab/classifiers")


def test_only_labelled_images_get_a_classifier(tmp_path):
    with pytest.raises(DifflabError, match="labelled image dataset"):
        get_classifier(get_dataset("moons"), cache_dir=tmp_path)


def test_real_looking_samples_sit_near_the_floor(clf, shapes):
    x, _ = fresh_shapes(150)                     # 2 x 150 <= 300 test images: disjoint floor draws, no note
    r = evaluate_images(x, shapes, np.random.default_rng(0), classifier=clf, n_pairs=5)
    json.dumps(r)
    fd = r["metrics"]["fd_clf"]
    assert fd["name"] == FD_NAME and len(fd["floor_values"]) == 5
    assert fd["value"] < 3 * fd["floor_p95"]
    pr = r["precision_recall"]
    assert pr["precision"]["value"] > 0.8 and pr["recall"]["value"] > 0.8
    lab = r["labels"]
    assert lab["n_classes_present"] == 4 and sum(lab["histogram"]) == 150 and lab["label_tv"] < 0.1
    assert r["pixels_outside_unit"] == 0.0 and r["notes"] == []


def test_noise_and_a_single_class_are_caught(clf, shapes):
    rng = np.random.default_rng(1)
    noise = evaluate_images(rng.uniform(-0.1, 1.1, (300, 1, 8, 8)), shapes, rng, classifier=clf)
    assert not noise["metrics"]["fd_clf"]["within_floor"]
    assert noise["metrics"]["fd_clf"]["value"] > 10 * noise["metrics"]["fd_clf"]["floor_p95"]
    assert noise["precision_recall"]["precision"]["value"] < 0.2 and noise["pixels_outside_unit"] > 0.05
    x, y = fresh_shapes(600)
    bars = x[y == 1]                                         # realistic, but only horizontal bars
    one = evaluate_images(bars, shapes, rng, classifier=clf)
    assert one["precision_recall"]["precision"]["value"] > 0.7 and one["precision_recall"]["recall"]["value"] < 0.5
    assert one["labels"]["classes_present"] == ["horizontal bar"] and one["labels"]["label_tv"] > 0.5
    text = format_image_metrics(one)
    assert "FD-clf" in text and "k-NN recall" in text and "classes present 1/4" in text
    assert text.replace("not FID", "").count("FID") == 0


def test_precomputed_floors_and_bad_samples(clf, shapes):
    rng = np.random.default_rng(2)
    floors = image_reference_floors(shapes, 100, rng, classifier=clf, n_pairs=3)
    assert len(floors["fd_clf"]["values"]) == 3 and 0 < floors["precision"]["median"] <= 1
    x, _ = fresh_shapes(100)
    r = evaluate_images(x, shapes, rng, classifier=clf, floors=floors)
    assert r["metrics"]["fd_clf"]["floor_values"] == floors["fd_clf"]["values"]
    with pytest.raises(DifflabError, match="expected images"):
        evaluate_images(np.zeros((10, 3, 8, 8)), shapes, rng, classifier=clf)
    with pytest.raises(DifflabError, match="finite"):
        evaluate_images(np.full((10, 1, 8, 8), np.nan), shapes, rng, classifier=clf)
    small = evaluate_images(x[:10], shapes, rng, classifier=clf)
    assert any("singular" in n for n in small["notes"])


def test_cli_evaluate_on_an_image_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DIFFLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(classifier_module, "DEFAULT_OPTIONS", SMALL)
    run = tmp_path / "run"
    net = ["--set", "network.name=unet", "--set", "network.base_channels=8", "--set", "network.channel_mults=[1,2]",
           "--set", "network.attention_resolutions=[]", "--set", "batch_size=32", "--set", "n_train=400",
           "--set", "n_test=200"]
    assert main(["train", "shapes", "--out", str(run), "--steps", "3", "--seed", "0", "--no-progress", *net]) == 0
    samples = tmp_path / "s.npy"
    assert main(["sample", str(run), "--n", "64", "--sampler", "ddim", "--steps", "3", "--out", str(samples)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--samples", str(samples)]) == 0
    out = capsys.readouterr().out
    assert "FD-clf" in out and "k-NN precision" in out
    m = json.loads((run / "metrics.json").read_text())
    assert m["kind"] == "image" and m["n_samples"] == 64 and len(m["metrics"]["fd_clf"]["floor_values"]) == 20
    assert list((tmp_path / "cache" / "classifiers").glob("shapes-*.safetensors"))


def test_fashion_mnist_classifier_trains_longer_than_the_default():
    assert classifier_module.options_for("mnist") == classifier_module.DEFAULT_OPTIONS
    fashion = classifier_module.options_for("fashion-mnist")
    assert fashion.epochs > classifier_module.DEFAULT_OPTIONS.epochs
    assert classifier_module._cache_key("d", fashion) != classifier_module._cache_key("d", classifier_module.DEFAULT_OPTIONS)


def test_the_floor_uses_only_unseen_test_images_in_disjoint_pairs(clf, shapes):
    """Issue 17: the floor comes from images the classifier never trained on. Replacing every
    train image by noise must not change it; its two draws share no image; 20 pairs by default."""
    floors = image_reference_floors(shapes, 100, np.random.default_rng(3), classifier=clf)
    assert len(floors["fd_clf"]["values"]) == 20
    noisy = get_dataset("shapes", n_train=1000, n_test=300)
    noisy.train = np.random.default_rng(0).uniform(0, 1, noisy.train.shape).astype(noisy.train.dtype)
    again = image_reference_floors(noisy, 100, np.random.default_rng(3), classifier=clf)
    assert again["fd_clf"]["values"] == floors["fd_clf"]["values"]
    seen = []
    real_features = clf.features

    def spy(x):
        seen.append(np.asarray(x))
        return real_features(x)

    clf.features = spy
    try:
        image_reference_floors(shapes, 150, np.random.default_rng(4), classifier=clf, n_pairs=2)
    finally:
        del clf.features
    assert len(seen) == 1 and len(seen[0]) == len(shapes.test)   # the test split's features, once
    # two disjoint draws of 150 from 300 test images: an FD well above zero (identical draws give 0)
    assert min(image_reference_floors(shapes, 150, np.random.default_rng(5), classifier=clf,
                                      n_pairs=3)["fd_clf"]["values"]) > 0
    # more samples than half the test split: bootstrap draws (still not identical) and a note that says so
    x, _ = fresh_shapes(200)
    r = evaluate_images(x, shapes, np.random.default_rng(6), classifier=clf, n_pairs=3)
    assert min(r["metrics"]["fd_clf"]["floor_values"]) > 0 and any("overlap" in n for n in r["notes"])
