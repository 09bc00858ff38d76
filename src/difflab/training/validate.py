"""The numeric training settings, checked in one place before anything is built or written.

Each rule names the setting and says what it must be, in one line. Infinities and NaN are
refused first; every rule is then a condition that must hold.
"""
from __future__ import annotations

import math

from ..config import Config
from ..errors import DifflabError, unknown_name
from .best import KEEP
from .budget import check_budget
from .logging import LOGGERS

SEED_LIMIT = 2**63 - 1    # torch generators take seeds below 2^64; the test loss seeds with seed + 1


def _number(cfg: Config, key: str) -> float:
    v = getattr(cfg, key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise DifflabError(f"{key} must be a number, got {v!r}")
    if not math.isfinite(v):
        raise DifflabError(f"{key} must be a finite number, got {v!r}")
    return v


def _integer(cfg: Config, key: str, low: int, high: int | None = None) -> None:
    v = getattr(cfg, key)
    if isinstance(v, bool) or not isinstance(v, int):
        raise DifflabError(f"{key} must be an integer, got {v!r}")
    if v < low or (high is not None and v > high):
        bound = f"at least {low}" if high is None else f"in [{low}, {high}]"
        raise DifflabError(f"{key} must be an integer {bound}, got {v}")


def _check(cfg: Config, key: str, holds, rule: str) -> None:
    """`key` must be a finite number for which `holds(value)` is true; `rule` says so in words."""
    v = _number(cfg, key)
    if not holds(v):
        raise DifflabError(f"{key} must be {rule}, got {v}")


def validate_training(cfg: Config) -> None:
    """Raise a one-line DifflabError naming the first numeric training setting that is out of range."""
    _check(cfg, "lr", lambda v: v > 0, "positive (the Adam learning rate)")
    _check(cfg, "lr_min_ratio", lambda v: 0 <= v <= 1, "in [0, 1] (the final learning rate as a fraction of lr)")
    _check(cfg, "weight_decay", lambda v: v >= 0, "zero or positive")
    _check(cfg, "grad_clip", lambda v: v >= 0, "zero (no clipping) or a positive gradient norm")
    _check(cfg, "ema_decay", lambda v: 0 <= v < 1, "in [0, 1)")
    _check(cfg, "label_dropout", lambda v: 0 <= v < 1, "in [0, 1)")
    if cfg.keep not in KEEP:
        raise unknown_name("keep", cfg.keep, KEEP)
    _integer(cfg, "steps", 1)
    _integer(cfg, "batch_size", 1)
    _integer(cfg, "lr_warmup", 0)
    _integer(cfg, "checkpoint_every", 1)
    _integer(cfg, "threads", 0)
    _integer(cfg, "n_noise", 1)
    _integer(cfg, "seed", 0, SEED_LIMIT - 1)
    _integer(cfg, "data_seed", 0, SEED_LIMIT - 1)
    for key in ("max_minutes", "train_minutes"):
        if getattr(cfg, key) is not None:
            _check(cfg, key, lambda v: v > 0, "positive (or null for no limit)")
    check_budget(cfg)
    if cfg.test_loss_points is not None:
        _integer(cfg, "test_loss_points", 1)
    if cfg.log not in ("", *LOGGERS):
        raise unknown_name("logger", cfg.log, LOGGERS)
    _integer(cfg, "log_every", 1)
    _integer(cfg, "log_pictures_every", 0)
