"""The continuous-time ELBO of masked diffusion (MDLM, Sahoo et al. 2024, eq. 10), per sample.

With the SUBS parameterisation (`processes.masked.subs_log_probs`) the negative ELBO of x0 is

    L(x0) = E_{t ~ U(0, 1), x_t ~ q(x_t | x0)} [ -alpha'(t) / (1 - alpha(t))
                                                  * sum_{masked cells i} -log p_theta(x0_i | x_t) ]

in nats; L(x0) >= -log p_theta(x0) of the model's reverse process. It does not depend on the
schedule alpha. Substituting the number m of masked cells (Binomial(L, 1 - alpha)) for t turns
the integral into a finite sum over m = 1..L cells, the any-order autoregressive bound
(Ou et al. 2024, Hoogeboom et al. 2022):

    L(x0) = sum_{m=1}^{L} E_{S uniform among m-subsets} [ (1/m) sum_{i in S} -log p_theta(x0_i | x0 outside S) ]

- `masked_elbo_loss`: the first form, one draw of (t, x_t) per sample: the training loss.
- `masked_elbo_count_loss`: the second, one draw of m ~ U{1..L} and of an m-subset per sample,
  weighted L / m: the same expectation as the first with a far smaller variance (its weight is at
  most L, where the first's 1/t is unbounded when few cells are masked). A training loss too.
- `masked_nll_bound`: the second, one random m-subset for each m (L network calls per sample),
  for reporting the bound.

With the exact denoiser p(x0_i | x0 outside S) the sum is E over random orders of the chain rule,
so L(x0) = -log p(x0) exactly: the bound is tight at the optimum.
"""
from __future__ import annotations

import torch

from ..processes.masked import subs_log_probs


def _masked_nll(logits, x0, x_t, mask_index):
    """-log p_theta(x0_i | x_t) summed over the masked cells, (B,); x0 and x_t are (B, cells)."""
    logp = subs_log_probs(logits, x_t, mask_index)
    logp_x0 = logp.gather(-1, x0.unsqueeze(-1)).squeeze(-1)          # (B, cells), 0 where unmasked
    return -torch.where(x_t == mask_index, logp_x0, torch.zeros_like(logp_x0)).sum(1)


def masked_elbo_loss(net, process, x0, *, generator=None, t=None, n_noise: int = 1):
    """Negative ELBO per sample (B,) in nats, averaged over `n_noise` draws of (t, x_t) per sample.

    net(x_t, t) -> logits (B, cells, K) for x_t (B, ...) int64 (mask = K), t (B,);
    x0 (B, ...) int64 classes in 0..K-1; t (n_noise * B,) float in (0, 1] (draw j of sample b at
    j * B + b), drawn by `process.train_times` when None.
    """
    B = x0.shape[0]
    x0k = x0.repeat((n_noise,) + (1,) * (x0.ndim - 1))                # (n_noise * B, ...)
    if t is None:
        t = process.train_times(n_noise * B, generator=generator, device=x0.device)
    x_t = process.marginal(x0k, t, generator)
    logits = net(x_t, t.float())
    nll = _masked_nll(logits, x0k.reshape(n_noise * B, -1), x_t.reshape(n_noise * B, -1), process.mask_index)
    return (process.elbo_weight(t).to(nll.dtype) * nll).view(n_noise, B).mean(0)


def _mask_subsets(x0f, m, mask_index, generator, scores=None):
    """x0f (B, L) with a uniformly random m-subset of each row masked; m is an int or (B,). The
    subset is the m cells of lowest `scores` (B, L): any i.i.d. continuous draws (default uniform)."""
    if scores is None:
        scores = torch.rand(x0f.shape, generator=generator, device=x0f.device)
    m = torch.as_tensor(m, device=x0f.device).reshape(-1, 1)
    chosen = scores.argsort(1).argsort(1) < m                          # a uniform m-subset per row
    return torch.where(chosen, torch.full_like(x0f, mask_index), x0f)


def masked_elbo_count_loss(net, process, x0, *, generator=None, n_noise: int = 1, u=None, scores=None,
                           count_power: float = 0.0):
    """Negative ELBO per sample (B,) in nats by the count form, averaged over `n_noise` draws:
    m = ceil(u L) masked cells with u stratified as `process.train_times`, a uniform m-subset, and
    (L / m) sum over the masked cells of -log p_theta; the net sees the time where 1 - alpha(t) = m / L.

    The caller may pass the draws: u (n_noise * B,) in (0, 1], and scores (n_noise * B, L), i.i.d.
    continuous, whose m lowest cells of each row are masked; else they come from `generator`.

    count_power = p > 0 draws m with probability q(m) proportional to m^-p (u through q's inverse
    CDF, so the strata stay strata) and weights each draw by (1 / L) / q(m): the same ELBO in
    expectation, with more draws where few cells are masked (the conditionals Gibbs rounds use)."""
    B = x0.shape[0]
    x0f = x0.reshape(B, -1).repeat(n_noise, 1)                          # (n_noise * B, L)
    L = x0f.shape[1]
    if u is None:
        u = process.train_times(n_noise * B, generator=generator, device=x0.device)
    if count_power:
        q = torch.arange(1, L + 1, dtype=torch.float64, device=x0.device) ** -float(count_power)
        q = q / q.sum()
        m = torch.searchsorted(q.cumsum(0), u.to(torch.float64)).clamp(max=L - 1) + 1
        weight = (1.0 / L) / q[m - 1]
    else:
        m = (u * L).ceil().long().clamp(1, L)
        weight = torch.ones((), dtype=torch.float64, device=x0.device)
    x_t = _mask_subsets(x0f, m, process.mask_index, generator, scores)
    t = process.t_from_alpha(1 - m.double() / L).float()
    logits = net(x_t.reshape((n_noise * B,) + tuple(x0.shape[1:])), t)
    nll = _masked_nll(logits, x0f, x_t, process.mask_index)
    return (L / m.to(nll.dtype) * weight.to(nll.dtype) * nll).view(n_noise, B).mean(0)


def masked_nll_bound(net, process, x0, *, generator=None):
    """The same negative ELBO per sample (B,) in nats, by the sum over the number m of masked
    cells (see the module docstring): for each m one uniformly random m-subset per sample, masked
    and predicted at the time t where 1 - alpha(t) = m / L (its expected masked share)."""
    B = x0.shape[0]
    x0f = x0.reshape(B, -1)
    L = x0f.shape[1]
    total = torch.zeros(B, dtype=torch.float64, device=x0.device)
    for m in range(1, L + 1):
        x_t = _mask_subsets(x0f, m, process.mask_index, generator)
        t = torch.full((B,), float(process.t_from_alpha(1 - m / L)), device=x0.device)
        logits = net(x_t.reshape(x0.shape), t)
        total += _masked_nll(logits, x0f, x_t, process.mask_index).double() / m
    return total


def masked_elbo_objective(net, process, x0, *, t, eps, y=None):
    """The count-form ELBO (`masked_elbo_count_loss`) with the training loop's signature and draws
    (training/loop.py draws them for the whole batch, so ranks share one stratified draw): t (B,)
    from `process.train_times` serves as u, eps (n_noise, B, ...) as the scores choosing each
    m-subset; draw j of sample b uses t[b]. y must be None (no labels). Returns (B,) nats."""
    if y is not None:
        raise ValueError("the masked ELBO takes no class labels")
    n_noise, B = eps.shape[0], x0.shape[0]
    return masked_elbo_count_loss(net, process, x0, n_noise=n_noise, u=t.repeat(n_noise),
                                  scores=eps.reshape(n_noise * B, -1))
