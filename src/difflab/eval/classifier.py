"""What every feature classifier of difflab shares, whatever it classifies: its options, the
trained-classifier wrapper, one training loop and one load-or-train cache keyed by data hash.

There is no pretrained network offline, so the image and audio metrics (`difflab.kinds`) measure
samples in the feature space of a small classifier that difflab trains once per labelled dataset
with a fixed seed and caches. Each kind brings only its network and calls these pieces:

    x, y = labelled_train(dataset)                       # (N, ...) and labels (N,) in 0..n_classes-1
    net = fit_classifier(seeded(build_net, options.seed), x, y, options, augment=None)
    clf = load_or_train(dataset, options, digest, key, version=1, build=..., train=...)
    clf.features(x)       # (N, F) float64: the global average pool before the linear head
    clf.predict_proba(x)  # (N, n_classes) float64

The cache (`$DIFFLAB_CACHE/classifiers`, else ~/.cache/difflab/classifiers) holds
`<prefix><dataset>-<key>.safetensors` (weights only: nothing is unpickled) and
`<prefix><dataset>-<key>.json` (dataset name, options, shape, classes, test accuracy, training
time, the sha256 of the training data and labels), the .json written last so that its presence
marks a complete entry. The key (`cache_key`) digests the data hash, the options, the kind's
version number and any field of the kind's own (an audio sample rate); an entry is reloaded only
when its .json records the same data hash, options, version and fields, else it is retrained.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..errors import DifflabError
from ..files import atomic_write_text, load_tensors, save_tensors

CONFIDENT = 0.9                 # a prediction is "confident" when its top probability exceeds this
BATCH_EVAL = 1000               # inputs per forward pass when computing features / probabilities


@dataclass(frozen=True)
class ClassifierOptions:
    """How a classifier is built and trained (part of the cache key)."""
    width: int = 16             # channels of the first stage; x2 at each of the next two stages
    feature_dim: int = 128      # F: channels of the 1x1 conv whose global average pool is the feature
    epochs: int = 2             # passes over the train split (60k MNIST images: 938 steps) ...
    min_steps: int = 800        # ... but at least this many Adam steps, so small datasets train too
    batch_size: int = 128       # inputs per Adam step
    lr: float = 3e-3            # peak Adam learning rate (linear warm-up over 3% of steps, cosine to 0)
    weight_decay: float = 1e-4  # AdamW decoupled weight decay
    seed: int = 0               # initial weights and the order of training inputs


class Classifier:
    """A trained network (eval mode, CPU) with `features(x) -> (B, F)` and `forward(x) -> logits`,
    and the facts about its training (`meta`). A kind subclasses it only to name its inputs."""

    inputs = "images"                                        # what it classifies, for error messages

    def __init__(self, net: nn.Module, meta: dict, path: Path | None = None):
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
        """Inputs (N, *shape) -> penultimate-layer features (N, F) float64."""
        return self._batched(x, self.net.features)

    def predict_proba(self, x) -> np.ndarray:
        """Inputs (N, *shape) -> class probabilities (N, n_classes) float64."""
        return self._batched(x, lambda b: torch.softmax(self.net(b), dim=1))


# -- training --------------------------------------------------------------------------------------

def lr_factor(step: int, total: int) -> float:
    """Linear warm-up over the first 3% of steps, then cosine decay to 0."""
    warm = max(1, int(0.03 * total))
    if step < warm:
        return (step + 1) / warm
    return 0.5 * (1.0 + math.cos(math.pi * (step - warm) / max(1, total - warm)))


def accuracy(net: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    """Share of inputs whose arg-max class is the label (net in eval mode)."""
    net.eval()
    with torch.no_grad():
        pred = [net(torch.from_numpy(np.asarray(x[i:i + BATCH_EVAL], dtype=np.float32))).argmax(1).numpy()
                for i in range(0, len(x), BATCH_EVAL)]
    return float((np.concatenate(pred) == np.asarray(y)).mean()) if len(x) else float("nan")


def seeded(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    """build() with torch's global generator seeded for the initialisers, which draw from it; the
    caller's generator state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def fit_classifier(net: nn.Module, x: np.ndarray, y: np.ndarray, options: ClassifierOptions, *,
                   augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
                   progress: bool = True, desc: str = "classifier") -> nn.Module:
    """Train `net` on inputs x (N, ...) with labels y (N,) by AdamW on the cross-entropy, the
    lr following `lr_factor`; returns it in eval mode. One generator seeded by options.seed draws
    the order of the inputs (a permutation per epoch) and then, per batch, whatever `augment(batch,
    generator)` draws, so a seed gives the same weights on the same machine."""
    gen = torch.Generator().manual_seed(options.seed)
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
                group["lr"] = options.lr * lr_factor(step, total)
            batch = xt[idx] if augment is None else augment(xt[idx], gen)
            loss = nn.functional.cross_entropy(net(batch), yt[idx])
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
    """sha256 of the training inputs (as float32, with their shape) and labels (as int64)."""
    h = hashlib.sha256()
    x = np.ascontiguousarray(x, dtype=np.float32)
    h.update(repr(x.shape).encode())
    h.update(memoryview(x).cast("B"))
    h.update(np.ascontiguousarray(y, dtype=np.int64).tobytes())
    return h.hexdigest()


def cache_key(digest: str, options: ClassifierOptions, version: int, **fields) -> str:
    """16 hex digits digesting the data hash, the options, a kind's version and its own fields."""
    text = json.dumps({"data": digest, "options": asdict(options), **fields, "version": version}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def labelled_train(dataset) -> tuple[np.ndarray, np.ndarray]:
    """The train split of a labelled dataset and its labels, checked to be len(train) integers in
    0..n_classes-1."""
    x, y = dataset.train, np.asarray(dataset.labels_train)
    if y.shape != (len(x),) or y.min() < 0 or y.max() >= dataset.n_classes:
        raise DifflabError(f"the labels of {dataset.name} must be {len(x)} integers in 0..{dataset.n_classes - 1}")
    return x, y


def _load_cached(stem: Path, expected: dict, build: Callable[[dict], nn.Module], wrap: type[Classifier],
                 what: str) -> Classifier | None:
    """The classifier cached at stem.{json,safetensors} if its meta holds the expected values,
    else None (a damaged or mismatched entry is reported on stderr, to be retrained)."""
    meta_path, weights = Path(f"{stem}.json"), Path(f"{stem}.safetensors")
    if not (meta_path.is_file() and weights.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text())
        if any(meta.get(name) != value for name, value in expected.items()):
            print(f"difflab: cached {what} {meta_path} does not match the data or options; retraining",
                  file=sys.stderr)
            return None
        net = build(meta)
        net.load_state_dict(load_tensors(weights))
    except (DifflabError, json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, RuntimeError) as e:
        print(f"difflab: cached {what} {stem} is unreadable ({e}); retraining", file=sys.stderr)
        return None
    return wrap(net, meta, weights)


def load_or_train(dataset, options: ClassifierOptions, digest: str, key: str, *, version: int,
                  build: Callable[[dict], nn.Module], train: Callable[[], nn.Module], fields: dict | None = None,
                  prefix: str = "", what: str = "classifier", wrap: type[Classifier] = Classifier,
                  cache_dir=None, progress: bool = True) -> Classifier:
    """The classifier of a labelled dataset (name, kind, train, test, labels_test, n_classes,
    class_names), from the cache entry `<prefix><name>-<key>` when its meta records this data
    hash (`digest`), these options, `version` and `fields`, else trained by `train()` and cached.

    build(meta) makes an untrained network for a cached entry's meta (its "shape", "n_classes"
    and the fields); `fields` (e.g. {"sample_rate": 8000}) are recorded in the meta after "shape";
    `what` names the classifier in messages; `wrap` is the Classifier (sub)class returned."""
    fields = fields or {}
    folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    safe_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(dataset.name)).strip("._") or "dataset"
    stem = folder / f"{prefix}{safe_name}-{key}"
    expected = {"data_sha256": digest, "options": asdict(options), "version": version, **fields}
    cached = _load_cached(stem, expected, build, wrap, what)
    if cached is not None:
        return cached

    if progress:
        print(f"difflab: training the {dataset.name} {what} for the {dataset.kind} metrics (once; cached as "
              f"{stem}.*)", file=sys.stderr)
    start = time.perf_counter()
    net = train()
    seconds = time.perf_counter() - start
    meta = {"dataset": str(dataset.name), "version": version, "options": asdict(options),
            "shape": [int(s) for s in np.shape(dataset.train)[1:]], **fields, "n_classes": int(dataset.n_classes),
            "class_names": list(dataset.class_names), "n_train": int(len(dataset.train)),
            "n_test": int(len(dataset.test)), "test_accuracy": accuracy(net, dataset.test, dataset.labels_test),
            "train_seconds": round(seconds, 2), "torch_threads": torch.get_num_threads(), "data_sha256": digest}
    folder.mkdir(parents=True, exist_ok=True)
    weights = Path(f"{stem}.safetensors")
    save_tensors(weights, net.state_dict())
    atomic_write_text(Path(f"{stem}.json"), json.dumps(meta, indent=1))   # written last: marks the cache complete
    return wrap(net, meta, weights)
