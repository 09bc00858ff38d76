"""Objectives: per-sample losses (B,) for training."""
from ..errors import unknown_name
from .losses import OBJECTIVES, dsm_loss, eps_loss


def get_objective(name: str):
    if name not in OBJECTIVES:
        raise unknown_name("objective", name, OBJECTIVES)
    return OBJECTIVES[name]


__all__ = ["eps_loss", "dsm_loss", "OBJECTIVES", "get_objective"]
