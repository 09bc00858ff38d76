"""Image runs (N, C, H, W) in [0, 1]: an image grid beside the samples, samples beside real test
images, the reverse process as a grid of snapshots and a GIF, classifier-feature metrics, PSNR
for denoising.

- Every sampler keeps x0_hat inside [0, 1] at each step (DDPM's `clip_denoised`, see
  clipping.py) and the samples come back clipped to [0, 1].
- `difflab sample --out s.npy` also writes `s.png`, a grid of the samples (one column per class
  when the labels cycle through classes).
- `difflab denoise --input` reads an .npy (N, C, H, W) or a picture file (kinds/image/io.py) and
  writes a strip clean / noisy / restored beside its .npy; the report is the PSNR.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ...denoise import psnr
from ...kind import Kind, log_ratios, plot_split_panels, register_kind, sampler_name
from .io import load_images
from .metrics import FLOOR_DRAWS, evaluate_images, format_image_metrics
from .pictures import plot_image_grid, plot_image_rows, plot_images_vs_reference, plot_reverse_grid, save_reverse_gif


@register_kind
class ImageKind(Kind):
    name = "image"
    data_range = (0.0, 1.0)
    clip_by_default = True
    denoises = True

    def extra_outputs(self, out: Path) -> list[Path]:
        return [Path(out).with_suffix(".png")]

    def write_outputs(self, run, samples: np.ndarray, out: Path, labels=None) -> list[Path]:
        """<out>.png: one grid of the samples (one column per class when a label list cycles
        through 2 to 16 classes)."""
        ncols = None
        if labels is not None and not isinstance(labels, int) and 2 <= len(set(labels)) <= 16:
            ncols = len(set(labels))
        title = f"{run.dataset_name} / {run.config.method}: {len(samples)} samples"
        return [Path(plot_image_grid(samples, self.extra_outputs(out)[0], title, ncols=ncols))]

    def plot_split(self, ds, path) -> Path:
        return plot_split_panels(ds, path)

    def plot_samples(self, run, samples: np.ndarray, prefix, label: str | None = None) -> list[Path]:
        """<prefix>_vs_test.png: a grid of samples beside a grid of real test images."""
        name = label or f"{run.dataset_name} / {run.config.method}"
        return [Path(plot_images_vs_reference(samples, run.dataset.test, f"{prefix}_vs_test.png",
                                              title=f"{name}: samples beside real test images"))]

    def plot_reverse(self, run, prefix, n: int = 8, seed: int = 0, snapshots=None, **sample_kw) -> list[Path]:
        """<prefix>.png (rows = samples, columns = times) and <prefix>.gif, of at most 16 images."""
        snaps = snapshots if snapshots is not None else run.reverse_snapshots(min(n, 16), seed=seed, **sample_kw)
        title = f"{run.dataset_name} / {run.config.method}: reverse process ({sampler_name(run, sample_kw)})"
        return [Path(plot_reverse_grid(snaps, f"{prefix}.png", title, log_ratios=log_ratios(run, snaps))),
                Path(save_reverse_gif(snaps, f"{prefix}.gif", title))]

    def evaluate(self, samples, dataset, rng, n_pairs: int = 10, floors: dict | None = None) -> dict:
        # an image floor takes at least FLOOR_DRAWS pairs, whatever the caller's default for cheaper kinds
        return evaluate_images(samples, dataset, rng, n_pairs=max(n_pairs, FLOOR_DRAWS), floors=floors)

    def format_result(self, result: dict) -> str:
        return format_image_metrics(result)

    def read_input(self, path, run, noisy: bool = False) -> np.ndarray:
        return load_images(path, run.shape, clean=not noisy)

    def denoise_report(self, clean, noisy, restored) -> str:
        return f"PSNR: noisy {psnr(clean, noisy).mean():.2f} dB -> restored {psnr(clean, restored).mean():.2f} dB"

    def write_denoised(self, run, rows, out: Path, title: str) -> list[Path]:
        """<out>.png: a strip of labelled rows clean / noisy / restored."""
        return [Path(plot_image_rows(rows, self.extra_outputs(out)[0], title))]
