"""The two games as one small record each: board size, legality check and its reasons, symmetries.

The board kind, the datasets and the pictures look a game up here by name or by the number of
cells of a board (9 or 42), so nothing else needs to know which game it holds.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...errors import DifflabError, unknown_name
from . import connect4, tictactoe


@dataclass(frozen=True)
class Game:
    name: str
    rows: int
    cols: int
    check: Callable[[np.ndarray], np.ndarray]     # boards (N, cells) -> (N,) reason codes, 0 = legal
    reasons: tuple[str, ...]                       # reason code -> words
    pieces: tuple[str, str]                        # what the two players' pieces are called
    group: str                                     # the board symmetries that keep the truth: SYMMETRY_GROUPS

    @property
    def n_cells(self) -> int:
        return self.rows * self.cols

    @property
    def symmetries(self) -> np.ndarray:
        """(S, cells) int64: the cell permutations of `group`, identity first; the image of boards
        (N, cells, ...) under permutation p is boards[:, p] (cells row-major)."""
        return cell_permutations(self.rows, self.cols, self.group)

    def legal(self, boards) -> np.ndarray:
        return self.check(boards) == 0


# Which rearrangements of the cells map the game's truth onto itself. Tic-tac-toe: the square's
# 8 rotations and reflections (a position reachable in play stays reachable, and the truth is
# uniform over those positions). Connect Four: the left-right mirror only (gravity fixes up and
# down); its players pick columns with weights symmetric about the centre and break ties at
# random (connect4.py), so a mirrored position is exactly as likely.
SYMMETRY_GROUPS = ("dihedral", "mirror")


def cell_permutations(rows: int, cols: int, group: str) -> np.ndarray:
    """(S, rows * cols) int64 cell permutations: "mirror" = identity and left-right flip (S = 2);
    "dihedral" = the 4 rotations of a square board and their mirrors (S = 8)."""
    if group not in SYMMETRY_GROUPS:
        raise unknown_name("symmetry group", group, SYMMETRY_GROUPS)
    grid = np.arange(rows * cols).reshape(rows, cols)
    if group == "mirror":
        images = [grid, grid[:, ::-1]]
    else:
        if rows != cols:
            raise DifflabError(f"the dihedral group needs a square board, not {rows} x {cols}")
        images = [np.rot90(g, k) for g in (grid, grid[:, ::-1]) for k in range(4)]
    return np.stack([g.reshape(-1) for g in images]).astype(np.int64)


GAMES = {
    "tictactoe": Game("tictactoe", 3, 3, tictactoe.check, tictactoe.REASONS, ("X", "O"), "dihedral"),
    "connect4": Game("connect4", connect4.ROWS, connect4.COLS, connect4.check, connect4.REASONS, ("red", "yellow"),
                     "mirror"),
}


def get_game(name: str) -> Game:
    if name not in GAMES:
        raise unknown_name("game", name, GAMES)
    return GAMES[name]


def game_for_cells(n_cells: int) -> Game:
    """The game whose boards have `n_cells` cells (9: tic-tac-toe, 42: Connect Four)."""
    for game in GAMES.values():
        if game.n_cells == n_cells:
            return game
    raise DifflabError(f"no board game has {n_cells} cells (tic-tac-toe has 9, Connect Four 42)")
