"""`--log tensorboard`: losses, learning rate, gradient norm and pictures of samples in RUN/tensorboard."""
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from difflab.cli import main

TINY = ["--set", "network.width=16", "--set", "network.depth=1", "--set", "network.emb_dim=8", "--set", "threads=1",
        "--set", "batch_size=500", "--no-progress"]


def test_tensorboard_logs_scalars_and_pictures(tmp_path):
    out = tmp_path / "r"
    assert main(["train", "gmm", "--steps", "20", "--out", str(out), "--log", "tensorboard",
                 "--set", "log_every=5", "--set", "log_pictures_every=10", *TINY]) == 0
    events = EventAccumulator(str(out / "tensorboard"), size_guidance={"images": 0}).Reload()
    tags = events.Tags()
    assert {"train/loss", "train/lr", "train/grad_norm", "epoch/test_loss_ema"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("train/loss")] == [5, 10, 15, 20]
    assert [e.step for e in events.Images("samples")] == [10, 20]
    assert (out / "history.json").is_file()                   # the report's file stays


def test_an_unknown_logger_is_a_one_line_error(tmp_path, capsys):
    assert main(["train", "gmm", "--steps", "5", "--out", str(tmp_path / "r"), "--log", "wandb", *TINY]) == 2
    assert "unknown logger 'wandb'; valid names: tensorboard" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
