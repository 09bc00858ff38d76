"""A trained run folder: load it safely, sample from it, evaluate samples against its data."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .clipping import clipped_denoiser, data_box
from .conditioning import check_guidance, labelled_denoiser, resolve_labels
from .config import FIELDS, Config, check_device, check_sampler_fits, check_setting_values, validate
from .data import Normaliser
from .data.categories import Categories
from .errors import DifflabError
from .files import load_json, load_tensors
from .kind import kind_of
from .pipeline import build_dataset, build_network, build_process
from .samplers import CountingDenoiser, get_sampler
from .samplers.registry import get_spec
from .samplers.times import sampler_times
from .utils import make_generator, pick_device


@dataclass
class SampleResult:
    samples: np.ndarray       # (N, *shape) in the data's own units
    nfe: int                  # network evaluations per sample
    seconds: float            # wall time of sampling
    sampler: str
    steps: int                # solver steps (transitions between times)


class Run:
    """`difflab.load(run_dir)`: the EMA network of a finished run with its process and data."""

    def __init__(self, path, device: str = "auto"):
        self.path = Path(path)
        if not (self.path / "config.json").is_file():
            raise DifflabError(f"{self.path} is not a difflab run folder (no config.json)")
        info = load_json(self.path / "config.json")
        if not (self.path / "model.safetensors").is_file():
            raise DifflabError(f"{self.path} has no model.safetensors: training did not finish "
                               "(resume it with `difflab train ... --resume`)")
        check_run_info(info, self.path / "config.json")
        self.info = info
        self.config = Config(**info["config"])
        try:
            validate(self.config, here=False)
        except DifflabError as e:
            raise DifflabError(f"{self.path / 'config.json'} is damaged: {e}") from None
        self.normaliser = Normaliser.from_dict(info["normaliser"], where=str(self.path / "config.json"))
        self.shape = tuple(info["dataset"]["shape"])
        if not all(broadcasts(a.shape, self.shape) for a in (self.normaliser.shift, self.normaliser.scale)):
            raise DifflabError(f"{self.path / 'config.json'} is damaged: its normaliser does not match the data's "
                               f"shape {self.shape}")
        check_device(device)                      # a device this machine lacks is a one-line error
        self.device = pick_device(device)
        self.process = build_process(info["process"])
        # what the process sees <-> the data's values: the normaliser, or categorical data's classes
        self.categories = Categories.from_dict(info["categories"], where=f"{self.path / 'config.json'} categories") \
            if "categories" in info else None
        self.decoder = self.normaliser if self.categories is None else self.categories
        self.kind = info["dataset"].get("kind", "vector")
        self.hooks = kind_of(self.kind)          # what differs with the kind of data (difflab/kind.py)
        self.n_classes = info["dataset"].get("n_classes") if self.config.class_conditional else None
        self.net = build_network(self.config, self.shape, self.process, n_classes=self.n_classes).to(self.device)
        weights = load_tensors(self.path / "model.safetensors")
        check_finite_weights(weights, self.path / "model.safetensors")
        try:
            self.net.load_state_dict(weights)
        except RuntimeError as e:
            raise DifflabError(f"{self.path / 'model.safetensors'} does not match the run's network "
                               f"({str(e).splitlines()[0]})") from None
        self.net.eval()
        self._dataset = None

    @property
    def dataset(self):
        """The run's dataset, rebuilt from its config (a user file must still exist)."""
        if self._dataset is None:
            self._dataset = build_dataset(self.config)
        return self._dataset

    @property
    def dataset_name(self) -> str:
        """The dataset's name, without building the dataset."""
        return str(self.info["dataset"].get("name", self.config.data))

    @property
    def train_seconds(self) -> float:
        return float(self.info.get("train_seconds", float("nan")))

    def denoise_fn(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.net(x, t)

    def denoiser(self, y: torch.Tensor | None = None, guidance: float = 1.0, clip: bool | None = None):
        """The denoise_fn handed to samplers: the network, with labels y (n,) and guidance for a
        class-conditional run, and its x0_hat kept inside the data's range (see clipping.py) when
        `clip` is True, or None for a kind that clips by default (images; spectrogram runs)."""
        fn = self.denoise_fn if y is None else labelled_denoiser(self.net, y, guidance)
        if self.categories is not None:
            if clip:
                raise DifflabError("clip keeps Gaussian estimates in the data's range; a categorical run's samples "
                                   "are classes already")
            return fn
        box = self.hooks.data_range
        if clip and box is None:
            raise DifflabError(f"clip needs data with a known range (images, boards); this run holds {self.kind} data")
        if clip or (clip is None and self.hooks.clip_default(self)):
            fn = clipped_denoiser(fn, self.process, *data_box(self.normaliser, *box))
        return fn

    def times(self, sampler: str, steps: int | None):
        """The sampler's time grid (see samplers/times.py): the run's `sample_grid` for its own
        sampler, else the sampler's default: the process's levels, or Karras or log spacing for the
        ODE solvers, which for VP start where this data's size makes x_t pure noise (`ode_start_ratio`)."""
        grid = self.config.sample_grid if sampler == self.config.sampler else None
        return sampler_times(self.process, sampler, steps, dim=int(np.prod(self.shape)), grid=grid)

    def check_sample_memory(self, n: int) -> None:
        """Refuse, before any work, a number of samples whose arrays cannot fit in memory: sampling
        holds about MEMORY_COPIES float32 copies of the batch (x_t, x0_hat, noise, the float64
        result) on the device."""
        need = n * int(np.prod(self.shape)) * 4 * MEMORY_COPIES
        have = device_memory(self.device)
        if need > have:
            raise DifflabError(f"{n} samples of shape {self.shape} need about {need / 1e9:.3g} GB of memory to draw; "
                               f"this {self.device.type} has {have / 1e9:.3g} GB; ask for fewer (--n)")

    @torch.no_grad()
    def sample_with_info(self, n: int, *, sampler: str | None = None, steps: int | None = None, seed: int | None = 0,
                         generator: torch.Generator | None = None, callback=None, labels=None, guidance=None,
                         clip: bool | None = None, **options) -> SampleResult:
        """Draw n samples in the data's units. Unset sampler/steps/options use the run's defaults.

        `callback(info)` sees every step ({"i", "t", "x", "x0_hat"}, normalised units).
        Class-conditional runs take `labels` (one int, or n ints) and a classifier-free guidance
        scale `guidance` (1 when None: plain conditional); without labels they sample
        unconditionally. `clip` (default: on for images) keeps every step's x0_hat in the data's
        range, as DDPM's sampler does; images come back clipped to [0, 1].
        """
        if not isinstance(n, int) or n < 1:
            raise DifflabError(f"the number of samples must be a positive integer, got {n!r}")
        self.check_sample_memory(n)
        y = resolve_labels(labels, n, self.n_classes, self.device)
        w = check_guidance(guidance, y)
        name = sampler or self.config.sampler
        fn = get_sampler(name)
        check_sampler_fits(name, self.info["process"])
        opts = dict(self.config.sampler_options) if name == self.config.sampler else {}
        opts.update(options)
        get_spec(name).check_options(opts)
        steps = steps if steps is not None else (self.config.sample_steps if name == self.config.sampler else None)
        ts = self.times(name, steps)
        gen = generator or make_generator(seed, self.device)
        counter = CountingDenoiser(self.denoiser(y, w, clip))
        start = time.perf_counter()
        x_T = self.process.prior_sample((n,) + self.shape, gen, device=self.device)
        x0 = fn(counter, self.process, x_T, ts, generator=gen, callback=callback, **opts)
        seconds = time.perf_counter() - start
        samples = self.decoder.unnormalise(x0.cpu().numpy().astype(np.float64)).astype(np.float32)
        samples = self.hooks.finish(self, samples)     # e.g. images clipped to [0, 1], boards decoded to integers
        nfe = counter.nfe * (2 if y is not None and w != 1.0 else 1)   # guidance: conditional + unconditional
        return SampleResult(samples, nfe, seconds, name, len(ts) - 1)

    def sample(self, n: int, **kw) -> np.ndarray:
        """n samples (N, *shape) in the data's own units; see `sample_with_info` for options."""
        return self.sample_with_info(n, **kw).samples

    def reverse_snapshots(self, n: int, *, every: int | None = None, **kw) -> list[tuple[float, np.ndarray]]:
        """(t, x in data units) along the reverse process, from the prior to the samples."""
        return self.sample_with_snapshots(n, every=every, **kw)[1]

    def sample_with_snapshots(self, n: int, *, every: int | None = None,
                              **kw) -> tuple[SampleResult, list[tuple[float, np.ndarray]]]:
        """One sampling pass that returns both its `SampleResult` and the (t, x in data units)
        snapshots of `reverse_snapshots` (every `every`-th step, about 60 by default)."""
        snaps = []

        def cb(info):
            snaps.append((info["t"], info["x"].cpu()))

        result = self.sample_with_info(n, callback=cb, **kw)
        if every is None:
            every = max(1, (len(snaps) + 1) // 60)
        kept = [(t, self.decoder.unnormalise(x.numpy().astype(np.float64))) for t, x in snaps[::every]]
        return result, kept + [(0.0, result.samples)]

    def evaluate(self, samples: np.ndarray, *, seed: int = 0, n_pairs: int = 10, floors: dict | None = None) -> dict:
        """Compare samples with the truth (or the test set) beside the metric's noise floor
        (`floors`: precomputed by the kind's floor function, to share one floor between runs)."""
        samples = np.asarray(samples)
        self.check_samples(samples)
        return self.hooks.evaluate(samples, self.dataset, np.random.default_rng(seed), n_pairs=n_pairs, floors=floors)


    def check_samples(self, samples: np.ndarray) -> None:
        """Samples of the shape this run's `sample` returns (boards: decoded), else a DifflabError."""
        shape = self.hooks.sample_shape(self)
        if np.ndim(samples) < 1 or np.shape(samples)[1:] != shape:
            raise DifflabError(f"samples have shape {np.shape(samples)}; this run's samples have shape "
                               f"(N, {', '.join(map(str, shape))})")


MEMORY_COPIES = 8        # float32 copies of a batch held while sampling (a generous bound)
RUN_INFO = {"config": dict, "normaliser": dict, "dataset": dict, "process": dict}   # config.json's parts
# (and "categories", {"values": [...]}, for a categorical run: data/categories.py)


def device_memory(device: torch.device) -> int:
    """Bytes of memory on `device`: the GPU's, or the machine's physical memory."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 2 ** 63


def check_run_info(info, where: Path) -> None:
    """The parts of a run's config.json that loading reads, with their types; a damaged file
    (`{}`, a list, an unknown config field, no normaliser) is a one-line DifflabError."""
    if not isinstance(info, dict):
        raise DifflabError(f"{where} is damaged: it holds a {type(info).__name__}, not a run's settings")
    for key, kind in RUN_INFO.items():
        if key not in info:
            raise DifflabError(f"{where} is damaged: it has no {key!r} entry")
        if not isinstance(info[key], kind):
            raise DifflabError(f"{where} is damaged: {key!r} must be a mapping, got {type(info[key]).__name__}")
    unknown = sorted(set(info["config"]) - FIELDS)
    if unknown:
        raise DifflabError(f"{where} is damaged or from another version: unknown config field {unknown[0]!r}")
    process = info["process"]
    if not isinstance(process.get("name"), str):
        raise DifflabError(f"{where} is damaged: process.name must be a name, got {process.get('name')!r}")
    for key, v in process.items():
        if isinstance(v, (list, dict, bool)):            # no process setting is a switch or a collection
            raise DifflabError(f"{where} is damaged: process.{key} must be a number or a name, got {v!r}")
    try:
        check_setting_values("process", process)
    except DifflabError as e:
        raise DifflabError(f"{where} is damaged: {e}") from None
    ds = info["dataset"]
    shape = ds.get("shape")
    if not isinstance(shape, list) or not shape or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                                         for v in shape):
        raise DifflabError(f"{where} is damaged: dataset.shape must be a list of positive integers, got {shape!r}")
    if not isinstance(ds.get("kind", "vector"), str):
        raise DifflabError(f"{where} is damaged: dataset.kind must be a name, got {ds.get('kind')!r}")
    n_classes = ds.get("n_classes")
    if n_classes is not None and (isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1):
        raise DifflabError(f"{where} is damaged: dataset.n_classes must be a positive integer, got {n_classes!r}")
    if "train_seconds" in info and (isinstance(info["train_seconds"], bool)
                                    or not isinstance(info["train_seconds"], (int, float))):
        raise DifflabError(f"{where} is damaged: train_seconds must be a number, got {info['train_seconds']!r}")


def broadcasts(shape: tuple, target: tuple) -> bool:
    """Whether an array of `shape` broadcasts over one sample of shape `target` unchanged."""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def check_finite_weights(weights: dict, where: Path) -> None:
    """Refuse weights holding NaN or infinities (a run whose training diverged)."""
    bad = [k for k, v in weights.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise DifflabError(f"{where} holds NaN or infinite weights in {len(bad)} tensor(s) (first: {bad[0]}); "
                           f"the training diverged: train again with a smaller lr")


def load(path, device: str = "auto") -> Run:
    """Load a run folder (safetensors weights and JSON config only: nothing is unpickled)."""
    return Run(path, device=device)
