"""Sentence embeddings: the fortune parser, text:FILE, the embedding cache, the text modality's
outputs and measures, and the command line end to end (with a fake embedder, and once with the
real all-MiniLM-L6-v2 when sentence-transformers is installed)."""
import hashlib
import json
import math

import numpy as np
import pytest

import difflab.kinds.text.datasets as sentences_mod
from difflab.cli import main
from difflab.data import get_dataset
from difflab.errors import DifflabError
from difflab.eval.frechet import frechet_distance
from difflab.kinds.text.geometry import nearest_cosines
from difflab.kinds.text.kind import TextKind
from difflab.kinds.text.metrics import evaluate_embeddings, format_text_result, nearest_table, write_nearest

TINY = ["--set", "network.width=32", "--set", "network.depth=1", "--set", "network.emb_dim=8",
        "--set", "batch_size=32", "--no-progress"]

FORTUNES = """A day for firm decisions!!!!!  Or is it?
%
Abandon the search for Truth; settle for a good fantasy.
		-- Anonymous
%
ABANDON the search for truth; settle for a good fantasy.
%
The first line of a quotation
that runs over two lines.
\t\t-- Somebody Famous,
\t\t   "A Book"
%
one
two
three
four lines is too many
%
Short.
%
  _\b_\b_  |||  ///  \\\\\\  ***  ###  |||
%
B\bBo\bol\bld\bd words of an old terminal, underlined and bold.
%
"""


class FakeEmbedder:
    """A deterministic stand-in for MiniLM: a unit vector seeded by each sentence's hash."""

    def __init__(self):
        self.calls = 0

    def __call__(self, sentences):
        self.calls += 1
        out = np.empty((len(sentences), sentences_mod.DIM), np.float32)
        for i, s in enumerate(sentences):
            seed = int.from_bytes(hashlib.sha256(s.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(sentences_mod.DIM)
            out[i] = v / np.linalg.norm(v)
        return out


@pytest.fixture
def fake(monkeypatch, tmp_path):
    monkeypatch.setenv("DIFFLAB_CACHE", str(tmp_path / "cache"))
    f = FakeEmbedder()
    monkeypatch.setattr(sentences_mod, "embed_sentences", f)
    return f


def sixty_sentences():
    subjects = ["The old dog", "A young cat", "My neighbour", "The teacher", "A tired pilot"]
    actions = ["sleeps", "reads a book", "sings loudly", "walks slowly"]
    places = ["in the garden.", "at the station.", "near the river."]
    return [f"{s} {a} {p}" for s in subjects for a in actions for p in places]       # 5 * 4 * 3 = 60


def test_fortune_parser_keeps_short_quotations_without_attributions(tmp_path):
    got = sentences_mod.parse_fortunes(FORTUNES)
    assert got == ["A day for firm decisions!!!!! Or is it?",
                   "Abandon the search for Truth; settle for a good fantasy.",
                   "ABANDON the search for truth; settle for a good fantasy.",
                   "The first line of a quotation that runs over two lines.",
                   "Bold words of an old terminal, underlined and bold."]
    (tmp_path / "quotes").write_text(FORTUNES)
    (tmp_path / "quotes.dat").write_bytes(b"\x00\x01 index")          # strfile's index: not a fortune file
    (tmp_path / "quotes.u8").symlink_to(tmp_path / "quotes")
    assert [p.name for p in sentences_mod.fortune_files(tmp_path)] == ["quotes"]
    corpus = sentences_mod.read_fortune_corpus(tmp_path)
    assert len(corpus) == 4 and "ABANDON" not in " ".join(corpus)        # the case-folded duplicate is dropped
    assert sentences_mod.dedupe(['"...all good, here."', "... All good here!", "all good there"]) == [
        '"...all good, here."', "all good there"]                          # punctuation and spaces do not count


def test_sentences_dataset_from_a_fortune_folder(tmp_path, fake, monkeypatch):
    lines = "\n%\n".join(f"Quotation number {i} is about something else." for i in range(30))
    (tmp_path / "quotes").write_text(lines + "\n%\n")
    ds = get_dataset("sentences", data_dir=str(tmp_path), seed=1)
    assert ds.kind == "text" and ds.train.shape == (24, 384) and ds.test.shape == (6, 384)
    assert len(ds.sentences_train) == 24 and set(ds.sentences_train).isdisjoint(ds.sentences_test)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DifflabError, match="no fortune files found.*empty"):
        sentences_mod.sentences(data_dir=str(empty))
    (empty / "notes").write_text("a list\nof\nfour\nlines\n")
    with pytest.raises(DifflabError, match="no quotations in the fortune format"):
        sentences_mod.sentences(data_dir=str(empty))
    (empty / "notes").unlink()
    monkeypatch.setattr(sentences_mod, "FORTUNE_DIRS", (tmp_path / "nowhere",))
    with pytest.raises(DifflabError, match="apt-get install fortunes.*text:FILE"):
        get_dataset("sentences")


def test_text_file_split_and_one_scale(tmp_path, fake):
    path = tmp_path / "mine.txt"
    path.write_text("\n".join(sixty_sentences()[:40]) + "\n\n   \n", encoding="utf-8")
    ds = get_dataset(f"text:{path}", seed=3)
    assert ds.train.shape == (32, 384) and ds.test.shape == (8, 384) and ds.train.dtype == np.float32
    emb = dict(zip(ds.sentences_train, ds.train))
    assert np.array_equal(emb[ds.sentences_train[0]], fake([ds.sentences_train[0]])[0])   # rows stay with their sentence
    assert len(np.unique(ds.normaliser.scale)) == 1
    xn = ds.normalise(ds.train.astype(np.float64))
    assert np.allclose(xn.mean(0), 0, atol=1e-6) and np.mean(xn**2) == pytest.approx(1.0, rel=1e-6)
    same = get_dataset(f"text:{path}", seed=3)
    assert same.sentences_test == ds.sentences_test and np.array_equal(same.test, ds.test)
    assert get_dataset(f"text:{path}", seed=4).sentences_test != ds.sentences_test
    assert get_dataset(f"text:{path}", n_train=10, n_test=5).train.shape == (10, 384)


@pytest.mark.parametrize("content", [b"", b"\n   \n\t\n"], ids=["empty", "blank-only"])
def test_text_file_without_sentences_is_refused(tmp_path, fake, content):
    path = tmp_path / "nothing.txt"
    path.write_bytes(content)
    with pytest.raises(DifflabError, match=r"nothing\.txt holds no sentences"):
        get_dataset(f"text:{path}")
    assert fake.calls == 0


def test_text_file_errors_name_the_file(tmp_path, fake):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("first line\ncaf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(DifflabError, match=r"latin1\.txt is not UTF-8 text.*line 2"):
        get_dataset(f"text:{bad}")
    with pytest.raises(DifflabError, match="not found"):
        get_dataset(f"text:{tmp_path / 'absent.txt'}")
    few = tmp_path / "few.txt"
    few.write_text("one sentence\nanother one\n")
    with pytest.raises(DifflabError, match="only 2 sentences"):
        get_dataset(f"text:{few}")
    with pytest.raises(DifflabError, match="give a path"):
        get_dataset("text:")


def test_embeddings_are_cached(tmp_path, fake):
    path = tmp_path / "mine.txt"
    path.write_text("\n".join(sixty_sentences()))
    first = get_dataset(f"text:{path}")
    assert fake.calls == 1
    files = list((tmp_path / "cache" / "embeddings").glob("*.npy"))
    assert len(files) == 1 and np.load(files[0]).shape == (60, 384)
    second = get_dataset(f"text:{path}", seed=5)              # another split of the same sentences: same file
    assert fake.calls == 1 and np.array_equal(np.sort(first.train, 0), np.sort(np.concatenate([
        second.train, second.test])[np.isin(second.sentences_train + second.sentences_test, first.sentences_train)], 0))
    path.write_text("\n".join(sixty_sentences()[:-1]))        # other text: embedded again
    get_dataset(f"text:{path}")
    assert fake.calls == 2
    files[0].write_bytes(b"not an array")                     # a damaged file is recomputed
    path.write_text("\n".join(sixty_sentences()))
    assert np.array_equal(get_dataset(f"text:{path}").train, first.train) and fake.calls == 3


def test_nearest_sentences_and_their_file(tmp_path):
    ref = np.eye(4, 384, dtype=np.float32)                      # four orthogonal embeddings
    names = ["north", "east", "south", "west"]
    x = np.zeros((2, 384), np.float32)
    x[0, :3] = [4.0, 3.0, 0.0]                                  # cos 0.8 with north, 0.6 with east
    x[1, :4] = [0.0, 0.0, -1.0, 1.0]                            # cos 0.707 with west, -0.707 with south
    sims, idx = nearest_cosines(x, ref, k=3)
    assert idx[0, :2].tolist() == [0, 1] and sims[0, :2] == pytest.approx([0.8, 0.6])
    assert idx[1, 0] == 3 and sims[1, 0] == pytest.approx(1 / math.sqrt(2), rel=1e-6)
    text = nearest_table(x, ref, names, k=2)
    assert text.splitlines()[:3] == ["sample 0", "  0.800  north", "  0.600  east"]
    path = write_nearest(tmp_path / "s_nearest.txt", x, ref, names)
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# the 3 nearest training sentences of each of 2") and len(lines) == 1 + 2 * 4
    assert TextKind().extra_outputs(tmp_path / "s.npy") == [tmp_path / "s_nearest.txt"]


def exact_moments(mean, cov, n, seed):
    z = np.random.default_rng(seed).standard_normal((n, len(mean)))
    z -= z.mean(0)
    z = np.linalg.solve(np.linalg.cholesky(np.cov(z, rowvar=False)), z.T).T
    return mean + z @ np.linalg.cholesky(cov).T


def test_frechet_distance_known_cases():
    d = 6
    cov = np.diag(np.linspace(0.5, 2.0, d))
    shift = np.full(d, 0.5)
    a, b = exact_moments(np.zeros(d), cov, 300, 0), exact_moments(shift, cov, 200, 1)
    assert frechet_distance(a, b) == pytest.approx(shift @ shift, rel=1e-8)        # |m|^2
    c = exact_moments(np.zeros(d), 4 * cov, 250, 2)
    assert frechet_distance(a, c) == pytest.approx(np.trace(cov), rel=1e-8)        # (sqrt(4) - 1)^2 tr(S)
    assert frechet_distance(a, a[::-1]) == pytest.approx(0.0, abs=1e-9)


class Blob:
    """A stand-in for a SentenceDataset: train/test from one Gaussian cloud in 384-D."""

    shape = (384,)

    def __init__(self, n_train=600, n_test=300, seed=0):
        rng = np.random.default_rng(seed)
        self.direction = rng.standard_normal(384)
        draw = lambda n: 2 * self.direction + rng.standard_normal((n, 384)) * np.linspace(0.2, 1.0, 384)
        self.train, self.test, self.draw = draw(n_train), draw(n_test), draw


def test_text_evaluation_against_its_references():
    ds = Blob()
    rng = np.random.default_rng(0)
    good = evaluate_embeddings(ds.draw(200), ds, rng, n_pairs=5)
    f = good["metrics"]["frechet"]
    assert len(f["floor_values"]) == 5 and f["floor_median"] > 0 and f["value"] < 2 * f["floor_p95"]
    assert good["nearest_cosine"]["samples_mean"] == pytest.approx(good["nearest_cosine"]["test_mean"], abs=0.02)
    shifted = evaluate_embeddings(ds.draw(200) + 0.5, ds, rng, n_pairs=5)
    assert not shifted["metrics"]["frechet"]["within_floor"]
    assert shifted["metrics"]["frechet"]["value"] > 384 * 0.25 * 0.8           # at least most of |0.5 * 1|^2
    copies = evaluate_embeddings(ds.train[:200], ds, rng, n_pairs=5)           # memorised training points
    mem = copies["memorisation"]
    assert mem["samples_share"] == 1.0 and mem["reference_share"] < 0.05 and good["memorisation"]["samples_share"] < 0.05
    text = format_text_result(copies)
    assert "Frechet distance" in text and "100.00%" in text
    json.dumps(copies)


def test_denoise_report_and_input(tmp_path, fake):
    hooks = TextKind()
    clean = fake(["a", "b", "c"])
    report = hooks.denoise_report(clean, clean + 0.1, clean * 2)
    assert "noisy" in report and report.endswith("restored 1.000")

    class FakeRun:
        shape = (384,)

    np.save(tmp_path / "e.npy", clean)
    assert np.array_equal(hooks.read_input(tmp_path / "e.npy", FakeRun()), clean)
    np.save(tmp_path / "wrong.npy", clean[:, :10])
    with pytest.raises(DifflabError, match=r"wrong\.npy.*\(N, 384\)"):
        hooks.read_input(tmp_path / "wrong.npy", FakeRun())
    (tmp_path / "s.txt").write_text("a\n\nb\nc\n")
    assert np.array_equal(hooks.read_input(tmp_path / "s.txt", FakeRun()), clean)


def cli(*args):
    return main([str(a) for a in args])


def run_cli_pipeline(tmp_path, capsys):
    """train -> sample (+ nearest file, --plot) -> evaluate -> denoise on a text: file of 60 sentences."""
    text = tmp_path / "sixty.txt"
    text.write_text("\n".join(sixty_sentences()) + "\n")
    run = tmp_path / "run"
    assert cli("train", f"text:{text}", "--out", run, "--steps", 30, "--seed", 0, *TINY) == 0
    assert json.loads((run / "config.json").read_text()).get("data", f"text:{text}") == f"text:{text}"
    out = tmp_path / "s.npy"
    assert cli("sample", run, "--n", 20, "--sampler", "ddim", "--steps", 10, "--out", out, "--plot") == 0
    assert np.load(out).shape == (20, 384)
    nearest = (tmp_path / "s_nearest.txt").read_text().splitlines()
    assert len(nearest) == 1 + 20 * 4 and nearest[2].split("  ", 2)[2] in sixty_sentences()
    assert (tmp_path / "s_embeddings.png").stat().st_size > 0
    assert cli("evaluate", run, "--samples", out) == 0
    m = json.loads((run / "metrics.json").read_text())
    assert m["kind"] == "text" and "floor_p95" in m["metrics"]["frechet"] and "memorisation" in m
    assert cli("denoise", run, "--input", text, "--sigma", 0.02, "--out", tmp_path / "r.npy") == 0
    printed = capsys.readouterr().out
    assert "Frechet distance" in printed and "mean cosine similarity to the clean embeddings" in printed
    assert np.load(tmp_path / "r.npy").shape == (60, 384) and (tmp_path / "r_nearest.txt").exists()
    return printed


def test_cli_end_to_end_with_a_fake_embedder(tmp_path, capsys, fake):
    run_cli_pipeline(tmp_path, capsys)
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    code = cli("train", f"text:{empty}", "--out", tmp_path / "e", "--steps", 3, *TINY)
    err = capsys.readouterr().err
    assert code == 2 and "empty.txt holds no sentences" in err and "Traceback" not in err


def test_cli_end_to_end_with_the_real_model(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DIFFLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")                 # the model is read from its package's folder
    run_cli_pipeline(tmp_path, capsys)
    x = np.load(next((tmp_path / "cache" / "embeddings").glob("*.npy")))
    assert x.shape == (60, 384) and np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-4)   # MiniLM's unit vectors
    same = sentences_mod.embed_sentences(["The old dog sleeps in the garden.", "The old dog sleeps in the garden!",
                                          "A tired pilot walks slowly near the river."])
    assert same[0] @ same[1] > 0.9 > same[0] @ same[2]          # a real sentence model, not noise


def test_a_subset_uses_the_whole_corpus_cache_when_present(tmp_path, fake):
    path = tmp_path / "mine.txt"
    path.write_text("\n".join(sixty_sentences()))
    whole = get_dataset(f"text:{path}", seed=2)                # the whole file: embedded once, cached
    part = get_dataset(f"text:{path}", seed=2, n_train=5, n_test=4)
    assert fake.calls == 1 and np.array_equal(part.test, fake(part.sentences_test))
    rows = dict(zip(whole.sentences_train + whole.sentences_test, np.concatenate([whole.train, whole.test])))
    assert np.array_equal(part.train, np.stack([rows[s] for s in part.sentences_train]))
