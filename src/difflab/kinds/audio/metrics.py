"""Generated audio measured in a feature space: a small spoken-digit (or any labelled-audio)
classifier that difflab trains, or, for unlabelled audio, fixed log-spectrum statistics.

There is no pretrained audio network offline, so, as for images, difflab trains its own
classifier once per labelled dataset and caches it (`difflab.eval.classifier`):

    clf = get_audio_classifier(get_dataset("fsdd"))   # ~1 minute on a CPU the first time
    clf.features(x)        # clips (N, 1, L) in [-1, 1] -> (N, F) float64, the global average pool
    clf.predict_proba(x)   # (N, n_classes)
    clf.test_accuracy      # on the dataset's test split

The network (`AudioClassifierNet`) is a 1D CNN over time on a log-power spectrogram computed
inside it (Hann windows of ~32 ms rounded to a power of two, hop half a window,
log(power + 1e-5)): the frequency bins are the input channels, then three stages of
(conv k=5, batch norm, ReLU) with max-pooling by 2 between them, a 1x1 conv to F channels, a
global average pool over time (the features) and a linear layer to the logits. Training clips
are shifted in time at random (circularly, up to a tenth of the clip) so the features do not
hinge on where a word starts. The cache (the folder of `eval.classifier.default_cache_dir`,
files `audio-<dataset>-<key>.{safetensors,json}`) is keyed by the sha256 of the training clips and
labels, the options, the sample rate and AUDIO_CLASSIFIER_VERSION.

`evaluate_audio(samples, dataset, rng)` returns the Frechet distance between the features of
N samples and N test clips (drawn without replacement) beside its floor: the same distance
between N train clips and N test clips over n_pairs independent draws (median and p95; a value
at or below the p95 cannot be told from real data at this N). For labelled data it adds the
classifier's label histogram of the samples and the share labelled with confidence > 0.9
(beside the same for test clips). Unlabelled data (`wav:FOLDER`) gets the FD in
`log_spectrum_stats` features instead and no labels. Samples are clipped to [-1, 1] first
(`clipped_share` says how many values needed it).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ...arrays import check_samples, clip_to_range
from ...errors import DifflabError
from ...eval.classifier import (BATCH_EVAL, CONFIDENT, Classifier, ClassifierOptions, cache_key, data_hash,
                                fit_classifier, labelled_train, load_or_train, seeded)
from ...eval.frechet import frechet_distance

AUDIO_CLASSIFIER_VERSION = 1    # bump when the network or the recipe changes: old caches retrain
AUDIO_OPTIONS = ClassifierOptions(width=32, feature_dim=128, epochs=10, min_steps=400, batch_size=64, lr=3e-3,
                                  weight_decay=1e-4, seed=0)
SHIFT_SHARE = 0.1               # training clips are rolled by up to this share of their length
FD_NAME = "Frechet distance in difflab's audio-classifier features (FD-clf)"
FD_STATS_NAME = "Frechet distance in log-spectrum statistics (FD-spec)"


def stft_size(rate: int) -> int:
    """Window length: ~32 ms rounded to a power of two (128 at 4 kHz, 256 at 8 kHz), at least 16."""
    return max(16, 2 ** int(round(math.log2(0.032 * rate))))


def log_spectrogram(x: torch.Tensor, n_fft: int) -> torch.Tensor:
    """Clips (B, 1, L) -> log power (B, n_fft // 2 + 1, frames), Hann windows, hop n_fft // 2
    (the frames of torch.stft(center=True), by unfold + rfft, which is much faster on a CPU)."""
    window = torch.hann_window(n_fft, periodic=True, device=x.device, dtype=x.dtype)
    padded = torch.nn.functional.pad(x.reshape(len(x), 1, -1), (n_fft // 2, n_fft // 2), mode="reflect")[:, 0]
    frames = padded.unfold(1, n_fft, n_fft // 2) * window                  # (B, frames, n_fft), as torch.stft(center=True)
    return torch.log(torch.fft.rfft(frames).abs().pow(2) + 1e-5).transpose(1, 2)


class AudioClassifierNet(nn.Module):
    """Clips (B, 1, L) in [-1, 1] -> logits (B, n_classes); `features` gives (B, F)."""

    def __init__(self, n_fft: int, n_classes: int, width: int = 32, feature_dim: int = 128):
        super().__init__()
        self.n_fft = n_fft

        def stage(c_in, c_out):
            return [nn.Conv1d(c_in, c_out, 5, padding=2, bias=False), nn.BatchNorm1d(c_out), nn.ReLU()]

        bins = n_fft // 2 + 1
        self.trunk = nn.Sequential(
            nn.BatchNorm1d(bins),                                 # per-bin level and spread, learnt
            *stage(bins, width), nn.MaxPool1d(2),
            *stage(width, 2 * width), nn.MaxPool1d(2),
            *stage(2 * width, 4 * width),
            nn.Conv1d(4 * width, feature_dim, 1, bias=False), nn.BatchNorm1d(feature_dim), nn.ReLU(),
            nn.AdaptiveAvgPool1d(1), nn.Flatten(),
        )
        self.head = nn.Linear(feature_dim, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(log_spectrogram(x, self.n_fft))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class AudioClassifier(Classifier):
    """A trained `AudioClassifierNet` (eval mode, CPU) with the facts about its training (`meta`);
    `features` and `predict_proba` take clips (N, 1, L)."""

    inputs = "clips"


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Roll each clip (B, 1, L) by its own random shift in [-max_shift, max_shift]."""
    if max_shift < 1:
        return x
    length = x.shape[-1]
    shifts = torch.randint(-max_shift, max_shift + 1, (len(x), 1), generator=generator)
    idx = (torch.arange(length)[None, :] - shifts) % length
    return torch.gather(x[:, 0], 1, idx)[:, None]


def train_audio_classifier(x: np.ndarray, y: np.ndarray, n_classes: int, rate: int, options: ClassifierOptions,
                           progress: bool = True, desc: str = "audio classifier") -> AudioClassifierNet:
    """An AudioClassifierNet trained on clips x (N, 1, L) with labels y (N,) (`fit_classifier`),
    each batch rolled by `random_shift`; deterministic for a seed on one machine."""
    net = seeded(lambda: AudioClassifierNet(stft_size(rate), n_classes, options.width, options.feature_dim),
                 options.seed)
    max_shift = int(SHIFT_SHARE * np.shape(x)[-1])
    return fit_classifier(net, x, y, options, augment=lambda batch, gen: random_shift(batch, max_shift, gen),
                          progress=progress, desc=desc)


def _cache_key(digest: str, options: ClassifierOptions, rate: int) -> str:
    return cache_key(digest, options, AUDIO_CLASSIFIER_VERSION, rate=int(rate))


def get_audio_classifier(dataset, *, cache_dir=None, progress: bool = True,
                         options: ClassifierOptions | None = None) -> AudioClassifier:
    """The classifier of a labelled audio dataset, from the cache when its data hash, rate and
    options match, otherwise trained now and cached."""
    if getattr(dataset, "kind", None) != "audio" or getattr(dataset, "n_classes", 0) < 2:
        raise DifflabError(f"dataset {getattr(dataset, 'name', dataset)!r} is not labelled audio with at least "
                           "2 classes; the audio classifier needs clips (N, 1, L) with labels")
    options = options or AUDIO_OPTIONS
    x, y = labelled_train(dataset)
    rate, digest = int(dataset.sample_rate), data_hash(x, y)
    return load_or_train(
        dataset, options, digest, _cache_key(digest, options, rate), version=AUDIO_CLASSIFIER_VERSION,
        build=lambda meta: AudioClassifierNet(stft_size(rate), meta["n_classes"], options.width, options.feature_dim),
        train=lambda: train_audio_classifier(x, y, dataset.n_classes, rate, options, progress=progress,
                                             desc=f"classifier {dataset.name}"),
        fields={"sample_rate": rate}, prefix="audio-", what="audio classifier", wrap=AudioClassifier,
        cache_dir=cache_dir, progress=progress)


# -- features of unlabelled audio ---------------------------------------------------------------------

def log_spectrum_stats(x, rate: int) -> np.ndarray:
    """Clips (N, 1, L) -> (N, 2 * bins): mean and standard deviation over time of the log power
    in each frequency bin (the spectrogram of `log_spectrogram`). Fixed, no training."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    out = []
    for i in range(0, len(x), BATCH_EVAL):
        s = log_spectrogram(x[i:i + BATCH_EVAL], stft_size(rate))
        out.append(torch.cat([s.mean(-1), s.std(-1)], dim=1).double().numpy())
    return np.concatenate(out) if out else np.zeros((0, 2 * (stft_size(rate) // 2 + 1)))


# -- the metric ---------------------------------------------------------------------------------------

def _draw(n_avail: int, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(n_avail, size=n, replace=n > n_avail)


def summary(values) -> dict:
    arr = np.asarray(values, dtype=np.float64)
    return {"median": float(np.median(arr)), "p95": float(np.percentile(arr, 95)), "values": [float(v) for v in arr]}


def fd_floor(f_train: np.ndarray, f_test: np.ndarray, n: int, rng: np.random.Generator, n_pairs: int) -> dict:
    """The Frechet distance between n train and n test feature rows, n_pairs independent draws."""
    if n_pairs < 2:
        raise DifflabError(f"n_pairs must be at least 2, got {n_pairs}")
    return summary([frechet_distance(f_train[_draw(len(f_train), n, rng)], f_test[_draw(len(f_test), n, rng)])
                    for _ in range(n_pairs)])


def feature_fn(dataset, classifier=None):
    """(features(x) -> (N, F), description, classifier or None) for a dataset."""
    if getattr(dataset, "n_classes", 0) >= 2:
        clf = classifier or get_audio_classifier(dataset)
        return clf.features, (f"global-average-pool layer ({clf.feature_dim} features) of difflab's own "
                              f"{clf.meta['dataset']} audio classifier (test accuracy {clf.test_accuracy:.4f})"), clf
    rate = int(dataset.sample_rate)
    bins = stft_size(rate) // 2 + 1
    return (lambda x: log_spectrum_stats(x, rate),
            f"log-spectrum statistics (mean and std over time of log power in {bins} frequency bins)", None)


def audio_reference_floors(dataset, n: int, rng: np.random.Generator, *, classifier=None, n_pairs: int = 10) -> dict:
    """{"fd": {"median", "p95", "values"}} between n train and n test clips; depends only on the
    dataset, the feature space and n, so a benchmark can compute it once."""
    features, _, _ = feature_fn(dataset, classifier)
    return {"fd": fd_floor(features(dataset.train), features(dataset.test), n, rng, n_pairs)}


def label_summary(proba: np.ndarray, class_names, test_proba: np.ndarray) -> dict:
    """The classifier's arg-max histogram and confident share of the samples beside test clips'."""
    k = proba.shape[1]
    return {"class_names": list(class_names), "threshold": CONFIDENT,
            "histogram": [int(v) for v in np.bincount(proba.argmax(1), minlength=k)],
            "confident_share": float((proba.max(1) > CONFIDENT).mean()),
            "test_histogram": [int(v) for v in np.bincount(test_proba.argmax(1), minlength=k)],
            "test_confident_share": float((test_proba.max(1) > CONFIDENT).mean())}


def evaluate_audio(samples, dataset, rng: np.random.Generator, *, classifier=None, n_pairs: int = 10,
                   floors: dict | None = None) -> dict:
    """Measure generated clips (N, 1, L) against an audio dataset's test split; see the module docstring."""
    x, clipped = clip_to_range(check_samples(samples, dataset.shape, "clips", np.float32), -1.0, 1.0)
    n = len(x)
    features, space, clf = feature_fn(dataset, classifier)
    notes = []
    if n > len(dataset.test) or n > len(dataset.train):
        notes.append(f"{n} samples exceed a split ({len(dataset.train)} train / {len(dataset.test)} test): "
                     "reference clips were drawn with replacement, which biases the floor")
    f_test = features(dataset.test)
    if n <= f_test.shape[1]:
        notes.append(f"{n} samples <= {f_test.shape[1]} feature dimensions: the covariances are singular and the "
                     "FD is strongly biased upward; compare it only with its floor at this N")
    ref = _draw(len(dataset.test), n, rng)
    value = frechet_distance(features(x), f_test[ref])
    if floors is None:
        floors = {"fd": fd_floor(features(dataset.train), f_test, n, rng, n_pairs)}
    elif len(floors.get("fd", {}).get("values", [])) < 2:
        raise DifflabError("floors must hold at least 2 values for fd")
    fl = floors["fd"]
    result = {
        "kind": "audio", "n_samples": int(n), "reference": "test set", "feature_space": space,
        "sample_rate": int(dataset.sample_rate),
        "classifier": None if clf is None else {
            "dataset": clf.meta["dataset"], "test_accuracy": clf.test_accuracy, "feature_dim": clf.feature_dim,
            "train_seconds": clf.meta.get("train_seconds"), "data_sha256": clf.meta["data_sha256"],
            "file": str(clf.path) if clf.path else None},
        "metrics": {"fd": {"name": FD_NAME if clf else FD_STATS_NAME, "value": value, "floor_median": fl["median"],
                           "floor_p95": fl["p95"], "within_floor": bool(value <= fl["p95"]),
                           "floor_values": fl["values"]}},
        "labels": None if clf is None else label_summary(clf.predict_proba(x), clf.class_names,
                                                         clf.predict_proba(dataset.test[ref])),
        "clipped_share": clipped,
        "notes": notes,
    }
    return result


def format_audio_metrics(result: dict) -> str:
    """Plain-text table of an `evaluate_audio` result, for the CLI."""
    fd, lab, n = result["metrics"]["fd"], result["labels"], result["n_samples"]
    short = "FD-clf" if result["classifier"] else "FD-spec"
    lines = [f"{n} samples vs {n} test clips; features: {result['feature_space']}",
             f"{'metric':10s} {'value':>10s} {'floor median':>13s} {'floor p95':>10s}  within",
             f"{short:10s} {fd['value']:10.4g} {fd['floor_median']:13.4g} {fd['floor_p95']:10.4g}  "
             f"{'yes' if fd['within_floor'] else 'NO'}",
             f"{short} = {fd['name']}: lower is better; floor = train vs test clips of the same count; "
             "'within' = value <= floor p95"]
    if lab is not None:
        hist = " ".join(f"{name}:{count}" for name, count in zip(lab["class_names"], lab["histogram"]))
        lines.append(f"labels: {lab['confident_share']:.1%} of samples labelled with confidence > {lab['threshold']} "
                     f"(test clips: {lab['test_confident_share']:.1%}); histogram {hist}")
    if result.get("clipped_share", 0.0) > 0:
        lines.append(f"sample values outside [-1, 1] (clipped): {result['clipped_share']:.2%}")
    lines += [f"note: {note}" for note in result.get("notes", [])]
    return "\n".join(lines)
