"""Denoising against analytic oracles: for Gaussian data the exact eps is known, so the one-step
posterior mean must equal the Gaussian posterior mean, and the reverse process started at the
matching noise level must draw from the Gaussian posterior."""
import numpy as np
import pytest
import torch
from PIL import Image

from difflab.data import Normaliser
from difflab.denoise import (add_noise, matching_time, noise_ratio_of, posterior_mean, psnr, reverse_from,
                             reverse_times)
from difflab.errors import DifflabError
from difflab.kinds.image.io import load_images
from difflab.processes import VEProcess, VPProcess

MU, S = 0.3, 0.5            # the data: x0 ~ N(MU, S^2) per coordinate, normalised units


def exact_eps(process):
    """eps(x_t, t) = sigma (x_t - alpha MU) / (alpha^2 S^2 + sigma^2) for Gaussian data."""

    def fn(x, t):
        a = process.alpha(t).to(x.dtype).view(-1, *([1] * (x.ndim - 1)))
        s = process.sigma(t).to(x.dtype).view(-1, *([1] * (x.ndim - 1)))
        return s * (x - a * MU) / (a**2 * S**2 + s**2)

    return fn


def gaussian_posterior(y, r):
    """Mean and variance of x0 given y = x0 + r n."""
    w = S**2 / (S**2 + r**2)
    return MU + w * (y - MU), w * r**2


PROCESSES = [VPProcess(), VPProcess(schedule="cosine"), VEProcess(sigma_min=0.01, sigma_max=50.0, n_levels=200)]


@pytest.mark.parametrize("process", PROCESSES, ids=["vp-linear", "vp-cosine", "ve"])
@pytest.mark.parametrize("r", [0.2, 0.4, 1.0])
def test_posterior_mean_is_the_gaussian_posterior_mean(process, r):
    g = torch.Generator().manual_seed(0)
    y = MU + S * torch.randn(64, 1, 4, 4, generator=g, dtype=torch.float64) \
        + r * torch.randn(64, 1, 4, 4, generator=g, dtype=torch.float64)
    got = posterior_mean(exact_eps(process), process, y, r)
    want, _ = gaussian_posterior(y, r)
    assert torch.allclose(got, want, atol=1e-5)
    t = matching_time(process, r)
    assert abs(float(process.noise_ratio(t)) - r) < 1e-9


@pytest.mark.parametrize("steps", [None, 100])
def test_reverse_process_draws_from_the_gaussian_posterior(steps):
    process, r = VPProcess(), 0.5
    y = torch.full((20000, 1), 0.9, dtype=torch.float32)
    x = reverse_from(exact_eps(process), process, y, r, "ddpm", steps=steps, generator=torch.Generator().manual_seed(1))
    mean, var = gaussian_posterior(0.9, r)
    assert abs(x.mean().item() - mean) < 0.02 and abs(x.var().item() / var - 1) < 0.08


def test_reverse_ode_maps_the_noisy_mean_to_the_posterior_mean():
    """The probability-flow ODE from y = MU (the centre) ends at MU, by symmetry."""
    process = VPProcess()
    x = reverse_from(exact_eps(process), process, torch.full((4, 1), MU), 0.5, "heun", steps=20)
    assert torch.allclose(x, torch.full((4, 1), MU), atol=1e-3)


def test_reverse_times_start_at_the_matching_time():
    process = VPProcess()
    t = matching_time(process, 0.4)
    for sampler, steps in (("ddpm", None), ("ddpm", 10), ("ddim", 25), ("dpm-solver", 8)):
        ts = reverse_times(process, sampler, t, steps)
        assert float(ts[0]) == t and float(ts[-1]) == 0.0 and bool((ts[1:] < ts[:-1]).all())
        if steps is not None:
            assert len(ts) - 1 == steps


def test_noise_levels_outside_the_process_are_refused():
    with pytest.raises(DifflabError, match="outside"):
        matching_time(VPProcess(), 1e-4)
    with pytest.raises(DifflabError, match="outside"):
        matching_time(VEProcess(sigma_min=0.01, sigma_max=5.0), 10.0)
    with pytest.raises(DifflabError, match="one scale"):
        noise_ratio_of(Normaliser(np.zeros(2), np.array([1.0, 2.0])), 0.1)
    assert noise_ratio_of(Normaliser(np.full((1, 2, 2), 0.5), np.full((1, 2, 2), 0.5)), 0.1) == pytest.approx(0.2)


def test_add_noise_and_psnr():
    x = np.full((3, 1, 8, 8), 0.5, dtype=np.float32)
    y = add_noise(x, 0.1, seed=0)
    assert np.array_equal(y, add_noise(x, 0.1, seed=0)) and not np.array_equal(y, add_noise(x, 0.1, seed=1))
    assert abs(float((y - x).std()) - 0.1) < 0.02
    assert np.allclose(psnr(x, x + 0.1), 20.0)                     # MSE 0.01 -> 20 dB


def test_load_images_from_npy_and_pictures(tmp_path):
    x = np.random.default_rng(0).uniform(size=(3, 1, 8, 8)).astype(np.float32)
    np.save(tmp_path / "a.npy", x)
    np.save(tmp_path / "b.npy", x[:, 0])                             # (N, H, W) for greyscale
    np.save(tmp_path / "c.npy", x[0])                                # one image (C, H, W)
    assert load_images(tmp_path / "a.npy", (1, 8, 8)).shape == (3, 1, 8, 8)
    assert np.array_equal(load_images(tmp_path / "b.npy", (1, 8, 8)), x)
    assert load_images(tmp_path / "c.npy", (1, 8, 8)).shape == (1, 1, 8, 8)
    Image.fromarray((x[0, 0] * 255).astype(np.uint8)).save(tmp_path / "p.png")
    png = load_images(tmp_path / "p.png", (1, 8, 8))
    assert png.shape == (1, 1, 8, 8) and np.abs(png - x[:1]).max() <= 1 / 255 + 1e-6
    assert load_images(tmp_path / "p.png", (3, 8, 8)).shape == (1, 3, 8, 8)
    np.save(tmp_path / "big.npy", x * 255)
    (tmp_path / "x.txt").write_text("0.5")
    for path, shape, message in ((tmp_path / "big.npy", (1, 8, 8), "divide"), (tmp_path / "a.npy", (3, 8, 8), "shape"),
                                 (tmp_path / "p.png", (1, 28, 28), "8x8"), (tmp_path / "nope.npy", (1, 8, 8), "not found"),
                                 (tmp_path / "x.txt", (1, 8, 8), "npy file or a picture")):
        with pytest.raises(DifflabError, match=message):
            load_images(path, shape)
    assert load_images(tmp_path / "big.npy", (1, 8, 8), clean=False).max() > 1          # noisy input may exceed


def test_clipped_denoiser_keeps_x0_hat_in_the_box_and_leaves_the_inside_alone():
    from difflab.clipping import clipped_denoiser, data_box

    process = VPProcess()
    lo, hi = data_box(Normaliser(np.full((1, 2, 2), 0.5), np.full((1, 2, 2), 0.5)))
    assert torch.equal(lo, -torch.ones(1, 2, 2)) and torch.equal(hi, torch.ones(1, 2, 2))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 1, 2, 2, generator=g)
    t = torch.full((8,), 0.7)
    wild = clipped_denoiser(lambda x, t: 5 * torch.randn(x.shape, generator=g), process, lo, hi)
    x0 = process.x0_from_eps(x, t, wild(x, t))
    assert x0.min() >= -1 - 1e-4 and x0.max() <= 1 + 1e-4
    tame = exact_eps(process)                     # Gaussian data: x0_hat mostly inside [-1, 1]
    inside = process.x0_from_eps(x, t, tame(x, t)).abs() < 1
    assert torch.allclose(clipped_denoiser(tame, process, lo, hi)(x, t)[inside], tame(x, t)[inside], atol=1e-5)
