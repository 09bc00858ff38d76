"""Predictor-corrector sampling (Song et al. 2021, Algorithms 2-5): a reverse-diffusion predictor
step between consecutive times, preceded by Langevin corrector steps at each noise level.

Predictor, for the transition x_t = a x_s + sqrt(v) z from time s < t to t (a = alpha_t / alpha_s,
v = sigma_t^2 - a^2 sigma_s^2, both read off the process):

    x_s = (x_t + v * score(x_t, t)) / a + sqrt(v) z

For VE (a = 1, v = sigma_t^2 - sigma_s^2) this is Song et al.'s reverse-diffusion predictor;
for VP (a = sqrt(1 - beta), v = beta on the DDPM grid) it is their ancestral-sampling
predictor for DDPM (Appendix F). A step that ends at sigma = 0 adds no noise.

Corrector (Algorithm 5, step size from the signal-to-noise ratio `snr`, as in score_sde):

    eps_step = 2 * r * (snr * ||z|| / ||score||)^2,   x <- x + eps_step * score + sqrt(2 eps_step) z,

where ||.|| is the per-sample Euclidean norm averaged over the batch and r = a^2 of the next
transition (score_sde's alpha_i = 1 - beta_i for VP; 1 for VE and at the last level).

The loop visits every level with sigma > 0: `n_corrector` corrector steps, then the predictor to
the next time. A grid that ends at sigma_min > 0 (VE) is finished with the Tweedie denoiser
(`finish`), which is the noise-free mean of Song et al.'s last predictor step ("noise removal").
Evaluations: n_corrector per level with sigma > 0, plus one per predictor step, plus one for
`finish` on a VE grid.
"""
from __future__ import annotations

import torch

from ..errors import DifflabError
from .common import coeffs, finish, noise_like, predict, report


def _corrector(denoise_fn, process, x, t, n_steps, snr, r, generator):
    for _ in range(n_steps):
        score = predict(denoise_fn, process, x, t).score
        z = noise_like(x, generator)
        g_norm = score.flatten(1).norm(dim=1).mean()
        z_norm = z.flatten(1).norm(dim=1).mean()
        step = 2 * r * (snr * z_norm / g_norm.clamp_min(1e-30)) ** 2
        x = x + step * score + (2 * step).sqrt() * z
    return x


@torch.no_grad()
def sample_pc(denoise_fn, process, x_T, ts, *, generator=None, callback=None, n_corrector: int = 1,
              snr: float = 0.16):
    """PC sampling over the decreasing times `ts`.

    n_corrector: Langevin corrector steps per noise level (0: the predictor alone);
    snr: the corrector's signal-to-noise ratio r of Song et al. (0.16 for VE on CIFAR-10).
    """
    if not isinstance(n_corrector, int) or n_corrector < 0:
        raise DifflabError(f"n_corrector must be a non-negative integer, got {n_corrector!r}")
    if not snr > 0:
        raise DifflabError(f"snr must be positive, got {snr}")
    times = [float(t) for t in ts]
    x = x_T
    for i in range(len(times) - 1):
        t, s = times[i], times[i + 1]
        a_t, s_t, a_s, s_s = coeffs(process, t, s)
        a = a_t / a_s
        # corrector: Langevin steps on p_t
        x = _corrector(denoise_fn, process, x, t, n_corrector, snr, a**2, generator)
        # predictor: one reverse-diffusion step t -> s
        p = predict(denoise_fn, process, x, t)
        report(callback, i, t, x, p.x0_hat)
        v = max(s_t**2 - a**2 * s_s**2, 0.0)
        x = (x - (v / s_t) * p.eps) / a                             # (x + v score) / a, score = -eps / sigma_t
        if s_s > 0:
            x = x + v**0.5 * noise_like(x, generator)
    s_last = float(process.sigma(times[-1]))
    if s_last > 0 and times[-1] < times[0]:
        x = _corrector(denoise_fn, process, x, times[-1], n_corrector, snr, 1.0, generator)
    return finish(denoise_fn, process, x, ts, callback, len(times) - 1)


__all__ = ["sample_pc"]
