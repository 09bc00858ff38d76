"""Training: the loop, EMA and checkpoints."""
from .loop import train

__all__ = ["train"]
