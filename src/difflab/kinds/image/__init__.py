"""Images (N, C, H, W) in [0, 1]: MNIST and Fashion-MNIST (IDX files), CIFAR-10 (the python
batches, read without unpickling code), photo crops and synthetic shapes; a classifier of
difflab's own for FD-clf and precision/recall; grids, reverse-process pictures and PSNR."""
from . import datasets, shapes
from .kind import ImageKind

__all__ = ["ImageKind", "datasets", "shapes"]
