"""The named data sets beyond Fashion-MNIST, MNIST and CIFAR-10: each written in its official
format and torchvision's layout, read by netspec exactly as torchvision's own dataset class
reads it; missing and damaged files reported with what is wrong."""

from __future__ import annotations

import os
import pickle
import shutil
import string
import tracemalloc
import zlib
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from datagen import (
    images_and_labels,
    svhn_mat,
    usps_text,
    write_cifar100,
    write_emnist,
    write_idx_dataset,
    write_qmnist,
    write_stl10,
    write_svhn,
    write_usps,
)
from helpers import ROOT

from netspec.cli import main
from netspec.train import cache, datasets
from netspec.train import split as split_module
from netspec.train.catalog import DATASETS
from netspec.train.datasets import DataError, load
from netspec.train.split import Split, with_stats

# every test gets its own data directory and cache, and no downloads (conftest.py)
pytestmark = pytest.mark.usefixtures("isolated_data")

EMNIST_CLASSES = {
    "balanced": 47,
    "byclass": 62,
    "bymerge": 47,
    "digits": 10,
    "letters": 26,
    "mnist": 10,
}


def _emnist_writer(split: str, classes: int) -> Callable[[Path], Path]:
    return partial(write_emnist, split=split, classes=classes, first_label=int(split == "letters"))


# Each new data set: how to write it below a torchvision root, and its number of classes.
WRITERS: dict[str, tuple[Callable[[Path], Path], int]] = {
    "kmnist": (lambda root: write_idx_dataset(root / "KMNIST" / "raw", 6, 5, gz=False), 10),
    "qmnist": (write_qmnist, 10),
    **{
        f"emnist_{split}": (_emnist_writer(split, count), count)
        for split, count in EMNIST_CLASSES.items()
    },
    "usps": (write_usps, 10),
    "cifar100": (write_cifar100, 100),
    "svhn": (write_svhn, 10),
    "stl10": (write_stl10, 10),
}


def test_every_named_data_set_is_tested_here_or_in_test_train() -> None:
    assert set(DATASETS) == {"fashion_mnist", "mnist", "cifar10", *WRITERS}


def torchvision_call(name: str, part: str) -> tuple[str, dict[str, object]]:
    """The torchvision class, and the arguments besides root and download, that give ``part``
    of data set ``name`` (written out here, to check the catalog's)."""
    if name.startswith("emnist_"):
        return "EMNIST", {"split": name.removeprefix("emnist_"), "train": part == "train"}
    if name in ("svhn", "stl10"):
        return name.upper(), {"split": part}
    classes = {"kmnist": "KMNIST", "qmnist": "QMNIST", "cifar100": "CIFAR100", "usps": "USPS"}
    return classes[name], {"train": part == "train"}


@pytest.fixture
def torchvision_trusts_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """torchvision checks CIFAR-100's, SVHN's and STL-10's files against the MD5 sums of the
    official ones; the tiny files written here are compared by content instead."""
    import torchvision.datasets.cifar
    import torchvision.datasets.stl10
    import torchvision.datasets.svhn

    for module in (
        torchvision.datasets.cifar,
        torchvision.datasets.svhn,
        torchvision.datasets.stl10,
    ):
        monkeypatch.setattr(module, "check_integrity", lambda *_, **__: True)


def read_by_torchvision(name: str, root: Path, part: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image (C×H×W uint8) and label of ``part`` as torchvision's class yields them."""
    import torchvision.datasets
    from torchvision.transforms.functional import pil_to_tensor

    class_name, arguments = torchvision_call(name, part)
    dataset = getattr(torchvision.datasets, class_name)(str(root), download=False, **arguments)
    pairs = [dataset[index] for index in range(len(dataset))]
    images = torch.stack([pil_to_tensor(image) for image, _ in pairs])
    labels = torch.tensor([label for _, label in pairs])
    # torchvision keeps EMNIST letters' labels 1…26 (its class 0 is "N/A"); netspec's are 0…25.
    return images, labels - int(name == "emnist_letters")


@pytest.mark.usefixtures("torchvision_trusts_small_files")
@pytest.mark.parametrize("name", list(WRITERS))
def test_read_exactly_as_torchvision_reads_it(name: str, isolated_data: Path) -> None:
    write, classes = WRITERS[name]
    write(isolated_data)
    dataset = DATASETS[name]
    split = load(name)
    assert split.classes == dataset.classes and len(set(split.classes)) == classes
    assert split.val_images is None and split.val_labels is None  # the runner holds one out
    assert [part for part, _, _ in split.parts()] == ["train", "test"]
    for part, images, labels in split.parts():
        arguments = dataset.torchvision_arguments("train" if part == "train" else "test")
        assert (dataset.torchvision_class, arguments) == torchvision_call(name, part)
        assert images.dtype == torch.uint8 and labels.dtype == torch.int64
        assert tuple(images.shape[1:]) == dataset.shape
        expected_images, expected_labels = read_by_torchvision(name, isolated_data, part)
        assert torch.equal(images, expected_images)
        assert torch.equal(labels, expected_labels)
        assert int(labels.min()) >= 0 and int(labels.max()) < classes


def test_class_names_are_torchvisions_where_it_names_them() -> None:
    import torchvision.datasets

    assert DATASETS["kmnist"].classes == tuple(torchvision.datasets.KMNIST.classes)
    for split in EMNIST_CLASSES:
        named = torchvision.datasets.EMNIST.classes_split_dict[split]
        expected = named[1:] if split == "letters" else named  # without "N/A"
        assert DATASETS[f"emnist_{split}"].classes == tuple(expected)
    assert DATASETS["emnist_letters"].classes == tuple(string.ascii_lowercase)
    cifar100 = DATASETS["cifar100"].classes  # the fine labels' names, in the order of meta
    assert len(set(cifar100)) == 100 and list(cifar100) == sorted(cifar100)
    assert cifar100[:3] == ("apple", "aquarium_fish", "baby") and cifar100[-1] == "worm"


def test_gzipped_and_plain_idx_files_read_alike(isolated_data: Path, tmp_path: Path) -> None:
    write_idx_dataset(isolated_data / "kmnist", 6, 5, gz=True)
    write_idx_dataset(tmp_path / "plain", 6, 5, gz=False)
    gzipped, plain = load("kmnist"), load("kmnist", tmp_path / "plain")
    assert gzipped.source == str(isolated_data / "kmnist")
    for (_, images, labels), (_, plain_images, plain_labels) in zip(
        gzipped.parts(), plain.parts(), strict=True
    ):
        assert torch.equal(images, plain_images) and torch.equal(labels, plain_labels)


def test_emnist_as_the_official_zip_unpacks(isolated_data: Path) -> None:
    """gzip.zip unpacks into gzip/, every split's files gzipped side by side."""
    write_emnist(isolated_data, "letters", 26, first_label=1, gz=True)
    write_emnist(isolated_data, "digits", 10, gz=True)
    shutil.move(isolated_data / "EMNIST" / "raw", isolated_data / "gzip")
    letters, digits = load("emnist_letters"), load("emnist_digits")
    assert letters.source == digits.source == str(isolated_data / "gzip")
    # Written as 1…26, read as the generator's 0…25.
    assert letters.train_labels.tolist() == images_and_labels(6, 1, 28, 26)[1].tolist()
    assert digits.train_labels.tolist() == images_and_labels(6, 1, 28, 10)[1].tolist()


@pytest.mark.parametrize(
    ("name", "remove", "folders", "closest", "lacking"),
    [
        ("svhn", "test_32x32.mat", ("svhn", "SVHN"), "", "test_32x32.mat"),
        (
            "stl10",
            "stl10_binary/test_y.bin",
            ("stl10_binary", "stl10", "STL10"),
            "stl10_binary",
            "test_y.bin",
        ),
        ("usps", "usps.t.bz2", ("usps", "USPS"), "", "usps.t.bz2"),
        (
            "cifar100",
            "cifar-100-python/train",
            ("cifar-100-python", "cifar100", "cifar-100"),
            "cifar-100-python",
            "train",
        ),
        (
            "emnist_letters",
            "EMNIST/raw/emnist-letters-test-labels-idx1-ubyte",
            ("EMNIST/raw", "emnist", "EMNIST", "gzip"),
            "EMNIST/raw",
            "emnist-letters-test-labels-idx1-ubyte[.gz]",
        ),
        (
            "qmnist",
            "QMNIST/raw/qmnist-train-images-idx3-ubyte",
            ("QMNIST/raw", "qmnist", "QMNIST"),
            "QMNIST/raw",
            "qmnist-train-images-idx3-ubyte[.gz]",
        ),
    ],
)
def test_a_data_dir_lacking_files_names_them(
    name: str, remove: str, folders: tuple[str, ...], closest: str, lacking: str, tmp_path: Path
) -> None:
    given = tmp_path / "given"
    WRITERS[name][0](given)
    (given / remove).unlink()
    with pytest.raises(DataError) as error:
        load(name, given)
    assert str(error.value) == (
        f"{name} not found. Looked in:\n"
        + "".join(f"  {given / folder}\n" for folder in ("", *folders))
        + f"--data-dir {given}: {given / closest} lacks {lacking}\n"
        "A data directory was given, so netspec looked nowhere else and did not download.\n"
        + DATASETS[name].how_to_get
    )


# --- damaged files --------------------------------------------------------------------------


def _svhn(root: Path, images: np.ndarray, labels: list[int]) -> Path:
    """train_32x32.mat holding these images (N×C×H×W) and labels (0 written as 10)."""
    path = root / "train_32x32.mat"
    svhn_mat(images, np.array(labels), path)
    return path


def _replace(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _stl10_labels(root: Path, labels: bytes) -> Path:
    return _replace(root / "stl10_binary" / "train_y.bin", labels)


def _usps_lines(root: Path, text: bytes) -> Path:
    import bz2

    return _replace(root / "usps.bz2", bz2.compress(text))


def _pickle(path: Path, content: dict[str, object]) -> Path:
    return _replace(path, pickle.dumps(content, protocol=2))


def _idx_label(path: Path, label: int) -> Path:
    """An uncompressed IDX labels file with its first label changed."""
    data = bytearray(path.read_bytes())
    data[8] = label
    return _replace(path, bytes(data))


_USPS_ROW = usps_text(np.zeros((1, 16, 16), dtype=np.uint8), np.array([3]))
_EMNIST_RAW = Path("EMNIST/raw")

DAMAGED: dict[str, tuple[str, Callable[[Path], Path], str]] = {
    "svhn: label 11": (
        "svhn",
        lambda root: _svhn(root, np.zeros((3, 3, 32, 32), dtype=np.uint8), [3, 11, 0]),
        "{path}'s y has label 11, but svhn's 10 classes are labelled 1…10",
    ),
    "svhn: not a MATLAB file": (
        "svhn",
        lambda root: _replace(root / "test_32x32.mat", b"<html>Not Found</html>"),
        "{path} is not a MATLAB 5 file (SVHN's format 2 is)",
    ),
    "svhn: X of another size": (
        "svhn",
        lambda root: _svhn(root, np.zeros((2, 3, 28, 28), dtype=np.uint8), [1, 2]),
        "{path} is not an SVHN file: X is 28×28×3×2 uint8, expected 32×32×3×N uint8",
    ),
    "stl10: a byte short": (
        "stl10",
        lambda root: _replace(
            root / "stl10_binary" / "train_X.bin",
            (root / "stl10_binary" / "train_X.bin").read_bytes()[:-1],
        ),
        "{path} is not an STL-10 image file: 110,591 bytes, not a whole number of 3×96×96 "
        "images (27,648 bytes each)",
    ),
    "stl10: label 0": (
        "stl10",
        lambda root: _stl10_labels(root, bytes([1, 0, 10, 2])),
        "{path} has label 0, but stl10's 10 classes are labelled 1…10",
    ),
    "stl10: a label short": (
        "stl10",
        lambda root: _stl10_labels(root, bytes([1, 2, 3])),
        "{path.parent}/train_X.bin holds 4 images but {path} 3 labels",
    ),
    "usps: a value short": (
        "usps",
        lambda root: _usps_lines(root, _USPS_ROW + _USPS_ROW.replace(b" 256:-1", b"")),
        "{path}, line 2: 255 values after the label, expected 256",
    ),
    "usps: a value out of range": (
        "usps",
        lambda root: _usps_lines(root, _USPS_ROW.replace(b" 7:-1 ", b" 7:1.5 ")),
        "{path} has pixel values outside -1…1",
    ),
    "usps: label 11": (
        "usps",
        lambda root: _usps_lines(root, b"11" + _USPS_ROW[1:]),
        "{path} has label 11, but usps's 10 classes are labelled 1…10",
    ),
    "usps: not bzip2": (
        "usps",
        lambda root: _replace(root / "usps.t.bz2", b"usps.t"),
        "{path} is corrupt: cannot decompress it (Invalid data stream)",
    ),
    "cifar100: label 100": (
        "cifar100",
        lambda root: _pickle(
            root / "cifar-100-python" / "test",
            {"data": np.zeros((2, 3072), dtype=np.uint8), "fine_labels": [5, 100]},
        ),
        "{path} has label 100, but cifar100's 100 classes are labelled 0…99",
    ),
    "cifar100: coarse labels only": (
        "cifar100",
        lambda root: _pickle(
            root / "cifar-100-python" / "train",
            {"data": np.zeros((2, 3072), dtype=np.uint8), "coarse_labels": [5, 1]},
        ),
        "{path} is not a CIFAR-100 file: it has no 'data' and 'fine_labels'",
    ),
    "qmnist: labels of uint8": (
        "qmnist",
        lambda root: _replace(
            root / "QMNIST/raw/qmnist-test-labels-idx2-int",
            (root / "QMNIST/raw/qmnist-test-labels-idx2-int").read_bytes()[:2]
            + b"\x08\x01"
            + (root / "QMNIST/raw/qmnist-test-labels-idx2-int").read_bytes()[4:],
        ),
        "{path} is not an IDX file of int32 with 2 dim(s): magic number 0x00000801, expected "
        "0x00000c02",
    ),
    "emnist_letters: label 0": (
        "emnist_letters",
        lambda root: _idx_label(root / _EMNIST_RAW / "emnist-letters-train-labels-idx1-ubyte", 0),
        "{path} has label 0, but emnist_letters's 26 classes are labelled 1…26",
    ),
    "emnist_balanced: label 47": (
        "emnist_balanced",
        lambda root: _idx_label(root / _EMNIST_RAW / "emnist-balanced-test-labels-idx1-ubyte", 47),
        "{path} has label 47, but emnist_balanced's 47 classes are labelled 0…46",
    ),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_a_damaged_file_is_named_with_what_is_wrong(case: str, isolated_data: Path) -> None:
    name, damage, message = DAMAGED[case]
    WRITERS[name][0](isolated_data)
    path = damage(isolated_data)
    with pytest.raises(DataError) as error:
        load(name)
    assert str(error.value) == message.format(path=path)


def test_cifar100_pickles_cannot_run_code(isolated_data: Path) -> None:
    folder = write_cifar100(isolated_data)

    class Exploit:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, ("touch pwned",))

    (folder / "train").write_bytes(pickle.dumps({"data": Exploit()}))
    with pytest.raises(DataError, match=r"refusing to load (posix|os)\.system"):
        load("cifar100")
    assert not Path("pwned").exists()


def test_an_oversized_cifar100_file_is_refused_unread(isolated_data: Path) -> None:
    huge = write_cifar100(isolated_data) / "train"
    with huge.open("r+b") as stream:  # sparse: costs no disk
        stream.truncate((256 << 20) + 1)
    with pytest.raises(DataError) as error:
        load("cifar100")
    assert str(error.value) == (
        f"{huge} is not a CIFAR-100 file: 268,435,457 bytes, more than the 268,435,456 a file "
        "of 50,000 images takes"
    )


def test_a_compressed_svhn_bomb_is_refused_before_scipy_inflates_it(
    isolated_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MATLAB file whose one compressed variable inflates far beyond the limit (1 MiB here):
    refused after inflating a little more than that, a megabyte at a time."""
    write_svhn(isolated_data)
    path = isolated_data / "train_32x32.mat"
    header = path.read_bytes()[:128]
    payload = zlib.compress(bytes(32 << 20), 9)
    path.write_bytes(
        header + (15).to_bytes(4, "little") + len(payload).to_bytes(4, "little") + payload
    )
    monkeypatch.setattr(datasets, "SVHN_MAX_CONTENT", 1 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as error:
            load("svhn")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(error.value) == (
        f"{path} holds more than 1,048,576 bytes of data, more than an SVHN file of 100,000 images"
    )
    assert peak < 8 << 20


def test_a_usps_bomb_is_refused_a_line_at_a_time(
    isolated_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """8 MiB of zeros in 79 bytes of bzip2: refused after its first 16 KiB line."""
    import bz2

    path = write_usps(isolated_data) / "usps.bz2"
    path.write_bytes(bz2.compress(bytes(8 << 20), 1))
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as error:
            load("usps")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(error.value) == f"{path}, line 1: longer than 16,384 bytes, not a line of USPS"
    assert peak < 4 << 20
    monkeypatch.setattr(datasets, "USPS_MAX_LINES", 3)
    path.write_bytes(bz2.compress(_USPS_ROW * 4))
    with pytest.raises(DataError) as error:
        load("usps")
    assert str(error.value) == f"{path} has more than 3 lines, more than a part of USPS holds"


# --- downloads, the cache, the statistics, the command line, the docs ------------------------


@pytest.mark.parametrize("name", ["emnist_letters", "svhn", "stl10", "cifar100"])
def test_a_download_asks_torchvision_for_each_part(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With nothing found and downloads allowed, torchvision's class is called with the data
    set's arguments (a stand-in here writes what the download would)."""
    import torchvision.datasets

    monkeypatch.delenv("NETSPEC_DATA")
    monkeypatch.delenv("NETSPEC_NO_DOWNLOAD")
    calls = []

    def download(root: str, download: bool, **arguments: object) -> None:
        calls.append((root, download, arguments))
        WRITERS[name][0](Path(root))

    class_name = torchvision_call(name, "train")[0]
    monkeypatch.setattr(torchvision.datasets, class_name, download)
    split = load(name)
    root = str(tmp_path / "cache" / "data")
    assert calls == [(root, True, torchvision_call(name, part)[1]) for part in ("train", "test")]
    assert split.source.startswith(root)


def test_the_decoded_cache_ignores_other_data_sets_files(
    isolated_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SVHN and USPS sit side by side in torchvision's download folder: one changing does not
    make netspec decode the other again."""
    write_svhn(isolated_data)
    write_usps(isolated_data)
    first = load("svhn")
    write_usps(isolated_data, train=3)
    (isolated_data / "notes.txt").write_text("downloaded today\n")
    monkeypatch.setattr(cache, "_MEMORY", {})  # as a new process would

    def no_reading(*_: object) -> None:
        raise AssertionError("decoded again")

    monkeypatch.setitem(datasets.READERS, "svhn", no_reading)
    again = load("svhn")
    assert again is not first and torch.equal(again.train_images, first.train_images)
    assert again.classes == DATASETS["svhn"].classes


def test_statistics_are_computed_a_chunk_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(split_module, "_STATS_CHUNK", 3)
    images = torch.randint(0, 256, (10, 3, 5, 5), dtype=torch.uint8)
    split = with_stats(Split(images, torch.zeros(10, dtype=torch.long)))
    exact = images.to(torch.float64) / 255
    for channel in range(3):
        assert split.mean[channel] == pytest.approx(float(exact[:, channel].mean()), rel=1e-12)
        assert split.std[channel] == pytest.approx(float(exact[:, channel].std()), rel=1e-9)


def test_netspec_data_shows_where_each_is_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stl10(tmp_path)
    write_emnist(tmp_path, "byclass", 62)
    code = main(["data", "stl10", "emnist_byclass", "--data-dir", str(tmp_path)])
    assert (code, capsys.readouterr().out) == (
        0,
        f"stl10: {tmp_path / 'stl10_binary'} (3×96×96, 10 classes)\n"
        f"emnist_byclass: {tmp_path / 'EMNIST' / 'raw'} (1×28×28, 62 classes)\n",
    )
    code = main(["data", "usps", "--data-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"--data-dir {tmp_path}: {tmp_path} lacks usps.bz2, usps.t.bz2\n" in out
    assert out.startswith(f"usps not found. Looked in:\n  {tmp_path}\n  {tmp_path / 'usps'}\n")


def test_the_data_docs_list_every_data_set() -> None:
    text = (ROOT / "docs" / "data.md").read_text(encoding="utf-8")
    for name, dataset in DATASETS.items():
        assert f"| `{name}` | {'×'.join(map(str, dataset.shape))} |" in text
