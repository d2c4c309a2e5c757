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
import math
import os
import pickle
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import torch

from netspec.files import write_atomically
from netspec.train.catalog import (
    DATASETS,
    IDX_FILES,
    Dataset,
    cache_dir,
    download_dir,
    explicit_roots,
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


# More images than any IDX data set the runner reads holds (MNIST: 60,000), so that a header
# cannot make netspec allocate or decompress without bound.
MAX_IDX_ITEMS = 1_000_000
IDX_IMAGE_SIZE = (28, 28)
_CHUNK = 1 << 20  # decompress a megabyte at a time


def read_idx(
    path: Path,
    dims: int,
    item_shape: tuple[int, ...] | None = None,
    max_items: int = MAX_IDX_ITEMS,
) -> torch.Tensor:
    """One IDX file (gzipped or not) as a uint8 tensor; a clear DataError if it is damaged.

    The header is read first and checked (``item_shape``: the size each item must have; at
    least one and at most ``max_items`` items); then exactly the data it promises is read, a
    chunk at a time, stopping as soon as the file proves longer: a small gzip file that
    expands to gigabytes is refused after a megabyte, not decompressed whole.
    """
    compressed = path.suffix == ".gz"
    try:
        stream = gzip.open(path, "rb") if compressed else open(path, "rb")  # noqa: SIM115
    except OSError as error:
        raise DataError(f"{path}: cannot read it: {error.strerror or error}") from error
    with stream:
        try:
            return _read_idx_stream(stream, path, dims, item_shape, max_items)  # type: ignore[arg-type]  # both read bytes
        except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
            if not compressed:
                raise DataError(f"{path}: cannot read it: {error}") from error
            raise DataError(f"{path} is corrupt: cannot decompress it ({error})") from error


def _read_exactly(stream: BinaryIO, size: int) -> bytearray:
    """Up to ``size`` bytes (fewer only at the end of the file), a chunk at a time."""
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(min(_CHUNK, size - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def _read_idx_stream(
    stream: BinaryIO,
    path: Path,
    dims: int,
    item_shape: tuple[int, ...] | None,
    max_items: int,
) -> torch.Tensor:
    header_size = 4 + 4 * dims
    header = _read_exactly(stream, header_size)
    if len(header) < header_size:
        raise DataError(f"{path} is truncated: {len(header)} bytes, not even an IDX header")
    magic = int.from_bytes(header[:4], "big")
    if magic != 0x0800 + dims:
        raise DataError(
            f"{path} is not an IDX file of uint8 with {dims} dim(s): magic number "
            f"0x{magic:08x}, expected 0x{0x0800 + dims:08x}"
        )
    sizes = [int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    shape = "×".join(map(str, sizes))
    if item_shape is not None and tuple(sizes[1:]) != item_shape:
        raise DataError(
            f"{path} holds items of {'×'.join(map(str, sizes[1:]))}, expected "
            f"{'×'.join(map(str, item_shape))} (its header says {shape})"
        )
    if sizes[0] == 0:
        raise DataError(f"{path} is empty: its header declares 0 items")
    if sizes[0] > max_items:
        raise DataError(
            f"{path} declares {sizes[0]:,} items, more than the {max_items:,} a data set of "
            "this kind can hold"
        )
    expected = math.prod(sizes)
    data = _read_exactly(stream, expected)
    if len(data) < expected:
        raise DataError(
            f"{path} is truncated: its header promises {shape} = {expected:,} bytes of data, "
            f"the file holds {len(data):,}"
        )
    if stream.read(1):
        raise DataError(
            f"{path} is too long: its header promises {shape} = {expected:,} bytes of data, "
            "the file holds more"
        )
    return torch.frombuffer(data, dtype=torch.uint8).reshape(sizes)


def _read_idx_dataset(directory: Path, name: str, classes: int) -> Split:
    paths = [idx_path(directory, stem) for stem in IDX_FILES]
    assert all(paths), "checked by find()"
    train_images, train_labels, test_images, test_labels = (
        read_idx(path, dims, IDX_IMAGE_SIZE if dims == 3 else ())  # type: ignore[arg-type]
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


# An official batch is 10,000 images in 31 MB; anything much larger is not a CIFAR-10 batch,
# and is refused before it is unpickled into memory.
CIFAR_BATCH_IMAGES = 10_000
CIFAR_MAX_FILE_BYTES = 64 << 20


def _read_cifar_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        size = path.stat().st_size
    except OSError as error:
        raise DataError(f"{path}: cannot read it: {error.strerror or error}") from error
    if size > CIFAR_MAX_FILE_BYTES:
        raise DataError(
            f"{path} is not a CIFAR-10 batch: {size:,} bytes, more than the "
            f"{CIFAR_MAX_FILE_BYTES:,} a batch of {CIFAR_BATCH_IMAGES:,} images takes"
        )
    try:
        with open(path, "rb") as stream:
            batch = _CifarUnpickler(stream, encoding="latin1").load()
        data, labels = (
            batch.get("data", batch.get(b"data")),
            batch.get("labels", batch.get(b"labels")),
        )
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise DataError(f"{path} is corrupt or not a CIFAR-10 batch: {error}") from error
    except OSError as error:
        raise DataError(f"{path}: cannot read it: {error.strerror or error}") from error
    if data is None or labels is None:
        raise DataError(f"{path} is not a CIFAR-10 batch: it has no 'data' and 'labels'")
    try:
        images = torch.as_tensor(data)
        label_tensor = torch.as_tensor(list(labels), dtype=torch.long)
    except (TypeError, ValueError, RuntimeError, OverflowError) as error:
        raise DataError(f"{path} is not a CIFAR-10 batch: {error}") from error
    if images.dtype != torch.uint8 or images.ndim != 2 or images.shape[1] != 3 * 32 * 32:
        raise DataError(
            f"{path} is not a CIFAR-10 batch: data is {tuple(images.shape)} {images.dtype}, "
            "expected N×3072 uint8"
        )
    if not 0 < len(images) <= CIFAR_BATCH_IMAGES:
        raise DataError(
            f"{path} holds {len(images):,} images, expected 1 to {CIFAR_BATCH_IMAGES:,}"
        )
    if label_tensor.ndim != 1 or len(label_tensor) != len(images):
        raise DataError(f"{path} holds {len(images):,} images but {len(label_tensor):,} labels")
    return images.reshape(-1, 3, 32, 32), label_tensor


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
    # A directory the user named must hold the data: never replace it by a download.
    may_download = download and not os.environ.get("NETSPEC_NO_DOWNLOAD")
    if directory is None and may_download and not explicit_roots(data_dir):
        directory, failure = _download(dataset)
        tried.append(Path(f"a download into {download_dir()}"))
    if directory is None:
        raise DataError(not_found_message(dataset, tried, failure, data_dir))

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
        if split is not None and not _sound(split, dataset):
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


def _sound(split: Split, dataset: Dataset) -> bool:
    """Whether a decoded split read from the cache is one netspec could have written."""
    try:
        for images, labels in (
            (split.train_images, split.train_labels),
            (split.test_images, split.test_labels),
        ):
            if not (
                isinstance(images, torch.Tensor)
                and isinstance(labels, torch.Tensor)
                and images.dtype == torch.uint8
                and labels.dtype == torch.long
                and tuple(images.shape[1:]) == dataset.shape
                and labels.ndim == 1
                and 0 < len(labels) == len(images)
                and int(labels.min()) >= 0
                and int(labels.max()) < dataset.num_classes
            ):
                return False
        channels = dataset.shape[0]
        stats = (*split.mean, *split.std)
        return (
            len(split.mean) == len(split.std) == channels
            and all(math.isfinite(value) for value in stats)
            and all(value > 0 for value in split.std)
        )
    except (TypeError, ValueError, RuntimeError):
        return False


def _check_shape(dataset: Dataset, split: Split) -> None:
    for images, which in ((split.train_images, "train"), (split.test_images, "test")):
        if tuple(images.shape[1:]) != dataset.shape:
            found = "×".join(map(str, images.shape[1:]))
            expected = "×".join(map(str, dataset.shape))
            raise DataError(
                f"{dataset.name} {which} images in {split.source} are {found}, expected {expected}"
            )
