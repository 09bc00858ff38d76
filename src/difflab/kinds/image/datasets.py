"""Image datasets: MNIST, Fashion-MNIST, CIFAR-10 from their standard files, and 32x32 photo crops.

Every dataset here holds float32 images (N, C, H, W) in [0, 1] (raw units), int64 labels
(`labels_train`, `labels_test`), `n_classes` and `class_names`; its normaliser maps pixels to
[-1, 1] (`x_n = (x - 0.5) / 0.5`, shift and scale stored per pixel so `log_det()` is D log 2).
Common options: `n_train` / `n_test` (None: the whole split; a number: a seeded random subset),
`seed` (0), `data_dir` (looked at first), `download` (False; True fetches the official files
into `data_dir` or ~/.cache/difflab/<name> and checks their md5), `hflip` (whether training may
flip images left-right; stored as `augment_hflip` for the trainer, on by default for CIFAR-10).

Where the files are looked for, in order: `data_dir` and `data_dir/<name>`; `../shared/data/<name>`
relative to the working directory and to the repository; ~/.cache/difflab/<name>; and for
Fashion-MNIST /usr/share/datasets/fashion-mnist (Debian's `dataset-fashion-mnist`).

`difflab datasets` lists these without reading any images: each is registered with a
`describe()` that only checks which files exist (reading MNIST takes a second; CIFAR-10 may be absent).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from ...errors import DifflabError
from ...data.base import Dataset, Normaliser, seeded_subset
from .cifar import download_cifar10, download_file, find_cifar10, load_cifar10
from .cifar import CLASSES as CIFAR10_CLASSES
from .idx import read_idx_pair
from ...data.paths import CACHE, search_dirs
from ...data.registry import register


MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"     # torchvision's mirror of LeCun's files
FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"   # Zalando's official host
IDX_STEMS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
MNIST_MD5 = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
             "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
             "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
             "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}
FASHION_MD5 = {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
               "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
               "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
               "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                   "Bag", "Ankle boot")
SYSTEM_DIRS = {"fashion-mnist": [Path("/usr/share/datasets/fashion-mnist")]}   # Debian package

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry",
          "motorcycle")                                 # scikit-image's bundled RGB photographs
PHOTO_TEST_FRACTION = 0.2   # the rightmost 20% of every photo is kept for test crops (no overlap)


class ImageDataset(Dataset):
    """Labelled images (N, C, H, W) float32 in [0, 1]; the normaliser maps them to [-1, 1]."""

    kind = "image"

    def __init__(self, name: str, description: str, train: np.ndarray, labels_train: np.ndarray,
                 test: np.ndarray, labels_test: np.ndarray, class_names, *, hflip: bool, source: str):
        self.name, self.description, self.source = name, description, source
        self.train, self.test = train, test
        self.labels_train = np.asarray(labels_train, dtype=np.int64)
        self.labels_test = np.asarray(labels_test, dtype=np.int64)
        self.class_names = tuple(class_names)
        self.n_classes = len(self.class_names)
        self.augment_hflip = bool(hflip)                  # the trainer may flip training images left-right
        shape = self.shape
        self.normaliser = Normaliser(shift=np.full(shape, 0.5), scale=np.full(shape, 0.5))

    def info(self) -> dict:
        return {**super().info(), "n_classes": self.n_classes, "hflip": self.augment_hflip,
                "source": self.source}

    def plot(self, ax, x: np.ndarray, *, max_images: int = 64, **kw):
        """Show up to `max_images` raw images (N, C, H, W) as one grid on `ax`."""
        grid = image_grid(np.asarray(x)[:max_images])
        ax.set_xticks([])
        ax.set_yticks([])
        if grid.shape[2] == 1:
            return ax.imshow(grid[..., 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest", **kw)
        return ax.imshow(grid, interpolation="nearest", **kw)


def image_grid(x: np.ndarray, ncols: int | None = None, pad: int = 1) -> np.ndarray:
    """Images (N, C, H, W) -> one (rows*(H+pad)+pad, cols*(W+pad)+pad, C) array in [0, 1]
    (values clipped, NaN shown as 0, gaps filled with 1 = white)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 4:
        raise ValueError(f"expected images of shape (N, C, H, W), got {x.shape}")
    n, c, h, w = x.shape
    ncols = ncols or max(1, math.ceil(math.sqrt(n)))
    nrows = max(1, math.ceil(n / ncols))
    grid = np.ones((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c))
    x = np.clip(np.nan_to_num(x, nan=0.0), 0.0, 1.0).transpose(0, 2, 3, 1)
    for i in range(n):
        r, q = divmod(i, ncols)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + q * (w + pad): pad + q * (w + pad) + w] = x[i]
    return grid


# -- options ----------------------------------------------------------------------------------------

def _count(name, value, allow_none=True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= (0 if name == "seed" else 1):
        return int(value)
    need = ">= 0" if name == "seed" else ">= 1" + (" (or None for the whole split)" if allow_none else "")
    raise DifflabError(f"option {name} must be an integer {need}, got {value!r}")


def _flag(name, value) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise DifflabError(f"option {name} must be true or false, got {value!r}")


def _subset(n_avail: int, n: int | None, rng: np.random.Generator, what: str) -> np.ndarray:
    return seeded_subset(n_avail, n, rng, what, "images")


def _to_unit(images_u8: np.ndarray) -> np.ndarray:
    """uint8 (N, C, H, W) -> float32 in [0, 1]."""
    return images_u8.astype(np.float32) / np.float32(255.0)


# -- MNIST and Fashion-MNIST ---------------------------------------------------------------------

def _idx_file(folder: Path, stem: str) -> Path | None:
    """The IDX file for `stem` in `folder`, gzipped or raw, dash or dot spelling; None if absent."""
    for s in (stem, stem.replace("-idx", ".idx")):
        for suffix in (".gz", ""):
            if (folder / (s + suffix)).is_file():
                return folder / (s + suffix)
    return None


def find_idx_dataset(name: str, data_dir) -> tuple[Path | None, list[Path]]:
    """(the first folder holding all four IDX files or None, the folders looked in)."""
    dirs = search_dirs(name, data_dir, SYSTEM_DIRS.get(name, ()))
    for d in dirs:
        if all(_idx_file(d, s) for pair in IDX_STEMS.values() for s in pair):
            return d, dirs
    return None, dirs


def _missing(title: str, name: str, dirs: list[Path], files: str, extra: str = "") -> DifflabError:
    looked = "\n  ".join(str(d) for d in dirs)
    return DifflabError(f"{title} not found. Looked in:\n  {looked}\nGet it: pass --data-dir DIR "
                        f"(dataset option data_dir) for a folder holding {files}{extra}, or set the "
                        f"dataset option download=True to fetch the official files into data_dir or "
                        f"{CACHE / name} (md5-checked).")


def _idx_dataset(name, title, url, md5s, class_names, *, n_train, n_test, seed, data_dir, hflip, download):
    n_train, n_test, seed = _count("n_train", n_train), _count("n_test", n_test), _count("seed", seed, False)
    hflip, download = _flag("hflip", hflip), _flag("download", download)
    folder, dirs = find_idx_dataset(name, data_dir)
    if folder is None and download:
        folder = Path(data_dir).expanduser() if data_dir is not None else CACHE.expanduser() / name
        for f, md5 in md5s.items():
            download_file(url + f, folder / f, md5)
    if folder is None:
        extra = (" (on Debian/Ubuntu: apt-get install dataset-fashion-mnist, which puts them in "
                 "/usr/share/datasets/fashion-mnist)") if name == "fashion-mnist" else ""
        raise _missing(title, name, dirs, "the four IDX files " + ", ".join(md5s), extra)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)]
    split = {}
    for (part, (img_stem, lab_stem)), n, rng in zip(IDX_STEMS.items(), (n_train, n_test), rngs):
        images, labels = read_idx_pair(_idx_file(folder, img_stem), _idx_file(folder, lab_stem))
        keep = _subset(len(images), n, rng, f"{name} {part}")
        split[part] = (_to_unit(images[keep][:, None]), labels[keep])
    (xtr, ytr), (xte, yte) = split["train"], split["test"]
    desc = f"{title}: {len(xtr)} train / {len(xte)} test 28x28 greyscale images, 10 classes, from {folder}"
    return ImageDataset(name, desc, xtr, ytr, xte, yte, class_names, hflip=hflip, source=str(folder))


def _describe_idx(name: str, title: str, n_train: int, n_test: int):
    def describe() -> dict:
        folder, _ = find_idx_dataset(name, None)
        where = f"found in {folder}" if folder else "not found here (see --data-dir or download=True)"
        return _static_info(name, (1, 28, 28), n_train, n_test, f"{title}, 28x28 greyscale, 10 classes; {where}")
    return describe


def _static_info(name, shape, n_train, n_test, description) -> dict:
    return {"name": name, "kind": "image", "shape": list(shape), "n_train": n_train, "n_test": n_test,
            "truth_sampler": False, "exact_log_density": False, "description": description}


@register("mnist", "MNIST handwritten digits, 28x28x1", describe=_describe_idx("mnist", "MNIST digits", 60000, 10000))
def mnist(n_train=None, n_test=None, seed=0, *, data_dir=None, hflip=False, download=False) -> Dataset:
    """MNIST digits from the four standard IDX files (gzip or raw)."""
    return _idx_dataset("mnist", "MNIST digits", MNIST_URL, MNIST_MD5, [str(d) for d in range(10)],
                        n_train=n_train, n_test=n_test, seed=seed, data_dir=data_dir, hflip=hflip,
                        download=download)


@register("fashion-mnist", "Fashion-MNIST clothing images, 28x28x1",
          describe=_describe_idx("fashion-mnist", "Fashion-MNIST", 60000, 10000))
def fashion_mnist(n_train=None, n_test=None, seed=0, *, data_dir=None, hflip=False, download=False) -> Dataset:
    """Fashion-MNIST (Zalando) from the four standard IDX files (gzip or raw)."""
    return _idx_dataset("fashion-mnist", "Fashion-MNIST", FASHION_URL, FASHION_MD5, FASHION_CLASSES,
                        n_train=n_train, n_test=n_test, seed=seed, data_dir=data_dir, hflip=hflip,
                        download=download)


# -- CIFAR-10 --------------------------------------------------------------------------------------

def _find_cifar10(data_dir):
    dirs = search_dirs("cifar10", data_dir)
    for d in dirs:
        found = find_cifar10(d)
        if found:
            return found, dirs
    return None, dirs


def _describe_cifar10() -> dict:
    found, _ = _find_cifar10(None)
    where = f"found in {found[1]}" if found else "not found here (see --data-dir or download=True)"
    return _static_info("cifar10", (3, 32, 32), 50000, 10000, f"CIFAR-10, 32x32 RGB, 10 classes; {where}")


@register("cifar10", "CIFAR-10 photos, 32x32x3", describe=_describe_cifar10)
def cifar10(n_train=None, n_test=None, seed=0, *, data_dir=None, hflip=True, download=False) -> Dataset:
    """CIFAR-10 from the python batches (read without unpickling code) or the binary version."""
    n_train, n_test, seed = _count("n_train", n_train), _count("n_test", n_test), _count("seed", seed, False)
    hflip, download = _flag("hflip", hflip), _flag("download", download)
    found, dirs = _find_cifar10(data_dir)
    if found is None and download:
        root = Path(data_dir).expanduser() if data_dir is not None else CACHE.expanduser() / "cifar10"
        found = ("python", download_cifar10(root))
    if found is None:
        raise _missing("CIFAR-10", "cifar10", dirs, "cifar-10-batches-py/ (data_batch_1..5, test_batch) "
                       "or cifar-10-batches-bin/ (*.bin)")
    version, folder = found
    parts = load_cifar10(version, folder)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)]
    split = {}
    for (part, (images, labels)), n, rng in zip(parts.items(), (n_train, n_test), rngs):
        keep = _subset(len(images), n, rng, f"cifar10 {part}")
        split[part] = (_to_unit(images[keep]), labels[keep])
    (xtr, ytr), (xte, yte) = split["train"], split["test"]
    desc = f"CIFAR-10: {len(xtr)} train / {len(xte)} test 32x32 RGB images, 10 classes, from {folder} ({version})"
    return ImageDataset("cifar10", desc, xtr, ytr, xte, yte, CIFAR10_CLASSES, hflip=hflip, source=str(folder))


# -- photo crops -------------------------------------------------------------------------------------

def _load_photo(name: str) -> np.ndarray:
    try:
        import skimage.data as skdata           # optional (extra "images"): only the photos need it
    except ImportError:
        raise DifflabError("dataset photos needs scikit-image: pip install 'difflab[images]'") from None
    return skdata.stereo_motorcycle()[0] if name == "motorcycle" else getattr(skdata, name)()


def _crops(photo: np.ndarray, n: int, lo: int, hi: int, max_crop: int, rng: np.random.Generator) -> np.ndarray:
    """n random square crops of side in [32, max_crop] from columns lo..hi of an (H, W, 3) photo,
    each shrunk to 32x32 by area averaging -> uint8 (n, 3, 32, 32)."""
    out = np.empty((n, 3, 32, 32), dtype=np.uint8)
    biggest = min(max_crop, hi - lo, photo.shape[0])
    for i in range(n):
        side = int(rng.integers(32, biggest + 1))
        y = int(rng.integers(0, photo.shape[0] - side + 1))
        x = lo + int(rng.integers(0, hi - lo - side + 1))
        crop = photo[y:y + side, x:x + side]
        if side != 32:
            crop = np.asarray(Image.fromarray(crop).resize((32, 32), Image.Resampling.BOX))
        out[i] = crop.transpose(2, 0, 1)
    return out


@register("photos", "32x32 RGB crops of scikit-image's sample photographs (7 classes: the photo)",
          describe=lambda: _static_info("photos", (3, 32, 32), 2000, 500,
                                        "32x32 RGB crops of 7 scikit-image sample photos; label = photo"))
def photos(n_train=2000, n_test=500, seed=0, *, max_crop=96, hflip=False) -> Dataset:
    """Seeded random square crops (side 32..max_crop, shrunk to 32x32) of 7 photographs that ship
    with scikit-image; the label is the photo. Test crops come from the rightmost 20% of every
    photo and train crops from the rest, so no test crop overlaps a training crop."""
    n_train, n_test = _count("n_train", n_train, False), _count("n_test", n_test, False)
    seed, hflip = _count("seed", seed, False), _flag("hflip", hflip)
    if not isinstance(max_crop, (int, np.integer)) or isinstance(max_crop, bool) or max_crop < 32:
        raise DifflabError(f"option max_crop must be an integer >= 32, got {max_crop!r}")
    images = [_load_photo(p) for p in PHOTOS]
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)]
    split = {}
    for part, n, rng in (("train", n_train, rngs[0]), ("test", n_test, rngs[1])):
        labels = np.sort(rng.integers(0, len(PHOTOS), size=n))
        xs = []
        for k, photo in enumerate(images):
            cut = int(round(photo.shape[1] * (1 - PHOTO_TEST_FRACTION)))
            lo, hi = (0, cut) if part == "train" else (cut, photo.shape[1])
            xs.append(_crops(photo, int((labels == k).sum()), lo, hi, int(max_crop), rng))
        order = rng.permutation(n)                       # mix the photos
        split[part] = (_to_unit(np.concatenate(xs))[order], labels[order])
    (xtr, ytr), (xte, yte) = split["train"], split["test"]
    desc = (f"photos: {n_train} train / {n_test} test 32x32 RGB crops (side 32..{max_crop}) of "
            f"{len(PHOTOS)} scikit-image sample photos, label = photo")
    return ImageDataset("photos", desc, xtr, ytr, xte, yte, PHOTOS, hflip=hflip, source="skimage.data")
