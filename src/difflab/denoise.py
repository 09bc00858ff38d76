"""Restore noisy data with a trained run: the one-step posterior mean, or the reverse process
started at the noise level of the input.

Noisy data y = x + S n (n standard normal, S in the data's own units: [0, 1] pixels for images)
is, after the run's normalisation x_n = (x - shift) / scale, y_n = x_n + r n with r = S / scale.
The process writes x_t = alpha(t) x0 + sigma(t) eps, so alpha(t*) y_n is exactly a draw of x_t*
at the time t* whose noise ratio sigma / alpha equals r (VE: alpha = 1, sigma(t*) = r; VP:
the noisy image is scaled down by alpha(t*) first). From there:

- "posterior-mean": Tweedie's formula, E[x0 | x_t*] = (x_t* - sigma eps_hat(x_t*, t*)) / alpha,
  one network evaluation, the minimum-squared-error estimate (smooth where unsure);
- "reverse": the run's sampler from t* down to 0 (its own grid below t*, or a Karras grid from
  r for the ODE solvers): with ancestral sampling (ddpm) a draw from p(x0 | y), sharper and
  noisier than the mean. Samplers with Langevin steps (langevin, pc) mix towards the data
  distribution at each level and so forget part of the observation; they are allowed, not advised.

For images the network's x0_hat is kept in [0, 1] at every step (`Run.denoiser`, clipping.py),
and the result is finished as samples are (`Kind.finish`: images clipped to [0, 1]).

A categorical run (masked diffusion) restores damage of another kind: cells hidden at random
(`hide_cells`) are masked and drawn by the run's sampler from the model's posterior given the
other cells (`complete`; `sample_masked` keeps the cells it is given); cells flipped to another
category at places the model is not told (`flip_cells`) are located by their likelihood given the
rest and changed (`restore_flips`; samplers/masked.py, `restore_flipped_map`).
"""
from __future__ import annotations

import numpy as np
import torch

from .config import check_sampler_fits
from .errors import DifflabError, unknown_name
from .samplers import CountingDenoiser, get_sampler
from .samplers.masked import restore_flipped_map
from .samplers.registry import get_spec
from .samplers.times import is_ode_grid, sampler_times, smallest_level_time, t_from_noise_ratio
from .utils import batch_times, make_generator

MODES = ("posterior-mean", "reverse")


def noise_ratio_of(normaliser, sigma: float) -> float:
    """The noise std S (data units) in normalised units, S / scale; the scale must be one number."""
    scale = np.unique(np.asarray(normaliser.scale, dtype=np.float64))
    if len(scale) != 1:
        raise DifflabError("denoise needs data normalised with one scale for every feature (images are); "
                           "this run's features have different scales")
    return float(sigma) / float(scale[0])


def matching_time(process, ratio: float) -> float:
    """The time t* with sigma(t*) / alpha(t*) = ratio, within the levels the network was trained on."""
    lo = float(process.noise_ratio(smallest_level_time(process)))
    hi = process.top_ratio()
    if not lo * (1 - 1e-6) <= ratio <= hi:
        raise DifflabError(f"noise ratio {ratio:.4g} (sigma / data scale) lies outside the process's range "
                           f"[{lo:.4g}, {hi:.4g}]; choose a sigma inside it")
    return float(t_from_noise_ratio(process, ratio))


@torch.no_grad()
def posterior_mean(denoise_fn, process, y_n: torch.Tensor, ratio: float) -> torch.Tensor:
    """E[x0 | y_n] by Tweedie at the matching time: (x_t - sigma eps_hat) / alpha, normalised units."""
    t = matching_time(process, ratio)
    x_t = float(process.alpha(t)) * y_n
    tb = batch_times(t, x_t)
    return process.x0_from_eps(x_t, tb, denoise_fn(x_t, tb))


def reverse_times(process, sampler: str, t_start: float, steps: int | None = None) -> torch.Tensor:
    """A decreasing grid from t_start to the end: the process's levels below t_start (thinned to
    `steps` transitions when given) or, for the ODE solvers, their own grid from ratio(t_start)."""
    if is_ode_grid(sampler):
        ts = sampler_times(process, sampler, steps, s_max=float(process.noise_ratio(t_start)))
        ts[0] = t_start
        return ts
    levels = process.default_times(None)
    below = levels[levels < t_start - 1e-12]
    if len(below) == 0:
        raise DifflabError(f"no sampling level lies below t = {t_start:.4g}; the noise is too small to reverse")
    if steps is not None and len(below) > steps:
        below = below[np.unique(np.round(np.linspace(0, len(below) - 1, steps)).astype(int))]
    return torch.cat([torch.tensor([t_start], dtype=torch.float64), below])


@torch.no_grad()
def reverse_from(denoise_fn, process, y_n: torch.Tensor, ratio: float, sampler: str, *, steps=None,
                 generator=None, callback=None, **options) -> torch.Tensor:
    """Run `sampler` from x_t* = alpha(t*) y_n down to t = 0; normalised units."""
    t = matching_time(process, ratio)
    ts = reverse_times(process, sampler, t, steps)
    x_t = float(process.alpha(t)) * y_n
    return get_sampler(sampler)(denoise_fn, process, x_t, ts, generator=generator, callback=callback, **options)


def add_noise(x: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """x + sigma * n with n standard normal from a seeded torch generator (not clipped)."""
    g = make_generator(seed)
    n = torch.randn(x.shape, generator=g, dtype=torch.float64).numpy()
    return (np.asarray(x, dtype=np.float64) + sigma * n).astype(np.float32)


def psnr(clean: np.ndarray, other: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """Peak signal-to-noise ratio per item (N,), in dB: 10 log10(range^2 / MSE)."""
    mse = ((np.asarray(clean, np.float64) - np.asarray(other, np.float64)) ** 2).reshape(len(clean), -1).mean(1)
    return 10 * np.log10(data_range**2 / np.maximum(mse, 1e-20))


def denoise(run, noisy: np.ndarray, sigma: float, *, mode: str = "posterior-mean", sampler: str | None = None,
            steps: int | None = None, seed: int = 0, **options) -> np.ndarray:
    """Restore `noisy` (N, *shape) in the data's units, corrupted by Gaussian noise of std `sigma`
    (same units), with a loaded `run`. Images come back clipped to [0, 1]; boards as the model's
    raw values (the CLI decodes them)."""
    if mode not in MODES:
        raise unknown_name("denoise mode", mode, MODES)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not sigma > 0:
        raise DifflabError(f"sigma must be a positive number, got {sigma!r}")
    noisy = np.asarray(noisy, dtype=np.float32)
    if noisy.ndim < 1 or tuple(noisy.shape[1:]) != tuple(run.shape):
        raise DifflabError(f"input has shape {noisy.shape}; this run's data has shape (N, {', '.join(map(str, run.shape))})")
    ratio = noise_ratio_of(run.normaliser, float(sigma))
    y_n = torch.as_tensor(run.normaliser.normalise(noisy.astype(np.float64)), dtype=torch.float32, device=run.device)
    counter = CountingDenoiser(run.denoiser())          # images: x0_hat kept in [0, 1] at every step
    if mode == "posterior-mean":
        x0 = posterior_mean(counter, run.process, y_n, ratio)
    else:
        name = sampler or run.config.sampler
        opts = dict(run.config.sampler_options) if name == run.config.sampler else {}
        opts.update(options)
        get_spec(name).check_options(opts)
        x0 = reverse_from(counter, run.process, y_n, ratio, name, steps=steps,
                          generator=make_generator(seed, run.device), **opts)
    out = run.normaliser.unnormalise(x0.cpu().numpy().astype(np.float64)).astype(np.float32)
    return np.clip(out, *run.hooks.data_range) if run.hooks.clip_default(run) else out


def hide_cells(shape, share: float, seed: int) -> np.ndarray:
    """Which cells to hide: each independently with probability `share`, bool of `shape`."""
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
        raise DifflabError(f"the share of hidden cells must be a number in (0, 1], got {share!r}")
    return torch.rand(tuple(shape), generator=make_generator(seed), dtype=torch.float64).numpy() < share


def hidden_stand_in(run) -> float:
    """The value shown in a hidden cell: the category nearest 0 (boards: empty)."""
    values = run.categories.values
    return float(values[np.argmin(np.abs(values))])


def flip_cells(run, x: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Damage for a categorical run: exactly k = max(1, round(share * cells)) cells of each item of x
    (N, *shape), in the data's values, changed to another of the run's categories, uniformly.
    Returns (damaged x float32, flipped bool of x's shape, k)."""
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
        raise DifflabError(f"the share of flipped cells must be a number in (0, 1], got {share!r}")
    x = np.asarray(x, dtype=np.float64)
    n, cells, n_cat = len(x), int(np.prod(x.shape[1:], dtype=np.int64)), len(run.categories.values)
    if n_cat < 2:
        raise DifflabError("flipping a cell needs at least two categories; this run's data has one")
    k = max(1, round(share * cells))
    g = make_generator(seed)
    places = torch.rand((n, cells), generator=g, dtype=torch.float64).argsort(1).argsort(1).numpy() < k
    shift = torch.randint(1, n_cat, (n, cells), generator=g).numpy()
    classes = run.categories.normalise(x).reshape(n, cells)
    flipped = np.where(places, (classes + shift) % n_cat, classes)
    damaged = run.categories.unnormalise(flipped.reshape(x.shape)).astype(np.float32)
    return damaged, places.reshape(x.shape), k


@torch.no_grad()
def restore_flips(run, y: np.ndarray, k: int, *, seed: int = 0) -> np.ndarray:
    """A categorical run's restoration of y (N, *shape), in the data's values, of which exactly k
    cells per item were flipped at unknown places: `restore_flipped_map`, k greedy rounds each taking
    the one-cell change of highest model likelihood (for k = 1 the mode of the posterior p(x | y),
    which is p(x) over the items one cell from y). Returns float32 values."""
    if run.categories is None:
        raise DifflabError(f"{run.path} is not a categorical run: flipped cells are restored by masked runs "
                           f"(--method masked); restore Gaussian noise with --sigma")
    y = np.asarray(y, dtype=np.float64)
    if y.ndim < 1 or tuple(y.shape[1:]) != tuple(run.shape):
        raise DifflabError(f"input has shape {y.shape}; this run's data has shape (N, {', '.join(map(str, run.shape))})")
    classes = torch.as_tensor(run.categories.normalise(y), device=run.device)
    x0 = restore_flipped_map(run.denoiser(), run.process, classes, k, generator=make_generator(seed, run.device))
    return run.categories.unnormalise(x0.cpu().numpy()).astype(np.float32)


@torch.no_grad()
def complete(run, x: np.ndarray, hidden: np.ndarray, *, sampler: str | None = None, steps: int | None = None,
             seed: int = 0, **options) -> np.ndarray:
    """A categorical run's restoration: the `hidden` cells (bool, x's shape) of `x` (N, *shape) in
    the data's values are masked and drawn from the model's posterior given the other cells by the
    run's sampler (its `steps` from t = 1; unmasking reveals only masked cells). Returns float32 values."""
    if run.categories is None:
        raise DifflabError(f"{run.path} is not a categorical run: hidden cells are completed by masked runs "
                           f"(--method masked); restore Gaussian noise with --sigma")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 1 or tuple(x.shape[1:]) != tuple(run.shape) or np.shape(hidden) != x.shape:
        raise DifflabError(f"input has shape {x.shape}; this run's data has shape (N, {', '.join(map(str, run.shape))})")
    classes = run.categories.normalise(np.where(hidden, run.categories.values[0], x))
    x_T = torch.as_tensor(np.where(hidden, run.process.mask_index, classes), device=run.device)
    name = sampler or run.config.sampler
    check_sampler_fits(name, run.info["process"])
    opts = dict(run.config.sampler_options) if name == run.config.sampler else {}
    opts.update(options)
    get_spec(name).check_options(opts)
    ts = run.times(name, steps if steps is not None else (run.config.sample_steps if name == run.config.sampler else None))
    x0 = get_sampler(name)(run.denoiser(), run.process, x_T, ts, generator=make_generator(seed, run.device), **opts)
    return run.categories.unnormalise(x0.cpu().numpy()).astype(np.float32)
