"""Where training runs: the device, the CPU thread count, mixed precision."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from netspec.diagnostics import plural


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
            return f"cpu ({plural(torch.get_num_threads(), 'thread')})"
        name = torch.cuda.get_device_name(self.device) if self.type == "cuda" else self.type
        amp = f", {str(self.amp_dtype).removeprefix('torch.')} autocast" if self.amp_dtype else ""
        return f"{self.type} ({name}{amp})"


class DeviceError(Exception):
    pass


class ResourceError(Exception):
    """The machine cannot hold what was asked for: the model, a batch."""


def available_memory() -> int | None:
    """Bytes of memory this process may still take: the kernel's estimate of available
    memory, capped by a cgroup memory limit; None where neither can be read."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text())
            found.append(max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


_OUT_OF_MEMORY = (
    "not enough memory",
    "can't allocate memory",
    "out of memory",
    "negative dimension",  # a size past int64 wraps around
    "overflow",  # "Storage size calculation overflowed", "Overflow when unpacking long"
)


def is_out_of_memory(error: BaseException) -> bool:
    """Whether an exception from building or running a model means memory ran out (or a
    size could not even be represented)."""
    if isinstance(error, MemoryError | torch.OutOfMemoryError):
        return True
    text = str(error).lower()
    kinds = RuntimeError | TypeError | OverflowError
    return isinstance(error, kinds) and any(part in text for part in _OUT_OF_MEMORY)


def select(requested: str, convolutional: bool, sharing: int = 1) -> Device:
    """``auto`` picks cuda, then mps, then cpu. CUDA trains in mixed precision; convolutional
    networks use channels_last memory, which is faster on CUDA and with oneDNN on CPU. On CPU
    the ``sharing`` processes of a run on this machine split its CPUs."""
    mps = getattr(torch.backends, "mps", None)
    mps_ok = mps is not None and mps.is_available()
    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "mps" if mps_ok else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda: no CUDA GPU is available (try --device auto)")
    if requested == "mps" and not mps_ok:
        raise DeviceError("--device mps: Apple's Metal backend is not available here")
    if requested == "cpu":
        torch.set_num_threads(max(1, available_cpus() // sharing))
        return Device(torch.device("cpu"), None, convolutional)
    if requested == "cuda":
        torch.backends.cudnn.benchmark = True
        amp = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return Device(torch.device("cuda"), amp, convolutional)
    return Device(torch.device(requested), None, False)
