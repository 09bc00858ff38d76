"""Figures that see the tails, where the truth's log-density is known, each beside its floor.

Energy distance and MMD² barely move when 1-10% of the samples fall between the modes or off
the support. These figures look at the samples' true log-density log p(x) instead:

- outlier share: the share of samples with log p(x) below the truth's 0.1% quantile q (itself
  estimated from a large truth draw). A perfect sampler puts 0.1% there; the floor is that share
  for truth samples of the same n, read at its 95th percentile over many draws (n = 2000:
  about 0.25%). Points outside a bounded support (log p = -inf) are left to the next figure.
- outside share (bounded supports only, `dataset.in_support`): the share of samples where the
  truth has no mass. The truth puts none there; a continuous model cannot draw exact edges, so
  the bound is max(floor p95, OUTSIDE_TOLERANCE = 1%).
- mean log-density: the mean of log p over the samples inside the support, beside the truth's;
  samples that spread into low-density regions lower it. The floor is the same mean for truth
  samples of the same n, read at its 5th percentile. Samples piled into the modes' centres raise
  it above the truth's (a sampler that over-sharpens, which energy and MMD² barely see), so it
  must also stay at or below the floor's 99th percentile: a two-sided band, p05 to p99.

`tail_floors` depends only on the dataset and n, so it is computed once and shared (it is kept
in the `floors` dict of `evaluate_samples`).
"""
from __future__ import annotations

import numpy as np

from ..errors import DifflabError
from .floor import summarise

TAIL_QUANTILE = 0.001        # the truth's log-density quantile that bounds "the tail"
THRESHOLD_DRAWS = 200_000    # truth points behind that quantile (about 200 of them below it)
TAIL_DRAWS = 100             # truth draws of size n behind each floor
OUTSIDE_TOLERANCE = 0.01     # share outside a bounded support that still passes
BLOCK = 50_000               # points per log-density call (bounds memory for costly densities)
ROUND_OFF = 1e-9             # relative slack on the mean: for a uniform density it equals the floor
MEAN_UPPER = 99              # percentile of the truth's mean log-density above which samples are too concentrated


def _log_prob(dataset, x) -> np.ndarray:
    """log p of raw points x (N, ...) -> (N,) float64, in blocks."""
    x = np.asarray(x)
    return np.concatenate([np.asarray(dataset.log_prob(x[i:i + BLOCK]), dtype=np.float64).reshape(-1)
                           for i in range(0, len(x), BLOCK)])


def outside_support(x, dataset, log_p: np.ndarray | None = None) -> np.ndarray:
    """Bool (N,): points outside the truth's support, by `dataset.in_support` where it answers,
    else where the log-density is -inf (never, for an unbounded density)."""
    inside = dataset.in_support(x)
    if inside is not None:
        return ~np.asarray(inside, dtype=bool).reshape(-1)
    if log_p is None:
        return np.zeros(len(x), dtype=bool)
    return np.isneginf(log_p)


def log_density_threshold(dataset, rng: np.random.Generator, quantile: float = TAIL_QUANTILE,
                          n: int = THRESHOLD_DRAWS) -> float:
    """The truth's `quantile` of log p, from n fresh truth draws."""
    if not 0.0 < quantile < 1.0:
        raise DifflabError(f"quantile must be in (0, 1), got {quantile}")
    return float(np.quantile(_log_prob(dataset, dataset.sample(n, rng)), quantile))


def tail_values(x, dataset, threshold: float) -> dict:
    """{"outlier_share", "outside_share", "mean_log_prob" (None if every point is outside)} of
    raw points x (N, ...) under the truth."""
    lp = _log_prob(dataset, x)
    out = outside_support(x, dataset, lp)
    inside = ~out & np.isfinite(lp)
    return {"outlier_share": float(np.mean(inside & (lp < threshold))),
            "outside_share": float(np.mean(out)),
            "mean_log_prob": float(lp[inside].mean()) if inside.any() else None}


def tail_floors(dataset, n: int, rng: np.random.Generator, n_draws: int = TAIL_DRAWS,
                quantile: float = TAIL_QUANTILE, n_threshold: int = THRESHOLD_DRAWS) -> dict:
    """The threshold and the floors of the tail figures for samples of size n.

    Returns {"n", "n_draws", "quantile", "threshold", "bounded_support", "outlier_share",
    "outside_share", "mean_log_prob"}, the last three `summarise` dicts over n_draws truth draws."""
    if not (dataset.has_truth and dataset.has_log_prob):
        raise DifflabError(f"{dataset.name}: the tail figures need a truth sampler and its exact log-density")
    if n_draws < 2:
        raise DifflabError(f"n_draws must be at least 2, got {n_draws}")
    threshold = log_density_threshold(dataset, rng, quantile, n_threshold)
    draws = [tail_values(dataset.sample(n, rng), dataset, threshold) for _ in range(n_draws)]
    probe = dataset.sample(2, rng)
    floors = {"n": int(n), "n_draws": int(n_draws), "quantile": float(quantile), "threshold": threshold,
              "bounded_support": dataset.in_support(probe) is not None}
    for key in ("outlier_share", "outside_share", "mean_log_prob"):
        floors[key] = summarise([d[key] for d in draws if d[key] is not None])
    return floors


def tail_figures(samples, dataset, floors: dict) -> dict:
    """The tail figures of raw samples (N, ...) beside `floors` (from `tail_floors` at this N).

    {"outlier_share": {"value", "floor_median", "floor_p95", "within_floor", "floor_values",
    "threshold", "quantile"}, "mean_log_prob": {"value", "floor_median", "floor_p05", "floor_p99",
    "within_floor" (p05 <= value <= p99), "too_concentrated" (value > p99), "floor_values"}, and where the support is bounded or a sample fell outside
    it, "outside_support": {"value", "floor_p95", "bound", "within_floor"}}."""
    if floors["n"] != len(samples):
        raise DifflabError(f"the tail floors were computed for {floors['n']} samples, got {len(samples)}")
    v = tail_values(samples, dataset, floors["threshold"])
    fo, fm, fs = floors["outlier_share"], floors["mean_log_prob"], floors["outside_share"]
    mean_bound = fm["p05"] - ROUND_OFF * max(1.0, abs(fm["p05"]))
    p99 = float(np.percentile(fm["values"], MEAN_UPPER))
    mean_upper = p99 + ROUND_OFF * max(1.0, abs(p99))
    mean_ok = v["mean_log_prob"] is not None and mean_bound <= v["mean_log_prob"] <= mean_upper
    out = {
        "outlier_share": {"value": v["outlier_share"], "floor_median": fo["median"], "floor_p95": fo["p95"],
                          "within_floor": v["outlier_share"] <= fo["p95"], "floor_values": fo["values"],
                          "threshold": floors["threshold"], "quantile": floors["quantile"]},
        "mean_log_prob": {"value": v["mean_log_prob"], "floor_median": fm["median"], "floor_p05": fm["p05"],
                          "floor_p99": p99, "within_floor": mean_ok, "floor_values": fm["values"],
                          "too_concentrated": v["mean_log_prob"] is not None and v["mean_log_prob"] > mean_upper},
    }
    if floors["bounded_support"] or v["outside_share"] > 0:
        bound = max(fs["p95"], OUTSIDE_TOLERANCE)
        out["outside_support"] = {"value": v["outside_share"], "floor_p95": fs["p95"], "bound": bound,
                                  "within_floor": v["outside_share"] <= bound}
    return out
