"""Decoded data, cached: built once, kept in memory for the process and on disk for later runs.

A cache file is never trusted: one that cannot be read, was written for other inputs, or does
not hold what its reader expects is rebuilt and replaced. The files are written atomically
(readers see the old file or the new one), and a cache directory that cannot be written only
costs the time of decoding again.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable
from pathlib import Path

import torch

from netspec.files import write_atomically
from netspec.train.catalog import cache_dir
from netspec.train.split import Split

# (kind, key) → (fingerprint, split): the latest state only, as on disk.
_MEMORY: dict[tuple[str, str], tuple[str, Split]] = {}


def cached_split(
    kind: str,
    key: str,
    build: Callable[[], Split],
    sound: Callable[[Split], bool],
    *,
    fingerprint: str = "",
) -> Split:
    """The split ``build`` returns, built at most once for these inputs.

    ``key`` names the cache file, ``cache_dir()/decoded/{kind}-{key}.pt`` (a file name's
    characters only). ``fingerprint`` identifies the inputs' present state (their files'
    sizes and times): a file written for another fingerprint is rebuilt and replaced, so data
    that keeps changing keeps one cache file, not one per change. ``sound`` says whether a
    split read back is one ``build`` could have returned; it may raise on garbage, which counts
    as unsound.
    """
    remembered = _MEMORY.get((kind, key))
    if remembered is not None and remembered[0] == fingerprint:
        return remembered[1]
    path = cache_dir() / "decoded" / f"{kind}-{key}.pt"
    split = _read(path, fingerprint, sound)
    if split is None:
        split = build()
        buffer = io.BytesIO()
        torch.save({"fingerprint": fingerprint, "split": vars(split)}, buffer)
        with contextlib.suppress(OSError):  # a read-only cache only costs time
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(path, buffer.getvalue())
    _MEMORY[kind, key] = (fingerprint, split)
    return split


def _read(path: Path, fingerprint: str, sound: Callable[[Split], bool]) -> Split | None:
    """The split cached in ``path`` for ``fingerprint``; None if there is none to trust."""
    if not path.is_file():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved["fingerprint"] != fingerprint:
            return None
        split = Split(**saved["split"])
        return split if sound(split) else None
    except Exception:  # a damaged file, whatever the damage, is rebuilt, never trusted
        return None


def split_fits(
    split: Split,
    image_shape: tuple[int, ...],
    num_classes: int,
    image_dtypes: tuple[torch.dtype, ...] = (torch.uint8,),
) -> bool:
    """Whether every part of ``split`` holds images of ``image_shape`` in one of
    ``image_dtypes`` (finite, when floating) with one int64 label 0…num_classes−1 each, and
    whether its statistics are one finite mean and positive std per channel: what a ``sound``
    check needs beyond what its data set adds. May raise on a split that is not one."""
    for images, labels in (
        (split.val_images, split.val_labels),
        (split.test_images, split.test_labels),
    ):
        if (images is None) != (labels is None):
            return False
    for _, images, labels in split.parts():
        if not (
            isinstance(images, torch.Tensor)
            and isinstance(labels, torch.Tensor)
            and images.dtype in image_dtypes
            and tuple(images.shape[1:]) == image_shape
            and labels.dtype == torch.long
            and labels.ndim == 1
            and 0 < len(labels) == len(images)
            and int(labels.min()) >= 0
            and int(labels.max()) < num_classes
            and (not images.is_floating_point() or bool(torch.isfinite(images).all()))
        ):
            return False
    stats = (*split.mean, *split.std)
    return (
        len(split.mean) == len(split.std) == image_shape[0]
        and all(math.isfinite(value) for value in stats)
        and all(value > 0 for value in split.std)
    )
