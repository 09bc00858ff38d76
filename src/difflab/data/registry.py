"""Dataset names -> factories. A name that is a path to .npy/.csv/.npz is the user's own data."""
from __future__ import annotations

import os
from typing import Callable

from ..errors import DifflabError, call_checked, unknown_name
from .base import Dataset

_FACTORIES: dict[str, Callable[..., Dataset]] = {}
_SUMMARIES: dict[str, str] = {}
_DESCRIBERS: dict[str, Callable[[], dict]] = {}     # name -> info without building (costly datasets)
_PREFIXES: dict[str, Callable[..., Dataset]] = {}   # "wav" -> factory(argument, **options) for "wav:FOLDER"
_FILES: list[Callable[..., Dataset]] = []            # loaders of a user's own file, named by its path

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


def register_prefix(prefix: str, summary: str = ""):
    """Decorator: `@register_prefix("wav")` on `f(argument, **options) -> Dataset` makes the
    dataset name "wav:FOLDER" build f("FOLDER", **options) (a family of datasets named by a path)."""

    def deco(factory):
        _PREFIXES[prefix] = factory
        _SUMMARIES[f"{prefix}:"] = summary or (factory.__doc__ or "").strip().splitlines()[0]
        return factory

    return deco


def register_files(factory):
    """Decorator: `f(path, **options) -> Dataset` loads a user's own file (.npy, .csv, .npz or a
    path with a folder in it) given in place of a dataset name."""
    _FILES.append(factory)
    return factory


def prefix_names() -> dict[str, str]:
    """{"wav:": summary, ...}: the path-named dataset families."""
    return {f"{p}:": _SUMMARIES[f"{p}:"] for p in sorted(_PREFIXES)}


def dataset_names() -> list[str]:
    return sorted(_FACTORIES)


def is_user_file(name: str) -> bool:
    return str(name).lower().endswith(USER_SUFFIXES) or os.path.sep in str(name)


def get_dataset(name: str, **options) -> Dataset:
    """Build a dataset by registered name, or load the user's file when `name` is a path.

    Common options: n_train (2000), n_test (500), seed (0, fixes the split). Others are
    dataset-specific (see `difflab datasets`). Unknown names raise a DifflabError listing
    the valid ones.
    """
    if name in _FACTORIES:
        return call_checked(_FACTORIES[name], f"dataset {name!r}", **options)
    prefix, sep, argument = str(name).partition(":")
    if sep and prefix in _PREFIXES:
        if not argument:
            raise DifflabError(f"dataset {name!r}: give a path after {prefix + ':'!r}")
        return call_checked(_PREFIXES[prefix], f"dataset {name!r}", argument, **options)
    if is_user_file(name) and _FILES:
        return call_checked(_FILES[0], f"dataset {name!r}", name, **options)
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
