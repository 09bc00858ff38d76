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

from ..errors import DifflabError
from .categories import Categories
from ..viz.vector import plot_points

FLOAT32_SAFE = 1e18      # |raw value| above which squared distances (metrics, losses) overflow float32


@dataclass(frozen=True)
class Normaliser:
    """An elementwise affine map `x_n = (x - shift) / scale`; shift/scale broadcast over one sample."""

    shift: np.ndarray
    scale: np.ndarray

    def __post_init__(self):
        problem = self.problem()
        if problem:
            raise DifflabError(f"the data cannot be normalised: {problem}; rescale the data")

    def problem(self) -> str | None:
        """What is wrong with the shift and scale, or None: they must be finite numbers with
        scales > 0, below FLOAT32_SAFE (data near the float32 limits, |x| around 1e30, would
        otherwise give an infinite scale and infinite samples)."""
        shift, scale = np.asarray(self.shift), np.asarray(self.scale)
        if not (np.issubdtype(shift.dtype, np.number) and np.issubdtype(scale.dtype, np.number)):
            return "the shift and scale must be numbers"
        if shift.size == 0 or scale.size == 0:
            return "the shift and scale are empty"
        if not np.isfinite(shift).all() or not np.isfinite(scale).all() or not (scale > 0).all():
            return (f"the shift and scale must be finite, with scales > 0 (got shifts from {np.min(shift):.3g} to "
                    f"{np.max(shift):.3g}, scales from {np.min(scale):.3g} to {np.max(scale):.3g})")
        if (np.abs(shift) > FLOAT32_SAFE).any() or (scale > FLOAT32_SAFE).any():
            return (f"values reach {max(np.abs(shift).max(), scale.max()):.3g}, beyond {FLOAT32_SAFE:.0e}, where "
                    f"squared distances overflow float32")
        return None

    @classmethod
    def standardise(cls, train: np.ndarray, eps: float = 1e-8) -> "Normaliser":
        """Per-feature mean 0 and standard deviation 1 on the training split; data near the
        float32 limits, whose scale overflows, is a DifflabError (see `problem`)."""
        with np.errstate(over="ignore", invalid="ignore"):
            shift = train.mean(axis=0)
            scale = train.std(axis=0) + eps
        return cls(np.asarray(shift).astype(np.float64), np.asarray(scale).astype(np.float64))

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
    def from_dict(cls, d: dict, where: str = "normaliser") -> "Normaliser":
        """The normaliser saved by `to_dict` (a run's config.json), checked: numbers, finite, scale > 0."""
        if not isinstance(d, dict) or set(d) != {"shift", "scale"}:
            raise DifflabError(f"{where} is damaged: the normaliser must hold 'shift' and 'scale', got {str(d)[:80]}")
        try:
            shift, scale = np.asarray(d["shift"], dtype=np.float64), np.asarray(d["scale"], dtype=np.float64)
        except (TypeError, ValueError):
            raise DifflabError(f"{where} is damaged: the normaliser's shift and scale must be numbers") from None
        normaliser = cls.__new__(cls)
        object.__setattr__(normaliser, "shift", shift)
        object.__setattr__(normaliser, "scale", scale)
        problem = normaliser.problem()
        if problem:
            raise DifflabError(f"{where} is damaged: its normaliser is wrong: {problem}")
        return normaliser


class Dataset:
    """Base class. Subclasses set `name`, `kind`, `train`, `test` and override what they know."""

    name: str = "dataset"
    kind: str = "vector"          # the kind of data (difflab/kind.py: kind_of(kind) gives its hooks)
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

    def categories(self):
        """The table values <-> classes 0..K-1 for a categorical process (data/categories.py):
        by default the sorted distinct values of both splits, which must be integers."""
        return Categories.of_arrays(self.train, self.test, where=self.name)

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


def seeded_subset(n_avail: int, n: int | None, rng: np.random.Generator, what: str, items: str) -> np.ndarray:
    """Sorted indices of a seeded random subset of size n of n_avail `items` (all when n is None)."""
    if n is None:
        return np.arange(n_avail)
    if n > n_avail:
        raise DifflabError(f"{what}: asked for {n} {items}, the split has only {n_avail}")
    return np.sort(rng.choice(n_avail, size=n, replace=False))
