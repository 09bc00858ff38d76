"""Shared by the audio tests: a spoken-digit classifier small enough for a test run's metrics."""
import pytest

from difflab.eval.classifier import ClassifierOptions
from difflab.kinds.audio import metrics as audio_eval


@pytest.fixture
def tiny_classifier(monkeypatch):
    """The audio metrics' classifier shrunk to seconds of training (its figures are then meaningless)."""
    monkeypatch.setattr(audio_eval, "AUDIO_OPTIONS", ClassifierOptions(width=8, feature_dim=16, epochs=2,
                                                                        min_steps=40, batch_size=32))
