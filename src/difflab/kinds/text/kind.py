"""Sentence embeddings (kind "text", kinds/text/datasets.py): what samples are shown with and measured by.

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

from ...errors import DifflabError
from ...kind import Kind, plot_split_panels, register_kind
from .datasets import cached_embeddings, read_sentence_file
from .geometry import unit_rows
from .metrics import evaluate_embeddings, format_text_result, write_nearest
from .pictures import plot_text_samples


@register_kind
class TextKind(Kind):
    name = "text"
    denoises = True

    def extra_outputs(self, out: Path) -> list[Path]:
        out = Path(out)
        return [out.with_name(out.stem + "_nearest.txt")]

    def write_outputs(self, run, samples, out, labels=None) -> list[Path]:
        ds = run.dataset
        return [write_nearest(self.extra_outputs(out)[0], samples, ds.train, ds.sentences_train)]

    def plot_split(self, ds, path) -> Path:
        return plot_split_panels(ds, path)

    def plot_samples(self, run, samples, prefix, label: str | None = None) -> list[Path]:
        ds = run.dataset
        name = label or f"{ds.name} / {run.config.method}"
        return [plot_text_samples(samples, ds, f"{prefix}_embeddings.png",
                                  title=f"{name}: samples beside test embeddings")]

    def plot_reverse(self, run, prefix, n: int = 0, seed: int = 0, snapshots=None, **sample_kw) -> list[Path]:
        """None: a 384-D reverse process has no picture that would say more than the samples'."""
        return []

    def evaluate(self, samples, dataset, rng, n_pairs=10, floors=None) -> dict:
        return evaluate_embeddings(samples, dataset, rng, n_pairs=n_pairs, floors=floors)

    def format_result(self, result: dict) -> str:
        return format_text_result(result)

    def read_input(self, path, run, noisy: bool = False) -> np.ndarray:
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
        return cached_embeddings(read_sentence_file(path))

    def denoise_report(self, clean, noisy, restored) -> str:
        def mean_cos(x):
            return float((unit_rows(clean) * unit_rows(x)).sum(axis=1).mean())

        return (f"mean cosine similarity to the clean embeddings: noisy {mean_cos(noisy):.3f}, "
                f"restored {mean_cos(restored):.3f}")
