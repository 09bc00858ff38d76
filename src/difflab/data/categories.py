"""Categorical data: the table between a dataset's values and the classes 0..K-1 that a
categorical process (masked diffusion) sees.

A dataset's categories are its sorted distinct values: `Dataset.categories()` finds them in the
training and test splits (a user's file of small integers), or a dataset states them (boards:
-1, 0, 1, so a split that lacks one still has three classes). The table is saved in the run's
config.json ("categories"), so samples come back in the data's own values.

`Categories` has the `normalise` / `unnormalise` pair of `Normaliser`, so a run decodes its
samples the same way whatever its process: values -> int64 classes, classes -> values (a class
outside 0..K-1, such as the mask K of a partly unmasked snapshot, becomes NaN).
"""
from __future__ import annotations

import numpy as np

from ..errors import DifflabError

MAX_CATEGORIES = 256          # more distinct values than this is not categorical data


class Categories:
    """The sorted distinct values of categorical data; class k stands for `values[k]`."""

    def __init__(self, values, where: str = "data"):
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        if v.size == 0 or not np.all(np.isfinite(v)):
            raise DifflabError(f"{where}: categorical data needs finite values, got {values!r}"[:200])
        if np.any(np.diff(v) <= 0):
            raise DifflabError(f"{where}: the categories must be distinct and sorted, got {v.tolist()}"[:200])
        if v.size > MAX_CATEGORIES:
            raise DifflabError(f"{where} has {v.size} distinct values; a categorical method takes at most "
                               f"{MAX_CATEGORIES} (small integers such as board cells or labels)")
        self.values = v

    @classmethod
    def of_arrays(cls, *arrays, where: str = "data") -> "Categories":
        """The distinct values found in `arrays`, which must be integers."""
        values = np.unique(np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays]))
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            raise DifflabError(f"{where}: a categorical method (--method masked) needs integer values; "
                               f"this data holds non-integers such as {values[values != np.round(values)][:1]}")
        return cls(values, where)

    def __len__(self) -> int:
        return int(self.values.size)

    def normalise(self, x) -> np.ndarray:
        """Values (any shape) -> int64 classes; a value outside the table is a DifflabError."""
        x = np.asarray(x, dtype=np.float64)
        k = np.searchsorted(self.values, x).clip(0, len(self) - 1)
        if not np.array_equal(self.values[k], x):
            raise DifflabError(f"the data holds values outside its categories {self.values.tolist()}"[:200])
        return k.astype(np.int64)

    def unnormalise(self, classes) -> np.ndarray:
        """int64 classes (any shape; floats are rounded) -> values, float64; NaN outside 0..K-1."""
        k = np.rint(np.asarray(classes, dtype=np.float64))
        inside = (k >= 0) & (k < len(self))
        return np.where(inside, self.values[np.where(inside, k, 0).astype(np.int64)], np.nan)

    def to_dict(self) -> dict:
        return {"values": self.values.tolist()}

    @classmethod
    def from_dict(cls, d, where: str = "categories") -> "Categories":
        if not isinstance(d, dict) or not isinstance(d.get("values"), list) \
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in d["values"]):
            raise DifflabError(f"{where} is damaged: categories must hold a list of numbers, got {str(d)[:80]}")
        try:
            return cls(d["values"], where)
        except DifflabError as e:
            raise DifflabError(f"{where} is damaged: {e}") from None


__all__ = ["Categories", "MAX_CATEGORIES"]
