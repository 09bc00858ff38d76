"""Shared by the benchmark scripts: the machine's description and writing one BENCHMARKS.md section."""
from __future__ import annotations

import os
import platform
import re
import statistics
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{cpu}, {os.cpu_count()} cores, {gpu}; Python {platform.python_version()}, "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads")


def write_section(name: str, body: str, path: Path | None = None) -> Path:
    """Replace the text between <!-- name:start --> and <!-- name:end --> (appending it if absent)."""
    path = path or ROOT / "BENCHMARKS.md"
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmarks\n\nFigures written by the scripts in `benchmarks/`.\n"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
    return path


def load_note(start_load: float) -> str:
    """How busy the machine was: the 1-minute load average at the start and the end of a benchmark.
    Above the core count, other work shared the CPU and wall times are longer than on an idle machine."""
    return (f"1-minute load average {start_load:.1f} at the start and {os.getloadavg()[0]:.1f} at the end, on "
            f"{os.cpu_count()} cores")


# The two training regimes of the 2D benchmarks: the study's 2000-point training split, or every
# batch drawn fresh from the dataset's truth (`fresh_data`: the method without the limit of a
# finite training set).
REGIMES = {"split": {}, "fresh": {"fresh_data": True}}


def get_run(runs: Path, data: str, method: str, regime: str, steps: int | None = None):
    """(run, trained_now): runs/<data>-<method>-<regime>[-<steps>] when a finished run is there,
    else trained there now (seed 0, the defaults, the regime's data, `steps` when given)."""
    import difflab

    out = runs / (f"{data}-{method}-{regime}" + ("" if steps is None else f"-{steps}"))
    if (out / "model.safetensors").is_file():
        return difflab.load(out), False
    kw = {"steps": steps} if steps else {}
    return difflab.train(data, method=method, out=out, seed=0, progress=False, overwrite=True,
                         set=dict(REGIMES[regime]), **kw), True


def publish(name: str, body: str, *, quick: bool, json_path=None, raw=None) -> None:
    """The end of a benchmark: `raw` dumped to `json_path` when given, then the section printed
    (quick runs) or written to BENCHMARKS.md."""
    import json

    if json_path:
        Path(json_path).write_text(json.dumps(raw, indent=1))
    if quick:
        print(body)
    else:
        print(f"wrote {write_section(name, body)}")


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt(v: float) -> str:
    if v != v:
        return "n/a"
    if v == 0:
        return "0"
    if abs(v) < 1e-2 or abs(v) >= 1e4:
        return f"{v:.2e}"
    return f"{v:.3g}"


def train_within(name: str, minutes: float, probe_steps: int, out: Path, max_warmup: int = 200):
    """Train the preset <name> (difflab/configs/<name>.yaml) for about `minutes`: a probe measures
    seconds per step, the real run
    gets the steps that fit (so its cosine schedule ends on time) and max_minutes as the hard stop.
    Returns (run, seconds per probe step)."""
    import difflab

    config = name                                  # the preset shipped in difflab/configs/
    probe = difflab.train(name, config=config, out=out / "probe", steps=probe_steps, overwrite=True, progress=False)
    per_step = probe.train_seconds / probe.info["steps_done"]
    steps = max(probe_steps, int(0.92 * 60 * minutes / per_step))
    run = difflab.train(name, config=config, out=out / "run", steps=steps, overwrite=True, progress=False,
                        max_minutes=minutes, lr_warmup=min(max_warmup, max(1, steps // 10)))
    return run, per_step
