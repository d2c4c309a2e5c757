"""Where a run's data comes from: a named data set, or a user's own (a folder, a tensor file).

``--data`` (or ``train.data``) is a data set's name when it is one, else a path; either way the
runner gets a ``Split`` whose images fit the spec's input (converted once when ``resize`` is
on, refused with what to do when it is off).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from netspec.shapes import format_dims
from netspec.train.catalog import DATASETS
from netspec.train.conform import ConformError, conform, mismatch_message
from netspec.train.datasets import load
from netspec.train.split import DataError, Split, with_stats


def is_named(data: str) -> bool:
    return data in DATASETS


def describe(data: str) -> str:
    """How messages name the data: ``fashion_mnist``, or the path's last part."""
    return data if is_named(data) else Path(data).name or data


def check_input(data: str, wanted: tuple[int, ...], resize: bool) -> None:
    """Before anything is read: a named data set's images must fit the spec's input, or be
    convertible when ``resize`` is on."""
    if not is_named(data):
        return  # known once its files are read
    found = DATASETS[data].shape
    if found != wanted and not resize:
        raise DataError(mismatch_message(data, found, wanted))
    if found != wanted and len(found) != len(wanted):
        raise DataError(f"spec input is {format_dims(wanted)} but {data} gives images")


def load_data(
    data: str,
    data_dir: str | None,
    download: bool,
    wanted: tuple[int, ...],
    resize: bool,
) -> Split:
    """The data's parts, fitting the spec's input ``wanted`` (C, H, W, …)."""
    if not is_named(data):
        from netspec.train.own_data import load_own

        return load_own(Path(data), wanted, resize)
    check_input(data, wanted, resize)
    split = load(data, data_dir, download=download)
    if DATASETS[data].shape == wanted:
        return split
    try:
        return _conformed(split, wanted)
    except ConformError as error:
        raise DataError(f"{data}: {error}") from error


_CONFORMED: dict[tuple[int, tuple[int, ...]], Split] = {}


def _conformed(split: Split, wanted: tuple[int, ...]) -> Split:
    """``split`` with every part converted to ``wanted`` (once per process), statistics
    recomputed on the converted training images."""
    key = (id(split), wanted)
    if key not in _CONFORMED:
        converted: dict[str, Any] = {
            f"{part}_images": conform(images, wanted) for part, images, _ in split.parts()
        }
        _CONFORMED[key] = with_stats(replace(split, **converted))
    return _CONFORMED[key]
