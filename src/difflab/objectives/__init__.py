"""Objectives: per-sample losses (B,) for training."""
from ..errors import unknown_name
from .losses import OBJECTIVES as GAUSSIAN_OBJECTIVES, dsm_loss, eps_loss
from .masked import masked_elbo_objective

OBJECTIVES = {**GAUSSIAN_OBJECTIVES, "masked-elbo": masked_elbo_objective}   # name -> per-sample loss


def get_objective(name: str):
    if name not in OBJECTIVES:
        raise unknown_name("objective", name, OBJECTIVES)
    return OBJECTIVES[name]


__all__ = ["eps_loss", "dsm_loss", "masked_elbo_objective", "OBJECTIVES", "get_objective"]
