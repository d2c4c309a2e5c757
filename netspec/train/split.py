"""A data set in memory: its parts as tensors, its classes and its statistics (no reading here:
``datasets`` reads named data sets, ``own_data`` a user's, ``cache`` keeps them decoded)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch


class DataError(Exception):
    """A data set is missing, unreadable or does not fit the spec; the message says why."""


@dataclass(frozen=True)
class Split:
    """A data set's parts as tensors: images (N, C, H, W) — uint8, or float32 from a user's
    tensor file — and int64 labels. Train always; validation and test where the data set has
    them (the runner holds out a seeded part of train when there is no validation part)."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor | None = None
    test_labels: torch.Tensor | None = None
    val_images: torch.Tensor | None = None
    val_labels: torch.Tensor | None = None
    classes: tuple[str, ...] = ()
    source: str = ""
    # Per channel, of the training images in [0, 1] (uint8 ÷ 255) or as stored (float32).
    mean: tuple[float, ...] = field(default=())
    std: tuple[float, ...] = field(default=())

    def parts(self) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
        """(name, images, labels) of each part present: train, val, test."""
        found = [("train", self.train_images, self.train_labels)]
        for name in ("val", "test"):
            images, labels = getattr(self, f"{name}_images"), getattr(self, f"{name}_labels")
            if images is not None and labels is not None:
                found.append((name, images, labels))
        return found


_STATS_CHUNK = 4096  # images at a time: float64 copies of EMNIST's 700,000 would take 4 GB


def with_stats(split: Split) -> Split:
    """The split with the per-channel mean and std of its training images (uint8 scaled to
    [0, 1], as the runner feeds them)."""
    images = split.train_images
    scale = 255.0 if images.dtype == torch.uint8 else 1.0
    channels = images.shape[1]
    total = torch.zeros(channels, dtype=torch.float64)
    squares = torch.zeros(channels, dtype=torch.float64)
    for start in range(0, len(images), _STATS_CHUNK):
        chunk = images[start : start + _STATS_CHUNK].to(torch.float64).div_(scale)
        chunk = chunk.transpose(0, 1).reshape(channels, -1)
        total += chunk.sum(dim=1)
        squares += chunk.square().sum(dim=1)
    count = images[:, 0].numel()
    mean = total / count
    # The unbiased variance, as torch.std gives it; never below 0 for rounding.
    variance = ((squares - count * mean.square()) / max(count - 1, 1)).clamp_(min=0)
    std = [float(value) or 1.0 for value in variance.sqrt()]
    return replace(split, mean=tuple(float(value) for value in mean), std=tuple(std))
