import matplotlib

matplotlib.use("Agg")

import pytest


@pytest.fixture(autouse=True, scope="session")
def _difflab_cache(tmp_path_factory):
    """Caches written by tests (the image metrics' classifiers) go to a temporary folder,
    never to the user's ~/.cache/difflab."""
    patch = pytest.MonkeyPatch()
    patch.setenv("DIFFLAB_CACHE", str(tmp_path_factory.mktemp("difflab-cache")))
    yield
    patch.undo()
