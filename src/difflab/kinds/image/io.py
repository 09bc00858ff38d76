"""Reading the user's images for `difflab denoise`: an .npy of shape (N, C, H, W), or a picture file.

Everything that can be wrong (missing file, pickled array, wrong shape or size, values that are
not in [0, 1]) is a DifflabError naming the file. Nothing is unpickled.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ...errors import DifflabError

PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")


def load_images(path, shape, *, clean: bool = True) -> np.ndarray:
    """Images of one sample shape (C, H, W) as float32 (N, C, H, W).

    .npy: (N, C, H, W), or (C, H, W) for one image, or (N, H, W) when C = 1, values in [0, 1].
    A picture (PNG, JPEG, ...): one image of size H x W, converted to grey (C = 1) or RGB (C = 3)
    and scaled from 0..255 to [0, 1]. `clean` images must lie in [0, 1]; noisy ones may not.
    """
    path = Path(path)
    c, h, w = (int(s) for s in shape)
    if not path.is_file():
        raise DifflabError(f"input file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            x = np.load(path, allow_pickle=False)
        except ValueError as e:
            raise DifflabError(f"{path} is not a plain numeric .npy array ({e})") from None
        if x.ndim == 3 and x.shape == (c, h, w):
            x = x[None]
        elif x.ndim == 3 and c == 1 and x.shape[1:] == (h, w):
            x = x[:, None]
        if x.ndim != 4 or tuple(x.shape[1:]) != (c, h, w):
            raise DifflabError(f"{path} holds an array of shape {x.shape}; this run's images are (N, {c}, {h}, {w})")
        if not np.issubdtype(x.dtype, np.number):
            raise DifflabError(f"{path} does not hold numbers (dtype {x.dtype})")
        x = x.astype(np.float32)
    elif suffix in PICTURE_SUFFIXES:
        try:
            with Image.open(path) as im:
                im = im.convert("L" if c == 1 else "RGB")
                arr = np.asarray(im, dtype=np.float32) / 255.0
        except (UnidentifiedImageError, OSError) as e:
            raise DifflabError(f"{path} is not a readable picture ({e})") from None
        if arr.shape[:2] != (h, w):
            raise DifflabError(f"{path} is {arr.shape[1]}x{arr.shape[0]} pixels; this run's images are {w}x{h}")
        x = (arr[None, None] if c == 1 else arr.transpose(2, 0, 1)[None]).astype(np.float32)
    else:
        raise DifflabError(f"--input must be an .npy file or a picture ({', '.join(PICTURE_SUFFIXES)}), got {path}")
    if len(x) == 0:
        raise DifflabError(f"{path} holds no images")
    if not np.isfinite(x).all():
        raise DifflabError(f"{path} holds NaN or infinite values")
    if clean and (x.min() < -1e-3 or x.max() > 1 + 1e-3):
        hint = " (divide 0..255 pixels by 255)" if x.max() > 1.5 else ""
        raise DifflabError(f"{path}: clean images must lie in [0, 1], got {x.min():.3g}..{x.max():.3g}{hint}; "
                           "pass --noisy if they already carry the noise")
    return x
