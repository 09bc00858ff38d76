"""The two games as one small record each: board size, legality check and its reasons.

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

    @property
    def n_cells(self) -> int:
        return self.rows * self.cols

    def legal(self, boards) -> np.ndarray:
        return self.check(boards) == 0


GAMES = {
    "tictactoe": Game("tictactoe", 3, 3, tictactoe.check, tictactoe.REASONS, ("X", "O")),
    "connect4": Game("connect4", connect4.ROWS, connect4.COLS, connect4.check, connect4.REASONS, ("red", "yellow")),
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
