"""Reading the data sets: decoded once into uint8 tensors, cached on disk.

Each data set is read from its official on-disk format — IDX files for MNIST and Fashion-MNIST,
the "python version" pickles for CIFAR-10 — where ``catalog.find`` finds it, or downloaded
through torchvision's dataset classes when it is nowhere (unless downloads are off). The decoded
tensors are cached, so later runs start at once.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import pickle
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from netspec.files import write_atomically
from netspec.train.catalog import (
    DATASETS,
    IDX_FILES,
    Dataset,
    cache_dir,
    download_dir,
    find,
    idx_path,
    not_found_message,
)


class DataError(Exception):
    """A data set is missing, unreadable or does not fit the spec; the message says why."""


@dataclass(frozen=True)
class Split:
    """Decoded images (N, C, H, W, uint8) and labels (N, int64) of train and test."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    source: str = ""
    mean: tuple[float, ...] = field(default=())  # per channel, of the training images in [0, 1]
    std: tuple[float, ...] = field(default=())


# --- IDX (MNIST, Fashion-MNIST) ----------------------------------------------------------------


def read_idx(path: Path, dims: int) -> torch.Tensor:
    """One IDX file (gzipped or not) as a uint8 tensor; a clear DataError if it is damaged."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataError(f"{path} is corrupt: cannot decompress it ({error})") from error
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DataError(f"{path} is truncated: {len(raw)} bytes, not even an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    if magic != 0x0800 + dims:
        raise DataError(
            f"{path} is not an IDX file of uint8 with {dims} dim(s): magic number "
            f"0x{magic:08x}, expected 0x{0x0800 + dims:08x}"
        )
    sizes = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    expected = 1
    for size in sizes:
        expected *= size
    found = len(raw) - header
    if found != expected:
        shape = "×".join(map(str, sizes))
        state = "truncated" if found < expected else "too long"
        raise DataError(
            f"{path} is {state}: its header promises {shape} = {expected:,} bytes of data, "
            f"the file holds {found:,}"
        )
    data = torch.frombuffer(bytearray(raw[header:]), dtype=torch.uint8)
    return data.reshape(sizes)


def _read_idx_dataset(directory: Path, name: str, classes: int) -> Split:
    paths = [idx_path(directory, stem) for stem in IDX_FILES]
    assert all(paths), "checked by find()"
    train_images, train_labels, test_images, test_labels = (
        read_idx(path, dims)  # type: ignore[arg-type]
        for path, dims in zip(paths, (3, 1, 3, 1), strict=True)
    )
    for images, labels, images_path, labels_path in (
        (train_images, train_labels, paths[0], paths[1]),
        (test_images, test_labels, paths[2], paths[3]),
    ):
        if len(images) != len(labels):
            raise DataError(
                f"{images_path} holds {len(images):,} images but {labels_path} "
                f"{len(labels):,} labels"
            )
        if len(labels) and int(labels.max()) >= classes:
            raise DataError(
                f"{labels_path} has label {int(labels.max())}, but {name} has {classes} classes"
            )
    return Split(
        train_images.unsqueeze(1),
        train_labels.long(),
        test_images.unsqueeze(1),
        test_labels.long(),
        source=str(directory),
    )


# --- CIFAR-10 (python pickles) -----------------------------------------------------------------


class _CifarUnpickler(pickle.Unpickler):
    """Reads CIFAR's pickles, refusing any object but numpy arrays: a data file cannot run code."""

    ALLOWED: ClassVar[frozenset[tuple[str, str]]] = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("_codecs", "encode"),  # how protocol 2 stores bytes written by Python 3
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _read_cifar_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        with open(path, "rb") as stream:
            batch = _CifarUnpickler(stream, encoding="latin1").load()
        data, labels = (
            batch.get("data", batch.get(b"data")),
            batch.get("labels", batch.get(b"labels")),
        )
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise DataError(f"{path} is corrupt or not a CIFAR-10 batch: {error}") from error
    if data is None or labels is None:
        raise DataError(f"{path} is not a CIFAR-10 batch: it has no 'data' and 'labels'")
    images = torch.as_tensor(data)
    if images.dtype != torch.uint8 or images.ndim != 2 or images.shape[1] != 3 * 32 * 32:
        raise DataError(
            f"{path} is not a CIFAR-10 batch: data is {tuple(images.shape)} {images.dtype}, "
            "expected N×3072 uint8"
        )
    if len(labels) != len(images):
        raise DataError(f"{path} holds {len(images):,} images but {len(labels):,} labels")
    return images.reshape(-1, 3, 32, 32), torch.as_tensor(list(labels), dtype=torch.long)


def _read_cifar10(directory: Path, name: str, classes: int) -> Split:
    train = [_read_cifar_batch(directory / f"data_batch_{i}") for i in range(1, 6)]
    test_images, test_labels = _read_cifar_batch(directory / "test_batch")
    labels = torch.cat([t[1] for t in train])
    for tensor, where in ((labels, "data_batch_*"), (test_labels, "test_batch")):
        if len(tensor) and (int(tensor.max()) > 9 or int(tensor.min()) < 0):
            raise DataError(f"{directory / where} has labels outside 0…9")
    return Split(
        torch.cat([t[0] for t in train]), labels, test_images, test_labels, source=str(directory)
    )


def _download(dataset: Dataset) -> tuple[Path | None, str]:
    """Download with torchvision into the cache. Returns (directory, why it failed)."""
    import torchvision.datasets

    root = download_dir()
    cls = getattr(torchvision.datasets, dataset.torchvision_class)
    try:
        # torchvision prints what it tries; its failure is summed up in our own message.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            cls(str(root), train=True, download=True)
            cls(str(root), train=False, download=True)
    except Exception as error:  # network, disk, checksum: all mean "no data from here"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return None, reason
    directory, _ = find(dataset, root)
    return directory, "" if directory else "the download did not produce the expected files"


def _cache_key(dataset: Dataset, directory: Path) -> str:
    digest = hashlib.sha256(dataset.name.encode())
    for name in sorted(os.listdir(directory)):
        path = directory / name
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _with_stats(split: Split) -> Split:
    images = split.train_images
    channels = images.shape[1]
    mean, std = [], []
    for c in range(channels):
        values = images[:, c].to(torch.float64) / 255.0
        mean.append(float(values.mean()))
        std.append(float(values.std()) or 1.0)
    return Split(
        split.train_images,
        split.train_labels,
        split.test_images,
        split.test_labels,
        split.source,
        tuple(mean),
        tuple(std),
    )


READERS: dict[str, Callable[[Path, str, int], Split]] = {
    "idx": _read_idx_dataset,
    "cifar": _read_cifar10,
}
_MEMORY: dict[str, Split] = {}


def load(name: str, data_dir: str | Path | None = None, download: bool = True) -> Split:
    """A data set's train and test split as uint8 tensors, decoded at most once."""
    dataset = DATASETS[name]
    directory, tried = find(dataset, data_dir)
    failure = ""
    if directory is None and download and not os.environ.get("NETSPEC_NO_DOWNLOAD"):
        directory, failure = _download(dataset)
        tried.append(Path(f"a download into {download_dir()}"))
    if directory is None:
        raise DataError(not_found_message(dataset, tried, failure))

    key = _cache_key(dataset, directory)
    if key in _MEMORY:
        return _MEMORY[key]
    cached = cache_dir() / "decoded" / f"{name}-{key}.pt"
    split = None
    if cached.is_file():
        try:
            split = Split(**torch.load(cached, weights_only=True))
        except Exception:  # a damaged cache is rebuilt, never trusted
            split = None
    if split is None:
        split = _with_stats(READERS[dataset.format](directory, name, dataset.num_classes))
        buffer = io.BytesIO()
        torch.save(split.__dict__, buffer)
        with contextlib.suppress(OSError):  # a read-only cache only costs time
            cached.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(cached, buffer.getvalue())
    _check_shape(dataset, split)
    _MEMORY[key] = split
    return split


def _check_shape(dataset: Dataset, split: Split) -> None:
    for images, which in ((split.train_images, "train"), (split.test_images, "test")):
        if tuple(images.shape[1:]) != dataset.shape:
            found = "×".join(map(str, images.shape[1:]))
            expected = "×".join(map(str, dataset.shape))
            raise DataError(
                f"{dataset.name} {which} images in {split.source} are {found}, expected {expected}"
            )
