"""difflab: train, sample, measure and picture diffusion models on any kind of data."""
__version__ = "0.1.0"
