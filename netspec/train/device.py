"""Where training runs: the device, the CPU thread count, mixed precision."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch


def available_cpus() -> int:
    """CPUs this process may really use: its affinity, capped by a cgroup CPU quota.

    In a container ``os.cpu_count()`` reports the host's cores; running that many threads on a
    2-core quota makes every step slower.
    """
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    count = count or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            count = min(count, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return count


@dataclass(frozen=True)
class Device:
    device: torch.device
    amp_dtype: torch.dtype | None  # autocast dtype on CUDA; None: full precision
    channels_last: bool

    @property
    def type(self) -> str:
        return self.device.type

    def describe(self) -> str:
        if self.type == "cpu":
            return f"cpu ({torch.get_num_threads()} threads)"
        name = torch.cuda.get_device_name(self.device) if self.type == "cuda" else self.type
        amp = f", {str(self.amp_dtype).removeprefix('torch.')} autocast" if self.amp_dtype else ""
        return f"{self.type} ({name}{amp})"


class DeviceError(Exception):
    pass


def select(requested: str, convolutional: bool) -> Device:
    """``auto`` picks cuda, then mps, then cpu. CUDA trains in mixed precision; convolutional
    networks use channels_last memory, which is faster on CUDA and with oneDNN on CPU."""
    mps = getattr(torch.backends, "mps", None)
    mps_ok = mps is not None and mps.is_available()
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "mps" if mps_ok else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda: no CUDA GPU is available (try --device auto)")
    if requested == "mps" and not mps_ok:
        raise DeviceError("--device mps: Apple's Metal backend is not available here")
    if requested == "cpu":
        torch.set_num_threads(available_cpus())
        return Device(torch.device("cpu"), None, convolutional)
    if requested == "cuda":
        torch.backends.cudnn.benchmark = True
        amp = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return Device(torch.device("cuda"), amp, convolutional)
    return Device(torch.device(requested), None, False)
