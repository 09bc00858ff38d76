"""Audio as a time-frequency image: the log-magnitude STFT of a clip and Griffin-Lim back.

A clip (L,) at rate r becomes an image (F, T) with F = n_fft / 2 frequency bins (0 .. r/2 minus
one bin: the Nyquist bin is dropped, so F is a power of two; resampled audio has next to no
energy there) and T = L / hop frames. Frame k is the Hann-windowed (periodic) stretch of
n_fft samples centred on sample hop * k + hop / 2, the clip zero-padded by (n_fft - hop) / 2 on
both sides, so T * hop = L exactly. Defaults at 4 kHz and 4096 samples: n_fft 128 (32 ms),
hop 64 (16 ms, 50% overlap) -> 64 x 64, the size of a small image UNet; bins 31.25 Hz apart.

The value of each pixel is the log magnitude mapped with fixed constants to about [-1, 1]:

    v = 2 (ln(|X| + EPS) - ln EPS) / (LOG_TOP - ln EPS) - 1

EPS = 0.01 (-69 dB below a full-scale sine's peak bin, |X| = 0.9 * n_fft / 4 ~ 29 at n_fft 128:
quieter bins are silence to the ear) gives -1 for silence; LOG_TOP = ln 32 gives +1 near the
loudest bins. The constants do not depend on the data, and `SpectrogramSpec.to_dict()` (stored
in a run's config.json under dataset.spectrogram) holds everything `invert` needs.

Inversion (`griffin_lim`): magnitude only, so the phase is estimated: the fast Griffin-Lim of
Perraudin et al. 2013 (alternate projections between the STFTs with the wanted magnitude and
the STFTs of real signals, with momentum 0.99), GL_ITERATIONS iterations from a seeded random
phase (the same for every call: deterministic). `split_clips` and `with_phase` are the other use:
a denoised magnitude with the noisy clip's own phase (see kind.py's `restore`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import DifflabError

REPRESENTATIONS = ("waveform", "spectrogram")
DEFAULT_N_FFT = 128             # 32 ms at 4 kHz -> 64 bins; see the module docstring
DEFAULT_HOP = 64                # 50% overlap -> 64 frames for 4096 samples
EPS = 0.01                      # magnitude floor inside the log (silence maps to -1)
LOG_TOP = math.log(32.0)        # ln |X| that maps to +1 (the loudest bins of speech at peak 0.9)
IMAGE_TOP = 1.5                 # images are clamped to [-1, IMAGE_TOP] before inversion (|X| up to ~250)
GL_ITERATIONS = 64              # fast Griffin-Lim iterations (a 64 x 64 image: ~5 ms per clip on a CPU core)
GL_MOMENTUM = 0.99
GL_SEED = 0                     # the random initial phase is drawn from this seed: inversion is deterministic


@dataclass(frozen=True)
class SpectrogramSpec:
    """The STFT of a clip of `length` samples and the fixed log scaling; see the module docstring."""

    n_fft: int = DEFAULT_N_FFT
    hop: int = DEFAULT_HOP
    length: int = 4096
    eps: float = EPS
    log_top: float = LOG_TOP
    iterations: int = GL_ITERATIONS

    def __post_init__(self):
        for name in ("n_fft", "hop", "length", "iterations"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise DifflabError(f"spectrogram option {name} must be a positive integer, got {v!r}")
        if self.n_fft % 2 or self.n_fft < 4:
            raise DifflabError(f"spectrogram option n_fft must be an even integer >= 4, got {self.n_fft}")
        if not 2 <= self.hop <= self.n_fft or (self.n_fft - self.hop) % 2:
            raise DifflabError(f"spectrogram option hop must lie in [2, n_fft] with n_fft - hop even, got hop "
                               f"{self.hop} for n_fft {self.n_fft}")
        if self.length % self.hop:
            raise DifflabError(f"the clip length {self.length} is not a multiple of the hop {self.hop}; choose a "
                               f"length (data option length) or hop that divides it")
        if not (0 < self.eps and math.log(self.eps) < self.log_top):
            raise DifflabError(f"spectrogram scaling needs eps > 0 and ln(eps) < log_top, got {self.eps}, {self.log_top}")

    @property
    def bins(self) -> int:
        return self.n_fft // 2

    @property
    def frames(self) -> int:
        return self.length // self.hop

    @property
    def shape(self) -> tuple[int, int, int]:
        """One image: (1, bins, frames)."""
        return (1, self.bins, self.frames)

    def to_dict(self) -> dict:
        return {k: (int(v) if isinstance(v, (int, np.integer)) else float(v)) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d, where: str = "spectrogram") -> "SpectrogramSpec":
        if not isinstance(d, dict) or set(d) != set(cls.__dataclass_fields__):
            raise DifflabError(f"{where} is damaged: it must hold {sorted(cls.__dataclass_fields__)}, got {str(d)[:80]}")
        return cls(**d)


def check_representation(name) -> str:
    if name not in REPRESENTATIONS:
        raise DifflabError(f"option representation must be one of {', '.join(REPRESENTATIONS)}, got {name!r}")
    return name


def _window(spec: SpectrogramSpec, dtype=torch.float64) -> torch.Tensor:
    return torch.hann_window(spec.n_fft, periodic=True, dtype=dtype)


def _pad(spec: SpectrogramSpec) -> int:
    return (spec.n_fft - spec.hop) // 2


def stft(x: torch.Tensor, spec: SpectrogramSpec) -> torch.Tensor:
    """Clips (B, L) -> complex STFT (B, bins, frames) (see the module docstring for the frames)."""
    if x.shape[-1] != spec.length:
        raise DifflabError(f"clips of {x.shape[-1]} samples; this spectrogram is for {spec.length}")
    padded = F.pad(x, (_pad(spec), _pad(spec)))
    frames = padded.unfold(-1, spec.n_fft, spec.hop) * _window(spec, x.dtype)        # (B, T, n_fft)
    return torch.fft.rfft(frames)[..., :spec.bins].transpose(1, 2)


def istft(z: torch.Tensor, spec: SpectrogramSpec) -> torch.Tensor:
    """Complex STFT (B, bins, frames) -> clips (B, L): windowed overlap-add, divided by the sum
    of squared windows (the least-squares inverse; exact for an STFT of a real clip whose
    Nyquist bin is 0)."""
    b = z.shape[0]
    full = torch.cat([z, torch.zeros_like(z[:, :1])], dim=1).transpose(1, 2)         # (B, T, n_fft/2 + 1)
    w = _window(spec, z.real.dtype)
    frames = torch.fft.irfft(full, n=spec.n_fft) * w                                  # (B, T, n_fft)
    size = spec.length + 2 * _pad(spec)
    y = F.fold(frames.transpose(1, 2), (1, size), (1, spec.n_fft), stride=(1, spec.hop)).reshape(b, size)
    wsum = F.fold((w ** 2).expand(1, spec.frames, -1).transpose(1, 2), (1, size), (1, spec.n_fft),
                  stride=(1, spec.hop)).reshape(1, size)
    return (y / wsum.clamp_min(1e-8))[:, _pad(spec):_pad(spec) + spec.length]


def to_image(magnitude: torch.Tensor, spec: SpectrogramSpec) -> torch.Tensor:
    lo = math.log(spec.eps)
    return 2 * (torch.log(magnitude + spec.eps) - lo) / (spec.log_top - lo) - 1


def to_magnitude(image: torch.Tensor, spec: SpectrogramSpec) -> torch.Tensor:
    """The inverse of `to_image`, for images first clamped to [-1, IMAGE_TOP] (and NaN to -1):
    a sample far outside the data (an untrained model, a noisy snapshot) stays finite."""
    lo = math.log(spec.eps)
    image = torch.nan_to_num(image, nan=-1.0).clamp(-1.0, IMAGE_TOP)
    return (torch.exp(lo + (image + 1) * (spec.log_top - lo) / 2) - spec.eps).clamp_min(0)


def clips_to_images(x, spec: SpectrogramSpec, batch: int = 512) -> np.ndarray:
    """Clips (N, 1, L) -> float32 images (N, 1, bins, frames) of scaled log magnitude."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    out = [to_image(stft(torch.as_tensor(x[i:i + batch]), spec).abs(), spec).float().numpy()
           for i in range(0, len(x), batch)]
    return (np.concatenate(out) if out else np.zeros((0, spec.bins, spec.frames), np.float32))[:, None]


def initial_phase(shape, seed: int = GL_SEED) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.exp(2j * math.pi * torch.rand(shape, generator=g, dtype=torch.float64))


def griffin_lim(magnitude: torch.Tensor, spec: SpectrogramSpec, iterations: int | None = None,
                seed: int = GL_SEED) -> torch.Tensor:
    """Magnitudes (B, bins, frames) -> clips (B, L) whose STFT magnitude is close to them (fast
    Griffin-Lim, momentum GL_MOMENTUM, from a seeded random phase)."""
    mag = magnitude.to(torch.float64)
    angles = initial_phase(mag.shape, seed)
    previous = torch.zeros_like(angles)
    for _ in range(spec.iterations if iterations is None else iterations):
        rebuilt = stft(istft(mag * angles, spec), spec)
        accelerated = rebuilt - GL_MOMENTUM / (1 + GL_MOMENTUM) * previous
        previous = rebuilt
        angles = accelerated / accelerated.abs().clamp_min(1e-16)
    return istft(mag * angles, spec)


def images_to_clips(images, spec: SpectrogramSpec, batch: int = 256, iterations: int | None = None) -> np.ndarray:
    """Images (N, 1, bins, frames) of scaled log magnitude -> float32 clips (N, 1, L) by Griffin-Lim
    (not clipped: the kind clips to [-1, 1])."""
    x = np.asarray(images, dtype=np.float64)
    if x.ndim != 4 or x.shape[1:] != spec.shape:
        raise DifflabError(f"spectrograms of shape {x.shape}; expected (N, {', '.join(map(str, spec.shape))})")
    out = [griffin_lim(to_magnitude(torch.as_tensor(x[i:i + batch, 0]), spec), spec, iterations).float().numpy()
           for i in range(0, len(x), batch)]
    return (np.concatenate(out) if out else np.zeros((0, spec.length), np.float32))[:, None]


def split_clips(x, spec: SpectrogramSpec) -> tuple[np.ndarray, torch.Tensor]:
    """Clips (N, 1, L) -> (images (N, 1, bins, frames), phases (N, bins, frames) as unit complex numbers)."""
    z = stft(torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(len(x), -1)), spec)
    mag = z.abs()
    phase = torch.where(mag > 0, z / mag.clamp_min(1e-300), torch.ones_like(z))
    return to_image(mag, spec).float().numpy()[:, None], phase


def with_phase(images, phase: torch.Tensor, spec: SpectrogramSpec) -> np.ndarray:
    """Images (N, 1, bins, frames) and unit phases (N, bins, frames) -> clips (N, 1, L)."""
    mag = to_magnitude(torch.as_tensor(np.asarray(images, dtype=np.float64)[:, 0]), spec)
    return istft(mag * phase, spec).float().numpy()[:, None]


def spectral_convergence(clips, reference, spec: SpectrogramSpec) -> np.ndarray:
    """|| |STFT(x)| - |STFT(ref)| ||_F / || |STFT(ref)| ||_F per clip (N,): 0 for the same magnitudes."""
    a = stft(torch.as_tensor(np.asarray(clips, np.float64).reshape(len(clips), -1)), spec).abs()
    b = stft(torch.as_tensor(np.asarray(reference, np.float64).reshape(len(reference), -1)), spec).abs()
    return ((a - b).flatten(1).norm(dim=1) / b.flatten(1).norm(dim=1).clamp_min(1e-12)).numpy()
