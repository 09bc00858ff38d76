"""Measure samples against a dataset, each number beside its noise floor.

`evaluate_samples(samples, dataset, rng)` returns a JSON-serialisable dict:

    {"n_samples": N,
     "reference": "fresh truth" | "test set",
     "metrics": {name: {"value", "floor_median", "floor_p95", "within_floor", "floor_values"}},
     "log_density": {...},   # only if dataset.has_log_prob, with the tail figures (tails.py):
                             # "outlier_share", "mean_log_prob", "outside_support" (bounded supports)
     "modes": {...}}         # only if dataset.has_modes (see modes.py)

Without a known log-density, "metrics" also holds "precision" and "recall" (k-NN, see
precision_recall.py; higher is better, so their entries carry "floor_p05", not "floor_p95").
`judge(result)` says whether every figure is within its floor: "as good as the data allow".

Reference and floor:
- Known truth (`dataset.has_truth`): the value is metric(samples, fresh truth sample of size N);
  the floor is the metric between two independent truth samples of size N, n_pairs times.
- User data: the value is metric(samples, dataset.test); the floor is metric(N rows of
  dataset.train, dataset.test), n_pairs times, the N rows drawn without replacement when
  N <= n_train. When N > n_train they are drawn WITH replacement, and the repeated rows bias
  the floor upward (the MMD U-statistic counts a repeated row as a perfectly matching pair;
  the energy term E|X-X'| shrinks), so the floor is then lenient. The floor also varies only
  the training draw, not the fixed test set, and cannot detect memorised training data.
  Precision/recall are floored instead on random splits of the pooled train and test rows into
  N and n_test rows (rows of train against the fixed test set would be the same set in every
  draw when N >= n_train, a floor with no spread); see `precision_recall.split_draw`.
- The tail figures need the exact log-density and a truth sampler; their floors come from
  n_tail_draws (100) truth draws of size N (see tails.py).

`within_floor` is value <= floor_p95: the statistic cannot tell the samples from the reference.

Floors are a cache: `floors` (from `reference_floors`) must hold the two-sample metrics asked
for; the tail and precision/recall floors, when missing, are computed on first use and stored in
that same dict (keys "tails", "precision_recall", each recording its n), so passing one dict per
dataset to every run computes each floor once.
"""
from __future__ import annotations

import numpy as np

from ..arrays import check_samples
from ..errors import DifflabError, unknown_name
from .floor import noise_floor
from .modes import mode_coverage
from .precision_recall import K_NN, precision_recall_figures, precision_recall_floors, split_draw
from .tails import TAIL_DRAWS, tail_figures, tail_floors
from .two_sample import METRICS

DEFAULT_METRICS = ("mmd2", "energy", "sw2")


def _check_samples(samples, dataset) -> np.ndarray:
    return check_samples(samples, dataset.shape)


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
                     metrics=DEFAULT_METRICS, *, tails: bool = False, precision_recall: bool = False,
                     n_tail_draws: int = TAIL_DRAWS, k: int = K_NN) -> dict:
    """{metric: noise_floor(...)} for samples of size n of this dataset; with tails=True also
    "tails": `tail_floors` over n_tail_draws truth draws (needs the exact log-density), with
    precision_recall=True also "precision_recall": `precision_recall_floors` over n_pairs.
    Depends only on the dataset and n, so a benchmark can compute it once, with many pairs, and
    pass it to `evaluate_samples(..., floors=...)` for every model it judges."""
    _, draw_x, draw_y, _ = _references(dataset, n)
    floors = {name: noise_floor(METRICS[name], draw_x, draw_y, rng, n_pairs=n_pairs) for name in metrics}
    if tails:
        floors["tails"] = tail_floors(dataset, n, rng, n_tail_draws)
    if precision_recall:
        floors["precision_recall"] = precision_recall_floors(_precision_recall_pairs(dataset, n), rng, n_pairs, k)
    return floors


def _precision_recall_pairs(dataset, n: int):
    """rng -> (stand-in for n samples, reference) for the precision/recall floor."""
    if dataset.has_truth:
        return lambda r: (dataset.sample(n, r), dataset.sample(n, r))
    return split_draw(dataset.train, dataset.test, n)


def _cached(floors: dict, key: str, n: int, compute):
    """floors[key], computed and stored on first use; an entry for another n is an error."""
    if key not in floors:
        floors[key] = compute()
    if floors[key]["n"] != n:
        raise DifflabError(f"the {key} floors were computed for {floors[key]['n']} samples, got {n}")
    return floors[key]


def evaluate_samples(samples, dataset, rng: np.random.Generator, n_pairs: int = 10,
                     metrics=None, floors: dict | None = None, *, precision_recall: bool | None = None,
                     n_tail_draws: int = TAIL_DRAWS) -> dict:
    """Compare raw-unit samples (N, *dataset.shape) with the dataset's truth (or its test set),
    every figure beside its noise floor; see the module docstring for the exact structure.
    metrics: two-sample metrics (None: mmd2, energy, sw2). precision_recall: add k-NN precision
    and recall (None: when metrics is None and the log-density is unknown).
    `floors`: precomputed `reference_floors(dataset, N, ...)` (computed here when None); missing
    tail / precision-recall floors are added to it (see the module docstring)."""
    if precision_recall is None:
        precision_recall = metrics is None and not dataset.has_log_prob
    metrics = DEFAULT_METRICS if metrics is None else metrics
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

    # the figures that see the tails, their floors kept in `floors` for the next run
    if dataset.has_log_prob and dataset.has_truth:
        tf = _cached(floors, "tails", n, lambda: tail_floors(dataset, n, rng, n_tail_draws))
        out["log_density"].update(tail_figures(samples, dataset, tf))
    if precision_recall:
        pf = _cached(floors, "precision_recall", n,
                     lambda: precision_recall_floors(_precision_recall_pairs(dataset, n), rng, n_pairs))
        out["metrics"].update(precision_recall_figures(samples, reference, pf))
    return out


TAIL_FIGURES = ("outlier_share", "mean_log_prob", "outside_support")


def judge(result: dict) -> dict:
    """{"as_good_as_data_allow": bool, "checked": [names], "failing": [names]} of an
    `evaluate_samples` result: every figure with a floor (metrics, precision/recall, the tail
    figures) must be within it; modes, which have no floor, are not judged."""
    figures = dict(result.get("metrics", {}))
    figures.update({k: v for k, v in result.get("log_density", {}).items() if k in TAIL_FIGURES})
    failing = [name for name, m in figures.items() if not m["within_floor"]]
    return {"as_good_as_data_allow": bool(figures) and not failing, "checked": list(figures), "failing": failing}


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.4g}"


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def format_metrics_table(result: dict) -> str:
    """Plain-text table of an `evaluate_samples` result, one figure per line, for the CLI."""
    lines = [f"{result['n_samples']} samples vs {result['reference']}",
             f"{'metric':8s} {'value':>11s} {'floor median':>13s} {'floor p95':>11s}  within"]
    for name, m in result["metrics"].items():
        if m.get("higher_is_better"):        # precision / recall: the bound is the floor's p05
            lines.append(f"{name:9s}{m['value']:11.4g} {m['floor_median']:13.4g} {m['floor_p05']:11.4g}  "
                         f"{_yes(m['within_floor'])}   (k={m['k']}; higher is better, bound: floor p05)")
        else:
            lines.append(f"{name:8s} {m['value']:11.4g} {m['floor_median']:13.4g} {m['floor_p95']:11.4g}  "
                         f"{_yes(m['within_floor'])}")
    if "log_density" in result:
        ld = result["log_density"]
        lines.append(f"log-density: samples {_fmt(ld['samples_mean'])}, truth {_fmt(ld['truth_mean'])} "
                     f"+- {_fmt(ld['truth_mean_sd'])}; outside support: samples "
                     f"{ld['samples_frac_outside_support']:.2%}, truth {ld['truth_frac_outside_support']:.2%}")
        if "outlier_share" in ld:
            o, m = ld["outlier_share"], ld["mean_log_prob"]
            lines.append(f"tails: outlier share (log p below the truth's {o['quantile']:.1%} quantile "
                         f"{o['threshold']:.4g}) {o['value']:.2%}, floor p95 {o['floor_p95']:.2%}  "
                         f"{_yes(o['within_floor'])}")
            lines.append(f"       mean log p {_fmt(m['value'])}, truth median {m['floor_median']:.4g}, "
                         f"floor p05 {m['floor_p05']:.4g} to p99 {m['floor_p99']:.4g}  {_yes(m['within_floor'])}"
                         + ("   (above the truth's: samples too concentrated)" if m.get("too_concentrated") else ""))
        if "outside_support" in ld:
            s = ld["outside_support"]
            lines.append(f"       outside the support {s['value']:.2%}, truth p95 {s['floor_p95']:.2%}, "
                         f"bound {s['bound']:.2%}  {_yes(s['within_floor'])}")
    if "modes" in result:
        md = result["modes"]
        lines.append(f"modes: {md['covered']}/{md['n_modes']} covered, max weight error "
                     f"{md['max_weight_error']:.3f}, off-mode {md['frac_off_mode']:.2%}")
    j = judge(result)
    lines.append("verdict: as good as the data allow" if j["as_good_as_data_allow"] else
                 f"verdict: NOT as good as the data allow (outside the floor: {', '.join(j['failing']) or 'no figure'})")
    return "\n".join(lines)
