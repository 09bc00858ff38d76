"""Image runs end to end through the command line on 8x8 synthetic data (and tiny MNIST-format
files for --data-dir): train, sample (.npy (N, C, H, W) in [0, 1] + PNG grid), denoise."""
import json
import struct

import numpy as np
import pytest
from PIL import Image

from difflab.cli import main
from difflab.conditioning import prior_labels
from difflab.errors import DifflabError
from difflab.run import Run, load

NET = ["--set", "network.name=unet", "--set", "network.base_channels=8", "--set", "network.channel_mults=[1, 2]",
       "--set", "network.attention_resolutions=[]", "--set", "process.n_steps=100", "--set", "process.beta_end=0.2",
       "--set", "batch_size=16", "--no-progress"]
TINY_UNET = NET + ["--set", "n_train=64", "--set", "n_test=16"]


def cli(*args):
    return main([str(a) for a in args])


def _error(capsys, *args) -> str:
    assert cli(*args) == 2
    err = capsys.readouterr().err
    assert err.startswith("difflab: error:") and "Traceback" not in err
    return err


def _png_ok(path):
    with Image.open(path) as im:
        assert im.size[0] > 50 and im.size[1] > 50


def test_image_run_train_sample_denoise(tmp_path, capsys):
    run = tmp_path / "shapes"
    assert cli("train", "shapes", "--out", run, "--steps", 8, "--seed", 0, *TINY_UNET,
               "--set", "class_conditional=true") == 0
    out = tmp_path / "x.npy"
    assert cli("sample", run, "--n", 12, "--sampler", "ddim", "--steps", 4, "--labels", "all", "--guidance", 2,
               "--out", out, "--plot") == 0
    text = capsys.readouterr().out
    assert "NFE 8" in text                                   # 4 steps, 2 passes each with guidance
    x = np.load(out)
    assert x.shape == (12, 1, 8, 8) and x.dtype == np.float32 and x.min() >= 0 and x.max() <= 1
    for name in ("x.png", "x_vs_test.png", "x_reverse.png"):
        _png_ok(tmp_path / name)
    with Image.open(tmp_path / "x_reverse.gif") as gif:
        assert gif.n_frames > 2

    clean = tmp_path / "clean.npy"
    np.save(clean, x[:4])
    for mode in ("posterior-mean", "reverse"):
        restored = tmp_path / f"r-{mode}.npy"
        assert cli("denoise", run, "--input", clean, "--sigma", 0.2, "--out", restored, "--mode", mode,
                   "--steps", 5) == 0
        r = np.load(restored)
        assert r.shape == (4, 1, 8, 8) and r.min() >= 0 and r.max() <= 1
        _png_ok(restored.with_suffix(".png"))
    assert "PSNR" in capsys.readouterr().out
    Image.fromarray((x[0, 0] * 255).astype(np.uint8)).save(tmp_path / "one.png")    # a PNG, already noisy
    assert cli("denoise", run, "--input", tmp_path / "one.png", "--sigma", 0.1, "--noisy", "--out", tmp_path / "p.npy") == 0
    assert np.load(tmp_path / "p.npy").shape == (1, 1, 8, 8)
    assert "PSNR" not in capsys.readouterr().out             # no clean images to compare with

    assert "already exists" in _error(capsys, "sample", run, "--n", 2, "--out", out)
    assert "already exists" in _error(capsys, "denoise", run, "--input", clean, "--sigma", 0.2, "--out",
                                      tmp_path / "r-reverse.npy")
    assert "valid names" in _error(capsys, "denoise", run, "--input", clean, "--sigma", 0.2, "--mode", "magic",
                                   "--out", tmp_path / "m.npy")
    assert "positive" in _error(capsys, "denoise", run, "--input", clean, "--sigma", 0, "--out", tmp_path / "m.npy")
    assert "0..3" in _error(capsys, "sample", run, "--n", 2, "--labels", 7, "--out", tmp_path / "l.npy")
    assert "integers" in _error(capsys, "sample", run, "--n", 2, "--labels", "a,b", "--out", tmp_path / "l.npy")
    assert "guidance needs labels" in _error(capsys, "sample", run, "--n", 2, "--guidance", 2, "--out", tmp_path / "l.npy")
    assert "this run's images" in _error(capsys, "denoise", run, "--input", tmp_path / "x.png", "--sigma", 0.1,
                                         "--out", tmp_path / "q.npy")


def test_prior_labels_follow_the_training_labels_and_are_seeded():
    train = np.array([0] * 700 + [1] * 200 + [2] * 100)
    y = np.array(prior_labels(train, 20000, seed=5))
    assert y.tolist() == prior_labels(train, 20000, seed=5) and y.tolist() != prior_labels(train, 20000, seed=6)
    share = np.bincount(y, minlength=3) / len(y)
    assert np.all(np.abs(share - [0.7, 0.2, 0.1]) < 4 * np.sqrt(np.array([0.7, 0.2, 0.1]) * 0.9 / 20000) + 1e-3)
    with pytest.raises(DifflabError, match="labelled data"):
        prior_labels(None, 3, seed=0)


def test_sample_labels_prior_through_the_cli(tmp_path, capsys, monkeypatch):
    run = tmp_path / "c"
    assert cli("train", "shapes", "--out", run, "--steps", 2, *TINY_UNET, "--set", "class_conditional=true") == 0
    seen = []
    real = Run.sample_with_info
    monkeypatch.setattr(Run, "sample_with_info", lambda self, n, **kw: seen.append(kw["labels"]) or real(self, n, **kw))
    assert cli("sample", run, "--n", 50, "--steps", 2, "--labels", "prior", "--seed", 3, "--out", tmp_path / "p.npy") == 0
    assert seen[0] == prior_labels(load(run).dataset.labels_train, 50, 3)      # drawn from its training labels
    assert cli("train", "shapes", "--out", tmp_path / "u", "--steps", 1, *TINY_UNET) == 0
    assert "unconditional" in _error(capsys, "sample", tmp_path / "u", "--n", 2, "--labels", "prior", "--out",
                                     tmp_path / "q.npy")


def test_labels_need_a_conditional_run_and_denoise_refuses_vector_runs(tmp_path, capsys):
    run = tmp_path / "u"
    assert cli("train", "shapes", "--out", run, "--steps", 2, *TINY_UNET) == 0
    assert "unconditional" in _error(capsys, "sample", run, "--n", 2, "--labels", 1, "--out", tmp_path / "a.npy")
    assert cli("sample", run, "--n", 2, "--sampler", "dpm-solver", "--steps", 2, "--out", tmp_path / "a.npy") == 0
    vec = tmp_path / "v"
    assert cli("train", "gmm", "--out", vec, "--steps", 2, "--set", "network.width=8", "--set", "network.depth=1",
               "--set", "network.emb_dim=8", "--no-progress") == 0
    np.save(tmp_path / "pts.npy", np.zeros((3, 2)))
    # vector runs have no denoise input reader (denoise restores images, audio, embeddings, boards)
    assert "holds vector data" in _error(capsys, "denoise", vec, "--input", tmp_path / "pts.npy", "--sigma", 0.1,
                                        "--out", tmp_path / "b.npy")


def _idx(arr: np.ndarray) -> bytes:
    return bytes([0, 0, 8, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def test_train_an_image_dataset_from_data_dir(tmp_path, capsys):
    """`difflab train mnist --data-dir DIR` reads the IDX files there and records the folder."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "files"
    folder.mkdir()
    for stem, n in (("train", 24), ("t10k", 8)):
        (folder / f"{stem}-images-idx3-ubyte").write_bytes(_idx(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)))
        (folder / f"{stem}-labels-idx1-ubyte").write_bytes(_idx(rng.integers(0, 10, n, dtype=np.uint8)))
    run = tmp_path / "m"
    assert cli("train", "mnist", "--data-dir", folder, "--out", run, "--steps", 2, *NET) == 0
    info = json.loads((run / "config.json").read_text())
    assert info["config"]["data_options"]["data_dir"] == str(folder) and info["dataset"]["n_train"] == 24
    assert cli("sample", run, "--n", 3, "--sampler", "ddim", "--steps", 2, "--out", tmp_path / "m.npy") == 0
    assert np.load(tmp_path / "m.npy").shape == (3, 1, 28, 28)
    assert "uses the preset 'mnist'" in capsys.readouterr().err        # a plain `train mnist` gets configs/mnist.yaml
    assert "--resume" in _error(capsys, "train", "mnist", "--out", run, "--resume", "--data-dir", folder)
