"""CIFAR-10 from its standard files, read without ever running code from them.

The python version (`cifar-10-batches-py/data_batch_1..5`, `test_batch`) is a set of pickles
(protocol 2, written by Python 2) of dicts with bytes keys: `b'data'` a uint8 numpy array
(N, 3072) of red, green and blue 32x32 planes, `b'labels'` a list of N ints in 0..9, plus
`b'batch_label'` and `b'filenames'`. A pickle can call any importable function while it loads,
so it is read by `SafeBatchUnpickler`, which resolves only the three globals a numpy array
needs (`_reconstruct`, `ndarray`, `dtype`) and refuses every other one before anything is
called; the result is then checked key by key. The binary version
(`cifar-10-batches-bin/*.bin`) is records of 1 label byte + 3072 pixel bytes.

Downloading (`download_cifar10`) happens only when the user asks; nothing here touches the
network otherwise. Every problem with a file is a `DifflabError` naming the file.
"""
from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import urllib.request
from pathlib import Path

import numpy as np

from ...errors import DifflabError

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
PYTHON_DIR = "cifar-10-batches-py"
BINARY_DIR = "cifar-10-batches-bin"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
PIXELS = 3 * 32 * 32          # bytes of one image: R, G, B planes of 32x32, row-major
RECORD = 1 + PIXELS           # one binary record: label byte + pixels
BATCH_KEYS = {"data", "labels", "batch_label", "filenames"}   # all that a CIFAR-10 batch holds


# -- the restricted unpickler ------------------------------------------------------------------

def _numpy_reconstruct():
    try:                                            # numpy >= 2 (the module moved: imported where known)
        from numpy._core.multiarray import _reconstruct
    except ImportError:                             # numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


# (module, name) as written in the pickle -> how to get the object; nothing else is resolved
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,    # files written with numpy 1.x
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,   # files written with numpy 2
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
}


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle asked for a global outside ALLOWED_GLOBALS."""


class SafeBatchUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, bytes, numbers and numpy arrays; any other global is refused
    before it is imported or called (so a pickle that would run code raises instead)."""

    def find_class(self, module, name):
        get = ALLOWED_GLOBALS.get((module, name))
        if get is None:
            raise RefusedGlobal(f"{module}.{name}")
        return get()

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not allowed")


def safe_load(buf: bytes, where: str):
    """Unpickle `buf` with SafeBatchUnpickler (encoding='bytes', as for Python 2 pickles)."""
    try:
        return SafeBatchUnpickler(io.BytesIO(buf), encoding="bytes").load()
    except RefusedGlobal as e:
        raise DifflabError(f"refused to load {where}: it asks for {e}, which a CIFAR-10 batch never "
                           f"contains (pickles can run code; only numpy arrays, dicts, lists, bytes "
                           f"and numbers are accepted)") from None
    except Exception as e:                          # truncated or malformed: many exception types
        raise DifflabError(f"{where}: not a readable CIFAR-10 python batch ({type(e).__name__}: {e})") from None


# -- readers -------------------------------------------------------------------------------------

def _key(k) -> str:
    return k.decode("latin1") if isinstance(k, bytes) else str(k)


def check_batch(obj, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate an unpickled batch -> images uint8 (N, 3, 32, 32), labels int64 (N,)."""
    if not isinstance(obj, dict):
        raise DifflabError(f"{where}: a CIFAR-10 batch is a dict, this file holds a {type(obj).__name__}")
    batch = {_key(k): v for k, v in obj.items()}
    missing = {"data", "labels"} - set(batch)
    unknown = set(batch) - BATCH_KEYS
    if missing or unknown:
        hint = " (is this CIFAR-100? only CIFAR-10 is supported)" if "fine_labels" in batch else ""
        raise DifflabError(f"{where}: not a CIFAR-10 batch: keys {sorted(batch)}; expected "
                           f"{sorted(BATCH_KEYS)}{hint}")
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
        what = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DifflabError(f"{where}: b'data' must be a uint8 array of shape (N, {PIXELS}), got {what}")
    labels = batch["labels"]
    if isinstance(labels, np.ndarray) and labels.ndim == 1 and labels.dtype.kind in "iu":
        labels = labels.tolist()
    if not isinstance(labels, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in labels):
        raise DifflabError(f"{where}: b'labels' must be a list of ints, got {type(labels).__name__}")
    if len(labels) != len(data):
        raise DifflabError(f"{where}: {len(data)} images but {len(labels)} labels")
    if labels and not 0 <= min(labels) <= max(labels) <= 9:
        raise DifflabError(f"{where}: labels must lie in 0..9, found {min(labels)}..{max(labels)}")
    names = batch.get("filenames")
    if names is not None and (not isinstance(names, list) or len(names) != len(data)):
        raise DifflabError(f"{where}: b'filenames' must be a list of {len(data)} names")
    return data.reshape(-1, 3, 32, 32).copy(), np.asarray(labels, dtype=np.int64)


def read_cifar_python_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """One python-version batch file -> images uint8 (N, 3, 32, 32), labels int64 (N,)."""
    path = Path(path)
    if not path.is_file():
        raise DifflabError(f"{path}: no such file")
    return check_batch(safe_load(path.read_bytes(), str(path)), str(path))


def read_cifar_binary(path) -> tuple[np.ndarray, np.ndarray]:
    """One binary-version file (records of 1 label byte + 3072 pixel bytes) -> images uint8
    (N, 3, 32, 32), labels int64 (N,)."""
    path = Path(path)
    if not path.is_file():
        raise DifflabError(f"{path}: no such file")
    raw = path.read_bytes()
    if not raw or len(raw) % RECORD:
        raise DifflabError(f"{path}: {len(raw)} bytes is not a whole number of {RECORD}-byte records "
                           f"(1 label byte + {PIXELS} pixel bytes); the file is truncated or not CIFAR-10 binary")
    rec = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    labels = rec[:, 0].astype(np.int64)
    if labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise DifflabError(f"{path}: record {bad} has label {int(labels[bad])}, outside 0..9; "
                           f"not a CIFAR-10 binary file (CIFAR-100's records have 2 label bytes)")
    return rec[:, 1:].reshape(-1, 3, 32, 32).copy(), labels


# -- finding the files -------------------------------------------------------------------------------

def find_cifar10(root) -> tuple[str, Path] | None:
    """("python" | "binary", folder) for a CIFAR-10 copy in `root`, `root/cifar-10-batches-py`
    or `root/cifar-10-batches-bin`; None if there is none."""
    root = Path(root)
    for folder in (root / PYTHON_DIR, root):
        if all((folder / f).is_file() for f in TRAIN_BATCHES + (TEST_BATCH,)):
            return "python", folder
    for folder in (root / BINARY_DIR, root):
        if all((folder / f"{f}.bin").is_file() for f in TRAIN_BATCHES + (TEST_BATCH,)):
            return "binary", folder
    return None


def load_cifar10(version: str, folder) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"train": (images, labels), "test": (images, labels)} from a folder found by find_cifar10."""
    folder = Path(folder)
    read, suffix = (read_cifar_python_batch, "") if version == "python" else (read_cifar_binary, ".bin")
    parts = [read(folder / f"{f}{suffix}") for f in TRAIN_BATCHES]
    train = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    return {"train": train, "test": read(folder / f"{TEST_BATCH}{suffix}")}


# -- downloading (only on request) ----------------------------------------------------------------

def md5sum(path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download_file(url: str, dest, md5: str) -> Path:
    """Fetch `url` to `dest` (skipped if a file with the right md5 is there), checking its md5."""
    dest = Path(dest)
    if dest.is_file() and md5sum(dest) == md5:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    print(f"downloading {url} -> {dest}")
    try:
        with urllib.request.urlopen(url, timeout=60) as r, open(part, "wb") as f:
            while block := r.read(1 << 20):
                f.write(block)
    except OSError as e:
        part.unlink(missing_ok=True)
        raise DifflabError(f"could not download {url}: {e}") from None
    got = md5sum(part)
    if got != md5:
        part.unlink(missing_ok=True)
        raise DifflabError(f"{url}: md5 {got} does not match the published {md5}; not using it")
    os.replace(part, dest)
    return dest


def download_cifar10(root) -> Path:
    """Download and unpack the python version into `root`; returns `root/cifar-10-batches-py`."""
    root = Path(root)
    archive = download_file(CIFAR10_URL, root / "cifar-10-python.tar.gz", CIFAR10_MD5)
    with tarfile.open(archive, "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):         # refuses absolute paths, links out of root, ...
            tar.extractall(root, filter="data")
        else:
            for m in tar.getmembers():
                if not (m.isfile() or m.isdir()) or m.name.startswith(("/", "..")) or ".." in Path(m.name).parts:
                    raise DifflabError(f"{archive}: unexpected member {m.name!r}; not unpacking")
            tar.extractall(root)
    return root / PYTHON_DIR
