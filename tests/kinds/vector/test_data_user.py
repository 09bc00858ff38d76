"""The user's own data files: valid ones load with the right split, every bad one is a clear error."""
import numpy as np
import pytest

from difflab.data import get_dataset
from difflab.kinds.vector.user import load_user_dataset
from difflab.errors import DifflabError

X = np.arange(100, dtype=np.float64).reshape(50, 2)        # 50 rows, d = 2, all distinct


def _rows(a):
    return {tuple(r) for r in np.asarray(a, dtype=np.float64)}


def test_npy_loads_and_splits(tmp_path):
    path = tmp_path / "points.npy"
    np.save(path, X)
    ds = get_dataset(str(path))                                # the registry routes a path here
    assert ds.name == "points.npy" and ds.kind == "vector" and not ds.has_truth and not ds.has_log_prob
    assert ds.train.shape == (40, 2) and ds.test.shape == (10, 2) and ds.train.dtype == np.float32
    assert _rows(ds.train) | _rows(ds.test) == _rows(X) and not _rows(ds.train) & _rows(ds.test)
    assert np.allclose(ds.normaliser.shift, ds.train.mean(0))
    same, other = load_user_dataset(path, seed=0), load_user_dataset(path, seed=1)
    assert np.array_equal(ds.train, same.train) and not np.array_equal(ds.test, other.test)
    assert load_user_dataset(path, test_fraction=0.5).test.shape == (25, 2)
    assert load_user_dataset(path, n_test=5, n_train=20).train.shape == (20, 2)
    tiny = tmp_path / "tiny.npy"
    np.save(tiny, X[:10].astype(np.int64))                      # integers are fine; test >= 2 rows
    t = load_user_dataset(tiny)
    assert t.train.shape == (8, 2) and t.test.shape == (2, 2) and t.train.dtype == np.float32


@pytest.mark.parametrize("header", [False, True])
def test_csv_with_and_without_header(tmp_path, header):
    path = tmp_path / "data.csv"
    lines = (["x, y"] if header else []) + [f"{a},{b}" for a, b in X] + [""]
    path.write_text("\n".join(lines))
    ds = load_user_dataset(path)
    assert ds.train.shape == (40, 2) and ds.test.shape == (10, 2)
    assert _rows(ds.train) | _rows(ds.test) == _rows(X)


def test_csv_single_column(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("value\n" + "\n".join(str(v) for v in range(20)))
    assert load_user_dataset(path).train.shape == (16, 1)


def test_npz_keeps_its_split(tmp_path):
    path = tmp_path / "split.npz"
    np.savez(path, train=X[:30], test=X[30:])
    ds = load_user_dataset(path, seed=5)
    assert np.array_equal(ds.train, X[:30]) and np.array_equal(ds.test, X[30:])
    capped = load_user_dataset(path, n_train=10, n_test=4)
    assert capped.train.shape == (10, 2) and capped.test.shape == (4, 2)


def _error(path, **options) -> str:
    with pytest.raises(DifflabError) as e:
        load_user_dataset(path, **options)
    msg = str(e.value)
    assert path.name in msg
    return msg


def test_missing_unreadable_and_unsupported_files(tmp_path):
    assert "not found" in _error(tmp_path / "nope.npy")
    (tmp_path / "junk.npy").write_bytes(b"this is not numpy")
    assert "could not read" in _error(tmp_path / "junk.npy")
    (tmp_path / "junk.npz").write_bytes(b"nor is this a zip")
    assert "could not read" in _error(tmp_path / "junk.npz")
    (tmp_path / "latin.csv").write_bytes(b"\xff\xfe\x00bad")
    assert "could not read" in _error(tmp_path / "latin.csv")
    (tmp_path / "data.txt").write_text("1,2\n")
    assert "unsupported file type '.txt'" in _error(tmp_path / "data.txt")
    (tmp_path / "folder.npy").mkdir()
    assert "not a file" in _error(tmp_path / "folder.npy")


def test_bad_arrays(tmp_path):
    cases = {
        "empty.npy": (np.zeros((0, 2)), "empty"),
        "flat.npy": (np.arange(20.0), "reshape it to (N, 1)"),
        "cube.npy": (np.zeros((20, 2, 2)), "shape (20, 2, 2)"),
        "few.npy": (X[:9], "too few rows (9)"),
        "text.npy": (np.array([["a", "b"]] * 20), "non-numeric"),
        "cplx.npy": (np.ones((20, 2), dtype=complex), "non-numeric"),
        "huge.npy": (np.full((20, 2), 1e300), "too large for float32"),
    }
    for name, (arr, words) in cases.items():
        np.save(tmp_path / name, arr)
        assert words in _error(tmp_path / name), name
    bad = X.copy()
    bad[3, 0], bad[7, 1], bad[8, 0] = np.nan, np.inf, np.nan
    np.save(tmp_path / "nan.npy", bad)
    msg = _error(tmp_path / "nan.npy")
    assert "2 NaN" in msg and "1 infinite" in msg


def test_object_arrays_are_refused(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}] * 20, dtype=object), allow_pickle=True)
    assert "Python objects" in _error(tmp_path / "obj.npy")
    np.savez(tmp_path / "obj.npz", train=np.array([[1, "a"]] * 20, dtype=object), test=X[:5])
    assert "Python objects" in _error(tmp_path / "obj.npz")


def test_bad_csv(tmp_path):
    good = [f"{a},{b}" for a, b in X[:20]]
    cases = {
        "word.csv": (["x,y"] + good[:5] + ["1.0,oops"] + good[5:], "line 7, column 2: a non-numeric value 'oops'"),
        "hole.csv": (good[:3] + ["1.0,"] + good[3:], "line 4, column 2: an empty value"),
        "ragged.csv": (good[:4] + ["1,2,3"] + good[4:], "line 5: 3 values"),
        "semi.csv": ([g.replace(",", ";") for g in good], "separated by commas"),
        "nan.csv": (good + ["nan,1"], "1 NaN"),
        "few.csv": (good[:9], "too few rows"),
        "head.csv": (["x,y"], "no data rows"),
        "blank.csv": (["", "  "], "empty"),
    }
    for name, (lines, words) in cases.items():
        (tmp_path / name).write_text("\n".join(lines) + "\n")
        assert words in _error(tmp_path / name), name


def test_bad_npz(tmp_path):
    np.savez(tmp_path / "keys.npz", x=X)
    msg = _error(tmp_path / "keys.npz")
    assert "missing" in msg and "train" in msg and "found: x" in msg
    np.savez(tmp_path / "dims.npz", train=X, test=np.zeros((5, 3)))
    assert "d=3" in _error(tmp_path / "dims.npz")
    np.savez(tmp_path / "small.npz", train=X[:20], test=X[:1])
    assert "too few rows" in _error(tmp_path / "small.npz")
    np.savez(tmp_path / "flat.npz", train=X, test=np.arange(5.0))
    assert "'test' array is 1-D" in _error(tmp_path / "flat.npz")
    np.savez(tmp_path / "ok.npz", train=X[:30], test=X[30:])
    assert "n_test=30" in _error(tmp_path / "ok.npz", n_test=30)
    assert "test_fraction" in _error(tmp_path / "ok.npz", test_fraction=0.1)


def test_bad_options(tmp_path):
    path = tmp_path / "points.npy"
    np.save(path, X)
    assert "std" in _error(path, std=1.0) and "n_modes, std" in _error(path, std=1.0, n_modes=3)
    assert "test_fraction" in _error(path, test_fraction=1.5)
    assert "n_train" in _error(path, n_train=0)
    assert "cannot take 45 train + 10 test" in _error(path, n_train=45)
    assert "seed" in _error(path, seed=-1)
    with pytest.raises(DifflabError, match="std"):
        get_dataset(str(path), std=2.0)
