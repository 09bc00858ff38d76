"""The command line end to end on tiny runs, and every bad input ending in a clean message."""
import json
import subprocess
import sys

import numpy as np

from difflab.cli import main

TINY = ["--set", "network.width=16", "--set", "network.depth=1", "--set", "network.emb_dim=8", "--set", "batch_size=128",
        "--no-progress"]


def cli(*args):
    return main([str(a) for a in args])


def test_train_sample_evaluate(tmp_path, capsys):
    run = tmp_path / "pw"
    assert cli("train", "pinwheel", "--method", "ddpm", "--out", run, "--steps", 30, "--seed", 1, *TINY) == 0
    assert (run / "losses.png").stat().st_size > 0 and (run / "dataset.png").stat().st_size > 0
    out = tmp_path / "s.npy"
    assert cli("sample", run, "--n", 300, "--sampler", "ddim", "--steps", 20, "--out", out, "--seed", 1, "--plot") == 0
    text = capsys.readouterr().out
    assert "NFE 20" in text
    x = np.load(out)
    assert x.shape == (300, 2) and np.isfinite(x).all()
    assert (tmp_path / "s_vs_test.png").exists() and (tmp_path / "s_density.png").exists()
    assert cli("evaluate", run, "--samples", out) == 0
    m = json.loads((run / "metrics.json").read_text())
    assert set(m["metrics"]) == {"mmd2", "energy", "sw2"} and "floor_p95" in m["metrics"]["mmd2"]
    assert "log_density" in m


def test_user_data_and_data_export(tmp_path):
    npz = tmp_path / "moons.npz"
    assert cli("data", "moons", "--out", npz) == 0
    d = np.load(npz)
    assert d["train"].shape == (2000, 2) and d["test"].shape == (500, 2)
    assert cli("train", npz, "--method", "dsm", "--out", tmp_path / "mine", "--steps", 10, *TINY) == 0
    assert cli("sample", tmp_path / "mine", "--n", 50, "--steps", 5, "--out", tmp_path / "m.npy") == 0
    assert cli("evaluate", tmp_path / "mine", "--samples", tmp_path / "m.npy") == 0
    m = json.loads((tmp_path / "mine" / "metrics.json").read_text())
    assert m["reference"] == "test set"


def test_datasets_lists_and_draws_every_builtin(capsys, tmp_path):
    assert cli("datasets", "--plot", tmp_path) == 0
    out = capsys.readouterr().out
    for name in ["normal1d", "normal2d", "gmm", "pinwheel", "spiral", "moons", "checkerboard", "normal-nd"]:
        assert name in out
        assert (tmp_path / f"{name}.png").stat().st_size > 0


def _error(capsys, *args):
    code = cli(*args)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("difflab: error:") and "Traceback" not in err
    return err


def test_bad_inputs_give_one_line_errors(tmp_path, capsys):
    assert "valid names" in _error(capsys, "train", "pinwheels", "--out", tmp_path / "a")
    assert "valid names: ddpm, dsm" in _error(capsys, "train", "gmm", "--method", "gan", "--out", tmp_path / "a")
    bad = tmp_path / "bad.npy"
    np.save(bad, np.array([[1.0, np.nan]] * 20))
    assert "bad.npy" in _error(capsys, "train", bad, "--out", tmp_path / "b")
    assert "steps" in _error(capsys, "train", "gmm", "--out", tmp_path / "c", "--steps", 0)
    assert "beta_start" in _error(capsys, "train", "gmm", "--out", tmp_path / "c", "--set", "process.beta_start=2")
    assert "not a difflab run folder" in _error(capsys, "train", "gmm", "--out", tmp_path / "none", "--resume")
    assert "not a difflab run folder" in _error(capsys, "sample", tmp_path / "none", "--out", tmp_path / "x.npy")
    run = tmp_path / "r"
    assert cli("train", "gmm", "--out", run, "--steps", 3, *TINY) == 0
    assert "already exists" in _error(capsys, "train", "gmm", "--out", run, "--steps", 3, *TINY)
    assert "valid names" in _error(capsys, "sample", run, "--sampler", "magic", "--out", tmp_path / "x.npy")
    assert "positive" in _error(capsys, "sample", run, "--steps", 0, "--out", tmp_path / "x.npy")
    assert "not found" in _error(capsys, "evaluate", run, "--samples", tmp_path / "missing.npy")
    np.save(tmp_path / "wrong.npy", np.zeros((10, 3)))
    assert "shape" in _error(capsys, "evaluate", run, "--samples", tmp_path / "wrong.npy")
    assert "already exists" in _error(capsys, "sample", run, "--n", 5, "--out", tmp_path / "wrong.npy")
    assert cli("sample", run, "--n", 5, "--steps", 3, "--out", tmp_path / "wrong.npy", "--overwrite") == 0


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "difflab.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "train" in out.stdout
