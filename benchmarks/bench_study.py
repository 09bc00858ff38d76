"""The main job's time: `difflab run` (four study runs, their samples, metrics, pictures and the report)
end to end in a fresh process, as a user starts it. Issue 2 asks for under 5 minutes on a 2-core CPU.

Reports the median wall time of several runs, the CPU time of the child process (user + system,
all threads) and the machine's load average, since other work on the machine stretches wall time.
Writes the `study` section of BENCHMARKS.md.

    python benchmarks/bench_study.py              # 3 runs (~12 min)
    python benchmarks/bench_study.py --repeats 1
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import load_note, machine, median, write_section  # noqa: E402


def timed_study(out: Path) -> tuple[float, float]:
    """(wall s, CPU s) of `difflab run --out OUT` in a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "difflab", "run", "--out", str(out)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    start_load = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="difflab-bench-study-"))
    results = []
    for i in range(a.repeats):
        results.append(timed_study(tmp / f"study-{i}"))
        print(f"run {i}: {results[-1][0]:.1f} s wall, {results[-1][1]:.1f} s CPU", flush=True)
    report = tmp / "study-0" / "report.md"
    pngs = sorted(p.name for p in (tmp / "study-0").rglob("*.png"))
    gifs = sorted(p.name for p in (tmp / "study-0").rglob("*.gif"))
    lines = ["## The main job: `difflab run` (issue 2)", "",
             f"Machine: {machine()}.  ",
             f"Command: `python benchmarks/bench_study.py --repeats {a.repeats}` ({time.strftime('%Y-%m-%d')}; "
             f"{load_note(start_load)}).", "",
             f"`difflab run` in a fresh process, {a.repeats} time(s): median wall time "
             f"**{median([w for w, _ in results]):.0f} s** (target: under 300 s), median CPU time "
             f"{median([c for _, c in results]):.0f} s over all threads. Per run (wall / CPU s): "
             + ", ".join(f"{w:.0f} / {c:.0f}" for w, c in results) + ".", "",
             f"It writes {len(pngs)} PNG pictures, {len(gifs)} GIFs and the report "
             f"({'present' if report.is_file() else 'MISSING'}) for the four runs."]
    print(f"wrote {write_section('study', chr(10).join(lines))}")


if __name__ == "__main__":
    main()
