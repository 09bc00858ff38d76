"""Class labels and classifier-free guidance: label dropout in training, a wrapped `denoise_fn` in sampling.

A class-conditional network takes labels y (B,) in 0..n_classes-1, with -1 meaning "no label"
(the null class). Training drops labels at random (`drop_labels`), so the one network learns both
the conditional and the unconditional eps. Every sampler calls `denoise_fn(x, t)`; a class-conditional run wraps its network so that call
becomes `guided_eps(net, x, t, y, w)` (Ho & Salimans 2022): eps_u + w (eps_c - eps_u), with
w = 1 plain conditional sampling, w > 1 sharper classes, w = 0 unconditional. No sampler changes.
Without labels a conditional network is asked for the null class, i.e. sampled unconditionally.
"""
from __future__ import annotations

import numbers

import numpy as np
import torch

from .errors import DifflabError


def drop_labels(y: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Classifier-free guidance training: each label becomes -1 (no label) with probability p."""
    drop = torch.rand(y.shape, generator=generator, device=y.device) < p
    return torch.where(drop, torch.full_like(y, -1), y)


def guided_eps(net, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor, scale: float) -> torch.Tensor:
    """Classifier-free guidance: eps_u + scale * (eps_c - eps_u), both from one batched call of
    net(x, t, y) (a network that takes labels, -1 for none).

    scale 0 is unconditional, 1 plainly conditional, > 1 sharper classes (Ho & Salimans 2022, w + 1).
    """
    if scale == 1.0:
        return net(x, t, y)
    eps = net(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, torch.full_like(y, -1)]))
    eps_c, eps_u = eps.chunk(2)
    return eps_u + scale * (eps_c - eps_u)


def prior_labels(train_labels, n: int, seed: int | None) -> list[int]:
    """n labels drawn with replacement from the training labels (seeded): with guidance 1 the
    samples are an unguided draw of p(x) = sum_y p(y) p(x | y), each class as often as in training.
    The null label instead samples the unconditional model, which label dropout trains on only its
    share of the batches (BENCHMARKS.md, images)."""
    if train_labels is None or len(train_labels) == 0:
        raise DifflabError("labels drawn from the training labels need a run trained on labelled data")
    return np.random.default_rng(seed).choice(np.asarray(train_labels, dtype=np.int64), size=n).tolist()


def resolve_labels(labels, n: int, n_classes: int | None, device) -> torch.Tensor | None:
    """`labels` (None, one int, or n ints in 0..n_classes-1) -> a (n,) long tensor or None."""
    if labels is None:
        return None
    if not n_classes:
        raise DifflabError("labels need a class-conditional run (train with --set class_conditional=true "
                           "on labelled data); this run is unconditional")
    if isinstance(labels, numbers.Integral) and not isinstance(labels, bool):
        y = np.full(n, int(labels), dtype=np.int64)
    else:
        y = np.asarray(labels)
        if y.ndim != 1 or (y.size and not np.issubdtype(y.dtype, np.integer)):
            raise DifflabError(f"labels must be one integer or a list of {n} integers, got {labels!r}")
        if len(y) != n:
            raise DifflabError(f"got {len(y)} labels for {n} samples; give one label, or one per sample")
        y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise DifflabError(f"labels must lie in 0..{n_classes - 1} (this run has {n_classes} classes), "
                           f"got {int(y.min())}..{int(y.max())}")
    return torch.as_tensor(y, device=device)


def check_guidance(guidance, y) -> float:
    """The guidance scale as a float (1.0 when None); guidance needs labels."""
    if guidance is None:
        return 1.0
    if y is None:
        raise DifflabError("guidance needs labels: pass labels (the classes to steer towards) with it")
    if isinstance(guidance, bool) or not isinstance(guidance, numbers.Real) or not np.isfinite(guidance) or guidance < 0:
        raise DifflabError(f"guidance must be a number >= 0 (1 = plain conditional), got {guidance!r}")
    return float(guidance)


def labelled_denoiser(net, y: torch.Tensor, guidance: float):
    """denoise_fn(x, t) -> guided eps_hat for the fixed labels y (one per sample of the batch)."""

    def denoise_fn(x, t):
        if x.shape[0] != y.shape[0]:
            raise DifflabError(f"the sampler passed a batch of {x.shape[0]} for {y.shape[0]} labels")
        return guided_eps(net, x, t, y, guidance)

    return denoise_fn
