"""difflab: train, sample, measure and picture diffusion models on any kind of data.

    import difflab
    run = difflab.train("pinwheel", method="ddpm", out="runs/pw-ddpm", steps=3000, seed=0)
    samples = difflab.load("runs/pw-ddpm").sample(5000, sampler="ddim", steps=50, seed=1)
"""
from .version import __version__

from . import kinds  # noqa: E402  (registers every kind of data and its datasets)
from .api import Run, load, train  # noqa: E402

__all__ = ["train", "load", "Run", "__version__"]
