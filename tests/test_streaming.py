"""Sampling in bounded memory: batches written into a memory-mapped .npy, refused when the disk is too small."""
import numpy as np
import pytest

import difflab
from difflab import outputs
from difflab.errors import DifflabError
from difflab.streaming import sample_to_npy

TINY = {"network.width": 16, "network.depth": 1, "network.emb_dim": 8, "threads": 1}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return difflab.train("gmm", out=tmp_path_factory.mktemp("s") / "r", steps=20, progress=False, set=TINY)


def test_batches_fill_the_file_and_the_first_batch_is_plain_sampling(run, tmp_path):
    out = tmp_path / "s.npy"
    res = sample_to_npy(run, 250, out, batch_size=100, seed=3, progress=False, sampler="ddim", steps=5)
    x = np.load(out)
    assert x.shape == (250, 2) and np.isfinite(x).all() and res.nfe == 5
    assert np.array_equal(x[:100], run.sample(100, sampler="ddim", steps=5, seed=3))
    assert len({tuple(r) for r in x.round(6)}) == 250                # every batch draws new noise
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npy"]    # no temporary file left


def test_an_output_that_cannot_fit_is_refused_before_any_work(run, tmp_path, monkeypatch):
    monkeypatch.setattr(outputs.shutil, "disk_usage", lambda p: type("U", (), {"free": 10_000})())
    with pytest.raises(DifflabError, match=r"samples file .* needs 80\.0 KB but only 10\.0 KB are free"):
        sample_to_npy(run, 10_000, tmp_path / "s.npy", batch_size=1000, progress=False)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DifflabError, match="batch-size"):
        sample_to_npy(run, 10, tmp_path / "s.npy", batch_size=0, progress=False)
