"""Board-game positions as data: tic-tac-toe (every reachable position) and Connect Four
(positions from games between simple players).

Each board is a float32 vector with values -1, 0, 1 (1 = first player, -1 = second, 0 = empty),
row-major: (N, 9) for tic-tac-toe, (N, 42) for Connect Four (6 rows of 7, top row first). The
option `encoding` chooses what the model sees (see `difflab.kinds.board.boards`): "value" (default) the
board itself, (N, cells); "onehot" three channels per cell in {-1, 1}, (N, cells, 3), decoded by
the largest channel. Either way `difflab sample` writes integer boards (N, cells), and `train`,
`test` and `sample` hold the encoded boards (what the model is trained on).
The normaliser divides every value by one number, the option `scale` (1 by default: the identity,
as the values already spread about 1); one scale for all cells keeps `difflab denoise --sigma` in
board units, and scale < 1 spreads the values apart relative to the noise.
`kind = "board"` selects the board kind's hooks in kinds/board/kind.py (decoding, legality metrics, pictures).
The option `symmetries` (off by default) lets the trainer show each training board under a
random symmetry of its game (tic-tac-toe: the 8 rotations and reflections; Connect Four: the
left-right mirror; kinds/board/spec.py), as image runs flip pictures: both truths are invariant
under them, so a model learns the truth rather than its training split's asymmetries. It is stored as
`augment_symmetries`, (S, cells) cell permutations or None.

The truth:

- tictactoe: the uniform distribution over the 5,478 positions reachable in play (terminal ones
  included). The split is a seeded random partition of those positions (test share 0.2 by
  default: 4,382 / 1,096), so a model that reproduces only its training set finds no test
  position; `sample(n, rng)` draws uniformly from all 5,478, with replacement.
- connect4: one position per game, after a uniformly random number of moves (0 .. the game's
  length), from games greedy against greedy (share `greedy_share`, 0.5) or random against random
  (see `difflab.kinds.board.connect4`). Train and test come from independent game streams spawned from
  `seed`; `sample(n, rng)` plays n fresh games. Positions repeat (early ones often), so the test
  set overlaps the training set as the truth itself does.
"""
from __future__ import annotations

import numpy as np

from ...errors import DifflabError
from . import connect4, tictactoe
from .boards import check_encoding, decode, encode
from .spec import get_game
from ...data.base import Dataset, Normaliser
from ...data.categories import Categories
from .pictures import draw_boards
from ...data.registry import register


class BoardDataset(Dataset):
    """Positions of one game (`game`: "tictactoe" or "connect4") as float32 vectors."""

    kind = "board"
    has_truth = True
    game: str = ""
    encoding: str = "value"

    augment_symmetries = None      # (S, cells) cell permutations the trainer may apply, or None

    def info(self) -> dict:
        return {**super().info(), "game": self.game, "encoding": self.encoding,
                "symmetries": self.augment_symmetries is not None}

    def _set_symmetries(self, on) -> None:
        if not isinstance(on, (bool, np.bool_)):
            raise DifflabError(f"option symmetries must be true or false, got {on!r}")
        self.augment_symmetries = get_game(self.game).symmetries if on else None

    def categories(self) -> Categories:
        """Cells as classes for masked diffusion: -1, 0, 1 -> 0, 1, 2 (value encoding only)."""
        if self.encoding != "value":
            raise DifflabError(f"a categorical method needs {self.name}'s cells as values "
                               f"(data_options.encoding: value), not {self.encoding!r}")
        return Categories([-1, 0, 1], where=self.name)

    def encode(self, boards) -> np.ndarray:
        """Integer boards (N, cells) -> what the model sees (this dataset's encoding), float32."""
        return encode(boards, self.encoding)

    def plot(self, ax, x: np.ndarray, **kw):
        """A grid of the first boards of x (at most 16), encoded or decoded."""
        return draw_boards(ax, decode(x), self.game, **kw)


def _integer(name, value, minimum):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum:
        return int(value)
    raise DifflabError(f"option {name} must be an integer >= {minimum}, got {value!r}")


def _scale(value) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok and np.isfinite(value) and value > 0:
        return float(value)
    raise DifflabError(f"option scale must be a positive number, got {value!r}")


def _normaliser(shape: tuple, scale) -> Normaliser:
    return Normaliser(np.zeros(shape), np.full(shape, _scale(scale)))


def _share(name, value, low_open=False):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok and (0 < value < 1 if low_open else 0 <= value <= 1):
        return float(value)
    raise DifflabError(f"option {name} must be a number in {'(0, 1)' if low_open else '[0, 1]'}, got {value!r}")


class TicTacToeDataset(BoardDataset):
    name = "tictactoe"
    game = "tictactoe"

    def __init__(self, n_train=None, n_test=None, seed=0, test_share=0.2, scale=1.0, encoding="value",
                 symmetries=False):
        seed = _integer("seed", seed, 0)
        self.encoding = check_encoding(encoding)
        self._set_symmetries(symmetries)
        self.positions = self.encode(tictactoe.positions())            # (5478, 9) or (5478, 9, 3)
        total = len(self.positions)
        if n_test is None:
            n_test = int(round(_share("test_share", test_share, low_open=True) * total))
        n_test = _integer("n_test", n_test, 1)
        n_train = total - n_test if n_train is None else _integer("n_train", n_train, 1)
        if n_train + n_test > total:
            raise DifflabError(f"tictactoe has {total} positions; n_train + n_test = {n_train + n_test} is more")
        order = np.random.default_rng(seed).permutation(total)
        self.test = self.positions[order[:n_test]]
        self.train = self.positions[order[n_test:n_test + n_train]]
        self.normaliser = _normaliser(self.shape, scale)
        self.description = (f"tic-tac-toe: the {total} positions reachable in play (X = 1 first, O = -1), "
                            f"a seeded {len(self.train)}/{len(self.test)} split; truth uniform over all"
                            + (", one-hot cells" if self.encoding == "onehot" else ""))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n positions drawn uniformly (with replacement) from all 5,478, encoded, float32."""
        return self.positions[rng.integers(0, len(self.positions), size=int(n))]


class ConnectFourDataset(BoardDataset):
    name = "connect4"
    game = "connect4"

    def __init__(self, n_train=None, n_test=None, seed=0, greedy_share=0.5, scale=1.0, encoding="value",
                 symmetries=False):
        self.encoding = check_encoding(encoding)
        self._set_symmetries(symmetries)
        n_train = 10000 if n_train is None else _integer("n_train", n_train, 1)
        n_test = 2000 if n_test is None else _integer("n_test", n_test, 1)
        seed = _integer("seed", seed, 0)
        self.greedy_share = _share("greedy_share", greedy_share)
        train_rng, test_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
        self.train = self.sample(n_train, train_rng)
        self.test = self.sample(n_test, test_rng)
        self.normaliser = _normaliser(self.shape, scale)
        self.description = (f"Connect Four: one position per game (6x7, top row first, red = 1 first), "
                            f"{self.greedy_share:g} of games greedy vs greedy, the rest random vs random"
                            + (", one-hot cells" if self.encoding == "onehot" else ""))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n positions from n fresh games, encoded, float32."""
        return self.encode(connect4.generate_positions(int(n), rng, self.greedy_share))


@register("tictactoe", "tic-tac-toe positions reachable in play (5,478), as 9 values in {-1, 0, 1}")
def tictactoe_dataset(n_train=None, n_test=None, seed=0, *, test_share=0.2, scale=1.0, encoding="value",
                      symmetries=False) -> Dataset:
    """All reachable tic-tac-toe positions, a seeded train/test split (test_share 0.2);
    encoding "value" (9 numbers) or "onehot" (9 cells x 3 channels); symmetries: train on random
    rotations and reflections of the boards."""
    return TicTacToeDataset(n_train, n_test, seed, test_share, scale, encoding, symmetries)


@register("connect4", "Connect Four positions from random and greedy games, as 42 values in {-1, 0, 1}")
def connect4_dataset(n_train=None, n_test=None, seed=0, *, greedy_share=0.5, scale=1.0, encoding="value",
                     symmetries=False) -> Dataset:
    """Connect Four positions (10,000 / 2,000 by default), one per seeded game;
    encoding "value" (42 numbers) or "onehot" (42 cells x 3 channels); symmetries: train on
    random left-right mirrors of the boards."""
    return ConnectFourDataset(n_train, n_test, seed, greedy_share, scale, encoding, symmetries)
