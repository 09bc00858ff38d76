"""The measures of generated sentence embeddings, each beside a reference from real held-out
data (see kinds/text/kind.py for what each one catches)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import DifflabError
from ...eval.floor import noise_floor
from ...eval.frechet import frechet_distance
from .geometry import nearest_cosines

N_NEAREST = 3           # sentences listed per sample in <out>_nearest.txt


def nearest_table(samples: np.ndarray, embeddings: np.ndarray, sentences: list[str], k: int = N_NEAREST) -> str:
    """Text: for each sample, its k nearest sentences (by cosine of their embeddings) with the cosines."""
    sims, idx = nearest_cosines(samples, embeddings, k)
    lines = []
    for i in range(len(samples)):
        lines.append(f"sample {i}")
        lines += [f"  {sims[i, j]:.3f}  {sentences[idx[i, j]]}" for j in range(sims.shape[1])]
    return "\n".join(lines) + "\n"


def write_nearest(path, samples, embeddings, sentences, k: int = N_NEAREST, what: str = "training") -> Path:
    path = Path(path)
    header = (f"# the {k} nearest {what} sentences of each of {len(samples)} embeddings, by cosine similarity "
              "(1 = same direction)\n")
    path.write_text(header + nearest_table(samples, embeddings, sentences, k), encoding="utf-8")
    return path


def frechet_floor(train: np.ndarray, test: np.ndarray, n: int, rng: np.random.Generator, n_pairs: int) -> dict:
    """noise_floor of frechet_distance(n training rows, test set) over n_pairs draws of the rows."""
    train, test = np.asarray(train, np.float64), np.asarray(test, np.float64)
    replace = n > len(train)
    draw = lambda r: train[r.choice(len(train), size=n, replace=replace)]
    return noise_floor(lambda a, b, _r: frechet_distance(a, b), draw, lambda r: test, rng, n_pairs=n_pairs)


def memorisation(samples, train, test, rng: np.random.Generator) -> dict:
    """The share of samples closer to a training embedding than any held-out one in a random half
    A of the test set came, beside the share of the other half B (module docstring)."""
    test_nn = nearest_cosines(test, train)[0][:, 0]
    perm = rng.permutation(len(test))
    half_a, half_b = perm[: len(test) // 2], perm[len(test) // 2:]
    threshold = float(test_nn[half_a].max())
    sample_nn = nearest_cosines(samples, train)[0][:, 0]
    return {"threshold": threshold, "samples_share": float((sample_nn > threshold).mean()),
            "reference_share": float((test_nn[half_b] > threshold).mean()), "n_half": int(len(half_a))}


def evaluate_embeddings(samples, dataset, rng: np.random.Generator, n_pairs: int = 10, floors: dict | None = None) -> dict:
    """The text measures (module docstring) as a JSON-ready dict."""
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[1:] != tuple(dataset.shape):
        raise DifflabError(f"samples have shape {samples.shape}; expected (N, {dataset.shape[0]})")
    if len(samples) < 2 or not np.isfinite(samples).all():
        raise DifflabError("need at least 2 finite samples to evaluate")
    if n_pairs < 2:
        raise DifflabError(f"n_pairs must be at least 2, got {n_pairs}")
    n = len(samples)
    floor = (floors or {}).get("frechet") or frechet_floor(dataset.train, dataset.test, n, rng, n_pairs)
    value = frechet_distance(samples, dataset.test)
    s_nn = nearest_cosines(samples, dataset.train)[0][:, 0]
    t_nn = nearest_cosines(dataset.test, dataset.train)[0][:, 0]
    return {
        "kind": "text", "n_samples": int(n), "reference": "test set",
        "metrics": {"frechet": {"value": float(value), "floor_median": floor["median"], "floor_p95": floor["p95"],
                                "within_floor": bool(value <= floor["p95"]), "floor_values": floor["values"]}},
        "nearest_cosine": {"samples_mean": float(s_nn.mean()), "test_mean": float(t_nn.mean()),
                           "samples_median": float(np.median(s_nn)), "test_median": float(np.median(t_nn))},
        "memorisation": memorisation(samples, dataset.train, dataset.test, rng),
    }


def format_text_result(r: dict) -> str:
    f, nn, mem = r["metrics"]["frechet"], r["nearest_cosine"], r["memorisation"]
    return "\n".join([
        f"{r['n_samples']} sample embeddings vs the {r['reference']}",
        f"{'metric':26s} {'samples':>9s} {'reference':>22s}",
        f"{'Frechet distance':26s} {f['value']:9.4g}   floor {f['floor_median']:.4g} (p95 {f['floor_p95']:.4g})  "
        f"{'within' if f['within_floor'] else 'ABOVE'}",
        f"{'nearest-train cosine':26s} {nn['samples_mean']:9.3f}   test embeddings {nn['test_mean']:.3f}",
        f"{'beyond closest test (mem.)':26s} {mem['samples_share']:9.2%}   held-out half {mem['reference_share']:.2%}"
        f"  (threshold cosine {mem['threshold']:.3f})",
    ])
