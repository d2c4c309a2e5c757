"""Small data sets in the real on-disk formats, for the runner's tests.

Images are learnable: class k lights a band whose position depends on k, over noise, so a short
run can beat chance.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np


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
    header = (0x0800 + array.ndim).to_bytes(4, "big")
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx_dataset(
    directory: Path, train: int = 256, test: int = 128, gz: bool = True, seed: int = 0
) -> Path:
    """The four (Fashion-)MNIST IDX files, gzipped like the originals unless ``gz`` is false."""
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, count, offset in (("train", train, 0), ("t10k", test, 1)):
        images, labels = images_and_labels(count, 1, 28, seed=seed + offset)
        for stem, array in (
            (f"{prefix}-images-idx3-ubyte", images[:, 0]),
            (f"{prefix}-labels-idx1-ubyte", labels),
        ):
            data = idx_bytes(array)
            if gz:
                (directory / f"{stem}.gz").write_bytes(gzip.compress(data))
            else:
                (directory / stem).write_bytes(data)
    return directory


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
