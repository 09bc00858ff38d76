"""Unmasking: the reverse process of masked diffusion (MDLM, Sahoo et al. 2024).

A step from t to s < t keeps every unmasked cell and reveals some masked ones, each with a class
drawn from the denoiser's p_theta(x0_i | x_t) (SUBS: `processes.masked.subs_log_probs`). MDLM's
reverse posterior reveals each masked cell with probability p = (alpha(s) - alpha(t)) / (1 - alpha(t));
here each step reveals its expected number, n - round(n (1 - alpha(s)) / (1 - alpha(t))) of the
n masked cells of a sample, so the masked share follows 1 - alpha exactly and the last step
(alpha(0) = 1) reveals the rest. Which cells:

- order "random": a uniformly random subset of the masked cells (MDLM's sampler, up to the
  rounding of their number);
- order "confidence": the cells whose predicted distribution has the largest top probability
  (MaskGIT, Chang et al. 2022), so the least ambiguous cells are settled first;
- order "raster": the masked cells in index order, first cell first; "reverse": last cell first
  (with one cell per step an autoregressive order: on a board stored top row first, as Connect Four
  is, "reverse" fills the bottom row first, the order in which gravity lets discs arrive).

With steps >= cells on the linear schedule each step reveals at most one cell; then, with the
exact denoiser p(x0_i | revealed cells), either order samples the data distribution exactly
(the chain rule holds for any order, even one chosen from the cells already revealed). With
fewer steps, cells revealed together are drawn independently given the rest: the price of speed.
A step that reveals no cell in any sample skips the network call.

`corrector_rounds` > 0 then runs that many rounds of random-scan Gibbs sampling (over the cells x_T
left masked; given cells are never redrawn) on the finished
cells: each round masks one uniformly random cell per sample and redraws it from p_theta(x0_i | the
other cells), one network call per round (NFE <= steps + corrector_rounds). With the exact
denoiser every round leaves the data distribution invariant, and on a fully supported one it
converges to it from wherever unmasking left off; with a trained one it lets the conditionals
with the most context (all cells but one) undo what the early, least informed reveals got wrong
(cf. the corrector steps of Campbell et al. 2022 and the remasking of ReMDM, Wang et al. 2025).
`corrector_block` = m > 1 makes each round a block move: m random cells are masked together and
redrawn one at a time in random order, each from p_theta(x0_i | the rest and the cells of the block
redrawn so far), m network calls per round (NFE <= steps + m * corrector_rounds). With the exact
denoiser the chain rule makes that a draw from p(block | rest), so the data distribution is again
invariant, and a block can in principle move between boards that differ in several cells where every
one-cell step in between is impossible. Measured on Connect Four (two trained cellconv networks,
2000 boards each, BENCHMARKS.md round 5) blocks of 2-14 cells gave 87.9-90.5% legal boards where
single cells gave 92.6-92.8% at the same NFE (126): a trained denoiser's joint draw over several
cells is less accurate than its one-cell conditionals, so the default stays m = 1.

`temperature` < 1 draws every class from p_theta(x0_i | x_t)^(1/T), renormalised (MaskGIT's and
MDLM's sampling temperature): the conditionals are sharpened towards their most likely classes, which
trades diversity for fewer unlikely draws; 1 (the default) samples the model itself.
"""
from __future__ import annotations

import torch

from ..errors import DifflabError, unknown_name
from ..processes.masked import subs_log_probs
from ..utils import batch_times
from .common import report

ORDERS = ("random", "confidence", "raster", "reverse")


def _gumbel_argmax(logp, generator, temperature: float = 1.0):
    """One class per cell drawn from exp(logp / temperature) (B, cells, K), renormalised, by the
    Gumbel-max trick, (B, cells)."""
    u = torch.rand(logp.shape, generator=generator, device=logp.device).clamp(min=1e-20)
    return (logp / temperature - torch.log(-torch.log(u))).argmax(-1)


@torch.no_grad()
def sample_masked(denoise_fn, process, x_T, ts, *, generator=None, callback=None, order: str = "random",
                  corrector_rounds: int = 0, corrector_block: int = 1, temperature: float = 1.0):
    """Unmask x_T (B, ...) int64 (mask = process.mask_index; `prior_sample` masks every cell)
    over the decreasing times `ts`; denoise_fn(x_t, t (B,)) -> logits (B, cells, K) (a categorical
    run's network: the common sampler signature, with logits where the Gaussian samplers get eps).

    Cells unmasked in x_T are kept (so a partly masked board is completed). Returns int64 with
    x_T's shape, with no mask left when ts ends at 0. `callback` receives {"i", "t", "x",
    "x0_hat"} (x0_hat: the most likely class of every cell) at every step that calls the network.
    """
    if order not in ORDERS:
        raise unknown_name("unmasking order", order, ORDERS)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
        raise DifflabError(f"the sampling temperature must be a positive number, got {temperature!r}")
    if isinstance(corrector_block, bool) or not isinstance(corrector_block, int) or corrector_block < 1:
        raise DifflabError(f"corrector_block must be a positive integer, got {corrector_block!r}")
    mask = process.mask_index
    B = x_T.shape[0]
    x = x_T.reshape(B, -1).clone()
    for i in range(len(ts) - 1):
        t, s = float(ts[i]), float(ts[i + 1])
        # how many masked cells to reveal: the posterior's expected number
        masked = x == mask
        n = masked.sum(1)
        a_t, a_s = float(process.alpha(t)), float(process.alpha(s))
        keep = (1 - a_s) / (1 - a_t) if a_t < 1 else 0.0           # share of masked cells still masked at s
        n_reveal = n - torch.round(n.double() * min(max(keep, 0.0), 1.0)).long()
        if not bool((n_reveal > 0).any()):
            continue
        # the denoiser's p(x0 | x_t) and one draw of every cell from it
        logp = subs_log_probs(denoise_fn(x.view(x_T.shape), batch_times(t, x)), x, mask)
        x0_draw = _gumbel_argmax(logp, generator, temperature)
        report(callback, i, t, x.view(x_T.shape), logp.argmax(-1).view(x_T.shape))
        # rank the masked cells (random or most confident first) and reveal the first n_reveal
        if order == "random":
            score = torch.rand(x.shape, generator=generator, device=x.device)
        elif order == "confidence":
            score = logp.max(-1).values
        else:
            index = torch.arange(x.shape[1], device=x.device, dtype=logp.dtype).expand(x.shape)
            score = -index if order == "raster" else index
        score = torch.where(masked, score, torch.full_like(score, -torch.inf))
        rank = torch.sort(score, dim=1, descending=True, stable=True).indices.argsort(1)
        x = torch.where(masked & (rank < n_reveal[:, None]), x0_draw, x)
    # Gibbs corrector: redraw a block of random cells per sample from their conditional given all the
    # others, one cell at a time; only cells that x_T left masked are redrawn (the given cells stay)
    rows, L = torch.arange(B, device=x.device), x.shape[1]
    free = x_T.reshape(B, -1) == mask
    m = min(corrector_block, L)
    calls = len(ts) - 1
    for _ in range(corrector_rounds):
        # m distinct free cells per sample, in random order (a row with fewer free cells redraws those
        # it has); one cell is drawn as the single-cell corrector always drew it, so its samples stay
        if m == 1 and bool(free.all()):
            block = torch.randint(L, (B, 1), generator=generator, device=x.device)
        else:
            pick = torch.rand(free.shape, generator=generator, device=x.device).masked_fill(~free, -1.0)
            block = pick.argsort(1, descending=True)[:, :m] if m > 1 else pick.argmax(1, keepdim=True)
        usable = torch.gather(free, 1, block)                                  # (B, m)
        x_t = x.clone()
        x_t[rows[:, None], block] = torch.where(usable, torch.full_like(block, mask), x_t[rows[:, None], block])
        for j in range(m):
            n_masked = (x_t == mask).sum(1).double().clamp(min=1)
            t = process.t_from_alpha(1 - n_masked / L).float().to(x.device)    # as in training
            logp = subs_log_probs(denoise_fn(x_t.view(x_T.shape), t), x_t, mask)
            report(callback, calls, float(t.mean()), x_t.view(x_T.shape), logp.argmax(-1).view(x_T.shape))
            calls += 1
            cell = block[:, j]
            draw = _gumbel_argmax(logp, generator, temperature)[rows, cell]
            x_t[rows, cell] = torch.where(usable[:, j], draw, x_t[rows, cell])
        x = x_t
    return x.view(x_T.shape)


# -- restoring damaged data: cells flipped to another class at unknown places ----------------------

@torch.no_grad()
def cell_log_likelihoods(denoise_fn, process, x, masked=None):
    """log p_theta(x_i | the cells of x outside {i} and outside `masked`) for every cell i, (B, L):
    one network call on B * L rows (row b * L + i is x_b with cell i and `masked` cells masked).
    x (B, ...) int64 classes with no mask; masked (B, L) bool (default: none). The network sees
    the time at which that many cells in L are masked, as in training."""
    mask = process.mask_index
    B = x.shape[0]
    xf = x.reshape(B, -1)
    L = xf.shape[1]
    ctx = xf if masked is None else torch.where(masked, torch.full_like(xf, mask), xf)
    rows = ctx.repeat_interleave(L, 0)                                   # (B * L, L)
    r, cell = torch.arange(B * L, device=x.device), torch.arange(L, device=x.device).repeat(B)
    rows[r, cell] = mask
    n_masked = (rows == mask).sum(1).double()
    t = process.t_from_alpha(1 - n_masked / L).float().to(x.device)
    logp = subs_log_probs(denoise_fn(rows.view((B * L,) + tuple(x.shape[1:])), t), rows, mask)
    return logp[r, cell, xf.reshape(-1)].view(B, L)


@torch.no_grad()
def locate_flips(denoise_fn, process, y, k):
    """The `k` cells (int, or (B,) ints) of each row of y (B, ...) int64 most likely to have been
    flipped, bool (B, L), chosen greedily: each round masks the cell whose observed class is least
    likely under the model given the cells not yet chosen, p_i = p_theta(y_i | y outside {i} and the
    chosen cells), until k are chosen (k rounds of one `cell_log_likelihoods` call each).

    Why the least likely: with exactly one cell flipped, uniformly among cells and to a uniformly
    chosen other class, the posterior of the flipped place is P(i | y) ∝ p(y_-i) (1 - p_i) =
    p(y) (1 - p_i) / p_i (p_i = p(y) / p(y_-i)), which decreases with p_i: under the exact model
    the first round picks the most probable place (when p(y) > 0; where a model gives p(y) = 0
    exactly, every p_i is 0 and the choice is a tie, which a trained network's positive
    probabilities never are). Later rounds repeat that choice with the chosen cells masked (greedy, not
    the joint posterior over k places)."""
    B = y.shape[0]
    yf = y.reshape(B, -1)
    k = torch.as_tensor(k, device=y.device).expand(B)
    chosen = torch.zeros_like(yf, dtype=torch.bool)
    for j in range(int(k.max()) if B else 0):
        score = cell_log_likelihoods(denoise_fn, process, y, chosen).masked_fill(chosen, torch.inf)
        pick = score.argmin(1)
        chosen[torch.arange(B, device=y.device)[k > j], pick[k > j]] = True
    return chosen


@torch.no_grad()
def restore_flipped(denoise_fn, process, y, k, ts, *, generator=None, order: str = "random"):
    """Restore y (B, ...) int64 of which `k` cells per row (int or (B,)) were flipped to another
    class at unknown places: `locate_flips` picks the places, which are masked and redrawn by
    `sample_masked` over `ts` from the model's posterior given the other cells, the observed class
    of each picked cell excluded (a flipped cell's true class differs from what is seen). Returns
    int64 of y's shape; with k = 1 and the exact model this is a draw from the exact posterior
    given the place (the place itself being the most probable one)."""
    B = y.shape[0]
    yf = y.reshape(B, -1)
    chosen = locate_flips(denoise_fn, process, y, k)
    forbid = chosen.unsqueeze(-1) & torch.nn.functional.one_hot(yf, process.n_classes).bool()   # (B, L, K)

    def without_observed(x_t, t):
        return denoise_fn(x_t, t).masked_fill(forbid, -torch.inf)

    x_T = torch.where(chosen, torch.full_like(yf, process.mask_index), yf).view(y.shape)
    return sample_masked(without_observed, process, x_T, ts, generator=generator, order=order)


@torch.no_grad()
def chain_log_likelihood(denoise_fn, process, x, *, orders: int = 1, generator=None):
    """log p_theta(x) (N,) by the chain rule in random orders: for each order, the cells are revealed
    one at a time and log p_theta(x_cell | the cells revealed before it) summed (L network calls per
    order), averaged over `orders` orders. With the exact denoiser every order gives log p(x)
    exactly; a trained one's orders differ a little (their average is the log-likelihood the
    masked ELBO bounds)."""
    mask = process.mask_index
    N = x.shape[0]
    xf = x.reshape(N, -1)
    L = xf.shape[1]
    rows = torch.arange(N, device=x.device)
    total = torch.zeros(N, dtype=torch.float64, device=x.device)
    for _ in range(orders):
        order = torch.rand((N, L), generator=generator, device=x.device).argsort(1)
        cur = torch.full_like(xf, mask)
        for step in range(L):
            t = torch.full((N,), float(process.t_from_alpha(1 - (L - step) / L)), device=x.device)
            logp = subs_log_probs(denoise_fn(cur.view(x.shape), t), cur, mask)
            cell = order[:, step]
            total += logp[rows, cell, xf[rows, cell]].double()
            cur[rows, cell] = xf[rows, cell]
    return total / orders


@torch.no_grad()
def restore_flipped_map(denoise_fn, process, y, k: int, *, orders: int = 2, generator=None, chunk: int = 8192):
    """Restore y (B, ...) int64 of which k cells per row were flipped at unknown places: k greedy
    rounds, each taking the single-cell change of highest model likelihood (`chain_log_likelihood`)
    among every cell not yet changed and every class but its current one.

    Why: with exactly one cell flipped, uniformly in place and in the other class, the posterior of
    the clean board given y is p(x | y) ∝ p(x) over the boards x one cell away from y, so the first
    round is its mode (MAP) under the model. Later rounds repeat it from the board so far (greedy,
    not the joint mode over k changes). Costs L (K - 1) candidates per row and round, each scored by
    L network calls per order."""
    K, B = process.n_classes, y.shape[0]
    cur = y.reshape(B, -1).clone()
    L = cur.shape[1]
    changed = torch.zeros_like(cur, dtype=torch.bool)
    cells = torch.arange(L, device=y.device).repeat_interleave(K - 1)              # candidate j: cell, shift
    shifts = torch.arange(1, K, device=y.device).repeat(L)
    for _ in range(int(k)):
        cand = cur.repeat_interleave(L * (K - 1), 0).view(B, L * (K - 1), L)
        j = torch.arange(L * (K - 1), device=y.device)
        cand[:, j, cells] = (cand[:, j, cells] + shifts) % K
        flat = cand.reshape(-1, L)
        score = torch.cat([chain_log_likelihood(denoise_fn, process, flat[i:i + chunk].view((-1,) + tuple(y.shape[1:])),
                                                orders=orders, generator=generator)
                           for i in range(0, len(flat), chunk)]).view(B, L * (K - 1))
        score = score.masked_fill(changed[:, cells], -torch.inf)
        best = score.argmax(1)
        cur = cand[torch.arange(B, device=y.device), best]
        changed[torch.arange(B, device=y.device), cells[best]] = True
    return cur.view(y.shape)
