"""k-NN precision and recall of samples against reference data, beside their floor.

For data whose density is unknown (a user's file, embeddings), the tails are seen through the
samples' neighbourhoods instead (Kynkaanniemi et al. 2019, `frechet.knn_precision_recall`):
precision is the share of samples inside the reference's k-NN manifold (low: samples where the
data have none, between modes or off a thin structure); recall is the share of reference points
inside the samples' manifold (low: modes or regions the samples never reach).

Both depend on the sample sizes (a larger set covers more), so the floor is the same pair of
figures for a second reference-like sample of the same n against the same kind of reference,
over several draws; higher is better, so a value is within the floor at or above its 5th
percentile. Any (N, ...) arrays are flattened to (N, D); distances are computed in tiles of
`frechet.TILE_ROWS` rows, so 10k x 10k points in 64-D need a few hundred MB.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .floor import summarise
from .frechet import knn_precision_recall
from .pairwise import as_rows

K_NN = 3     # neighbours that set each point's manifold radius (the paper's choice)


def precision_recall(samples, reference, k: int = K_NN) -> dict:
    """{"precision", "recall", "k"} of samples (n, ...) against reference (m, ...)."""
    return knn_precision_recall(as_rows(reference), as_rows(samples), k=k)


def precision_recall_floors(draw_pair: Callable, rng: np.random.Generator, n_pairs: int, k: int = K_NN) -> dict:
    """precision_recall(x, y) over n_pairs independent draws (x, y) = draw_pair(rng), x standing
    in for the samples, y for the reference: {"n", "k", "precision": summarise(...), "recall": ...}."""
    values, n = [], None
    for _ in range(n_pairs):
        x, y = draw_pair(rng)
        n = len(x)
        values.append(precision_recall(x, y, k))
    return {"n": int(n), "k": int(k), **{key: summarise([v[key] for v in values]) for key in ("precision", "recall")}}


def split_draw(train, test, n: int) -> Callable:
    """rng -> (x, y): a random split of the pooled data rows into x of n rows and y of len(test)
    rows, the floor for samples of size n judged against a fixed test set when no truth sampler
    exists. Unlike rows of train against the fixed test set (the same set every time when
    n >= n_train), each split is a new draw of both sides. When n + len(test) exceeds the pool, x
    is the rest of the pool plus rows repeated from it; repeats shrink the k-NN radii, so that
    floor is lenient on recall."""
    pool = np.concatenate([as_rows(train), as_rows(test)])
    m = len(test)

    def draw(rng):
        order = rng.permutation(len(pool))
        y, rest = pool[order[:m]], pool[order[m:]]
        if n <= len(rest):
            return rest[:n], y
        return np.concatenate([rest, rest[rng.integers(0, len(rest), n - len(rest))]]), y
    return draw


def precision_recall_figures(samples, reference, floors: dict) -> dict:
    """{"precision": {...}, "recall": {...}}, each {"value", "floor_median", "floor_p05",
    "within_floor", "floor_values", "higher_is_better": True, "k"}, samples against reference."""
    pr = precision_recall(samples, reference, floors["k"])
    return {key: {"value": pr[key], "floor_median": floors[key]["median"], "floor_p05": floors[key]["p05"],
                  "within_floor": bool(pr[key] >= floors[key]["p05"]), "floor_values": floors[key]["values"],
                  "higher_is_better": True, "k": floors["k"]}
            for key in ("precision", "recall")}
