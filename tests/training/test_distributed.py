"""Distributed training: 2 CPU ranks (gloo, through torchrun) compute what one process computes
with the same global batch, and a run started on 2 ranks resumes on 1."""
import json
import os
import subprocess
import sys

import numpy as np
from safetensors.numpy import load_file

from difflab.cli import main
from difflab.training.distributed import Ranks

TINY = ["--set", "network.width=32", "--set", "network.depth=2", "--set", "network.emb_dim=16", "--set", "threads=1",
        "--set", "checkpoint_every=10", "--set", "lr_warmup=5", "--set", "lr_min_ratio=1", "--no-progress"]
# lr_min_ratio = 1 holds the learning rate after the warm-up, so a run of 15 steps continued to 30
# is the run of 30 steps (the cosine schedule depends on the total; test_resume.py covers that)


def torchrun(args, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "difflab", *args]
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def same_run(a, b, rtol=1e-5, atol=1e-6):
    ha, hb = (json.loads((p / "history.json").read_text()) for p in (a, b))
    assert ha["step"] == hb["step"] and len(ha["train_loss"]) >= 3
    for key in ("train_loss", "test_loss", "test_loss_ema"):
        np.testing.assert_allclose(ha[key], hb[key], rtol=rtol)
    wa, wb = (load_file(str(p / "model.safetensors")) for p in (a, b))
    assert wa.keys() == wb.keys()
    for k in wa:
        np.testing.assert_allclose(wa[k], wb[k], rtol=rtol, atol=atol)


def test_a_rank_trains_its_contiguous_share_of_the_global_batch():
    shares = [Ranks(r, 3).share(256) for r in range(3)]
    assert [(s.start, s.stop) for s in shares] == [(0, 85), (85, 170), (170, 256)]


def test_two_ranks_match_one_process_and_resume_on_one(tmp_path):
    args = ["train", "gmm", "--steps", "30", *TINY]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    out = torchrun([*args, "--out", str(tmp_path / "two")], tmp_path)
    assert out.stdout.count("trained:") == 1                       # rank 0 alone reports
    info = json.loads((tmp_path / "two" / "config.json").read_text())
    assert info["runtime"]["ranks"] == 2 and info["runtime"]["batch_per_rank"] == 128
    same_run(tmp_path / "one", tmp_path / "two")

    # started on 2 ranks for 15 steps, resumed on 1 to 30: the same run
    torchrun(["train", "gmm", "--steps", "15", *TINY, "--out", str(tmp_path / "moved")], tmp_path)
    assert main(["train", "gmm", "--steps", "30", *TINY, "--out", str(tmp_path / "moved"), "--resume"]) == 0
    same_run(tmp_path / "one", tmp_path / "moved")


def test_masked_two_ranks_match_one_process(tmp_path):
    """The masked ELBO takes the loop's whole-batch draws (times as mask counts, noise as mask
    scores), so 2 ranks train what one process trains."""
    args = ["train", "tictactoe", "--method", "masked", "--steps", "20", "--set", "n_train=256", "--set", "n_test=64",
            "--set", "network.width=16", "--set", "network.depth=1", "--set", "threads=1",
            "--set", "lr_warmup=5", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    torchrun([*args, "--out", str(tmp_path / "two")], tmp_path)
    same_run(tmp_path / "one", tmp_path / "two", rtol=1e-4, atol=1e-5)   # sums over another split of the batch
