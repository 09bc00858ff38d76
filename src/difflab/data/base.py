"""What every dataset knows: its shape, its split, how to normalise, and (where it can) its truth.

A dataset holds a fixed train/test split in the data's own units (float32 arrays whose first
axis is the sample), an affine `Normaliser` fitted on the training split, and optionally:

- `sample(n, rng)`: fresh draws from the true distribution (raw units);
- `log_prob(x)`: the exact log-density of the truth at raw points x, shape (N,);
- `modes()`: for mixtures, the component means and weights (raw units);
- `in_support(x)`: for a bounded support, whether each point lies in it (None: unbounded).

`has_truth` / `has_log_prob` / `has_modes` say which of these exist. Pictures of a batch are
drawn by `plot(ax, x)`; the viz package picks the right kind of picture from `kind`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..viz.vector import plot_points


@dataclass(frozen=True)
class Normaliser:
    """An elementwise affine map `x_n = (x - shift) / scale`; shift/scale broadcast over one sample."""

    shift: np.ndarray
    scale: np.ndarray

    @classmethod
    def standardise(cls, train: np.ndarray, eps: float = 1e-8) -> "Normaliser":
        """Per-feature mean 0 and standard deviation 1 on the training split."""
        shift = train.mean(axis=0)
        scale = train.std(axis=0) + eps
        return cls(shift.astype(np.float64), scale.astype(np.float64))

    @classmethod
    def identity(cls, shape) -> "Normaliser":
        return cls(np.zeros(shape), np.ones(shape))

    def normalise(self, x):
        return (x - self.shift.astype(np.asarray(x).dtype)) / self.scale.astype(np.asarray(x).dtype)

    def unnormalise(self, x_n):
        return x_n * self.scale.astype(np.asarray(x_n).dtype) + self.shift.astype(np.asarray(x_n).dtype)

    def log_det(self) -> float:
        """log |d x_n / d x| for one sample: log p_raw(x) = log p_norm(x_n) + log_det()."""
        return float(-np.log(np.broadcast_to(self.scale, self.shift.shape)).sum())

    def to_dict(self) -> dict:
        return {"shift": np.asarray(self.shift).tolist(), "scale": np.asarray(self.scale).tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Normaliser":
        return cls(np.asarray(d["shift"], dtype=np.float64), np.asarray(d["scale"], dtype=np.float64))


class Dataset:
    """Base class. Subclasses set `name`, `kind`, `train`, `test` and override what they know."""

    name: str = "dataset"
    kind: str = "vector"          # how a batch is pictured: "vector", later "image", "audio", ...
    description: str = ""
    train: np.ndarray
    test: np.ndarray
    normaliser: Normaliser

    # -- shape -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        """Shape of one sample, e.g. (2,) for 2D points."""
        return tuple(self.train.shape[1:])

    @property
    def dim(self) -> int:
        return int(np.prod(self.shape))

    # -- truth (optional) --------------------------------------------------------------
    has_truth: bool = False
    has_log_prob: bool = False
    has_modes: bool = False

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n fresh draws from the true distribution, shape (n, *shape), raw units."""
        raise NotImplementedError(f"{self.name}: the true distribution is not known")

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """Exact log-density of the truth at raw points x (N, *shape) -> (N,)."""
        raise NotImplementedError(f"{self.name}: no exact log-density")

    def in_support(self, x: np.ndarray) -> np.ndarray | None:
        """Whether each raw point x (N, *shape) lies in the truth's support -> bool (N,); None
        when the support is unbounded or unknown (then no point counts as outside)."""
        return None

    def modes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(means (K, d), weights (K,), stds (K,)) of a mixture, raw units."""
        raise NotImplementedError(f"{self.name}: not a mixture")

    # -- normalisation -----------------------------------------------------------------
    def normalise(self, x):
        return self.normaliser.normalise(x)

    def unnormalise(self, x_n):
        return self.normaliser.unnormalise(x_n)

    # -- description -------------------------------------------------------------------
    def info(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "shape": list(self.shape),
            "n_train": int(len(self.train)),
            "n_test": int(len(self.test)),
            "truth_sampler": self.has_truth,
            "exact_log_density": self.has_log_prob,
            "description": self.description,
        }

    def plot(self, ax, x: np.ndarray, **kw):
        """Draw a batch of raw samples on a matplotlib axis (scatter for vectors)."""
        return plot_points(ax, x, **kw)
