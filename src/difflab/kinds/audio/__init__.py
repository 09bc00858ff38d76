"""Audio clips (N, 1, L) in [-1, 1]: spoken digits (FSDD), a folder of WAV files, synthetic
tones; WAV files out, waveforms and spectrograms, FD in a spoken-digit classifier's features.
With the data option `representation: spectrogram` a model learns log-magnitude STFT images
instead (spectrogram.py) and its samples come back as clips by Griffin-Lim."""
from . import datasets
from .kind import AudioKind

__all__ = ["AudioKind", "datasets"]
