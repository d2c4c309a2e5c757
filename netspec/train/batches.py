"""Batches cut by index from uint8 tensors that stay on the device, normalised on the fly.

No per-sample Python, no PIL: one ``randperm`` per epoch (seeded by the run's seed and the epoch
number, so any epoch can be replayed exactly when a run resumes), one gather per batch, one
fused multiply-add to turn bytes into normalised floats.

With several processes (torchrun) every process draws the same order and takes its own slice
of each batch: ``batch_size`` is per process, the step's batch is ``batch_size × processes``
images, and one process with that batch size sees the same batches.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch


class Batches:
    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        mean: Sequence[float],
        std: Sequence[float],
        device: torch.device,
        channels_last: bool = False,
        shard: tuple[int, int] = (0, 1),
    ) -> None:
        self.rank, self.processes = shard  # this process's slice of each batch, of how many
        self.images = images.to(device)
        self.labels = labels.to(device)
        self.batch_size = batch_size
        self.device = device
        self.channels_last = channels_last and images.ndim == 4
        shape = (1, len(mean), *([1] * (images.ndim - 2)))
        std_t = torch.tensor(std, dtype=torch.float32, device=device).reshape(shape)
        mean_t = torch.tensor(mean, dtype=torch.float32, device=device).reshape(shape)
        # x / 255 normalised = x · scale + shift (float data is normalised as it is)
        pixels = 255.0 if images.dtype == torch.uint8 else 1.0
        self.scale = 1.0 / (pixels * std_t)
        self.shift = -mean_t / std_t

    def __len__(self) -> int:
        """Batches per epoch. A last batch that would give a process a single sample joins the
        one before: batch norm cannot train on a single sample."""
        full, rest = divmod(len(self.labels), self.batch_size * self.processes)
        return full + (1 if rest >= 2 * self.processes or full == 0 else 0)

    def images_in(self, index: int) -> int:
        """How many images batch ``index`` holds over every process (the last one: the rest)."""
        size = self.batch_size * self.processes
        return self.samples - index * size if index == len(self) - 1 else size

    @property
    def samples(self) -> int:
        return len(self.labels)

    def order(self, epoch: int | None, seed: int) -> torch.Tensor:
        """The sample order of an epoch; None means as stored (for evaluation)."""
        if epoch is None:
            return torch.arange(self.samples, device=self.device)
        generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        return torch.randperm(self.samples, generator=generator).to(self.device)

    def __call__(
        self, epoch: int | None = None, seed: int = 0, start: int = 0, raw: bool = False
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The batches of an epoch (shuffled) or of the whole set in order (``epoch=None``),
        from batch number ``start`` on; normalised, or as stored when ``raw`` (for
        augmentation, which normalises them itself)."""
        order = self.order(epoch, seed)
        count = len(self)
        size = self.batch_size * self.processes
        for index in range(start, count):
            begin = index * size
            end = begin + self.images_in(index)
            chosen = order[begin:end].tensor_split(self.processes)[self.rank]
            images = self.images[chosen]
            yield (images if raw else self.normalise(images)), self.labels[chosen]

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        x = torch.addcmul(self.shift, images.to(torch.float32), self.scale)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x
