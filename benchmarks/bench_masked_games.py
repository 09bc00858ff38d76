"""Issue 16's targets for masked (absorbing-state) diffusion on board games, standalone: a residual
MLP on one-hot cells (or the cell transformer: `--set net=transformer width=64 batch=128`) trained
on the MDLM ELBO with its own short loop, sampled by unmasking, measured.

Boards (cells -1, 0, 1) become classes 0, 1, 2 (the value mod 3: empty, first player, second
player; class 3 is the mask). Per game: training (AdamW, cosine learning-rate decay, EMA; at most
STEPS steps and BUDGET_S = 10 minutes, the decay ending at whichever comes first; one thread); then

- samples: `n_samples` boards (5000; Connect Four 2000) unmasked in `steps` = cells steps (one
  cell per step), in random and in confidence order, and in random order followed by 2 Gibbs
  corrector rounds per cell (`sample_masked`'s corrector_rounds), nothing filtered: legal share
  (target: tic-tac-toe >= 99.5%, Connect Four >= 95%), the broken rules, the share of new boards
  among the legal ones beside the truth's at the same size, and the move-count TV beside its
  floor (`difflab.kinds.board.metrics.evaluate_boards`);
- the NLL bound (`masked_nll_bound`, the MDLM ELBO summed over the number of masked cells, averaged
  over `nll_repeats` random maskings; nats per board and bits per cell) on the training set, the
  test set (Connect Four: the first 1000 boards of each) and, for tic-tac-toe, all 5,478
  positions. The exact entropies beside them: tic-tac-toe's truth is uniform over the 5,478
  reachable positions (H = ln 5478 = 8.6085 nats) and its training distribution uniform over the
  4,382 positions of the seeded training split (ln 4382 = 8.3853 nats); the bound on all 5,478 is
  the model's cross-entropy to the truth, >= ln 5478.

One recipe for both games (`RECIPE`); only the data differ.

    python benchmarks/bench_masked_games.py                       # both games, about 35 minutes on 1 thread of a busy machine
    python benchmarks/bench_masked_games.py --games tictactoe --quick   # a minute: tiny run, small counts
"""
from __future__ import annotations

import argparse
import copy
import functools
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_section  # noqa: E402

from difflab.data import get_dataset  # noqa: E402
from difflab.kinds.board.boards import CHANNEL_VALUES, decode  # noqa: E402
from difflab.kinds.board.metrics import board_floors, evaluate_boards, format_board_metrics  # noqa: E402
from difflab.kinds.board.spec import game_for_cells, get_game  # noqa: E402
from difflab.nets.cellconv import CellConv  # noqa: E402
from difflab.nets.cellmlp import CellMLP  # noqa: E402
from difflab.nets.transformer import Transformer  # noqa: E402
from difflab.objectives.masked import masked_elbo_count_loss, masked_elbo_loss, masked_nll_bound  # noqa: E402
from difflab.processes.masked import MaskedProcess  # noqa: E402
from difflab.samplers.masked import sample_masked  # noqa: E402
from difflab.training.batches import random_symmetry  # noqa: E402

K = 3                                       # classes per cell: empty, first player, second player
TARGETS = {"tictactoe": 0.995, "connect4": 0.95}   # legal share, issue 16
RECIPE = dict(
    net="cellmlp",                             # "cellmlp" (residual MLP on one-hot cells), "cellconv" (residual conv
                                               # net over the board's grid) or "transformer" (cells as tokens)
    width=256, depth=4, heads=4, mlp_ratio=4,  # cellmlp and cellconv use width and depth (cellmlp 256 x 4: 0.28 M
                                               # parameters on 9 cells); the transformer all four (the previous
                                               # recipe: width 64, batch 128)
    time="none",                               # no time input: absorbing state needs none
    schedule="linear",                         # alpha(t) = 1 - t
    loss="count",                              # the ELBO's estimator: "time" (MDLM's t-form) or "count" (same mean, lower variance)
    batch=256,                                 # boards per step
    lr=2e-3, warmup=200,                       # AdamW peak learning rate, linear warm-up steps
    weight_decay=0.0,
    ema=0.999,                                 # EMA decay of the weights that are sampled and measured
    grad_clip=1.0,                             # the 1/t weight of the ELBO makes rare large gradients
    data="split",                              # "split": batches from the training split; "fresh": every batch drawn
                                               # new from the game's truth sampler (keyed by the step, like the
                                               # config's fresh_data), its generation inside the time budget
    n_train=0,                                 # boards in the training split (0: the dataset's default, 10,000 for
                                               # Connect Four); generated before the clock starts
    compile=0,                                 # 1: torch.compile the network for training (needs a C++ compiler on a
                                               # CPU; the compilation counts in the budget)
    pool="mean",                               # cellconv's whole-board term: "mean" or "meanmax" (KataGo's mean and max)
    lines=0,                                   # cellconv: L > 0 adds the input's lines of L cells to its stem (4 on Connect Four)
    act="silu",                                # cellconv's activation: "silu" or "relu"
    line_width=0,                              # cellconv: features per line (0: width)
    symmetries=0,                              # 1: each training board rearranged by a random symmetry of its game
                                               # (the dataset option `symmetries`: tic-tac-toe's 8, Connect Four's mirror)
)
LOSSES = {"time": masked_elbo_loss, "count": masked_elbo_count_loss,
          "count-sqrt": functools.partial(masked_elbo_count_loss, count_power=0.5)}   # more draws with few cells masked
STEPS = {"tictactoe": 10**6, "connect4": 10**6}  # training steps at most: the BUDGET_S seconds end training first
BUDGET_S = 600                                   # issue 16: at most 10 minutes of training
FULL = dict(n_samples={"tictactoe": 5000, "connect4": 2000}, n_pairs=100, nll_repeats={"tictactoe": 8, "connect4": 2},
            nll_boards={"tictactoe": None, "connect4": 1000})   # boards per set in the NLL bound (None: all)
QUICK = dict(n_samples={"tictactoe": 500, "connect4": 200}, n_pairs=10, nll_repeats={"tictactoe": 2, "connect4": 2},
             nll_boards={"tictactoe": None, "connect4": 200})


def classes_of(boards) -> torch.Tensor:
    """Boards (N, cells) with values -1, 0, 1 (encoded or not) -> int64 classes 0, 1, 2."""
    return torch.from_numpy(decode(boards).astype(np.int64) % 3)


def boards_of(classes: torch.Tensor) -> np.ndarray:
    """Classes 0, 1, 2 -> int8 boards with values 0, 1, -1."""
    return CHANNEL_VALUES[classes.numpy()]


def fresh_classes(ds, n: int, seed: int, step: int) -> torch.Tensor:
    """n new truth boards for step `step` as classes; the generator is keyed by (seed, step) as
    difflab.training.setup.fresh_batch keys it."""
    return classes_of(ds.sample(n, np.random.default_rng([seed, step, 0xF4E5])))


def train(x0: torch.Tensor, steps: int, budget_s: float, seed: int, recipe=RECIPE, ds=None):
    """Train a network on the ELBO of x0 (N, cells), or with recipe data "fresh" on new draws from
    `ds`'s truth; the game of x0's boards (by their number of cells) gives cellconv its grid and the
    symmetries their permutations. Returns (EMA network, steps done, seconds, losses)."""
    if recipe.get("data", "split") not in ("split", "fresh"):
        raise SystemExit(f"recipe data must be split or fresh, got {recipe['data']!r}")
    fresh = recipe.get("data", "split") == "fresh" and steps > 0
    torch.manual_seed(seed)
    game = game_for_cells(x0.shape[1])
    proc = MaskedProcess(K, recipe["schedule"])
    if recipe.get("net", "transformer") == "cellmlp":
        net = CellMLP((x0.shape[1],), K, width=recipe["width"], depth=recipe["depth"], time=recipe["time"])
    elif recipe["net"] == "cellconv":
        net = CellConv((x0.shape[1],), K, width=recipe["width"], depth=recipe["depth"], grid=(game.rows, game.cols),
                       time=recipe["time"], pool=recipe.get("pool", "mean"), lines=recipe.get("lines", 0),
                       line_width=recipe.get("line_width") or None, act=recipe.get("act", "silu"))
    else:
        net = Transformer((x0.shape[1],), K, width=recipe["width"], depth=recipe["depth"], heads=recipe["heads"],
                          mlp_ratio=recipe["mlp_ratio"], time=recipe["time"])
    ema = copy.deepcopy(net).requires_grad_(False)
    model = torch.compile(net, dynamic=False) if recipe.get("compile") and steps > 0 else net   # shares net's weights
    opt = torch.optim.AdamW(net.parameters(), lr=recipe["lr"], betas=(0.9, 0.99), weight_decay=recipe["weight_decay"])
    g = torch.Generator().manual_seed(seed)
    symmetries = torch.from_numpy(game.symmetries) if recipe.get("symmetries") and steps > 0 else None
    losses, start, step = [], time.perf_counter(), 0
    while step < steps and time.perf_counter() - start < budget_s:
        # learning rate: linear warm-up, then cosine decay to 0 at `steps` or at the end of the
        # wall-clock budget, whichever comes first (so a slow machine still ends the decay)
        progress = min(1.0, max(step / steps, (time.perf_counter() - start) / budget_s))
        w = min(1.0, (step + 1) / recipe["warmup"]) * 0.5 * (1 + math.cos(math.pi * progress))
        for group in opt.param_groups:
            group["lr"] = recipe["lr"] * w
        batch = (fresh_classes(ds, recipe["batch"], seed, step) if fresh
                 else x0[torch.randint(len(x0), (recipe["batch"],), generator=g)])
        if symmetries is not None:
            batch = random_symmetry(batch, symmetries, g)
        loss = LOSSES[recipe["loss"]](model, proc, batch, generator=g).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), recipe["grad_clip"])
        opt.step()
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), net.parameters()):
                p_ema.lerp_(p, 1 - recipe["ema"])
        losses.append(loss.item())
        step += 1
    return ema.eval(), proc, step, time.perf_counter() - start, losses


@torch.no_grad()
def nll_bound(net, proc, x0: torch.Tensor, repeats: int, seed: int, chunk: int = 4096) -> tuple[float, float]:
    """Mean NLL bound in nats per board over x0, and its standard error over the random maskings."""
    g = torch.Generator().manual_seed(seed)
    per_board = torch.stack([torch.cat([masked_nll_bound(net, proc, x0[i:i + chunk], generator=g)
                                        for i in range(0, len(x0), chunk)]) for _ in range(repeats)])
    draws = per_board.mean(1)                                  # (repeats,) each an unbiased estimate
    se = float(draws.std() / math.sqrt(repeats)) if repeats > 1 else float("nan")
    return float(draws.mean()), se


SAMPLINGS = (("random", 0), ("confidence", 0), ("random", 2), ("confidence", 2))   # (order, corrector rounds per cell)


def bench_game(name: str, settings: dict, steps: int, budget_s: float, seed: int = 0, save=None, load=None,
               more_rounds=(), temperature: float = 1.0) -> dict:
    """Train (or load) and measure one game; `more_rounds`: further Gibbs rounds per cell tried in
    confidence order after the four SAMPLINGS; `temperature`: the sampler's (1: the model itself)."""
    t0 = time.perf_counter()
    ds = get_dataset(name, **({"n_train": RECIPE["n_train"]} if RECIPE["n_train"] else {}))
    data_seconds = time.perf_counter() - t0
    game = get_game(name)
    x_train = classes_of(ds.train)
    load_start = os.getloadavg()[0]
    if load:                                                   # a network saved by an earlier --save
        saved = torch.load(load)
        net, proc, done, seconds, losses = train(x_train, 0, budget_s, seed, saved["recipe"])
        net.load_state_dict(saved["state"])
        done, seconds, losses = saved["steps"], saved["seconds"], saved["losses"]
        load_start = saved.get("load_start", load_start)          # the load when that network was trained
    else:
        net, proc, done, seconds, losses = train(x_train, steps, budget_s, seed, ds=ds)
    if save:
        torch.save({"recipe": RECIPE, "state": net.state_dict(), "steps": done, "seconds": seconds, "losses": losses,
                    "load_start": load_start}, save)
    out = {"game": name, "seed": seed, "cells": game.n_cells, "n_train": len(x_train), "data_seconds": data_seconds,
           "data": RECIPE["data"], "steps": done, "train_seconds": seconds,
           "budget_s": budget_s, "load_start": load_start, "load_after_training": os.getloadavg()[0],
           "final_loss_nats": float(np.mean(losses[-500:])), "samplings": {}}
    # samples: unmasking one cell per step in either order, then optionally Gibbs corrector rounds
    n = settings["n_samples"][name]
    rng = np.random.default_rng(seed)
    floors = board_floors(ds, n, rng, settings["n_pairs"])
    for order, per_cell in SAMPLINGS + tuple(("confidence", r) for r in more_rounds):
        g = torch.Generator().manual_seed(seed + 1)
        t0 = time.perf_counter()
        rounds = per_cell * game.n_cells
        x = sample_masked(net, proc, proc.prior_sample((n, game.n_cells)), proc.default_times(game.n_cells),
                          generator=g, order=order, corrector_rounds=rounds, temperature=temperature)
        m = evaluate_boards(boards_of(x), ds, rng, floors=floors)
        m["sample_seconds"], m["nfe"] = time.perf_counter() - t0, game.n_cells + rounds
        m.pop("move_hist")
        key = (f"{order} order, {game.n_cells} steps" + (f" + {rounds} corrector rounds" if rounds else "")
               + (f", temperature {temperature:g}" if temperature != 1 else ""))
        out["samplings"][key] = m
        print(f"[{name}, {key}]\n" + format_board_metrics(m), flush=True)
    # the NLL bound, in nats per board and bits per cell, beside the exact entropies
    sets = {"train": x_train, "test": classes_of(ds.test)}
    if name == "tictactoe":
        sets["all 5478 (truth)"] = classes_of(ds.positions)
        out["entropy_truth_nats"] = math.log(len(ds.positions))
        out["entropy_train_nats"] = math.log(len(np.unique(decode(ds.train), axis=0)))
    out["nll"] = {}
    for key, x0 in sets.items():
        x0 = x0[:settings["nll_boards"][name]]
        mean, se = nll_bound(net, proc, x0, settings["nll_repeats"][name], seed + 2)
        out["nll"][key] = {"boards": len(x0), "nats": mean, "se": se, "bits_per_cell": mean / (game.n_cells * math.log(2))}
    return out


def report(r: dict) -> str:
    lines = [f"{r['game']}: {r['steps']} steps in {r['train_seconds']:.0f} s (final training loss "
             f"{r['final_loss_nats']:.3f} nats/board)"]
    for key, m in r["samplings"].items():
        f = m["floors"]
        lines.append(f"  {key} (NFE {m['nfe']}): legal {m['legal_share']:.2%} (target {TARGETS[r['game']]:.1%}); new among "
                     f"legal {m['new_share']:.1%} (truth {f['new_share']['median']:.1%}); move-count TV {m['moves_tv']:.4f} "
                     f"(floor median {f['moves_tv']['median']:.4f}, p95 {f['moves_tv']['p95']:.4f}); "
                     + (f"first to move {m['to_move_share']:.1%} (|diff| {m['to_move_diff']:.4f}, floor p95 "
                        f"{f['to_move_diff']['p95']:.4f}); " if "to_move_diff" in f else "") +
                     f"{m['sample_seconds']:.1f} s for {m['n']}")
    for key, v in r["nll"].items():
        lines.append(f"  NLL bound on {key} ({v['boards']} boards): {v['nats']:.4f} +- {v['se']:.4f} nats/board ({v['bits_per_cell']:.4f} bits/cell)")
    if "entropy_truth_nats" in r:
        lines.append(f"  exact entropies: truth (uniform over 5478) {r['entropy_truth_nats']:.4f} nats; "
                     f"training set (uniform over {r['n_train']}) {r['entropy_train_nats']:.4f} nats")
    return "\n".join(lines)


def _recipe_words(recipe: dict) -> str:
    net = f"{recipe.get('net', 'transformer')} {recipe['width']}x{recipe['depth']}"
    if recipe.get("pool", "mean") != "mean":
        net += f" ({recipe['pool']} pooling)"
    if recipe.get("act", "silu") != "silu":
        net += f", {recipe['act']}"
    if recipe.get("lines"):
        net += f", lines of {recipe['lines']}" + (f" ({recipe['line_width']} wide)" if recipe.get("line_width") else "")
    sym = (", symmetries" if recipe.get("symmetries") else "") + (", compiled" if recipe.get("compile") else "")
    wd = f", weight decay {recipe['weight_decay']:g}" if recipe.get("weight_decay") else ""
    data = (", fresh truth batches" if recipe.get("data", "split") == "fresh"
            else f", {recipe['n_train']} training boards" if recipe.get("n_train") else "")
    return f"{net}, batch {recipe['batch']}, lr {recipe['lr']:g}, EMA {recipe['ema']:g}{wd}{data}{sym}"


def _nll_key(r: dict) -> str:
    return "all 5478 (truth)" if "all 5478 (truth)" in r["nll"] else "test"


def publish_section(runs: list[dict], restore: list[dict] = (), notes: str = "") -> None:
    """The "Games: masked diffusion" section of BENCHMARKS.md from the JSON of runs of this script:
    the runs at the full 10-minute budget in full, every run in the ablation table, the restoration
    table (JSON of --restore) and `notes` (markdown) after them."""
    full = [run for run in runs if all(r.get("budget_s", BUDGET_S) >= BUDGET_S for r in run["results"])]
    lines = ["## Games: masked diffusion", "",
             "`python benchmarks/bench_masked_games.py --games GAME --json F` (then `--publish F ...` writes this "
             f"section) on {machine().rsplit(',', 1)[0]}, one torch thread, with other work on the machine (the "
             "1-minute load average on 2 cores is given with each run: above 2, this run had less than a core): "
             "training stops at the 10-minute budget (or at `--budget` seconds in the ablations), the cosine "
             "learning-rate decay ending there. Legal and new-among-legal as in the Games section; the move-count TV "
             "and the first-to-move difference are medians over 5 fresh truth draws of the same n, beside the p95 "
             "of the same median for truth boards (100 truth draws, each against 5 others); nothing filtered; the NLL bound is the masked ELBO in nats "
             "per board (bits per cell), averaged over random maskings (+- its standard error over them).", ""]
    if full:
        lines += ["Runs at the full budget:", "",
                  "| game | recipe | steps (s) | load | sampling | NFE | n | legal (target) | new among legal (truth) | move-count TV (floor p95) | first to move: share, abs. difference (floor p95) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for run in full:
            for r in run["results"]:
                for key, m in r["samplings"].items():
                    f = m["floors"]
                    load = f"{r['load_start']:.1f}" if "load_start" in r else "?"
                    lines.append(f"| {r['game']} | {_recipe_words(run['recipe'])} | {r['steps']} ({r['train_seconds']:.0f}) | "
                                 f"{load} | {key} | {m['nfe']} | {m['n']} | {m['legal_share']:.2%} ({TARGETS[r['game']]:.1%}) | "
                                 f"{m['new_share']:.1%} ({f['new_share']['median']:.1%}) | {m['moves_tv']:.4f} ({f['moves_tv']['p95']:.4f}) | "
                                 + (f"{m['to_move_share']:.1%}, {m['to_move_diff']:.4f} ({f['to_move_diff']['p95']:.4f}) |"
                                    if "to_move_diff" in f else "- |"))
        lines += ["", "| game | recipe | NLL bound on | boards | nats per board | bits per cell |", "|---|---|---|---|---|---|"]
        for run in full:
            for r in run["results"]:
                for key, v in r["nll"].items():
                    lines.append(f"| {r['game']} | {_recipe_words(run['recipe'])} | {key} | {v['boards']} | "
                                 f"{v['nats']:.4f} +- {v['se']:.4f} | {v['bits_per_cell']:.4f} |")
                if "entropy_truth_nats" in r:
                    lines.append(f"| {r['game']} | | exact entropy of the truth (uniform over 5478) | | "
                                 f"{r['entropy_truth_nats']:.4f} | |")
    lines += ["", "Ablation (every run of this script given to `--publish`, one draw each; a legal share's binomial "
              "standard error is 0.24 points at 97% of n = 5000 (tic-tac-toe) and 0.75 points at 87% of n = 2000 "
              "(Connect Four); the recipe's other settings: "
              + ", ".join(f"{k} {v}" for k, v in runs[0]["recipe"].items()
                          if k not in ("net", "width", "depth", "batch", "lr", "ema", "heads", "mlp_ratio", "weight_decay",
                                       "data", "n_train")
                          and all(run["recipe"].get(k) == v for run in runs)) + ", weight decay 0 unless named):", "",
              "| game | recipe | budget (s) | steps | load at start | legal, random order | confidence order | "
              "random + Gibbs (2 per cell) | confidence + Gibbs | NLL bound (truth / test) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        for r in run["results"]:
            legal = [m["legal_share"] for m in r["samplings"].values()]
            nll = r["nll"][_nll_key(r)]
            load = f"{r['load_start']:.1f}" if "load_start" in r else "?"
            fourth = f"{legal[3]:.2%}" if len(legal) > 3 else "-"
            lines.append(f"| {r['game']} | {_recipe_words(run['recipe'])} | {r.get('budget_s', BUDGET_S):.0f} | {r['steps']} | "
                         f"{load} | {legal[0]:.2%} | {legal[1]:.2%} | {legal[2]:.2%} | {fourth} | "
                         f"{nll['nats']:.3f} ({_nll_key(r)}) |")
    if restore:
        lines += ["", "### Restoring damaged boards", "",
                  "`python benchmarks/bench_masked_games.py --games tictactoe --restore --load F --ddpm RUN --json R` "
                  "(F: a network saved by `--save`; RUN: a ddpm run of the same game). Every test board damaged once "
                  "per k: k cells hidden, or k cells flipped to one of the other two values (the restorer is told k, "
                  "not where). Masked: hidden cells unmasked from the model's posterior given the rest; flipped cells "
                  "located by k rounds of masking the cell whose seen value is least likely given the rest, then "
                  "redrawn from the posterior with the seen value excluded (`samplers/masked.py`, `restore_flipped`), "
                  "or by k rounds each taking the one-cell change of highest model likelihood, scored by the chain "
                  "rule in one random order (`restore_flipped_map`: for k = 1 the mode of p(x | y), which is p(x) "
                  "over the boards one cell from y; `difflab denoise --flip` uses it). "
                  "Gaussian: the damaged board (hidden cells empty) restored by the ddpm run's reverse sampler from "
                  "noise level sigma, as `difflab denoise RUN --mode reverse --sigma S` does; the best of the sigmas "
                  "tried is shown (chosen on these same boards: an oracle in its favour). Rules: a uniformly drawn "
                  "legal completion (hidden), the nearest legal board by Hamming distance, ties drawn uniformly "
                  "(flipped; a damaged board that is still legal is kept). Exact restorations +- their binomial "
                  "standard error.", "", publish_restore(restore)]
    if notes:
        lines += ["", notes.strip()]
    write_section("games-masked", "\n".join(lines))


# -- restoring damaged boards (issue 16, point 3) ----------------------------------------------------
RESTORE_K = (1, 2, 3)                      # damaged cells per board
GAUSS_SIGMAS = (0.25, 0.5, 1.0, 2.0)           # noise levels (data units) the Gaussian run restores from


def bench_restore(name: str, net, proc, ddpm_path, seed: int = 0, n=None) -> dict:
    """Every test board damaged once per k in RESTORE_K (k cells hidden, or k cells flipped to another
    value), restored by the masked model, by a Gaussian (ddpm) run and by the rules alone; the share
    of boards restored exactly, of legal restored boards, and of damaged cells given back their value.

    - masked, hidden cells: masked and unmasked (one cell per step, random order) from the model's
      posterior given the other cells (`sample_masked` keeps the cells it is given);
    - masked, flipped cells (places not told; the restorer knows k): `restore_flipped`, k rounds each
      masking the cell whose seen value is least likely given the rest, then a posterior draw of those
      cells, their seen value excluded; and `restore_flipped_map`, k rounds each taking the one-cell
      change of highest model likelihood (chain rule, one random order): the posterior mode for k = 1;
    - Gaussian: the damaged board (hidden cells set to 0, empty) given to `difflab.denoise.denoise`
      as if it carried Gaussian noise of std sigma, restored by the run's reverse sampler from the
      matching level (`--mode reverse`), for each sigma in GAUSS_SIGMAS (the best one is reported
      too: an oracle choice on the test boards);
    - rules: `rules_complete` (a uniformly drawn legal completion) and `rules_nearest` (the nearest
      legal board by Hamming distance, ties drawn uniformly)."""
    from difflab.denoise import denoise
    from difflab.kinds.board.restore import flip_k, hide_k, restoration_scores, rules_complete, rules_nearest
    from difflab.run import load
    from difflab.samplers.masked import restore_flipped, restore_flipped_map

    ds, game = get_dataset(name), get_game(name)
    clean = decode(ds.test)[:n].astype(np.int8)
    gauss = load(ddpm_path) if ddpm_path else None
    rows = []
    for k in RESTORE_K:
        for damage in ("hidden", "flipped"):
            rng = np.random.default_rng(seed + 10 * k + (damage == "flipped"))
            if damage == "hidden":
                places = hide_k(clean, k, rng)
                damaged = np.where(places, 0, clean).astype(np.int8)
            else:
                damaged, places = flip_k(clean, k, rng)
            g = torch.Generator().manual_seed(seed + k)
            t0 = time.perf_counter()
            y = classes_of(damaged)
            if damage == "hidden":
                x_T = torch.where(torch.from_numpy(places), torch.full_like(y, proc.mask_index), y)
                x = sample_masked(net, proc, x_T, proc.default_times(game.n_cells), generator=g)
                results = {"masked": (boards_of(x), time.perf_counter() - t0)}
            else:
                x = restore_flipped(net, proc, y, k, proc.default_times(game.n_cells), generator=g)
                results = {"masked, least likely cells redrawn": (boards_of(x), time.perf_counter() - t0)}
                t0 = time.perf_counter()
                x = restore_flipped_map(net, proc, y, k, orders=1, generator=g)
                results["masked, most likely one-cell changes"] = (boards_of(x), time.perf_counter() - t0)
            t0 = time.perf_counter()
            results["rules"] = ((rules_complete(damaged, places, game, rng) if damage == "hidden"
                                 else rules_nearest(damaged, game, rng)), time.perf_counter() - t0)
            for sigma in GAUSS_SIGMAS if gauss is not None else ():
                t0 = time.perf_counter()
                r = decode(denoise(gauss, damaged.astype(np.float32), sigma, mode="reverse", seed=seed + k))
                results[f"gaussian sigma {sigma:g}"] = (r, time.perf_counter() - t0)
            for method, (restored, seconds) in results.items():
                sc = restoration_scores(clean, restored, places, game)
                rows.append({"game": name, "damage": damage, "k": k, "method": method, "n": len(clean),
                             "seconds": seconds, **sc})
                print(f"{name} {damage} k={k} {method}: exact {sc['exact']:.1%} legal {sc['legal']:.1%} "
                      f"cells {sc['cell_accuracy']:.1%} ({seconds:.1f} s)", flush=True)
    return {"game": name, "ddpm_run": str(ddpm_path), "rows": rows}


def publish_restore(runs: list[dict]) -> str:
    """The restoration table (markdown) from `bench_restore` results: the masked model, the rules,
    and the Gaussian run at its best sigma (per damage and k, by exact restorations), its sigma named."""
    lines = ["| game | damage | k per board | n | method | boards restored exactly | legal | damaged cells right |",
             "|---|---|---|---|---|---|---|---|"]
    for run in runs:
        groups = {}
        for r in run["rows"]:
            groups.setdefault((r["game"], r["damage"], r["k"]), []).append(r)
        for (game, damage, k), rs in groups.items():
            gauss = [r for r in rs if r["method"].startswith("gaussian")]
            shown = [r for r in rs if not r["method"].startswith("gaussian")]
            if gauss:
                best = max(gauss, key=lambda r: r["exact"])
                shown.append({**best, "method": f"gaussian (ddpm), best sigma {best['method'].split()[-1]} of "
                                                 f"{', '.join(r['method'].split()[-1] for r in gauss)}"})
            for r in shown:
                se = math.sqrt(r["exact"] * (1 - r["exact"]) / r["n"])
                lines.append(f"| {game} | {damage} | {k} | {r['n']} | {r['method']} | {r['exact']:.1%} +- {se:.1%} | "
                             f"{r['legal']:.1%} | {r['cell_accuracy']:.1%} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", nargs="+", default=["tictactoe", "connect4"], choices=sorted(TARGETS))
    parser.add_argument("--quick", action="store_true", help="a tiny run and small counts")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: STEPS of the game)")
    parser.add_argument("--budget", type=float, default=BUDGET_S, help=f"training seconds at most (default {BUDGET_S})")
    parser.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="override RECIPE entries")
    parser.add_argument("--save", default=None, help="save the trained network to PATH.<game>.pt")
    parser.add_argument("--load", default=None, help="skip training: load PATH.<game>.pt saved by --save")
    parser.add_argument("--restore", action="store_true", help="restore damaged test boards with the network of "
                        "--load (and the Gaussian run of --ddpm) instead of sampling; needs --load")
    parser.add_argument("--restore-n", type=int, default=None, help="with --restore: the first N test boards (default all)")
    parser.add_argument("--ddpm", default=None, help="with --restore: a ddpm run folder of the same game to compare")
    parser.add_argument("--more-rounds", nargs="*", type=int, default=[], metavar="R",
                        help="also sample in confidence order with R Gibbs rounds per cell (after the four samplings)")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1: the model)")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    parser.add_argument("--restore-json", nargs="*", default=[], help="with --publish: JSON files of --restore runs")
    parser.add_argument("--notes", default=None, help="with --publish: a markdown file added after the tables")
    parser.add_argument("--publish", nargs="+", default=None, metavar="JSON",
                        help="write BENCHMARKS.md's masked-games section from JSON files of earlier runs, and stop")
    a = parser.parse_args(argv)
    if a.publish:
        publish_section([json.loads(Path(p).read_text()) for p in a.publish],
                        [r for p in a.restore_json for r in json.loads(Path(p).read_text())["restore"]],
                        Path(a.notes).read_text() if a.notes else "")
        return
    torch.set_num_threads(a.threads)
    settings = QUICK if a.quick else FULL
    if a.restore:
        if not a.load:
            raise SystemExit("--restore needs --load PATH (a network saved by --save)")
        runs = []
        for name in a.games:
            saved = torch.load(f"{a.load}.{name}.pt")
            net, proc, *_ = train(classes_of(get_dataset(name).train), 0, 0, 0, saved["recipe"])
            net.load_state_dict(saved["state"])
            runs.append(bench_restore(name, net, proc, a.ddpm, n=200 if a.quick else a.restore_n))
        if a.json:
            Path(a.json).write_text(json.dumps({"restore": runs, "machine": machine()}, indent=1))
        print(publish_restore(runs))
        return
    for item in a.set:
        key, value = item.split("=", 1)
        if key not in RECIPE:
            raise SystemExit(f"unknown recipe key {key!r}; valid: {', '.join(RECIPE)}")
        RECIPE[key] = type(RECIPE[key])(value)
    print(machine(), "\nrecipe:", RECIPE, flush=True)
    results = []
    for name in a.games:
        steps = a.steps or (200 if a.quick else STEPS[name])
        results.append(bench_game(name, settings, steps, a.budget, seed=a.seed, save=a.save and f"{a.save}.{name}.pt",
                                  load=a.load and f"{a.load}.{name}.pt", more_rounds=a.more_rounds,
                                  temperature=a.temperature))
        print(report(results[-1]), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps({"recipe": RECIPE, "settings": settings, "results": results}, indent=1))


if __name__ == "__main__":
    main()
