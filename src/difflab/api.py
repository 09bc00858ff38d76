"""The small public Python API: `difflab.train(...)`, `difflab.load(run_dir)`."""
from __future__ import annotations

from pathlib import Path

from .config import load_yaml, make_config
from .run import Run, load
from .training import train as _train_loop
from .training.resume import check_data


def train(data: str | None = None, method: str | None = None, out="runs/run", *, steps: int | None = None,
          seed: int | None = None, config: str | Path | None = None, overwrite: bool = False,
          resume: bool = False, progress: bool = True, **overrides) -> Run:
    """Train a model and return the loaded run (data "pinwheel" and method "ddpm" unless given).

    With `resume=True` the run in `out` continues with its saved settings; settings given with
    it must match them (all but `steps`, which may grow).

    `overrides` are config fields (`batch_size=512`) or dotted keys given as a dict
    (`set={"process.beta_end": 0.01}`). Example::

        run = difflab.train("pinwheel", method="dsm", out="runs/pw-dsm", steps=2000, seed=1)
        x = run.sample(5000, sampler="ddim", steps=50, seed=1)
    """
    sets = [f"{k}={v}" for k, v in (overrides.pop("set", None) or {}).items()]
    base = load_yaml(config) if config else {}
    repeated = bool(method or config or sets or seed is not None or overrides)
    cfg = None
    if not resume or repeated:
        cfg = make_config(base, sets, data=data, method=method, steps=steps, seed=seed, **overrides)
    elif data is not None:
        check_data(Path(out), data)
    path = _train_loop(cfg, out, resume=resume, overwrite=overwrite, progress=progress,
                       steps=steps if resume else None)
    return load(path)


__all__ = ["train", "load", "Run"]
