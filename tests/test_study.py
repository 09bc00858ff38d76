"""`difflab run` end to end on a tiny budget: four runs, every picture, a report, shared floors."""
import json

from difflab.cli import main
from difflab.config import make_config
from difflab.viz import report_problems


def test_dsm_defaults_to_ancestral_sampling_and_langevin_keeps_its_options():
    cfg = make_config(method="dsm")
    assert (cfg.sampler, cfg.sample_steps, cfg.sampler_options) == ("ddpm", 1000, {})     # 10 per training level
    # issue 14: about 60 s of one core for the 2D MLP, per method; a flag or a preset still decides
    assert (make_config(method="ddpm").steps, cfg.steps, make_config(method="dsm", steps=50).steps) == (12000, 8000, 50)
    mnist = make_config(data="mnist", method="ddpm", quiet=True)                      # its preset's: an upper
    assert (mnist.steps, mnist.train_minutes) == (40000, 20)                           # bound, cut to 20 minutes
    cfg = make_config(method="dsm", sampler="langevin")
    assert (cfg.sampler, cfg.sample_steps) == ("langevin", None)
    assert make_config(method="ddpm").sample_steps == 1000      # 1000 log-SNR steps from where x_t is pure noise


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
    assert by_name["gmm-dsm"]["nfe"] == 1001 and by_name["gmm-dsm (langevin)"]["nfe"] == 501
    # the runs of one dataset are judged against one floor
    floors = {r["name"]: r["evaluation"]["metrics"]["energy"]["floor_p95"] for r in summary}
    assert floors["pinwheel-ddpm"] == floors["pinwheel-dsm"] == floors["pinwheel-dsm (langevin)"]
    assert floors["gmm-ddpm"] == floors["gmm-dsm"] != floors["pinwheel-ddpm"]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "gmm-dsm (langevin)" in md and "ddpm, 1000 steps (1001)" in md and "modes covered" in md
    assert "DSM runs are sampled twice" in md
    assert (out / "gmm-dsm" / "samples_langevin.npy").is_file() and (out / "gmm-dsm" / "reverse_langevin.gif").is_file()
    assert "report.html" in capsys.readouterr().out
    # the tail figures, the verdict and, the truth being exact, the model's NLL and KL estimate
    for r in summary:
        ld = r["evaluation"]["log_density"]
        assert {"outlier_share", "mean_log_prob"} <= set(ld) and ld["outlier_share"]["floor_p95"] > 0
        assert set(r["verdict"]) == {"as_good_as_data_allow", "checked", "failing"}
        assert "outlier_share" in r["verdict"]["checked"] and "mean_log_prob" in r["verdict"]["checked"]
        lik = r["likelihood"]
        assert lik["n"] == 500 and lik["kl_se"] > 0 and lik["nll_true_nats"] is not None
    assert by_name["gmm-dsm"]["likelihood"] == by_name["gmm-dsm (langevin)"]["likelihood"]   # one network
    for text in (md, (out / "report.html").read_text(encoding="utf-8")):
        assert "outlier share" in text and "mean true log-density" in text and "KL estimate" in text
        assert "as good as the data allow" in text or "fails: " in text
    assert report_problems(out / "report.html") == []
