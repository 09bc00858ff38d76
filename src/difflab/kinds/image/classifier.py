"""A small CNN classifier per image dataset: the feature space of the image metrics.

There is no Inception network offline, so difflab measures generated images in the feature
space of its own classifier, trained once per dataset on the train split with a fixed seed and
cached. `get_classifier(dataset)` returns it, training it first if no matching cache exists:

    clf = get_classifier(get_dataset("mnist"))      # about two minutes on a CPU the first time
    clf.features(x)       # (N, F) float64: the penultimate layer (global average pool)
    clf.predict_proba(x)  # (N, n_classes)
    clf.test_accuracy     # on the dataset's test split, measured after training

The network (`ClassifierNet`) is three conv stages (3x3 conv, batch norm, ReLU; 2x2 max pool
between stages), a 1x1 conv to F channels, a global average pool (the features, as Inception's
pool3 is for FID) and one linear layer to the class logits. Any image of at least 8x8 pixels
with 1 or 3 channels works; a trained classifier accepts only its dataset's shape.

The options, the `Classifier` wrapper, the training loop and the cache are those of every
feature classifier (`difflab.eval.classifier`): the cache holds `<dataset>-<key>.safetensors`
(weights only: nothing is unpickled) and `<dataset>-<key>.json`; the key digests the sha256 of
the training images and labels, the options and CLASSIFIER_VERSION, and a cached classifier is
reloaded only when all three match, so new data or new options retrain.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from torch import nn

from ...data import get_dataset
from ...errors import DifflabError
from ...eval.classifier import (Classifier, ClassifierOptions, cache_key, data_hash, fit_classifier, labelled_train,
                                load_or_train, seeded)

CLASSIFIER_VERSION = 1          # bump when the network or the training recipe changes: old caches retrain

DEFAULT_OPTIONS = ClassifierOptions()
# Datasets whose classes are harder to tell apart train longer: after 2 epochs the Fashion-MNIST
# classifier is 88.9% accurate and confident (p > 0.9) on only 64% of real test images.
DATASET_OPTIONS = {"fashion-mnist": {"epochs": 10}}


def options_for(name: str) -> ClassifierOptions:
    """The default options of a dataset's classifier (DEFAULT_OPTIONS with DATASET_OPTIONS on top)."""
    return replace(DEFAULT_OPTIONS, **DATASET_OPTIONS.get(str(name), {}))


class ClassifierNet(nn.Module):
    """Images (B, C, H, W) in [0, 1] -> logits (B, n_classes); `features` gives (B, F)."""

    def __init__(self, in_channels: int, n_classes: int, width: int = 16, feature_dim: int = 128):
        super().__init__()

        def stage(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.trunk = nn.Sequential(
            *stage(in_channels, width), nn.MaxPool2d(2),          # H/2
            *stage(width, 2 * width), nn.MaxPool2d(2),            # H/4
            *stage(2 * width, 4 * width),
            nn.Conv2d(4 * width, feature_dim, 1, bias=False), nn.BatchNorm2d(feature_dim), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Linear(feature_dim, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk((x - 0.5) / 0.5)                       # pixels to [-1, 1] first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def train_classifier(x: np.ndarray, y: np.ndarray, n_classes: int, options: ClassifierOptions,
                     progress: bool = True, desc: str = "classifier") -> ClassifierNet:
    """A ClassifierNet trained on images x (N, C, H, W) in [0, 1] with labels y (N,) in
    0..n_classes-1 (`fit_classifier`); deterministic for a given seed on the same machine."""
    net = seeded(lambda: ClassifierNet(x.shape[1], n_classes, options.width, options.feature_dim), options.seed)
    return fit_classifier(net, x, y, options, progress=progress, desc=desc)


def _cache_key(digest: str, options: ClassifierOptions) -> str:
    return cache_key(digest, options, CLASSIFIER_VERSION)


def get_classifier(dataset, *, cache_dir=None, progress: bool = True,
                   options: ClassifierOptions | None = None) -> Classifier:
    """The classifier of an image dataset (an object with kind "image", train, labels_train, test,
    labels_test, class_names; or a registered dataset name), from the cache when its data hash
    and options match, otherwise trained now (tqdm bar when `progress`) and cached."""
    if isinstance(dataset, str):
        dataset = get_dataset(dataset)
    if getattr(dataset, "kind", None) != "image" or not hasattr(dataset, "labels_train"):
        raise DifflabError(f"dataset {getattr(dataset, 'name', dataset)!r} is not a labelled image dataset; "
                           "the image classifier needs images (N, C, H, W) with labels")
    options = options or options_for(dataset.name)
    shape = tuple(int(s) for s in np.shape(dataset.train)[1:])
    if len(shape) != 3 or shape[0] not in (1, 3) or min(shape[1:]) < 8:
        raise DifflabError(f"the image classifier needs images (N, 1 or 3, H >= 8, W >= 8); got (N, {shape})")
    if dataset.n_classes < 2:
        raise DifflabError(f"the image classifier needs at least 2 classes, got {dataset.n_classes}")
    x, y = labelled_train(dataset)
    digest = data_hash(x, y)
    return load_or_train(
        dataset, options, digest, _cache_key(digest, options), version=CLASSIFIER_VERSION,
        build=lambda meta: ClassifierNet(meta["shape"][0], meta["n_classes"], options.width, options.feature_dim),
        train=lambda: train_classifier(x, y, dataset.n_classes, options, progress=progress,
                                       desc=f"classifier {dataset.name}"),
        cache_dir=cache_dir, progress=progress)
