"""Checkpoints that cannot tear: one file replaced by one rename, checked by its sha256; anything
torn, damaged or from another run is refused with a one-line error, never resumed silently."""
import json
import os

import pytest
import torch
from safetensors.torch import save_file

from difflab.config import make_config
from difflab.errors import DifflabError
from difflab import files
from difflab.training import train
from difflab.training.checkpoint import read_checkpoint, save_checkpoint

SETS = ["network.width=16", "network.depth=1", "network.emb_dim=8", "batch_size=64", "n_train=200", "n_test=50",
        "checkpoint_every=5"]


def _run(tmp_path, name="r", steps=10, sets=()):
    return train(make_config({}, SETS + list(sets), data="gmm", steps=steps, seed=1), tmp_path / name, progress=False)


def _one_line_refusal(run, match):
    with pytest.raises(DifflabError, match=match) as e:
        train(None, run, resume=True, steps=20, progress=False)
    assert "\n" not in str(e.value)


def test_a_write_killed_before_its_rename_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    save_checkpoint(tmp_path, {"w": torch.zeros(3)}, {"step": 1})

    def killed(src, dst):
        raise KeyboardInterrupt                       # stands for the process dying before the rename

    monkeypatch.setattr(files.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, {"w": torch.ones(3)}, {"step": 2})
    monkeypatch.undo()
    tensors, state = read_checkpoint(tmp_path)
    assert state == {"step": 1} and torch.equal(tensors["w"], torch.zeros(3))
    assert (tmp_path / "checkpoint.safetensors.tmp").exists()       # the half-done write, ignored
    save_checkpoint(tmp_path, {"w": torch.ones(3)}, {"step": 2})    # and overwritten by the next one
    assert read_checkpoint(tmp_path)[1] == {"step": 2}


def test_checkpoint_writes_are_flushed_to_disk_before_the_rename(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(files.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(files.os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b)))
    save_checkpoint(tmp_path, {"w": torch.zeros(3)}, {"step": 1})
    assert calls[:3] == ["fsync", "replace", "fsync"]               # file, rename, folder


def test_the_readable_copy_is_never_read(tmp_path):
    run = _run(tmp_path)
    (run / "checkpoint.json").write_text("{ torn")
    train(None, run, resume=True, steps=12, progress=False)
    assert json.loads((run / "checkpoint.json").read_text())["step"] == 12


def test_truncated_checkpoint_is_refused(tmp_path):
    run = _run(tmp_path)
    data = (run / "checkpoint.safetensors").read_bytes()
    (run / "checkpoint.safetensors").write_bytes(data[:len(data) // 2])
    _one_line_refusal(run, "damaged")


def test_changed_bytes_are_refused_by_the_hash(tmp_path):
    run = _run(tmp_path)
    data = bytearray((run / "checkpoint.safetensors").read_bytes())
    data[-5] ^= 0x40                                  # inside the last tensor's data
    (run / "checkpoint.safetensors").write_bytes(bytes(data))
    _one_line_refusal(run, "sha256")


def test_checkpoint_of_another_run_is_refused(tmp_path):
    a, b = _run(tmp_path, "a"), _run(tmp_path, "b", sets=["lr=0.01"])
    (a / "checkpoint.safetensors").write_bytes((b / "checkpoint.safetensors").read_bytes())
    _one_line_refusal(a, "other settings than its config.json \\(lr differs\\)")


def test_two_file_checkpoint_of_the_previous_format_is_refused(tmp_path):
    run = _run(tmp_path)
    save_file({"net.x": torch.zeros(2)}, str(run / "checkpoint.safetensors"))
    _one_line_refusal(run, "not a difflab training checkpoint of this version")


def test_config_json_that_is_not_a_run_is_refused(tmp_path):
    run = _run(tmp_path)
    for text, match in (("{}", "no \"config\" mapping"), ("[1, 2]", "no \"config\" mapping"),
                        (json.dumps({"config": {"bogus": 1}}), "does not know: bogus")):
        (run / "config.json").write_text(text)
        _one_line_refusal(run, match)
