"""Which settings a resumed run trains with, and where it starts.

`--resume` trains with the settings saved in the run's config.json. A command may repeat the
original settings (the same `difflab train ...` line with `--resume` added); they must then
match the saved ones, all but `steps`, which may grow. A run killed before its first checkpoint
has a config.json and no checkpoint: it starts again from step 0.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..config import FIELDS, Config
from ..errors import DifflabError
from ..files import load_json
from .checkpoint import CHECKPOINT


def saved_config(run_dir: Path) -> Config:
    """The Config saved in `run_dir`/config.json, or a one-line DifflabError."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise DifflabError(f"cannot resume: {run_dir} is not a difflab run folder (no config.json)")
    info = load_json(path)
    if not isinstance(info, dict) or not isinstance(info.get("config"), dict):
        raise DifflabError(f"cannot resume: {path} holds no run settings (no \"config\" mapping)")
    unknown = sorted(set(info["config"]) - FIELDS)
    if unknown:
        raise DifflabError(f"cannot resume: {path} has settings this version does not know: {', '.join(unknown)}")
    return Config(**info["config"])


def check_data(run_dir: Path, data: str) -> None:
    """A resume that names only the data (`difflab train DATA --out RUN --resume`) must name the saved data."""
    saved = saved_config(run_dir).data
    if saved != data:
        raise DifflabError(f"cannot --resume {run_dir}: it trains on {saved!r}, not {data!r}")


def first_difference(saved: Config, given: Config) -> str | None:
    """The first setting, other than steps, in which `given` differs from `saved`, or None."""
    a, b = saved.to_dict(), given.to_dict()
    for key in a:
        if key != "steps" and json.dumps(a[key], sort_keys=True) != json.dumps(b.get(key), sort_keys=True):
            return key
    return None


def resume_config(run_dir: Path, given: Config | None, steps: int | None) -> Config:
    """The saved settings, checked against `given` when the command repeated them; `steps` may raise
    the number of steps."""
    cfg = saved_config(run_dir)
    if given is not None:
        key = first_difference(cfg, given)
        if key is not None:
            raise DifflabError(f"cannot --resume {run_dir}: setting {key} differs from the saved run "
                               f"(saved {getattr(cfg, key)!r}, given {getattr(given, key)!r}); only --steps may change")
    if steps is not None:
        cfg.steps = steps
    return cfg


def saved_plan(run_dir: Path) -> dict | None:
    """How train_minutes planned the run's steps (config.json's "plan", budget.py), or None."""
    info = load_json(Path(run_dir) / "config.json")
    plan = info.get("plan") if isinstance(info, dict) else None
    return plan if isinstance(plan, dict) else None


def killed_before_first_checkpoint(run_dir: Path) -> bool:
    """A run folder with config.json, no checkpoint and no final model: its first call never got
    as far as a checkpoint, so there is nothing to lose by starting it again from step 0."""
    return not (run_dir / CHECKPOINT).exists() and not (run_dir / "model.safetensors").exists()


def finished_at(run_dir: Path) -> int | None:
    """The step count a completed call recorded in config.json, or None."""
    try:
        info = load_json(run_dir / "config.json")
    except DifflabError:
        return None
    return info.get("steps_done") if isinstance(info, dict) and (run_dir / "model.safetensors").exists() else None
