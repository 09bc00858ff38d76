"""Audio clips (N, 1, L) in [-1, 1]: spoken digits (FSDD), a folder of WAV files, synthetic
tones; WAV files out, waveforms and spectrograms, FD in a spoken-digit classifier's features."""
from . import datasets
from .kind import AudioKind

__all__ = ["AudioKind", "datasets"]
