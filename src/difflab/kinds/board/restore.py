"""Damaged boards and what the rules alone can make of them: the baseline a model's restoration
must beat (benchmarks/bench_masked_games.py, `--restore`; `difflab denoise --hide/--flip`).

Damage (boards (N, cells) with values -1, 0, 1):
- `hide_k`: exactly k cells of each board hidden (masked) at uniformly random places;
- `flip_k`: exactly k cells of each board flipped, each to one of the two other values uniformly.

Rules-only restorations (the game's legality check, `Game.legal`, and nothing learned):
- `rules_complete`: the hidden cells filled with a completion drawn uniformly among those that
  make the board legal (all 3^h completions are enumerated; none legal: uniformly among all);
- `rules_nearest`: the nearest legal board by Hamming distance, ties drawn uniformly (all boards
  within distance r are enumerated for r = 0, 1, ... up to `max_radius`; a legal damaged board is
  its own nearest). Neither knows how likely a legal board is: that is what the model adds.

`restoration_scores`: boards restored exactly, legal restored boards, and the share of damaged
cells given back their true value.
"""
from __future__ import annotations

import itertools

import numpy as np

from ...errors import DifflabError
from .spec import Game

VALUES = np.array([-1, 0, 1], dtype=np.int8)


def _check_k(k, cells: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= cells:
        raise DifflabError(f"the number of damaged cells per board must be an integer in 1..{cells}, got {k!r}")
    return int(k)


def damage_places(n: int, cells: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """bool (n, cells): exactly k uniformly random cells of each row."""
    k = _check_k(k, cells)
    return rng.random((n, cells)).argsort(1).argsort(1) < k


def hide_k(boards, k: int, rng: np.random.Generator) -> np.ndarray:
    """Which cells to hide: exactly k of each board, bool (N, cells)."""
    b = np.asarray(boards)
    return damage_places(len(b), b.shape[1], k, rng)


def flip_k(boards, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(flipped boards int8, places bool): exactly k cells of each board changed to one of the
    other two values, uniformly."""
    b = np.asarray(boards).astype(np.int8)
    places = damage_places(len(b), b.shape[1], k, rng)
    idx = np.searchsorted(VALUES, b)                                     # value -> 0, 1, 2
    shifted = VALUES[(idx + rng.integers(1, 3, size=b.shape)) % 3]       # one of the other two values
    return np.where(places, shifted, b).astype(np.int8), places


def _pick_legal(candidates: np.ndarray, game: Game, rng: np.random.Generator) -> np.ndarray | None:
    legal = game.legal(candidates)
    return candidates[rng.choice(np.flatnonzero(legal))] if legal.any() else None


def rules_complete(boards, hidden, game: Game, rng: np.random.Generator) -> np.ndarray:
    """Each board's hidden cells filled by a uniformly drawn legal completion (int8 boards)."""
    b, hidden = np.asarray(boards).astype(np.int8), np.asarray(hidden, dtype=bool)
    out = b.copy()
    for i in range(len(b)):
        places = np.flatnonzero(hidden[i])
        if len(places) == 0:
            continue
        fills = np.array(list(itertools.product(VALUES, repeat=len(places))), dtype=np.int8)
        candidates = np.repeat(b[i:i + 1], len(fills), 0)
        candidates[:, places] = fills
        chosen = _pick_legal(candidates, game, rng)
        out[i] = chosen if chosen is not None else candidates[rng.integers(len(candidates))]
    return out


def within(board: np.ndarray, r: int) -> np.ndarray:
    """Every board at Hamming distance exactly r from `board` (values -1, 0, 1), int8 (M, cells)."""
    cells = len(board)
    if r == 0:
        return board[None].astype(np.int8)
    out = []
    idx = np.searchsorted(VALUES, board)
    for places in itertools.combinations(range(cells), r):
        for shifts in itertools.product((1, 2), repeat=r):
            c = board.copy()
            c[list(places)] = VALUES[(idx[list(places)] + np.array(shifts)) % 3]
            out.append(c)
    return np.array(out, dtype=np.int8)


def rules_nearest(boards, game: Game, rng: np.random.Generator, max_radius: int = 3) -> np.ndarray:
    """Each board replaced by a legal board nearest to it in Hamming distance (ties uniformly);
    none within `max_radius`: the board as it is."""
    b = np.asarray(boards).astype(np.int8)
    out = b.copy()
    for i in range(len(b)):
        for r in range(max_radius + 1):
            chosen = _pick_legal(within(b[i], r), game, rng)
            if chosen is not None:
                out[i] = chosen
                break
    return out


def restoration_scores(clean, restored, damaged, game: Game) -> dict:
    """{"exact": boards equal to the clean ones, "legal": legal restored boards, "cell_accuracy":
    damaged cells (bool `damaged`) given back their clean value}, shares in [0, 1]."""
    clean, restored, damaged = np.asarray(clean), np.asarray(restored), np.asarray(damaged, dtype=bool)
    if clean.shape != restored.shape or clean.shape != damaged.shape:
        raise DifflabError(f"clean {clean.shape}, restored {restored.shape} and damaged {damaged.shape} boards differ in shape")
    return {"exact": float((clean == restored).all(1).mean()), "legal": float(game.legal(restored).mean()),
            "cell_accuracy": float((clean == restored)[damaged].mean()) if damaged.any() else float("nan")}
