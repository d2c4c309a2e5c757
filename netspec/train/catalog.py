"""The data sets the runner knows, and where their files are looked for (no torch here).

Where, in order:

1. ``--data-dir`` (the ``data_dir`` argument), or else the ``NETSPEC_DATA`` directory;
2. netspec's cache directory, where downloads go (``~/.cache/netspec/data``);
3. for Fashion-MNIST, Debian's ``dataset-fashion-mnist`` package
   (``/usr/share/datasets/fashion-mnist``).

A directory given explicitly (1.) must hold the data set: when it does not, netspec looks no
further and does not download, so a mistyped path is reported rather than silently replaced
by other files.

A directory may hold the files flat, in a folder named after the data set, or in torchvision's
layout (``FashionMNIST/raw/``, ``cifar-10-batches-py/``); IDX files may be gzipped or not.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from netspec.spec.model import DATASETS as SPEC_DATASETS

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
CIFAR_FILES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")


@dataclass(frozen=True)
class Dataset:
    """A data set: what it holds and how to find it."""

    name: str
    shape: tuple[int, int, int]  # C, H, W of one image
    classes: tuple[str, ...]
    format: Literal["idx", "cifar"]
    torchvision_class: str  # which torchvision dataset class downloads it
    folders: tuple[str, ...]  # folder names it may sit in below a data directory
    system_dirs: tuple[Path, ...] = ()
    how_to_get: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.classes)


DATASETS: dict[str, Dataset] = {
    dataset.name: dataset
    for dataset in (
        Dataset(
            name="fashion_mnist",
            shape=(1, 28, 28),
            classes=tuple(
                "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot".split(
                    ","
                )
            ),
            format="idx",
            torchvision_class="FashionMNIST",
            folders=("FashionMNIST/raw", "fashion_mnist", "fashion-mnist", "FashionMNIST"),
            system_dirs=(DEBIAN_FASHION_MNIST,),
            how_to_get=(
                "On Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist. Or put the four "
                "IDX files (train-images-idx3-ubyte.gz, …) in a directory and pass --data-dir."
            ),
        ),
        Dataset(
            name="mnist",
            shape=(1, 28, 28),
            classes=tuple(str(digit) for digit in range(10)),
            format="idx",
            torchvision_class="MNIST",
            folders=("MNIST/raw", "mnist", "MNIST"),
            how_to_get=(
                "Put the four IDX files (train-images-idx3-ubyte.gz, …) in a directory and pass "
                "--data-dir, or run once on a machine with internet access to download them."
            ),
        ),
        Dataset(
            name="cifar10",
            shape=(3, 32, 32),
            classes=tuple("plane car bird cat deer dog frog horse ship truck".split()),
            format="cifar",
            torchvision_class="CIFAR10",
            folders=("cifar-10-batches-py", "cifar10", "cifar-10"),
            how_to_get=(
                "Unpack cifar-10-python.tar.gz (the 'python version' from "
                "https://www.cs.toronto.edu/~kriz/cifar.html) and pass --data-dir, or run once "
                "on a machine with internet access to download it."
            ),
        ),
    )
}
if tuple(DATASETS) != SPEC_DATASETS:  # a data set a spec may name needs an entry here
    raise ImportError(f"the catalog has {tuple(DATASETS)}, specs name {SPEC_DATASETS}")


def cache_dir() -> Path:
    """``$NETSPEC_CACHE``, or ``$XDG_CACHE_HOME/netspec``, or ``~/.cache/netspec``."""
    if explicit := os.environ.get("NETSPEC_CACHE"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "netspec"


def download_dir() -> Path:
    return cache_dir() / "data"


def explicit_roots(data_dir: str | Path | None) -> list[tuple[str, Path]]:
    """The data directory the user named, and how: ``--data-dir``, or else ``$NETSPEC_DATA``."""
    if data_dir:  # the flag says where for this run: not $NETSPEC_DATA too
        return [("--data-dir", Path(data_dir))]
    if env := os.environ.get("NETSPEC_DATA"):
        return [("$NETSPEC_DATA", Path(env))]
    return []


def search_roots(data_dir: str | Path | None) -> list[Path]:
    roots = [root for _, root in explicit_roots(data_dir)]
    return roots or [download_dir()]


def idx_path(directory: Path, stem: str) -> Path | None:
    """An IDX file, gzipped or not, if it is there."""
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    return None


def _candidates(dataset: Dataset, roots: list[Path], system: bool) -> Iterator[Path]:
    for root in roots:
        yield root
        for folder in dataset.folders:
            yield root / folder
    if system:
        yield from dataset.system_dirs


def _complete(dataset: Dataset, directory: Path) -> bool:
    if dataset.format == "idx":
        return all(idx_path(directory, stem) for stem in IDX_FILES)
    return all((directory / name).is_file() for name in CIFAR_FILES)


def find(dataset: Dataset, data_dir: str | Path | None) -> tuple[Path | None, list[Path]]:
    """The first directory holding the whole data set, and every directory looked in. With
    an explicit data directory, only there."""
    tried = []
    system = not explicit_roots(data_dir)
    for directory in _candidates(dataset, search_roots(data_dir), system):
        tried.append(directory)
        if _complete(dataset, directory):
            return directory, tried
    return None, tried


def missing_files(dataset: Dataset, directory: Path) -> list[str]:
    """The data set's files that ``directory`` lacks (IDX files: with or without .gz)."""
    if dataset.format == "idx":
        return [f"{stem}[.gz]" for stem in IDX_FILES if idx_path(directory, stem) is None]
    return [name for name in CIFAR_FILES if not (directory / name).is_file()]


def _explicit_problem(dataset: Dataset, data_dir: str | Path | None) -> str:
    """What is wrong with each directory the user named, and that netspec looked no further."""
    lines = []
    for how, root in explicit_roots(data_dir):
        if not root.is_dir():
            lines.append(f"{how} {root}: {'not a' if root.exists() else 'no such'} directory")
            continue
        # The closest candidate: the one holding most of the files.
        candidates = [root, *(root / folder for folder in dataset.folders)]
        closest = min(candidates, key=lambda path: len(missing_files(dataset, path)))
        lacking = missing_files(dataset, closest)
        lines.append(f"{how} {root}: {closest} lacks {', '.join(lacking)}")
    lines.append("A data directory was given, so netspec looked nowhere else and did not download.")
    return "\n".join(lines)


def not_found_message(
    dataset: Dataset,
    tried: list[Path],
    failure: str = "",
    data_dir: str | Path | None = None,
) -> str:
    places = "\n".join(f"  {path}" for path in tried)
    explicit = f"\n{_explicit_problem(dataset, data_dir)}" if explicit_roots(data_dir) else ""
    failed = f"\nThe download failed: {failure}" if failure else ""
    return f"{dataset.name} not found. Looked in:\n{places}{explicit}{failed}\n{dataset.how_to_get}"
