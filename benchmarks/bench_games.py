"""Issue 5's game-state targets: tic-tac-toe and Connect Four positions from the presets
src/difflab/configs/tictactoe-gaussian.yaml and connect4-gaussian.yaml (the Gaussian recipes; the games' own
presets are masked diffusion now, bench_masked_games.py), trained on this machine, then measured.

For each game: training time; samples from the preset's sampler decoded to integer boards (by
rounding, or by the largest channel for a one-hot preset; nothing is filtered), with their
legal share (target for tic-tac-toe: at least 95%), the share of each broken rule, the share of
legal boards that are new (not in the training set) beside the truth's own share at the same
size, the distinct share, and the move-count distance (total variation) beside its floor (two
truth draws of the same size); and the reconstruction accuracy of noisy test boards (share of
boards and of cells restored exactly) at several noise levels, by the posterior mean and by the
reverse process, beside simply rounding the noisy board. Writes the `games` section of
BENCHMARKS.md and benchmarks/figures/games.png (generated boards with illegal ones framed red,
and move counts against the truth).

    python benchmarks/bench_games.py            # full: about 13 minutes on 1 thread of a busy machine
    python benchmarks/bench_games.py --quick    # about a minute: tiny runs and counts; prints only
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine, write_section  # noqa: E402

import difflab  # noqa: E402
from difflab.denoise import add_noise, denoise  # noqa: E402
from difflab.kinds.board.boards import decode, move_counts  # noqa: E402
from difflab.kinds.board.metrics import board_floors, evaluate_boards, reconstruction  # noqa: E402
from difflab.kinds.board.spec import get_game  # noqa: E402
from difflab.viz._figure import new_figure, save  # noqa: E402
from difflab.kinds.board.pictures import draw_boards, draw_move_counts  # noqa: E402

GAMES = ["tictactoe", "connect4"]
TARGET_LEGAL = 0.95               # issue 5
SIGMAS = [0.2, 0.4, 0.6, 0.8]
FULL = dict(steps=None, n_samples={"tictactoe": 5000, "connect4": 2000}, n_pairs=100, n_denoise=500, reverse_steps=100)
QUICK = dict(steps=200, n_samples={"tictactoe": 300, "connect4": 200}, n_pairs=10, n_denoise=50, reverse_steps=20)


def bench_game(name: str, settings: dict, out: Path, seed: int = 0) -> dict:
    config = f"{name}-gaussian"                    # the Gaussian preset shipped in difflab/configs/
    run = difflab.train(name, config=config, out=out / name, steps=settings["steps"], overwrite=True, progress=False)
    ds, game = run.dataset, get_game(name)
    n = settings["n_samples"][name]
    res = run.sample_with_info(n, seed=seed + 1)
    rng = np.random.default_rng(seed)
    floors = board_floors(ds, n, rng, settings["n_pairs"])
    metrics = evaluate_boards(res.samples, ds, rng, floors=floors)
    clean = ds.test[:settings["n_denoise"]]
    rows = []
    for sigma in SIGMAS:
        noisy = add_noise(clean, sigma, seed)
        row = {"sigma": sigma}
        for mode in ("posterior-mean", "reverse"):
            kw = {"steps": settings["reverse_steps"]} if mode == "reverse" else {}
            restored = denoise(run, noisy, sigma, mode=mode, seed=seed, **kw)
            r = reconstruction(clean, noisy, restored)
            row[mode], row["rounded"] = r["restored"], r["rounded_noisy"]
        rows.append(row)
    return {"name": name, "run": run, "game": game, "samples": res.samples, "metrics": metrics,
            "train_seconds": run.train_seconds, "steps": run.info["steps_done"], "sample_seconds": res.seconds,
            "sampler": f"{res.sampler}, {res.steps} steps", "denoise": rows, "truth": decode(ds.sample(n, rng))}


def figure(results, path: Path) -> Path:
    fig = new_figure(12.0, 4.2 * len(results))
    axes = np.atleast_2d(fig.subplots(len(results), 2, gridspec_kw={"width_ratios": [1.2, 1]}))
    for (ax_b, ax_h), r in zip(axes, results):
        legal = r["game"].legal(r["samples"])
        k = 25 if r["name"] == "connect4" else 36
        draw_boards(ax_b, r["samples"], r["name"], max_boards=k, illegal=~legal[:k])
        ax_b.set_title(f"{r['name']}: first {k} generated boards ({r['metrics']['legal_share']:.1%} of "
                       f"{len(legal)} legal; illegal framed red)", fontsize=10)
        draw_move_counts(ax_h, move_counts(r["samples"]), move_counts(r["truth"]), r["game"].n_cells,
                         f"{r['name']}: moves played, samples vs truth (TV {r['metrics']['moves_tv']:.3f})")
    return save(fig, path)


def pct(v: float) -> str:
    return "n/a" if v != v else f"{100 * v:.1f}%"


def report(results, quick: bool, total: float) -> str:
    lines = ["| game | train | sampler | legal | illegal (main reasons) | new among legal (truth) | distinct (truth) "
             "| move-count TV (floor median / p95) |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        m, f = r["metrics"], r["metrics"]["floors"]
        reasons = ", ".join(f"{k} {pct(v)}" for k, v in sorted(m["illegal_reasons"].items(), key=lambda kv: -kv[1])
                            if v > 0)[:80] or "none"
        lines.append(f"| {r['name']} | {r['steps']} steps, {r['train_seconds']:.0f} s | {r['sampler']} ({r['sample_seconds']:.1f} s "
                     f"for {m['n']}) | **{pct(m['legal_share'])}** | {reasons} | {pct(m['new_share'])} "
                     f"({pct(f['new_share']['median'])}) | {pct(m['distinct_share'])} ({pct(f['distinct_share']['median'])}) "
                     f"| {m['moves_tv']:.3f} ({f['moves_tv']['median']:.3f} / {f['moves_tv']['p95']:.3f}) |")
    lines += ["", "Reconstruction of noisy test boards: share of boards (cells) restored exactly.", "",
              "| game | sigma | rounding the noisy board | posterior mean | reverse (ddpm) |", "|---|---|---|---|---|"]
    for r in results:
        for row in r["denoise"]:
            cell = lambda d: f"{pct(d['boards'])} ({pct(d['cells'])})"  # noqa: E731
            lines.append(f"| {r['name']} | {row['sigma']:g} | {cell(row['rounded'])} | {cell(row['posterior-mean'])} "
                         f"| {cell(row['reverse'])} |")
    ttt = [r for r in results if r["name"] == "tictactoe"]
    if ttt:
        share = ttt[0]["metrics"]["legal_share"]
        lines += ["", f"Target (tic-tac-toe: at least {TARGET_LEGAL:.0%} of generated boards legal): "
                  + ("met" if share >= TARGET_LEGAL else "NOT met") + f" ({pct(share)})."]
    lines += ["", f"Total {total / 60:.1f} min{' (quick mode)' if quick else ''}."]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny runs and counts; print only")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--figure", default=None, help="with --quick: also draw the figure to this PNG")
    parser.add_argument("--note", default="", help="a sentence added under the table (e.g. how busy the machine was)")
    a = parser.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    settings = QUICK if a.quick else FULL
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        results = [bench_game(name, settings, Path(tmp)) for name in GAMES]
        fig_path = Path(a.figure or Path(tmp) / "games.png") if a.quick else ROOT / "benchmarks" / "figures" / "games.png"
        figure(results, fig_path)
        text = report(results, a.quick, time.perf_counter() - start)
        print(text)
        if a.quick:
            print(f"(quick mode: BENCHMARKS.md untouched; figure drawn to {fig_path if a.figure else 'a temporary folder'})")
            return
    body = ("## Game states (issue 5)\n\n"
            f"`python benchmarks/bench_games.py` on {machine()}. Presets `src/difflab/configs/tictactoe-gaussian.yaml` and "
            "`src/difflab/configs/connect4-gaussian.yaml`; every sample decoded to an integer board (rounding each value to -1, 0 or 1, or "
            "the largest of a one-hot cell's three channels, as the preset's encoding says), none filtered. Legal = reachable in "
            "play (see `difflab.kinds.board`); new = legal and not in the training set, beside the same share for "
            "truth samples of the same size; move-count TV: the median over 5 fresh truth draws of the same size, "
            f"beside the same median for truth draws ({settings['n_pairs']} draws, each against 5 others).\n\n" + text + "\n\n![generated boards and move counts](benchmarks/figures/games.png)\n"
            + (f"\n{a.note}\n" if a.note else ""))
    print(f"wrote {write_section('games', body)}")


if __name__ == "__main__":
    main()
