"""TensorBoard logs of a training run (`difflab train ... --log tensorboard`, in RUN/tensorboard):
the loss, learning rate and gradient norm of every `log_every`-th step, the epoch losses, and
every `log_pictures_every` steps a picture of samples from the EMA network drawn by the dataset
itself (a scatter for vectors, a grid for images, boards for games). history.json stays the file
the report reads; these logs are for watching a run while it trains.

TensorBoard is an optional dependency: `pip install 'difflab[log]'`.
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..errors import DifflabError
from ..samplers import get_sampler
from ..samplers.times import sampler_times
from ..viz._figure import new_figure

LOGGERS = ("tensorboard",)
PICTURE_SAMPLER, PICTURE_STEPS = "dpm-solver", 20     # few network calls: a picture costs 21 per sample


class TensorBoardLog:
    """Writes the scalars and pictures of one run into `out/tensorboard`."""

    def __init__(self, out: Path, parts):
        try:
            from torch.utils.tensorboard import SummaryWriter   # optional dependency (extra "log")
        except ImportError:
            raise DifflabError("--log tensorboard needs the tensorboard package: pip install 'difflab[log]'") from None
        self.parts = parts
        self.writer = SummaryWriter(str(Path(out) / "tensorboard"))

    def step(self, step: int, loss: float, lr: float, grad_norm: float) -> None:
        cfg = self.parts.cfg
        if step % cfg.log_every == 0:
            self.writer.add_scalar("train/loss", loss, step)
            self.writer.add_scalar("train/lr", lr, step)
            self.writer.add_scalar("train/grad_norm", grad_norm, step)
        if cfg.log_pictures_every and step % cfg.log_pictures_every == 0:
            self.writer.add_figure("samples", self.picture(step), step)

    def epoch(self, history: dict) -> None:
        step = history["step"][-1]
        for key in ("train_loss", "test_loss", "test_loss_ema"):
            self.writer.add_scalar(f"epoch/{key}", history[key][-1], step)

    @torch.no_grad()
    def picture(self, step: int):
        """Samples of the EMA network at this step, drawn as the dataset draws its own data."""
        parts = self.parts
        n = 1000 if len(parts.ds.shape) == 1 else 16
        gen = torch.Generator(device=parts.device).manual_seed(parts.cfg.seed + 7)
        sampler, steps = PICTURE_SAMPLER, PICTURE_STEPS
        if parts.categories is not None:                 # categorical data: the run's own (masked) sampler
            sampler, steps = parts.cfg.sampler, None
        ts = sampler_times(parts.process, sampler, steps, dim=int(parts.x_train[0].numel()))
        x_T = parts.process.prior_sample((n,) + tuple(parts.x_train.shape[1:]), gen, device=parts.device)
        net = parts.ema.net.eval()
        x0 = get_sampler(sampler)(net, parts.process, x_T, ts, generator=gen)
        x = (parts.ds.normaliser if parts.categories is None else parts.categories).unnormalise(x0.cpu().double().numpy())
        fig = new_figure(5, 5)
        parts.ds.plot(fig.subplots(), x)
        fig.suptitle(f"{parts.ds.name}: samples at step {step}")
        return fig

    def close(self) -> None:
        self.writer.close()


class NoLog:
    """What `log: ""` gives: nothing is written."""

    def step(self, *args) -> None:
        pass

    def epoch(self, history: dict) -> None:
        pass

    def close(self) -> None:
        pass


def open_log(out: Path, parts):
    """The run's log: TensorBoard when `cfg.log` says so (rank 0 alone), otherwise none."""
    if parts.cfg.log == "tensorboard" and parts.ranks.writes:
        return TensorBoardLog(out, parts)
    return NoLog()
