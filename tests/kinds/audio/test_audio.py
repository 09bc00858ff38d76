"""Audio: the WAV reader on valid and broken files, FSDD's split on FSDD-named files, wav:FOLDER,
tones, UNet1d, the SNR helper, the Frechet floor, and a tiny run through the CLI
(train, sample to .npy + WAV files + pictures, evaluate, denoise)."""
import json
import wave

import numpy as np
import pytest
import torch

import difflab

from difflab.cli import main
from difflab.data import get_dataset
from difflab.kinds.audio.datasets import fit_length, prepare_clip, read_wav, write_wav
from difflab.errors import DifflabError
from difflab.kinds.audio import metrics as audio_eval
from difflab.kinds.audio.kind import read_clips, snr_db
from difflab.nets.unet1d import UNet1d


def _wav(path, x, rate=8000, width=2, channels=1):
    """Write raw PCM with the wave module (any width / channel count)."""
    x = np.asarray(x, dtype=np.float64)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        if width == 1:
            w.writeframes((np.round(x * 127) + 128).astype(np.uint8).tobytes())
        else:
            w.writeframes(np.round(x * 32767).astype("<i2").tobytes())
    return path


def _tone(n, f=440.0, rate=8000, amp=0.5):
    return amp * np.sin(2 * np.pi * f * np.arange(n) / rate)


# -- the WAV reader ---------------------------------------------------------------------------------

def test_read_wav_round_trip_and_resampling(tmp_path):
    x = _tone(800)
    path = write_wav(tmp_path / "a.wav", x, 8000)
    y, rate = read_wav(path, 8000)
    assert rate == 8000 and y.shape == (800,)
    assert np.abs(y - x).max() <= 1 / 32767 + 1e-12             # 16-bit quantisation only
    z, rate = read_wav(path, 4000, resample=True)
    assert rate == 4000 and z.shape == (400,)
    # a 440 Hz tone survives halving the rate: same frequency, same amplitude (away from the edges)
    spec = np.abs(np.fft.rfft(z * np.hanning(400)))
    assert abs(np.argmax(spec) * 4000 / 400 - 440) <= 10
    assert abs(np.abs(z[50:-50]).max() - 0.5) < 0.02
    write_wav(tmp_path / "loud.wav", np.array([2.0, -3.0, 0.5]), 8000)      # clipped when written
    assert np.allclose(read_wav(tmp_path / "loud.wav")[0], [32767 / 32768, -32767 / 32768, 16384 / 32768], atol=1e-4)


@pytest.mark.parametrize("make, message", [
    (lambda p: _wav(p, _tone(100), rate=16000), "sample rate 16000 Hz, expected 8000"),
    (lambda p: _wav(p, _tone(100), width=1), "8-bit"),
    (lambda p: _wav(p, np.repeat(_tone(100), 2), channels=2), "2 channels"),
    (lambda p: _wav(p, np.zeros(0)), "no samples"),
    (lambda p: p.write_bytes(b"not a wav file at all, just text"), "not a readable PCM WAV"),
    (lambda p: p.write_bytes(b"RIFF"), "truncated"),
])
def test_read_wav_refuses_broken_files_naming_them(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(DifflabError, match=message) as err:
        read_wav(path, 8000)
    assert "bad.wav" in str(err.value)


def test_read_wav_refuses_a_truncated_data_chunk(tmp_path):
    path = _wav(tmp_path / "cut.wav", _tone(1000))
    data = path.read_bytes()
    path.write_bytes(data[:-500])                           # the header still promises 1000 samples
    with pytest.raises(DifflabError, match="truncated.*1000 samples.*750"):
        read_wav(path, 8000)


def test_fit_length_and_prepare_clip():
    assert np.array_equal(fit_length(np.arange(6), 4), [1, 2, 3, 4])            # centre cut
    assert np.array_equal(fit_length(np.arange(1, 3), 6), [0, 0, 1, 2, 0, 0])   # centred in silence
    clip = prepare_clip(np.array([1.0, 3.0, 1.0, 3.0]) / 10, 8, 0.9)            # mean removed, peak 0.9
    assert clip.dtype == np.float32 and np.allclose(clip, [0, 0, -0.9, 0.9, -0.9, 0.9, 0, 0])
    assert np.allclose(prepare_clip(np.zeros(4), 4, 0.9), 0)                   # silence stays silence


# -- FSDD and wav:FOLDER ------------------------------------------------------------------------------

def _fake_fsdd(root, indices=(0, 1, 5, 6, 7), digits=(0, 3), speakers=("alice", "bob")):
    rec = root / "recordings"
    rec.mkdir(parents=True)
    for d in digits:
        for s in speakers:
            for i in indices:
                _wav(rec / f"{d}_{s}_{i}.wav", _tone(300 + 50 * i, f=200 + 100 * d, amp=0.2 + 0.1 * d))
    (rec / "README.txt").write_text("not a recording")
    return root


def test_fsdd_official_split_labels_and_normaliser(tmp_path):
    root = _fake_fsdd(tmp_path / "fsdd")
    ds = get_dataset("fsdd", data_dir=str(root), length=256)
    assert ds.kind == "audio" and ds.shape == (1, 256) and ds.train.dtype == np.float32
    assert len(ds.train) == 2 * 2 * 3 and len(ds.test) == 2 * 2 * 2          # index 0-4 test, 5-49 train
    assert sorted(set(ds.labels_train)) == [0, 3] and ds.n_classes == 10
    assert np.abs(ds.train).max() == pytest.approx(0.9, abs=1e-6)             # every clip peaks at 0.9
    info = ds.info()
    assert info["sample_rate"] == 4000 and info["n_classes"] == 10 and info["length"] == 256
    shift, scale = ds.normaliser.shift, ds.normaliser.scale                   # one number for every point
    assert np.all(shift == 0) and np.unique(scale).size == 1
    assert scale.flat[0] == pytest.approx(float(ds.train.std()), rel=1e-6)
    raw = get_dataset("fsdd", data_dir=str(root), length=256, sample_rate=8000, peak=None, n_train=5)
    assert len(raw.train) == 5 and raw.info()["sample_rate"] == 8000
    assert 0.19 < np.abs(raw.test[raw.labels_test == 0]).max() < 0.22          # recorded level (0.2) kept


def test_fsdd_missing_or_broken(tmp_path, monkeypatch):
    import difflab.kinds.audio.datasets as audio_data

    monkeypatch.setattr(audio_data, "search_dirs", lambda name, d: [tmp_path / "nowhere"])
    with pytest.raises(DifflabError, match="(?s)not found.*nowhere.*github.com/Jakobovski"):
        get_dataset("fsdd")
    monkeypatch.undo()
    root = _fake_fsdd(tmp_path / "fsdd")
    _wav(root / "recordings" / "7_alice_9.wav", _tone(100), rate=16000)
    with pytest.raises(DifflabError, match="7_alice_9.wav: sample rate 16000 Hz, expected 8000"):
        get_dataset("fsdd", data_dir=str(root))


def test_wav_folder_dataset(tmp_path):
    for i in range(10):
        _wav(tmp_path / f"clip{i}.wav", _tone(200 + 30 * i, rate=8000))
    ds = get_dataset(f"wav:{tmp_path}", length=128)
    assert len(ds.train) == 9 and len(ds.test) == 1 and ds.shape == (1, 128) and ds.sample_rate == 8000
    assert not hasattr(ds, "labels_train")
    again = get_dataset(f"wav:{tmp_path}", length=128)
    assert np.array_equal(ds.test, again.test)                                 # the split is seeded
    _wav(tmp_path / "other.wav", _tone(300), rate=16000)
    with pytest.raises(DifflabError, match="other.wav: sample rate 16000 Hz, expected 8000"):
        get_dataset(f"wav:{tmp_path}")
    mixed = get_dataset(f"wav:{tmp_path}", length=128, sample_rate=4000)      # every file resampled
    assert mixed.sample_rate == 4000 and len(mixed.train) + len(mixed.test) == 11
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DifflabError, match="holds 0 .wav file"):
        get_dataset(f"wav:{empty}")
    with pytest.raises(DifflabError, match="not a folder"):
        get_dataset(f"wav:{tmp_path / 'missing'}")


def test_tones_truth_and_classes():
    ds = get_dataset("tones", n_train=30, n_test=10, length=512)
    assert ds.has_truth and ds.shape == (1, 512) and ds.class_names[0] == "tone"
    x = ds.sample(5, np.random.default_rng(1))
    assert x.shape == (5, 1, 512) and np.abs(x).max() <= 0.9 + 1e-6
    assert np.array_equal(x, ds.sample(5, np.random.default_rng(1)))
    assert np.array_equal(ds.train, get_dataset("tones", n_train=30, n_test=10, length=512).train)


# -- the network ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("length", [64, 75])
def test_unet1d_shapes_labels_and_zero_start(length):
    torch.manual_seed(0)
    net = UNet1d((1, length), base_channels=8, channel_mults=(1, 2, 2), n_classes=3)
    x, t = torch.randn(4, 1, length), torch.rand(4)
    assert net(x, t).shape == (4, 1, length)
    assert torch.all(net(x, t, torch.tensor([0, 1, 2, -1])) == 0)             # zero-initialised output
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    y = torch.tensor([0, 1, 2, -1])
    out = net(x, t, y)
    assert torch.allclose(net(x, t, torch.full((4,), -1)), net(x, t))          # -1 and None: the null class
    assert not torch.allclose(out[:3], net(x, t)[:3])
    with pytest.raises(DifflabError, match="0..2"):
        net(x, t, torch.tensor([0, 1, 3, 0]))
    plain = UNet1d((2, length), preset="unet1d-tiny")
    assert plain(torch.randn(2, 2, length), torch.rand(2)).shape == (2, 2, length)
    with pytest.raises(DifflabError, match="without n_classes"):
        plain(torch.randn(2, 2, length), torch.rand(2), torch.tensor([0, 1]))


def test_unet1d_refuses_bad_settings():
    with pytest.raises(DifflabError, match="valid names"):
        UNet1d((1, 64), preset="huge")
    with pytest.raises(DifflabError, match="unknown setting"):
        UNet1d((1, 64), width=3)
    with pytest.raises(DifflabError, match="odd"):
        UNet1d((1, 64), kernel_size=4)
    with pytest.raises(DifflabError, match="shape \\(C, L\\)"):
        UNet1d((1, 8, 8))


# -- metrics --------------------------------------------------------------------------------------------

def test_snr_known_case():
    clean = np.ones((2, 1, 100))
    noisy = clean + 0.1 * np.where(np.arange(100) % 2, 1.0, -1.0)             # error power 0.01, signal 1
    assert np.allclose(snr_db(clean, noisy), 20.0)
    assert np.allclose(snr_db(clean, clean + 1.0), 0.0)


def test_fd_floor_and_spectrum_features_on_known_cases():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4000, 2))
    floor = audio_eval.fd_floor(a, a + np.array([3.0, 4.0]), 4000, np.random.default_rng(1), n_pairs=3)
    assert floor["median"] == pytest.approx(25.0, rel=0.02)                   # |mean shift|^2 = 25
    same = audio_eval.fd_floor(a, a, 500, np.random.default_rng(1), n_pairs=4)
    assert len(same["values"]) == 4 and same["median"] < 0.05 and same["p95"] >= same["median"]
    clips = np.stack([0.5 * np.sin(2 * np.pi * 500 * np.arange(512) / 4000)] * 3)[:, None]
    f = audio_eval.log_spectrum_stats(clips, 4000)
    assert f.shape == (3, 2 * 65)                                             # 128-point windows at 4 kHz
    assert np.argmax(f[0, :65]) == round(500 / (4000 / 128))                  # the 500 Hz bin is loudest


# -- through the CLI ---------------------------------------------------------------------------------------

TINY = ["--set", "network={name: unet1d, base_channels: 8, channel_mults: [1, 2], attention: true}",
        "--set", "data_options.length=256", "--set", "n_train=64", "--set", "n_test=32", "--set", "batch_size=16",
        "--set", "process.n_steps=100", "--set", "process.beta_end=0.2", "--no-progress"]


def cli(*args):
    return main([str(a) for a in args])


def test_audio_run_through_the_cli(tmp_path, capsys, tiny_classifier):
    run = tmp_path / "tones"
    assert cli("train", "tones", "--out", run, "--steps", 6, "--seed", 0, *TINY) == 0
    info = json.loads((run / "config.json").read_text())["dataset"]
    assert info["kind"] == "audio" and info["sample_rate"] == 4000
    assert "representation" not in info and not difflab.load(run).hooks.clip_default(difflab.load(run))  # waveforms: no clip
    out = tmp_path / "s.npy"
    assert cli("sample", run, "--n", 6, "--steps", 5, "--out", out, "--plot") == 0
    x = np.load(out)
    assert x.shape == (6, 1, 256) and x.dtype == np.float32 and np.abs(x).max() <= 1
    wavs = sorted((tmp_path / "s_wav").glob("*.wav"))
    assert [w.name for w in wavs][:2] == ["sample_0000.wav", "sample_0001.wav"] and len(wavs) == 6
    back, rate = read_wav(wavs[3], 4000)
    # written as round(32767 x), read as n / 32768 (libsndfile's convention): the error of each value is
    # at most (|x| + 0.5) / 32768 (the 0.5 of rounding, and |x| / 32768 of the two scales)
    assert rate == 4000 and np.all(np.abs(back - x[3, 0]) <= (np.abs(x[3, 0]) + 0.5) / 32768 + 1e-7)
    for name in ("s_waveforms.png", "s_spectrograms.png"):
        assert (tmp_path / name).stat().st_size > 5000
    assert cli("sample", run, "--n", 2, "--out", out) == 2                     # never overwrites
    assert "already exists" in capsys.readouterr().err

    assert cli("evaluate", run, "--samples", out) == 0
    text = capsys.readouterr().out
    assert "FD-clf" in text and "floor" in text and "histogram" in text
    result = json.loads((run / "metrics.json").read_text())
    fd = result["metrics"]["fd"]
    assert result["kind"] == "audio" and len(fd["floor_values"]) == 10 and np.isfinite(fd["value"])
    assert sum(result["labels"]["histogram"]) == 6

    clean = tmp_path / "clean.npy"
    ds = get_dataset("tones", n_train=64, n_test=32, length=256)
    np.save(clean, ds.test[:4])
    for mode in ("posterior-mean", "reverse"):
        restored = tmp_path / f"r-{mode}.npy"
        assert cli("denoise", run, "--input", clean, "--sigma", 0.05, "--out", restored, "--mode", mode,
                   "--steps", 4) == 0
        assert np.load(restored).shape == (4, 1, 256)
        assert len(list((tmp_path / f"r-{mode}_wav").glob("*.wav"))) == 4
    assert "SNR: noisy" in capsys.readouterr().out
    _wav(tmp_path / "in8k.wav", _tone(600, f=300, amp=0.3), rate=8000)        # resampled to 4 kHz, fitted to 256
    assert cli("denoise", run, "--input", tmp_path / "in8k.wav", "--sigma", 0.05, "--out", tmp_path / "w.npy") == 0
    assert np.load(tmp_path / "w.npy").shape == (1, 1, 256)
    captured = capsys.readouterr()
    assert "resampled" in captured.err and "SNR" in captured.out
    _wav(tmp_path / "stereo.wav", np.zeros(20), channels=2)
    assert cli("denoise", run, "--input", tmp_path / "stereo.wav", "--sigma", 0.05, "--out", tmp_path / "q.npy") == 2
    err = capsys.readouterr().err
    assert "stereo.wav: 2 channels" in err and "Traceback" not in err


def test_read_clips_accepts_folders_and_npy(tmp_path):
    for i in range(3):
        _wav(tmp_path / f"c{i}.wav", _tone(100 + i, rate=4000), rate=4000)
    assert read_clips(tmp_path, (1, 128), 4000).shape == (3, 1, 128)
    np.save(tmp_path / "x.npy", np.zeros((2, 128), np.float32))
    assert read_clips(tmp_path / "x.npy", (1, 128), 4000).shape == (2, 1, 128)
    with pytest.raises(DifflabError, match="this run's audio has shape"):
        read_clips(tmp_path / "x.npy", (1, 64), 4000)
    with pytest.raises(DifflabError, match="give a .wav file"):
        read_clips(tmp_path / "x.txt", (1, 64), 4000)
