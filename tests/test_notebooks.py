"""Every notebook of notebooks/ runs top to bottom in quick mode (DIFFLAB_QUICK=1), through nbclient,
in a temporary folder; and the notebooks are what notebooks/make_notebooks.py writes."""
import json
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_there_is_one_notebook_per_seed_notebook():
    assert len(PATHS) == 13                         # 3 (2D: generators, DDPM, DSM) + 10 (ten datasets)


def test_notebooks_are_generated():
    sys.path.insert(0, str(NOTEBOOKS))
    try:
        import make_notebooks
    finally:
        sys.path.remove(str(NOTEBOOKS))
    made = make_notebooks.notebooks()
    assert sorted(f"{stem}.ipynb" for stem in made) == [p.name for p in PATHS]
    for stem, nb in made.items():
        on_disk = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
        assert [c.source for c in on_disk.cells] == [c.source for c in nb.cells], \
            f"{stem}.ipynb differs from make_notebooks.py: run python notebooks/make_notebooks.py"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_runs_in_quick_mode(path, tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFLAB_QUICK", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    src = Path(__file__).resolve().parents[1] / "src"
    monkeypatch.setenv("PYTHONPATH", f"{src}:{__import__('os').environ.get('PYTHONPATH', '')}".rstrip(":"))
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert images >= 2, "a tour shows its pictures"
    print(json.dumps({"notebook": path.stem, "seconds": round(time.perf_counter() - start, 1), "images": images}))
