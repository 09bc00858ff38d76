"""Audio runs (clips (N, 1, L) in [-1, 1]): WAV files beside the samples, waveform and
spectrogram pictures, FD in classifier features, SNR for denoising.

- `finish`: samples are clipped to [-1, 1], the range a 16-bit WAV file can hold.
- `difflab sample --out s.npy` also writes `s_wav/sample_0000.wav`, ... (16-bit PCM at the run's
  sample rate, stored in the run folder's `config.json` under dataset.sample_rate).
- `--plot` writes `s_waveforms.png` and `s_spectrograms.png` (real test clips beside generated
  ones) and `s_reverse.png`, a column of waveforms along the reverse process.
- `difflab evaluate`: `eval.audio.evaluate_audio` (FD in the features of difflab's own audio
  classifier beside its train-vs-test floor, the label histogram and confident share).
- `difflab denoise --input`: a .wav file, a folder of .wav files, or an .npy (N, 1, L); a WAV at
  another rate is resampled to the run's rate and every clip is fitted to the run's length
  (centre cut or centred in silence), as the datasets do. The report is the SNR in dB,
  10 log10(|clean|^2 / |x - clean|^2) per clip, of the noisy and restored clips and their gain.

A run trained on spectrograms (data option `representation: spectrogram`; its config.json holds
dataset.representation and dataset.spectrogram, the STFT and scaling) samples images; `finish`
turns them into clips by Griffin-Lim (spectrogram.py), so everything above (WAV files, pictures,
the classifier's metrics, `evaluate` on the .npy) works on clips (N, 1, L) as for waveform runs.
Its `denoise` (`restore`) is not the waveform one: white noise on a clip is not Gaussian noise
on a log magnitude, and the model knows no phase. So the noisy clip's STFT is split into a
log-magnitude image and its phase; the image is denoised by the run as if it held Gaussian
noise of the standard deviation that the same sigma causes on the run's own training clips
(`image_noise_std`: measured, RMS over pixels; an approximation, SDEdit-like, since the real
perturbation is larger in quiet bins and biased upward), and the restored magnitude is put back
with the noisy phase (inverse STFT). Its SNR is bounded by that phase; BENCHMARKS.md compares it
with the Wiener filter.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ...errors import DifflabError
from ...arrays import load_points_file
from ...kind import Kind, plot_split_panels, register_kind, sampler_name
from .datasets import fit_length, read_wav, resample_to, write_wav
from .spectrogram import SpectrogramSpec, images_to_clips, split_clips, with_phase
from .metrics import evaluate_audio, format_audio_metrics
from .pictures import plot_audio_reverse as draw_audio_reverse
from .pictures import plot_spectrograms_vs_reference, plot_waveforms_vs_reference


def wav_folder(out: Path) -> Path:
    """Where the WAV files of `out` (.npy) go: <out stem>_wav/ beside it."""
    out = Path(out)
    return out.with_name(out.stem + "_wav")


def run_rate(run) -> int:
    rate = run.info["dataset"].get("sample_rate")
    if not rate:
        raise DifflabError(f"{run.path}: its config.json has no dataset.sample_rate; is it an audio run?")
    return int(rate)


def run_spectrogram(run) -> SpectrogramSpec | None:
    """The STFT a spectrogram run's images were made with (config.json dataset.spectrogram), or
    None for a waveform run."""
    info = run.info["dataset"]
    if info.get("representation", "waveform") != "spectrogram":
        return None
    return SpectrogramSpec.from_dict(info.get("spectrogram"), where=f"{run.path / 'config.json'} dataset.spectrogram")


CALIBRATION_CLIPS = 64          # training clips on which a spectrogram run measures the noise of an image


def image_noise_std(run, spec: SpectrogramSpec, sigma: float, seed: int = 0) -> float:
    """The RMS change (the images' units) that white noise of std `sigma` (clip units) makes to
    the spectrogram images of up to CALIBRATION_CLIPS of the run's training clips (seeded)."""
    clips = run.dataset.waveforms().train
    clips = clips[np.unique(np.linspace(0, len(clips) - 1, min(CALIBRATION_CLIPS, len(clips))).astype(int))]
    rng = np.random.default_rng(seed)
    noisy = clips + sigma * rng.standard_normal(clips.shape)
    return float(np.sqrt(np.mean((split_clips(noisy, spec)[0] - split_clips(clips, spec)[0]) ** 2)))


def snr_db(clean: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Signal-to-noise ratio per clip (N,), in dB: 10 log10(sum clean^2 / sum (other - clean)^2)."""
    clean = np.asarray(clean, np.float64).reshape(len(clean), -1)
    err = np.asarray(other, np.float64).reshape(len(clean), -1) - clean
    return 10 * np.log10(np.maximum((clean ** 2).sum(1), 1e-20) / np.maximum((err ** 2).sum(1), 1e-20))


def write_clips(samples: np.ndarray, folder: Path, rate: int) -> Path:
    """Clips (N, 1, L) -> folder/sample_0000.wav, ... (old sample_*.wav files there are removed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("sample_*.wav"):
        old.unlink()
    for i, clip in enumerate(np.asarray(samples)):
        write_wav(folder / f"sample_{i:04d}.wav", clip, rate)
    return folder


def read_clips(path, shape, rate: int) -> np.ndarray:
    """A .wav file, a folder of .wav files or an .npy (N, 1, L) -> clips (N, 1, L) float32."""
    path = Path(path)
    length = int(shape[-1])
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".wav" and p.is_file())
        if not files:
            raise DifflabError(f"{path}: the folder holds no .wav files")
    elif path.suffix.lower() == ".wav":
        files = [path]
    elif path.suffix.lower() == ".npy":
        x = np.asarray(load_points_file(path, "audio clips"), dtype=np.float32)
        if x.ndim == 2 and (1,) + x.shape[1:] == tuple(shape):
            x = x[:, None]
        if tuple(x.shape[1:]) != tuple(shape):
            raise DifflabError(f"{path}: clips of shape {x.shape}; this run's audio has shape "
                               f"(N, {', '.join(map(str, shape))})")
        return x
    else:
        raise DifflabError(f"{path}: give a .wav file, a folder of .wav files, or an .npy of clips "
                           f"(N, {', '.join(map(str, shape))})")
    clips = []
    for f in files:
        x, native = read_wav(f)
        if native != rate:
            print(f"difflab: {f} is at {native} Hz; resampled to the run's {rate} Hz", file=sys.stderr)
            x = resample_to(x, native, rate)
        if len(x) > length:
            print(f"difflab: {f} holds {len(x)} samples; its centre {length} are used", file=sys.stderr)
        clips.append(fit_length(x, length).astype(np.float32))
    return np.stack(clips)[:, None]


@register_kind
class AudioKind(Kind):
    name = "audio"
    data_range = (-1.0, 1.0)      # what a 16-bit WAV file can hold
    denoises = True

    def finish(self, run, samples: np.ndarray) -> np.ndarray:
        """Clips clipped to [-1, 1]; a spectrogram run's images are first inverted (Griffin-Lim)."""
        spec = run_spectrogram(run)
        if spec is not None and tuple(np.shape(samples)[1:]) == spec.shape:
            samples = images_to_clips(samples, spec)
        return np.clip(samples, *self.data_range)

    def clip_default(self, run) -> bool:
        """Spectrogram runs keep x0_hat in [-1, 1] (their images' range, silence .. loud) at every
        step, as image runs do: without it a short CPU run drew a third of its clips silent and
        others too loud (BENCHMARKS.md, audio). Waveform runs do not (the old behaviour)."""
        return run_spectrogram(run) is not None

    def sample_shape(self, run) -> tuple:
        spec = run_spectrogram(run)
        return tuple(run.shape) if spec is None else (1, spec.length)

    def extra_outputs(self, out: Path) -> list[Path]:
        return [wav_folder(out)]

    def write_outputs(self, run, samples: np.ndarray, out: Path, labels=None) -> list[Path]:
        return [write_clips(samples, wav_folder(out), run_rate(run))]

    def plot_split(self, ds, path) -> Path:
        return plot_split_panels(ds, path)

    def plot_samples(self, run, samples: np.ndarray, prefix, label: str | None = None) -> list[Path]:
        ds, rate = run.dataset, run_rate(run)
        name = label or f"{ds.name} / {run.config.method}"
        test = ds.waveforms().test
        real = test[np.unique(np.linspace(0, len(test) - 1, 6).astype(int))]   # spread over the split (FSDD: digits)
        return [plot_waveforms_vs_reference(samples, real, f"{prefix}_waveforms.png", rate,
                                            title=f"{name}: real test clips beside generated ones"),
                plot_spectrograms_vs_reference(samples, real, f"{prefix}_spectrograms.png", rate,
                                               title=f"{name}: spectrograms, real beside generated")]

    def plot_reverse(self, run, prefix, n: int = 3, seed: int = 0, snapshots=None, **sample_kw) -> list[Path]:
        """<prefix>.png: the reverse process of at most three clips (columns = clips, rows = times)."""
        n = min(n, 3)                            # three clips keep the picture readable
        if sample_kw.get("labels") is not None and not isinstance(sample_kw["labels"], int):
            sample_kw["labels"] = list(sample_kw["labels"])[:n]
        snaps = snapshots if snapshots is not None else run.reverse_snapshots(n, seed=seed, **sample_kw)
        snaps = [(t, self.finish(run, np.asarray(x)[:n])) for t, x in snaps]   # spectrogram runs: as clips
        title = (f"{run.dataset_name} / {run.config.method}: reverse process ({sampler_name(run, sample_kw)}), "
                 "noise (top) to clip (bottom)")
        return [Path(draw_audio_reverse(snaps, f"{prefix}.png", run_rate(run), title, n_clips=n))]

    def evaluate(self, samples, dataset, rng, n_pairs: int = 10, floors: dict | None = None) -> dict:
        return evaluate_audio(samples, dataset.waveforms(), rng, n_pairs=n_pairs, floors=floors)

    def format_result(self, result: dict) -> str:
        return format_audio_metrics(result)

    def read_input(self, path, run, noisy: bool = False) -> np.ndarray:
        return read_clips(path, self.sample_shape(run), run_rate(run))

    def restore(self, run, noisy: np.ndarray, sigma: float, denoise_fn, **kw) -> np.ndarray:
        """Waveform runs: `denoise_fn` on the clips. Spectrogram runs: the log magnitude denoised
        at the image noise level that sigma causes (`image_noise_std`), the noisy phase kept."""
        spec = run_spectrogram(run)
        if spec is None:
            return denoise_fn(run, noisy, sigma, **kw)
        images, phase = split_clips(noisy, spec)
        restored = denoise_fn(run, images, image_noise_std(run, spec, sigma, kw.get("seed", 0)), **kw)
        return with_phase(restored, phase, spec)

    def denoise_report(self, clean, noisy, restored) -> str:
        before, after = snr_db(clean, noisy), snr_db(clean, restored)
        return (f"SNR: noisy {before.mean():.2f} dB -> restored {after.mean():.2f} dB "
                f"(gain {(after - before).mean():+.2f} dB, mean over {len(clean)} clips)")

