"""Speed switches of the trainer, used only where the device supports them.

`amp` (bf16 autocast) runs on CUDA devices that report bf16 support; on a CPU it is skipped,
because few CPUs have bf16 matrix units and there autocast makes training slower, not faster.
`compile` (torch.compile) runs on CUDA, and on a CPU only when a C++ compiler is on PATH
(inductor builds C++ kernels there). Whatever was decided is written to the run's config.json
under "runtime", with the reason when a switch was skipped, so a run says how it was trained.
`channels_last` orders image batches and convolution weights as NHWC, which oneDNN's CPU
convolutions prefer. No switch changes what is saved: checkpoints hold the module's weights, and
the saved tensors are made contiguous.
"""
from __future__ import annotations

import contextlib
import shutil

import torch


def resolve(amp: bool, compile: bool, device: torch.device, channels_last: bool = False, item_dims: int = 3) -> dict:
    """{"amp": bool, "compile": bool, "channels_last": bool, "notes": [why a requested switch was skipped]};
    `item_dims` is the number of dimensions of one data item (3 for (C, H, W) images)."""
    notes = []
    use_channels_last = channels_last and item_dims == 3
    if channels_last and not use_channels_last:
        notes.append("channels_last skipped: it orders (C, H, W) image batches, and these items have "
                     f"{item_dims} dimension(s)")
    use_amp = False
    if amp:
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            use_amp = True
        else:
            notes.append(f"amp skipped: no bf16 support worth using on {device.type}")
    use_compile = False
    if compile:
        has_cxx = shutil.which("c++") is not None or shutil.which("g++") is not None
        if device.type == "cuda" or (device.type == "cpu" and has_cxx):
            use_compile = True
        else:
            notes.append(f"compile skipped: torch.compile needs CUDA or a C++ compiler on {device.type}")
    return {"amp": use_amp, "compile": use_compile, "channels_last": use_channels_last, "notes": notes}


def memory_format(net: torch.nn.Module, x: torch.Tensor, enabled: bool) -> tuple[torch.nn.Module, torch.Tensor]:
    """The network and the (N, C, H, W) training items in channels-last (NHWC) order when enabled,
    else as they are. Convolutions on NHWC weights and inputs skip the layout conversions of
    oneDNN on a CPU (BENCHMARKS.md, "where a training step's time goes"); the values are the same."""
    if not enabled:
        return net, x
    return net.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast on `device` when enabled, else a no-op context."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def compiled(net: torch.nn.Module, enabled: bool):
    """The module to call in training: torch.compile(net) when enabled (it shares net's weights).

    Shapes are static (`dynamic=False`): a new input shape, such as an epoch's last, smaller batch,
    compiles a graph of its own. With torch's automatic dynamic shapes a second shape made inductor
    fail on a CPU (torch 2.13: "cannot determine truth value of Relational"), seen in
    benchmarks/profile_images.py when the fsdd preset's 64 x 64 UNet followed 28 x 28 ones in one
    process."""
    return torch.compile(net, dynamic=False) if enabled else net
