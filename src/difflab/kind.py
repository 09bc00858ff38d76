"""What changes with the kind of data once a model exists: how samples are finished, written,
pictured and measured, and how `denoise` reads its input.

Each kind of data is one package under `difflab.kinds` (vector, image, audio, text, board) that
holds its datasets and readers, its metrics, its pictures and one subclass of `Kind`,
registered with `@register_kind`. The layers below the kinds (run, denoise, study, training,
data, eval, viz) never import a kind and never test which kind a run holds: they ask
`kind_of(run.kind)` for its hooks. `difflab/__init__.py` imports `difflab.kinds`, so any use of
the package has every kind registered.

The base class is the behaviour of plain vectors (points, embeddings); a kind overrides what
differs:

    data_range, clip_by_default   the box of every raw value, and whether samples keep x0_hat in it
    clip_default(run)             clip_by_default for one run (audio: spectrogram runs clip, waveform runs do not)
    finish(run, samples)          raw samples -> what the user gets (images clipped, boards as ints)
    sample_shape(run)             the shape of one finished sample (default: the run's data shape)
    extra_outputs(out)            files that `difflab sample --out out.npy` writes beside the .npy
    write_outputs(run, samples, out, labels)   writes them (WAV files, an image grid); returns paths
    plot_split(ds, path)          the train and test split side by side
    plot_samples(run, samples, prefix, label)  samples beside the truth (`sample --plot`, the study)
    plot_reverse(run, prefix, n, seed, snapshots, **sample_kw)   the reverse process
    evaluate(samples, dataset, rng, n_pairs, floors)   the kind's metrics beside their floors
    format_result(result)         the CLI's text for an `evaluate` result
    read_input(path, run, noisy)  `difflab denoise --input`: a file -> data (N, *shape), noisy or clean
    restore(run, noisy, sigma, denoise_fn, **kw)  `difflab denoise`: what read_input gave, noised -> restored
                                  (default: denoise_fn, i.e. denoise.denoise, in the model's own domain)
    denoise_report(clean, noisy, restored)     one line of figures for `difflab denoise`
    write_denoised(run, rows, out, title)      the pictures `difflab denoise` writes beside its .npy
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import viz
from .errors import DifflabError, unknown_name
from .eval import evaluate_samples, format_metrics_table
from .viz._figure import new_figure, save

_REGISTRY: dict[str, "Kind"] = {}


class Kind:
    """Vector data (points, embeddings); the behaviour every other kind starts from."""

    name = "vector"
    data_range: tuple[float, float] | None = None    # (lo, hi) of every raw value, where the data is bounded
    clip_by_default = False                          # samples keep x0_hat inside data_range unless told not to
    denoises = False                                 # read_input is implemented: `difflab denoise` accepts it

    def finish(self, run, samples: np.ndarray) -> np.ndarray:
        """Samples in the data's units -> what `sample` returns: clipped to `data_range` when
        the kind clips by default."""
        if self.clip_by_default:
            return np.clip(samples, *self.data_range)
        return samples

    def clip_default(self, run) -> bool:
        """Whether `run`'s samples keep x0_hat inside data_range unless told otherwise: `clip_by_default`."""
        return self.clip_by_default

    def sample_shape(self, run) -> tuple:
        return tuple(run.shape)

    def extra_outputs(self, out: Path) -> list[Path]:
        return []

    def write_outputs(self, run, samples: np.ndarray, out: Path, labels=None) -> list[Path]:
        return []

    def plot_split(self, ds, path) -> Path:
        """points for vectors (histograms in 1D, scatters in 2D, a corner plot above)."""
        return Path(viz.plot_dataset(ds.train, ds.test, path, title=f"{ds.name}: train and test"))

    def plot_samples(self, run, samples: np.ndarray, prefix, label: str | None = None) -> list[Path]:
        """<prefix>_vs_test.png and, for 1D/2D data, <prefix>_density.png beside the true
        density (<prefix>_pairwise.png above 2D)."""
        ds = run.dataset
        name = label or f"{ds.name} / {run.config.method}"
        out = [viz.plot_samples_vs_reference(samples, ds.test, f"{prefix}_vs_test.png",
                                             title=f"{name}: samples beside the test set")]
        if ds.dim <= 2:
            log_prob = ds.log_prob if ds.has_log_prob else None
            out.append(viz.plot_density(samples, f"{prefix}_density.png", title=f"{name}: density of samples vs truth",
                                        log_prob=log_prob, reference=ds.test))
        else:
            out.append(viz.plot_pairwise(samples, ds.test, f"{prefix}_pairwise.png",
                                         title=f"{name}: pairwise marginals"))
        return [Path(p) for p in out]

    def plot_reverse(self, run, prefix, n: int = 2000, seed: int = 0, snapshots=None, **sample_kw) -> list[Path]:
        """<prefix>.png (a strip of snapshots) and <prefix>.gif; `snapshots` from
        `Run.sample_with_snapshots` are drawn as they are instead of sampling again."""
        snaps = snapshots if snapshots is not None else run.reverse_snapshots(n, seed=seed, **sample_kw)
        title = f"{run.dataset_name} / {run.config.method}: reverse process ({sampler_name(run, sample_kw)})"
        return [Path(viz.plot_reverse_strip(snaps, f"{prefix}.png", title=title, log_ratios=log_ratios(run, snaps))),
                Path(viz.save_reverse_gif(snaps, f"{prefix}.gif", title=title))]

    def evaluate(self, samples: np.ndarray, dataset, rng: np.random.Generator, n_pairs: int = 10,
                 floors: dict | None = None) -> dict:
        return evaluate_samples(samples, dataset, rng, n_pairs=n_pairs, floors=floors)

    def format_result(self, result: dict) -> str:
        return format_metrics_table(result)

    def read_input(self, path, run, noisy: bool = False) -> np.ndarray:
        raise DifflabError(f"{run.path} holds {self.name} data ({run.dataset_name!r}); denoise restores "
                           f"{', '.join(k for k in kind_names() if kind_of(k).denoises)} data")

    def restore(self, run, noisy: np.ndarray, sigma: float, denoise_fn, **kw) -> np.ndarray:
        """Restore `noisy` (as `read_input` gives it, plus Gaussian noise of std `sigma`) with
        `denoise_fn(run, noisy, sigma, **kw)` (difflab.denoise.denoise, passed in by the caller:
        this layer sits below it). A kind whose model sees another representation of its input
        (audio as spectrograms) converts there and back."""
        return denoise_fn(run, noisy, sigma, **kw)

    def denoise_report(self, clean: np.ndarray, noisy: np.ndarray, restored: np.ndarray) -> str | None:
        return None

    def write_denoised(self, run, rows: list[tuple[str, np.ndarray]], out: Path, title: str) -> list[Path]:
        """`rows` are (label, data) for clean (when known), noisy and restored: by default the
        restored data's own outputs (`write_outputs`)."""
        return self.write_outputs(run, rows[-1][1], out)


def plot_split_panels(ds, path) -> Path:
    """Two panels, train and test, each drawn by the dataset's own `plot(ax, x)` (image grids,
    boards, embeddings): what kinds other than vectors use for `plot_split`."""
    fig = new_figure(10, 5.4)
    fig.suptitle(f"{ds.name}: train and test")
    for ax, (label, x) in zip(fig.subplots(1, 2), (("train", ds.train), ("test", ds.test))):
        ds.plot(ax, x)
        ax.set_title(f"{label} (N={len(x)})")
    return save(fig, path)


def log_ratios(run, snapshots) -> list[float] | None:
    """log(sigma / alpha) of each snapshot's time under the run's process (-inf at the data, t = 0
    of a VP process): where reverse pictures space their panels (viz.reverse.pick_levels). None for
    a categorical process (masked: no noise ratio), whose panels are spaced evenly in steps."""
    if getattr(run.process, "categorical", False):
        return None
    out = []
    for t, _ in snapshots:
        r = float(run.process.noise_ratio(float(t)))
        out.append(float(np.log(r)) if r > 0 else -np.inf)
    return out


def sampler_name(run, sample_kw: dict) -> str:
    """The sampler a reverse picture shows: the one asked for, else the run's own."""
    return sample_kw.get("sampler") or run.config.sampler


def register_kind(cls):
    """Class decorator: one instance of `cls` answers for `cls.name`."""
    _REGISTRY[cls.name] = cls()
    return cls


def kind_names() -> list[str]:
    return sorted(_REGISTRY)


def kind_of(name: str) -> Kind:
    """The hooks of a kind of data, by the name a run folder records."""
    if name not in _REGISTRY:
        raise unknown_name("kind of data", name, _REGISTRY)
    return _REGISTRY[name]
