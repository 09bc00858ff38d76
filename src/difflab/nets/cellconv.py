"""A residual convolutional net over the cells of categorical data laid out on a grid: logits of
p(x0 | x_t) per cell.

Board games' rules are local patterns (a disc rests on the one below it, four in a row) plus a few
global counts (whose turn it is, whether anyone has won). The net sees both:

- the input is every cell's one-hot class, the mask included as class K, as K + 1 channels of a
  rows x cols image; a 3x3 convolution lifts it to `width` channels;
- `depth` residual blocks h <- h + Conv3x3(SiLU(h)) + Linear(mean over cells of SiLU(h)): the
  convolution sees a cell's neighbours (the receptive field grows by 2 cells per block), and the
  pooled term adds one learned vector per block to every cell, made from the whole board (the
  global pooling of KataGo's residual blocks, without its normalisation); pool="mean" pools by the
  mean over cells, pool="meanmax" by the mean and the maximum, as KataGo does: a maximum says
  whether a pattern occurs anywhere (a line of four), which a mean over 42 cells dilutes;
- lines=L > 0 adds the input's lines of L cells (rows, columns and both diagonals of the grid: a
  line of four in Connect Four, of three in tic-tac-toe) to the stem: a small MLP shared by all
  lines (plus a learned bias per line) reads each line's L one-hot cells in order and sends
  LINE_BACK features to each of the line's cells, summed over the lines through a cell, then lifted
  to `width` by a 1x1 convolution. "These four cells hold one colour" or "three of one colour and a
  masked cell" is then one unit's job, where 3x3 convolutions must assemble it over several blocks,
  and the pooled terms can count such lines over the whole board. The line MLP runs once, on the
  input. Measured on Connect Four (BENCHMARKS.md, round 6): 15-23% fewer steps in 10 minutes and no
  more legal boards than without it, so it is off by default;
- a 1x1 convolution gives K logits per cell.

No normalisation layers (as in nets/mlp.py and nets/cellmlp.py). Time is not an input by default
(time="none"): the exact p(x0 | x_t) of absorbing-state diffusion does not depend on t (see
nets/transformer.py); time="add" adds sinusoidal features of t to every block's channels.

On Connect Four (42 cells, one CPU thread) a step of 32 x 6 costs about 4x the cell MLP's, and
gives more legal boards at the same wall time (BENCHMARKS.md, "Games: masked diffusion").
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DifflabError, unknown_name
from .embedding import TimeEmbedding
from .transformer import set_cells

ACTIVATIONS = {"silu": nn.SiLU, "relu": nn.ReLU}
POOLS = {"mean": 1, "meanmax": 2}     # the whole-board terms of each block, width features each
LINE_BACK = 16                        # channels a line sends back to each of its cells (then 1x1 to width)
DIRECTIONS = ((0, 1), (1, 0), (1, 1), (1, -1))   # a line's step (rows, cols): row, column, both diagonals


def grid_lines(rows: int, cols: int, length: int) -> torch.Tensor:
    """(n_lines, length) int64: the row-major cell indices of every line of `length` consecutive cells
    of a rows x cols grid along a row, a column or a diagonal, each line once (69 lines of 4 on
    Connect Four's 6 x 7, 8 lines of 3 on 3 x 3). Empty (0, length) when no line fits."""
    lines = []
    for dr, dc in DIRECTIONS:
        for r in range(rows):
            for c in range(cols):
                end_r, end_c = r + dr * (length - 1), c + dc * (length - 1)
                if 0 <= end_r < rows and 0 <= end_c < cols:
                    lines.append([(r + dr * i) * cols + c + dc * i for i in range(length)])
    return torch.tensor(lines, dtype=torch.int64).reshape(-1, length)


def grid_of(data_shape, grid, cells: int) -> tuple[int, int]:
    """(rows, cols) of the `cells` cells: `grid` when given, else a 2D data_shape; their product must
    be the number of cells."""
    if grid is None:
        if len(data_shape) != 2:
            raise DifflabError(f"network cellconv lays the cells out on a grid: data of shape {tuple(data_shape)} "
                               "needs network.grid = [rows, cols] (e.g. [6, 7] for Connect Four)")
        grid = data_shape
    grid = tuple(int(g) for g in grid)
    if len(grid) != 2 or min(grid) < 1 or grid[0] * grid[1] != cells:
        raise DifflabError(f"network.grid must be [rows, cols] with rows * cols = {cells} cells, got {list(grid)}")
    return grid


class CellConv(nn.Module):
    """logits = CellConv(x_t, t): x_t (B, *data_shape) int64 in 0..K (K = mask) -> (B, cells, K).

    n_classes: K; width: channels; depth: residual blocks; grid: [rows, cols] of the cells in
    row-major order (None: data_shape, which must then be 2D); time: "none" or "add"; emb_dim:
    sinusoidal features of t when time = "add"; pool: "mean" or "meanmax"; lines: the length of the
    lines of the line term (0: none); line_width: its features per line (None: width); act: "silu"
    or "relu". See above.
    """

    def __init__(self, data_shape, n_classes: int = 3, width: int = 32, depth: int = 6, grid=None,
                 time: str = "none", emb_dim: int = 64, pool: str = "mean", lines: int = 0, line_width=None,
                 act: str = "silu"):
        super().__init__()
        self.cells = set_cells(self, data_shape, n_classes, time)
        if pool not in POOLS:
            raise unknown_name("pooling", pool, POOLS)
        self.pool = pool
        self.grid = grid_of(self.data_shape, grid, self.cells)
        self.stem = nn.Conv2d(n_classes + 1, width, 3, padding=1)
        self.convs = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1) for _ in range(depth))
        self.pooled = nn.ModuleList(nn.Linear(POOLS[pool] * width, width) for _ in range(depth))
        if isinstance(lines, bool) or not isinstance(lines, int) or lines < 0:
            raise DifflabError(f"network.lines must be 0 (no line term) or a line length of at least 2, got {lines!r}")
        self.lines = lines
        if self.lines:
            line_cells = grid_lines(*self.grid, self.lines)
            if self.lines < 2 or len(line_cells) == 0:
                raise DifflabError(f"network.lines = {lines}: no line of that many cells (at least 2) fits "
                                   f"the {self.grid[0]} x {self.grid[1]} grid")
            lw = int(line_width or width)
            self.register_buffer("line_cells", line_cells, persistent=False)
            L = self.lines
            self.line_in = nn.Linear(L * (n_classes + 1), lw)
            self.line_bias = nn.Parameter(torch.zeros(len(line_cells), lw))
            self.line_mid = nn.Linear(lw, lw)
            self.line_out = nn.Linear(lw, L * LINE_BACK)
            self.line_up = nn.Conv2d(LINE_BACK, width, 1)
        self.temb = TimeEmbedding(emb_dim, width) if time == "add" else None
        self.out = nn.Conv2d(width, n_classes, 1)
        if act not in ACTIVATIONS:
            raise unknown_name("activation", act, ACTIVATIONS)
        self.act = ACTIVATIONS[act]()

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x: (B, *data_shape) int64, t: (B,) in [0, 1] -> logits (B, cells, K)."""
        B = x.shape[0]
        one_hot = F.one_hot(x.reshape(B, self.cells), self.n_classes + 1).to(self.stem.weight.dtype)
        h = self.stem(one_hot.transpose(1, 2).reshape(B, -1, *self.grid))
        if self.lines:
            h = h + self._line_term(x.reshape(B, self.cells))
        temb = self.temb(t)[:, :, None, None] if self.temb is not None else 0
        for conv, pooled in zip(self.convs, self.pooled):
            a = self.act(h)
            h = h + conv(a) + pooled(self._pool(a))[:, :, None, None] + temb
        return self.out(self.act(h)).flatten(2).transpose(1, 2)

    def _line_term(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, cells) int64 classes -> (B, width, rows, cols): the lines' features sent back to their
        cells, summed over the lines through each cell."""
        B, flat = x.shape[0], self.line_cells.flatten()
        along = F.one_hot(x[:, flat], self.n_classes + 1).to(self.stem.weight.dtype)   # (B, n_lines * L, K + 1)
        along = along.reshape(B, -1, self.lines * (self.n_classes + 1))                # a line's cells in order
        u = self.act(self.line_in(along) + self.line_bias)                             # (B, n_lines, line_width)
        back = self.line_out(self.act(self.line_mid(u))).reshape(B, flat.numel(), -1)  # (B, n_lines * L, LINE_BACK)
        summed = back.new_zeros(B, self.cells, back.shape[2]).index_add_(1, flat, back)
        return self.line_up(summed.transpose(1, 2).reshape(B, -1, *self.grid))

    def _pool(self, a: torch.Tensor) -> torch.Tensor:
        """(B, width, rows, cols) -> (B, POOLS[pool] * width): the mean over cells, then the maximum."""
        mean = a.mean((2, 3))
        return mean if self.pool == "mean" else torch.cat([mean, a.amax((2, 3))], 1)
