"""Training in several processes: ``torchrun`` starts them, PyTorch's DistributedDataParallel
keeps their weights equal.

torchrun sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` (and the rendezvous) for each process;
``join()`` reads them and joins the process group — gloo on CPU, nccl on CUDA — or, outside
torchrun, returns the one-process ``Processes`` whose collectives do nothing. Every process
trains on its own slice of each batch; rank 0 alone prints and writes the run's files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist

# How long a collective waits for the other processes: a rank that died is noticed by
# torchrun first (it stops the others); this bounds a hang where nothing notices.
COLLECTIVE_TIMEOUT = timedelta(minutes=10)


class DistributedError(Exception):
    """Another process of the run failed, or the process group cannot be joined."""


@dataclass(frozen=True)
class Processes:
    """This process's place among the run's processes."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @property
    def main(self) -> bool:
        """Rank 0: the process that prints and writes."""
        return self.rank == 0

    @property
    def several(self) -> bool:
        return self.world_size > 1

    def sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """The tensor summed over every process (in place)."""
        if self.several:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def flags(self, *values: bool, device: torch.device) -> list[bool]:
        """Each flag, true if it is true in any process: one collective for all of them."""
        if not self.several:
            return list(values)
        tensor = torch.tensor([float(v) for v in values], device=device)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return [bool(v) for v in tensor.tolist()]

    def share(self, value: Any) -> Any:
        """Rank 0's ``value`` (a picklable object), in every process."""
        if not self.several:
            return value
        box = [value if self.main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value: Any) -> list[Any]:
        """Every process's ``value``, in rank order (in every process)."""
        if not self.several:
            return [value]
        values: list[Any] = [None] * self.world_size
        dist.all_gather_object(values, value)
        return values

    def wait(self) -> None:
        """Until every process is here."""
        if self.several:
            dist.barrier()

    def align(self, model: torch.nn.Module) -> None:
        """Rank 0's buffers (batch norm's running statistics) in every process: each process
        updates them from its own slice, and they are saved and evaluated as one."""
        if self.several:
            for buffer in model.buffers():
                dist.broadcast(buffer, src=0)

    def leave(self) -> None:
        if self.several and dist.is_initialized():
            dist.destroy_process_group()


ONE = Processes()


def _environment_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError as error:
        raise DistributedError(f"${name} is {os.environ[name]!r}, not a whole number") from error


def join(device: str) -> Processes:
    """The run's processes as torchrun describes them; joins the process group (gloo on CPU,
    nccl on CUDA) when there are several. ``device`` is the --device asked for."""
    world_size = _environment_int("WORLD_SIZE", 1)
    if world_size <= 1:
        return ONE
    processes = Processes(
        rank=_environment_int("RANK", 0),
        world_size=world_size,
        local_rank=_environment_int("LOCAL_RANK", 0),
        local_world_size=_environment_int("LOCAL_WORLD_SIZE", 1),
    )
    cuda = device in ("auto", "cuda") and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(processes.local_rank)
    if not dist.is_initialized():
        try:
            dist.init_process_group(backend="nccl" if cuda else "gloo", timeout=COLLECTIVE_TIMEOUT)
        except (RuntimeError, ValueError) as error:
            raise DistributedError(f"cannot join the other processes: {error}") from error
    return processes
