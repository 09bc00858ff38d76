"""Every preset shipped in difflab/configs/ resolves to a valid config and builds its network; presets
are found by name, and a built-in dataset with a preset of its name uses it by default."""
import numpy as np
import pytest

from difflab.cli import main
from difflab.config import PRESET_DIR, load_yaml, make_config, preset_names
from difflab.data.registry import list_datasets
from difflab.errors import DifflabError
from difflab.kinds.audio.spectrogram import SpectrogramSpec
from difflab.pipeline import build_network, resolve_process_config
from difflab.processes import is_categorical, make_process

PRESETS = sorted(PRESET_DIR.glob("*.yaml"))


@pytest.fixture(scope="module")
def shapes():
    """{dataset name: shape}, as `difflab datasets` describes them (disk datasets are not read)."""
    return {d["name"]: tuple(d["shape"]) for d in list_datasets()}


def test_there_are_presets():
    assert len(PRESETS) >= 8 and preset_names() == sorted(p.stem for p in PRESETS)   # fsdd < fsdd-waveform


@pytest.mark.parametrize("path", PRESETS, ids=lambda p: p.stem)
def test_preset_resolves_and_builds(path, shapes):
    cfg = make_config(load_yaml(path), [])
    assert cfg.data in shapes, f"{path.name}: unknown dataset {cfg.data!r}"
    assert cfg.steps > 0 and cfg.batch_size > 0
    shape = shapes[cfg.data]
    if cfg.data_options.get("representation") == "spectrogram":     # audio as images (1, F, T)
        shape = SpectrogramSpec(length=shape[-1]).shape
    x = np.random.default_rng(0).standard_normal((64, *shape))      # stands in for the normalised data
    categories = [-1, 0, 1] if is_categorical(cfg.process) else None  # masked presets: the boards' three values
    process = make_process(resolve_process_config(cfg, x, categories))  # VE's sigma_max "auto" needs data
    net = build_network(cfg, shape, process, n_classes=10 if cfg.class_conditional else None)
    assert sum(p.numel() for p in net.parameters()) > 0


def test_config_by_name_or_file(tmp_path):
    assert load_yaml("mnist") == load_yaml(PRESET_DIR / "mnist.yaml")
    own = tmp_path / "mine.yaml"
    own.write_text("data: gmm\nsteps: 7\n")
    assert load_yaml(own) == {"data": "gmm", "steps": 7}
    with pytest.raises(DifflabError, match="unknown preset 'mnst'; valid names: cifar10, connect4"):
        load_yaml("mnst")
    with pytest.raises(DifflabError, match="not found: configs/mnist.yaml; .* --config mnist"):
        load_yaml("configs/mnist.yaml")          # the folder moved into the package: the message says how


def test_a_dataset_uses_its_preset_by_default(capsys):
    cfg = make_config({}, ["batch_size=8"], data="tictactoe")
    assert "uses the preset 'tictactoe'" in capsys.readouterr().err
    preset = load_yaml("tictactoe")
    # issue 16: a plain `difflab train tictactoe` gets masked diffusion with its sampler's Gibbs rounds
    assert cfg.method == preset["method"] == "masked" and cfg.network["name"] == "cellmlp" and cfg.batch_size == 8
    assert cfg.sampler_options == preset["sampler_options"] and cfg.sampler_options["corrector_rounds"] == 18
    # another method keeps only what is not the method's: here the data
    dsm = make_config({}, [], data="tictactoe", method="dsm")
    assert dsm.process["name"] == "ve" and dsm.objective == "dsm" and dsm.network["name"] == "mlp"
    assert dsm.sampler_options == {} and "without its method settings" in capsys.readouterr().err
    # the Gaussian recipe is a preset by name; its method settings stay with it
    gauss = make_config(load_yaml("tictactoe-gaussian"), [])
    assert gauss.method == "ddpm" and gauss.data_options == {"scale": 0.5} and gauss.process["time_sampling"] == "uniform"
    # a --config replaces the preset; datasets without a preset are untouched
    assert make_config({"data": "tictactoe", "steps": 5}, []).network["width"] == 128
    assert make_config({}, [], data="pinwheel").network["width"] == 128
    assert "preset" not in capsys.readouterr().err


def test_cli_config_by_name_and_help(tmp_path, capsys):
    assert main(["train", "gmm", "--config", "nope", "--out", str(tmp_path / "r")]) == 2
    assert "unknown preset 'nope'; valid names:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "mnist" in capsys.readouterr().out


def test_a_preset_with_its_own_sampler_steps_keeps_the_process_levels():
    """Presets whose figures were measured with `sample_steps` on the process's levels (images, audio,
    text, the Gaussian board recipes) keep that grid; the ddpm method's log-SNR grid is for 2D data."""
    for name in preset_names():
        preset = load_yaml(PRESET_DIR / f"{name}.yaml")
        cfg = make_config(preset, quiet=True)
        if cfg.method == "ddpm" and preset.get("sample_steps") is not None:
            assert cfg.sample_grid == "process", name
    assert make_config(load_yaml(PRESET_DIR / "pinwheel-ddpm.yaml"), quiet=True).sample_grid == "log"
