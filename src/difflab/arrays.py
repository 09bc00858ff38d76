"""Reading the user's arrays of points (samples to evaluate, points to score) safely."""
from __future__ import annotations

import tokenize
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .errors import DifflabError

# What np.load raises on a damaged .npy/.npz: a bad header is parsed as a Python literal
# (SyntaxError, tokenize.TokenError), a bad zip or deflate stream, a cut-off file, absurd sizes.
READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError, SyntaxError,
               tokenize.TokenError, OverflowError, MemoryError, NotImplementedError)   # zipfile: unknown version or method


def load_points_file(path, what: str = "points") -> np.ndarray:
    """A finite array of real numbers from a .npy file, or from an .npz holding a 'test' array or
    a single array; never unpickles. Problems raise a DifflabError naming the file."""
    path = Path(path)
    if path.suffix not in (".npy", ".npz"):
        raise DifflabError(f"{path}: expected a .npy or .npz file of {what}")
    if not path.is_file():
        raise DifflabError(f"{what} file not found: {path}")
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            x = loaded
        else:
            with loaded:
                names = list(loaded.files)
                if "test" in names:
                    x = loaded["test"]
                elif len(names) == 1:
                    x = loaded[names[0]]
                else:
                    raise DifflabError(f"{path} holds arrays {names}; expected a 'test' array or a single array")
    except DifflabError:
        raise
    except READ_ERRORS as e:
        if "allow_pickle" in str(e):
            raise DifflabError(f"{path} is not a numeric NumPy file (pickled data, an object array, or not NumPy "
                               f"at all); save a numeric array of {what} with np.save") from None
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DifflabError(f"cannot read {what} from {path}: {reason}") from None
    if not isinstance(x, np.ndarray) or x.dtype.kind not in "biuf":
        raise DifflabError(f"{path} must hold real numbers, got dtype {getattr(x, 'dtype', type(x).__name__)}")
    if x.ndim < 2 or x.shape[0] == 0:
        raise DifflabError(f"{path}: {what} must be an array (N, ...) of N >= 1 items, got shape {x.shape}")
    with np.errstate(over="ignore", invalid="ignore"):
        finite = np.isfinite(x)
    if not np.all(finite):
        raise DifflabError(f"{path} holds {int((~finite).sum())} NaN or infinite values")
    return x


def check_samples(samples, shape, noun: str = "", dtype=np.float64, what: str = "samples") -> np.ndarray:
    """Samples (N, *shape) as an array of `dtype`: at least 2 of them, every value finite; else a
    one-line DifflabError (`what` and `noun` name them in it: "points", "images", "clips")."""
    x = np.asarray(samples, dtype=dtype)
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != tuple(shape):
        raise DifflabError(f"{what} have shape {x.shape}; expected {noun + ' ' if noun else ''}"
                           f"(N, {', '.join(map(str, shape))})")
    if len(x) < 2:
        raise DifflabError(f"need at least 2 {what}, got {len(x)}")
    if not np.all(np.isfinite(x)):
        raise DifflabError(f"{what} must be finite numbers (found NaN or inf)")
    return x


def clip_to_range(x: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, float]:
    """(x clipped to [lo, hi], the share of values that were outside it)."""
    outside = float(np.mean((x < lo - 1e-6) | (x > hi + 1e-6)))
    return np.clip(x, lo, hi), outside
