"""The plumbing that lets a kind of data bring its own outputs and metrics, and path-named datasets."""
import numpy as np
import pytest

from difflab.data import registry
from difflab.data.registry import get_dataset, register_prefix
from difflab.errors import DifflabError
from difflab import kind as kind_module
from difflab.kind import Kind, kind_names, kind_of, register_kind


def test_vector_kind_has_the_base_hooks_and_an_unknown_kind_is_refused():
    hooks = kind_of("vector")
    x = np.ones((3, 2), np.float32)
    assert type(hooks).__mro__[1] is Kind and type(hooks).__dict__.keys() <= {"__module__", "__doc__", "__qualname__",
                                                                             "__firstlineno__", "__static_attributes__"}
    assert hooks.finish(None, x) is x
    assert hooks.extra_outputs("x.npy") == []
    assert set(kind_names()) >= {"vector", "image", "audio", "text", "board"}
    with pytest.raises(DifflabError, match="unknown kind of data 'no-such-kind'; valid names: audio, board"):
        kind_of("no-such-kind")


def test_a_registered_kind_answers_for_itself():
    @register_kind
    class Doubling(Kind):
        name = "test-doubling"

        def finish(self, run, samples):
            return 2 * samples

    try:
        assert kind_of("test-doubling").finish(None, np.ones(2)).tolist() == [2.0, 2.0]
    finally:
        kind_module._REGISTRY.pop("test-doubling")


def test_a_kind_that_clips_by_default_clips_what_it_finishes():
    x = np.array([[-0.5, 0.5, 1.5]], np.float32)
    assert kind_of("image").finish(None, x).tolist() == [[0.0, 0.5, 1.0]]
    assert kind_of("board").data_range == (-1.0, 1.0) and not kind_of("board").clip_by_default


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
