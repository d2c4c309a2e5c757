"""Small data sets in the real on-disk formats, for the runner's tests.

Images are learnable: class k lights a band whose position depends on k, over noise, so a short
run can beat chance. Each writer puts the files where torchvision's dataset class looks for them
under the directory it is given (its ``root``), and returns the folder that holds them.
"""

from __future__ import annotations

import bz2
import gzip
import pickle
from pathlib import Path

import numpy as np

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def images_and_labels(
    count: int, channels: int, size: int, classes: int = 10, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, count).astype(np.uint8)
    images = rng.integers(0, 60, (count, channels, size, size)).astype(np.uint8)
    band = max(size // classes, 1)
    for index, label in enumerate(labels):
        row = (int(label) * band) % size
        images[index, :, row : row + band, :] = 220
    return images, labels


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file: of big-endian int32 for an int32 array (QMNIST's labels), else of uint8."""
    stored = np.dtype(">i4") if array.dtype == np.int32 else np.dtype(np.uint8)
    header = ((0x0C if array.dtype == np.int32 else 0x08) << 8 | array.ndim).to_bytes(4, "big")
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=stored).tobytes()


def _write(path: Path, data: bytes, gz: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        Path(f"{path}.gz").write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


def write_idx_dataset(
    directory: Path,
    train: int = 256,
    test: int = 128,
    gz: bool = True,
    seed: int = 0,
    names: tuple[str, ...] = MNIST_FILES,
    classes: int = 10,
    first_label: int = 0,
) -> Path:
    """Four IDX files (train images and labels, test images and labels; MNIST's names unless
    ``names`` says otherwise) in ``directory``, gzipped like the originals unless ``gz`` is
    false; the labels count from ``first_label``."""
    for (images_name, labels_name), count, offset in (
        (names[:2], train, 0),
        (names[2:], test, 1),
    ):
        images, labels = images_and_labels(count, 1, 28, classes, seed=seed + offset)
        _write(directory / images_name, idx_bytes(images[:, 0]), gz)
        _write(directory / labels_name, idx_bytes(labels + first_label), gz)
    return directory


def write_emnist(
    directory: Path,
    split: str,
    classes: int,
    first_label: int = 0,
    count: int = 6,
    gz: bool = False,
) -> Path:
    """One EMNIST split's four files in ``EMNIST/raw/``, torchvision's layout (uncompressed, as
    its download leaves them)."""
    names = tuple(
        f"emnist-{split}-{part}-{kind}"
        for part in ("train", "test")
        for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
    )
    raw = directory / "EMNIST" / "raw"
    return write_idx_dataset(raw, count, count, gz, 0, names, classes, first_label)


def write_qmnist(directory: Path, count: int = 6, gz: bool = False) -> Path:
    """QMNIST in ``QMNIST/raw/``: IDX images, and labels of 8 int32 per image (the class, then
    NIST's writer, series and so on)."""
    raw = directory / "QMNIST" / "raw"
    for part, offset in (("train", 0), ("test", 1)):
        images, labels = images_and_labels(count, 1, 28, seed=offset)
        table = np.random.default_rng(offset).integers(0, 4000, (count, 8)).astype(np.int32)
        table[:, 0] = labels
        _write(raw / f"qmnist-{part}-images-idx3-ubyte", idx_bytes(images[:, 0]), gz)
        _write(raw / f"qmnist-{part}-labels-idx2-int", idx_bytes(table), gz)
    return raw


def write_cifar10(directory: Path, per_batch: int = 64, test: int = 128, seed: int = 0) -> Path:
    """cifar-10-batches-py: five data batches, a test batch and batches.meta, as pickles."""
    folder = directory / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    names = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"]
    for index, name in enumerate([*names, "test_batch"]):
        count = test if name == "test_batch" else per_batch
        images, labels = images_and_labels(count, 3, 32, seed=seed + index)
        batch = {
            "batch_label": name,
            "labels": [int(label) for label in labels],
            "data": images.reshape(count, 3 * 32 * 32),
            "filenames": [f"{name}_{i}.png" for i in range(count)],
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {
        "label_names": [
            "airplane",
            "automobile",
            "bird",
            "cat",
            "deer",
            "dog",
            "frog",
            "horse",
            "ship",
            "truck",
        ]
    }
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return folder


def write_cifar100(directory: Path, train: int = 8, test: int = 6, seed: int = 0) -> Path:
    """cifar-100-python: train, test (fine and coarse labels) and meta, as pickles."""
    folder = directory / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    for name, count, offset in (("train", train, 0), ("test", test, 1)):
        images, labels = images_and_labels(count, 3, 32, classes=100, seed=seed + offset)
        batch = {
            "filenames": [f"{name}_{i}.png" for i in range(count)],
            "batch_label": f"{name} batch 1 of 1",
            "fine_labels": [int(label) for label in labels],
            "coarse_labels": [int(label) // 5 for label in labels],
            "data": images.reshape(count, 3 * 32 * 32),
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {
        "fine_label_names": [f"fine_{i}" for i in range(100)],
        "coarse_label_names": [f"coarse_{i}" for i in range(20)],
    }
    (folder / "meta").write_bytes(pickle.dumps(meta, protocol=2))
    return folder


def svhn_mat(images: np.ndarray, labels: np.ndarray, path: Path, compress: bool = True) -> None:
    """An SVHN file (format 2): X is H×W×C×N uint8, y is N×1 with the digit 0 as 10."""
    from scipy.io import savemat

    path.parent.mkdir(parents=True, exist_ok=True)
    digits = np.where(labels == 0, 10, labels).astype(np.uint8).reshape(-1, 1)
    savemat(path, {"X": images.transpose(2, 3, 1, 0), "y": digits}, do_compression=compress)


def write_svhn(directory: Path, train: int = 6, test: int = 5, seed: int = 0) -> Path:
    """train_32x32.mat and test_32x32.mat, flat in ``directory`` (torchvision's SVHN root)."""
    for name, count, offset in (("train", train, 0), ("test", test, 1)):
        images, labels = images_and_labels(count, 3, 32, seed=seed + offset)
        svhn_mat(images, labels, directory / f"{name}_32x32.mat")
    return directory


def write_stl10(directory: Path, train: int = 4, test: int = 3, seed: int = 0) -> Path:
    """stl10_binary: {train,test}_{X,y}.bin — images stored column by column (3×96×96 each),
    labels 1…10, one byte each — and class_names.txt."""
    folder = directory / "stl10_binary"
    folder.mkdir(parents=True, exist_ok=True)
    for name, count, offset in (("train", train, 0), ("test", test, 1)):
        images, labels = images_and_labels(count, 3, 96, seed=seed + offset)
        (folder / f"{name}_X.bin").write_bytes(images.transpose(0, 1, 3, 2).tobytes())
        (folder / f"{name}_y.bin").write_bytes((labels + 1).tobytes())
    names = "airplane bird car cat deer dog horse monkey ship truck".split()
    (folder / "class_names.txt").write_text("\n".join(names) + "\n")
    return folder


def usps_text(images: np.ndarray, labels: np.ndarray) -> bytes:
    """libsvm lines as in usps.bz2: the label 1…10 (digit + 1), then index:value for each of
    the 16×16 pixels, values in -1…1."""
    lines = []
    for image, label in zip(images.reshape(len(images), -1), labels, strict=True):
        values = " ".join(f"{i}:{value / 127.5 - 1:.6g}" for i, value in enumerate(image, 1))
        lines.append(f"{int(label) + 1} {values}\n")
    return "".join(lines).encode()


def write_usps(directory: Path, train: int = 6, test: int = 5, seed: int = 0) -> Path:
    """usps.bz2 and usps.t.bz2, flat in ``directory`` (torchvision's USPS root)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, count, offset in (("usps.bz2", train, 0), ("usps.t.bz2", test, 1)):
        images, labels = images_and_labels(count, 1, 16, seed=seed + offset)
        (directory / name).write_bytes(bz2.compress(usps_text(images, labels)))
    return directory
