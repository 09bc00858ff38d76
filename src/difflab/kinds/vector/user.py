"""The user's own vector data: a .npy or .csv of shape (N, d), or an .npz with `train` and `test`.

Everything a user can get wrong is a `DifflabError` that names the file and the problem. A single
array is split by a seeded permutation (test = round(test_fraction * N) rows, at least 2); an .npz
keeps the user's own split. Nothing is unpickled (`allow_pickle=False` throughout).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...arrays import READ_ERRORS
from ...errors import DifflabError
from ...data.base import FLOAT32_SAFE, Dataset, Normaliser
from ...data.registry import register_files

MIN_ROWS = 10          # rows needed in total
MIN_SPLIT_ROWS = 2     # rows needed in each of train and test
DEFAULT_TEST_FRACTION = 0.2
OPTIONS = ("n_train", "n_test", "seed", "test_fraction")


class UserDataset(Dataset):
    """A fixed split of the user's data; the truth is unknown."""

    kind = "vector"

    def __init__(self, path: Path, train: np.ndarray, test: np.ndarray, how: str):
        self.name = path.name
        self.path = path
        self.train, self.test = train, test
        self.normaliser = Normaliser.standardise(train)
        self.description = (f"your data from {path}: {len(train)} train / {len(test)} test rows, "
                            f"d={train.shape[1]} ({how})")


@register_files
def load_user_dataset(path, *, n_train=None, n_test=None, seed=0, test_fraction=None, **extra) -> UserDataset:
    """Load `path` (.npy / .csv: one array (N, d); .npz: arrays `train` and `test`).

    n_train / n_test (optional) cap the rows used per split; for a single array n_test replaces
    test_fraction (default 0.2) and seed (0) fixes the permutation. An .npz split is used as
    stored, its first rows when capped. Any other option is an error that names it.
    """
    path = Path(path)
    if extra:
        names = ", ".join(sorted(extra))
        raise DifflabError(f"{path}: option(s) {names} do not apply to your own data file; "
                           f"valid options: {', '.join(OPTIONS)}")
    seed = _count("seed", seed, 0, path)
    n_train = None if n_train is None else _count("n_train", n_train, MIN_SPLIT_ROWS, path)
    n_test = None if n_test is None else _count("n_test", n_test, MIN_SPLIT_ROWS, path)
    if not path.exists():
        raise DifflabError(f"data file not found: {path}")
    if not path.is_file():
        raise DifflabError(f"{path} is not a file")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        if test_fraction is not None:
            raise DifflabError(f"{path}: test_fraction does not apply to an .npz file, which holds its own "
                               f"train/test split")
        train, test = _load_npz(path)
        if len(train) + len(test) < MIN_ROWS or min(len(train), len(test)) < MIN_SPLIT_ROWS:
            raise DifflabError(f"{path}: too few rows ({len(train)} train + {len(test)} test); need at least "
                               f"{MIN_ROWS} in total and {MIN_SPLIT_ROWS} in each split")
        train, test = _cap(train, n_train, "train", path), _cap(test, n_test, "test", path)
        return UserDataset(path, train, test, "the file's own split")
    if suffix == ".npy":
        x = _check_array(_load_npy(path), path)
    elif suffix == ".csv":
        x = _check_array(_load_csv(path), path)
    else:
        raise DifflabError(f"unsupported file type {path.suffix or '(none)'!r} for {path}; use .npy or .csv "
                           f"(N rows, d columns) or .npz (arrays 'train' and 'test')")
    return _split(x, path, n_train, n_test, seed, test_fraction)


# -- splitting ---------------------------------------------------------------------------------

def _split(x, path, n_train, n_test, seed, test_fraction):
    n = len(x)
    if n < MIN_ROWS:
        raise DifflabError(f"{path}: too few rows ({n}); need at least {MIN_ROWS} to split into train and test")
    if n_test is None:
        frac = DEFAULT_TEST_FRACTION if test_fraction is None else test_fraction
        ok = isinstance(frac, (int, float)) and not isinstance(frac, bool) and 0 < frac < 1
        if not ok:
            raise DifflabError(f"{path}: test_fraction must be a number between 0 and 1, got {frac!r}")
        n_test = max(MIN_SPLIT_ROWS, int(round(frac * n)))
    elif test_fraction is not None:
        raise DifflabError(f"{path}: give n_test or test_fraction, not both")
    n_train = n - n_test if n_train is None else n_train
    if n_train < MIN_SPLIT_ROWS or n_train + n_test > n:
        raise DifflabError(f"{path}: cannot take {n_train} train + {n_test} test rows from {n} rows "
                           f"(each split needs at least {MIN_SPLIT_ROWS})")
    order = np.random.default_rng(seed).permutation(n)
    test, train = x[order[:n_test]], x[order[n_test:n_test + n_train]]
    return UserDataset(path, train, test, f"random split, seed {seed}")


def _cap(x, n, split, path):
    if n is None:
        return x
    if n > len(x):
        raise DifflabError(f"{path}: n_{split}={n} but the file's {split!r} array has only {len(x)} rows")
    return x[:n]


def _count(name, value, minimum, path) -> int:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum:
        return int(value)
    raise DifflabError(f"{path}: option {name} must be an integer >= {minimum}, got {value!r}")


# -- reading -------------------------------------------------------------------------------------

def _load_npy(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
    except OSError as e:
        raise DifflabError(f"could not read {path}: {e}") from None
    if magic != b"\x93NUMPY":
        raise DifflabError(f"could not read {path} as a .npy file: it does not start with the NumPy header "
                           f"(was it written by np.save?)")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise DifflabError(f"{path}: holds Python objects (an object array); save a numeric array, "
                               f"e.g. np.save(path, x.astype(np.float32))") from None
        raise DifflabError(f"could not read {path} as a .npy file: {_first_line(e)}") from None
    except READ_ERRORS as e:
        raise DifflabError(f"could not read {path} as a .npy file: {_first_line(e)}") from None


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _load_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = sorted(z.files)
            missing = [k for k in ("train", "test") if k not in keys]
            if missing:
                raise DifflabError(f"{path}: missing array(s) {', '.join(missing)}; an .npz must hold 'train' "
                                   f"and 'test' (found: {', '.join(keys) or 'nothing'})")
            arrays = {}
            for key in ("train", "test"):
                try:
                    arrays[key] = z[key]
                except ValueError as e:
                    if "allow_pickle" in str(e):
                        raise DifflabError(f"{path}: array {key!r} holds Python objects (an object array); "
                                           f"save numeric arrays") from None
                    raise
    except DifflabError:
        raise
    except READ_ERRORS as e:
        raise DifflabError(f"could not read {path} as an .npz file: {_first_line(e)}") from None
    train = _check_array(arrays["train"], path, "'train' array")
    test = _check_array(arrays["test"], path, "'test' array")
    if train.shape[1] != test.shape[1]:
        raise DifflabError(f"{path}: 'train' has d={train.shape[1]} columns but 'test' has d={test.shape[1]}")
    return train, test


def _load_csv(path: Path) -> np.ndarray:
    """Comma-separated numbers, one sample per line; an optional first line of column names."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise DifflabError(f"could not read {path} as a text .csv file: {e}") from None
    rows = [(i + 1, line) for i, line in enumerate(text.splitlines()) if line.strip()]
    if not rows:
        raise DifflabError(f"{path}: the file is empty (no rows)")
    if all(_parse(c) is None for c in _cells(rows[0][1])):
        rows = rows[1:]                                                # a header of column names
        if not rows:
            raise DifflabError(f"{path}: the file has a header line but no data rows")
    try:
        return np.loadtxt([line for _, line in rows], delimiter=",", ndmin=2, dtype=np.float64,
                          comments=None, quotechar='"')
    except ValueError as e:
        _report_bad_line(path, rows)
        raise DifflabError(f"could not read {path} as comma-separated numbers: {e}") from None


def _cells(line: str) -> list[str]:
    return [c.strip().strip('"').strip() for c in line.split(",")]


def _parse(cell: str):
    try:
        return float(cell)
    except ValueError:
        return None


def _report_bad_line(path: Path, rows) -> None:
    """Raise a DifflabError naming the first bad line, if there is one."""
    width = len(_cells(rows[0][1]))
    for number, line in rows:
        cells = _cells(line)
        for j, cell in enumerate(cells):
            if _parse(cell) is None:
                what = "an empty value" if cell == "" else f"a non-numeric value {cell!r}"
                hint = " (values must be separated by commas)" if any(s in cell for s in ";\t ") else ""
                raise DifflabError(f"{path}, line {number}, column {j + 1}: {what}{hint}")
        if len(cells) != width:
            raise DifflabError(f"{path}, line {number}: {len(cells)} values, but the first data line has {width}")


# -- checks ----------------------------------------------------------------------------------------

def _check_array(x: np.ndarray, path: Path, what: str = "data") -> np.ndarray:
    """A finite, numeric, non-empty (N, d) array as float32, or a DifflabError saying what is wrong."""
    if x.dtype == object:
        raise DifflabError(f"{path}: {what} holds Python objects; save a numeric array")
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating) or x.dtype == bool):
        raise DifflabError(f"{path}: {what} has non-numeric values (dtype {x.dtype}); expected real numbers")
    if x.size == 0:
        raise DifflabError(f"{path}: {what} is empty (shape {x.shape})")
    if x.ndim == 1:
        raise DifflabError(f"{path}: {what} is 1-D with shape {x.shape}; expected a 2-D array (N, d). "
                           f"For one feature per sample, reshape it to (N, 1): x.reshape(-1, 1)")
    if x.ndim != 2:
        raise DifflabError(f"{path}: {what} has shape {x.shape}; expected a 2-D array (N, d) "
                           f"(flatten each sample, e.g. x.reshape(len(x), -1))")
    x64 = x.astype(np.float64)
    n_nan, n_inf = int(np.isnan(x64).sum()), int(np.isinf(x64).sum())
    if n_nan or n_inf:
        row = int(np.flatnonzero(~np.isfinite(x64).all(axis=1))[0])
        raise DifflabError(f"{path}: {what} has {n_nan} NaN and {n_inf} infinite value(s) "
                           f"(first in data row {row + 1}); remove or impute them")
    big = float(np.abs(x64).max())
    if big > FLOAT32_SAFE:
        raise DifflabError(f"{path}: {what} has values too large for float32 training (max |x| = {big:.3g}; "
                           f"squared distances overflow above {FLOAT32_SAFE:.0e}); rescale the data")
    return x64.astype(np.float32)
