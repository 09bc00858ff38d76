"""Generated images measured in the feature space of difflab's own classifier (not Inception).

`evaluate_images(samples, dataset, rng)` returns a JSON-serialisable dict:

    {"kind": "image", "n_samples": N, "reference": "test set", "feature_space": "...",
     "classifier": {"dataset", "test_accuracy", "feature_dim", "train_seconds", "data_sha256", "file"},
     "metrics": {"fd_clf": {"name", "value", "floor_median", "floor_p95", "within_floor", "floor_values"}},
     "precision_recall": {"k", "precision": {"value", "floor_median", "floor_values"}, "recall": {...}},
     "labels": {"class_names", "histogram", "confident_share", "threshold", "classes_present",
                "n_classes_present", "label_tv", "test_histogram", "test_confident_share"},
     "pixels_outside_unit": share, "notes": [...]}

- FD-clf, the "Frechet distance in difflab-classifier features": `frechet_distance` between the
  classifier features (`classifier.py`) of the N samples and of N test images drawn without
  replacement. It is computed like FID but in another feature space, so its numbers are not
  FID numbers and are comparable only between runs measured with the same cached classifier.
  Its floor is the same statistic between two disjoint draws of N test images, at least
  FLOOR_DRAWS (20) independent pairs (median, p95): images the classifier never trained on, like
  the reference the samples are compared with. (Train images, which it has fitted, are spread
  differently in its features from unseen ones, so a train-vs-test floor would also measure
  that difference.)
  A value at or below the p95 cannot be told from real data at this N. The floor is biased upward for small N, most of all when N is below the feature
  dimension (singular covariances), which is why it is always reported beside the value.
- k-NN precision and recall (Kynkaanniemi et al. 2019, k = 3) of the samples against the test
  draw, beside the same numbers for a second, disjoint draw of test images against the first
  (real data does not reach 1 either).
- labels: the classifier's arg-max label histogram of the samples, the share labelled with
  confidence above 0.9, the classes that are the confident label of at least one sample, and
  the total variation distance between the samples' label shares and the test labels' shares.

Samples are clipped to [0, 1] before they are classified; `pixels_outside_unit` reports the
share of pixel values that needed it. When 2N exceeds the test split, the floor's two draws
are bootstrap draws (with replacement; a note says so): they overlap, which biases the floor
downward.
"""
from __future__ import annotations

import numpy as np

from ...arrays import check_samples, clip_to_range
from ...errors import DifflabError
from ...eval.classifier import CONFIDENT, Classifier
from ...eval.frechet import frechet_distance, knn_precision_recall
from .classifier import get_classifier

FD_NAME = "Frechet distance in difflab-classifier features (FD-clf)"
K_NN = 3                         # neighbourhood size of the precision/recall manifolds (the paper's)
FLOOR_DRAWS = 20                 # the fewest pairs behind an image floor (a p95 of 5-10 pairs moves by 2x)


def _check_images(samples, dataset) -> tuple[np.ndarray, float]:
    """(float32 samples clipped to [0, 1], share of pixel values that were outside [0, 1])."""
    return clip_to_range(check_samples(samples, dataset.shape, "images", np.float32), 0.0, 1.0)


def _draw(n_avail: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """n indices into a split of n_avail images, without replacement when possible."""
    return rng.choice(n_avail, size=n, replace=n > n_avail)


def image_reference_floors(dataset, n: int, rng: np.random.Generator, *, classifier: Classifier | None = None,
                           n_pairs: int = FLOOR_DRAWS, test_features: np.ndarray | None = None) -> dict:
    """FD-clf and k-NN precision/recall between two disjoint draws of n test images (images the
    classifier never trained on), n_pairs independent pairs: {"fd_clf": {"median", "p95",
    "values"}, "precision": {...}, "recall": {...}}. Depends only on the dataset, the classifier
    and n, so a benchmark can compute it once and pass it to `evaluate_images(..., floors=...)`
    for every model it judges."""
    if n_pairs < 2:
        raise DifflabError(f"n_pairs must be at least 2, got {n_pairs}")
    clf = classifier or get_classifier(dataset)
    f_test = clf.features(dataset.test) if test_features is None else test_features
    n_test = len(f_test)
    fd, prec, rec = [], [], []
    for _ in range(n_pairs):
        if 2 * n <= n_test:                               # two disjoint draws
            idx = rng.permutation(n_test)[:2 * n]
            f_a, f_b = f_test[idx[:n]], f_test[idx[n:]]
        else:                                             # too few test images: two bootstrap draws
            f_a, f_b = f_test[rng.choice(n_test, n)], f_test[rng.choice(n_test, n)]
        fd.append(frechet_distance(f_a, f_b))
        pr = knn_precision_recall(f_b, f_a, k=K_NN)
        prec.append(pr["precision"])
        rec.append(pr["recall"])

    def summary(values):
        arr = np.asarray(values)
        return {"median": float(np.median(arr)), "p95": float(np.percentile(arr, 95)), "values": [float(v) for v in values]}

    return {"fd_clf": summary(fd), "precision": summary(prec), "recall": summary(rec)}


def label_summary(proba: np.ndarray, class_names, test_labels: np.ndarray, test_proba: np.ndarray) -> dict:
    """The classifier's view of the samples (probabilities (N, K)) beside its view of test images."""
    k = proba.shape[1]
    pred, conf = proba.argmax(axis=1), proba.max(axis=1)
    hist = np.bincount(pred, minlength=k)
    confident = conf > CONFIDENT
    present = np.unique(pred[confident])
    test_share = np.bincount(np.asarray(test_labels, dtype=np.int64), minlength=k) / len(test_labels)
    return {
        "class_names": list(class_names),
        "histogram": [int(v) for v in hist],
        "threshold": CONFIDENT,
        "confident_share": float(confident.mean()),
        "classes_present": [str(class_names[i]) for i in present],
        "n_classes_present": int(len(present)),
        "label_tv": float(0.5 * np.abs(hist / len(pred) - test_share).sum()),
        "test_histogram": [int(v) for v in np.bincount(test_proba.argmax(axis=1), minlength=k)],
        "test_confident_share": float((test_proba.max(axis=1) > CONFIDENT).mean()),
    }


def evaluate_images(samples, dataset, rng: np.random.Generator, *, classifier: Classifier | None = None,
                    n_pairs: int = FLOOR_DRAWS, floors: dict | None = None) -> dict:
    """Measure generated images (N, C, H, W) in [0, 1] against an image dataset's test split in
    its classifier's feature space (trained and cached on first use); see the module docstring.
    `floors`: precomputed `image_reference_floors(dataset, N, ...)` (computed here when None)."""
    if getattr(dataset, "kind", None) != "image":
        raise DifflabError(f"evaluate_images needs an image dataset, got {getattr(dataset, 'name', dataset)!r}")
    x, outside = _check_images(samples, dataset)
    n = len(x)
    clf = classifier or get_classifier(dataset)
    notes = []
    if 2 * n > len(dataset.test):
        notes.append(f"2 x {n} samples exceed the {len(dataset.test)} test images: the floor's two draws of test "
                     "images overlap, which biases the floor downward")
    if n <= clf.feature_dim:
        notes.append(f"{n} samples <= {clf.feature_dim} feature dimensions: the covariances are singular and "
                     "FD-clf is strongly biased upward; compare it only with its floor at this N")

    f_test_all = clf.features(dataset.test)
    ref_idx = _draw(len(dataset.test), n, rng)
    f_samples, f_ref = clf.features(x), f_test_all[ref_idx]
    if floors is None:
        floors = image_reference_floors(dataset, n, rng, classifier=clf, n_pairs=n_pairs, test_features=f_test_all)
    elif any(len(floors.get(key, {}).get("values", [])) < 2 for key in ("fd_clf", "precision", "recall")):
        raise DifflabError("floors must hold at least 2 values for each of fd_clf, precision, recall")
    value = frechet_distance(f_samples, f_ref)
    pr = knn_precision_recall(f_ref, f_samples, k=K_NN)
    fl = floors["fd_clf"]

    return {
        "kind": "image",
        "n_samples": int(n),
        "reference": "test set",
        "feature_space": (f"penultimate layer ({clf.feature_dim} features) of difflab's own {clf.meta['dataset']} "
                          f"classifier (test accuracy {clf.test_accuracy:.4f}); not Inception, so not FID"),
        "classifier": {"dataset": clf.meta["dataset"], "test_accuracy": clf.test_accuracy,
                       "feature_dim": clf.feature_dim, "train_seconds": clf.meta.get("train_seconds"),
                       "data_sha256": clf.meta["data_sha256"], "file": str(clf.path) if clf.path else None},
        "metrics": {"fd_clf": {"name": FD_NAME, "value": value, "floor_median": fl["median"], "floor_p95": fl["p95"],
                               "within_floor": bool(value <= fl["p95"]), "floor_values": fl["values"]}},
        "precision_recall": {"k": K_NN, **{key: {"value": float(pr[key]), "floor_median": floors[key]["median"],
                                                 "floor_values": floors[key]["values"]}
                                           for key in ("precision", "recall")}},
        "labels": label_summary(clf.predict_proba(x), clf.class_names, dataset.labels_test,
                                clf.predict_proba(dataset.test[ref_idx])),
        "pixels_outside_unit": outside,
        "notes": notes,
    }


def format_image_metrics(result: dict) -> str:
    """Plain-text table of an `evaluate_images` result, for the CLI."""
    fd, pr, lab = result["metrics"]["fd_clf"], result["precision_recall"], result["labels"]
    n = result["n_samples"]
    lines = [f"{n} samples vs {n} test images; features: {result['feature_space']}",
             f"{'metric':24s} {'value':>10s} {'floor median':>13s} {'floor p95':>10s}  within",
             f"{'FD-clf':24s} {fd['value']:10.4g} {fd['floor_median']:13.4g} {fd['floor_p95']:10.4g}  "
             f"{'yes' if fd['within_floor'] else 'NO'}"]
    for key in ("precision", "recall"):
        label = f"k-NN {key} (k={pr['k']})"
        lines.append(f"{label:24s} {pr[key]['value']:10.4f} {pr[key]['floor_median']:13.4f}"
                     f"   (floor: two draws of test images; higher is better)")
    lines.append(f"FD-clf = {fd['name']}: lower is better; 'within' = value <= floor p95")
    hist = " ".join(f"{name}:{count}" for name, count in zip(lab["class_names"], lab["histogram"]))
    lines.append(f"labels: {lab['confident_share']:.1%} of samples labelled with confidence > {lab['threshold']} "
                 f"(test images: {lab['test_confident_share']:.1%}); classes present "
                 f"{lab['n_classes_present']}/{len(lab['class_names'])}; label TV vs test {lab['label_tv']:.3f}")
    lines.append(f"histogram: {hist}")
    if result.get("pixels_outside_unit", 0.0) > 0:
        lines.append(f"pixels outside [0, 1] (clipped): {result['pixels_outside_unit']:.2%}")
    lines += [f"note: {note}" for note in result.get("notes", [])]
    return "\n".join(lines)
