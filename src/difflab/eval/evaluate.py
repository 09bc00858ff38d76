"""Measure samples against a dataset, each number beside its noise floor.

`evaluate_samples(samples, dataset, rng)` returns a JSON-serialisable dict:

    {"n_samples": N,
     "reference": "fresh truth" | "test set",
     "metrics": {name: {"value", "floor_median", "floor_p95", "within_floor", "floor_values"}},
     "log_density": {...},   # only if dataset.has_log_prob
     "modes": {...}}         # only if dataset.has_modes (see modes.py)

Reference and floor:
- Known truth (`dataset.has_truth`): the value is metric(samples, fresh truth sample of size N);
  the floor is the metric between two independent truth samples of size N, n_pairs times.
- User data: the value is metric(samples, dataset.test); the floor is metric(N rows of
  dataset.train, dataset.test), n_pairs times, the N rows drawn without replacement when
  N <= n_train. When N > n_train they are drawn WITH replacement, and the repeated rows bias
  the floor upward (the MMD U-statistic counts a repeated row as a perfectly matching pair;
  the energy term E|X-X'| shrinks), so the floor is then lenient. The floor also varies only
  the training draw, not the fixed test set, and cannot detect memorised training data.

`within_floor` is value <= floor_p95: the statistic cannot tell the samples from the reference.
"""
from __future__ import annotations

import numpy as np

from ..errors import DifflabError, unknown_name
from .floor import noise_floor
from .modes import mode_coverage
from .two_sample import METRICS


def _check_samples(samples, dataset) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim < 1 or tuple(samples.shape[1:]) != tuple(dataset.shape):
        raise DifflabError(f"samples have shape {samples.shape}; expected (N, {', '.join(map(str, dataset.shape))})")
    if len(samples) < 2:
        raise DifflabError(f"need at least 2 samples to evaluate, got {len(samples)}")
    if not np.all(np.isfinite(samples)):
        raise DifflabError("samples must be finite numbers (found NaN or inf)")
    return samples


def _train_draw(dataset, n: int):
    """rng -> n rows of dataset.train (without replacement when n <= n_train)."""
    train = np.asarray(dataset.train, dtype=np.float64)
    replace = n > len(train)
    return lambda rng: train[rng.choice(len(train), size=n, replace=replace)]


def _mean_log_prob(dataset, x) -> tuple[float | None, float]:
    """(mean of the finite log-densities or None, share of points with log-density -inf)."""
    lp = np.asarray(dataset.log_prob(x), dtype=np.float64).reshape(-1)
    inside = np.isfinite(lp)
    mean = float(lp[inside].mean()) if inside.any() else None
    return mean, float(1.0 - inside.mean())


def log_density_summary(samples, dataset, draw_truth, rng, n_pairs: int) -> dict:
    """Mean log-density of the samples beside that of n_pairs reference draws of the same size.

    truth_mean is the average over the draws of each draw's mean, truth_mean_sd the standard
    deviation of those means (the spread of one size-N draw's mean, i.e. how far samples_mean
    may honestly stray); points with log-density -inf (outside the support) are left out of
    the means and counted in the frac_outside_support shares."""
    s_mean, s_out = _mean_log_prob(dataset, samples)
    means, outs = [], []
    for _ in range(n_pairs):
        m, o = _mean_log_prob(dataset, draw_truth(rng))
        if m is not None:
            means.append(m)
        outs.append(o)
    return {
        "samples_mean": s_mean,
        "truth_mean": float(np.mean(means)) if means else None,
        "truth_mean_sd": float(np.std(means, ddof=1)) if len(means) > 1 else None,
        "samples_frac_outside_support": s_out,
        "truth_frac_outside_support": float(np.mean(outs)),
    }


def _references(dataset, n: int):
    """(name, draw_x, draw_y, draw_truth) of the comparison for samples of size n."""
    if dataset.has_truth:
        draw = lambda r: dataset.sample(n, r)
        return "fresh truth", draw, draw, draw
    test = np.asarray(dataset.test, dtype=np.float64)
    draw = _train_draw(dataset, n)
    return "test set", draw, (lambda r: test), draw


def reference_floors(dataset, n: int, rng: np.random.Generator, n_pairs: int = 10,
                     metrics=("mmd2", "energy", "sw2")) -> dict:
    """{metric: noise_floor(...)} for samples of size n of this dataset. Depends only on the
    dataset and n, so a benchmark can compute it once, with many pairs, and pass it to
    `evaluate_samples(..., floors=...)` for every model it judges."""
    _, draw_x, draw_y, _ = _references(dataset, n)
    return {name: noise_floor(METRICS[name], draw_x, draw_y, rng, n_pairs=n_pairs) for name in metrics}


def evaluate_samples(samples, dataset, rng: np.random.Generator, n_pairs: int = 10,
                     metrics=("mmd2", "energy", "sw2"), floors: dict | None = None) -> dict:
    """Compare raw-unit samples (N, *dataset.shape) with the dataset's truth (or its test set),
    every metric beside its noise floor; see the module docstring for the exact structure.
    `floors`: precomputed `reference_floors(dataset, N, ...)` (computed here when None)."""
    for name in metrics:
        if name not in METRICS:
            raise unknown_name("metric", name, METRICS)
    if n_pairs < 2:
        raise DifflabError(f"n_pairs must be at least 2, got {n_pairs}")
    samples = _check_samples(samples, dataset)
    n = len(samples)
    reference_name, _, draw_y, draw_truth = _references(dataset, n)
    reference = np.asarray(draw_y(rng), dtype=np.float64)
    if floors is None:
        floors = reference_floors(dataset, n, rng, n_pairs, metrics)
    elif any(name not in floors or len(floors[name]["values"]) < 2 for name in metrics):
        raise DifflabError(f"floors must hold at least 2 values for each of {', '.join(metrics)}")

    out = {"n_samples": int(n), "reference": reference_name, "metrics": {}}
    for name in metrics:
        value = float(METRICS[name](samples, reference, rng))
        floor = floors[name]
        out["metrics"][name] = {
            "value": value,
            "floor_median": floor["median"],
            "floor_p95": floor["p95"],
            "within_floor": bool(value <= floor["p95"]),
            "floor_values": floor["values"],
        }

    if dataset.has_log_prob:
        out["log_density"] = log_density_summary(samples, dataset, draw_truth, rng, n_pairs)
    if dataset.has_modes:
        out["modes"] = mode_coverage(samples, *dataset.modes())
    return out


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.4g}"


def format_metrics_table(result: dict) -> str:
    """Plain-text table of an `evaluate_samples` result, one metric per line, for the CLI."""
    lines = [f"{result['n_samples']} samples vs {result['reference']}",
             f"{'metric':8s} {'value':>11s} {'floor median':>13s} {'floor p95':>11s}  within"]
    for name, m in result["metrics"].items():
        lines.append(f"{name:8s} {m['value']:11.4g} {m['floor_median']:13.4g} {m['floor_p95']:11.4g}  "
                     f"{'yes' if m['within_floor'] else 'NO'}")
    if "log_density" in result:
        ld = result["log_density"]
        lines.append(f"log-density: samples {_fmt(ld['samples_mean'])}, truth {_fmt(ld['truth_mean'])} "
                     f"+- {_fmt(ld['truth_mean_sd'])}; outside support: samples "
                     f"{ld['samples_frac_outside_support']:.2%}, truth {ld['truth_frac_outside_support']:.2%}")
    if "modes" in result:
        md = result["modes"]
        lines.append(f"modes: {md['covered']}/{md['n_modes']} covered, max weight error "
                     f"{md['max_weight_error']:.3f}, off-mode {md['frac_off_mode']:.2%}")
    return "\n".join(lines)
