"""Masked diffusion against exact small cases: the forward marginals, the ELBO of the exact
denoiser (equal to the exact NLL), and sampling with the exact denoiser (reproduces the joint)."""
import itertools
import math

import pytest
import torch
from scipy.stats import chisquare

from difflab.errors import DifflabError
from difflab.nets.cellconv import CellConv, grid_lines
from difflab.samplers.registry import REGISTRY
from difflab.nets.cellmlp import CellMLP
from difflab.nets.transformer import Transformer
from difflab.objectives.masked import masked_elbo_count_loss, masked_elbo_loss, masked_nll_bound
from difflab.processes.masked import MaskedProcess, subs_log_probs
from difflab.samplers.masked import sample_masked

K = 3


def joint(n_cells, seed, zeros=3):
    """A random joint distribution over K^n_cells configurations, `zeros` of them impossible:
    (configs (N, n_cells) int64, probabilities (N,) float64)."""
    g = torch.Generator().manual_seed(seed)
    configs = torch.tensor(list(itertools.product(range(K), repeat=n_cells)), dtype=torch.long)
    p = -torch.log(torch.rand(len(configs), generator=g, dtype=torch.float64))      # Dirichlet(1)
    p[torch.randperm(len(configs), generator=g)[:zeros]] = 0
    return configs, p / p.sum()


def exact_logits_fn(configs, p):
    """The exact denoiser: log p(x0_i = k | the unmasked cells of x_t), (B, cells, K)."""
    onehot = torch.nn.functional.one_hot(configs, K).double()                   # (N, cells, K)

    def fn(x_t, t):
        x = x_t.reshape(x_t.shape[0], -1)
        consistent = ((x[:, None, :] == configs[None]) | (x[:, None, :] == K)).all(-1)   # (B, N)
        return torch.einsum("bn,nck->bck", consistent * p, onehot).log()
    return fn


def marginal_logits_fn(configs, p):
    """A denoiser that ignores x_t: the product of the cells' marginals."""
    marg = torch.einsum("n,nck->ck", p, torch.nn.functional.one_hot(configs, K).double())
    return lambda x_t, t: marg.log().expand(x_t.shape[0], -1, -1)


def draw(configs, p, n, seed):
    i = torch.multinomial(p, n, replacement=True, generator=torch.Generator().manual_seed(seed))
    return configs[i], p[i]


def exact_elbo(logits_fn, x0):
    """sum_m mean over all m-subsets S of (1/m) sum_{i in S} -log p(x0_i | x0 outside S), (B,)."""
    B, L = x0.shape
    total = torch.zeros(B, dtype=torch.float64)
    for m in range(1, L + 1):
        subsets = list(itertools.combinations(range(L), m))
        for S in subsets:
            x_t = x0.clone()
            x_t[:, list(S)] = K
            logp = subs_log_probs(logits_fn(x_t, None).double(), x_t, K).double()
            nll = -logp.gather(-1, x0[..., None])[..., 0][:, list(S)].sum(1)
            total += nll / m / len(subsets)
    return total


# -- the process ---------------------------------------------------------------------------------

@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_schedule_ends_derivative_and_inverse(schedule):
    proc = MaskedProcess(K, schedule)
    t = torch.linspace(0.01, 0.99, 50, dtype=torch.float64)
    assert proc.alpha(t).dtype == torch.float64
    assert float(proc.alpha(0.0)) == 1.0 and abs(float(proc.alpha(1.0))) < 1e-15
    assert torch.all(proc.alpha(t[1:]) < proc.alpha(t[:-1]))
    h = 1e-6
    fd = (proc.alpha(t + h) - proc.alpha(t - h)) / (2 * h)
    assert torch.allclose(proc.alpha_prime(t), fd, atol=1e-8)
    assert torch.allclose(proc.t_from_alpha(proc.alpha(t)), t, atol=1e-12)
    assert torch.allclose(proc.elbo_weight(t), -proc.alpha_prime(t) / (1 - proc.alpha(t)))


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_forward_marginal_masks_a_share_one_minus_alpha(schedule):
    proc = MaskedProcess(K, schedule)
    g = torch.Generator().manual_seed(0)
    B, cells = 4000, 10
    x0 = torch.randint(0, K, (B, cells), generator=g)
    for t in (0.0, 0.1, 0.5, 0.9, 1.0):
        x_t = proc.marginal(x0, torch.full((B,), t, dtype=torch.float64), g)
        masked = x_t == K
        share, expected = float(masked.double().mean()), 1 - float(proc.alpha(t))
        assert abs(share - expected) <= 4 * math.sqrt(expected * (1 - expected) / (B * cells)) + 1e-12, (t, share)
        assert torch.equal(x_t[~masked], x0[~masked])              # unmasked cells are the data


def test_marginal_takes_one_time_per_sample_and_prior_masks_everything():
    proc = MaskedProcess(K)
    x0 = torch.zeros(2, 500, dtype=torch.long)
    x_t = proc.marginal(x0, torch.tensor([0.0, 1.0], dtype=torch.float64), torch.Generator().manual_seed(1))
    assert (x_t[0] == 0).all() and (x_t[1] == K).all()
    assert torch.equal(proc.prior_sample((4, 9)), torch.full((4, 9), K))


def test_train_times_are_stratified_and_seeded():
    proc = MaskedProcess(K)
    t = proc.train_times(64, torch.Generator().manual_seed(2))
    assert t.shape == (64,) and t.min() > 0 and t.max() < 1
    assert torch.equal((t.sort().values * 64).floor(), torch.arange(64, dtype=torch.float64))   # one per stratum
    assert torch.equal(t, proc.train_times(64, torch.Generator().manual_seed(2)))


def test_bad_settings_list_the_valid_names():
    with pytest.raises(DifflabError, match="cosine, linear"):
        MaskedProcess(K, "sqrt")
    with pytest.raises(DifflabError, match="n_classes"):
        MaskedProcess(0)
    with pytest.raises(DifflabError, match="confidence, random"):
        sample_masked(None, MaskedProcess(K), torch.full((1, 2), K), [1.0, 0.0], order="left-to-right")


def test_subs_copies_unmasked_cells_and_never_predicts_the_mask():
    logits = torch.randn(2, 3, K)
    x_t = torch.tensor([[0, K, 2], [K, K, 1]])
    logp = subs_log_probs(logits, x_t, K)
    assert logp.shape == (2, 3, K)
    assert torch.allclose(logp.exp().sum(-1), torch.ones(2, 3))
    assert torch.equal(logp.exp()[0, 0], torch.tensor([1.0, 0, 0])) and torch.equal(logp.exp()[1, 2], torch.tensor([0, 1.0, 0]))
    assert torch.allclose(logp[0, 1], torch.log_softmax(logits[0, 1], -1))


# -- the ELBO ------------------------------------------------------------------------------------

def test_elbo_of_one_cell_with_the_exact_denoiser_is_minus_log_p():
    configs, p = joint(1, seed=3, zeros=0)
    fn = exact_logits_fn(configs, p)
    x0 = configs                                                    # each class once
    assert torch.allclose(exact_elbo(fn, x0), -p.log(), atol=1e-6)
    assert torch.allclose(masked_nll_bound(fn, MaskedProcess(K), x0), -p.log(), atol=1e-6)
    # the time form: weight(t) 1{masked} (-log p) has mean -log p; check it by Monte Carlo
    n = 100_000
    for schedule in ("linear", "cosine"):
        proc = MaskedProcess(K, schedule)
        x = x0.repeat(n // K + 1, 1)[:n]
        loss = masked_elbo_loss(fn, proc, x, generator=torch.Generator().manual_seed(4)).double()
        for k in range(K):
            v = loss[x[:, 0] == k]
            assert abs(float(v.mean() + p[k].log())) < 5 * float(v.std()) / math.sqrt(len(v)), (schedule, k)


def test_elbo_with_the_exact_denoiser_equals_the_nll_of_a_three_cell_joint():
    configs, p = joint(3, seed=5)
    fn = exact_logits_fn(configs, p)
    possible = p > 0
    x0, nll = configs[possible], -p[possible].log()
    # the bound is tight at the optimum, for every configuration (random orders of the chain rule)
    assert torch.allclose(exact_elbo(fn, x0), nll, atol=1e-5)
    # both estimators have that mean
    proc, n = MaskedProcess(K), 200
    x = x0.repeat_interleave(n, 0)
    g = torch.Generator().manual_seed(6)
    by_counts = masked_nll_bound(fn, proc, x, generator=g).view(-1, n)
    by_time = masked_elbo_loss(fn, proc, x, generator=g, n_noise=20).double().view(-1, n)
    by_one_count = masked_elbo_count_loss(fn, proc, x, generator=g, n_noise=5).double().view(-1, n)
    by_power = masked_elbo_count_loss(fn, proc, x, generator=g, n_noise=5, count_power=0.5).double().view(-1, n)
    for est in (by_counts, by_time, by_one_count, by_power):
        se = est.std(1) / math.sqrt(est.shape[1])
        assert torch.all((est.mean(1) - nll).abs() < 5 * se + 1e-6), (est.mean(1) - nll) / se


def test_count_draws_weighted_towards_few_masked_cells_keep_the_elbo():
    """count_power draws m with q(m) ~ m^-p and weights by (1/L)/q(m): for a denoiser that is not the
    optimum (another joint's exact one), whose levels m pay different amounts, the estimate's mean
    is still the exact ELBO, and small m is drawn more often."""
    configs, p = joint(3, seed=9)
    other, q = joint(3, seed=10, zeros=0)
    fn = exact_logits_fn(other, q)
    x0 = configs[p > 0]
    elbo = exact_elbo(fn, x0)
    n = 4000
    x = x0.repeat_interleave(n, 0)
    for power in (0.0, 0.5, 1.0):
        est = masked_elbo_count_loss(fn, MaskedProcess(K), x, generator=torch.Generator().manual_seed(11),
                                     n_noise=2, count_power=power).double().view(-1, n)
        se = est.std(1) / math.sqrt(n)
        assert torch.all((est.mean(1) - elbo).abs() < 5 * se + 1e-6), (power, (est.mean(1) - elbo) / se)
    seen = []
    net = lambda x_t, t: (seen.append((x_t == K).sum(1)), torch.zeros(x_t.shape[0], 3, K))[1]   # noqa: E731
    masked_elbo_count_loss(net, MaskedProcess(K), x0.repeat(3000, 1), generator=torch.Generator().manual_seed(12),
                           count_power=1.0)
    share = torch.bincount(seen[0], minlength=4)[1:].double() / len(seen[0])
    assert torch.allclose(share, torch.tensor([6 / 11, 3 / 11, 2 / 11], dtype=torch.float64), atol=0.01)


def test_elbo_of_a_wrong_denoiser_exceeds_the_entropy():
    configs, p = joint(3, seed=7)
    fn = marginal_logits_fn(configs, p)
    possible = p > 0
    x0, w = configs[possible], p[possible]
    elbo = exact_elbo(fn, x0)
    marg = torch.einsum("n,nck->ck", p, torch.nn.functional.one_hot(configs, K).double())
    # a denoiser that ignores x_t pays each cell's marginal -log p_i(x_i), whatever the order
    assert torch.allclose(elbo, -marg.log().gather(1, x0.T).sum(0), atol=1e-5)
    entropy = float(-(w * w.log()).sum())
    assert float((w * elbo).sum()) > entropy + 0.05


# -- sampling ------------------------------------------------------------------------------------

def _sample(fn, n, steps, seed, order="random", schedule="linear", cells=3, callback=None):
    proc = MaskedProcess(K, schedule)
    g = torch.Generator().manual_seed(seed)
    return sample_masked(fn, proc, proc.prior_sample((n, cells)), proc.default_times(steps), generator=g,
                         order=order, callback=callback)


def code(x):
    """The index in `joint`'s configs of each row of x (first cell the most significant digit)."""
    return (x * K ** torch.arange(x.shape[1] - 1, -1, -1)).sum(1)


def _counts(x, configs):
    assert torch.equal(code(configs), torch.arange(len(configs)))
    return torch.bincount(code(x), minlength=len(configs)).double()


@pytest.mark.parametrize("order", ["random", "confidence", "raster", "reverse"])
@pytest.mark.parametrize("steps", [3, 10])
def test_exact_denoiser_one_cell_per_step_reproduces_the_joint(order, steps):
    configs, p = joint(3, seed=8)
    n = 20_000
    x = _sample(exact_logits_fn(configs, p), n, steps, seed=9, order=order)
    counts = _counts(x, configs)
    assert counts[p == 0].sum() == 0                                # impossible configurations never appear
    possible = p > 0
    assert chisquare(counts[possible], n * p[possible]).pvalue > 1e-3
    assert 0.5 * float((counts / n - p).abs().sum()) < 0.03


def test_raster_and_reverse_orders_reveal_cells_by_index():
    """raster reveals cell 0 first, reverse the last cell first, one cell per step."""
    configs, p = joint(3, seed=8)
    for order, first in (("raster", [0, 1, 2]), ("reverse", [2, 1, 0])):
        seen = []
        _sample(exact_logits_fn(configs, p), 4, 3, seed=9, order=order, callback=lambda info: seen.append(info["x"].clone()))
        assert len(seen) == 3 and bool((seen[0] == K).all())
        for i in (1, 2):                                  # the cell revealed by step i - 1, in every sample
            newly = (seen[i] != K) & (seen[i - 1] == K)
            assert newly.sum(1).tolist() == [1] * 4 and newly[:, first[i - 1]].all(), order


def test_revealing_cells_together_draws_them_independently():
    configs, p = joint(3, seed=8)
    n = 20_000
    x = _sample(exact_logits_fn(configs, p), n, 1, seed=10)        # one step: all three cells at once
    marg = torch.einsum("n,nck->ck", p, torch.nn.functional.one_hot(configs, K).double())
    product = marg[0][configs[:, 0]] * marg[1][configs[:, 1]] * marg[2][configs[:, 2]]
    assert chisquare(_counts(x, configs), n * product).pvalue > 1e-3


def test_temperature_draws_from_the_sharpened_conditionals():
    """One cell, exact denoiser: temperature T draws class k with probability p_k^(1/T) / sum_j p_j^(1/T);
    T = 1 is the model itself, and a temperature that is not positive is refused."""
    configs, p = joint(1, seed=16, zeros=0)
    n = 20_000
    proc = MaskedProcess(K)
    for T in (0.5, 2.0):
        x = sample_masked(exact_logits_fn(configs, p), proc, proc.prior_sample((n, 1)), proc.default_times(1),
                          generator=torch.Generator().manual_seed(17), temperature=T)
        sharpened = p ** (1 / T) / (p ** (1 / T)).sum()
        assert chisquare(_counts(x, configs), n * sharpened).pvalue > 1e-3, T
        assert chisquare(_counts(x, configs), n * p).pvalue < 1e-6, T        # and not the untempered p
    for bad in (0, -1.0, True, "1"):
        with pytest.raises(DifflabError, match="temperature must be a positive number"):
            sample_masked(exact_logits_fn(configs, p), proc, proc.prior_sample((2, 1)), proc.default_times(1),
                          temperature=bad)


def test_gibbs_corrector_keeps_the_joint_and_undoes_independent_reveals():
    configs, p = joint(3, seed=14, zeros=0)
    fn, n = exact_logits_fn(configs, p), 8000
    marg = torch.einsum("n,nck->ck", p, torch.nn.functional.one_hot(configs, K).double())
    product = marg[0][configs[:, 0]] * marg[1][configs[:, 1]] * marg[2][configs[:, 2]]
    proc = MaskedProcess(K)
    x_T = proc.prior_sample((n, 3))
    for steps, rounds in ((3, 10), (1, 30)):                        # exact start / product-of-marginals start
        x = sample_masked(fn, proc, x_T, proc.default_times(steps), generator=torch.Generator().manual_seed(15),
                          corrector_rounds=rounds)
        assert chisquare(_counts(x, configs), n * p).pvalue > 1e-3, (steps, rounds)
    x = sample_masked(fn, proc, x_T, proc.default_times(1), generator=torch.Generator().manual_seed(15))
    assert chisquare(_counts(x, configs), n * product).pvalue > 1e-3     # without it: the product
    # block moves (2 or all 3 cells masked and redrawn one at a time): the joint again
    for block, rounds in ((2, 15), (3, 1)):
        seen = []
        x = sample_masked(fn, proc, x_T, proc.default_times(1), generator=torch.Generator().manual_seed(16),
                          corrector_rounds=rounds, corrector_block=block, callback=seen.append)
        assert chisquare(_counts(x, configs), n * p).pvalue > 1e-3, (block, rounds)
        assert len(seen) == 1 + rounds * block == REGISTRY["masked"].nfe(proc, proc.default_times(1),
                                                                       corrector_rounds=rounds, corrector_block=block)
    with pytest.raises(DifflabError, match="corrector_block must be a positive integer"):
        sample_masked(fn, proc, x_T, proc.default_times(1), corrector_rounds=1, corrector_block=0)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_each_step_reveals_the_expected_share_and_ends_unmasked(schedule):
    configs, p = joint(3, seed=11)
    fn = exact_logits_fn(configs, p)
    cells, steps, proc, seen = 3, 5, MaskedProcess(K, schedule), []
    fn6 = lambda x, t: fn(x[:, :3], t).repeat(1, 2, 1)  # noqa: E731  (six cells: two copies of the joint's)
    x = _sample(fn6, 50, steps, seed=12, schedule=schedule, cells=2 * cells,
                callback=lambda d: seen.append((d["t"], int((d["x"] == K).sum(1).max()))))
    assert (x != K).all() and x.shape == (50, 6)
    ts = proc.default_times(steps)
    n, expected = 6, []
    for i in range(steps):                                          # masked counts at the calls made
        if n - round(n * (1 - float(proc.alpha(ts[i + 1]))) / (1 - float(proc.alpha(ts[i])))) > 0:
            expected.append((float(ts[i]), n))
        n = round(n * (1 - float(proc.alpha(ts[i + 1]))) / (1 - float(proc.alpha(ts[i]))))
    assert seen == expected and len(seen) <= steps


def test_sampling_keeps_given_cells_and_is_seeded():
    configs, p = joint(3, seed=13)
    fn = exact_logits_fn(configs, p)
    proc = MaskedProcess(K)
    x_T = torch.tensor([[configs[int(p.argmax())][0], K, K]]).repeat(200, 1)
    a = sample_masked(fn, proc, x_T, proc.default_times(3), generator=torch.Generator().manual_seed(1))
    b = sample_masked(fn, proc, x_T, proc.default_times(3), generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and (a[:, 0] == x_T[:, 0]).all() and (a != K).all()
    assert p[code(a)].min() > 0


# -- the network ---------------------------------------------------------------------------------

CELL_NETS = {
    "transformer": lambda shape, time: Transformer(shape, n_classes=K, width=32, depth=2, heads=2, time=time),
    "cellmlp": lambda shape, time: CellMLP(shape, n_classes=K, width=32, depth=2, time=time),
    "cellconv": lambda shape, time: CellConv(shape, n_classes=K, width=8, depth=2, time=time),
    "cellconv-meanmax": lambda shape, time: CellConv(shape, n_classes=K, width=8, depth=2, time=time, pool="meanmax"),
    "cellconv-lines": lambda shape, time: CellConv(shape, n_classes=K, width=8, depth=2, time=time, lines=2),
    "cellconv-relu": lambda shape, time: CellConv(shape, n_classes=K, width=8, depth=2, time=time, act="relu"),
}


@pytest.mark.parametrize("name", sorted(CELL_NETS))
@pytest.mark.parametrize("time", ["none", "add"])
def test_cell_networks_give_logits_per_cell_and_train_on_the_elbo(name, time):
    torch.manual_seed(0)
    net = CELL_NETS[name]((3, 2), time)
    proc = MaskedProcess(K)
    x0 = torch.randint(0, K, (8, 3, 2), generator=torch.Generator().manual_seed(0))
    x_t = proc.marginal(x0, torch.full((8,), 0.5, dtype=torch.float64), torch.Generator().manual_seed(1))
    assert net(x_t, torch.rand(8)).shape == (8, 6, K)
    loss = masked_elbo_loss(net, proc, x0, generator=torch.Generator().manual_seed(2))
    assert loss.shape == (8,) and torch.isfinite(loss).all() and (loss >= 0).all()
    assert masked_elbo_loss(net, proc, x0, generator=torch.Generator().manual_seed(2), n_noise=3).shape == (8,)
    assert masked_elbo_count_loss(net, proc, x0, generator=torch.Generator().manual_seed(2)).shape == (8,)
    loss.mean().backward()
    assert all(q.grad is not None and q.grad.abs().sum() > 0 for q in net.parameters())


def test_cellconv_lays_flat_cells_on_its_grid_and_sees_the_whole_board():
    """A flat board of 42 cells on a 6 x 7 grid gives the same logits as the 2D board; with one
    block (a 5 x 5 receptive field by convolution) a change in one corner still moves the logits in
    the opposite corner, through the pooled term."""
    torch.manual_seed(0)
    flat, grid2d = CellConv((42,), n_classes=K, width=8, depth=1, grid=[6, 7]), CellConv((6, 7), n_classes=K, width=8, depth=1)
    grid2d.load_state_dict(flat.state_dict())
    x = torch.randint(0, K + 1, (4, 42), generator=torch.Generator().manual_seed(0))
    t = torch.rand(4)
    assert torch.equal(flat(x, t), grid2d(x.view(4, 6, 7), t))
    y = x.clone()
    y[:, 0] = (x[:, 0] + 1) % (K + 1)                     # top-left corner
    assert (flat(y, t)[:, 41] - flat(x, t)[:, 41]).abs().amax() > 1e-6   # bottom-right corner
    # the maximum over cells sees a pattern anywhere: one cell's change in a far corner moves the
    # max-pooled features alone (the mean term's weights zeroed) as well
    mm = CellConv((42,), n_classes=K, width=8, depth=1, grid=[6, 7], pool="meanmax")
    with torch.no_grad():
        mm.pooled[0].weight[:, :8] = 0
    assert mm.pooled[0].in_features == 16 and (mm(y, t)[:, 41] - mm(x, t)[:, 41]).abs().amax() > 1e-6
    with pytest.raises(DifflabError, match="unknown pooling 'max'"):
        CellConv((42,), n_classes=K, grid=[6, 7], pool="max")
    with pytest.raises(DifflabError, match="needs network.grid"):
        CellConv((42,), n_classes=K)
    with pytest.raises(DifflabError, match="rows \\* cols = 42"):
        CellConv((42,), n_classes=K, grid=[6, 6])


def test_grid_lines_are_every_row_column_and_diagonal_run_once():
    """Tic-tac-toe's 8 lines of three; Connect Four's 69 lines of four (24 in rows, 21 in columns,
    12 on each diagonal), each L consecutive cells along one direction, none twice."""
    assert sorted(map(sorted, grid_lines(3, 3, 3).tolist())) == sorted(
        [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]])
    c4 = grid_lines(6, 7, 4)
    assert c4.shape == (69, 4) and len({tuple(sorted(line)) for line in c4.tolist()}) == 69
    rows, cols = c4 // 7, c4 % 7
    dr, dc = rows.diff(dim=1), cols.diff(dim=1)
    assert ((dr == dr[:, :1]) & (dc == dc[:, :1])).all()                        # one step along a line
    steps = sorted(zip(dr[:, 0].tolist(), dc[:, 0].tolist()))
    assert [steps.count(d) for d in [(0, 1), (1, 0), (1, 1), (1, -1)]] == [24, 21, 12, 12]
    assert grid_lines(2, 2, 3).shape == (0, 3)


def test_cellconv_line_term_reaches_exactly_the_cells_on_a_common_line():
    """Without blocks the stem's 3x3 convolution sees a cell's neighbours only; the line term adds
    exactly the cells that share a line of four with it (and no others)."""
    torch.manual_seed(0)
    x = torch.randint(0, K + 1, (4, 42), generator=torch.Generator().manual_seed(0))
    y = x.clone()
    y[:, 0] = (x[:, 0] + 1) % (K + 1)                     # top-left corner
    t = torch.rand(4)
    for lines in (0, 4):
        net = CellConv((42,), n_classes=K, width=8, depth=0, grid=[6, 7], lines=lines)
        moved = {c for c in range(42) if (net(y, t)[:, c] - net(x, t)[:, c]).abs().amax() > 1e-6}
        near = {0, 1, 7, 8}
        on_line = {0, 1, 2, 3, 7, 14, 21, 8, 16, 24} if lines else set()
        assert moved == near | on_line, lines
    for bad in (4, 1):
        with pytest.raises(DifflabError, match="no line of that many cells"):
            CellConv((9,), n_classes=K, grid=[3, 3], lines=bad)
    with pytest.raises(DifflabError, match="network.lines must be 0"):
        CellConv((9,), n_classes=K, grid=[3, 3], lines=-1)


def test_gibbs_corrector_never_redraws_given_cells_and_samples_the_conditional():
    """Completing a partly masked row: the corrector redraws only the cells x_T left masked, and with
    the exact denoiser the completed cells follow p(x1, x2 | x0 = given)."""
    configs, p = joint(3, seed=14, zeros=0)
    fn, n = exact_logits_fn(configs, p), 6000
    proc = MaskedProcess(K)
    x_T = proc.prior_sample((n, 3))
    x_T[:, 0] = 1                                                    # cell 0 given as class 1
    x = sample_masked(fn, proc, x_T, proc.default_times(1), generator=torch.Generator().manual_seed(3),
                      corrector_rounds=40)
    assert (x[:, 0] == 1).all() and (x != proc.mask_index).all()
    blocks = sample_masked(fn, proc, x_T, proc.default_times(1), generator=torch.Generator().manual_seed(3),
                           corrector_rounds=20, corrector_block=3)        # a block larger than the 2 free cells
    assert (blocks[:, 0] == 1).all() and (blocks != proc.mask_index).all()
    keep = configs[:, 0] == 1
    cond = p[keep] / p[keep].sum()
    assert chisquare(_counts(x, configs)[keep], n * cond).pvalue > 1e-3
    assert chisquare(_counts(blocks, configs)[keep], n * cond).pvalue > 1e-3
