"""Reading the user's arrays of points (samples to evaluate, points to score) safely."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import DifflabError


def load_points_file(path, what: str = "points") -> np.ndarray:
    """A finite numeric array from a .npy file, or from an .npz holding a 'test' array or a single
    array; never unpickles. Problems raise a DifflabError naming the file."""
    path = Path(path)
    if path.suffix not in (".npy", ".npz"):
        raise DifflabError(f"{path}: expected a .npy or .npz file of {what}")
    if not path.is_file():
        raise DifflabError(f"{what} file not found: {path}")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise DifflabError(f"cannot read {what} from {path}: {e}") from None
    if isinstance(loaded, np.ndarray):
        x = loaded
    else:
        names = list(loaded.files)
        if "test" in names:
            x = loaded["test"]
        elif len(names) == 1:
            x = loaded[names[0]]
        else:
            raise DifflabError(f"{path} holds arrays {names}; expected a 'test' array or a single array")
    if not np.issubdtype(x.dtype, np.number):
        raise DifflabError(f"{path} must hold numbers, got dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise DifflabError(f"{path} holds {int((~np.isfinite(x)).sum())} NaN or infinite values")
    return x
