"""`difflab run` end to end on a tiny budget: four runs, every picture, a report, shared floors."""
import json

from difflab.cli import main
from difflab.config import make_config


def test_dsm_defaults_to_dpm_solver_and_langevin_keeps_its_options():
    cfg = make_config(method="dsm")
    assert (cfg.sampler, cfg.sample_steps, cfg.sampler_options) == ("dpm-solver", 20, {})
    cfg = make_config(method="dsm", sampler="langevin")
    assert (cfg.sampler, cfg.sample_steps) == ("langevin", None)
    assert make_config(method="ddpm").sample_steps is None


def test_difflab_run_writes_every_run_picture_and_report(tmp_path, capsys):
    out = tmp_path / "study"
    assert main(["run", "--out", str(out), "--steps", "40", "--n-samples", "300", "--set", "batch_size=64"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    names = [r["name"] for r in summary]
    assert names == ["pinwheel-ddpm", "pinwheel-dsm", "pinwheel-dsm (langevin)",
                     "gmm-ddpm", "gmm-dsm", "gmm-dsm (langevin)"]
    for r in summary:
        assert r["evaluation"]["n_samples"] == 300
        for path in r["images"].values():
            assert (out / path).is_file(), path
    by_name = {r["name"]: r for r in summary}
    assert by_name["gmm-dsm"]["nfe"] == 21 and by_name["gmm-dsm (langevin)"]["nfe"] == 501
    # the runs of one dataset are judged against one floor
    floors = {r["name"]: r["evaluation"]["metrics"]["energy"]["floor_p95"] for r in summary}
    assert floors["pinwheel-ddpm"] == floors["pinwheel-dsm"] == floors["pinwheel-dsm (langevin)"]
    assert floors["gmm-ddpm"] == floors["gmm-dsm"] != floors["pinwheel-ddpm"]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "gmm-dsm (langevin)" in md and "dpm-solver, 20 steps (21)" in md and "modes covered" in md
    assert "DSM runs are sampled twice" in md
    assert (out / "gmm-dsm" / "samples_langevin.npy").is_file() and (out / "gmm-dsm" / "reverse_langevin.gif").is_file()
    assert "report.html" in capsys.readouterr().out
