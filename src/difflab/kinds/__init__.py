"""The kinds of data, one package each: its datasets and readers, its metrics, its pictures and
its `difflab.kind.Kind` hooks (used after sampling, by `denoise` and by the CLI).

    vector   points: the 2D toys, Gaussians, a user's .npy / .csv / .npz
    image    MNIST, Fashion-MNIST, CIFAR-10, photos, shapes; FD in classifier features
    audio    spoken digits (FSDD), WAV folders, tones; WAV output, spectrograms
    text     sentence embeddings (all-MiniLM-L6-v2) and their nearest sentences
    board    tic-tac-toe and Connect Four positions; legality and move counts

Importing this package registers every kind and its datasets; `difflab/__init__.py` does so.
"""
from . import audio, board, image, text, vector

__all__ = ["audio", "board", "image", "text", "vector"]
