"""Every failure a user can provoke from the command line, in one table (issue 15, points 5 and 6).

Each row is a command line, a regex of the one-line message it must end in, and optionally the
files it finds in place (`setup`) and a patch of the environment. Every row must exit with code
2, print exactly one line on stderr that starts with "difflab: error:" and matches the regex,
and leave every file as it was: nothing written, nothing replaced, nothing deleted.

"""
from __future__ import annotations

import json
import os
import re
import shutil
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from difflab.cli import main
from difflab.training.checkpoint import read_checkpoint, save_checkpoint

TINY = ["--set", "network.width=16", "--set", "network.depth=1", "--set", "network.emb_dim=8", "--set", "threads=1",
        "--set", "batch_size=64", "--no-progress"]


@dataclass
class Case:
    id: str
    argv: list                                  # {run} (a gmm run), {board} (tictactoe) and {tmp} are filled in
    message: str                                # regex searched in the one line on stderr
    setup: Callable | None = None               # setup(tmp, run) puts files in place before the command
    patch: Callable | None = None               # patch(monkeypatch) changes the environment
    marks: list = field(default_factory=list)


# -- what the rows find in place ---------------------------------------------------------------

def samples(tmp, run):
    np.save(tmp / "s.npy", np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32))


def a_file(tmp, run):
    (tmp / "afile").write_text("not a folder")


def a_folder(tmp, run):
    samples(tmp, run)
    (tmp / "adir").mkdir()


def read_only_folder(tmp, run):
    (tmp / "ro").mkdir()
    os.chmod(tmp / "ro", 0o555)


def edit_config(change):
    def setup(tmp, run):
        info = json.loads((run / "config.json").read_text())
        (run / "config.json").write_text(json.dumps(change(info)))
    return setup


def without(key):
    def change(info):
        del info[key]
        return info
    return change


def unknown_field(info):
    info["config"]["bogus"] = 1
    return info


def nan_scale(info):
    info["normaliser"]["scale"][0] = float("nan")
    return info


def inf_shift(info):
    info["normaliser"]["shift"][1] = float("inf")
    return info


def nan_weights(tmp, run):
    w = load_file(run / "model.safetensors")
    w[sorted(w)[0]][...] = float("nan")
    save_file(w, run / "model.safetensors")


def checkpoint_step_string(tmp, run):
    """A checkpoint whose hash is right but whose state holds a word where the step count goes
    (checkpoint.json is only a readable copy: resume reads the state inside the checkpoint)."""
    tensors, state = read_checkpoint(run)
    save_checkpoint(run, tensors, {**state, "step": "three"})


def raw_bytes_npz(tmp, run):
    (tmp / "x.npz").write_bytes(bytes(range(256)) * 4)


def object_npz(tmp, run):
    np.savez(tmp / "x.npz", test=np.array([{"a": 1}, None], dtype=object))


def eight_bit_wavs(tmp, run):
    """A folder of 8-bit PCM WAV files (difflab reads 16-bit)."""
    (tmp / "wavs").mkdir()
    for name in ("a.wav", "b.wav", "c.wav"):
        with wave.open(str(tmp / "wavs" / name), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(1)
            w.setframerate(16000)
            w.writeframes(bytes(range(256)) * 64)


def huge_values(tmp, run):
    np.save(tmp / "huge.npy", (np.random.default_rng(0).normal(size=(100, 2)) * 1e30).astype(np.float32))


def metrics_exist(tmp, run):
    samples(tmp, run)
    (run / "metrics.json").write_text('{"mine": "keep me"}')


def user_data_file(tmp, run):
    samples(tmp, run)
    np.save(tmp / "data.npy", np.arange(10.0))


def pictures_exist(tmp, run):
    (tmp / "s_vs_test.png").write_bytes(b"my picture")


def dataset_picture_exists(tmp, run):
    (tmp / "pics").mkdir()
    (tmp / "pics" / "gmm.png").write_bytes(b"my picture")


def boards(tmp, run):
    np.save(tmp / "clean.npy", np.zeros((4, 9)))


def restored_exists(tmp, run):
    boards(tmp, run)
    np.save(tmp / "restored.npy", np.arange(3.0))


def restored_picture_exists(tmp, run):
    boards(tmp, run)
    (tmp / "restored_boards.png").write_bytes(b"my picture")


def restored_is_a_folder(tmp, run):
    boards(tmp, run)
    (tmp / "restored.npy").mkdir()


def existing_npz(tmp, run):
    np.savez(tmp / "mine.npz", train=np.zeros((3, 2)), test=np.zeros((3, 2)))


def existing_npy(tmp, run):
    np.save(tmp / "mine.npy", np.arange(5.0))


def project_with_data(tmp, run):
    (tmp / "proj").mkdir()
    np.save(tmp / "proj" / "points.npy", np.random.default_rng(0).normal(size=(50, 2)))


def thesis_folder(tmp, run):
    (tmp / "thesis").mkdir()
    (tmp / "thesis" / "thesis.txt").write_text("three years of work")


def run_folder_holding_data(tmp, run):
    np.save(run / "points.npy", np.random.default_rng(0).normal(size=(50, 2)))


def small_disk(monkeypatch):
    import difflab.outputs as outputs
    usage = shutil.disk_usage("/")
    monkeypatch.setattr(outputs.shutil, "disk_usage", lambda p: usage._replace(free=1000))


CASES = [
    # -- point 6: settings and sizes --------------------------------------------------------------
    Case("sample --n 10**12", ["sample", "{run}", "--n", 10 ** 12, "--out", "{tmp}/x.npy"],
         r"10{12} samples of shape \(2,\) need about .* GB of memory"),
    Case("sample: no room on disk", ["sample", "{run}", "--n", 1000, "--out", "{tmp}/x.npy"],
         r"needs 8\.0 KB but only 1\.0 KB are free", patch=small_disk),
    Case("sample --seed -1", ["sample", "{run}", "--seed", -1, "--out", "{tmp}/x.npy"],
         r"--seed must be an integer in \[0, 2\*\*63\), got -1"),
    Case("sample --seed 2**63", ["sample", "{run}", "--seed", 2 ** 63, "--out", "{tmp}/x.npy"],
         r"--seed must be an integer in \[0, 2\*\*63\)"),
    Case("train --set seed=2**64", ["train", "gmm", "--out", "{tmp}/r", "--set", f"seed={2 ** 64}"],
         r"seed must be an integer in \[0, 2\*\*63\)"),
    Case("train --set data_seed=-1", ["train", "gmm", "--out", "{tmp}/r", "--set", "data_seed=-1"],
         r"data_seed must be an integer in \[0, 2\*\*63\), got -1"),
    Case("train --set device=cuda on a CPU build", ["train", "gmm", "--out", "{tmp}/r", "--set", "device=cuda"],
         r"device 'cuda' is not available: this torch .* sees no GPU; this machine has: auto, cpu",
         marks=[pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")]),
    Case("train --set device=tpu", ["train", "gmm", "--out", "{tmp}/r", "--set", "device=tpu"],
         r"unknown device 'tpu'; valid names: auto, cpu, cuda"),
    Case("train --set network.width=-3", ["train", "gmm", "--out", "{tmp}/r", "--set", "network.width=-3"],
         r"network\.width must be an integer >= 1, got -3"),
    Case("train --set network.depth=-1", ["train", "gmm", "--out", "{tmp}/r", "--set", "network.depth=-1"],
         r"network\.depth must be an integer >= 0, got -1"),
    Case("train --set n_train=0", ["train", "gmm", "--out", "{tmp}/r", "--set", "n_train=0"],
         r"n_train must be a positive integer"),
    Case("train --set process.beta_end=nan", ["train", "gmm", "--out", "{tmp}/r", "--set", "process.beta_end=nan"],
         r"process\.beta_end must be a finite number, got nan"),
    Case("train --set process.n_steps=10**9", ["train", "gmm", "--out", "{tmp}/r", "--set", "process.n_steps=1000000000"],
         r"process\.n_steps must be at most 1000000"),
    # -- point 6: unwritable outputs ------------------------------------------------------------
    Case("sample --out in /proc", ["sample", "{run}", "--n", 5, "--out", "/proc/difflab-x.npy"],
         r"cannot write the output in /proc: folder /proc is not writable"),
    Case("sample --out under a file", ["sample", "{run}", "--n", 5, "--out", "{tmp}/afile/x.npy"],
         r"cannot write the output in .*afile: .*afile is a file, not a folder", setup=a_file),
    Case("sample --out in a read-only folder", ["sample", "{run}", "--n", 5, "--out", "{tmp}/ro/x.npy"],
         r"folder .*ro is not writable", setup=read_only_folder,
         marks=[pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")]),
    Case("evaluate --out a folder", ["evaluate", "{run}", "--samples", "{tmp}/s.npy", "--out", "{tmp}/adir"],
         r"adir is a folder; --out names the file to write", setup=a_folder),
    Case("evaluate --out under a file", ["evaluate", "{run}", "--samples", "{tmp}/s.npy", "--out", "{tmp}/afile/m.json"],
         r"afile is a file, not a folder", setup=lambda t, r: (samples(t, r), a_file(t, r))),
    Case("evaluate --out in /proc", ["evaluate", "{run}", "--samples", "{tmp}/s.npy", "--out", "/proc/m.json"],
         r"folder /proc is not writable", setup=samples),
    # -- point 6: damaged run folders -------------------------------------------------------------
    Case("config.json {}", ["sample", "{run}", "--out", "{tmp}/x.npy"],
         r"config\.json is damaged: it has no 'config' entry", setup=edit_config(lambda info: {})),
    Case("config.json a list", ["sample", "{run}", "--out", "{tmp}/x.npy"],
         r"config\.json is damaged: it holds a list", setup=edit_config(lambda info: [1, 2])),
    Case("config.json unknown field", ["sample", "{run}", "--out", "{tmp}/x.npy"],
         r"config\.json is damaged or from another version: unknown config field 'bogus'",
         setup=edit_config(unknown_field)),
    Case("config.json no normaliser", ["sample", "{run}", "--out", "{tmp}/x.npy"],
         r"config\.json is damaged: it has no 'normaliser' entry", setup=edit_config(without("normaliser"))),
    Case("config.json NaN scale", ["sample", "{run}", "--out", "{tmp}/x.npy"],
         r"config\.json is damaged: its normaliser is wrong: .*finite", setup=edit_config(nan_scale)),
    Case("config.json infinite shift", ["evaluate", "{run}", "--samples", "{tmp}/s.npy"],
         r"config\.json is damaged: its normaliser is wrong", setup=lambda t, r: (samples(t, r),
                                                                               edit_config(inf_shift)(t, r))),
    Case("NaN weights", ["sample", "{run}", "--out", "{tmp}/x.npy"],
         r"model\.safetensors holds NaN or infinite weights .* the training diverged", setup=nan_weights),
    Case("checkpoint state of wrong types", ["train", "gmm", "--out", "{run}", "--resume", "--steps", 6, "--no-progress"],
         r"cannot resume: the checkpoint in .* does not fit this run", setup=checkpoint_step_string),
    # -- point 6: files of the wrong kind -----------------------------------------------------------
    Case("evaluate .npz of raw bytes", ["evaluate", "{run}", "--samples", "{tmp}/x.npz"],
         r"x\.npz is not a numeric NumPy file", setup=raw_bytes_npz),
    Case("evaluate .npz of objects", ["evaluate", "{run}", "--samples", "{tmp}/x.npz"],
         r"x\.npz is not a numeric NumPy file \(pickled data, an object array", setup=object_npz),
    Case("likelihood .npz of raw bytes", ["likelihood", "{run}", "--data", "{tmp}/x.npz"],
         r"x\.npz is not a numeric NumPy file", setup=raw_bytes_npz),
    Case("likelihood .npz of objects", ["likelihood", "{run}", "--data", "{tmp}/x.npz"],
         r"x\.npz is not a numeric NumPy file", setup=object_npz),
    Case("8-bit WAV", ["train", "wav:{tmp}/wavs", "--out", "{tmp}/r", "--steps", 1, *TINY],
         r"\.wav: 8-bit samples; difflab reads 16-bit PCM", setup=eight_bit_wavs),
    Case("data near the float32 limits", ["train", "{tmp}/huge.npy", "--out", "{tmp}/r", "--steps", 1, *TINY],
         r"huge\.npy: data has values too large for float32", setup=huge_values),
    # -- point 5: nothing of the user's destroyed ----------------------------------------------------
    Case("train --out the input's folder --overwrite",
         ["train", "{tmp}/proj/points.npy", "--out", "{tmp}/proj", "--overwrite", "--steps", 1, *TINY],
         r"not a difflab run folder", setup=project_with_data),
    Case("train --overwrite a folder that is not a run", ["train", "gmm", "--out", "{tmp}/thesis", "--overwrite",
                                                          "--steps", 1, *TINY],
         r"thesis is not a difflab run folder", setup=thesis_folder),
    Case("train --overwrite a run holding the input", ["train", "{run}/points.npy", "--out", "{run}", "--overwrite",
                                                       "--steps", 1, *TINY],
         r"holds this run's input", setup=run_folder_holding_data),
    Case("evaluate over metrics.json", ["evaluate", "{run}", "--samples", "{tmp}/s.npy"],
         r"metrics\.json already exists; choose another --out or pass --overwrite", setup=metrics_exist),
    Case("evaluate --out a data file", ["evaluate", "{run}", "--samples", "{tmp}/s.npy", "--out", "{tmp}/data.npy"],
         r"data\.npy already exists", setup=user_data_file),
    Case("evaluate --out the samples", ["evaluate", "{run}", "--samples", "{tmp}/s.npy", "--out", "{tmp}/s.npy",
                                        "--overwrite"],
         r"--out .*s\.npy is the --samples file", setup=samples),
    Case("sample over a .npy", ["sample", "{run}", "--n", 5, "--out", "{tmp}/mine.npy"],
         r"mine\.npy already exists", setup=existing_npy),
    Case("sample --plot over pictures", ["sample", "{run}", "--n", 5, "--out", "{tmp}/s.npy", "--plot"],
         r"s_vs_test\.png already exists \(--plot writes s_\*\.png", setup=pictures_exist),
    Case("datasets --plot over pictures", ["datasets", "--plot", "{tmp}/pics"],
         r"pics/gmm\.png already exists", setup=dataset_picture_exists),
    Case("datasets --plot a file", ["datasets", "--plot", "{tmp}/afile"],
         r"--plot .*afile is a file", setup=a_file),
    Case("data over an .npz", ["data", "gmm", "--out", "{tmp}/mine.npz"],
         r"mine\.npz already exists", setup=existing_npz),
    Case("denoise over a .npy", ["denoise", "{board}", "--input", "{tmp}/clean.npy", "--sigma", 0.3,
                                 "--out", "{tmp}/restored.npy"],
         r"restored\.npy already exists", setup=restored_exists),
    Case("denoise over its picture", ["denoise", "{board}", "--input", "{tmp}/clean.npy", "--sigma", 0.3,
                                      "--out", "{tmp}/restored.npy"],
         r"restored_boards\.png already exists", setup=restored_picture_exists),
    Case("denoise --out a folder", ["denoise", "{board}", "--input", "{tmp}/clean.npy", "--sigma", 0.3,
                                    "--out", "{tmp}/restored.npy", "--overwrite"],
         r"restored\.npy is a folder", setup=restored_is_a_folder),
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Runs trained for 3 steps (a few seconds): gmm, and tictactoe for `denoise`; copied fresh
    for every row that uses them."""
    folder = tmp_path_factory.mktemp("trained")
    for data in ("gmm", "tictactoe"):           # tictactoe by its Gaussian preset: `denoise --sigma` needs one
        config = ["--config", "tictactoe-gaussian"] if data == "tictactoe" else []
        assert main(["train", data, "--out", str(folder / data), "--steps", "3", *config, *TINY]) == 0
    return folder


def snapshot(folder: Path) -> dict:
    """Every file and folder under `folder`: its bytes (files) or None (folders)."""
    return {p.relative_to(folder): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_failure_is_one_clean_line(case, trained, tmp_path, capsys, monkeypatch):
    tmp = tmp_path / "work"
    tmp.mkdir()
    run, board = tmp / "run", tmp / "board"
    shutil.copytree(trained / "gmm", run)
    if "{board}" in case.argv:
        shutil.copytree(trained / "tictactoe", board)
    if case.setup:
        case.setup(tmp, run)
    if case.patch:
        case.patch(monkeypatch)
    monkeypatch.chdir(tmp)
    before = snapshot(tmp)
    capsys.readouterr()
    argv = [str(a).format(run=run, board=board, tmp=tmp) for a in case.argv]
    code = main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, f"exit code {code}, stderr: {err!r}"
    assert len(lines) == 1 and lines[0].startswith("difflab: error: "), f"not one clean line: {err!r}"
    assert re.search(case.message, lines[0]), f"{lines[0]!r} does not match {case.message!r}"
    assert snapshot(tmp) == before, "files were written, replaced or deleted"
    assert not Path("/proc/difflab-x.npy").exists()


def test_full_disk_leaves_no_truncated_npy(tmp_path, monkeypatch):
    """The writes are atomic: a disk that fills up mid-write leaves the old file whole and no
    temporary file behind."""
    from difflab import files

    out = tmp_path / "s.npy"
    np.save(out, np.arange(4.0))
    real_save = np.save

    def full_disk(f, x, **kw):
        real_save(f, x[: len(x) // 2], **kw)               # half the bytes, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.np, "save", full_disk)
    with pytest.raises(OSError):
        files.save_npy(out, np.zeros((1000, 2)))
    monkeypatch.undo()
    assert np.array_equal(np.load(out), np.arange(4.0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npy"]
    files.save_npz(tmp_path / "d.npz", train=np.ones((3, 2)), test=np.zeros((2, 2)))
    with np.load(tmp_path / "d.npz") as d:
        assert d["train"].shape == (3, 2) and d["test"].shape == (2, 2)
    files.save_npy(out, np.ones((3, 2)))
    assert np.load(out).shape == (3, 2) and sorted(p.name for p in tmp_path.iterdir()) == ["d.npz", "s.npy"]


def test_check_replaceable_run_dir(tmp_path, monkeypatch):
    """What `train --overwrite` may delete, as the lead wires it into training/loop.py."""
    from difflab.errors import DifflabError
    from difflab.outputs import check_replaceable_run_dir, run_inputs
    from difflab.config import make_config

    monkeypatch.chdir(tmp_path)
    check_replaceable_run_dir(tmp_path / "new")                           # nothing there: fine
    (tmp_path / "empty").mkdir()
    check_replaceable_run_dir(tmp_path / "empty")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"version": "0.1.0", "config": {}}))
    check_replaceable_run_dir(run)                                         # a run folder: fine
    np.save(run / "points.npy", np.zeros((20, 2)))
    cfg = make_config({}, [], data=str(run / "points.npy"))
    assert run_inputs(cfg) == [run / "points.npy"]
    with pytest.raises(DifflabError, match="holds this run's input"):
        check_replaceable_run_dir(run, run_inputs(cfg))
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "thesis.txt").write_text("x")
    with pytest.raises(DifflabError, match="not a difflab run folder"):
        check_replaceable_run_dir(tmp_path / "notes")
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "config.json").write_text('{"a": 1}')           # not written by difflab
    with pytest.raises(DifflabError, match="not a difflab run folder"):
        check_replaceable_run_dir(tmp_path / "fake")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(DifflabError, match="is a file"):
        check_replaceable_run_dir(tmp_path / "f.txt")
    monkeypatch.chdir(run)
    with pytest.raises(DifflabError, match="working directory"):
        check_replaceable_run_dir(run)


def test_check_replaceable_study_dir(tmp_path, monkeypatch):
    """What `difflab run --overwrite` may delete, as the lead wires it into study.py."""
    from difflab.errors import DifflabError
    from difflab.outputs import check_replaceable_study_dir

    monkeypatch.chdir(tmp_path)
    study = tmp_path / "study"
    check_replaceable_study_dir(study)
    (study / "gmm-ddpm").mkdir(parents=True)
    (study / "gmm-ddpm" / "config.json").write_text(json.dumps({"version": "0.1.0", "config": {}}))
    (study / "report.html").write_text("<html>")
    check_replaceable_study_dir(study)
    (study / "thesis.txt").write_text("three years of work")
    with pytest.raises(DifflabError, match="holds thesis.txt, which difflab did not write"):
        check_replaceable_study_dir(study)


def test_run_overwrite_replaces_only_a_study_folder(tmp_path, capsys):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "thesis.txt").write_text("years of work")
    assert main(["run", "--out", str(folder), "--overwrite", "--steps", "5"]) == 2
    assert (folder / "thesis.txt").read_text() == "years of work"
    err = capsys.readouterr().err.strip()
    assert err.startswith("difflab: error:") and "\n" not in err
