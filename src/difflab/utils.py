"""Small helpers shared by every part of the pipeline."""
from __future__ import annotations

import torch


def append_dims(v: torch.Tensor, ndim: int) -> torch.Tensor:
    """Broadcast a per-sample quantity over the remaining dimensions.

    `v` has shape (B,) (or is a scalar); the result has shape (B, 1, ..., 1) with `ndim`
    dimensions, so that the same code serves vectors (B, D), audio (B, C, L) and images
    (B, C, H, W).
    """
    v = torch.as_tensor(v)
    if v.ndim > ndim:
        raise ValueError(f"cannot broadcast a tensor of {v.ndim} dims to {ndim} dims")
    return v.reshape(v.shape + (1,) * (ndim - v.ndim))


def batch_times(t, x: torch.Tensor) -> torch.Tensor:
    """A time (scalar or (B,)) as a (B,) tensor on x's device, in float32."""
    t = torch.as_tensor(t, dtype=torch.float32, device=x.device)
    if t.ndim == 0:
        t = t.expand(x.shape[0])
    return t


def make_generator(seed: int | None, device="cpu") -> torch.Generator:
    """A torch.Generator seeded with `seed` (a fresh random seed when None)."""
    g = torch.Generator(device=device)
    if seed is None:
        g.seed()
    else:
        g.manual_seed(int(seed))
    return g


def randn(shape, generator: torch.Generator | None, device="cpu", dtype=torch.float32) -> torch.Tensor:
    """Standard normal draws from `generator` (on `device`)."""
    return torch.randn(shape, generator=generator, device=device, dtype=dtype)


def pick_device(name: str = "auto") -> torch.device:
    """`auto` is CUDA when present, else CPU; otherwise the named device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)

