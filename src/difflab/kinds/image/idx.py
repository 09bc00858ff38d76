"""IDX files (the format of MNIST and Fashion-MNIST), gzip-compressed or raw, read and validated.

An IDX file is a 4-byte magic number `0x00 0x00 <type> <ndim>`, then `ndim` big-endian uint32
sizes, then exactly prod(sizes) big-endian values of the type. MNIST labels are 0x00000801
(uint8, 1 dim: N) and images 0x00000803 (uint8, 3 dims: N, 28, 28). Everything that can be wrong
with a file (not IDX, truncated, trailing bytes, a broken gzip stream) is a `DifflabError` that
names the file and the problem. Compression is detected from the content, not the file name.
"""
from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from ...errors import DifflabError

GZIP_MAGIC = b"\x1f\x8b"
IDX_TYPES = {                 # type byte -> big-endian numpy dtype
    0x08: np.dtype("u1"),     # unsigned byte (MNIST)
    0x09: np.dtype("i1"),     # signed byte
    0x0B: np.dtype(">i2"),    # short
    0x0C: np.dtype(">i4"),    # int
    0x0D: np.dtype(">f4"),    # float
    0x0E: np.dtype(">f8"),    # double
}
LABELS_MAGIC = 0x00000801     # uint8, 1 dimension
IMAGES_MAGIC = 0x00000803     # uint8, 3 dimensions


def read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it starts with the gzip magic."""
    path = Path(path)
    if not path.is_file():
        raise DifflabError(f"{path}: no such file")
    raw = path.read_bytes()
    if raw[:2] != GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:        # truncated or corrupt gzip stream
        raise DifflabError(f"{path}: broken gzip file ({e}); download it again") from None


def parse_idx(buf: bytes, where: str = "IDX data") -> np.ndarray:
    """Decode one IDX buffer into an array of its dims (native byte order)."""
    if len(buf) < 4:
        raise DifflabError(f"{where}: only {len(buf)} bytes, too short for an IDX header")
    zero, type_code, ndim = buf[:2], buf[2], buf[3]
    magic = int.from_bytes(buf[:4], "big")
    if zero != b"\x00\x00" or type_code not in IDX_TYPES or ndim == 0:
        raise DifflabError(f"{where}: not an IDX file (magic number 0x{magic:08x}; expected "
                           f"0x{LABELS_MAGIC:08x} for labels or 0x{IMAGES_MAGIC:08x} for images)")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise DifflabError(f"{where}: truncated header ({len(buf)} bytes, magic 0x{magic:08x} "
                           f"announces {ndim} sizes, needing {header})")
    dims = tuple(int.from_bytes(buf[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = IDX_TYPES[type_code]
    need = math.prod(dims) * dtype.itemsize          # Python integers: sizes near 2**32 must not wrap
    have = len(buf) - header
    if have < need:
        raise DifflabError(f"{where}: truncated: sizes {dims} need {need} bytes of data, found {have}")
    if have > need:
        raise DifflabError(f"{where}: {have - need} unexpected bytes after the data (sizes {dims} "
                           f"need {need}); the sizes in the header are wrong or the file is corrupt")
    return np.frombuffer(buf, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzip or raw) -> array of its declared sizes, e.g. uint8 (N, 28, 28)."""
    path = Path(path)
    return parse_idx(read_bytes(path), str(path))


def read_idx_pair(images_path, labels_path, *, image_size: tuple[int, int] = (28, 28),
                  n_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """An MNIST-style split: uint8 images (N, H, W) and int64 labels (N,) in 0..n_classes-1, checked
    against each other (same N), the expected magic numbers and the expected image size."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise DifflabError(f"{images_path}: expected uint8 images with 3 sizes (magic 0x{IMAGES_MAGIC:08x}), "
                           f"got {images.dtype} with sizes {images.shape}")
    if tuple(images.shape[1:]) != tuple(image_size):
        raise DifflabError(f"{images_path}: expected {image_size[0]}x{image_size[1]} images, "
                           f"got {images.shape[1]}x{images.shape[2]}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DifflabError(f"{labels_path}: expected uint8 labels with 1 size (magic 0x{LABELS_MAGIC:08x}), "
                           f"got {labels.dtype} with sizes {labels.shape}")
    if len(images) != len(labels):
        raise DifflabError(f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels")
    if len(labels) and labels.max() >= n_classes:
        raise DifflabError(f"{labels_path}: label {int(labels.max())} is outside 0..{n_classes - 1}")
    return images, labels.astype(np.int64)
