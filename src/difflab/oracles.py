"""Exact denoisers for Gaussian and Gaussian-mixture data: the analytic oracles of the tests.

If x0 ~ sum_k w_k N(mu_k, s_k^2 I) then x_t = alpha x0 + sigma eps has the marginal
sum_k w_k N(alpha mu_k, (alpha^2 s_k^2 + sigma^2) I), whose score is known in closed form;
eps_hat = -sigma * score. A full-covariance Gaussian N(mu, C) gives N(alpha mu, alpha^2 C + sigma^2 I).
"""
from __future__ import annotations

import torch

from .utils import append_dims


def gmm_eps_fn(process, means, weights, stds):
    """denoise_fn(x, t) -> exact eps_hat for an isotropic Gaussian mixture (vectors (B, d))."""
    means = torch.as_tensor(means, dtype=torch.float64)             # (K, d)
    logw = torch.as_tensor(weights, dtype=torch.float64).log()      # (K,)
    stds = torch.as_tensor(stds, dtype=torch.float64)               # (K,)
    d = means.shape[1]

    def fn(x, t):
        xd = x.double()
        a = process.alpha(t).double()[:, None]                      # (B, 1)
        s = process.sigma(t).double()[:, None]
        var = a**2 * stds[None, :] ** 2 + s**2                       # (B, K)
        diff = xd[:, None, :] - a[:, :, None] * means[None]          # (B, K, d)
        logp = logw - 0.5 * diff.pow(2).sum(-1) / var - 0.5 * d * var.log()
        r = torch.softmax(logp, dim=1)                               # responsibilities
        score = -(r[:, :, None] * diff / var[:, :, None]).sum(1)
        return (-s * score).to(x.dtype)

    return fn


def gaussian_eps_fn(process, mean, cov):
    """denoise_fn(x, t) -> exact eps_hat for N(mean, cov) data (vectors (B, d))."""
    mean = torch.as_tensor(mean, dtype=torch.float64)
    cov = torch.as_tensor(cov, dtype=torch.float64)
    eye = torch.eye(len(mean), dtype=torch.float64)

    def fn(x, t):
        a = process.alpha(t).double()
        s = process.sigma(t).double()
        C = a[:, None, None] ** 2 * cov + s[:, None, None] ** 2 * eye   # (B, d, d)
        diff = x.double() - a[:, None] * mean
        score = -torch.linalg.solve(C, diff.unsqueeze(-1)).squeeze(-1)
        return (-append_dims(s, 2) * score).to(x.dtype)

    return fn
