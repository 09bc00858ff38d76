"""Tic-tac-toe: every position reachable in play, and which boards are legal.

A board is 9 cells in row-major order, 1 = X, -1 = O, 0 = empty. X moves first; play stops at the
first three-in-a-row or when the board is full. `positions()` enumerates, by breadth-first
search from the empty board, every position that can occur in such a game: 5,478 of them,
terminal ones included (by number of pieces 0..9: 1, 9, 72, 252, 756, 1260, 1520, 1140, 390, 78).

Legality is exact and has two independent implementations that the tests hold against each other
on all 3^9 boards: `is_reachable` looks the board up in the enumeration (a set of base-3 codes),
and `legal_by_rules` checks the rules, which characterise reachability exactly because any
subset of a board without a line has no line (so pieces can be placed in any order):

- X has as many pieces as O or one more (the side with more, or O on a tie, moved last);
- the side that did not move last has no line (it would have won, and play stopped);
- if the side that moved last has lines, one of its pieces lies on all of them (its last move
  completed them all at once; otherwise a line existed before it and play had stopped).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

N_CELLS = 9
LINES = np.array([[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]])
_POWERS = 3 ** np.arange(N_CELLS, dtype=np.int64)
REASONS = ("legal", "piece counts", "two winners", "play after a win")   # codes of `check`


def codes(boards) -> np.ndarray:
    """A unique int64 per board: sum_i (cell_i + 1) 3^i, (N,)."""
    b = np.asarray(boards, dtype=np.int64).reshape(-1, N_CELLS)
    return (b + 1) @ _POWERS


def lines_of(boards, player: int) -> np.ndarray:
    """(N, 8) bool: which of the 8 lines `player` (1 or -1) holds on each board."""
    b = np.asarray(boards).reshape(-1, N_CELLS)
    return (b[:, LINES] == player).all(axis=2)


def _winner(board: tuple) -> int:
    for a, b, c in LINES:
        if board[a] != 0 and board[a] == board[b] == board[c]:
            return board[a]
    return 0


@lru_cache(maxsize=1)
def _enumerate() -> tuple[np.ndarray, np.ndarray]:
    start = (0,) * N_CELLS
    seen, frontier = {start}, [start]
    while frontier:                                   # one layer per move
        nxt = []
        for board in frontier:
            if _winner(board) or 0 not in board:      # the game is over: no move follows
                continue
            player = 1 if board.count(1) == board.count(-1) else -1
            for i in range(N_CELLS):
                if board[i] == 0:
                    child = board[:i] + (player,) + board[i + 1:]
                    if child not in seen:
                        seen.add(child)
                        nxt.append(child)
        frontier = nxt
    boards = np.array(sorted(seen, key=lambda b: (N_CELLS - b.count(0), b)), dtype=np.int8)
    return boards, np.sort(codes(boards))


def positions() -> np.ndarray:
    """Every position reachable in play, (5478, 9) int8, ordered by number of pieces (a copy)."""
    return _enumerate()[0].copy()


def is_reachable(boards) -> np.ndarray:
    """(N,) bool: which boards (N, 9) occur in some game (a lookup in the enumeration)."""
    b = np.asarray(boards).reshape(-1, N_CELLS)
    valid = np.isin(b, (-1, 0, 1)).all(axis=1)
    known = _enumerate()[1]
    c = codes(np.where(valid[:, None], b, 0))
    idx = np.clip(np.searchsorted(known, c), 0, len(known) - 1)
    return valid & (known[idx] == c)


def check(boards) -> np.ndarray:
    """(N,) int: 0 for a legal board, else the index in REASONS of the first rule it breaks."""
    b = np.asarray(boards, dtype=np.int64).reshape(-1, N_CELLS)
    n_x, n_o = (b == 1).sum(1), (b == -1).sum(1)
    x_lines, o_lines = lines_of(b, 1), lines_of(b, -1)
    x_last = n_x > n_o                                   # who moved last (O on a tie, nobody on an empty board)
    last_lines = np.where(x_last[:, None], x_lines, o_lines)
    other_lines = np.where(x_last[:, None], o_lines, x_lines)
    # a cell on every line of the side that moved last: AND of the lines' cell masks
    masks = np.zeros((len(LINES), N_CELLS), dtype=bool)
    masks[np.arange(len(LINES))[:, None], LINES] = True
    common = np.where(last_lines[:, :, None], masks[None], True).all(axis=1)     # (N, 9)
    last_player = np.where(x_last, 1, -1)
    one_move = (common & (b == last_player[:, None])).any(axis=1)
    reason = np.zeros(len(b), dtype=np.int64)
    reason[~one_move & last_lines.any(1)] = 3
    reason[other_lines.any(1)] = 3
    reason[x_lines.any(1) & o_lines.any(1)] = 2
    reason[~np.isin(n_x - n_o, (0, 1))] = 1
    return reason


def legal_by_rules(boards) -> np.ndarray:
    """(N,) bool: legality from the rules of play (see the module docstring), no enumeration."""
    return check(boards) == 0
