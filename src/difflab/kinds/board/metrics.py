"""How good are generated boards: legal share, novelty, move counts against the truth, and how
well noisy boards are restored.

- legal share: the share of boards that can occur in play (`Game.check`), with the share of each
  broken rule; the truth is legal by construction (100%), so it needs no floor.
- new share: among the legal boards, the share not in the training set. Beside it, the same
  share for truth samples of the same size (tic-tac-toe with a 0.2 test share: about 0.2): a model
  far below it copies its training set, one near it generalises as the truth does.
- distinct share: distinct boards / N, beside the truth's at the same N.
- move counts: the histogram of moves played (pieces on the board) of the samples against a fresh
  truth draw of the same size, as a total variation distance 0.5 sum_k |p_k - q_k| in [0, 1],
  read as the median over n_draws (5) fresh truth draws: one draw flips verdicts near the edge
  (issue 14). Its floor is that same median for a truth draw in place of the samples (median and
  p95 over n_pairs truth draws, each against n_draws others), as for every other difflab metric
  (`eval.floor.judge_median`).
- side to move: the share of boards with the first player to move (an even number of pieces),
  beside fresh truth draws of the same size as |difference| (the median over the n_draws draws),
  with the same floor. The move-count histogram holds it; this figure isolates the one fact of
  whose turn it is.
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from ...errors import DifflabError
from ...eval.floor import MIN_JUDGE_DRAWS, summarise
from .boards import decode, move_counts, validate_boards
from .spec import Game, game_for_cells


def tv_distance(counts_a, counts_b, max_moves: int) -> float:
    """Total variation distance between the move-count histograms of two sets of boards."""
    p = np.bincount(counts_a, minlength=max_moves + 1)[:max_moves + 1] / max(len(counts_a), 1)
    q = np.bincount(counts_b, minlength=max_moves + 1)[:max_moves + 1] / max(len(counts_b), 1)
    return float(0.5 * np.abs(p - q).sum())


def first_to_move_share(counts) -> float:
    """Share of boards on which the first player is to move, from their `move_counts`: an even number
    of pieces played."""
    return float(np.mean(np.asarray(counts) % 2 == 0)) if len(counts) else float("nan")


def _keys(boards) -> list[bytes]:
    return [row.tobytes() for row in np.ascontiguousarray(boards, dtype=np.int8)]


def new_share(boards, train_keys: set) -> float:
    """Share of `boards` not in the training set (nan for no boards)."""
    keys = _keys(boards)
    return float(np.mean([k not in train_keys for k in keys])) if keys else float("nan")


def distinct_share(boards) -> float:
    return float(len(set(_keys(boards))) / max(len(boards), 1))


def _truth(dataset, n, rng):
    return decode(dataset.sample(n, rng))


def _train_keys(dataset) -> set:
    return set(_keys(decode(dataset.train)))


def _against_draws(counts, draws: list, n_cells: int) -> tuple[list, list]:
    """The move-count TV and the |difference| of the first-to-move shares of `counts` against each of
    the truth draws' move counts `draws`."""
    share = first_to_move_share(counts)
    return ([tv_distance(counts, d, n_cells) for d in draws], [abs(share - first_to_move_share(d)) for d in draws])


def board_floors(dataset, n: int, rng: np.random.Generator, n_pairs: int = 10,
                 n_draws: int = MIN_JUDGE_DRAWS) -> dict:
    """The truth's own figures at sample size n: the move-count TV and the |difference| of the
    first-to-move shares of one truth draw against n_draws others, as medians (median, p95, values
    over n_pairs such groups), and the new and distinct shares of truth draws (median, p95)."""
    game = game_for_cells(dataset.shape[0])
    train_keys = _train_keys(dataset)
    if n_pairs < 1 or n_draws < 1:
        raise DifflabError(f"n_pairs and n_draws must be at least 1, got {n_pairs} and {n_draws}")
    tv, to_move, new, distinct = [], [], [], []
    for _ in tqdm(range(n_pairs), desc="noise floor", unit="pair", leave=False, disable=None):
        x = _truth(dataset, n, rng)
        others = [move_counts(_truth(dataset, n, rng)) for _ in range(n_draws)]
        a, b = _against_draws(move_counts(x), others, game.n_cells)
        tv.append(np.median(a))
        to_move.append(np.median(b))
        new.append(new_share(x, train_keys))
        distinct.append(distinct_share(x))
    summary = {name: {"median": float(np.median(v)), "p95": float(np.percentile(v, 95))}
               for name, v in (("new_share", new), ("distinct_share", distinct))}
    return {"n": int(n), "n_pairs": int(n_pairs), "n_draws": int(n_draws), "moves_tv": summarise(tv),
            "to_move_diff": summarise(to_move), **summary}


def evaluate_boards(samples, dataset, rng: np.random.Generator, n_pairs: int = 10, floors: dict | None = None,
                    n_draws: int = MIN_JUDGE_DRAWS) -> dict:
    """All figures of generated boards `samples` (N, cells), integer values in {-1, 0, 1}
    (decoded, whatever the dataset's encoding); the move-count TV and side-to-move difference are
    medians over n_draws fresh truth draws, judged against `board_floors` of the same n and n_draws."""
    game: Game = game_for_cells(dataset.shape[0])
    b = validate_boards(samples, game.n_cells, "samples")
    n = len(b)
    if floors is None:
        floors = board_floors(dataset, n, rng, n_pairs, n_draws)
    elif floors.get("n") != n or floors.get("n_draws", 1) != n_draws:
        raise DifflabError(f"the floors were computed for {floors.get('n')} boards and {floors.get('n_draws', 1)} "
                           f"truth draws, the samples are {n} boards judged on {n_draws}")
    reason = game.check(b)
    legal = reason == 0
    train_keys = _train_keys(dataset)
    truth = [move_counts(_truth(dataset, n, rng)) for _ in range(n_draws)]
    counts = move_counts(b)
    tv, to_move = _against_draws(counts, truth, game.n_cells)
    return {
        "kind": "board",
        "game": game.name,
        "n": n,
        "n_draws": int(n_draws),
        "legal_share": float(legal.mean()),
        "illegal_reasons": {game.reasons[k]: float((reason == k).mean()) for k in range(1, len(game.reasons))},
        "new_share": new_share(b[legal], train_keys),
        "distinct_share": distinct_share(b),
        "moves_tv": float(np.median(tv)),
        "moves_tv_values": tv,
        "to_move_share": first_to_move_share(counts),
        "to_move_truth": float(np.mean([first_to_move_share(d) for d in truth])),
        "to_move_diff": float(np.median(to_move)),
        "to_move_diff_values": to_move,
        "floors": floors,
        "move_hist": {"samples": np.bincount(counts, minlength=game.n_cells + 1).tolist(),
                      "truth": np.bincount(truth[0], minlength=game.n_cells + 1).tolist()},
    }


def format_board_metrics(r: dict) -> str:
    """The CLI's text for `evaluate_boards`' result."""
    f = r["floors"]
    reasons = ", ".join(f"{k} {v:.1%}" for k, v in r["illegal_reasons"].items() if v > 0) or "none"
    lines = [
        f"{r['game']}: {r['n']} generated boards",
        f"  legal:           {r['legal_share']:.1%}   (truth: 100%; illegal: {reasons})",
        f"  new among legal: {r['new_share']:.1%}   (truth draws of the same size: {f['new_share']['median']:.1%})",
        f"  distinct:        {r['distinct_share']:.1%}   (truth: {f['distinct_share']['median']:.1%})",
        f"  move-count TV:   {r['moves_tv']:.4f}   (median over {r['n_draws']} truth draws; floor: median "
        f"{f['moves_tv']['median']:.4f}, p95 {f['moves_tv']['p95']:.4f}, over {f['n_pairs']} truth draws)",
        f"  first to move:   {r['to_move_share']:.1%}   (truth draws {r['to_move_truth']:.1%}; |difference| "
        f"{r['to_move_diff']:.4f}, floor median {f['to_move_diff']['median']:.4f}, p95 {f['to_move_diff']['p95']:.4f})",
    ]
    return "\n".join(lines)


def reconstruction(clean, noisy, restored) -> dict:
    """Reconstruction accuracy of noisy boards: the share of boards and of cells restored exactly,
    beside the same shares for the noisy boards simply decoded (rounded, or the largest one-hot
    channel: the baseline a model must beat). Each argument may be encoded or decoded."""
    clean = decode(clean)
    out = {}
    for name, x in (("restored", decode(restored)), ("rounded_noisy", decode(noisy))):
        same = x == clean
        out[name] = {"boards": float(same.all(axis=1).mean()), "cells": float(same.mean())}
    return out
