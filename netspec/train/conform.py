"""Making images fit a spec's input: resizing and grey ↔ RGB, for data sets and for predict.

Done once, on the decoded uint8 tensors (never per batch): a data set converted here is
cached converted, and ``netspec predict`` converts an image file the same way, so a model sees
at prediction what it saw in training.
"""

from __future__ import annotations

import torch

from netspec.shapes import format_dims

RESIZE_CHUNK = 4096  # images resized at a time: bounds the float copy resize makes inside


class ConformError(Exception):
    """Images do not fit the spec's input and may not, or cannot, be converted."""


def conversion_needed(found: tuple[int, ...], wanted: tuple[int, ...]) -> str:
    """What would make images of ``found`` (C, H, W) into ``wanted``, in words ('' for
    nothing): 'resized 96×96 → 32×32', 'grey → RGB'."""
    changes = []
    if found[0] != wanted[0]:
        changes.append(f"{_colour(found[0])} → {_colour(wanted[0])}")
    if found[1:] != wanted[1:]:
        changes.append(f"resized {format_dims(found[1:])} → {format_dims(wanted[1:])}")
    return ", ".join(changes)


def _colour(channels: int) -> str:
    return {1: "grey", 3: "RGB"}.get(channels, f"{channels} channels")


def convertible(found: tuple[int, ...], wanted: tuple[int, ...]) -> bool:
    """Whether images of ``found`` can be made ``wanted``: the same rank, and the same
    channels or grey ↔ RGB."""
    if len(found) != 3 or len(wanted) != 3:
        return found == wanted
    return found[0] == wanted[0] or {found[0], wanted[0]} == {1, 3}


def conform(images: torch.Tensor, wanted: tuple[int, ...]) -> torch.Tensor:
    """``images`` (N, C, H, W; uint8 or float) as ``wanted`` (C, H, W): channels converted
    grey ↔ RGB (ITU-R 601 luma, as torchvision's ``rgb_to_grayscale``), then resized with
    antialiased bilinear interpolation (torchvision's ``resize``, as its transforms do).
    Raises ConformError when it cannot be done."""
    found = tuple(images.shape[1:])
    if found == wanted:
        return images
    if not convertible(found, wanted):
        raise ConformError(
            f"images are {format_dims(found)}, the spec takes {format_dims(wanted)}: "
            "only grey ↔ RGB and sizes can be converted"
        )
    from torchvision.transforms.v2 import functional as F  # noqa: N812 - torchvision's spelling

    if found[0] != wanted[0]:
        images = (
            images.expand(-1, 3, -1, -1)
            if wanted[0] == 3
            else F.rgb_to_grayscale(images, num_output_channels=1)
        )
    if found[1:] != wanted[1:]:
        size = list(wanted[1:])
        images = torch.cat(
            [F.resize(chunk, size, antialias=True) for chunk in images.split(RESIZE_CHUNK)]
        )
    return images.contiguous()


def mismatch_message(what: str, found: tuple[int, ...], wanted: tuple[int, ...]) -> str:
    """Why ``what`` (a data set, a folder) does not fit the spec, and how to make it fit."""
    message = f"spec input is {format_dims(wanted)} but {what} gives {format_dims(found)}"
    if convertible(found, wanted):
        return (
            f"{message}: add `resize: true` to the spec's train: section (or --resize) to "
            f"convert the images once ({conversion_needed(found, wanted)})"
        )
    return message
