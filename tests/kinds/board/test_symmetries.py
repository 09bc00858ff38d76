"""Board symmetries: the groups are what they say (permutations closed under composition), they
keep every legal position legal and the truths' statistics, the trainer draws one per training
row from the run's generator, and a run trained with them resumes exactly."""
import json

import numpy as np
import pytest
import torch

from difflab.cli import main
from difflab.data import get_dataset
from difflab.errors import DifflabError
from difflab.kinds.board import connect4, tictactoe
from difflab.kinds.board.spec import cell_permutations, get_game
from difflab.training.batches import next_batch, random_symmetry

TINY = ["--set", "network.width=16", "--set", "network.depth=1", "--set", "batch_size=64",
        "--set", "threads=1", "--no-progress"]


def cli(*args):
    return main([str(a) for a in args])


def as_set(perms):
    return {tuple(p) for p in perms}


@pytest.mark.parametrize("rows, cols, group, size", [(3, 3, "dihedral", 8), (6, 7, "mirror", 2), (4, 4, "dihedral", 8)])
def test_the_groups_are_groups_of_permutations(rows, cols, group, size):
    perms = cell_permutations(rows, cols, group)
    assert perms.shape == (size, rows * cols) and len(as_set(perms)) == size
    assert (perms[0] == np.arange(rows * cols)).all()                       # identity first
    assert all(sorted(p) == list(range(rows * cols)) for p in perms)       # each one a permutation
    assert as_set(p[q] for p in perms for q in perms) == as_set(perms)     # closed under composition


def test_tictactoe_symmetries_by_hand():
    perms = cell_permutations(3, 3, "dihedral")
    board = np.arange(9)                               # cells 0..8, row-major
    images = as_set(board[p] for p in perms)
    assert (2, 5, 8, 1, 4, 7, 0, 3, 6) in images       # a quarter turn (anticlockwise)
    assert (2, 1, 0, 5, 4, 3, 8, 7, 6) in images       # left-right mirror
    assert (0, 3, 6, 1, 4, 7, 2, 5, 8) in images       # transpose
    assert (6, 7, 8, 3, 4, 5, 0, 1, 2) in images       # top-bottom mirror
    mirror = cell_permutations(6, 7, "mirror")[1]
    assert list(mirror[:7]) == [6, 5, 4, 3, 2, 1, 0]
    with pytest.raises(DifflabError, match="square"):
        cell_permutations(6, 7, "dihedral")
    with pytest.raises(DifflabError, match="symmetry group"):
        cell_permutations(3, 3, "spin")


def test_symmetries_map_the_reachable_tictactoe_positions_onto_themselves():
    positions = tictactoe.positions().astype(int)
    known = as_set(positions)
    for p in get_game("tictactoe").symmetries:
        assert as_set(positions[:, p]) == known


def test_connect4_mirror_keeps_boards_legal_and_the_truth_symmetric():
    rng = np.random.default_rng(0)
    boards = connect4.generate_positions(4000, rng)
    mirror = get_game("connect4").symmetries[1]
    assert connect4.is_legal(boards[:, mirror]).all()
    # the truth is mirror-symmetric: the column occupancy agrees with its mirror within sampling noise
    filled = (boards != 0).reshape(-1, 6, 7).sum(axis=(0, 1)).astype(float)
    se = np.sqrt(filled + filled[::-1])
    assert np.all(np.abs(filled - filled[::-1]) < 4 * se)


def test_random_symmetry_draws_one_per_row_from_the_generator():
    perms = torch.as_tensor(cell_permutations(3, 3, "dihedral"))
    x = torch.arange(9).repeat(4000, 1)                                     # (N, 9) int64 classes
    a = random_symmetry(x, perms, torch.Generator().manual_seed(3))
    b = random_symmetry(x, perms, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    seen = [tuple(r) for r in a.tolist()]
    counts = np.array([seen.count(tuple(p.tolist())) for p in perms])
    assert counts.sum() == 4000 and np.all(np.abs(counts - 500) < 4 * np.sqrt(500))   # uniform over the 8
    onehot = torch.nn.functional.one_hot(x[:5], 9).float()                  # (N, cells, channels) rows too
    c = random_symmetry(onehot, perms, torch.Generator().manual_seed(3))
    assert torch.equal(c.argmax(-1), a[:5])
    y, _ = next_batch(x, None, torch.arange(6), torch.Generator().manual_seed(3), hflip=False, label_dropout=0.0)
    assert torch.equal(y, x[:6])                                            # off: the rows as they are


def test_the_option_is_checked_and_recorded():
    assert get_dataset("tictactoe").augment_symmetries is None
    ds = get_dataset("tictactoe", symmetries=True)
    assert ds.augment_symmetries.shape == (8, 9) and ds.info()["symmetries"] is True
    assert get_dataset("connect4", n_train=10, n_test=10, symmetries=True).augment_symmetries.shape == (2, 42)
    with pytest.raises(DifflabError, match="symmetries must be true or false"):
        get_dataset("tictactoe", symmetries="yes")


def test_a_run_with_symmetries_resumes_exactly(tmp_path):
    args = ["train", "tictactoe", "--method", "masked", *TINY, "--set", "n_train=256", "--set", "lr_min_ratio=1",
            "--set", "lr_warmup=5", "--set", "data_options={symmetries: true}"]
    assert cli(*args, "--steps", 16, "--out", tmp_path / "whole") == 0
    assert cli(*args, "--steps", 8, "--out", tmp_path / "parts") == 0
    assert cli(*args, "--steps", 16, "--out", tmp_path / "parts", "--resume") == 0
    assert (tmp_path / "whole" / "model.safetensors").read_bytes() == (tmp_path / "parts" / "model.safetensors").read_bytes()
    assert json.loads((tmp_path / "whole" / "config.json").read_text())["runtime"]["symmetries"] == 8
    plain = ["train", "tictactoe", "--method", "masked", *TINY, "--set", "n_train=256", "--steps", 16]
    assert cli(*plain, "--out", tmp_path / "plain") == 0                   # the symmetries change what is trained
    assert (tmp_path / "plain" / "model.safetensors").read_bytes() != (tmp_path / "whole" / "model.safetensors").read_bytes()
