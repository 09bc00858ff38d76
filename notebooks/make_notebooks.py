"""Write the notebooks of notebooks/: one per notebook of the two seed documents, all built from
the same cells so that they stay consistent. Run `python notebooks/make_notebooks.py` after a
change here; tests/test_notebooks.py runs every notebook in quick mode (DIFFLAB_QUICK=1).

Each notebook is a short tour of the Python API (difflab.train, run.sample, run.evaluate,
run.hooks.plot_samples / plot_reverse, difflab.denoise): the data, training with its loss curve,
samples beside the truth with their metrics and noise floors, the reverse process, and denoising
where the seed notebook does it.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = '''\
import os
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="IProgress not found")   # tqdm's notebook bars want ipywidgets
import numpy as np
from IPython.display import Image, display

import difflab
from difflab.data import get_dataset
from difflab.denoise import add_noise, denoise
from difflab.errors import DifflabError
from difflab.kind import kind_of
from difflab.model_card import write_model_card
from difflab.pictures import plot_training

QUICK = os.environ.get("DIFFLAB_QUICK") == "1"    # a few dozen training steps and small sizes (CI)
OUT = Path("runs") / "{stem}"                     # everything this notebook writes
OUT.mkdir(parents=True, exist_ok=True)
THREADS = 1 if QUICK else 0                       # 0: torch's default for convolutional networks


def show(paths):
    """Display the PNG pictures among `paths` (difflab's plotting hooks return the files they write)."""
    for p in paths:
        if str(p).endswith(".png"):
            display(Image(filename=str(p)))


def available(name, **options):
    """True when a built-in dataset can be read here; otherwise says why."""
    try:
        get_dataset(name, **options)
        return True
    except (DifflabError, ImportError) as e:
        print(f"{{name}} is not available here: {{e}}")
        return False
'''

DATA_CELL = '''\
ds = get_dataset(DATA, **DATA_OPTIONS)
print(ds.description)
print(f"train {{ds.train.shape}}, test {{ds.test.shape}}; truth sampler: {{ds.info()['truth_sampler']}}, "
      f"exact log-density: {{ds.info()['exact_log_density']}}")
show([kind_of(ds.kind).plot_split(ds, OUT / "data.png")])
'''

TRAIN_CELL = '''\
run = difflab.train(DATA, method=METHOD, out=OUT / "run", steps=STEPS, seed=0, overwrite=True, progress=False,
                    threads=THREADS, set=SETTINGS, **({{"data_options": DATA_OPTIONS}} if DATA_OPTIONS else {{}}))
print(f"{{run.info['steps_done']}} steps in {{run.train_seconds:.1f}} s; process {{run.info['process']}}")
show(plot_training(run.path))       # the data split and the train / test loss per epoch
'''

SAMPLE_CELL = '''\
result = run.sample_with_info(N_SAMPLES, seed=1, **SAMPLE_OPTIONS)
print(f"{{len(result.samples)}} samples by {{result.sampler}} ({{result.steps}} steps, {{result.nfe}} network "
      f"evaluations each) in {{result.seconds:.1f}} s")
show(run.hooks.plot_samples(run, result.samples, OUT / "samples"))
'''

METRICS_CELL = '''\
if QUICK and run.kind in ("image", "audio"):
    print("quick mode: the image and audio metrics use a feature classifier trained on first use; "
          "run without DIFFLAB_QUICK to measure them")
else:
    metrics = run.evaluate(result.samples, seed=0)
    print(run.hooks.format_result(metrics))      # each figure beside its noise floor
'''

REVERSE_CELL = '''\
show(run.hooks.plot_reverse(run, OUT / "reverse", N_REVERSE, seed=2, **SAMPLE_OPTIONS))
'''

DENOISE_CELL = '''\
clean = DENOISE_INPUT(run)                      # items in the data's own units
noisy = add_noise(clean, SIGMA, seed=0)
restored = run.hooks.finish(run, denoise(run, noisy, SIGMA))     # one step: the posterior mean (Tweedie)
print(run.hooks.denoise_report(clean, noisy, restored))
rows = [("clean", clean), ("noisy", noisy), ("restored", restored)]
show(run.hooks.write_denoised(run, rows, OUT / "denoised.npy", f"{{run.dataset_name}}: denoising at sigma {{SIGMA}}"))
'''

CARD_CELL = '''\
print("\\n".join(write_model_card(run.path)[0].read_text().splitlines()[:12]))   # the run folder's README.md
'''


def params(**values) -> str:
    """A cell of settings, each `NAME = value` (source text) on its own line."""
    return "\n".join(f"{k} = {v}" for k, v in values.items()) + "\n"


def tour(stem: str, title: str, intro: str, settings: str, *, prepare: str = "", denoise: str = "",
         notes: str = "", extra: str = "") -> nbformat.NotebookNode:
    """The usual notebook: data, training, samples and metrics, the reverse process, denoising."""
    cells = [new_markdown_cell(f"# {title}\n\n{intro}\n\nSet `DIFFLAB_QUICK=1` for a quick run (a few dozen "
                               "training steps, small sizes): the pictures then show the pipeline, not a good model."),
             new_code_cell(SETUP.format(stem=stem))]
    if prepare:
        cells.append(new_code_cell(prepare))
    cells += [new_markdown_cell("## Settings"), new_code_cell(settings),
              new_markdown_cell("## The data"), new_code_cell(DATA_CELL.format()),
              new_markdown_cell("## Training\n\nThe loss per epoch on the training split and on the test split."),
              new_code_cell(TRAIN_CELL.format()),
              new_markdown_cell("## Samples beside the truth\n\nEvery figure stands beside its **noise floor**: the "
                                "same figure between two samples of the truth of the same size."),
              new_code_cell(SAMPLE_CELL.format()), new_code_cell(METRICS_CELL.format()),
              new_markdown_cell("## The reverse process\n\nFrom pure noise (left / top) to samples."),
              new_code_cell(REVERSE_CELL.format())]
    if denoise:
        cells += [new_markdown_cell("## Denoising\n\nTest items with Gaussian noise added, restored by the "
                                    "trained model."), new_code_cell(denoise), new_code_cell(DENOISE_CELL.format())]
    if notes:
        cells += [new_markdown_cell(notes), new_code_cell(extra)]
    cells += [new_markdown_cell("## The run folder\n\nA model card (README.md) with the settings, the metrics and "
                                "how to load the model, plus diffusers' `scheduler_config.json` for DDPM runs."),
              new_code_cell(CARD_CELL.format())]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                "language": "python"}})


def vector(stem, title, intro, data, *, method='"ddpm"', options="{}", steps="3000", n="2000", settings="{}",
           sample='{"steps": 100} if QUICK else {}', notes=""):
    return tour(stem, title, intro, params(
        DATA=f'"{data}"', DATA_OPTIONS=options, METHOD=method,
        STEPS=f"40 if QUICK else {steps}",
        SETTINGS=f'{{"network.width": 64, "network.depth": 2}} if QUICK else {settings}',
        N_SAMPLES=f"500 if QUICK else {n}", N_REVERSE="200 if QUICK else 2000", SAMPLE_OPTIONS=sample), notes=notes)


# -- the seed "2D generative modelling": dataset generators, DDPM, DSM --------------------------------

def datasets_notebook() -> nbformat.NotebookNode:
    stem = "2d_1_dataset_generators"
    cells = [
        new_markdown_cell("# Dataset generators\n\nThe 2D datasets of the first seed document, Pinwheel and "
                          "Gaussian mixtures, drawn by difflab with 2000 training and 500 test points. Each "
                          "knows its truth: fresh samples, and for these two the exact log-density, which is "
                          "what puts every metric beside a noise floor."),
        new_code_cell(SETUP.format(stem=stem)),
        new_code_cell(params(DATASETS='[("pinwheel", {}), ("gmm", {}), ("gmm", {"preset": "grid25"})]')),
        new_markdown_cell("## Train and test splits"),
        new_code_cell('''\
for name, options in DATASETS:
    ds = get_dataset(name, seed=0, **options)
    label = name + ("-" + options["preset"] if options else "")
    print(f"{label}: {ds.description}; train {ds.train.shape}, test {ds.test.shape}")
    show([kind_of(ds.kind).plot_split(ds, OUT / f"{label}.png")])
    np.savez(OUT / f"{label}.npz", train=ds.train, test=ds.test)   # the files `difflab train FILE.npz` reads
'''),
        new_markdown_cell("## The truth: fresh samples and the exact log-density\n\nThe noise floor of a metric is "
                          "its value between two independent truth samples of the same size."),
        new_code_cell('''\
from difflab.eval.two_sample import energy_distance

ds = get_dataset("pinwheel", seed=0)
rng = np.random.default_rng(0)
a, b = ds.sample(500, rng), ds.sample(500, rng)
print(f"mean log-density of the test points: {ds.log_prob(ds.test).mean():.3f}")
print(f"energy distance between two truth samples of 500 (a noise floor draw): {energy_distance(a, b):.4f}")
print(f"energy distance between the test set and a truth sample:                {energy_distance(ds.test, a):.4f}")
'''),
        new_markdown_cell("## Your own data\n\nAny `.npy` / `.csv` of shape (N, d) or an `.npz` with `train` and "
                          "`test` arrays trains the same way: `difflab.train(\"runs/.../pinwheel.npz\")`."),
        new_code_cell('''\
mine = get_dataset(str(OUT / "pinwheel.npz"))
print(mine.description, mine.train.shape, mine.test.shape)
'''),
    ]
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                "language": "python"}})


def method_notebook(stem, method, title, intro, sample='{"steps": 100} if QUICK else {}', notes="", extra=""):
    """DDPM or DSM on Pinwheel and the Gaussian mixture, as the seed trains them (2000 / 500 points)."""
    nb = tour(stem, title, intro, params(
        DATASETS='["pinwheel", "gmm"]', DATA='DATASETS[0]', DATA_OPTIONS="{}", METHOD=f'"{method}"',
        STEPS="40 if QUICK else 3000",
        SETTINGS='{"network.width": 64, "network.depth": 2} if QUICK else {}',
        N_SAMPLES="500 if QUICK else 2000", N_REVERSE="200 if QUICK else 2000", SAMPLE_OPTIONS=sample), notes=notes,
        extra=extra)
    nb.cells += [new_markdown_cell("## The second dataset\n\nThe same steps on the Gaussian mixture."),
                 new_code_cell('''\
DATA = DATASETS[1]
OUT = Path("runs") / "{stem}" / DATA
run = difflab.train(DATA, method=METHOD, out=OUT / "run", steps=STEPS, seed=0, overwrite=True, progress=False,
                    threads=THREADS, set=SETTINGS)
show(plot_training(run.path))
result = run.sample_with_info(N_SAMPLES, seed=1, **SAMPLE_OPTIONS)
show(run.hooks.plot_samples(run, result.samples, OUT / "samples"))
print(run.hooks.format_result(run.evaluate(result.samples, seed=0)))
'''.replace("{stem}", stem))]
    return nb


# -- the seed "diffusion models over ten datasets" ------------------------------------------------------

IMAGE_QUICK = ('{"network.name": "unet", "network.base_channels": 8, "network.channel_mults": [1, 2], "network.attention_resolutions": [], '
               '"n_train": 256, "n_test": 64, "batch_size": 16, "test_loss_points": 64}')

CIFAR_PREPARE = '''\
DATA_OPTIONS = {}
if QUICK or not available("cifar10"):
    # Stand-in files in CIFAR-10's binary format (1 label byte + 3072 pixel bytes per image), cut from
    # scikit-image's sample photos, so that the reader, the training and the pictures all run offline.
    print("using stand-in files in the CIFAR-10 binary format (32x32 crops of sample photographs), not CIFAR-10")
    try:
        photos = get_dataset("photos", n_train=320, n_test=64, seed=0)
        images = {"train": (photos.train, photos.labels_train), "test": (photos.test, photos.labels_test)}
    except (DifflabError, ImportError) as e:                # the photos need scikit-image
        print(f"(no sample photographs: {e}; the stand-in images are random pixels)")
        rng = np.random.default_rng(0)
        images = {split: (rng.random((n, 3, 32, 32)), rng.integers(0, 10, n)) for split, n in (("train", 320), ("test", 64))}
    folder = OUT / "cifar-10-batches-bin"
    folder.mkdir(exist_ok=True)
    def records(x, y):
        pixels = np.round(np.asarray(x) * 255).astype(np.uint8).reshape(len(x), -1)
        return b"".join(bytes([int(label)]) + row.tobytes() for row, label in zip(pixels, y))
    (x, y), (x_test, y_test) = images["train"], images["test"]
    for i, idx in enumerate(np.array_split(np.arange(len(x)), 5), start=1):
        (folder / f"data_batch_{i}.bin").write_bytes(records(x[idx], y[idx]))
    (folder / "test_batch.bin").write_bytes(records(x_test, y_test))
    DATA_OPTIONS = {"data_dir": str(OUT)}
'''

MNIST_PREPARE = '''\
DATA, DATA_OPTIONS = "mnist", {}
if not available("mnist"):
    print("MNIST's files are not here (see `difflab datasets`): this notebook uses the synthetic 8x8 `shapes` instead")
    DATA = "shapes"
'''

AUDIO_DENOISE = '''\
# noise of std 0.05 on a [-1, 1] waveform. A spectrogram run (the fsdd preset) cannot take clips directly:
# its kind's restore denoises the log magnitude and keeps the noisy phase (a waveform run: denoise as it is)
denoise_in_model_domain = denoise
denoise = lambda run, noisy, sigma: run.hooks.restore(run, noisy, sigma, denoise_in_model_domain)
'''

AUDIO_PREPARE = '''\
DATA, DATA_OPTIONS = "fsdd", ({"length": 1024} if QUICK else {})
if not available("fsdd"):
    print("the spoken digits (fsdd) are not here: this notebook uses the synthetic `tones` instead")
    DATA, DATA_OPTIONS = "tones", {}
'''

TEXT_PREPARE = '''\
DATA, DATA_OPTIONS = "sentences", {}
if QUICK or not available("sentences"):
    # a small corpus of its own (the fortune corpus takes minutes to embed): one sentence per line
    rng = np.random.default_rng(0)
    who = ["The cat", "A dog", "My neighbour", "The old sailor", "A child", "The teacher", "Our robot", "The poet"]
    does = ["sleeps", "sings", "reads", "runs", "waits", "laughs", "writes", "dreams"]
    where = ["in the garden", "by the sea", "at night", "under the bridge", "in the kitchen", "on the hill"]
    lines = sorted({f"{a} {b} {c}." for a in who for b in does for c in where})
    path = OUT / "sentences.txt"
    lines = rng.permutation(lines)[:200 if QUICK else None]
    path.write_text("\\n".join(lines) + "\\n")
    print(f"using {path}: {len(lines)} short sentences written here" + ("" if QUICK else " (the fortune corpus is absent)"))
    DATA = f"text:{path}"
try:
    import sentence_transformers  # noqa: F401   the embedding model (pip install -e ".[text]")
    TEXT_OK = True
except ImportError:
    TEXT_OK = False
    print("sentence-transformers is not installed (pip install -e '.[text]'): the cells below are skipped")
'''


def text_notebook():
    """Like `tour`, but every cell after the settings is skipped when the embedding model is missing."""
    nb = tour("10_09_text_embeddings", "Text embeddings",
              "Seed notebook 09: sentences as 384-D all-MiniLM-L6-v2 embeddings, generated by DDPM and "
              "denoised; each generated embedding is shown with its nearest real sentences.",
              params(METHOD='"ddpm"', STEPS="40 if QUICK else None",
                     SETTINGS='{"network.width": 128, "network.depth": 2, "n_test": 40} if QUICK else '
                              '{"network.width": 512, "network.depth": 4, "network.fourier": 0, "lr": 0.001, '
                              '"lr_warmup": 200}                      # the `sentences` preset\'s network',
                     N_SAMPLES="100 if QUICK else 2000", N_REVERSE="0", SAMPLE_OPTIONS="{}",
                     SIGMA="0.05", DENOISE_INPUT="lambda run: run.dataset.test[:50]"),
              prepare=TEXT_PREPARE, denoise="# noise of std 0.05 per coordinate: a unit vector in 384-D has "
                                            "coordinates of about 0.05",
              notes="The nearest real sentences of the first generated embeddings:", extra='''\
for path in run.hooks.write_outputs(run, result.samples[:3], OUT / "generated.npy"):
    print(path.read_text()[:1200])
''')
    for cell in nb.cells[4:]:
        if cell.cell_type == "code":
            lines = cell.source.splitlines()
            if all(line.startswith("#") for line in lines):
                lines.append("pass")
            cell.source = "if TEXT_OK:\n" + "\n".join("    " + line if line else line for line in lines) + "\n"
    return nb


def notebooks() -> dict[str, nbformat.NotebookNode]:
    return {
        "2d_1_dataset_generators": datasets_notebook(),
        "2d_2_ddpm": method_notebook(
            "2d_2_ddpm", "ddpm", "DDPM on 2D data",
            "The seed's DDPM: a linear beta schedule over 1000 steps, an eps-predicting network, ancestral "
            "sampling; on Pinwheel and a Gaussian mixture with 2000 training and 500 test points."),
        "2d_3_dsm": method_notebook(
            "2d_3_dsm", "dsm", "Denoising score matching on 2D data",
            "The seed's DSM: a geometric ladder of noise levels, the score learnt with several noise draws per "
            "sample (`n_noise`, lower-variance loss); sampled here by its default, ancestral sampling down the "
            "100 noise levels (100 network evaluations; `sampler=\"dpm-solver\"` is the fast ODE choice). The seed's "
            "annealed Langevin dynamics is `sampler=\"langevin\"`.",
            sample="{}",
            notes="The seed's sampler, annealed Langevin dynamics (5 steps per noise level), on the same network:",
            extra='''\
langevin = run.sample_with_info(N_SAMPLES, seed=1, sampler="langevin", **({"steps": 20} if QUICK else {}))
print(f"langevin: {langevin.nfe} network evaluations per sample, {langevin.seconds:.1f} s")
show(run.hooks.plot_samples(run, langevin.samples, OUT / "langevin", label="pinwheel / dsm, langevin"))
print(run.hooks.format_result(run.evaluate(langevin.samples, seed=0)))
'''),
        "10_01_normal_1d": vector("10_01_normal_1d", "A 1D normal distribution",
                                  "Seed notebook 01: N(1, 0.5^2), the simplest check of the whole pipeline.",
                                  "normal1d"),
        "10_02_normal_2d": vector("10_02_normal_2d", "A 2D normal distribution",
                                  "Seed notebook 02: a correlated 2D Gaussian.", "normal2d"),
        "10_03_gmm": vector("10_03_gmm", "A Gaussian mixture",
                            "Seed notebook 03: eight Gaussian modes on a ring, a test of multi-modal data "
                            "(mode coverage and weights are measured).", "gmm"),
        "10_04_normal_nd": vector("10_04_normal_nd", "A multi-dimensional normal distribution",
                                  "Seed notebook 04: a 16-D Gaussian with a full covariance; the exact Frechet "
                                  "distance of the samples' moments to the truth's is measured, pairwise "
                                  "marginals are drawn.", "normal-nd", options='{"d": 16}',
                                  settings='{"batch_size": 1024, "fresh_data": True}'),
        "10_05_mnist": tour("10_05_mnist", "MNIST digits",
                            "Seed notebook 05: handwritten digits with a small class-conditional UNet (the "
                            "`mnist` preset), samples of every digit, the reverse process and denoising.",
                            params(METHOD='"ddpm"', STEPS="30 if QUICK else None", SETTINGS=f'{IMAGE_QUICK} if QUICK else {{"network.name": "unet"}}',
                                   N_SAMPLES="20 if QUICK else 100", N_REVERSE="8",
                                   SAMPLE_OPTIONS='{"sampler": "ddim", "steps": 20} if QUICK else {}',
                                   SIGMA="0.2", DENOISE_INPUT="lambda run: run.dataset.test[:8]"),
                            prepare=MNIST_PREPARE, denoise="# noise of std 0.2 in [0, 1] pixel units"),
        "10_06_spiral": vector("10_06_spiral", "A spiral", "Seed notebook 06: two interleaved spiral arms, thin "
                               "non-linear structure.", "spiral"),
        "10_07_cifar10": tour("10_07_cifar10", "CIFAR-10",
                              "Seed notebook 07: small RGB images with the `cifar10` preset's UNet, and denoising. "
                              "Where CIFAR-10's files are absent (and in quick mode) the notebook writes stand-in "
                              "files in CIFAR-10's own binary format and reads them through the same reader.",
                              params(DATA='"cifar10"', METHOD='"ddpm"', STEPS="30 if QUICK else 3000",
                                     SETTINGS=f"{IMAGE_QUICK} if QUICK else {{}}",
                                     N_SAMPLES="20 if QUICK else 100", N_REVERSE="8",
                                     SAMPLE_OPTIONS='{"sampler": "ddim", "steps": 20} if QUICK else {}',
                                     SIGMA="0.1", DENOISE_INPUT="lambda run: run.dataset.test[:8]"),
                              prepare=CIFAR_PREPARE, denoise="# noise of std 0.1 in [0, 1] pixel units"),
        "10_08_audio": tour("10_08_audio", "Audio",
                            "Seed notebook 08: spoken digits (FSDD) as log-magnitude spectrograms with the image "
                            "UNet (the `fsdd` preset; Griffin-Lim turns them back into clips; in quick mode "
                            "waveforms with a tiny 1D UNet), samples as WAV files, waveforms and spectrograms, and "
                            "denoising measured in SNR.",
                            params(METHOD='"ddpm"', STEPS="20 if QUICK else None",
                                   SETTINGS='{"network": {"name": "unet1d", "base_channels": 8, "channel_mults": [1, 2], '
                                            '"attention": False}, "n_train": 64, "n_test": 16, "batch_size": 8, '
                                            '"test_loss_points": 16} if QUICK else {}',
                                   N_SAMPLES="8 if QUICK else 100", N_REVERSE="3",
                                   SAMPLE_OPTIONS='{"sampler": "ddim", "steps": 20} if QUICK else {}',
                                   SIGMA="0.05", DENOISE_INPUT="lambda run: run.dataset.waveforms().test[:4]"),
                            prepare=AUDIO_PREPARE, denoise=AUDIO_DENOISE),
        "10_09_text_embeddings": text_notebook(),
        "10_10_game_states": tour("10_10_game_states", "Game states",
                                  "Seed notebook 10: every tic-tac-toe position reachable in play, as vectors "
                                  "of -1 / 0 / 1, learnt by DDPM as numbers (`method=\"ddpm\"`; the `tictactoe` preset itself is "
                                  "masked diffusion, `--config tictactoe-gaussian` the tuned Gaussian recipe); samples "
                                  "decoded to boards and checked "
                                  "against the rules, and noisy boards reconstructed.",
                                  params(DATA='"tictactoe"', DATA_OPTIONS="{}", METHOD='"ddpm"',
                                         STEPS="40 if QUICK else None",
                                         SETTINGS='{"network.width": 64, "network.depth": 2} if QUICK else {}',
                                         N_SAMPLES="200 if QUICK else 2000", N_REVERSE="200",
                                         SAMPLE_OPTIONS='{"steps": 50} if QUICK else {}',
                                         SIGMA="0.4", DENOISE_INPUT="lambda run: run.dataset.test[:200]"),
                                  denoise="# noise of std 0.4 on cells of -1 / 0 / 1; restored boards are "
                                          "decoded by rounding"),
    }


def main(argv=None) -> None:
    """Write every notebook whose cells changed; one whose cells are unchanged keeps its outputs."""
    for stem, nb in notebooks().items():
        path = HERE / f"{stem}.ipynb"
        nbformat.validate(nb)
        if path.is_file():
            old = nbformat.read(path, as_version=4)
            if [(c.cell_type, c.source) for c in old.cells] == [(c.cell_type, c.source) for c in nb.cells]:
                continue
        nbformat.write(nb, path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
