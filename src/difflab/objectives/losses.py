"""Training objectives. Each returns one loss per sample, shape (B,); the caller reduces.

Both draw `n_noise` independent noise realisations per sample (K in the seed document:
averaging over K draws lowers the variance of the loss, not its mean) at one time t per
sample, and average the per-draw squared errors.

- `eps_loss` (DDPM, Ho et al. 2020): mean over dims of ||eps_hat(x_t, t) - eps||^2.
- `dsm_loss` (Vincent 2011, Song & Ermon 2019): lambda(sigma) ||s_theta(x_t) - grad log
  q(x_t | x0)||^2 with lambda = sigma^2, where grad log q = -(x_t - alpha x0) / sigma^2
  = -eps / sigma and s_theta = -eps_hat / sigma. Written in score form so the algebra is
  visible; it equals `eps_loss` exactly, which is why one network serves both.

Class-conditional networks get labels `y` (B,), repeated with the K draws so every copy of a
sample keeps its own label (-1 means "no label", the null class of classifier-free guidance).
"""
from __future__ import annotations

import torch

from ..utils import append_dims


def _corrupt(process, x0, generator, t, eps, n_noise):
    """Times (K*B,), x0 repeated K times, noise (K*B, ...), and x_t."""
    B = x0.shape[0]
    if t is None:
        t = process.train_times(B, generator=generator, device=x0.device)
    if eps is None:
        eps = torch.randn((n_noise,) + tuple(x0.shape), generator=generator, device=x0.device, dtype=x0.dtype)
    K = eps.shape[0]
    x0k = x0.unsqueeze(0).expand(K, *x0.shape).reshape(K * B, *x0.shape[1:])
    tk = t.repeat(K)
    epsk = eps.reshape(K * B, *x0.shape[1:])
    return tk, x0k, epsk, process.marginal(x0k, tk, epsk), K, B


def _net(net, x_t, tk, y, K):
    """eps_hat for the K*B corrupted copies; labels y (B,) are repeated like the times."""
    return net(x_t, tk) if y is None else net(x_t, tk, y.repeat(K))


def eps_loss(net, process, x0, *, generator=None, t=None, eps=None, n_noise: int = 1, y=None):
    """Noise-prediction loss per sample (B,). `eps`, if given, has shape (K, B, ...); `y` (B,) labels."""
    tk, _, epsk, x_t, K, B = _corrupt(process, x0, generator, t, eps, n_noise)
    err = (_net(net, x_t, tk, y, K).to(epsk.dtype) - epsk).pow(2).flatten(1).mean(1)
    return err.view(K, B).mean(0)


def dsm_loss(net, process, x0, *, generator=None, t=None, eps=None, n_noise: int = 1, y=None):
    """sigma^2-weighted denoising score matching loss per sample (B,), averaged over K draws."""
    tk, x0k, _, x_t, K, B = _corrupt(process, x0, generator, t, eps, n_noise)
    sigma = append_dims(process.sigma(tk), x_t.ndim).to(x_t.dtype)
    alpha = append_dims(process.alpha(tk), x_t.ndim).to(x_t.dtype)
    target_score = -(x_t - alpha * x0k) / sigma**2          # grad log q(x_t | x0)
    score = process.score_from_eps(x_t, tk, _net(net, x_t, tk, y, K).to(x_t.dtype))  # s_theta(x_t, t)
    err = (sigma**2 * (score - target_score).pow(2)).flatten(1).mean(1)
    return err.view(K, B).mean(0)


OBJECTIVES = {"eps": eps_loss, "dsm": dsm_loss}
