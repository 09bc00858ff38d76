"""Audio datasets: the Free Spoken Digit Dataset, any folder of WAV files, and synthetic tones.

Every dataset here is an `AudioDataset`: float32 clips (N, 1, L) in [-1, 1] (raw units: a
16-bit sample divided by 32768) at one sample rate (`sample_rate`, also in `info()`, so a run
folder knows how to write its samples as WAV files). Its normaliser is one number for every
sample point: `x_n = x / s` with s the standard deviation of all training samples, so the
network sees unit variance and `difflab denoise` (which needs one scale) works. Labelled
datasets (FSDD: the digit; tones: the kind of sound) expose `labels_train`, `labels_test`,
`n_classes` and `class_names`, as the image datasets do, for class-conditional training and for
the classifier behind the audio metrics.

Clips of other lengths are fitted to L samples by `fit_length`: a longer clip keeps its centre
L samples, a shorter one is centred in zeros (silence). Each clip's mean is removed first (a DC
offset would leave steps at the edges of the padding).

- `fsdd`: the Free Spoken Digit Dataset (6 speakers x 10 digits x 50 repetitions, 8 kHz mono
  16-bit WAV files named `{digit}_{speaker}_{index}.wav`). The official split: index 0-4 of
  every digit and speaker is the test set (300 clips), 5-49 the training set (2,700). Defaults:
  resampled to 4 kHz (`scipy.signal.resample_poly`, which low-passes first) and fitted to 4096
  samples (1.02 s). Why: the recordings last 0.14-2.3 s, 99.4% of them at most 1.02 s, so 1.02 s
  keeps nearly every word whole; halving the rate keeps the speech band up to 2 kHz (enough to
  tell the digits apart; telephone speech stops at 3.4 kHz) and halves the network's work, so a
  1D UNet trains for some thousands of clips in ~10 minutes of a 2-core CPU. 8 kHz and 8192
  samples (`--set data_options.sample_rate=8000 --set data_options.length=8192`) double it.
  Recording levels differ by speaker (median peaks from 0.03 to 0.47), so every clip is scaled
  to peak at `peak` (0.9; None keeps the recorded level).
- `wav:FOLDER`: every `*.wav` in FOLDER (sorted by name), unlabelled, a seeded random split
  (`test_share` 0.1 of the files, at least one, for the test set). The files must share one rate
  unless `sample_rate` is given, in which case each is resampled to it.
- `tones`: synthetic harmonic tones, rising and falling chirps with random pitch, length and
  loudness (3 classes), drawn from a seeded generator; `sample(n, rng)` draws fresh clips, so
  the truth is known. Small and fast: for tests and quick checks.

Every one of them takes `representation`: "waveform" (the default: the clips above) or
"spectrogram": the same clips as log-magnitude STFT images (N, 1, F, T) scaled to about
[-1, 1] with fixed constants (spectrogram.py: n_fft 128 and hop 64 give 64 x 64 for 4096
samples; options `n_fft`, `hop`), a `SpectrogramDataset` that keeps the clips (`waveforms()`)
for the audio metrics, and records the STFT in `info()["spectrogram"]` so a run folder knows
how to turn generated images back into clips (Griffin-Lim).

Where FSDD is looked for, in order: `data_dir` and `data_dir/fsdd`; `../shared/data/fsdd`
relative to the working directory and to the repository; ~/.cache/difflab/fsdd (see
`search_dirs` in data/paths.py). A folder counts when it (or its `recordings/`) holds FSDD-named
WAV files. Upstream: https://github.com/Jakobovski/free-spoken-digit-dataset (CC BY-SA 4.0).
"""
from __future__ import annotations

import math
import re
import struct
import wave
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from ...errors import DifflabError
from ...data.base import Dataset, Normaliser, seeded_subset
from ...data.paths import search_dirs
from .pictures import plot_spectrogram_images, plot_waveform_stack
from .spectrogram import DEFAULT_HOP, DEFAULT_N_FFT, SpectrogramSpec, check_representation, clips_to_images
from ...data.registry import register, register_prefix

FSDD_URL = "https://github.com/Jakobovski/free-spoken-digit-dataset"
FSDD_RATE = 8000                    # every FSDD recording is 8 kHz mono 16-bit PCM
FSDD_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")
FSDD_TEST_INDEX = 5                 # official split: index 0-4 test, 5-49 train
DEFAULT_RATE = 4000                 # see the module docstring for why 4 kHz and 4096 samples
DEFAULT_LENGTH = 4096
DEFAULT_PEAK = 0.9
TONE_CLASSES = ("tone", "rising chirp", "falling chirp")


class AudioDataset(Dataset):
    """Clips (N, 1, L) float32 in [-1, 1] at `sample_rate` Hz; one scalar normaliser; labels optional."""

    kind = "audio"

    def __init__(self, name: str, description: str, train: np.ndarray, test: np.ndarray, sample_rate: int, *,
                 labels_train=None, labels_test=None, class_names=None, source: str = ""):
        self.name, self.description, self.source = name, description, source
        self.train = np.ascontiguousarray(train, dtype=np.float32)
        self.test = np.ascontiguousarray(test, dtype=np.float32)
        self.sample_rate = int(sample_rate)
        if class_names is not None:
            self.labels_train = np.asarray(labels_train, dtype=np.int64)
            self.labels_test = np.asarray(labels_test, dtype=np.int64)
            self.class_names = tuple(class_names)
            self.n_classes = len(self.class_names)
        s = float(self.train.std()) if self.train.size else 1.0
        s = s if s > 1e-8 else 1.0                          # all-silent data: leave it as it is
        self.normaliser = Normaliser(np.zeros(self.shape), np.full(self.shape, s))

    @property
    def length(self) -> int:
        return int(self.shape[-1])

    def info(self) -> dict:
        d = {**super().info(), "sample_rate": self.sample_rate, "length": self.length,
             "seconds": self.length / self.sample_rate, "source": self.source}
        if hasattr(self, "n_classes"):
            d["n_classes"] = self.n_classes
            d["class_names"] = list(self.class_names)
        return d

    def plot(self, ax, x: np.ndarray, *, max_clips: int = 6, **kw):
        """A few raw clips (N, 1, L) as waveforms stacked one above the other."""
        return plot_waveform_stack(ax, np.asarray(x)[:max_clips], self.sample_rate, **kw)

    def waveforms(self) -> "AudioDataset":
        """The dataset as clips (N, 1, L): itself (a `SpectrogramDataset` gives the clips it was made from)."""
        return self


class SpectrogramDataset(Dataset):
    """An `AudioDataset`'s clips as scaled log-magnitude STFT images (N, 1, F, T) (spectrogram.py);
    labels, rate and truth sampler are the clips'; one scalar normaliser (mean and std of all
    training pixels)."""

    kind = "audio"

    def __init__(self, clips: AudioDataset, spec: SpectrogramSpec):
        self.clips, self.spec = clips, spec
        self.name, self.source, self.sample_rate = clips.name, clips.source, clips.sample_rate
        self.description = (f"{clips.description}; as log-magnitude spectrograms {spec.bins} x {spec.frames} "
                            f"(n_fft {spec.n_fft}, hop {spec.hop})")
        self.train, self.test = clips_to_images(clips.train, spec), clips_to_images(clips.test, spec)
        for key in ("labels_train", "labels_test", "class_names", "n_classes"):
            if hasattr(clips, key):
                setattr(self, key, getattr(clips, key))
        self.has_truth = clips.has_truth
        mean, s = float(self.train.mean()), float(self.train.std())
        self.normaliser = Normaliser(np.full(self.shape, mean), np.full(self.shape, s if s > 1e-8 else 1.0))

    @property
    def length(self) -> int:
        """Samples per clip (not per image row)."""
        return self.spec.length

    def waveforms(self) -> AudioDataset:
        return self.clips

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return clips_to_images(self.clips.sample(n, rng), self.spec)

    def info(self) -> dict:
        d = {**self.clips.info(), **super().info(), "representation": "spectrogram",
             "spectrogram": self.spec.to_dict()}
        return d

    def plot(self, ax, x: np.ndarray, *, max_clips: int = 6, **kw):
        """A few images (N, 1, F, T) side by side (frequency up)."""
        return plot_spectrogram_images(ax, np.asarray(x)[:max_clips], self.sample_rate, self.spec.hop, **kw)


def represent(ds: AudioDataset, representation, n_fft, hop):
    """The dataset as asked: its clips ("waveform") or a `SpectrogramDataset` ("spectrogram")."""
    if check_representation(representation) == "waveform":
        if n_fft is not None or hop is not None:
            raise DifflabError("options n_fft and hop set a spectrogram; add representation: spectrogram")
        return ds
    spec = SpectrogramSpec(n_fft=DEFAULT_N_FFT if n_fft is None else _int("n_fft", n_fft, 4),
                           hop=DEFAULT_HOP if hop is None else _int("hop", hop, 2), length=ds.length)
    return SpectrogramDataset(ds, spec)


# -- reading WAV files ---------------------------------------------------------------------------------

def read_wav(path, rate: int | None = None, *, resample: bool = False) -> tuple[np.ndarray, int]:
    """(float64 samples (n,) in [-1, 1], sample rate) of a mono 16-bit PCM WAV file.

    `rate`: the rate the caller needs; a file at another rate is an error, or with `resample`
    is resampled to it (`resample_poly`). Any other problem (not a WAV file, not PCM, stereo,
    8- or 24-bit, no samples, fewer samples than the header says) is a DifflabError naming the file.
    """
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, native = w.getnchannels(), w.getsampwidth(), w.getframerate()
            n = w.getnframes()
            if w.getcomptype() != "NONE":
                raise DifflabError(f"{path}: compressed WAV ({w.getcompname()}); difflab reads 16-bit PCM only")
            data = w.readframes(n)
    except (wave.Error, RuntimeError, ValueError, struct.error, OverflowError) as e:   # a damaged header or chunk
        raise DifflabError(f"{path}: not a readable PCM WAV file ({e or type(e).__name__}); difflab reads mono "
                           f"16-bit PCM WAV") from None
    except EOFError:
        raise DifflabError(f"{path}: truncated WAV file (it ends inside its header)") from None
    except FileNotFoundError:
        raise DifflabError(f"{path}: no such file") from None
    except OSError as e:
        raise DifflabError(f"{path}: cannot be read ({e})") from None
    if channels != 1:
        raise DifflabError(f"{path}: {channels} channels; difflab reads mono WAV files (mix it down first)")
    if width != 2:
        raise DifflabError(f"{path}: {8 * width}-bit samples; difflab reads 16-bit PCM WAV files")
    if n == 0:
        raise DifflabError(f"{path}: the WAV file holds no samples")
    if len(data) != 2 * n:
        raise DifflabError(f"{path}: truncated WAV file: its header promises {n} samples, it holds {len(data) // 2}")
    x = np.frombuffer(data, dtype="<i2").astype(np.float64) / 32768.0
    if rate is not None and native != rate:
        if not resample:
            raise DifflabError(f"{path}: sample rate {native} Hz, expected {rate} Hz")
        x = resample_to(x, native, rate)
        native = rate
    return x, int(native)


def resample_to(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling of a 1D signal (scipy's anti-aliasing low-pass included)."""
    if rate_in == rate_out:
        return np.asarray(x, dtype=np.float64)
    g = math.gcd(int(rate_in), int(rate_out))
    return resample_poly(np.asarray(x, dtype=np.float64), rate_out // g, rate_in // g)


def write_wav(path, x: np.ndarray, rate: int) -> Path:
    """Write a clip (L,) or (1, L) in [-1, 1] (clipped) as a mono 16-bit PCM WAV file."""
    path = Path(path)
    x = np.clip(np.nan_to_num(np.asarray(x, dtype=np.float64).reshape(-1)), -1.0, 1.0)
    pcm = np.round(x * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(pcm.tobytes())
    return path


def fit_length(x: np.ndarray, length: int) -> np.ndarray:
    """A clip (n,) -> (length,): the centre `length` samples, or centred in zeros."""
    x = np.asarray(x)
    n = len(x)
    if n >= length:
        start = (n - length) // 2
        return x[start:start + length]
    out = np.zeros(length, dtype=x.dtype)
    start = (length - n) // 2
    out[start:start + n] = x
    return out


def prepare_clip(x: np.ndarray, length: int, peak: float | None) -> np.ndarray:
    """Remove the mean, scale to `peak` (when set and the clip is not silent), fit to `length`."""
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean()
    top = np.abs(x).max() if len(x) else 0.0
    if peak is not None and top > 1e-6:
        x = x * (peak / top)
    return np.clip(fit_length(x, length), -1.0, 1.0).astype(np.float32)


# -- options -----------------------------------------------------------------------------------------

def _int(name, value, low: int, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low:
        return int(value)
    raise DifflabError(f"option {name} must be an integer >= {low}{' (or None)' if allow_none else ''}, got {value!r}")


def _peak(value):
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1:
        return float(value)
    raise DifflabError(f"option peak must be a number in (0, 1] (or None to keep the recorded level), got {value!r}")


def _subset(n_avail: int, n: int | None, rng: np.random.Generator, what: str) -> np.ndarray:
    return seeded_subset(n_avail, n, rng, what, "clips")


# -- FSDD --------------------------------------------------------------------------------------------

def fsdd_files(folder: Path) -> list[Path]:
    """The FSDD-named WAV files in `folder`, sorted by name."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if FSDD_NAME.match(p.name) and p.is_file())


def find_fsdd(data_dir=None) -> tuple[Path | None, list[Path]]:
    """(the folder holding FSDD's recordings or None, the folders looked in)."""
    dirs = search_dirs("fsdd", data_dir)
    for d in dirs:
        for candidate in (d / "recordings", d):
            if fsdd_files(candidate):
                return candidate, dirs
    return None, dirs


def fsdd_split(files: list[Path]) -> dict:
    """{"train": [(path, digit, speaker)], "test": [...]} by the official rule (index < 5: test)."""
    split = {"train": [], "test": []}
    for p in files:
        digit, speaker, index = FSDD_NAME.match(p.name).groups()
        split["test" if int(index) < FSDD_TEST_INDEX else "train"].append((p, int(digit), speaker))
    return split


def _describe_fsdd() -> dict:
    folder, _ = find_fsdd(None)
    where = f"found in {folder}" if folder else f"not found here (see --data-dir; {FSDD_URL})"
    return {"name": "fsdd", "kind": "audio", "shape": [1, DEFAULT_LENGTH], "n_train": 2700, "n_test": 300,
            "truth_sampler": False, "exact_log_density": False,
            "description": f"spoken digits 0-9, {DEFAULT_RATE} Hz, {DEFAULT_LENGTH} samples; {where}"}


@register("fsdd", "Free Spoken Digit Dataset: spoken digits 0-9 as 1 s clips at 4 kHz", describe=_describe_fsdd)
def fsdd(n_train=None, n_test=None, seed=0, *, data_dir=None, sample_rate=DEFAULT_RATE, length=DEFAULT_LENGTH,
         peak=DEFAULT_PEAK, representation="waveform", n_fft=None, hop=None) -> Dataset:
    """The Free Spoken Digit Dataset from its WAV files, official split, label = the digit."""
    check_representation(representation)
    n_train, n_test = _int("n_train", n_train, 1, True), _int("n_test", n_test, 1, True)
    seed, rate, length = _int("seed", seed, 0), _int("sample_rate", sample_rate, 100), _int("length", length, 16)
    peak = _peak(peak)
    folder, dirs = find_fsdd(data_dir)
    if folder is None:
        looked = "\n  ".join(str(d) for d in dirs)
        raise DifflabError(f"the Free Spoken Digit Dataset was not found. Looked in (and in their recordings/):\n"
                           f"  {looked}\nGet it from {FSDD_URL} (the recordings/ folder of WAV files named "
                           f"digit_speaker_index.wav) and pass --data-dir DIR (dataset option data_dir), or put it "
                           f"in ~/.cache/difflab/fsdd")
    split = fsdd_split(fsdd_files(folder))
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)]
    arrays = {}
    for (part, items), n, rng in zip(split.items(), (n_train, n_test), rngs):
        if not items:
            raise DifflabError(f"{folder}: no FSDD {part} recordings (the {part} split is index "
                               f"{'5-49' if part == 'train' else '0-4'} of each digit and speaker)")
        items = [items[i] for i in _subset(len(items), n, rng, f"fsdd {part}")]
        clips = [prepare_clip(read_wav(p, FSDD_RATE)[0], length, peak) if rate == FSDD_RATE else
                 prepare_clip(resample_to(read_wav(p, FSDD_RATE)[0], FSDD_RATE, rate), length, peak)
                 for p, _, _ in items]
        arrays[part] = (np.stack(clips)[:, None], np.array([d for _, d, _ in items]),
                        sorted({s for _, _, s in items}))
    (xtr, ytr, spk), (xte, yte, _) = arrays["train"], arrays["test"]
    desc = (f"FSDD: {len(xtr)} train / {len(xte)} test spoken digits from {len(spk)} speakers, {rate} Hz, "
            f"{length} samples ({length / rate:.2f} s), from {folder}")
    return represent(AudioDataset("fsdd", desc, xtr, xte, rate, labels_train=ytr, labels_test=yte,
                                  class_names=[str(d) for d in range(10)], source=str(folder)),
                     representation, n_fft, hop)


# -- any folder of WAV files --------------------------------------------------------------------------

@register_prefix("wav", "every .wav file in a folder (mono 16-bit PCM), unlabelled, fitted to one length")
def wav_folder(folder, n_train=None, n_test=None, seed=0, *, sample_rate=None, length=DEFAULT_LENGTH,
               peak=DEFAULT_PEAK, test_share=0.1, representation="waveform", n_fft=None, hop=None) -> Dataset:
    """wav:FOLDER: the folder's WAV files, a seeded train/test split by file."""
    check_representation(representation)
    seed, length = _int("seed", seed, 0), _int("length", length, 16)
    rate = _int("sample_rate", sample_rate, 100, True)
    n_train, n_test, peak = _int("n_train", n_train, 1, True), _int("n_test", n_test, 1, True), _peak(peak)
    if isinstance(test_share, bool) or not isinstance(test_share, (int, float)) or not 0 < test_share < 1:
        raise DifflabError(f"option test_share must be a number in (0, 1), got {test_share!r}")
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise DifflabError(f"wav:{folder}: {path} is not a folder")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".wav" and p.is_file())
    if len(files) < 2:
        raise DifflabError(f"wav:{folder}: {path} holds {len(files)} .wav file(s); a train/test split needs at least 2")
    clips, resample = [], rate is not None
    for p in files:
        x, r = read_wav(p, rate, resample=resample)
        if rate is None:
            rate = r                                    # the first file sets the rate the others must share
        clips.append(prepare_clip(x, length, peak))
    x = np.stack(clips)[:, None]
    rng_split, rng_train, rng_test = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    order = rng_split.permutation(len(x))
    k = max(1, int(round(test_share * len(x))))
    test_idx, train_idx = np.sort(order[:k]), np.sort(order[k:])
    train_idx = train_idx[_subset(len(train_idx), n_train, rng_train, f"wav:{folder} train")]
    test_idx = test_idx[_subset(len(test_idx), n_test, rng_test, f"wav:{folder} test")]
    desc = (f"{len(train_idx)} train / {len(test_idx)} test clips from {path}, {rate} Hz, {length} samples "
            f"({length / rate:.2f} s)")
    return represent(AudioDataset(f"wav:{folder}", desc, x[train_idx], x[test_idx], rate, source=str(path)),
                     representation, n_fft, hop)


# -- synthetic tones and chirps -----------------------------------------------------------------------

def sample_tones(n: int, rng: np.random.Generator, length: int, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """n clips (n, 1, length) and their classes (n,): 0 a harmonic tone, 1 a rising and 2 a falling
    chirp (exponential sweep over 1-2 octaves). Fundamental 110-440 Hz (log-uniform), 2-5 harmonics
    with amplitudes k^-decay below Nyquist, a Hann envelope over 40-90% of the clip at a random
    position, peak 0.3-0.9."""
    t = np.arange(length) / rate
    x = np.zeros((n, length))
    kinds = rng.integers(0, 3, size=n)
    for i in range(n):
        f0 = float(np.exp(rng.uniform(np.log(110.0), np.log(440.0))))
        octaves = rng.uniform(1.0, 2.0) * (0 if kinds[i] == 0 else (1 if kinds[i] == 1 else -1))
        dur = rng.uniform(0.4, 0.9) * length / rate
        # instantaneous frequency f0 * 2^(octaves * t / dur); its integral is the phase
        k = octaves / dur
        phase = 2 * np.pi * f0 * (t if k == 0 else (2 ** (k * t) - 1) / (k * np.log(2)))
        decay, n_harm = rng.uniform(0.7, 1.5), int(rng.integers(2, 6))
        top = f0 * 2 ** max(octaves, 0.0)
        wave_ = sum(h ** -decay * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
                    for h in range(1, n_harm + 1) if h * top < 0.45 * rate)
        start = rng.uniform(0, length / rate - dur)
        inside = (t >= start) & (t < start + dur)
        env = np.where(inside, np.sin(np.pi * np.clip((t - start) / dur, 0, 1)) ** 2, 0.0)
        clip = wave_ * env
        x[i] = clip * (rng.uniform(0.3, 0.9) / max(np.abs(clip).max(), 1e-9))
    return x[:, None].astype(np.float32), kinds.astype(np.int64)


class TonesDataset(AudioDataset):
    """Synthetic tones and chirps whose truth sampler is known (see `sample_tones`)."""

    has_truth = True

    def __init__(self, n_train: int, n_test: int, seed: int, length: int, sample_rate: int):
        self._length = length
        train_rng, test_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
        xtr, ytr = sample_tones(n_train, train_rng, length, sample_rate)
        xte, yte = sample_tones(n_test, test_rng, length, sample_rate)
        desc = (f"synthetic harmonic tones and chirps: {n_train} train / {n_test} test clips, {sample_rate} Hz, "
                f"{length} samples")
        super().__init__("tones", desc, xtr, xte, sample_rate, labels_train=ytr, labels_test=yte,
                         class_names=TONE_CLASSES, source="synthetic")

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return sample_tones(int(n), rng, self._length, self.sample_rate)[0]


@register("tones", "synthetic harmonic tones and chirps (3 classes), 1D audio for tests",
          describe=lambda: {"name": "tones", "kind": "audio", "shape": [1, 1024], "n_train": 512, "n_test": 128,
                            "truth_sampler": True, "exact_log_density": False,
                            "description": "synthetic harmonic tones and chirps, 4000 Hz, 1024 samples, 3 classes"})
def tones(n_train=512, n_test=128, seed=0, *, length=1024, sample_rate=DEFAULT_RATE, representation="waveform",
          n_fft=None, hop=None) -> Dataset:
    """Harmonic tones and rising/falling chirps with random pitch, drawn from a seeded generator."""
    check_representation(representation)
    return represent(TonesDataset(_int("n_train", n_train, 1), _int("n_test", n_test, 1), _int("seed", seed, 0),
                                  _int("length", length, 16), _int("sample_rate", sample_rate, 100)),
                     representation, n_fft, hop)
