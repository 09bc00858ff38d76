"""Training on several processes (`torchrun --nproc_per_node=N -m difflab train ...`): what each
rank is, and the few collective steps the loop needs.

Every rank builds the same parts from the same seed and draws every random number of the WHOLE
global batch (its rows, flips, dropped labels, times and noise) from the same generator, in the
same order as a single process would; it then trains on its own contiguous share of the rows.
DistributedDataParallel averages the gradients, and each rank's loss is scaled so that this
average is the gradient of the global batch's mean loss. So N ranks compute what one process
computes with the same global batch, up to the order of floating-point sums, and a run started on
N ranks resumes on M: the checkpoint holds only global state. Rank 0 alone writes the run folder.

gloo serves CPUs, nccl GPUs (one per rank, `cuda:LOCAL_RANK`). torchrun's rendezvous spans
several machines the same way (see README, "Scaling out").
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ..errors import DifflabError


@dataclass(frozen=True)
class Ranks:
    rank: int = 0              # this process's index among all processes
    world: int = 1             # how many processes train together
    local_rank: int = 0        # its index on this machine (the GPU it uses)

    @property
    def writes(self) -> bool:
        """Whether this process writes the run folder, prints and draws progress bars."""
        return self.rank == 0

    def share(self, batch: int) -> slice:
        """This rank's contiguous rows of a global batch of `batch` rows."""
        lo, hi = batch * self.rank // self.world, batch * (self.rank + 1) // self.world
        return slice(lo, hi)


def ranks_from_env() -> Ranks:
    """The ranks torchrun describes in RANK, WORLD_SIZE and LOCAL_RANK (one process without them)."""
    try:
        r = Ranks(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                  int(os.environ.get("LOCAL_RANK", 0)))
    except ValueError:
        raise DifflabError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (as torchrun sets them)") from None
    if not 0 <= r.rank < r.world:
        raise DifflabError(f"RANK {r.rank} is outside WORLD_SIZE {r.world}")
    return r


def rank_device(device: torch.device, ranks: Ranks) -> torch.device:
    """One GPU per rank on a machine: cuda:LOCAL_RANK when training on CUDA with several ranks."""
    if device.type == "cuda" and ranks.world > 1:
        return torch.device("cuda", ranks.local_rank)
    return device


def start(ranks: Ranks, device: torch.device) -> None:
    """Join the process group (a no-op for one process)."""
    if ranks.world > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")


def stop(ranks: Ranks) -> None:
    if ranks.world > 1 and dist.is_initialized():
        dist.destroy_process_group()


def wrap(net: torch.nn.Module, ranks: Ranks, device: torch.device) -> torch.nn.Module:
    """The module the steps call: DistributedDataParallel over `net` when there are several ranks."""
    if ranks.world == 1:
        return net
    return DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)


def total(value: float, ranks: Ranks, device: torch.device) -> float:
    """The sum of a number over all ranks (in float64, the same on every rank)."""
    if ranks.world == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t.item())


def from_rank0(value: float, ranks: Ranks, device: torch.device) -> float:
    """Rank 0's number on every rank (in float64)."""
    if ranks.world == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=device)
    dist.broadcast(t, src=0)
    return float(t.item())


def agree(flags: list[bool], ranks: Ranks, device: torch.device) -> list[bool]:
    """Each flag true on every rank when it is true on any rank (a Ctrl-C seen by one stops all),
    in one collective call."""
    if ranks.world == 1:
        return [bool(f) for f in flags]
    t = torch.tensor([float(f) for f in flags], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return [bool(v > 0) for v in t.tolist()]


def barrier(ranks: Ranks) -> None:
    if ranks.world > 1:
        dist.barrier()
