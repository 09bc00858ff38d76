"""What changes with the kind of data once a model exists: how samples are finished, written,
pictured and measured. The core (processes, objectives, samplers, trainer, run folders) never
looks at the kind; the CLI and `Run` ask `modality(kind)` instead.

A kind that needs nothing special behaves as vector data (the default, `Modality`). A new kind
subclasses `Modality`, overrides what differs and is registered with `@register_modality`
in a module of `difflab.modalities` named in `_MODULES` (imported on first use):

    finish(run, samples)          raw samples -> what the user gets (e.g. boards rounded to ints)
    sample_shape(run)             the shape of one finished sample (default: the run's data shape)
    extra_outputs(out)            files that `difflab sample --out out.npy` writes beside the .npy
    write_outputs(run, samples, out, labels)   writes them (WAV files, board pictures); returns paths
    plot_samples(run, samples, prefix)         the pictures of `sample --plot` (None: the default)
    plot_reverse(run, prefix, n, seed, **kw)   the reverse process for `sample --plot` ([]: none)
    evaluate(samples, dataset, rng, n_pairs, floors)   the kind's metrics (None: the vector metrics)
    format_result(result)         the CLI's text for an `evaluate` result (None: the vector table)
    read_input(path, run)         `difflab denoise --input`: a file -> clean data (N, *shape)
    denoise_report(clean, noisy, restored)     one line of figures for `difflab denoise`

Images keep their own code paths (they came first); the hooks exist for audio, text and boards.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

_MODULES = ("audio", "text", "board")     # difflab.modalities.<name>; a missing module is skipped
_REGISTRY: dict[str, "Modality"] = {}
_loaded = False


class Modality:
    """The default behaviour: vector data (points, embeddings)."""

    kind = "vector"

    def finish(self, run, samples: np.ndarray) -> np.ndarray:
        return samples

    def sample_shape(self, run) -> tuple:
        return tuple(run.shape)

    def extra_outputs(self, out: Path) -> list[Path]:
        return []

    def write_outputs(self, run, samples: np.ndarray, out: Path, labels=None) -> list[Path]:
        return []

    def plot_samples(self, run, samples: np.ndarray, prefix: Path) -> list[Path] | None:
        return None

    def plot_reverse(self, run, prefix: Path, n: int, seed: int = 0, **sample_kw) -> list[Path]:
        return []

    def evaluate(self, samples: np.ndarray, dataset, rng: np.random.Generator, n_pairs: int = 10,
                 floors: dict | None = None) -> dict | None:
        return None

    def format_result(self, result: dict) -> str | None:
        return None

    def read_input(self, path, run) -> np.ndarray | None:
        return None

    def denoise_report(self, clean: np.ndarray, noisy: np.ndarray, restored: np.ndarray) -> str | None:
        return None


_DEFAULT = Modality()


def register_modality(cls):
    """Class decorator: one instance of `cls` answers for `cls.kind`."""
    _REGISTRY[cls.kind] = cls()
    return cls


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    from .utils import import_present

    import_present("difflab.modalities", _MODULES)


def modality(kind: str) -> Modality:
    """The hooks of a kind of data ("vector" and unknown kinds get the default)."""
    _ensure_loaded()
    return _REGISTRY.get(kind, _DEFAULT)
