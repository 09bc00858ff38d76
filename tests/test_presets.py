"""Every preset shipped in configs/ resolves to a valid config and builds its network."""
from pathlib import Path

import numpy as np
import pytest

from difflab.config import load_yaml, make_config
from difflab.data.registry import list_datasets
from difflab.pipeline import build_network, resolve_process_config
from difflab.processes import make_process

PRESETS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


@pytest.fixture(scope="module")
def shapes():
    """{dataset name: shape}, as `difflab datasets` describes them (disk datasets are not read)."""
    return {d["name"]: tuple(d["shape"]) for d in list_datasets()}


def test_there_are_presets():
    assert len(PRESETS) >= 8


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_preset_resolves_and_builds(path, shapes):
    cfg = make_config(load_yaml(path), [])
    assert cfg.data in shapes, f"{path.name}: unknown dataset {cfg.data!r}"
    assert cfg.steps > 0 and cfg.batch_size > 0
    shape = shapes[cfg.data]
    x = np.random.default_rng(0).standard_normal((64, *shape))      # stands in for the normalised data
    process = make_process(resolve_process_config(cfg, x))            # VE's sigma_max "auto" needs data
    net = build_network(cfg, shape, process, n_classes=10 if cfg.class_conditional else None)
    assert sum(p.numel() for p in net.parameters()) > 0
