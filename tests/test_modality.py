"""The plumbing that lets a kind of data bring its own outputs and metrics, and path-named datasets."""
import numpy as np
import pytest

from difflab.data import registry
from difflab.data.registry import get_dataset, register_prefix
from difflab.errors import DifflabError
from difflab.modality import Modality, modality, register_modality


def test_unknown_and_vector_kinds_get_the_default_hooks():
    hooks = modality("vector")
    x = np.ones((3, 2), np.float32)
    assert type(hooks) is Modality
    assert modality("no-such-kind") is hooks
    assert hooks.finish(None, x) is x
    assert hooks.evaluate(x, None, np.random.default_rng(0)) is None
    assert hooks.extra_outputs("x.npy") == []


def test_a_registered_kind_answers_for_itself():
    @register_modality
    class Doubling(Modality):
        kind = "test-doubling"

        def finish(self, run, samples):
            return 2 * samples

    try:
        assert modality("test-doubling").finish(None, np.ones(2)).tolist() == [2.0, 2.0]
    finally:
        from difflab import modality as m

        m._REGISTRY.pop("test-doubling")


def test_prefix_datasets_are_built_from_their_argument():
    seen = {}

    @register_prefix("testprefix", "a family named by a path")
    def factory(argument, n_train=4, seed=0):
        seen.update(argument=argument, n_train=n_train, seed=seed)
        return get_dataset("normal2d", n_train=n_train, n_test=4, seed=seed)

    try:
        ds = get_dataset("testprefix:some/folder", n_train=6, seed=3)
        assert seen == {"argument": "some/folder", "n_train": 6, "seed": 3}
        assert ds.train.shape == (6, 2)
        assert "testprefix:" in registry.prefix_names()
        with pytest.raises(DifflabError, match="give a path"):
            get_dataset("testprefix:")
        with pytest.raises(DifflabError, match="testprefix"):
            get_dataset("testprefix:x", colour="red")       # an option the family does not take
    finally:
        registry._PREFIXES.pop("testprefix")
        registry._SUMMARIES.pop("testprefix:")


def test_unknown_dataset_lists_the_prefix_families():
    @register_prefix("testprefix2")
    def factory(argument, **options):
        """a test family"""
        raise AssertionError("not called")

    try:
        with pytest.raises(DifflabError, match=r"testprefix2:<path>"):
            get_dataset("no-such-dataset")
    finally:
        registry._PREFIXES.pop("testprefix2")
        registry._SUMMARIES.pop("testprefix2:")
