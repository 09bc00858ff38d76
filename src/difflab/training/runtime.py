"""Speed switches of the trainer, used only where the device supports them.

`amp` (bf16 autocast) runs on CUDA devices that report bf16 support; on a CPU it is skipped,
because few CPUs have bf16 matrix units and there autocast makes training slower, not faster.
`compile` (torch.compile) runs on CUDA, and on a CPU only when a C++ compiler is on PATH
(inductor builds C++ kernels there). Whatever was decided is written to the run's config.json
under "runtime", with the reason when a switch was skipped, so a run says how it was trained.
Neither switch changes what is saved: checkpoints hold the plain module's weights.
"""
from __future__ import annotations

import contextlib
import shutil

import torch


def resolve(amp: bool, compile: bool, device: torch.device) -> dict:
    """{"amp": bool, "compile": bool, "notes": [why a requested switch was skipped]}."""
    notes = []
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
    return {"amp": use_amp, "compile": use_compile, "notes": notes}


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
