"""Annealed Langevin dynamics (Song & Ermon 2019) with a final denoising step (2020)."""
from __future__ import annotations

import torch

from .common import finish, noise_like, predict, report


@torch.no_grad()
def sample_langevin(denoise_fn, process, x_T, ts, *, generator=None, callback=None,
                    n_steps_each: int = 5, step_size: float = 2e-5, final_denoise: bool = True):
    """For each noise level sigma_i in `ts` (decreasing), `n_steps_each` Langevin steps

        x <- x + (a_i / 2) * score(x, t_i) + sqrt(a_i) z,   a_i = step_size * sigma_i^2 / sigma_L^2

    where sigma_L is the last (smallest) level, then x0_hat = Tweedie's denoised x at the
    last level (Jolicoeur-Martineau et al. / Song & Ermon 2020) when `final_denoise`.
    Levels with sigma = 0 are skipped (there is no score there).
    """
    sigmas = [float(process.sigma(float(t))) for t in ts]
    levels = [(float(t), s) for t, s in zip(ts, sigmas) if s > 0]
    sigma_last = levels[-1][1]
    x = x_T
    for i, (t, sigma) in enumerate(levels):
        a = step_size * (sigma / sigma_last) ** 2
        for _ in range(n_steps_each):
            score = predict(denoise_fn, process, x, t).score
            x = x + 0.5 * a * score + a**0.5 * noise_like(x, generator)
        report(callback, i, t, x, None)
    if not final_denoise:
        return x
    return finish(denoise_fn, process, x, [levels[0][0], levels[-1][0]], callback, len(levels))
