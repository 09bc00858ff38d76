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

The cache (`$DIFFLAB_CACHE/classifiers`, else ~/.cache/difflab/classifiers) holds
`<dataset>-<key>.safetensors` (weights only: nothing is unpickled) and `<dataset>-<key>.json`
(dataset name, options, image shape, classes, test accuracy, training time, the sha256 of the
training images and labels). The key digests the data hash, the options and CLASSIFIER_VERSION;
a cached classifier is reloaded only when all three match, so new data or new options retrain.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import DifflabError

CLASSIFIER_VERSION = 1          # bump when the network or the training recipe changes: old caches retrain
CONFIDENT = 0.9                 # a prediction is "confident" when its top probability exceeds this
BATCH_EVAL = 1000               # images per forward pass when computing features / probabilities


@dataclass(frozen=True)
class ClassifierOptions:
    """How the classifier is built and trained (part of the cache key)."""
    width: int = 16             # channels of the first stage; x2 at each of the next two stages
    feature_dim: int = 128      # F: channels of the 1x1 conv whose global average pool is the feature
    epochs: int = 2             # passes over the train split (60k MNIST images: 938 steps) ...
    min_steps: int = 800        # ... but at least this many Adam steps, so small datasets train too
    batch_size: int = 128       # images per Adam step
    lr: float = 3e-3            # peak Adam learning rate (linear warm-up over 3% of steps, cosine to 0)
    weight_decay: float = 1e-4  # AdamW decoupled weight decay
    seed: int = 0               # initial weights and the order of training images


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


class Classifier:
    """A trained `ClassifierNet` (eval mode, CPU) with the facts about its training (`meta`)."""

    inputs = "images"                                        # what it classifies, for error messages

    def __init__(self, net: ClassifierNet, meta: dict, path: Path | None = None):
        self.net = net.eval()
        self.meta = meta
        self.path = path                                     # the cached .safetensors file, if any
        self.shape = tuple(meta["shape"])
        self.n_classes = int(meta["n_classes"])
        self.class_names = tuple(meta["class_names"])
        self.test_accuracy = float(meta["test_accuracy"])
        self.feature_dim = int(meta["options"]["feature_dim"])

    def _check(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != len(self.shape) + 1 or tuple(x.shape[1:]) != self.shape:
            raise DifflabError(f"the {self.meta['dataset']} classifier takes {self.inputs} (N, "
                               f"{', '.join(map(str, self.shape))}); got shape {x.shape}")
        return x

    @torch.no_grad()
    def _batched(self, x, fn) -> np.ndarray:
        x = self._check(x)
        out = [fn(torch.from_numpy(x[i:i + BATCH_EVAL])).double().numpy() for i in range(0, len(x), BATCH_EVAL)]
        return np.concatenate(out) if out else np.zeros((0, self.feature_dim))

    def features(self, x) -> np.ndarray:
        """Images (N, C, H, W) in [0, 1] -> penultimate-layer features (N, F) float64."""
        return self._batched(x, self.net.features)

    def predict_proba(self, x) -> np.ndarray:
        """Images (N, C, H, W) in [0, 1] -> class probabilities (N, n_classes) float64."""
        return self._batched(x, lambda b: torch.softmax(self.net(b), dim=1))


# -- training --------------------------------------------------------------------------------------

def _lr_factor(step: int, total: int) -> float:
    """Linear warm-up over the first 3% of steps, then cosine decay to 0."""
    warm = max(1, int(0.03 * total))
    if step < warm:
        return (step + 1) / warm
    return 0.5 * (1.0 + math.cos(math.pi * (step - warm) / max(1, total - warm)))


def accuracy(net: ClassifierNet, x: np.ndarray, y: np.ndarray) -> float:
    """Share of images whose arg-max class is the label (net in eval mode)."""
    net.eval()
    with torch.no_grad():
        pred = [net(torch.from_numpy(np.asarray(x[i:i + BATCH_EVAL], dtype=np.float32))).argmax(1).numpy()
                for i in range(0, len(x), BATCH_EVAL)]
    return float((np.concatenate(pred) == np.asarray(y)).mean()) if len(x) else float("nan")


def train_classifier(x: np.ndarray, y: np.ndarray, n_classes: int, options: ClassifierOptions,
                     progress: bool = True, desc: str = "classifier") -> ClassifierNet:
    """Train a ClassifierNet on images x (N, C, H, W) in [0, 1] with labels y (N,) in 0..n_classes-1
    by AdamW on the cross-entropy; deterministic for a given seed on the same machine."""
    from tqdm.auto import tqdm

    gen = torch.Generator().manual_seed(options.seed)
    with torch.random.fork_rng(devices=[]):                  # initialisers draw from the global generator:
        torch.manual_seed(options.seed)                      # seed it here without touching the caller's state
        net = ClassifierNet(x.shape[1], n_classes, options.width, options.feature_dim)
    opt = torch.optim.AdamW(net.parameters(), lr=options.lr, weight_decay=options.weight_decay)
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    per_epoch = math.ceil(len(xt) / options.batch_size)
    total = max(per_epoch * options.epochs, options.min_steps)
    net.train()
    with tqdm(total=total, disable=not progress, desc=desc, unit="step", leave=False) as bar:
        for step in range(total):
            if step % per_epoch == 0:
                perm = torch.randperm(len(xt), generator=gen)
            idx = perm[(step % per_epoch) * options.batch_size:(step % per_epoch + 1) * options.batch_size]
            for group in opt.param_groups:
                group["lr"] = options.lr * _lr_factor(step, total)
            loss = nn.functional.cross_entropy(net(xt[idx]), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            bar.update(1)
            if step % 20 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
    return net.eval()


# -- the cache ---------------------------------------------------------------------------------------

def default_cache_dir() -> Path:
    """$DIFFLAB_CACHE/classifiers when DIFFLAB_CACHE is set, else ~/.cache/difflab/classifiers."""
    root = os.environ.get("DIFFLAB_CACHE")
    return (Path(root) if root else Path("~/.cache/difflab")).expanduser() / "classifiers"


def data_hash(x: np.ndarray, y: np.ndarray) -> str:
    """sha256 of the training images (as float32, with their shape) and labels (as int64)."""
    h = hashlib.sha256()
    x = np.ascontiguousarray(x, dtype=np.float32)
    h.update(repr(x.shape).encode())
    h.update(memoryview(x).cast("B"))
    h.update(np.ascontiguousarray(y, dtype=np.int64).tobytes())
    return h.hexdigest()


def _cache_key(digest: str, options: ClassifierOptions) -> str:
    text = json.dumps({"data": digest, "options": asdict(options), "version": CLASSIFIER_VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _load_cached(stem: Path, digest: str, options: ClassifierOptions) -> Classifier | None:
    """The cached classifier at stem.{json,safetensors} if it matches digest and options, else None
    (a damaged or mismatched cache is reported on stderr and retrained)."""
    from ..training.checkpoint import load_tensors

    meta_path, weights = Path(f"{stem}.json"), Path(f"{stem}.safetensors")
    if not (meta_path.is_file() and weights.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        if (meta.get("data_sha256") != digest or meta.get("options") != asdict(options)
                or meta.get("version") != CLASSIFIER_VERSION):
            print(f"difflab: cached classifier {meta_path} does not match the data or options; retraining",
                  file=sys.stderr)
            return None
        net = ClassifierNet(meta["shape"][0], meta["n_classes"], options.width, options.feature_dim)
        net.load_state_dict(load_tensors(weights))
    except (DifflabError, json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, RuntimeError) as e:
        print(f"difflab: cached classifier {stem} is unreadable ({e}); retraining", file=sys.stderr)
        return None
    return Classifier(net, meta, weights)


def get_classifier(dataset, *, cache_dir=None, progress: bool = True,
                   options: ClassifierOptions | None = None) -> Classifier:
    """The classifier of an image dataset (an object with kind "image", train, labels_train, test,
    labels_test, class_names; or a registered dataset name), from the cache when its data hash
    and options match, otherwise trained now (tqdm bar when `progress`) and cached."""
    from ..training.checkpoint import atomic_write_text, save_tensors

    if isinstance(dataset, str):
        from ..data import get_dataset

        dataset = get_dataset(dataset)
    if getattr(dataset, "kind", None) != "image" or not hasattr(dataset, "labels_train"):
        raise DifflabError(f"dataset {getattr(dataset, 'name', dataset)!r} is not a labelled image dataset; "
                           "the image classifier needs images (N, C, H, W) with labels")
    options = options or options_for(dataset.name)
    x, y = dataset.train, dataset.labels_train
    shape = tuple(int(s) for s in np.shape(x)[1:])
    if len(shape) != 3 or shape[0] not in (1, 3) or min(shape[1:]) < 8:
        raise DifflabError(f"the image classifier needs images (N, 1 or 3, H >= 8, W >= 8); got (N, {shape})")
    if dataset.n_classes < 2:
        raise DifflabError(f"the image classifier needs at least 2 classes, got {dataset.n_classes}")
    labels = np.asarray(y)
    if labels.shape != (len(x),) or labels.min() < 0 or labels.max() >= dataset.n_classes:
        raise DifflabError(f"the labels of {dataset.name} must be {len(x)} integers in 0..{dataset.n_classes - 1}")
    digest = data_hash(x, y)
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(dataset.name)).strip("._") or "dataset"
    stem = folder / f"{safe_name}-{_cache_key(digest, options)}"
    cached = _load_cached(stem, digest, options)
    if cached is not None:
        return cached

    if progress:
        print(f"difflab: training the {dataset.name} classifier for the image metrics (once; cached as {stem}.*)",
              file=sys.stderr)
    start = time.perf_counter()
    net = train_classifier(x, y, dataset.n_classes, options, progress=progress, desc=f"classifier {dataset.name}")
    seconds = time.perf_counter() - start
    meta = {"dataset": str(dataset.name), "version": CLASSIFIER_VERSION, "options": asdict(options),
            "shape": list(shape), "n_classes": int(dataset.n_classes), "class_names": list(dataset.class_names),
            "n_train": int(len(x)), "n_test": int(len(dataset.test)),
            "test_accuracy": accuracy(net, dataset.test, dataset.labels_test),
            "train_seconds": round(seconds, 2), "torch_threads": torch.get_num_threads(), "data_sha256": digest}
    folder.mkdir(parents=True, exist_ok=True)
    weights = Path(f"{stem}.safetensors")
    save_tensors(weights, net.state_dict())
    atomic_write_text(Path(f"{stem}.json"), json.dumps(meta, indent=1))   # written last: marks the cache complete
    return Classifier(net, meta, weights)
