"""`--method masked` end to end through the command line: boards and a user's file of integers
train, sample, evaluate and report the ELBO's NLL bound; the Gaussian methods are left as they were."""
import json

import numpy as np
import pytest

from difflab.cli import main
from difflab.config import make_config
from difflab.denoise import complete, hide_cells
from difflab.run import load
from difflab.errors import DifflabError

TINY = ["--set", "network.width=16", "--set", "network.depth=1", "--set", "batch_size=64",
        "--set", "threads=1", "--no-progress"]


def cli(*args):
    return main([str(a) for a in args])


def test_tictactoe_masked_train_sample_evaluate_likelihood(tmp_path, capsys):
    run = tmp_path / "ttt"
    assert cli("train", "tictactoe", "--method", "masked", "--out", run, "--steps", 40, *TINY) == 0
    info = json.loads((run / "config.json").read_text())
    assert info["process"] == {"name": "masked", "schedule": "linear", "n_classes": 3}
    assert info["categories"] == {"values": [-1.0, 0.0, 1.0]}
    out = tmp_path / "b.npy"
    assert cli("sample", run, "--n", 200, "--out", out, "--plot") == 0
    assert "sampler masked, 9 steps, NFE 27 per sample" in capsys.readouterr().out     # one step per cell + the preset's 18 Gibbs rounds
    b = np.load(out)
    assert b.shape == (200, 9) and set(np.unique(b)) <= {-1, 0, 1}
    assert cli("evaluate", run, "--samples", out) == 0
    m = json.loads((run / "metrics.json").read_text())
    assert "legal" in json.dumps(m)
    capsys.readouterr()
    assert cli("likelihood", run, "--n", 50) == 0
    text = capsys.readouterr().out
    assert "nats per sample" in text and "bits per cell" in text
    assert cli("likelihood", run, "--n", 50, "--json", "--repeats", 2) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["n"] == 50 and r["cells"] == 9 and r["nfe_per_point"] == 18
    assert r["nll_nats"] > 0 and r["bits_per_cell"] == pytest.approx(r["nll_nats"] / (9 * np.log(2)))
    # damaged boards: a share of the cells hidden, completed from the model's posterior given the rest
    clean = tmp_path / "clean.npy"
    np.save(clean, b[:40])
    restored = tmp_path / "r.npy"
    capsys.readouterr()
    assert cli("denoise", run, "--input", clean, "--hide", 0.3, "--out", restored) == 0
    assert "boards restored exactly" in capsys.readouterr().out
    r = np.load(restored)
    assert r.shape == (40, 9) and set(np.unique(r)) <= {-1, 0, 1}
    loaded = load(run)
    hidden = hide_cells(b[:40].shape, 0.5, seed=3)
    done = complete(loaded, b[:40], hidden, seed=1)
    assert np.array_equal(done[~hidden], b[:40][~hidden]) and set(np.unique(done)) <= {-1, 0, 1}
    assert cli("denoise", run, "--input", clean, "--sigma", 0.3, "--out", tmp_path / "r2.npy") != 0
    assert "--hide" in capsys.readouterr().err
    # the Gaussian samplers do not fit a masked run, and the other way round: one-line errors
    assert cli("sample", run, "--n", 5, "--sampler", "ddim", "--out", tmp_path / "x.npy") != 0
    assert "does not fit the 'masked' process" in capsys.readouterr().err


def test_connect4_preset_trains_its_conv_net_samples_and_reloads(tmp_path, capsys):
    """The preset's cellconv over the 6x7 grid, on mirrored boards, through train, sample and
    evaluate (the network's settings come back from config.json when the run is loaded)."""
    run = tmp_path / "c4"
    assert cli("train", "connect4", "--out", run, "--steps", 6, "--set", "network.width=8", "--set", "n_train=300",
               "--no-progress") == 0
    info = json.loads((run / "config.json").read_text())
    assert info["config"]["network"]["name"] == "cellconv" and info["config"]["network"]["grid"] == [6, 7]
    assert info["config"]["data_options"] == {"symmetries": True}
    out = tmp_path / "b.npy"
    assert cli("sample", run, "--n", 20, "--out", out, "--option", "corrector_rounds=4", "--option", "temperature=0.5") == 0
    b = np.load(out)
    assert b.shape == (20, 42) and set(np.unique(b)) <= {-1, 0, 1}
    capsys.readouterr()
    assert cli("evaluate", run, "--samples", out) == 0
    assert "first to move:" in capsys.readouterr().out
    assert cli("sample", run, "--n", 5, "--out", tmp_path / "t.npy", "--option", "temperature=-1") != 0
    assert "temperature must be a positive number" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_user_integers_round_trip_to_their_own_values(tmp_path, suffix):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, size=(300, 1))
    x = np.concatenate([5 * a - 2, 5 * a + 8, rng.choice([7, 100], size=(300, 1))], axis=1)   # values -2 .. 100
    path = tmp_path / f"ints{suffix}"
    np.save(path, x) if suffix == ".npy" else np.savetxt(path, x, delimiter=",", fmt="%d")
    run = tmp_path / "u"
    assert cli("train", path, "--method", "masked", "--out", run, "--steps", 20, *TINY) == 0
    values = json.loads((run / "config.json").read_text())["categories"]["values"]
    assert values == sorted(set(x.ravel().tolist()))
    out = tmp_path / "u.npy"
    assert cli("sample", run, "--n", 100, "--out", out) == 0
    s = np.load(out)
    assert s.shape == (100, 3) and set(np.unique(s)) <= set(values)


def test_masked_needs_integer_data(tmp_path, capsys):
    assert cli("train", "pinwheel", "--method", "masked", "--out", tmp_path / "p", "--steps", 2, *TINY) != 0
    assert "needs integer values" in capsys.readouterr().err


def test_masked_preset_and_sampler_checks():
    cfg = make_config({}, method="masked")
    assert (cfg.objective, cfg.sampler, cfg.sample_steps) == ("masked-elbo", "masked", None)
    assert cfg.network["name"] == "cellmlp" and cfg.network["input_scaling"] is False and cfg.threads == 1
    assert make_config({}, method="ddpm").network["name"] == "mlp"          # the other methods keep their defaults
    # issue 16: the games' own presets are masked diffusion, with the method's training defaults
    cfg = make_config({}, data="tictactoe", method="masked", quiet=True)
    assert (cfg.network["name"], cfg.batch_size) == ("cellmlp", 256)
    # tic-tac-toe's preset trains longer, on random symmetries of its boards (BENCHMARKS.md, "Board symmetries")
    assert cfg.steps == 40000 and cfg.data_options == {"symmetries": True}
    assert cfg.train_minutes == cfg.max_minutes == 10             # issue 16: at most 10 minutes on any machine
    # Connect Four's preset: the conv net over its 6x7 grid, mirrored boards (BENCHMARKS.md, "Games: masked diffusion")
    c4 = make_config({}, data="connect4", quiet=True)
    assert c4.network == {"name": "cellconv", "width": 32, "depth": 6, "grid": [6, 7], "time": "none"}
    assert (c4.steps, c4.train_minutes, c4.data_options, c4.threads) == (40000, 10, {"symmetries": True}, 1)
    assert c4.sampler_options == {"order": "random", "corrector_rounds": 84}
    # the transformer stays available: its own settings replace the default network's
    tr = make_config({}, ["network={name: transformer, width: 64, depth: 4, heads: 4}"], method="masked")
    assert tr.network == {"name": "transformer", "width": 64, "depth": 4, "heads": 4}
    assert make_config({}, data="tictactoe", quiet=True).network["name"] == "cellmlp"
    assert make_config({}, data="tictactoe", method="ddpm", quiet=True).network["name"] == "mlp"
    with pytest.raises(DifflabError, match="does not fit the 'vp' process"):
        make_config({}, method="ddpm", sampler="masked")


def test_masked_run_resumes_exactly(tmp_path):
    args = ["train", "tictactoe", "--method", "masked", *TINY, "--set", "n_train=256", "--set", "lr_min_ratio=1",
            "--set", "lr_warmup=5"]
    assert cli(*args, "--steps", 16, "--out", tmp_path / "whole") == 0
    assert cli(*args, "--steps", 8, "--out", tmp_path / "parts") == 0
    assert cli(*args, "--steps", 16, "--out", tmp_path / "parts", "--resume") == 0
    assert (tmp_path / "whole" / "model.safetensors").read_bytes() == (tmp_path / "parts" / "model.safetensors").read_bytes()
