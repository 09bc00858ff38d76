"""difflab: train, sample, measure and picture diffusion models on any kind of data.

    import difflab
    run = difflab.train("pinwheel", method="ddpm", out="runs/pw-ddpm", steps=3000, seed=0)
    samples = difflab.load("runs/pw-ddpm").sample(5000, sampler="ddim", steps=50, seed=1)
"""
__version__ = "0.1.0"

from .api import Run, load, train  # noqa: E402

__all__ = ["train", "load", "Run", "__version__"]
