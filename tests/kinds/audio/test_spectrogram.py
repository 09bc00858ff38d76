"""Audio as spectrograms (issue 17): the STFT and its inverse, Griffin-Lim on a known chirp, the
`representation` data option (shapes, info, errors), and a tiny spectrogram run through the CLI
(train, sample to clips + WAV files + pictures, evaluate, denoise with the noisy phase)."""
import json

import numpy as np
import pytest
import torch

from difflab.cli import main
from difflab.run import load
from difflab.data import get_dataset
from difflab.errors import DifflabError
from difflab.kinds.audio import spectrogram as S
from difflab.kinds.audio.datasets import SpectrogramDataset, read_wav

RATE = 4000


def _chirp(length=4096, f0=200.0, f1=900.0, amp=0.6):
    """A Hann-enveloped linear chirp f0 -> f1 Hz at 4 kHz, shape (1, 1, length)."""
    t = np.arange(length) / RATE
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t ** 2 / (2 * t[-1]))
    return (amp * np.sin(phase) * np.hanning(length))[None, None]


def test_stft_shape_and_exact_inverse_with_phase():
    spec = S.SpectrogramSpec()
    assert spec.shape == (1, 64, 64)
    x = _chirp()
    z = S.stft(torch.as_tensor(x[:, 0]), spec)
    assert z.shape == (1, 64, 64)
    # with its own phase, the inverse STFT gives the clip back (the chirp has next to no energy at Nyquist)
    assert np.abs(S.istft(z, spec).numpy() - x[:, 0]).max() < 1e-5
    images, phase = S.split_clips(x, spec)
    assert np.abs(S.with_phase(images, phase, spec) - x).max() < 1e-4
    # the peak bin of the first frames sits near 200 Hz, of the last near 900 Hz (31.25 Hz per bin)
    mag = z.abs()[0].numpy()
    assert abs(mag[:, 8].argmax() * RATE / spec.n_fft - 200 - 700 * 8.5 / 64) < 40
    assert abs(mag[:, 56].argmax() * RATE / spec.n_fft - 200 - 700 * 56.5 / 64) < 40


def test_image_scaling_is_fixed_and_inverts():
    spec = S.SpectrogramSpec()
    mag = torch.tensor([0.0, 0.01, 1.0, 30.0], dtype=torch.float64)
    img = S.to_image(mag, spec)
    assert img[0] == pytest.approx(-1.0) and -1 < img[1] < img[2] < img[3] < 1.05
    assert torch.allclose(S.to_magnitude(img, spec), mag, atol=1e-9)
    assert torch.isfinite(S.to_magnitude(torch.tensor([1e6, float("nan")]), spec)).all()   # far outside: finite


def test_griffin_lim_recovers_a_chirp_and_a_broken_inversion_cannot():
    spec = S.SpectrogramSpec()
    x = _chirp()
    images = S.clips_to_images(x, spec)
    y = S.images_to_clips(images, spec)
    assert y.shape == (1, 1, 4096) and y.dtype == np.float32
    sc = S.spectral_convergence(y, x, spec)[0]
    assert sc < 0.1                                              # measured ~0.02-0.04
    # the same magnitude with the seeded random phase and no iterations, or with zero phase, is far off
    assert S.spectral_convergence(S.images_to_clips(images, spec, iterations=0), x, spec)[0] > 0.3
    zero_phase = S.istft(S.to_magnitude(torch.as_tensor(images[:, 0].astype(np.float64)), spec) + 0j, spec)
    assert S.spectral_convergence(zero_phase.numpy()[:, None], x, spec)[0] > 0.3
    # deterministic: the same images give the same clips
    assert np.array_equal(y, S.images_to_clips(images, spec))


@pytest.mark.parametrize("kw, message", [
    (dict(n_fft=127), "n_fft must be an even integer"),
    (dict(hop=40), "not a multiple of the hop"),
    (dict(hop=200), "hop must lie in"),
])
def test_spectrogram_spec_refuses_bad_settings(kw, message):
    with pytest.raises(DifflabError, match=message):
        S.SpectrogramSpec(**{"length": 4096, **kw})


def test_representation_option_shapes_info_and_errors():
    wave = get_dataset("tones", n_train=16, n_test=8)
    ds = get_dataset("tones", n_train=16, n_test=8, representation="spectrogram")
    assert isinstance(ds, SpectrogramDataset) and wave.shape == (1, 1024)
    assert ds.shape == (1, 64, 16) and ds.train.shape == (16, 1, 64, 16) and ds.test.dtype == np.float32
    assert ds.waveforms().train.shape == (16, 1, 1024) and np.array_equal(ds.waveforms().train, wave.train)
    assert np.array_equal(ds.labels_train, wave.labels_train) and ds.n_classes == 3
    assert ds.train.min() >= -1 - 1e-6 and ds.train.max() < 1.5
    info = ds.info()
    assert info["representation"] == "spectrogram" and info["shape"] == [1, 64, 16] and info["length"] == 1024
    assert S.SpectrogramSpec.from_dict(info["spectrogram"]) == ds.spec
    assert len(np.unique(ds.normaliser.scale)) == 1                          # one scale: denoise works
    assert ds.sample(3, np.random.default_rng(0)).shape == (3, 1, 64, 16)
    small = get_dataset("tones", n_train=4, n_test=4, representation="spectrogram", n_fft=64, hop=32)
    assert small.shape == (1, 32, 32)
    assert "representation" not in wave.info()
    for kw, message in [(dict(representation="mel"), "representation must be one of waveform, spectrogram"),
                        (dict(n_fft=64), "add representation: spectrogram"),
                        (dict(representation="spectrogram", hop=48), "not a multiple of the hop")]:
        with pytest.raises(DifflabError, match=message) as e:
            get_dataset("tones", n_train=4, n_test=4, **kw)
        assert "\n" not in str(e.value)


def test_bad_representation_is_one_line_from_the_cli(tmp_path, capsys):
    assert main(["train", "tones", "--out", str(tmp_path / "r"), "--steps", "1", "--set",
                 "data_options.representation=spectrum", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "representation must be one of waveform, spectrogram, got 'spectrum'" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


TINY = ["--set", "data_options.representation=spectrogram", "--set", "data_options.length=1024",
        "--set", "network={name: unet, base_channels: 8, channel_mults: [1, 2], attention_resolutions: []}",
        "--set", "class_conditional=true", "--set", "n_train=48", "--set", "n_test=24", "--set", "batch_size=8",
        "--set", "process.n_steps=100", "--set", "process.beta_end=0.2", "--set", "threads=1", "--no-progress"]


def cli(*args):
    return main([str(a) for a in args])


def test_spectrogram_run_through_the_cli(tmp_path, capsys, tiny_classifier):
    run = tmp_path / "tones"
    assert cli("train", "tones", "--out", run, "--steps", 2, "--seed", 0, *TINY) == 0
    info = json.loads((run / "config.json").read_text())["dataset"]
    assert info["representation"] == "spectrogram" and info["shape"] == [1, 64, 16] and info["sample_rate"] == 4000
    assert info["spectrogram"]["n_fft"] == 128 and info["spectrogram"]["length"] == 1024
    loaded = load(run)
    assert loaded.hooks.clip_default(loaded) and loaded.hooks.sample_shape(loaded) == (1, 1024)   # x0_hat in [-1, 1]
    out = tmp_path / "s.npy"
    assert cli("sample", run, "--n", 4, "--steps", 3, "--labels", "all", "--out", out, "--plot") == 0
    x = np.load(out)
    assert x.shape == (4, 1, 1024) and x.dtype == np.float32 and np.abs(x).max() <= 1      # clips, not images
    wavs = sorted((tmp_path / "s_wav").glob("*.wav"))
    assert len(wavs) == 4
    back, rate = read_wav(wavs[2], 4000)
    assert rate == 4000 and back.shape == (1024,) and np.abs(back - x[2, 0]).max() <= 2 / 32767
    for name in ("s_waveforms.png", "s_spectrograms.png", "s_reverse.png"):
        assert (tmp_path / name).stat().st_size > 5000
    capsys.readouterr()

    assert cli("evaluate", run, "--samples", out) == 0
    assert "FD-clf" in capsys.readouterr().out
    result = json.loads((run / "metrics.json").read_text())
    assert result["kind"] == "audio" and sum(result["labels"]["histogram"]) == 4
    images = tmp_path / "images.npy"                                 # the model's own images are not samples
    np.save(images, np.zeros((2, 1, 64, 16), np.float32))
    assert cli("evaluate", run, "--samples", images) == 2
    assert "(N, 1, 1024)" in capsys.readouterr().err

    clean = tmp_path / "clean.npy"
    np.save(clean, get_dataset("tones", n_train=8, n_test=8, length=1024).test[:3])
    for mode in ("posterior-mean", "reverse"):
        restored = tmp_path / f"r-{mode}.npy"
        assert cli("denoise", run, "--input", clean, "--sigma", 0.05, "--out", restored, "--mode", mode,
                   "--steps", 3) == 0
        assert np.load(restored).shape == (3, 1, 1024)
        assert len(list((tmp_path / f"r-{mode}_wav").glob("*.wav"))) == 3
        assert "SNR: noisy" in capsys.readouterr().out
