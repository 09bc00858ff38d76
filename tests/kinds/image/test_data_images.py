"""Image data: IDX and CIFAR-10 readers on valid and broken files, the image datasets, real MNIST.

The CIFAR-10 files are written here in exactly the standard formats: the python batches as
Python 2 wrote them (pickle protocol 2, byte strings as BINSTRING, `numpy.core.multiarray`
globals), the binary version as 3073-byte records. Nothing is downloaded.
"""
import gzip
import json
import io
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from difflab.data import get_dataset, list_datasets
from difflab.data import paths as data_paths
from difflab.kinds.image import datasets as images_module
from difflab.kinds.image.cifar import read_cifar_binary, read_cifar_python_batch
from difflab.kinds.image.idx import read_idx, read_idx_pair
from difflab.errors import DifflabError

MNIST_DIR = Path(__file__).resolve().parents[4] / "shared" / "data" / "mnist"
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]       # from SOURCE.md
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


# -- writers for the standard formats ---------------------------------------------------------------

def idx_bytes(arr: np.ndarray, type_code: int = 0x08) -> bytes:
    """IDX: 0x00 0x00 type ndim, big-endian uint32 sizes, then the values."""
    return bytes([0, 0, type_code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def write(path: Path, data: bytes, gz: bool = False) -> Path:
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


class Py2Pickler(pickle._Pickler):
    """Protocol 2 as Python 2's cPickle wrote the CIFAR batches: str/bytes as BINSTRING, numpy 1.x
    module names (Python 3 would write bytes as `_codecs.encode(...)` calls instead)."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        op = (pickle.SHORT_BINSTRING + bytes([len(data)]) if len(data) < 256
              else pickle.BINSTRING + struct.pack("<i", len(data)))
        self.write(op + data)
        self.memoize(obj)

    dispatch[str] = save_py2_str
    dispatch[bytes] = save_py2_str

    def save_global(self, obj, name=None):
        module = {"numpy._core.multiarray": "numpy.core.multiarray"}.get(obj.__module__, obj.__module__)
        self.write(pickle.GLOBAL + f"{module}\n{name or obj.__name__}\n".encode())
        self.memoize(obj)


def py2_pickle(obj) -> bytes:
    f = io.BytesIO()
    Py2Pickler(f, protocol=2).dump(obj)
    return f.getvalue()


def cifar_batch(n: int, rng, override: dict | None = None) -> dict:
    batch = {b"batch_label": b"training batch 1 of 5",
             b"labels": [int(v) for v in rng.integers(0, 10, size=n)],
             b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
             b"filenames": [f"img_{i}.png".encode() for i in range(n)]}
    batch.update(override or {})
    return batch


def binary_records(images: np.ndarray, labels) -> bytes:
    return b"".join(bytes([int(y)]) + im.tobytes() for im, y in zip(images, labels))


# -- IDX ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True])
def test_idx_valid_images_and_labels(tmp_path, gz):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    ip = write(tmp_path / "img", idx_bytes(images), gz)
    lp = write(tmp_path / "lab", idx_bytes(labels), gz)
    assert np.array_equal(read_idx(ip), images) and np.array_equal(read_idx(lp), labels)
    x, y = read_idx_pair(ip, lp)
    assert x.dtype == np.uint8 and y.dtype == np.int64 and np.array_equal(y, labels)
    wide = np.arange(6, dtype=">i4").reshape(2, 3)                # other IDX types: big-endian ints
    assert np.array_equal(read_idx(write(tmp_path / "ints", idx_bytes(wide, 0x0C), gz)), wide)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("damage, message", [
    (lambda b: b[:-10], "truncated"),
    (lambda b: b[:10], "truncated header"),
    (lambda b: b + b"\x00\x00", "unexpected bytes"),
    (lambda b: b"\x12\x34" + b[2:], "not an IDX file"),
    (lambda b: b[:2] + b"\x07" + b[3:], "not an IDX file"),          # unknown type byte
    (lambda b: b[:3] + b"\x00" + b[4:], "not an IDX file"),          # zero dimensions
    (lambda b: b[:4] + struct.pack(">I", 6) + b[8:], "truncated"),   # header claims 6 images, has 5
    (lambda b: b[:4] + struct.pack(">I", 4) + b[8:], "unexpected bytes"),
    (lambda b: b"\x89PNG\r\n\x1a\n" + b, "not an IDX file"),
])
def test_idx_broken_files_name_file_and_problem(tmp_path, gz, damage, message):
    good = idx_bytes(np.zeros((5, 28, 28), dtype=np.uint8))
    path = write(tmp_path / "broken-idx3-ubyte", damage(good), gz)
    with pytest.raises(DifflabError, match=message) as e:
        read_idx(path)
    assert str(path) in str(e.value)


def test_idx_broken_gzip_and_missing_file(tmp_path):
    blob = gzip.compress(idx_bytes(np.zeros((5, 28, 28), dtype=np.uint8)))
    with pytest.raises(DifflabError, match="broken gzip"):
        read_idx(write(tmp_path / "cut.gz", blob[: len(blob) // 2]))
    with pytest.raises(DifflabError, match="no such file"):
        read_idx(tmp_path / "absent.gz")


def test_idx_pair_checks_sizes_counts_and_labels(tmp_path):
    img = write(tmp_path / "img", idx_bytes(np.zeros((4, 28, 28), dtype=np.uint8)))
    lab = write(tmp_path / "lab", idx_bytes(np.zeros(4, dtype=np.uint8)))
    with pytest.raises(DifflabError, match="expected 28x28 images, got 28x27"):
        read_idx_pair(write(tmp_path / "narrow", idx_bytes(np.zeros((4, 28, 27), dtype=np.uint8))), lab)
    with pytest.raises(DifflabError, match="4 images but .* 3 labels"):
        read_idx_pair(img, write(tmp_path / "lab3", idx_bytes(np.zeros(3, dtype=np.uint8))))
    with pytest.raises(DifflabError, match="0x00000803"):                # labels passed as images
        read_idx_pair(lab, lab)
    with pytest.raises(DifflabError, match="label 12 is outside 0..9"):
        read_idx_pair(img, write(tmp_path / "lab12", idx_bytes(np.array([0, 1, 12, 2], dtype=np.uint8))))


def _fake_idx_dataset(folder: Path, n_train=6, n_test=3, gz=True) -> dict:
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, size=n).astype(np.uint8)
        suffix = ".gz" if gz else ""
        write(folder / f"{split}-images-idx3-ubyte{suffix}", idx_bytes(x), gz)
        write(folder / f"{split}-labels-idx1-ubyte{suffix}", idx_bytes(y), gz)
        made[split] = (x, y)
    return made


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_dataset_from_data_dir(tmp_path, gz):
    made = _fake_idx_dataset(tmp_path / "mnist", gz=gz)
    ds = get_dataset("mnist", data_dir=str(tmp_path))              # finds data_dir/mnist first
    assert ds.kind == "image" and ds.shape == (1, 28, 28) and ds.n_classes == 10
    assert ds.train.shape == (6, 1, 28, 28) and ds.test.shape == (3, 1, 28, 28) and ds.train.dtype == np.float32
    assert np.allclose(ds.train[:, 0] * 255, made["train"][0]) and np.array_equal(ds.labels_test, made["t10k"][1])
    assert ds.labels_train.dtype == np.int64 and ds.augment_hflip is False
    sub = get_dataset("mnist", data_dir=tmp_path / "mnist", n_train=4, n_test=2, seed=3)
    assert sub.train.shape == (4, 1, 28, 28) and sub.test.shape == (2, 1, 28, 28)
    again = get_dataset("mnist", data_dir=tmp_path / "mnist", n_train=4, n_test=2, seed=3)
    assert np.array_equal(sub.train, again.train) and np.array_equal(sub.labels_train, again.labels_train)
    with pytest.raises(DifflabError, match="only 6"):
        get_dataset("mnist", data_dir=tmp_path / "mnist", n_train=7)
    with pytest.raises(DifflabError, match="n_train"):
        get_dataset("mnist", data_dir=tmp_path / "mnist", n_train=0)


def test_missing_dataset_says_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                                     # no ../shared/data here
    monkeypatch.setattr(data_paths, "REPO_ROOT", tmp_path / "repo")
    monkeypatch.setattr(data_paths, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(images_module, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(images_module, "SYSTEM_DIRS", {})
    empty = tmp_path / "empty"
    for name in ("mnist", "fashion-mnist", "cifar10"):
        with pytest.raises(DifflabError) as e:
            get_dataset(name, data_dir=empty)
        msg = str(e.value)
        assert str(empty) in msg and "--data-dir" in msg and "download=True" in msg
    with pytest.raises(DifflabError, match="apt-get install dataset-fashion-mnist"):
        get_dataset("fashion-mnist", data_dir=empty)


def test_listing_reads_no_images(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("listing must not read image files")

    monkeypatch.setattr(images_module, "read_idx_pair", boom)
    monkeypatch.setattr(images_module, "load_cifar10", boom)
    monkeypatch.setattr(images_module, "_load_photo", boom)
    rows = {r["name"]: r for r in list_datasets()}
    assert rows["mnist"]["shape"] == [1, 28, 28] and rows["fashion-mnist"]["n_train"] == 60000
    assert rows["cifar10"]["shape"] == [3, 32, 32] and rows["photos"]["kind"] == "image"


# -- CIFAR-10, python version --------------------------------------------------------------------------

def test_cifar_python_batch_valid(tmp_path):
    rng = np.random.default_rng(0)
    batch = cifar_batch(4, rng)
    blob = py2_pickle(batch)
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in blob and b"_codecs" not in blob   # as Python 2 wrote it
    x, y = read_cifar_python_batch(write(tmp_path / "data_batch_1", blob))
    assert x.shape == (4, 3, 32, 32) and x.dtype == np.uint8 and y.dtype == np.int64
    assert np.array_equal(x.reshape(4, -1), batch[b"data"]) and y.tolist() == batch[b"labels"]
    assert np.array_equal(x[0, 1], batch[b"data"][0, 1024:2048].reshape(32, 32))      # green plane, row-major


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("how", ["os.system", "protocol0", "builtins.eval", "subprocess"])
def test_cifar_pickle_that_runs_code_is_refused_without_running(tmp_path, how):
    marker = tmp_path / "PWNED"
    if how == "os.system":                                          # hidden inside a plausible batch
        blob = pickle.dumps(cifar_batch(2, np.random.default_rng(0), {b"labels": Evil(marker)}), protocol=2)
    elif how == "protocol0":
        blob = f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()
    elif how == "builtins.eval":
        blob = f"cbuiltins\neval\n(S'open({str(marker)!r}, \"w\")'\ntR.".encode()
    else:
        blob = f"csubprocess\ncall\n((S'touch'\nS'{marker}'\nltR.".encode()
    path = write(tmp_path / "data_batch_1", blob)
    with pytest.raises(DifflabError, match="refused to load"):
        read_cifar_python_batch(path)
    assert not marker.exists()


@pytest.mark.parametrize("override, message", [
    ({b"data": None}, "uint8 array of shape"),
    ({b"data": np.zeros((2, 3000), dtype=np.uint8)}, r"shape \(N, 3072\)"),
    ({b"data": np.zeros((2, 3072), dtype=np.float32)}, "uint8"),
    ({b"labels": [1, 10]}, "0..9"),
    ({b"labels": [1, 2, 3]}, "2 images but 3 labels"),
    ({b"labels": "12"}, "list of ints"),
    ({b"filenames": [b"a.png"]}, "filenames"),
    ({b"fine_labels": [1, 2]}, "CIFAR-100"),
])
def test_cifar_python_batch_wrong_structure(tmp_path, override, message):
    batch = cifar_batch(2, np.random.default_rng(0), override)
    with pytest.raises(DifflabError, match=message):
        read_cifar_python_batch(write(tmp_path / "b", py2_pickle(batch)))


def test_cifar_python_batch_missing_keys_truncated_and_not_a_dict(tmp_path):
    batch = cifar_batch(2, np.random.default_rng(0))
    del batch[b"labels"]
    with pytest.raises(DifflabError, match="not a CIFAR-10 batch"):
        read_cifar_python_batch(write(tmp_path / "a", py2_pickle(batch)))
    blob = py2_pickle(cifar_batch(2, np.random.default_rng(0)))
    with pytest.raises(DifflabError, match="not a readable CIFAR-10 python batch"):
        read_cifar_python_batch(write(tmp_path / "b", blob[: len(blob) // 2]))
    with pytest.raises(DifflabError, match="is a dict"):
        read_cifar_python_batch(write(tmp_path / "c", py2_pickle([1, 2, 3])))


# -- CIFAR-10, binary version and the dataset -------------------------------------------------------------

def test_cifar_binary_valid_truncated_and_bad_label(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(3, 3, 32, 32), dtype=np.uint8)
    blob = binary_records(x, [7, 0, 9])
    got, labels = read_cifar_binary(write(tmp_path / "data_batch_1.bin", blob))
    assert np.array_equal(got, x) and labels.tolist() == [7, 0, 9]
    with pytest.raises(DifflabError, match="truncated"):
        read_cifar_binary(write(tmp_path / "cut.bin", blob[:-1]))
    with pytest.raises(DifflabError, match="truncated"):
        read_cifar_binary(write(tmp_path / "empty.bin", b""))
    with pytest.raises(DifflabError, match="label 12"):
        read_cifar_binary(write(tmp_path / "bad.bin", binary_records(x, [1, 12, 2])))


@pytest.mark.parametrize("version", ["python", "binary"])
def test_cifar10_dataset_from_standard_folders(tmp_path, version):
    rng = np.random.default_rng(0)
    folder = tmp_path / ("cifar-10-batches-py" if version == "python" else "cifar-10-batches-bin")
    folder.mkdir()
    expected = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        b = cifar_batch(2, rng)
        expected.append(b)
        if version == "python":
            write(folder / name, py2_pickle(b))
        else:
            write(folder / f"{name}.bin", binary_records(b[b"data"], b[b"labels"]))
    ds = get_dataset("cifar10", data_dir=tmp_path)
    assert ds.train.shape == (10, 3, 32, 32) and ds.test.shape == (2, 3, 32, 32) and ds.shape == (3, 32, 32)
    assert np.allclose(ds.train[0].reshape(-1) * 255, expected[0][b"data"][0])
    assert ds.labels_train.tolist() == sum((b[b"labels"] for b in expected[:5]), [])
    assert ds.augment_hflip is True and get_dataset("cifar10", data_dir=tmp_path, hflip=False).augment_hflip is False
    assert ds.class_names[0] == "airplane" and ds.info()["n_classes"] == 10


# -- pixels, pictures, photos ----------------------------------------------------------------------------

def _check_pixels(ds):
    assert ds.train.dtype == np.float32 and 0.0 <= ds.train.min() and ds.train.max() <= 1.0
    x_n = ds.normalise(ds.train)
    assert x_n.dtype == np.float32 and -1.0 <= x_n.min() and x_n.max() <= 1.0
    assert np.allclose(ds.normalise(np.zeros((1,) + ds.shape, np.float32)), -1.0)
    assert np.allclose(ds.normalise(np.ones((1,) + ds.shape, np.float32)), 1.0)
    assert np.allclose(ds.unnormalise(x_n), ds.train, atol=1e-6)
    assert ds.normaliser.log_det() == pytest.approx(ds.dim * np.log(2.0))          # dx_n/dx = 2 per pixel


def test_photos_dataset_shapes_range_and_seed():
    pytest.importorskip("skimage", reason="photos need scikit-image (pip install 'difflab[images]')")
    ds = get_dataset("photos", n_train=140, n_test=35, seed=1)
    assert ds.kind == "image" and ds.train.shape == (140, 3, 32, 32) and ds.test.shape == (35, 3, 32, 32)
    assert ds.n_classes == 7 and set(ds.labels_train.tolist()) <= set(range(7)) and len(set(ds.labels_train.tolist())) > 1
    assert ds.train.std() > 0.05                                     # real photographs, not a constant
    _check_pixels(ds)
    assert np.array_equal(ds.train, get_dataset("photos", n_train=140, n_test=35, seed=1).train)
    assert not np.array_equal(ds.train, get_dataset("photos", n_train=140, n_test=35, seed=2).train)


def test_image_plot_draws_a_grid(tmp_path):
    import matplotlib.pyplot as plt

    _fake_idx_dataset(tmp_path / "mnist")
    ds = get_dataset("mnist", data_dir=tmp_path)
    fig, ax = plt.subplots()
    im = ds.plot(ax, ds.train)
    assert im.get_array().shape == (2 * 29 + 1, 3 * 29 + 1)       # 6 images -> 2 rows of 3, 1-pixel gaps
    plt.close(fig)


# -- real data, where present ---------------------------------------------------------------------------

@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason=f"real MNIST not present at {MNIST_DIR}")
def test_real_mnist_loads_with_the_documented_label_counts():
    x, y = read_idx_pair(MNIST_DIR / "t10k-images-idx3-ubyte.gz", MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
    assert x.shape == (10000, 28, 28) and np.bincount(y).tolist() == MNIST_TEST_COUNTS
    assert np.bincount(read_idx(MNIST_DIR / "train-labels-idx1-ubyte.gz")).tolist() == MNIST_TRAIN_COUNTS
    ds = get_dataset("mnist", data_dir=MNIST_DIR, n_train=500, n_test=200)
    assert ds.train.shape == (500, 1, 28, 28) and ds.test.shape == (200, 1, 28, 28)
    assert Path(ds.source).resolve() == MNIST_DIR.resolve()
    assert 0.1 < ds.train.mean() < 0.15                              # MNIST's mean pixel is about 0.13
    _check_pixels(ds)


@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
def test_real_fashion_mnist_test_split():
    x, y = read_idx_pair(FASHION_DIR / "t10k-images-idx3-ubyte.gz", FASHION_DIR / "t10k-labels-idx1-ubyte.gz")
    assert x.shape == (10000, 28, 28) and np.bincount(y).tolist() == [1000] * 10


def test_the_cifar10_preset_trains_on_files_in_the_standard_format(tmp_path):
    """Issue 17: the CIFAR-10 preset (unet-32, flips, class-conditional) trains 2 steps on python
    batches written here, and its run samples images in [0, 1]."""
    from difflab.cli import main

    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        write(folder / name, py2_pickle(cifar_batch(4, rng)))
    run = tmp_path / "run"
    assert main(["train", "cifar10", "--data-dir", str(tmp_path), "--steps", "2", "--out", str(run),
                 "--set", "test_loss_points=4", "--no-progress"]) == 0
    info = json.loads((run / "config.json").read_text())
    assert info["config"]["network"]["preset"] == "unet-32" and info["runtime"]["hflip"] is True
    assert info["config"]["class_conditional"] is True and info["steps_done"] == 2
    assert main(["sample", str(run), "--n", "2", "--steps", "2", "--labels", "0,1", "--out", str(tmp_path / "s.npy"),
                 "--no-progress"]) == 0
    x = np.load(tmp_path / "s.npy")
    assert x.shape == (2, 3, 32, 32) and 0 <= x.min() and x.max() <= 1
