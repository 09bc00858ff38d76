"""Keeping the sampler's data estimate inside the data's range, as a wrapped `denoise_fn`.

Pixels live in a box ([0, 1], i.e. [-1, 1] after normalisation). At high noise x0_hat =
(x_t - sigma eps_hat) / alpha divides the network's error by a small alpha and lands far outside
the box, and the samplers carry that error down (whole images saturate to black or white). DDPM's
own sampler clips x0_hat to [-1, 1] at every step (`clip_denoised`); DPM-Solver++ calls the same
step thresholding. Here it is done once for every sampler: the wrapper returns the eps that
matches the clipped estimate, eps' = (x_t - alpha clip(x0_hat)) / sigma, so any sampler that
recovers x0_hat from eps sees the clipped one. No sampler changes.
"""
from __future__ import annotations

import numpy as np
import torch


def data_box(normaliser, low: float = 0.0, high: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The raw range [low, high] in normalised units, per pixel (float32 tensors of one sample's shape)."""
    lo = normaliser.normalise(np.full(np.shape(normaliser.shift), low, dtype=np.float64))
    hi = normaliser.normalise(np.full(np.shape(normaliser.shift), high, dtype=np.float64))
    return torch.as_tensor(np.minimum(lo, hi), dtype=torch.float32), torch.as_tensor(np.maximum(lo, hi), dtype=torch.float32)


def clipped_denoiser(denoise_fn, process, lo: torch.Tensor, hi: torch.Tensor):
    """denoise_fn(x, t) whose implied x0_hat is clipped to [lo, hi] (broadcast over the batch)."""

    def fn(x, t):
        eps = denoise_fn(x, t)
        x0 = process.x0_from_eps(x, t, eps)
        box_lo, box_hi = lo.to(x.device, x.dtype), hi.to(x.device, x.dtype)
        return process.eps_from_x0(x, t, torch.maximum(torch.minimum(x0, box_hi), box_lo))

    return fn
