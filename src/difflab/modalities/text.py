"""Sentence embeddings (kind "text", data/sentences.py): what samples are shown with and measured by.

A generated embedding is not a sentence; it is read through the real sentences nearest to it
(cosine similarity, the geometry MiniLM was trained for). `difflab sample` writes
`<out>_nearest.txt`, the 3 nearest TRAINING sentences of every sample with their cosines.

`evaluate` (every figure beside a reference computed the same way from real held-out data):

- frechet: the Frechet distance between Gaussian fits of the samples and of the test
  embeddings (eval/frechet.py; "FID" computed in MiniLM space). Floor: N training embeddings
  (without replacement when N <= n_train) against the same test set, `n_pairs` draws, median
  and p95, as eval/evaluate.py does for user data. At d = 384 the covariance estimate of a
  few thousand points is noisy, so the floor is far from 0; read the value against it.
- nearest_cosine: the mean cosine of each sample to its nearest training embedding, beside
  the same mean for the test embeddings (what unseen real sentences score). Much higher than
  the test's: samples sit on training points; much lower: they fall between sentences.
- memorisation: the test set is split at random in halves A and B; the threshold is the
  highest nearest-training cosine of any embedding in A (the closest a held-out sentence came
  to the training set). Reported: the share of samples above it, beside the share of B above it
  (the reference, about 1 / (|A| + 1) for real held-out data). Samples far above the reference
  share copy training sentences.

`difflab denoise` reads an .npy of embeddings (N, 384) or a text file (one sentence per line,
embedded) and reports the mean cosine similarity to the clean embeddings of the noisy and of
the restored ones.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DifflabError
from ..eval.floor import noise_floor
from ..eval.frechet import frechet_distance
from ..modality import Modality, register_modality

N_NEAREST = 3           # sentences listed per sample in <out>_nearest.txt
TILE = 1024             # rows of a cosine tile (TILE x n_reference float32)


# -- geometry ----------------------------------------------------------------------------------------

def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32); a zero row stays zero."""
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def nearest_cosines(x: np.ndarray, reference: np.ndarray, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(cosines (N, k), indices (N, k)) of the k reference rows most similar to each row of x,
    most similar first; computed in tiles so 10k x 10k never sits in memory at once."""
    a, b = unit_rows(x), unit_rows(reference)
    k = min(k, len(b))
    sims, idx = np.empty((len(a), k), np.float32), np.empty((len(a), k), np.int64)
    for i0 in range(0, len(a), TILE):
        c = a[i0:i0 + TILE] @ b.T
        top = np.argpartition(-c, k - 1, axis=1)[:, :k] if k < len(b) else np.tile(np.arange(len(b)), (len(c), 1))
        top_c = np.take_along_axis(c, top, axis=1)
        order = np.argsort(-top_c, axis=1)
        idx[i0:i0 + TILE] = np.take_along_axis(top, order, axis=1)
        sims[i0:i0 + TILE] = np.take_along_axis(top_c, order, axis=1)
    return sims, idx


def pca_basis(x: np.ndarray, n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(centre (d,), basis (d, n)): the mean and the top-n principal directions of x (N, d)."""
    x = np.asarray(x, dtype=np.float64)
    centre = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - centre, full_matrices=False)
    basis = vt[:n].T
    basis *= np.sign(basis[np.abs(basis).argmax(axis=0), np.arange(n)])    # a fixed sign per axis
    return centre, basis


# -- the nearest-sentence table -------------------------------------------------------------------------

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


# -- measures -------------------------------------------------------------------------------------------

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


# -- the picture ----------------------------------------------------------------------------------------

def plot_text_samples(samples, dataset, path, title: str = "") -> Path:
    """Two panels: a PCA scatter (axes of the training set) of the test embeddings and the samples,
    and histograms of the nearest-training cosine of the samples and of the test embeddings."""
    from ..viz._figure import REFERENCE_GREY, SAMPLE_COLOR, new_figure, save

    fig = new_figure(11, 4.8)
    fig.suptitle(title)
    ax1, ax2 = fig.subplots(1, 2)
    centre, basis = pca_basis(dataset.train)
    for x, color, label in ((dataset.test, REFERENCE_GREY, f"test (N={len(dataset.test)})"),
                            (samples, SAMPLE_COLOR, f"samples (N={len(samples)})")):
        z = (np.asarray(x, np.float64) - centre) @ basis
        ax1.scatter(z[:, 0], z[:, 1], s=4, alpha=0.5, color=color, label=label, linewidths=0)
    ax1.set(xlabel="PC 1 (training set)", ylabel="PC 2", title="embeddings, first two principal components")
    ax1.legend(loc="upper right", markerscale=3)
    s_nn = nearest_cosines(samples, dataset.train)[0][:, 0]
    t_nn = nearest_cosines(dataset.test, dataset.train)[0][:, 0]
    bins = np.linspace(min(s_nn.min(), t_nn.min()), 1.0, 41)
    ax2.hist(t_nn, bins=bins, density=True, alpha=0.6, color=REFERENCE_GREY, label=f"test, mean {t_nn.mean():.3f}")
    ax2.hist(s_nn, bins=bins, density=True, alpha=0.6, color=SAMPLE_COLOR, label=f"samples, mean {s_nn.mean():.3f}")
    ax2.set(xlabel="cosine similarity to the nearest training sentence", ylabel="density",
            title="nearest-neighbour similarity")
    ax2.legend(loc="upper left")
    return save(fig, path)


# -- the hooks ---------------------------------------------------------------------------------------------

@register_modality
class TextModality(Modality):
    kind = "text"

    def extra_outputs(self, out: Path) -> list[Path]:
        out = Path(out)
        return [out.with_name(out.stem + "_nearest.txt")]

    def write_outputs(self, run, samples, out, labels=None) -> list[Path]:
        ds = run.dataset
        return [write_nearest(self.extra_outputs(out)[0], samples, ds.train, ds.sentences_train)]

    def plot_samples(self, run, samples, prefix) -> list[Path]:
        ds = run.dataset
        return [plot_text_samples(samples, ds, f"{prefix}_embeddings.png",
                                  title=f"{ds.name} / {run.config.method}: samples beside test embeddings")]

    def evaluate(self, samples, dataset, rng, n_pairs=10, floors=None) -> dict:
        return evaluate_embeddings(samples, dataset, rng, n_pairs=n_pairs, floors=floors)

    def format_result(self, result: dict) -> str | None:
        return format_text_result(result) if result.get("kind") == "text" else None

    def read_input(self, path, run) -> np.ndarray:
        """An .npy of embeddings (N, 384), or a text file of sentences (one per line), embedded."""
        path = Path(path)
        if path.suffix.lower() == ".npy":
            if not path.is_file():
                raise DifflabError(f"input file not found: {path}")
            try:
                x = np.load(path, allow_pickle=False)
            except (OSError, ValueError) as e:
                raise DifflabError(f"{path} is not a readable .npy array: {e}") from None
            if x.ndim != 2 or tuple(x.shape[1:]) != tuple(run.shape) or not np.issubdtype(x.dtype, np.number):
                raise DifflabError(f"{path} holds an array of shape {x.shape}; expected embeddings (N, {run.shape[0]})")
            return x.astype(np.float32)
        from ..data.sentences import cached_embeddings, read_sentence_file

        return cached_embeddings(read_sentence_file(path))

    def denoise_report(self, clean, noisy, restored) -> str:
        def mean_cos(x):
            return float((unit_rows(clean) * unit_rows(x)).sum(axis=1).mean())

        return (f"mean cosine similarity to the clean embeddings: noisy {mean_cos(noisy):.3f}, "
                f"restored {mean_cos(restored):.3f}")
