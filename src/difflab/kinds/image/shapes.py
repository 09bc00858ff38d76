"""`shapes`: small synthetic images for tests and quick demos, generated in milliseconds.

Each image (C, size, size) in [0, 1] holds one bright shape on a dark background, at a random
place with a random brightness; the label is the shape: 0 filled square, 1 horizontal bar,
2 vertical bar, 3 plus sign. Every shape is symmetric left-right, so horizontal flips keep
labels true. With channels=3 every shape gets a random colour. Same interface as the real
image datasets (labels, n_classes, the [-1, 1] normaliser, optional `hflip`).
"""
from __future__ import annotations

import numpy as np

from ...errors import DifflabError
from .datasets import ImageDataset, _count, _flag, _static_info
from ...data.registry import register

CLASSES = ("square", "horizontal bar", "vertical bar", "plus")


def draw_shapes(labels: np.ndarray, size: int, channels: int, rng: np.random.Generator) -> np.ndarray:
    """float32 (N, channels, size, size) images of the shapes `labels` (see the module docstring)."""
    n = len(labels)
    out = np.zeros((n, channels, size, size), dtype=np.float32)
    half = max(2, size // 2)
    for i, c in enumerate(labels):
        mask = np.zeros((size, size), dtype=bool)
        k = int(rng.integers(2, half + 1))                     # the shape's extent
        y, x = (int(v) for v in rng.integers(0, size - k + 1, size=2))
        mid = k // 2
        if c == 0:
            mask[y:y + k, x:x + k] = True
        elif c == 1:
            mask[y + mid, x:x + k] = True
        elif c == 2:
            mask[y:y + k, x + mid] = True
        else:
            mask[y + mid, x:x + k] = True
            mask[y:y + k, x + mid] = True
        colour = rng.uniform(0.6, 1.0, size=channels) if channels == 3 else np.array([rng.uniform(0.6, 1.0)])
        out[i] = mask[None] * colour[:, None, None].astype(np.float32)
    return out


@register("shapes", "synthetic small images of 4 shapes (default 8x8x1), for tests and demos",
          describe=lambda: _static_info("shapes", (1, 8, 8), 1000, 200,
                                        "synthetic 8x8 images of 4 shapes (square, bars, plus); label = shape"))
def shapes(n_train=1000, n_test=200, seed=0, *, size=8, channels=1, hflip=False) -> ImageDataset:
    """Seeded synthetic images of 4 shapes; options size (>= 4), channels (1 or 3), hflip."""
    n_train, n_test = _count("n_train", n_train, False), _count("n_test", n_test, False)
    seed, hflip = _count("seed", seed, False), _flag("hflip", hflip)
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 4:
        raise DifflabError(f"option size must be an integer >= 4, got {size!r}")
    if channels not in (1, 3) or isinstance(channels, bool):
        raise DifflabError(f"option channels must be 1 or 3, got {channels!r}")
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)]
    split = {}
    for part, n, rng in (("train", n_train, rngs[0]), ("test", n_test, rngs[1])):
        labels = rng.integers(0, len(CLASSES), size=n)
        split[part] = (draw_shapes(labels, int(size), int(channels), rng), labels)
    (xtr, ytr), (xte, yte) = split["train"], split["test"]
    desc = f"shapes: {n_train} train / {n_test} test synthetic {size}x{size}x{channels} images, 4 classes"
    return ImageDataset("shapes", desc, xtr, ytr, xte, yte, CLASSES, hflip=hflip, source="synthetic")
