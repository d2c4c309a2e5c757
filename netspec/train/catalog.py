"""The data sets the runner knows, and where their files are looked for (no torch here).

Each data set is one ``Dataset`` entry: its images' shape, its classes, the format and names of
its official files, the torchvision class (and arguments) that downloads it, and the folders it
may sit in.

Where, in order:

1. ``--data-dir`` (the ``data_dir`` argument), or else the ``NETSPEC_DATA`` directory;
2. netspec's cache directory, where downloads go (``~/.cache/netspec/data``);
3. for Fashion-MNIST, Debian's ``dataset-fashion-mnist`` package
   (``/usr/share/datasets/fashion-mnist``).

A directory given explicitly (1.) must hold the data set: when it does not, netspec looks no
further and does not download, so a mistyped path is reported rather than silently replaced
by other files.

A directory may hold the files flat, in a folder named after the data set, or in torchvision's
layout (``FashionMNIST/raw/``, ``cifar-10-batches-py/``, ``stl10_binary/``, …); IDX files may be
gzipped or not.
"""

from __future__ import annotations

import os
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from netspec.spec.model import DATASETS as SPEC_DATASETS

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

# The official on-disk formats; datasets.READERS has a reader for each.
Format = Literal["idx", "qmnist", "cifar10", "cifar100", "svhn", "stl10", "usps"]
# Formats whose files are found gzipped (name.gz) or not (name).
GZIPPED_OR_NOT: frozenset[Format] = frozenset({"idx", "qmnist"})

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
DIGITS = tuple(string.digits)
DOWNLOAD_HINT = "or run once on a machine with internet access to download it."


@dataclass(frozen=True)
class Dataset:
    """A data set: what it holds and how to find it."""

    name: str
    shape: tuple[int, int, int]  # C, H, W of one image
    classes: tuple[str, ...]
    format: Format
    # The files of each part, in the order the format's reader takes them (IDX: images, labels).
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    torchvision_class: str  # which torchvision dataset class downloads it
    folders: tuple[str, ...]  # folder names it may sit in below a data directory
    # Passed to the torchvision class for both parts (EMNIST's split).
    torchvision_args: tuple[tuple[str, str], ...] = ()
    # How the torchvision class is asked for a part: train=True/False, or split="train"/"test".
    torchvision_part: Literal["train", "split"] = "train"
    # The label the files give the first class (EMNIST letters, SVHN, STL-10 and USPS count
    # from 1): their labels become class indices 0…C−1 (SVHN's own way: see its entry).
    first_label: int = 0
    system_dirs: tuple[Path, ...] = ()
    how_to_get: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def files(self) -> tuple[str, ...]:
        return self.train_files + self.test_files

    def torchvision_arguments(self, part: Literal["train", "test"]) -> dict[str, str | bool]:
        """The keyword arguments (besides root and download) that ask for ``part``."""
        chosen: dict[str, str | bool] = (
            {"train": part == "train"} if self.torchvision_part == "train" else {"split": part}
        )
        return {**dict(self.torchvision_args), **chosen}


def _emnist(split: str, classes: tuple[str, ...], first_label: int = 0) -> Dataset:
    """One EMNIST split: IDX files named after it, all in one folder (``EMNIST/raw/`` in
    torchvision's layout, ``gzip/`` in the official gzip.zip)."""
    stems = [
        f"emnist-{split}-{part}-{kind}"
        for part in ("train", "test")
        for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
    ]
    return Dataset(
        name=f"emnist_{split}",
        shape=(1, 28, 28),
        classes=classes,
        format="idx",
        train_files=tuple(stems[:2]),
        test_files=tuple(stems[2:]),
        torchvision_class="EMNIST",
        folders=("EMNIST/raw", "emnist", "EMNIST", "gzip"),
        torchvision_args=(("split", split),),
        first_label=first_label,
        how_to_get=(
            "Unzip gzip.zip (from https://www.nist.gov/itl/products-and-services/emnist-dataset; "
            f"it holds {stems[0]}.gz, …) and pass --data-dir, {DOWNLOAD_HINT}"
        ),
    )


# EMNIST's 47 balanced classes: the letters whose capital and small forms look alike are
# merged into the capital (torchvision's names).
_EMNIST_MERGED = tuple(sorted(set(string.digits + string.ascii_letters) - set("cijklmopsuvwxyz")))

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
            train_files=IDX_FILES[:2],
            test_files=IDX_FILES[2:],
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
            classes=DIGITS,
            format="idx",
            train_files=IDX_FILES[:2],
            test_files=IDX_FILES[2:],
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
            format="cifar10",
            train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
            test_files=("test_batch",),
            torchvision_class="CIFAR10",
            folders=("cifar-10-batches-py", "cifar10", "cifar-10"),
            how_to_get=(
                "Unpack cifar-10-python.tar.gz (the 'python version' from "
                "https://www.cs.toronto.edu/~kriz/cifar.html) and pass --data-dir, or run once "
                "on a machine with internet access to download it."
            ),
        ),
        Dataset(
            name="kmnist",
            shape=(1, 28, 28),
            classes=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
            format="idx",
            train_files=IDX_FILES[:2],
            test_files=IDX_FILES[2:],
            torchvision_class="KMNIST",
            folders=("KMNIST/raw", "kmnist", "KMNIST"),
            how_to_get=(
                "Put the four IDX files of Kuzushiji-MNIST (train-images-idx3-ubyte.gz, …, from "
                "https://github.com/rois-codh/kmnist) in a directory and pass --data-dir, "
                f"{DOWNLOAD_HINT}"
            ),
        ),
        Dataset(
            name="qmnist",
            shape=(1, 28, 28),
            classes=DIGITS,
            format="qmnist",
            train_files=("qmnist-train-images-idx3-ubyte", "qmnist-train-labels-idx2-int"),
            test_files=("qmnist-test-images-idx3-ubyte", "qmnist-test-labels-idx2-int"),
            torchvision_class="QMNIST",
            folders=("QMNIST/raw", "qmnist", "QMNIST"),
            how_to_get=(
                "Put the four files qmnist-{train,test}-{images-idx3-ubyte,labels-idx2-int}.gz "
                "(from https://github.com/facebookresearch/qmnist) in a directory and pass "
                f"--data-dir, {DOWNLOAD_HINT}"
            ),
        ),
        _emnist("balanced", _EMNIST_MERGED),
        _emnist("byclass", tuple(sorted(string.digits + string.ascii_letters))),
        _emnist("bymerge", _EMNIST_MERGED),
        _emnist("digits", DIGITS),
        # The letters split merges each letter's capital and small forms: 26 classes, which
        # its files label 1…26 (torchvision keeps the 1…26 and adds an empty class 0).
        _emnist("letters", tuple(string.ascii_lowercase), first_label=1),
        _emnist("mnist", DIGITS),
        Dataset(
            name="usps",
            shape=(1, 16, 16),
            classes=DIGITS,
            format="usps",
            train_files=("usps.bz2",),
            test_files=("usps.t.bz2",),
            torchvision_class="USPS",
            folders=("usps", "USPS"),
            first_label=1,
            how_to_get=(
                "Put usps.bz2 and usps.t.bz2 (from https://www.csie.ntu.edu.tw/~cjlin/"
                "libsvmtools/datasets/multiclass.html#usps) in a directory and pass --data-dir, "
                f"{DOWNLOAD_HINT}"
            ),
        ),
        Dataset(
            name="cifar100",
            shape=(3, 32, 32),
            classes=tuple(
                "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy "
                "bridge bus butterfly camel can castle caterpillar cattle chair chimpanzee clock "
                "cloud cockroach couch crab crocodile cup dinosaur dolphin elephant flatfish "
                "forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion "
                "lizard lobster man maple_tree motorcycle mountain mouse mushroom oak_tree "
                "orange orchid otter palm_tree pear pickup_truck pine_tree plain plate poppy "
                "porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk "
                "skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table "
                "tank telephone television tiger tractor train trout tulip turtle wardrobe whale "
                "willow_tree wolf woman worm".split()
            ),
            format="cifar100",
            train_files=("train",),
            test_files=("test",),
            torchvision_class="CIFAR100",
            folders=("cifar-100-python", "cifar100", "cifar-100"),
            how_to_get=(
                "Unpack cifar-100-python.tar.gz (the 'python version' from "
                f"https://www.cs.toronto.edu/~kriz/cifar.html) and pass --data-dir, {DOWNLOAD_HINT}"
            ),
        ),
        Dataset(
            name="svhn",
            shape=(3, 32, 32),
            classes=DIGITS,
            format="svhn",
            train_files=("train_32x32.mat",),
            test_files=("test_32x32.mat",),
            torchvision_class="SVHN",
            folders=("svhn", "SVHN"),
            torchvision_part="split",
            first_label=1,  # its files label the digits 1…9 as themselves and 0 as 10
            how_to_get=(
                "Put train_32x32.mat and test_32x32.mat (format 2, from "
                "http://ufldl.stanford.edu/housenumbers/) in a directory and pass --data-dir, "
                f"{DOWNLOAD_HINT}"
            ),
        ),
        Dataset(
            name="stl10",
            shape=(3, 96, 96),
            classes=tuple("airplane bird car cat deer dog horse monkey ship truck".split()),
            format="stl10",
            train_files=("train_X.bin", "train_y.bin"),
            test_files=("test_X.bin", "test_y.bin"),
            torchvision_class="STL10",
            folders=("stl10_binary", "stl10", "STL10"),
            torchvision_part="split",
            first_label=1,
            how_to_get=(
                "Unpack stl10_binary.tar.gz (from https://cs.stanford.edu/~acoates/stl10/) and "
                f"pass --data-dir, {DOWNLOAD_HINT}"
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


def file_path(dataset: Dataset, directory: Path, name: str) -> Path | None:
    """One of the data set's files in ``directory`` (gzipped or not, in formats that allow
    both), if it is there."""
    if dataset.format in GZIPPED_OR_NOT:
        return idx_path(directory, name)
    path = directory / name
    return path if path.is_file() else None


def _candidates(dataset: Dataset, roots: list[Path], system: bool) -> Iterator[Path]:
    for root in roots:
        yield root
        for folder in dataset.folders:
            yield root / folder
    if system:
        yield from dataset.system_dirs


def find(dataset: Dataset, data_dir: str | Path | None) -> tuple[Path | None, list[Path]]:
    """The first directory holding the whole data set, and every directory looked in. With
    an explicit data directory, only there."""
    tried = []
    system = not explicit_roots(data_dir)
    for directory in _candidates(dataset, search_roots(data_dir), system):
        tried.append(directory)
        if not missing_files(dataset, directory):
            return directory, tried
    return None, tried


def missing_files(dataset: Dataset, directory: Path) -> list[str]:
    """The data set's files that ``directory`` lacks (IDX files: with or without .gz)."""
    optional_gz = "[.gz]" if dataset.format in GZIPPED_OR_NOT else ""
    return [
        f"{name}{optional_gz}"
        for name in dataset.files
        if file_path(dataset, directory, name) is None
    ]


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
