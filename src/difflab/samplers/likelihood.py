"""Exact log-likelihood of a diffusion model through its probability-flow ODE (Song et al. 2021).

In the scaled state y = x / alpha and the noise ratio s = sigma / alpha the PF-ODE is
dy/ds = eps_hat(alpha y, t(s)) (see ode.py). Along a trajectory the instantaneous change of
variables (Chen et al. 2018) gives d log p_s(y(s)) / ds = -div_y eps_hat, so, integrating from
the data end s_0 = noise_ratio(t_min) to s_1 = noise_ratio(t_1), t_1 = `process.top_time()` (1,
or for DDPM on small data the level where x_t is pure noise),

    log p_{t_min}(x) = log N(x_1; 0, sigma(1)^2 I)             (the prior, `process.prior_logp`)
                       + d log alpha(t_1) - d log alpha(t_min)  (the Jacobians of x = alpha y)
                       + integral_{s_0}^{s_1} div_y eps_hat ds,     div_y = alpha div_x.

The integral runs in u = log s with `steps` classical Runge-Kutta (RK4) steps: in log s the
slope s * eps_hat stays of order one from s ~ 0.01 to s ~ 100, so a fixed step is accurate
(64 steps give ~1e-4 nats on 2-D Gaussians). Each step costs 4 network evaluations plus, per
evaluation, d backward passes for the exact divergence or one per probe for Hutchinson's
estimator div = E[v^T (d eps / dx) v] with Rademacher or Gaussian probes v, drawn once per
sample and kept fixed along the trajectory (FFJORD). Both are vectorised over the batch, which
assumes the network treats samples independently (no batch norm).

Where the integral starts:
- VP (DDPM): sigma(0) = 0 makes eps_hat undefined, so the data are read as x_{t_min} with
  t_min = 1/T by default (the first DDPM level, sigma ~ 0.01): the result is log p_{t_min}(x),
  the density of alpha x0 + sigma eps. By de Bruijn's identity its mean over the data falls
  short of that of the data density by about sigma^2 / 2 * J (J = E|grad log p|^2, the Fisher
  information: d / 2 for unit-variance Gaussian data, ~1e-4 nats in 2-D) plus d log alpha(t_min)
  (~5e-5 d); sharper densities (thin spirals) lose more.
- VE (NCSN): sigma(0) = sigma_min > 0, so the data are treated as x0 + sigma_min eps, i.e. the
  reported density is that of the data smoothed by N(0, sigma_min^2 I).
At the other end, the prior N(0, sigma(1)^2 I) stands in for p_{t_1}; their mismatch (VE: the data
mean over sigma_max; VP: alpha(t_1), 0.006 at t_1 = 1 and 0.1 at DDPM's top for 2D data) is part
of the model's error.

Densities here are of the normalised data; `run_likelihood` adds the normaliser's log-Jacobian
(log p_raw(x) = log p_norm(x_n) + log |dx_n/dx|) and reports nats and bits per dimension.

Discrete data (e.g. 8-bit images) would need dequantization first: with integer pixels k in
{0..255} mapped to x = (k + u) / 256, u ~ U[0, 1)^d, a continuous density p on [0, 1]^d gives
the discrete log-likelihood bound log P(k) >= E_u[log p((k + u) / 256)] - d log 256. After a
further affine map to [-1, 1] (x' = 2x - 1) add d log 2 (log p_x = log p_x' + d log 2), and
report bits per dimension as (NLL in nats) / (d ln 2), which for the discrete model is the
usual image number (Ho et al. 2020, Song et al. 2021).
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from ..arrays import check_samples, load_points_file
from ..errors import DifflabError, unknown_name
from .common import predict
from .times import smallest_level_time, t_from_noise_ratio

DIVERGENCES = ("exact", "hutchinson")
PROBES = ("rademacher", "gaussian")
DEFAULT_STEPS = 64                # RK4 steps in log s
EXACT_MAX_DIM = 32                # `divergence=None` picks exact up to this dimension, Hutchinson above


def _probes(x, n_probes, probe, generator):
    """(K, B, ...) probe vectors v with E[v v^T] = I."""
    shape = (n_probes,) + tuple(x.shape)
    v = torch.randn(shape, generator=generator, device=x.device, dtype=x.dtype)
    return v.sign() if probe == "rademacher" else v


def _eps_and_div(denoise_fn, process, x, t, probes):
    """eps_hat(x, t) and div_x eps_hat: exact (probes None, shape (1, B)) or one estimate per probe (K, B)."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        eps = predict(denoise_fn, process, x, t).eps
        if probes is None:
            flat = eps.flatten(1)
            div = torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
            for i in range(flat.shape[1]):                           # d backward passes
                g = torch.autograd.grad(flat[:, i].sum(), x, retain_graph=True)[0]
                div = div + g.flatten(1)[:, i].double()
            div = div[None]
        else:
            divs = []
            for v in probes:                                         # one vector-Jacobian product per probe
                g = torch.autograd.grad((eps * v).sum(), x, retain_graph=True)[0]
                divs.append((g * v).flatten(1).sum(1).double())
            div = torch.stack(divs)
    return eps.detach(), div


def log_likelihood(denoise_fn, process, x0, *, steps: int = DEFAULT_STEPS, divergence: str = "exact",
                   n_probes: int = 1, probe: str = "rademacher", generator: torch.Generator | None = None,
                   t_min: float | None = None) -> dict:
    """Log-density of the model at normalised data x0 (B, ...), by the PF-ODE (see module docstring).

    steps: RK4 steps in log s; divergence: "exact" (d backward passes) or "hutchinson" (n_probes
    probes of kind `probe`); t_min: where the integral starts (default: the process's smallest
    noisy level, VP 1/T, VE 0 = sigma_min).

    Returns {"log_prob": (B,) float64, "hutchinson_se": (B,) standard error of each point's
    Hutchinson estimate (None for exact or a single probe), "prior_log_prob": (B,), "x_1": the
    encoded points at t = 1, "nfe": network evaluations per point, "t_min", "steps", "divergence"}.
    """
    if divergence not in DIVERGENCES:
        raise unknown_name("divergence", divergence, DIVERGENCES)
    if probe not in PROBES:
        raise unknown_name("probe", probe, PROBES)
    if not isinstance(steps, int) or steps < 1:
        raise DifflabError(f"the number of likelihood steps must be a positive integer, got {steps!r}")
    if not isinstance(n_probes, int) or n_probes < 1:
        raise DifflabError(f"the number of probes must be a positive integer, got {n_probes!r}")
    t_min = smallest_level_time(process) if t_min is None else float(t_min)
    s0, s1 = float(process.noise_ratio(t_min)), process.top_ratio()
    if not 0 < s0 < s1:
        raise DifflabError(f"t_min = {t_min} must carry noise (sigma > 0) and lie below the top time "
                           f"{process.top_time():g}")
    d = x0[0].numel()
    probes = _probes(x0, n_probes, probe, generator) if divergence == "hutchinson" else None

    # the stage points of RK4 in u = log s: u_0, u_0 + h/2, u_0 + h, ... (one bisection for all)
    us = torch.linspace(math.log(s0), math.log(s1), 2 * steps + 1, dtype=torch.float64)
    ss = us.exp()
    ts = t_from_noise_ratio(process, ss)
    ts[0], ts[-1] = t_min, process.top_time()
    alphas = process.alpha(ts)
    h = float(us[1] - us[0]) * 2

    def slope(y, j):
        """(dy/du, d(integral)/du) at grid point j of the stage grid."""
        a, s, t = float(alphas[j]), float(ss[j]), float(ts[j])
        eps, div = _eps_and_div(denoise_fn, process, a * y, t, probes)
        return s * eps, s * a * div                                  # dy/du = s eps; div_y = alpha div_x

    y = x0 / float(alphas[0])
    integral = torch.zeros(1 if probes is None else n_probes, x0.shape[0], dtype=torch.float64, device=x0.device)
    for i in range(steps):
        j = 2 * i                                                    # classical RK4
        k1, q1 = slope(y, j)
        k2, q2 = slope(y + 0.5 * h * k1, j + 1)
        k3, q3 = slope(y + 0.5 * h * k2, j + 1)
        k4, q4 = slope(y + h * k3, j + 2)
        y = y + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
        integral = integral + (h / 6) * (q1 + 2 * q2 + 2 * q3 + q4)

    x1 = float(alphas[-1]) * y
    prior = process.prior_logp(x1).to(integral.device)
    jacobian = d * (math.log(float(alphas[-1])) - math.log(float(alphas[0])))
    per_probe = prior + jacobian + integral                         # (K, B)
    log_prob = per_probe.mean(0)
    se = per_probe.std(0) / math.sqrt(n_probes) if probes is not None and n_probes > 1 else None
    backward = d if probes is None else n_probes
    return {"log_prob": log_prob, "hutchinson_se": se, "prior_log_prob": prior, "x_1": x1,
            "nfe": 4 * steps, "backward_passes": 4 * steps * backward, "t_min": t_min, "steps": steps,
            "divergence": divergence}


# -- a run's likelihood on a set of points, in the data's own units -----------------------------

def run_likelihood(run, x_raw: np.ndarray, *, steps: int = DEFAULT_STEPS, divergence: str | None = None,
                   n_probes: int = 1, seed: int = 0, batch_size: int = 1000) -> dict:
    """NLL of raw points (N, *run.shape) under a run's model, beside the truth where it is known.

    divergence None picks "exact" up to EXACT_MAX_DIM dimensions, "hutchinson" above. Returns a
    JSON-ready dict: nll_nats (mean -log p_raw per point) and its standard error over the points
    nll_se, bits_per_dim (nll / (d ln 2)), hutchinson_se (the probes' share of the error of the
    mean, None unless n_probes > 1), nll_true_nats / nll_true_se / kl_nats / kl_se (None without
    an exact log-density; kl is the paired mean of log p_true - log p_model, an estimate of
    KL(truth || model) on test points), n, d, seconds, and the settings.
    """
    if getattr(run, "categories", None) is not None:
        raise DifflabError(f"{run.path} is a categorical (masked) run: its likelihood is the ELBO's bound "
                           f"(difflab.nll_bound.run_nll_bound), not the probability-flow ODE's")
    x_raw = check_samples(x_raw, run.shape, what="points")
    d = int(np.prod(run.shape))
    divergence = divergence or ("exact" if d <= EXACT_MAX_DIM else "hutchinson")
    gen = torch.Generator(device=run.device).manual_seed(int(seed))
    x_n = run.normaliser.normalise(x_raw).astype(np.float32)
    start = time.perf_counter()
    lps, ses = [], []
    for i in tqdm(range(0, len(x_n), batch_size), desc="likelihood", unit="batch", leave=False, disable=None):
        x0 = torch.from_numpy(x_n[i:i + batch_size]).to(run.device)
        out = log_likelihood(run.denoise_fn, run.process, x0, steps=steps, divergence=divergence,
                             n_probes=n_probes, generator=gen)
        lps.append(out["log_prob"].cpu().numpy())
        if out["hutchinson_se"] is not None:
            ses.append(out["hutchinson_se"].cpu().numpy())
    seconds = time.perf_counter() - start
    lp = np.concatenate(lps) + run.normaliser.log_det()             # log p_raw = log p_norm + log|dx_n/dx|
    n = len(lp)
    result = {"nll_nats": float(-lp.mean()), "nll_se": float(lp.std(ddof=1) / math.sqrt(n)),
              "bits_per_dim": float(-lp.mean() / (d * math.log(2))),
              "bits_per_dim_se": float(lp.std(ddof=1) / math.sqrt(n) / (d * math.log(2))),
              "hutchinson_se": float(np.sqrt((np.concatenate(ses) ** 2).sum()) / n) if ses else None,
              "nll_true_nats": None, "nll_true_se": None, "kl_nats": None, "kl_se": None,
              "n": n, "d": d, "divergence": divergence, "probes": n_probes if divergence == "hutchinson" else None,
              "steps": steps, "t_min": out["t_min"], "nfe_per_point": out["nfe"], "seconds": seconds}
    dataset = run.dataset
    if dataset.has_log_prob:
        true = np.asarray(dataset.log_prob(x_raw), dtype=np.float64).reshape(-1)
        if np.all(np.isfinite(true)):
            gap = true - lp
            result.update(nll_true_nats=float(-true.mean()), nll_true_se=float(true.std(ddof=1) / math.sqrt(n)),
                          kl_nats=float(gap.mean()), kl_se=float(gap.std(ddof=1) / math.sqrt(n)))
    return result


def load_points(run, data: str = "test", n: int | None = None) -> tuple[np.ndarray, str]:
    """Points to score: the run's "test" or "train" split, or a .npy / .npz file (an .npz holds a
    'test' array or a single array), the first n of them. Returns (points, description)."""
    if data in ("test", "train"):
        x = getattr(run.dataset, data)
        what = f"{data} split"
    elif str(data).endswith((".npy", ".npz")):
        x, what = load_points_file(data), str(data)
    else:
        raise DifflabError(f"unknown data {data!r}; valid: test, train, or a .npy/.npz file")
    x = np.asarray(x)
    if tuple(x.shape[1:]) != tuple(run.shape):
        raise DifflabError(f"{what} has shape {x.shape}; this run's data has shape "
                           f"(N, {', '.join(map(str, run.shape))})")
    if n is not None:
        if n < 2:
            raise DifflabError(f"--n must be at least 2, got {n}")
        x = x[:n]
    return x, what


__all__ = ["log_likelihood", "run_likelihood", "load_points", "DIVERGENCES", "PROBES", "DEFAULT_STEPS"]
