"""Issue 16, point 3 and the pieces around it, each against an exact small case: the cell MLP
(its first layer is a linear map of one-hot cells), each cell's likelihood given the rest and the
place of one flipped cell (exact posterior by enumeration), the posterior draw of a flipped cell,
the rules-only baselines, damage and scores, and the reverse-process picture of masked states."""
import itertools

import matplotlib
import numpy as np
import pytest
import torch
from scipy.stats import chisquare

matplotlib.use("Agg")

from difflab.errors import DifflabError  # noqa: E402
from difflab.kinds.board import pictures  # noqa: E402
from difflab.kinds.board.kind import BoardKind  # noqa: E402
from difflab.kinds.board.restore import (flip_k, hide_k, restoration_scores, rules_complete,  # noqa: E402
                                         rules_nearest, within)
from difflab.kinds.board.spec import get_game  # noqa: E402
from difflab.nets import make_network  # noqa: E402
from difflab.processes.masked import MaskedProcess  # noqa: E402
from difflab.samplers.masked import cell_log_likelihoods, locate_flips, restore_flipped  # noqa: E402

K = 3


def joint(n_cells, seed, zeros=3):
    g = torch.Generator().manual_seed(seed)
    configs = torch.tensor(list(itertools.product(range(K), repeat=n_cells)), dtype=torch.long)
    p = -torch.log(torch.rand(len(configs), generator=g, dtype=torch.float64))
    p[torch.randperm(len(configs), generator=g)[:zeros]] = 0
    return configs, p / p.sum()


def exact_logits_fn(configs, p):
    """log p(x0_i = k | the unmasked cells of x_t), (B, cells, K)."""
    onehot = torch.nn.functional.one_hot(configs, K).double()

    def fn(x_t, t):
        x = x_t.reshape(x_t.shape[0], -1)
        consistent = ((x[:, None, :] == configs[None]) | (x[:, None, :] == K)).all(-1)
        return torch.einsum("bn,nck->bck", consistent * p, onehot).log()
    return fn


def prob(configs, p, x):
    return float(p[(configs == x).all(1)].sum())


# -- the cell MLP ------------------------------------------------------------------------------------

def test_cell_mlp_first_layer_is_linear_in_one_hot_cells_and_shapes():
    torch.manual_seed(0)
    net = make_network({"name": "cellmlp", "n_classes": K, "width": 8, "depth": 2}, (5,))
    x = torch.randint(0, K + 1, (7, 5))
    onehot = torch.nn.functional.one_hot(x, K + 1).float().flatten(1)             # (7, 5 * (K + 1))
    assert torch.allclose(net.inp(x + net.offset) + net.bias, onehot @ net.inp.weight + net.bias, atol=1e-6)
    out = net(x, torch.rand(7))
    assert out.shape == (7, 5, K)
    y = x.clone()
    y[:, 0] = (y[:, 0] + 1) % (K + 1)                  # one cell changed: every cell's logits may move
    assert not torch.allclose(net(y, torch.rand(7))[:, 1:], out[:, 1:])
    with pytest.raises(DifflabError, match="add, none"):
        make_network({"name": "cellmlp", "n_classes": K, "time": "film"}, (5,))


# -- one flipped cell: its place and its value against the exact posterior --------------------------

def test_cell_log_likelihoods_are_the_exact_one_cell_conditionals():
    configs, p = joint(4, seed=1)
    fn, proc = exact_logits_fn(configs, p), MaskedProcess(K)
    x = configs[p > 0][:20]
    ll = cell_log_likelihoods(fn, proc, x)
    for b in range(len(x)):
        for i in range(4):
            rest = [configs[:, j] == x[b, j] for j in range(4) if j != i]
            same_rest = torch.stack(rest).all(0)
            want = float(p[same_rest & (configs[:, i] == x[b, i])].sum() / p[same_rest].sum())
            assert float(ll[b].exp()[i]) == pytest.approx(want, rel=1e-6)
    # with other cells masked as well: conditionals given fewer cells
    masked = torch.zeros_like(x, dtype=torch.bool)
    masked[:, 0] = True
    ll2 = cell_log_likelihoods(fn, proc, x, masked)
    b, i = 0, 2
    rest = torch.stack([configs[:, j] == x[b, j] for j in (1, 3)]).all(0)
    assert float(ll2[b, i].exp()) == pytest.approx(float(p[rest & (configs[:, i] == x[b, i])].sum() / p[rest].sum()))


def test_one_flip_is_placed_at_the_exact_posterior_mode_and_redrawn_from_the_exact_posterior():
    configs, p = joint(4, seed=2, zeros=10)
    fn, proc = exact_logits_fn(configs, p), MaskedProcess(K)
    ys = configs[:40]
    chosen = locate_flips(fn, proc, ys, 1)
    assert torch.equal(chosen.sum(1), torch.ones(40, dtype=torch.long))
    for b, y in enumerate(ys):
        # P(flip at i | y) ∝ sum over the other classes c of p(y with cell i set to c)
        post = []
        for i in range(4):
            total = 0.0
            for c in range(K):
                if c != int(y[i]):
                    z = y.clone()
                    z[i] = c
                    total += prob(configs, p, z)
            post.append(total)
        post = np.array(post)
        if prob(configs, p, y) > 0 and np.sum(post == post.max()) == 1:     # (p(y) = 0: every p_i is 0, a tie)
            assert int(chosen[b].nonzero()) == int(post.argmax()), b
    # the redraw: the flipped cell's class follows p(x_i | y_-i, x_i != y_i)
    y = ys[5:6]
    i = int(chosen[5].nonzero())
    n = 4000
    out = restore_flipped(fn, proc, y.repeat(n, 1), 1, proc.default_times(4), generator=torch.Generator().manual_seed(0))
    assert torch.equal(out[:, [j for j in range(4) if j != i]], y.repeat(n, 1)[:, [j for j in range(4) if j != i]])
    assert (out[:, i] != y[0, i]).all()
    w = []
    for c in range(K):
        z = y[0].clone()
        z[i] = c
        w.append(0.0 if c == int(y[0, i]) else prob(configs, p, z))
    w = np.array(w) / sum(w)
    counts = np.bincount(out[:, i].numpy(), minlength=K)
    keep = w > 0
    assert counts[~keep].sum() == 0
    if keep.sum() > 1:
        assert chisquare(counts[keep], w[keep] * n).pvalue > 1e-3


def test_locate_flips_takes_k_per_row_and_never_the_same_cell_twice():
    configs, p = joint(4, seed=3)
    fn, proc = exact_logits_fn(configs, p), MaskedProcess(K)
    chosen = locate_flips(fn, proc, configs[:10], torch.tensor([1, 2, 3, 4, 0, 1, 2, 3, 4, 2]))
    assert chosen.sum(1).tolist() == [1, 2, 3, 4, 0, 1, 2, 3, 4, 2]


# -- damage, the rules-only baselines, scores ------------------------------------------------------

def test_damage_is_exactly_k_cells_and_flips_change_them():
    rng = np.random.default_rng(0)
    b = rng.integers(-1, 2, size=(200, 9)).astype(np.int8)
    assert (hide_k(b, 2, rng).sum(1) == 2).all()
    flipped, places = flip_k(b, 3, rng)
    assert (places.sum(1) == 3).all() and ((flipped != b) == places).all()
    assert set(np.unique(flipped)) <= {-1, 0, 1}
    with pytest.raises(DifflabError, match="1..9"):
        hide_k(b, 0, rng)
    assert len(within(b[0], 2)) == 36 * 4 and (np.sum(within(b[0], 2) != b[0], 1) == 2).all()


def test_rules_baselines_on_hand_made_boards():
    game, rng = get_game("tictactoe"), np.random.default_rng(0)
    # X X X / O O . / . . .  with the O at cell 3 hidden: O must be 2 to X's 3 (one legal completion: O)
    board = np.array([[1, 1, 1, -1, -1, 0, 0, 0, 0]], dtype=np.int8)
    hidden = np.zeros_like(board, dtype=bool)
    hidden[0, 3] = True
    assert np.array_equal(rules_complete(np.where(hidden, 0, board), hidden, game, rng), board)
    # a board with an X flipped to O: X X O / O O . / . . . has O 3 to X's 2, illegal; its nearest
    # legal boards are at distance 1 (several), and the restoration is one of them
    flipped = np.array([[1, 1, -1, -1, -1, 0, 0, 0, 0]], dtype=np.int8)
    assert not game.legal(flipped)[0]
    out = rules_nearest(flipped, game, rng)
    assert game.legal(out)[0] and int((out != flipped).sum()) == 1
    assert np.array_equal(rules_nearest(board, game, rng), board)          # a legal board stays
    s = restoration_scores(board, out, np.array([[0, 0, 1, 0, 0, 0, 0, 0, 0]], dtype=bool), game)
    assert s["legal"] == 1.0 and s["exact"] == float(np.array_equal(out, board))
    assert s["cell_accuracy"] == float(out[0, 2] == 1)


# -- the reverse-process picture of a masked run (NaN in masked cells) -----------------------------

def test_masked_cells_are_drawn_grey_and_the_reverse_picture_is_boards(tmp_path):
    import matplotlib.pyplot as plt
    boards = np.array([[np.nan, 1, -1, 0, np.nan, 0, 0, 0, 1]])
    fig, ax = plt.subplots()
    pictures.draw_boards(ax, boards, "tictactoe")
    greys = [c for coll in ax.collections for c in np.atleast_2d(coll.get_facecolor())
             if np.allclose(c[:3], matplotlib.colors.to_rgb(pictures.MASKED))]
    assert len(greys) == 2
    plt.close(fig)

    class Run:                                  # what plot_reverse reads of a masked run
        categories = object()
        dataset_name, shape = "tictactoe", (9,)

        class config:
            method, sampler = "masked", "masked"

    snaps = [(1.0, np.full((3, 9), np.nan)), (0.5, np.where(np.arange(9) < 4, np.nan, 1.0)[None].repeat(3, 0)),
             (0.0, np.ones((3, 9)))]
    paths = BoardKind().plot_reverse(Run(), tmp_path / "rev", snapshots=snaps)
    assert [p.name for p in paths] == ["rev.png"] and paths[0].stat().st_size > 1000


# -- difflab denoise --flip ------------------------------------------------------------------------

def test_denoise_flip_through_the_cli(tmp_path, capsys):
    from difflab.cli import main
    tiny = ["--set", "network.width=16", "--set", "network.depth=1", "--set", "batch_size=64", "--set", "threads=1",
            "--no-progress"]
    run = tmp_path / "ttt"
    assert main(["train", "tictactoe", "--method", "masked", "--out", str(run), "--steps", "30",
                 "--set", "network.name=cellmlp", *tiny]) == 0
    clean = tmp_path / "clean.npy"
    boards = get_game("tictactoe")
    from difflab.data import get_dataset
    np.save(clean, get_dataset("tictactoe").test[:30].astype(np.int8))
    out = tmp_path / "r.npy"
    capsys.readouterr()
    assert main(["denoise", str(run), "--input", str(clean), "--flip", "0.2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 cells of each flipped" in text and "boards restored exactly" in text
    from difflab.denoise import flip_cells
    from difflab.run import load
    loaded = load(run)
    damaged, places, k = flip_cells(loaded, np.load(clean), 0.2, 0)
    assert k == 2 and (places.sum(1) == 2).all() and ((damaged != np.load(clean)) == places).all()
    restored = np.load(out)
    # k greedy one-cell changes, each to a cell not changed before: exactly k cells differ from the damaged board
    assert ((restored != damaged).sum(1) == 2).all() and boards.n_cells == restored.shape[1]
    for bad, message in ((["--flip", "1.5"], "share of flipped cells"), (["--flip", "0.2", "--hide", "0.2"], "not both"),
                         ([], "--hide P or --flip P")):
        assert main(["denoise", str(run), "--input", str(clean), "--out", str(tmp_path / "x.npy"), *bad]) != 0
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1


def test_chain_likelihood_is_exact_and_one_flip_is_restored_to_the_posterior_mode():
    from difflab.samplers.masked import chain_log_likelihood, restore_flipped_map
    configs, p = joint(3, seed=5, zeros=6)
    fn, proc = exact_logits_fn(configs, p), MaskedProcess(K)
    x = configs[p > 0]
    ll = chain_log_likelihood(fn, proc, x, orders=2, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(ll, p[p > 0].log(), atol=1e-5)
    ys = configs[:27]
    out = restore_flipped_map(fn, proc, ys, 1, orders=1, generator=torch.Generator().manual_seed(0))
    for y, o in zip(ys, out):
        assert int((o != y).sum()) == 1                          # exactly one cell changed
        # the mode of p(x | y) ∝ p(x) over the boards one cell away from y
        near = [c for c in configs if int((c != y).sum()) == 1]
        best = max(prob(configs, p, c) for c in near)
        assert prob(configs, p, o) == pytest.approx(best, rel=1e-6)
