"""Fuzzing the loaders with seeded random mutations of valid files: .npy, .npz, .csv, WAV, IDX,
CIFAR batches (python and binary), a run's config.json and weights, checkpoint files.

Each valid file is damaged in many ways (bytes flipped, set to 0x00/0xff/0x7f/0x80, cut off,
inserted, a block repeated; for JSON also a value replaced by null, a wrong type, a huge number,
NaN or an infinity). The only outcomes allowed are a clean load or a one-line DifflabError:
never another exception, never a traceback. The seed is fixed, so a failure names its case and
replays exactly. The whole file takes a few seconds.
"""
import gzip
import io
import json
import pickle
import random
import wave

import numpy as np
import pytest
import torch

from difflab.arrays import load_points_file
from difflab.config import make_config
from difflab.errors import DifflabError
from difflab.files import load_json, load_tensors, save_tensors
from difflab.kinds.audio.datasets import read_wav
from difflab.kinds.image.cifar import read_cifar_binary, read_cifar_python_batch
from difflab.kinds.image.idx import read_idx
from difflab.kinds.vector.user import load_user_dataset
from difflab.pipeline import build_network, build_process, resolve_process_config
from difflab.run import load

N_MUTANTS = 40          # per file format
SPECIAL = (0x00, 0xFF, 0x7F, 0x80)


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to three random damages; the first bytes (headers) are hit more often."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(6)
        head = min(len(b), 128)
        i = rng.randrange(head if (rng.random() < 0.6 and head) else max(1, len(b)))
        if op == 0 and b:                                       # flip one bit
            b[min(i, len(b) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and b:                                     # an extreme byte value
            b[min(i, len(b) - 1)] = rng.choice(SPECIAL)
        elif op == 2:                                           # cut off
            del b[rng.randrange(len(b) + 1):]
        elif op == 3:                                           # random bytes inserted
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 4 and b:                                     # a block repeated
            j = rng.randrange(len(b))
            b[j:j] = b[j:j + rng.randint(1, 64)]
        elif b:                                                 # a random run of bytes
            for k in range(i, min(len(b), i + rng.randint(1, 8))):
                b[k] = rng.randrange(256)
    return bytes(b)


JSON_VALUES = (None, True, -1, 0, 2 ** 70, 1e308, float("nan"), float("inf"), -float("inf"), "x", [], {}, [1, "a"],
               {"a": 1})


def mutate_json(obj, rng: random.Random):
    """Replace one value (or delete one key) somewhere in a JSON tree; the tree is copied."""
    obj = json.loads(json.dumps(obj))
    paths = []

    def walk(node, path):
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + (i,))

    walk(obj, ())
    path = rng.choice(paths)
    if not path:
        return rng.choice(JSON_VALUES)
    parent = obj
    for k in path[:-1]:
        parent = parent[k]
    if isinstance(parent, dict) and rng.random() < 0.25:
        del parent[path[-1]]
    else:
        parent[path[-1]] = rng.choice(JSON_VALUES)
    return obj


def check_outcome(load_fn, path, case: str) -> None:
    """A clean load or a one-line DifflabError; anything else fails with the case's name."""
    try:
        load_fn(path)
    except DifflabError as e:
        msg = str(e)
        assert msg and "\n" not in msg, f"{case}: a DifflabError of more than one line: {msg!r}"
    except Exception as e:                                      # noqa: BLE001 - that is the finding
        pytest.fail(f"{case}: {type(e).__name__}: {e}")


def fuzz_bytes(tmp_path, name: str, valid: bytes, load_fn, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / name
    path.write_bytes(valid)
    load_fn(path)                                               # the valid file loads
    for k in range(N_MUTANTS):
        path.write_bytes(mutate(valid, rng))
        check_outcome(load_fn, path, f"{name} mutant {k} (seed {seed})")


# -- valid files ---------------------------------------------------------------------------------

POINTS = np.random.default_rng(0).normal(size=(24, 2)).astype(np.float32)


def npy_bytes(x=POINTS) -> bytes:
    buf = io.BytesIO()
    np.save(buf, x)
    return buf.getvalue()


def npz_bytes() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, train=POINTS[:16], test=POINTS[16:])
    return buf.getvalue()


def csv_bytes() -> bytes:
    return ("x,y\n" + "\n".join(f"{a:.4f},{b:.4f}" for a, b in POINTS) + "\n").encode()


def wav_bytes() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes((np.sin(np.arange(400) / 5) * 3000).astype("<i2").tobytes())
    return buf.getvalue()


def idx_bytes() -> bytes:
    images = np.random.default_rng(1).integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    return bytes([0, 0, 8, 3]) + b"".join(int(s).to_bytes(4, "big") for s in images.shape) + images.tobytes()


def cifar_python_bytes() -> bytes:
    data = np.random.default_rng(2).integers(0, 256, size=(2, 3072), dtype=np.uint8)
    return pickle.dumps({b"batch_label": b"test", b"labels": [1, 7], b"data": data, b"filenames": [b"a", b"b"]},
                        protocol=4)


def cifar_binary_bytes() -> bytes:
    rec = np.random.default_rng(3).integers(0, 256, size=(2, 3073), dtype=np.uint8)
    rec[:, 0] = (4, 9)
    return rec.tobytes()


# -- the data loaders ------------------------------------------------------------------------------

LOADERS = {
    "points.npy": (npy_bytes, load_user_dataset),
    "split.npz": (npz_bytes, load_user_dataset),
    "points.csv": (csv_bytes, load_user_dataset),
    "samples.npy": (npy_bytes, load_points_file),
    "samples.npz": (npz_bytes, load_points_file),
    "clip.wav": (wav_bytes, read_wav),
    "images.idx": (idx_bytes, read_idx),
    "images.idx.gz": (lambda: gzip.compress(idx_bytes(), mtime=0), read_idx),
    "data_batch_1": (cifar_python_bytes, read_cifar_python_batch),
    "data_batch_1.bin": (cifar_binary_bytes, read_cifar_binary),
}


@pytest.mark.parametrize("name", list(LOADERS))
def test_fuzz_data_loaders(tmp_path, name):
    make, load_fn = LOADERS[name]
    fuzz_bytes(tmp_path, name, make(), load_fn, seed=sorted(LOADERS).index(name))


# -- run folders and checkpoint files ----------------------------------------------------------------

@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder made by hand (no training): config.json and untrained weights."""
    folder = tmp_path_factory.mktemp("run")
    cfg = make_config({}, ["network.width=8", "network.depth=1", "network.emb_dim=4"], data="gmm")
    torch.manual_seed(0)
    process = resolve_process_config(cfg, np.zeros((4, 2)))    # as training fills in "auto" settings
    net = build_network(cfg, (2,), build_process(process))
    save_tensors(folder / "model.safetensors", net.state_dict())
    info = {"version": "0", "config": cfg.to_dict(), "process": process,
            "normaliser": {"shift": [0.0, 0.0], "scale": [1.0, 1.0]},
            "dataset": {"name": "gmm", "kind": "vector", "shape": [2]}, "train_seconds": 1.0}
    (folder / "config.json").write_text(json.dumps(info))
    load(folder)                                                # the valid folder loads
    return folder


def test_fuzz_run_config_json(run_dir, tmp_path):
    """config.json damaged byte by byte and value by value: `difflab.load` loads or refuses in one line."""
    valid = (run_dir / "config.json").read_text()
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes((run_dir / "model.safetensors").read_bytes())
    rng = random.Random(100)
    for k in range(2 * N_MUTANTS):
        text = mutate(valid.encode(), rng) if k % 2 else json.dumps(mutate_json(json.loads(valid), rng)).encode()
        (folder / "config.json").write_bytes(text)
        check_outcome(load, folder, f"config.json mutant {k}")


def test_fuzz_run_weights(run_dir, tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "config.json").write_text((run_dir / "config.json").read_text())
    valid = (run_dir / "model.safetensors").read_bytes()
    rng = random.Random(101)
    for k in range(N_MUTANTS):
        (folder / "model.safetensors").write_bytes(mutate(valid, rng))
        check_outcome(load, folder, f"model.safetensors mutant {k}")


def test_fuzz_checkpoint_files(tmp_path):
    """The readers of checkpoint.safetensors and checkpoint.json (difflab.files)."""
    tensors = {"net.w": torch.randn(3, 4), "opt.0.step": torch.tensor(5.0), "perm": torch.arange(7)}
    save_tensors(tmp_path / "valid.safetensors", tensors)
    fuzz_bytes(tmp_path, "checkpoint.safetensors", (tmp_path / "valid.safetensors").read_bytes(), load_tensors, 102)
    info = json.dumps({"step": 30, "epoch_pos": 4, "losses": [0.5, 0.4], "param_groups": [{"lr": 0.002}]})
    fuzz_bytes(tmp_path, "checkpoint.json", info.encode(), load_json, 103)


@pytest.mark.parametrize("dims", [(0xFFFFFFFF,) * 4, (2 ** 16,) * 4, (2 ** 31, 2 ** 31, 4)])
def test_idx_sizes_that_overflow_int64(tmp_path, dims):
    """Header sizes whose product wraps around in int64 (2**64 -> 0) are truncation, not a crash."""
    path = tmp_path / "big.idx"
    path.write_bytes(bytes([0, 0, 8, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims))
    with pytest.raises(DifflabError, match="truncated"):
        read_idx(path)


@pytest.mark.parametrize("shape", [(2 ** 40, 2 ** 40), (2 ** 31, 2), (10 ** 12, 3)])
def test_npy_header_of_absurd_size(tmp_path, shape):
    """A .npy header that announces more data than the file (or the machine) holds."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": shape})
    path = tmp_path / "h.npy"
    path.write_bytes(buf.getvalue() + bytes(64))
    for load_fn in (load_user_dataset, load_points_file):
        check_outcome(load_fn, path, f"header shape {shape}")
