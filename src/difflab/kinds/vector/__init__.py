"""Vector data: points in R^d. The 2D toys and Gaussians know their truth (fresh samples and,
where it exists, the exact log-density); a user's .npy / .csv / .npz is split into train and test."""
from ...kind import Kind, register_kind
from . import toy, user


@register_kind
class VectorKind(Kind):
    """Plain vectors: the base behaviour of `Kind` as it is."""


__all__ = ["VectorKind", "toy", "user"]
