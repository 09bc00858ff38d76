"""Connect Four: gravity, wins, a random and a greedy player, positions from their games, and
which boards are legal.

A board is 42 cells, 6 rows of 7 in row-major order with the TOP row first, 1 = the first player
(red), -1 = the second (yellow), 0 = empty. Internally a side's discs are a bitboard (uint64):
bit 7 c + h is the disc h places above the floor in column c; bit 7 c + 6 stays empty, so the
shift tests for four in a row never wrap from one column into the next.

Players (vectorised over many games at once, randomness from a numpy Generator):

- random: a uniformly random column that is not full;
- greedy: completes a four if it can; otherwise blocks a column where the opponent would complete
  a four next move (a random one if there are several); otherwise a centre-preferring random
  column, column c drawn with weight 1, 2, 3, 4, 3, 2, 1 (c = 0..6) among those not full. It does
  not look further ahead (it may play under an opponent's threat).

A game stops at the first four in a row or when all 42 cells are full.

Legality (`check`) is exact: a board is legal if and only if some game played by these rules
(any moves, not only those of the two players) passes through it. The rules checked, in order:

1. gravity: no disc lies above an empty cell of its column;
2. disc counts: the first player has as many discs as the second or one more (it moved last
   when it has more, otherwise the second player did);
3. not both sides have four in a row;
4. the side that did not move last has no four (play stops at a win), and if the side that
   moved last has fours, one of its discs at the top of a column lies on all of them (its last
   move made them all at once);
5. an order of play exists: the discs (less the winning one, under 4) can be removed one at a
   time from column tops, alternating colours, the last mover's colour first, down to the empty
   board. Checked by depth-first search over column heights with a memo of dead ends (at most
   7^7 states; in practice a few dozen, see `_has_order`). No position on the way has a four,
   because each is a subset of a board that has none.
"""
from __future__ import annotations

import numpy as np

ROWS, COLS = 6, 7
N_CELLS = ROWS * COLS
CENTRE_WEIGHTS = np.array([1, 2, 3, 4, 3, 2, 1], dtype=np.float64)   # greedy's fallback preference
REASONS = ("legal", "floating disc", "disc counts", "two winners", "play after a win", "no order of play")
_SHIFTS = (1, 7, 6, 8)                     # vertical, horizontal, the two diagonals in the bit layout
_ROW = np.repeat(np.arange(ROWS), COLS)    # cell index (top row first) -> row from the top
_COL = np.tile(np.arange(COLS), ROWS)
_BIT = (7 * _COL + (ROWS - 1 - _ROW)).astype(np.uint64)     # cell index -> bit index
_ONE = np.uint64(1)


# -- bitboards -------------------------------------------------------------------------------

def to_bitboards(boards) -> tuple[np.ndarray, np.ndarray]:
    """Boards (N, 42) -> (first player's, second player's) bitboards, each (N,) uint64."""
    b = np.asarray(boards).reshape(-1, N_CELLS)
    bits = _ONE << _BIT
    return (np.bitwise_or.reduce(np.where(b == 1, bits, np.uint64(0)), axis=1),
            np.bitwise_or.reduce(np.where(b == -1, bits, np.uint64(0)), axis=1))


def from_bitboards(first, second) -> np.ndarray:
    """Bitboards (N,) uint64 -> boards (N, 42) int8, top row first."""
    first, second = (np.asarray(v, dtype=np.uint64)[:, None] for v in (first, second))
    one = ((first >> _BIT) & _ONE).astype(np.int8)
    two = ((second >> _BIT) & _ONE).astype(np.int8)
    return one - two


def has_four(bits) -> np.ndarray:
    """(N,) bool: whether each bitboard holds four in a row (any direction)."""
    bits = np.asarray(bits, dtype=np.uint64)
    out = np.zeros(bits.shape, dtype=bool)
    for s in _SHIFTS:
        s1, s2 = np.uint64(s), np.uint64(2 * s)
        m = bits & (bits >> s1)
        out |= (m & (m >> s2)) != 0
    return out


# -- players and games -----------------------------------------------------------------------

def _choose(mine, theirs, heights, greedy, rng) -> np.ndarray:
    """The column each game's player to move picks, (G,): random or greedy (module docstring)."""
    g = len(mine)
    legal = heights < ROWS
    u = rng.random((g, COLS))
    centre = u ** (1.0 / CENTRE_WEIGHTS)                # argmax of u^(1/w) picks c with probability ~ w_c
    score = np.where(greedy[:, None], centre, u)
    if greedy.any():
        cols = np.arange(COLS, dtype=np.uint64)
        bit = _ONE << (np.uint64(7) * cols[None] + np.minimum(heights, ROWS - 1).astype(np.uint64))   # (G, 7)
        wins = has_four(mine[:, None] | bit) & legal
        blocks = has_four(theirs[:, None] | bit) & legal
        score = score + greedy[:, None] * (4.0 * wins + 2.0 * blocks)
    return np.argmax(np.where(legal, score, -1.0), axis=1)


def play_games(greedy_first, greedy_second, rng: np.random.Generator):
    """Play G games at once. greedy_first/greedy_second: (G,) bool, whether each side is greedy
    (else random). Returns (first, second, length, winner): bitboards after every ply,
    (G, 43) uint64 each (column k = after k moves; frozen once a game ends), the number of
    moves played (G,) and the winner (G,) in {1, -1, 0 (draw)}."""
    greedy = (np.asarray(greedy_first, bool), np.asarray(greedy_second, bool))
    g = len(greedy[0])
    sides = [np.zeros(g, np.uint64), np.zeros(g, np.uint64)]
    heights = np.zeros((g, COLS), dtype=np.int64)
    over = np.zeros(g, dtype=bool)
    length = np.zeros(g, dtype=np.int64)
    winner = np.zeros(g, dtype=np.int64)
    first = np.zeros((g, N_CELLS + 1), np.uint64)
    second = np.zeros((g, N_CELLS + 1), np.uint64)
    for ply in range(N_CELLS):
        p = ply % 2                                     # 0: the first player moves
        act = np.flatnonzero(~over)
        if len(act) == 0:
            first[:, ply + 1:], second[:, ply + 1:] = first[:, ply:ply + 1], second[:, ply:ply + 1]
            break
        mine, theirs = sides[p][act], sides[1 - p][act]
        col = _choose(mine, theirs, heights[act], greedy[p][act], rng)
        bit = _ONE << (np.uint64(7) * col.astype(np.uint64) + heights[act, col].astype(np.uint64))
        sides[p][act] = mine | bit
        heights[act, col] += 1
        length[act] += 1
        won = has_four(sides[p][act])
        winner[act[won]] = 1 if p == 0 else -1
        over[act[won]] = True
        first[:, ply + 1], second[:, ply + 1] = sides
    return first, second, length, winner


def generate_positions(n: int, rng: np.random.Generator, greedy_share: float = 0.5) -> np.ndarray:
    """n positions (n, 42) int8, one per game: a share `greedy_share` of the games greedy against
    greedy, the rest random against random; from each game the position after a uniformly random
    number of moves in 0..its length (the final position included)."""
    greedy = rng.random(n) < greedy_share
    first, second, length, _ = play_games(greedy, greedy, rng)
    ply = np.floor(rng.random(n) * (length + 1)).astype(np.int64)
    rows = np.arange(n)
    return from_bitboards(first[rows, ply], second[rows, ply])


# -- legality --------------------------------------------------------------------------------

def _has_order(columns: list[list[int]], colour: int) -> bool:
    """Whether the discs of `columns` (each bottom-up, values 1/-1) can be removed from column
    tops alternately, starting with `colour`, down to the empty board (DFS, dead ends memoised)."""
    heights = tuple(len(c) for c in columns)
    dead: set[tuple] = set()
    stack = [(heights, colour)]
    seen_path = set()
    while stack:
        h, want = stack[-1]
        if not any(h):
            return True
        if h in seen_path:                              # every child of h explored without success
            stack.pop()
            seen_path.discard(h)
            dead.add(h)
            continue
        seen_path.add(h)
        for c in range(COLS):
            if h[c] and columns[c][h[c] - 1] == want:
                child = h[:c] + (h[c] - 1,) + h[c + 1:]
                if child not in dead and child not in seen_path:
                    stack.append((child, -want))
    return False


def check(boards) -> np.ndarray:
    """(N,) int: 0 for a legal board, else the index in REASONS of the first rule it breaks.
    Boards must hold only -1, 0, 1 (see `boards.validate_boards`)."""
    b = np.asarray(boards, dtype=np.int64).reshape(-1, N_CELLS)
    grid = b.reshape(-1, ROWS, COLS)
    reason = np.zeros(len(b), dtype=np.int64)
    floating = ((grid[:, :-1] != 0) & (grid[:, 1:] == 0)).any(axis=(1, 2))
    n1, n2 = (b == 1).sum(1), (b == -1).sum(1)
    counts = ~np.isin(n1 - n2, (0, 1))
    p1, p2 = to_bitboards(b)
    w1, w2 = has_four(p1), has_four(p2)
    first_last = n1 > n2
    last_w, other_w = np.where(first_last, w1, w2), np.where(first_last, w2, w1)
    reason[other_w & ~(w1 & w2)] = 4
    reason[w1 & w2] = 3
    reason[counts] = 2
    reason[floating] = 1
    for i in np.flatnonzero(reason == 0):
        if not _orderable(grid[i], p1[i], p2[i], bool(first_last[i]), bool(last_w[i])):
            reason[i] = 4 if last_w[i] and not _single_winning_disc(grid[i], p1[i], p2[i], bool(first_last[i])) else 5
    return reason


def _columns(grid) -> list[list[int]]:
    """The discs of each column, bottom-up (plain lists: the search is pure Python)."""
    rows = grid.tolist()[::-1]
    return [[row[c] for row in rows if row[c] != 0] for c in range(COLS)]


def _single_winning_disc(grid, p1, p2, first_last) -> list[int]:
    """Columns whose top disc belongs to the last mover and lies on all of its fours."""
    last = p1 if first_last else p2
    out = []
    for c, col in enumerate(_columns(grid)):
        if col and col[-1] == (1 if first_last else -1):
            bit = _ONE << np.uint64(7 * c + len(col) - 1)
            if not has_four(np.array([last & ~bit]))[0]:
                out.append(c)
    return out


def _orderable(grid, p1, p2, first_last, last_won) -> bool:
    cols = _columns(grid)
    colour = 1 if first_last else -1                     # the colour of the last move
    if not last_won:
        return _has_order(cols, colour)
    for c in _single_winning_disc(grid, p1, p2, first_last):   # that disc was the last move
        rest = [col[:-1] if j == c else col for j, col in enumerate(cols)]
        if _has_order(rest, -colour):
            return True
    return False


def is_legal(boards) -> np.ndarray:
    """(N,) bool: which boards (N, 42) can occur in a game (see the module docstring)."""
    return check(boards) == 0
