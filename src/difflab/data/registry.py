"""Dataset names -> factories. A name that is a path to .npy/.csv/.npz is the user's own data."""
from __future__ import annotations

import os
from typing import Callable

from ..errors import DifflabError, unknown_name
from .base import Dataset

_FACTORIES: dict[str, Callable[..., Dataset]] = {}
_SUMMARIES: dict[str, str] = {}
_DESCRIBERS: dict[str, Callable[[], dict]] = {}     # name -> info without building (costly datasets)
_PREFIXES: dict[str, Callable[..., Dataset]] = {}   # "wav" -> factory(argument, **options) for "wav:FOLDER"

USER_SUFFIXES = (".npy", ".csv", ".npz")


def register(name: str, summary: str = "", describe: Callable[[], dict] | None = None):
    """Decorator: `@register("pinwheel", "5 arms ...")` on a factory `f(**options) -> Dataset`.

    `describe`, for datasets that are slow to build or may be absent (images read from disk), is
    `() -> dict` with the keys of `Dataset.info()` for the default options; `list_datasets` calls
    it instead of building the dataset.
    """

    def deco(factory):
        _FACTORIES[name] = factory
        _SUMMARIES[name] = summary or (factory.__doc__ or "").strip().splitlines()[0]
        if describe is not None:
            _DESCRIBERS[name] = describe
        return factory

    return deco


_FAMILIES = ("toy", "shapes", "images", "audio", "sentences", "games")   # modules of difflab.data
_loaded = False


def register_prefix(prefix: str, summary: str = ""):
    """Decorator: `@register_prefix("wav")` on `f(argument, **options) -> Dataset` makes the
    dataset name "wav:FOLDER" build f("FOLDER", **options) (a family of datasets named by a path)."""

    def deco(factory):
        _PREFIXES[prefix] = factory
        _SUMMARIES[f"{prefix}:"] = summary or (factory.__doc__ or "").strip().splitlines()[0]
        return factory

    return deco


def prefix_names() -> dict[str, str]:
    """{"wav:": summary, ...}: the path-named dataset families."""
    _ensure_loaded()
    return {f"{p}:": _SUMMARIES[f"{p}:"] for p in sorted(_PREFIXES)}


def _ensure_loaded():
    """Import the family modules (their @register decorators fill the tables); a family whose
    module is absent is skipped. None of them reads files until a dataset is built."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from ..utils import import_present

    import_present(__package__, _FAMILIES)


def dataset_names() -> list[str]:
    _ensure_loaded()
    return sorted(_FACTORIES)


def is_user_file(name: str) -> bool:
    return str(name).lower().endswith(USER_SUFFIXES) or os.path.sep in str(name)


def get_dataset(name: str, **options) -> Dataset:
    """Build a dataset by registered name, or load the user's file when `name` is a path.

    Common options: n_train (2000), n_test (500), seed (0, fixes the split). Others are
    dataset-specific (see `difflab datasets`). Unknown names raise a DifflabError listing
    the valid ones.
    """
    _ensure_loaded()
    if name in _FACTORIES:
        try:
            return _FACTORIES[name](**options)
        except TypeError as e:  # an option this dataset does not take
            raise DifflabError(f"dataset {name!r}: {e}") from None
    prefix, sep, argument = str(name).partition(":")
    if sep and prefix in _PREFIXES:
        if not argument:
            raise DifflabError(f"dataset {name!r}: give a path after {prefix + ':'!r}")
        try:
            return _PREFIXES[prefix](argument, **options)
        except TypeError as e:
            raise DifflabError(f"dataset {name!r}: {e}") from None
    if is_user_file(name):
        from .user import load_user_dataset

        return load_user_dataset(name, **options)
    raise unknown_name("dataset", name, list(_FACTORIES) + [f"{p}:<path>" for p in _PREFIXES] + ["<file.npy|.csv|.npz>"])


def list_datasets() -> list[dict]:
    """One dict per built-in dataset (default options), for `difflab datasets`; datasets
    registered with `describe` are described, not built."""
    out = []
    for name in dataset_names():
        d = _DESCRIBERS[name]() if name in _DESCRIBERS else get_dataset(name).info()
        d["summary"] = _SUMMARIES[name]
        out.append(d)
    return out
