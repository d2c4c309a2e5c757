"""Reading the data sets: decoded once into uint8 tensors, cached on disk.

Each data set is read from its official on-disk format — IDX files (MNIST, Fashion-MNIST,
KMNIST, QMNIST, EMNIST), the "python version" pickles (CIFAR-10, CIFAR-100), MATLAB files
(SVHN), raw binary files (STL-10), bzip2'd libsvm text (USPS) — where ``catalog.find`` finds it,
or downloaded through torchvision's dataset classes when it is nowhere (unless downloads are
off). Images and labels are exactly torchvision's. The decoded tensors are cached, so later runs
start at once.

Every reader treats its files as untrusted: sizes are checked before anything is allocated or
decompressed, pickles may hold nothing but arrays, and a damaged file is a ``DataError`` naming
the file and what is wrong with it.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import io
import math
import os
import pickle
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import numpy as np
import torch

from netspec.train.cache import cached_split, split_fits
from netspec.train.catalog import (
    DATASETS,
    Dataset,
    Format,
    download_dir,
    explicit_roots,
    file_path,
    find,
    not_found_message,
)
from netspec.train.split import DataError, Split, with_stats

# A format's reader: one part's files (``Dataset.train_files`` or ``test_files``, found) to
# uint8 images (N, C, H, W) and class indices (N, int64).
Part = tuple[torch.Tensor, torch.Tensor]
PartReader = Callable[[Dataset, list[Path]], Part]

_CHUNK = 1 << 20  # read and decompress a megabyte at a time


def _check_counts(images: int, labels: int, where: str, labels_where: str = "") -> None:
    if images != labels:
        labels_in = f"{labels_where} " if labels_where else ""
        raise DataError(f"{where} holds {images:,} images but {labels_in}{labels:,} labels")


def _check_labels(dataset: Dataset, labels: torch.Tensor, where: str) -> None:
    """Each label must be one the data set's files give its classes."""
    lowest, highest = dataset.first_label, dataset.first_label + dataset.num_classes - 1
    if not len(labels):
        return
    smallest, largest = int(labels.min()), int(labels.max())
    if smallest < lowest or largest > highest:
        bad = smallest if smallest < lowest else largest
        raise DataError(
            f"{where} has label {bad}, but {dataset.name}'s {dataset.num_classes} classes are "
            f"labelled {lowest}…{highest}"
        )


def _class_indices(dataset: Dataset, labels: torch.Tensor, where: str) -> torch.Tensor:
    """The files' labels as class indices 0…C−1."""
    _check_labels(dataset, labels, where)
    return labels.long() - dataset.first_label


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as error:
        raise DataError(f"{path}: cannot read it: {error.strerror or error}") from error


def _read_exactly(stream: BinaryIO, size: int) -> bytearray:
    """Up to ``size`` bytes (fewer only at the end of the file), a chunk at a time."""
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(min(_CHUNK, size - len(data)))
        if not chunk:
            break
        data += chunk
    return data


# --- IDX (MNIST, Fashion-MNIST, KMNIST, QMNIST, EMNIST) ----------------------------------------


# More images than any IDX data set the runner reads holds (EMNIST byclass: 697,932), so that a
# header cannot make netspec allocate or decompress without bound.
MAX_IDX_ITEMS = 1_000_000
# The IDX element types netspec reads: their type code and how they are stored (big-endian).
_IDX_TYPES: dict[torch.dtype, tuple[int, np.dtype[Any]]] = {
    torch.uint8: (0x08, np.dtype("u1")),
    torch.int32: (0x0C, np.dtype(">i4")),  # QMNIST's labels
}


def read_idx(
    path: Path,
    dims: int,
    item_shape: tuple[int, ...] | None = None,
    max_items: int = MAX_IDX_ITEMS,
    dtype: torch.dtype = torch.uint8,
) -> torch.Tensor:
    """One IDX file (gzipped or not) as a tensor of ``dtype`` (uint8 or int32); a clear
    DataError if it is damaged.

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
            return _read_idx_stream(stream, path, dims, item_shape, max_items, dtype)  # type: ignore[arg-type]  # both read bytes
        except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
            if not compressed:
                raise DataError(f"{path}: cannot read it: {error}") from error
            raise DataError(f"{path} is corrupt: cannot decompress it ({error})") from error


def _read_idx_stream(
    stream: BinaryIO,
    path: Path,
    dims: int,
    item_shape: tuple[int, ...] | None,
    max_items: int,
    dtype: torch.dtype,
) -> torch.Tensor:
    type_code, stored = _IDX_TYPES[dtype]
    header_size = 4 + 4 * dims
    header = _read_exactly(stream, header_size)
    if len(header) < header_size:
        raise DataError(f"{path} is truncated: {len(header)} bytes, not even an IDX header")
    magic, expected_magic = int.from_bytes(header[:4], "big"), (type_code << 8) + dims
    if magic != expected_magic:
        raise DataError(
            f"{path} is not an IDX file of {str(dtype).removeprefix('torch.')} with {dims} "
            f"dim(s): magic number 0x{magic:08x}, expected 0x{expected_magic:08x}"
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
    expected = math.prod(sizes) * stored.itemsize
    promised = shape if stored.itemsize == 1 else f"{shape} × {stored.itemsize}"
    data = _read_exactly(stream, expected)
    if len(data) < expected:
        raise DataError(
            f"{path} is truncated: its header promises {promised} = {expected:,} bytes of data, "
            f"the file holds {len(data):,}"
        )
    if stream.read(1):
        raise DataError(
            f"{path} is too long: its header promises {promised} = {expected:,} bytes of data, "
            "the file holds more"
        )
    if stored.itemsize == 1:
        return torch.frombuffer(data, dtype=torch.uint8).reshape(sizes)
    return torch.from_numpy(
        np.frombuffer(data, dtype=stored).astype(stored.newbyteorder("="))
    ).reshape(sizes)


def _idx_labels(path: Path) -> torch.Tensor:
    return read_idx(path, 1, ())


def _qmnist_labels(path: Path) -> torch.Tensor:
    # Eight int32 per image: the class first, then NIST's writer, series and so on.
    return read_idx(path, 2, (8,), dtype=torch.int32)[:, 0]


def _read_idx_part(
    dataset: Dataset, paths: list[Path], read_labels: Callable[[Path], torch.Tensor]
) -> Part:
    images_path, labels_path = paths
    # As stored, as torchvision gives them: EMNIST's images are transposed (x and y swapped).
    images = read_idx(images_path, 3, dataset.shape[1:])
    labels = read_labels(labels_path)
    _check_counts(len(images), len(labels), str(images_path), str(labels_path))
    return images.unsqueeze(1), _class_indices(dataset, labels, str(labels_path))


# --- CIFAR-10, CIFAR-100 (python pickles) -------------------------------------------------------


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


@dataclass(frozen=True)
class CifarFiles:
    """What one pickle of a CIFAR format holds, and how large it may be: a file much larger
    than the official ones is refused before it is unpickled into memory."""

    kind: str  # "CIFAR-10 batch"
    labels_key: str
    max_images: int
    max_bytes: int

    @property
    def unit(self) -> str:
        return self.kind.split()[-1]


# An official CIFAR-10 batch is 10,000 images in 31 MB; CIFAR-100's train file 50,000 in 155 MB.
CIFAR10_FILES = CifarFiles("CIFAR-10 batch", "labels", 10_000, 64 << 20)
CIFAR100_FILES = CifarFiles("CIFAR-100 file", "fine_labels", 50_000, 256 << 20)


def _read_cifar_file(path: Path, files: CifarFiles) -> Part:
    """One pickle's images and its labels as stored."""
    size = _file_size(path)
    if size > files.max_bytes:
        raise DataError(
            f"{path} is not a {files.kind}: {size:,} bytes, more than the {files.max_bytes:,} a "
            f"{files.unit} of {files.max_images:,} images takes"
        )
    try:
        with open(path, "rb") as stream:
            batch = _CifarUnpickler(stream, encoding="latin1").load()
        data, labels = (
            batch.get("data", batch.get(b"data")),
            batch.get(files.labels_key, batch.get(files.labels_key.encode())),
        )
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise DataError(f"{path} is corrupt or not a {files.kind}: {error}") from error
    except OSError as error:
        raise DataError(f"{path}: cannot read it: {error.strerror or error}") from error
    if data is None or labels is None:
        raise DataError(f"{path} is not a {files.kind}: it has no 'data' and '{files.labels_key}'")
    try:
        images = torch.as_tensor(data)
        label_tensor = torch.as_tensor(list(labels), dtype=torch.long)
    except (TypeError, ValueError, RuntimeError, OverflowError) as error:
        raise DataError(f"{path} is not a {files.kind}: {error}") from error
    if images.dtype != torch.uint8 or images.ndim != 2 or images.shape[1] != 3 * 32 * 32:
        raise DataError(
            f"{path} is not a {files.kind}: data is {tuple(images.shape)} {images.dtype}, "
            "expected N×3072 uint8"
        )
    if not 0 < len(images) <= files.max_images:
        raise DataError(f"{path} holds {len(images):,} images, expected 1 to {files.max_images:,}")
    if label_tensor.ndim != 1:
        raise DataError(f"{path} is not a {files.kind}: its labels are not a list")
    _check_counts(len(images), len(label_tensor), str(path))
    return images.reshape(-1, 3, 32, 32), label_tensor


def _read_cifar_part(dataset: Dataset, paths: list[Path], files: CifarFiles) -> Part:
    read = [_read_cifar_file(path, files) for path in paths]
    labels = [
        _class_indices(dataset, labels, str(path))
        for path, (_, labels) in zip(paths, read, strict=True)
    ]
    return torch.cat([images for images, _ in read]), torch.cat(labels)


# --- SVHN (MATLAB 5 files) ----------------------------------------------------------------------


# More images than a part of SVHN holds (train: 73,257; the 531,131 "extra" are not read).
SVHN_MAX_IMAGES = 100_000
# What its variables may hold: the images, and the labels (at most 8 bytes each) with headers.
SVHN_MAX_CONTENT = SVHN_MAX_IMAGES * 3 * 32 * 32 + (1 << 20)
_MAT_COMPRESSED = 15  # miCOMPRESSED: a zlib-compressed variable


def _check_mat_content(path: Path, limit: int) -> None:
    """Refuses a MATLAB 5 file whose variables hold more than ``limit`` bytes, found by walking
    its variables and inflating the compressed ones a chunk at a time, before scipy inflates
    each whole: a small file cannot make it decompress gigabytes."""
    try:
        with open(path, "rb") as stream:
            header = stream.read(128)
            order = {b"IM": "<", b"MI": ">"}.get(header[126:128]) if len(header) == 128 else None
            if order is None or struct.unpack(f"{order}H", header[124:126])[0] != 0x0100:
                raise DataError(f"{path} is not a MATLAB 5 file (SVHN's format 2 is)")
            content = 0
            while tag := stream.read(8):
                if len(tag) < 8:
                    raise DataError(f"{path} is truncated: it ends inside a variable's header")
                kind, size = struct.unpack(f"{order}II", tag)
                if kind == _MAT_COMPRESSED:
                    content += _inflated_size(stream, size, limit - content, path)
                else:
                    content += size
                    stream.seek(size, os.SEEK_CUR)
                if content > limit:
                    raise DataError(
                        f"{path} holds more than {limit:,} bytes of data, more than an SVHN "
                        f"file of {SVHN_MAX_IMAGES:,} images"
                    )
    except OSError as error:
        raise DataError(f"{path}: cannot read it: {error.strerror or error}") from error
    except zlib.error as error:
        raise DataError(f"{path} is corrupt: cannot decompress it ({error})") from error


def _inflated_size(stream: BinaryIO, size: int, budget: int, path: Path) -> int:
    """How many bytes the zlib data in the next ``size`` bytes of ``stream`` inflates to, or
    more than ``budget`` as soon as it proves that long; leaves ``stream`` after them."""
    inflater = zlib.decompressobj()
    left, produced, pending = size, 0, b""
    while not inflater.eof and produced <= budget:
        if not pending:
            if not left:
                break
            pending = stream.read(min(_CHUNK, left))
            if not pending:
                raise DataError(f"{path} is truncated: it ends inside a compressed variable")
            left -= len(pending)
        produced += len(inflater.decompress(pending, _CHUNK))
        pending = inflater.unconsumed_tail
    stream.seek(left, os.SEEK_CUR)
    return produced


def _read_svhn_part(dataset: Dataset, paths: list[Path]) -> Part:
    (path,) = paths
    if (size := _file_size(path)) > SVHN_MAX_CONTENT:
        raise DataError(
            f"{path} is not an SVHN file: {size:,} bytes, more than the {SVHN_MAX_CONTENT:,} "
            f"that {SVHN_MAX_IMAGES:,} images take"
        )
    _check_mat_content(path, SVHN_MAX_CONTENT)
    import scipy.io

    try:
        variables = scipy.io.loadmat(path, variable_names=("X", "y"))
    except Exception as error:  # scipy's parser raises many kinds on a damaged file
        raise DataError(f"{path} is corrupt or not an SVHN file: {error}") from error
    images, labels = variables.get("X"), variables.get("y")
    if not isinstance(images, np.ndarray) or not isinstance(labels, np.ndarray):
        raise DataError(f"{path} is not an SVHN file: it has no arrays 'X' and 'y'")
    height, width, channels = dataset.shape[1], dataset.shape[2], dataset.shape[0]
    if (
        images.dtype != np.uint8
        or images.shape[:3] != (height, width, channels)
        or images.ndim != 4
    ):
        raise DataError(
            f"{path} is not an SVHN file: X is {'×'.join(map(str, images.shape))} {images.dtype}, "
            f"expected {height}×{width}×{channels}×N uint8"
        )
    if not 0 < images.shape[3] <= SVHN_MAX_IMAGES:
        raise DataError(
            f"{path} holds {images.shape[3]:,} images, expected 1 to {SVHN_MAX_IMAGES:,}"
        )
    # y is N×1 (torchvision squeezes it); its numbers may be stored as doubles.
    flat = labels.reshape(-1) if labels.ndim == 2 and 1 in labels.shape else labels
    numbers = flat.dtype.kind in "iu" or (
        flat.dtype.kind == "f"
        and bool(np.all(np.isfinite(flat) & (flat == np.round(flat)) & (abs(flat) < 2**31)))
    )
    if flat.ndim != 1 or not numbers:
        raise DataError(
            f"{path} is not an SVHN file: y is {'×'.join(map(str, labels.shape))} "
            f"{labels.dtype}, expected N×1 whole numbers"
        )
    whole = flat.astype(np.int64)
    _check_counts(images.shape[3], len(whole), f"{path}'s X", "its y")
    label_tensor = torch.from_numpy(whole)
    _check_labels(dataset, label_tensor, f"{path}'s y")
    # X is H×W×C×N (MATLAB's order); the digit 0 is labelled 10, as torchvision maps it.
    return (
        torch.from_numpy(np.ascontiguousarray(images.transpose(3, 2, 0, 1))),
        label_tensor % 10,
    )


# --- STL-10 (raw binary files) ------------------------------------------------------------------


# The largest STL-10 file, the unlabeled part (not read), holds 100,000 images; train 5,000.
STL10_MAX_IMAGES = 100_000


def _read_whole(path: Path, size: int) -> bytearray:
    """A file whose size was checked: exactly ``size`` bytes."""
    try:
        with open(path, "rb") as stream:
            data = _read_exactly(stream, size)
            longer = bool(stream.read(1))
    except OSError as error:
        raise DataError(f"{path}: cannot read it: {error.strerror or error}") from error
    if len(data) != size or longer:
        raise DataError(f"{path} changed while it was read")
    return data


def _read_stl10_part(dataset: Dataset, paths: list[Path]) -> Part:
    images_path, labels_path = paths
    image_bytes = math.prod(dataset.shape)
    size, count = _file_size(images_path), _file_size(labels_path)
    if size == 0 or size % image_bytes:
        raise DataError(
            f"{images_path} is not an STL-10 image file: {size:,} bytes, not a whole number of "
            f"{'×'.join(map(str, dataset.shape))} images ({image_bytes:,} bytes each)"
        )
    if size // image_bytes > STL10_MAX_IMAGES:
        raise DataError(
            f"{images_path} holds {size // image_bytes:,} images, more than the "
            f"{STL10_MAX_IMAGES:,} of the largest STL-10 file"
        )
    _check_counts(size // image_bytes, count, str(images_path), str(labels_path))
    images = torch.frombuffer(_read_whole(images_path, size), dtype=torch.uint8)
    labels = torch.frombuffer(_read_whole(labels_path, count), dtype=torch.uint8)
    # Each image is stored column by column (MATLAB's order): H and W swap, as in torchvision.
    images = images.reshape(-1, *dataset.shape).transpose(2, 3).contiguous()
    return images, _class_indices(dataset, labels, str(labels_path))


# --- USPS (bzip2'd libsvm text) -----------------------------------------------------------------


# More lines than a part of USPS has (train: 7,291 images), and a line far longer than one of
# 256 "index:value" pairs: read a line at a time, a small bzip2 file that would inflate to
# gigabytes is refused early.
USPS_MAX_LINES = 10_000
USPS_MAX_LINE = 256 * 64


def _read_usps_part(dataset: Dataset, paths: list[Path]) -> Part:
    (path,) = paths
    pixels = dataset.shape[1] * dataset.shape[2]
    labels: list[str] = []
    values: list[str] = []
    try:
        with bz2.open(path, "rb") as stream:
            for number in range(1, USPS_MAX_LINES + 2):
                line = stream.readline(USPS_MAX_LINE + 1)
                if not line:
                    break
                if number > USPS_MAX_LINES:
                    raise DataError(
                        f"{path} has more than {USPS_MAX_LINES:,} lines, more than a part of "
                        "USPS holds"
                    )
                if len(line) > USPS_MAX_LINE:
                    raise DataError(
                        f"{path}, line {number}: longer than {USPS_MAX_LINE:,} bytes, not a line "
                        "of USPS"
                    )
                # Each line: the label, then one "index:value" per pixel (value in -1…1).
                fields = line.decode().split()
                if not fields:
                    continue
                if len(fields) != pixels + 1:
                    raise DataError(
                        f"{path}, line {number}: {len(fields) - 1} values after the label, "
                        f"expected {pixels}"
                    )
                labels.append(fields[0])
                values.extend(field.rpartition(":")[2] for field in fields[1:])
    except UnicodeDecodeError as error:
        raise DataError(f"{path} is not a USPS file: it is not text ({error})") from error
    except (OSError, EOFError, ValueError) as error:  # a damaged stream is an OSError
        raise DataError(f"{path} is corrupt: cannot decompress it ({error})") from error
    if not labels:
        raise DataError(f"{path} is empty: it holds no images")
    try:
        label_tensor = torch.tensor([int(label) for label in labels])
        levels = np.asarray(values, dtype=np.float32)
    except (ValueError, OverflowError, RuntimeError) as error:  # torch: "Overflow when unpacking"
        raise DataError(f"{path} is not a USPS file: {error}") from error
    if not np.all((levels >= -1) & (levels <= 1)):  # NaN fails too
        raise DataError(f"{path} has pixel values outside -1…1")
    # torchvision's arithmetic exactly (in float32), so that the images are the same bytes.
    images = ((levels.reshape(-1, *dataset.shape) + 1) / 2 * 255).astype(np.uint8)
    return torch.from_numpy(images), _class_indices(dataset, label_tensor, str(path))


READERS: dict[Format, PartReader] = {
    "idx": partial(_read_idx_part, read_labels=_idx_labels),
    "qmnist": partial(_read_idx_part, read_labels=_qmnist_labels),
    "cifar10": partial(_read_cifar_part, files=CIFAR10_FILES),
    "cifar100": partial(_read_cifar_part, files=CIFAR100_FILES),
    "svhn": _read_svhn_part,
    "stl10": _read_stl10_part,
    "usps": _read_usps_part,
}


def _paths(dataset: Dataset, directory: Path, names: tuple[str, ...]) -> list[Path]:
    """Where the data set's files ``names`` are in ``directory`` (which ``find`` chose)."""
    found = [file_path(dataset, directory, name) for name in names]
    paths = [path for path in found if path is not None]
    if len(paths) < len(names):
        lacking = [name for name, path in zip(names, found, strict=True) if path is None]
        raise DataError(f"{directory} no longer holds {', '.join(lacking)}")
    return paths


def _read(dataset: Dataset, directory: Path) -> Split:
    read_part = READERS[dataset.format]
    train_images, train_labels = read_part(dataset, _paths(dataset, directory, dataset.train_files))
    test_images, test_labels = read_part(dataset, _paths(dataset, directory, dataset.test_files))
    return Split(
        train_images,
        train_labels,
        test_images,
        test_labels,
        classes=dataset.classes,
        source=str(directory),
    )


def _download(dataset: Dataset) -> tuple[Path | None, str]:
    """Download with torchvision into the cache. Returns (directory, why it failed)."""
    import torchvision.datasets

    root = download_dir()
    cls = getattr(torchvision.datasets, dataset.torchvision_class)
    try:
        # torchvision prints what it tries; its failure is summed up in our own message.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            for part in ("train", "test"):
                cls(str(root), download=True, **dataset.torchvision_arguments(part))
    except Exception as error:  # network, disk, checksum: all mean "no data from here"
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return None, reason
    directory, _ = find(dataset, root)
    return directory, "" if directory else "the download did not produce the expected files"


def _cache_key(dataset: Dataset, directory: Path) -> str:
    """Changes when any of the data set's files does (others beside them do not count: SVHN
    and USPS share torchvision's download folder with others)."""
    digest = hashlib.sha256(dataset.name.encode())
    for path in _paths(dataset, directory, dataset.files):
        stat = path.stat()
        digest.update(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def load(name: str, data_dir: str | Path | None = None, download: bool = True) -> Split:
    """A named data set's train and test parts as uint8 tensors, with its classes, decoded at
    most once."""
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

    split = cached_split(
        name,
        _cache_key(dataset, directory),
        lambda: with_stats(_read(dataset, directory)),
        lambda split: (
            split.classes == dataset.classes
            and split.test_images is not None
            and split.val_images is None
            and split_fits(split, dataset.shape, dataset.num_classes)
        ),
    )
    _check_shape(dataset, split)
    return split


def _check_shape(dataset: Dataset, split: Split) -> None:
    for which, images, _ in split.parts():
        if tuple(images.shape[1:]) != dataset.shape:
            found = "×".join(map(str, images.shape[1:]))
            expected = "×".join(map(str, dataset.shape))
            raise DataError(
                f"{dataset.name} {which} images in {split.source} are {found}, expected {expected}"
            )
