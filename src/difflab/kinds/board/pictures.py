"""Pictures of board-game positions: tic-tac-toe as X and O on a grid, Connect Four as red and
yellow discs in a blue frame, many boards tiled on one axis; generated boards beside real ones
(illegal generated boards framed in red); the distribution of move counts beside the truth.

Boards are (N, cells) arrays with values -1, 0, 1 (floats are rounded for display), row-major,
top row first; `game` is "tictactoe" or "connect4". A non-finite cell (NaN: the mask of a masked
diffusion run's partly unmasked board, `Categories.unnormalise`) is drawn as a grey masked cell.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.patches import Circle, Rectangle

from .spec import get_game
from ...viz._figure import DATA_COLOR, SAMPLE_COLOR, new_figure, save

FIRST, SECOND = "#D62728", "#F2C200"        # Connect Four discs: red (1), yellow (-1)
X_COLOR, O_COLOR = "#C44E52", "#4C72B0"     # tic-tac-toe marks
FRAME = "#1F4E9C"                           # Connect Four's blue frame
ILLEGAL = "#E8000B"                         # frame of a board that breaks the rules
MASKED = "#B8B8B8"                          # a masked cell (not yet revealed)
MASK = 2                                    # the code of a masked cell inside draw_boards
GAP = 0.7                                   # space between boards, in cells


def _layout(n: int, ncols: int | None) -> tuple[int, int]:
    ncols = ncols or max(1, int(np.ceil(np.sqrt(n))))
    return ncols, max(1, int(np.ceil(n / ncols)))


def draw_boards(ax, boards, game: str, *, ncols: int | None = None, max_boards: int = 16, illegal=None, **_):
    """Tile the first `max_boards` boards on `ax` (equal aspect, no ticks); `illegal` (N,) bool
    frames those boards in red."""
    g = get_game(game)
    v = np.asarray(boards, dtype=np.float64).reshape(len(boards), -1)[:max_boards]
    b = np.where(np.isfinite(v), np.rint(np.clip(np.nan_to_num(v), -1, 1)), MASK).astype(int)
    ncols, nrows = _layout(len(b), ncols)
    lines, patches, faces = [], [], []
    for k, board in enumerate(b.reshape(-1, g.rows, g.cols)):
        x0, y0 = (k % ncols) * (g.cols + GAP), (k // ncols) * (g.rows + GAP)
        if game == "connect4":
            _connect4(board, x0, y0, patches, faces)
        else:
            _tictactoe(board, x0, y0, lines, patches, faces)
        if illegal is not None and bool(np.asarray(illegal)[k]):
            ax.add_patch(Rectangle((x0 - 0.22, y0 - 0.22), g.cols + 0.44, g.rows + 0.44, fill=False,
                                   edgecolor=ILLEGAL, linewidth=2.2, zorder=4))
    if lines:                                    # (segment, colour, width)
        ax.add_collection(LineCollection([s for s, _, _ in lines], colors=[c for _, c, _ in lines],
                                         linewidths=[w for _, _, w in lines]))
    if patches:
        ax.add_collection(PatchCollection(patches, facecolors=[f for f, _ in faces], edgecolors=[e for _, e in faces],
                                          linewidths=1.6, match_original=False))
    ax.set_xlim(-0.5, ncols * (g.cols + GAP) - GAP + 0.5)
    ax.set_ylim(nrows * (g.rows + GAP) - GAP + 0.5, -0.5)          # top row of boards at the top
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    return ax


def _tictactoe(board, x0, y0, lines, patches, faces):
    for i in (1, 2):                                                 # the # grid
        lines.append((((x0 + i, y0), (x0 + i, y0 + 3)), "#444444", 1.0))
        lines.append((((x0, y0 + i), (x0 + 3, y0 + i)), "#444444", 1.0))
    for r in range(3):
        for c in range(3):
            cx, cy = x0 + c + 0.5, y0 + r + 0.5
            if board[r, c] == MASK:                                  # masked: a grey square
                patches.append(Rectangle((x0 + c + 0.12, y0 + r + 0.12), 0.76, 0.76))
                faces.append((MASKED, "none"))
            elif board[r, c] == 1:                                     # X: two strokes
                d = 0.3
                lines.append((((cx - d, cy - d), (cx + d, cy + d)), X_COLOR, 2.0))
                lines.append((((cx - d, cy + d), (cx + d, cy - d)), X_COLOR, 2.0))
            elif board[r, c] == -1:                                  # O: a ring
                patches.append(Circle((cx, cy), 0.31))
                faces.append(("none", O_COLOR))


def _connect4(board, x0, y0, patches, faces):
    rows, cols = board.shape
    patches.append(Rectangle((x0, y0), cols, rows))
    faces.append((FRAME, FRAME))
    for r in range(rows):
        for c in range(cols):
            v = board[r, c]
            patches.append(Circle((x0 + c + 0.5, y0 + r + 0.5), 0.4))
            faces.append((FIRST if v == 1 else SECOND if v == -1 else MASKED if v == MASK else "white", "none"))


def plot_boards(boards, path, title: str, game: str, *, illegal=None, max_boards: int = 32, ncols: int = 8) -> Path:
    """One PNG of the first boards (illegal ones framed in red)."""
    g = get_game(game)
    n = min(len(boards), max_boards)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    width = 10.0
    height = 0.7 + width * nrows * (g.rows + GAP) / (ncols * (g.cols + GAP))
    fig = new_figure(width, height)
    ax = fig.subplots()
    draw_boards(ax, boards, game, ncols=ncols, max_boards=n, illegal=illegal)
    ax.set_title(title, fontsize=10)
    return save(fig, path)


def plot_boards_vs_reference(samples, reference, path, title: str, game: str, *, illegal=None,
                             max_boards: int = 25) -> Path:
    """Generated boards (left, illegal ones framed in red) beside as many real boards (right)."""
    n = min(len(samples), len(reference), max_boards)
    fig = new_figure(11.0, 6.0)
    fig.suptitle(title)
    for ax, (label, x, bad) in zip(fig.subplots(1, 2), (("generated", samples, illegal), ("real (test set)", reference, None))):
        draw_boards(ax, x, game, max_boards=n, illegal=None if bad is None else np.asarray(bad)[:n])
        extra = f", {int(np.asarray(bad)[:n].sum())} illegal framed red" if bad is not None else ""
        ax.set_title(f"{label} ({n} shown{extra})", fontsize=10)
    return save(fig, path)


def plot_reverse_boards(snapshots, path, title: str, game: str, *, n_panels: int = 8, n_boards: int = 4) -> Path:
    """The reverse process of the first `n_boards` boards: one row per board, `n_panels` snapshots
    (t, boards (N, cells)) evenly spaced in steps from the first (all masked, or noise) to the last
    (the samples), masked cells grey."""
    idx = np.unique(np.rint(np.linspace(0, len(snapshots) - 1, min(n_panels, len(snapshots)))).astype(int))
    n = min(n_boards, len(snapshots[-1][1]))
    g = get_game(game)
    fig = new_figure(1.6 * len(idx) * g.cols / g.rows + 0.6, 1.6 * n + 0.9)
    fig.suptitle(title, fontsize=10)
    axes = np.asarray(fig.subplots(1, len(idx), squeeze=False))[0]
    for ax, i in zip(axes, idx):
        t, x = snapshots[i]
        draw_boards(ax, np.asarray(x, dtype=np.float64).reshape(len(x), -1)[:n], game, ncols=1, max_boards=n)
        masked = int((~np.isfinite(np.asarray(x, dtype=np.float64)[:n])).sum())
        ax.set_title(f"t = {float(t):.3f}\n{masked} masked", fontsize=9)
    return save(fig, path)


def draw_move_counts(ax, sample_counts, truth_counts, max_moves: int, title: str = ""):
    """Bars of the share of boards by number of moves (pieces on the board): truth beside samples."""
    bins = np.arange(max_moves + 1)
    s = np.bincount(np.asarray(sample_counts, dtype=int), minlength=max_moves + 1)[:max_moves + 1]
    t = np.bincount(np.asarray(truth_counts, dtype=int), minlength=max_moves + 1)[:max_moves + 1]
    w = 0.4
    ax.bar(bins - w / 2, t / max(t.sum(), 1), width=w, color=DATA_COLOR, label=f"truth (N={int(t.sum())})")
    ax.bar(bins + w / 2, s / max(s.sum(), 1), width=w, color=SAMPLE_COLOR, label=f"samples (N={int(s.sum())})")
    ax.set_xlabel("moves played (pieces on the board)")
    ax.set_ylabel("share of boards")
    ax.set_title(title, fontsize=10)
    ax.legend(frameon=False)
    return ax


def plot_move_counts(sample_counts, truth_counts, path, title: str, max_moves: int) -> Path:
    """Share of boards by number of moves (pieces on the board): samples beside the truth."""
    fig = new_figure(7.0, 3.6)
    draw_move_counts(fig.subplots(), sample_counts, truth_counts, max_moves, title)
    return save(fig, path)
