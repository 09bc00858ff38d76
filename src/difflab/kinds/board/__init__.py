"""Board-game positions (kind "board"): tic-tac-toe and Connect Four positions, their legality, and boards <-> vectors.

A board is an integer vector in row-major order, 1 for the first player (X, red), -1 for the
second (O, yellow), 0 for empty: (9,) for tic-tac-toe, (42,) for Connect Four (6 rows of 7,
top row first). `boards` turns model output (floats) into boards and checks boards given by
the user; `tictactoe` and `connect4` know which boards can arise in play.
"""
from . import datasets
from .boards import decode, move_counts, validate_boards
from .kind import BoardKind

__all__ = ["BoardKind", "datasets", "decode", "move_counts", "validate_boards"]
