"""Sentence embeddings (all-MiniLM-L6-v2, 384-D): the fortunes corpus and a user's text file,
read through the nearest real sentences, measured by the Frechet distance in embedding space,
nearest-neighbour cosine and a memorisation check."""
from . import datasets
from .kind import TextKind

__all__ = ["TextKind", "datasets"]
