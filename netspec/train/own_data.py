"""A user's own data: a folder of images, or a tensor file (``.pt``, ``.npz``).

A folder is laid out as for torchvision's ``ImageFolder`` or Keras'
``image_dataset_from_directory``: ``root/train/<class>/*.png`` with optional ``root/val/`` and
``root/test/`` beside it, or a root that holds the class folders itself (all train). Its images
are decoded once (in threads: the decoders release the GIL) into uint8 tensors and cached, by
the reader ``netspec predict`` uses too (``images``); an image that does not fit the spec's
input is converted when resizing is on (``conform``), and refused, with the first such file,
when it is off.

A tensor file holds ``x`` and ``y``, optionally ``x_val``/``y_val``, ``x_test``/``y_test`` and
``classes``: already decoded, so it is read and checked each run, not cached.

Anything wrong is a DataError naming the file, or the key, and what was expected.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import os
import pickle
import zipfile
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from netspec.diagnostics import plural
from netspec.layers.args import describe_value
from netspec.shapes import format_dims
from netspec.train.cache import cached_split, split_fits
from netspec.train.catalog import DATASETS
from netspec.train.checkpoint import unreadable_reason
from netspec.train.conform import conform, convertible, mismatch_message
from netspec.train.device import available_cpus
from netspec.train.images import ImageError, image_file_status, read_image
from netspec.train.split import DataError, Split, with_stats

PARTS = ("train", "val", "test")
# What torchvision.io.decode_image reads.
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})
# Images ImageFolder would take but decode_image cannot read: refused, never skipped unsaid.
UNREADABLE_IMAGE_SUFFIXES = frozenset(
    {".bmp", ".ppm", ".pgm", ".pbm", ".tif", ".tiff", ".avif", ".heic"}
)
TENSOR_SUFFIXES = (".pt", ".npz")
TENSOR_KEYS = ("x", "y", "x_val", "y_val", "x_test", "y_test", "classes")
# Without names, the largest label says how many classes: a stray huge one must not make millions.
MAX_UNNAMED_CLASSES = 100_000
TENSOR_PARTS = (("train", "x", "y"), ("val", "x_val", "y_val"), ("test", "x_test", "y_test"))
# Changed whenever decoding changes, so that the cache files of older netspecs are rebuilt.
FOLDER_CACHE_FORMAT = 1
DECODE_THREADS_MAX = 8
# Below this many files a thread costs more than it saves (decoding a 28×28 PNG takes ~40 µs).
FILES_PER_THREAD_MIN = 256
CHUNKS_PER_THREAD = 4  # smaller chunks even out classes of large and small images


def load_own(path: Path, wanted: tuple[int, ...], resize: bool) -> Split:
    """The data at ``path`` (a folder of images, a ``.pt`` or ``.npz`` file) as a Split whose
    images are ``wanted`` (the spec's input without the batch), converted once when
    ``resize`` is on. A folder's Split says in ``source`` what was read and what skipped.
    Raises DataError, saying what is wrong and where."""
    if path.is_dir():
        return _load_folder(path, wanted, resize)
    if path.is_file() and path.suffix.lower() in TENSOR_SUFFIXES:
        return _load_tensor_file(path, wanted, resize)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder, nor a data set ({', '.join(DATASETS)})")
    raise DataError(f"{path}: expected a folder of images, or a .pt or .npz tensor file")


def describe_own(path: Path) -> str:
    """What ``path`` holds, for ``netspec data PATH``: a folder's parts, classes and skipped
    files, or a tensor file's keys; its images are checked against a spec when training."""
    if path.is_dir():
        folder = _scan(path)
        return f"{folder.summary()}\n  classes: {', '.join(folder.classes)}"
    if path.is_file() and path.suffix.lower() in TENSOR_SUFFIXES:
        contents = _read_tensor_file(path)
        described = [
            f"{key}: {_dtype(value)} {format_dims(value.shape)}"
            if isinstance(value, torch.Tensor)
            else f"{key}: {describe_value(value)}"
            for key, value in contents.items()
        ]
        return f"{path}: " + "; ".join(described)
    return load_own(path, (), False).source  # says why not (no such path, another kind)


# --- a folder of images ------------------------------------------------------------------------


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"  # macOS' zip leftovers too


@dataclass
class _Skipped:
    """Files left out of a folder, by why: said in the summary, never silently."""

    hidden: int = 0
    outside_classes: int = 0
    not_images: Counter[str] = field(default_factory=Counter)  # by suffix

    def outside(self, names: list[str]) -> None:
        hidden = sum(map(_hidden, names))
        self.hidden += hidden
        self.outside_classes += len(names) - hidden

    @property
    def total(self) -> int:
        return self.hidden + self.outside_classes + sum(self.not_images.values())

    def __str__(self) -> str:
        reasons = [
            f"{self.hidden:,} hidden" if self.hidden else "",
            f"{self.outside_classes:,} outside class folders" if self.outside_classes else "",
        ]
        if self.not_images:
            suffixes = ", ".join(sorted(self.not_images))
            reasons.append(f"{sum(self.not_images.values()):,} not images ({suffixes})")
        return f"skipped {plural(self.total, 'file')}: {', '.join(filter(None, reasons))}"


@dataclass(frozen=True)
class _Folder:
    """What a folder holds: its classes, each part's images and labels in ImageFolder's
    order, and a fingerprint of every image's name, size and time."""

    root: Path
    classes: tuple[str, ...]
    files: dict[str, list[Path]]
    labels: dict[str, torch.Tensor]
    fingerprint: str
    skipped: _Skipped

    def summary(self) -> str:
        counts = ", ".join(f"{part} {len(files):,}" for part, files in self.files.items())
        total = sum(map(len, self.files.values()))
        text = (
            f"{self.root}: {total:,} image{'s' if total != 1 else ''} in "
            f"{plural(len(self.classes), 'class', 'es')} ({counts})"
        )
        return f"{text}; {self.skipped}" if self.skipped.total else text


def _load_folder(root: Path, wanted: tuple[int, ...], resize: bool) -> Split:
    folder = _scan(root)
    key = hashlib.sha256(
        f"{FOLDER_CACHE_FORMAT}\0{root.resolve()}\0{format_dims(wanted)}\0{resize}".encode()
    ).hexdigest()[:16]

    def sound(split: Split) -> bool:
        parts = {name: labels for name, _, labels in split.parts()}
        return (
            split.classes == folder.classes
            and parts.keys() == folder.labels.keys()
            and all(torch.equal(parts[name], folder.labels[name]) for name in parts)
            and split_fits(split, wanted, len(folder.classes))
        )

    split = cached_split(
        "folder",
        key,
        lambda: _decode_folder(folder, wanted, resize),
        sound,
        fingerprint=folder.fingerprint,
    )
    return replace(split, source=folder.summary())  # skipped files are not in the fingerprint


def _listing(directory: Path) -> tuple[list[str], list[str]]:
    """The visible folders in ``directory``, sorted (as ImageFolder sorts classes), and the
    names of everything else there: files, hidden folders."""
    folders, others = [], []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_dir() and not _hidden(entry.name):
                folders.append(entry.name)
            else:
                others.append(entry.name)
    return sorted(folders), others


def _part_folders(root: Path, folders: list[str]) -> dict[str, Path]:
    """train/ (and val/, test/ where present) — or the root as train when it holds the class
    folders itself."""
    if "train" not in folders:
        if parts := [part for part in PARTS if part in folders]:
            raise DataError(
                f"{root} has {parts[0]}/ but no train/: put the training images in "
                f"{root / 'train'}/<class>/, beside {parts[0]}/"
            )
        return {"train": root}
    if others := [name for name in folders if name not in PARTS]:
        listed = ", ".join(f"{name}/" for name in others)
        raise DataError(
            f"{root} has train/ beside {listed}: beside train/ only val/ and test/ may be "
            "(each with the class folders inside)"
        )
    return {part: root / part for part in PARTS if part in folders}


def _scan(root: Path) -> _Folder:
    """Every image of every part, in ImageFolder's order, and the files skipped."""
    skipped = _Skipped()
    digest = hashlib.sha256()
    files: dict[str, list[Path]] = {}
    labels: dict[str, torch.Tensor] = {}
    try:
        part_folders, class_folders = _layout(root, skipped)
        classes = tuple(class_folders["train"])
        for part, directory in part_folders.items():
            files[part], part_labels = [], []
            for name in class_folders[part]:
                if name not in classes:
                    raise DataError(
                        f"{directory / name}: class '{name}' is not one of train's "
                        f"{plural(len(classes), 'class', 'es')} ({_some(classes)})"
                    )
                images = _images_below(directory / name, skipped)
                if not images:
                    raise DataError(
                        f"{directory / name} holds no images (PNG, JPEG, GIF or WebP files)"
                    )
                for path in images:
                    digest.update(_identity(root, path))
                files[part] += images
                part_labels += [classes.index(name)] * len(images)
            labels[part] = torch.tensor(part_labels, dtype=torch.long)
    except OSError as error:
        raise DataError(f"{error.filename or root}: cannot read it: {error.strerror}") from error
    return _Folder(root, classes, files, labels, digest.hexdigest(), skipped)


def _layout(root: Path, skipped: _Skipped) -> tuple[dict[str, Path], dict[str, list[str]]]:
    """Each part's folder and its class folders; what lies beside them is skipped."""
    root_folders, root_others = _listing(root)
    skipped.outside(root_others)
    part_folders = _part_folders(root, root_folders)
    class_folders = {}
    for part, directory in part_folders.items():
        if directory == root:
            folders = root_folders
        else:
            folders, others = _listing(directory)
            skipped.outside(others)
        if not folders:
            raise DataError(
                f"{directory} holds no class folders: put each class's images in a folder "
                f"named after the class, {directory}/<class>/*.png"
            )
        class_folders[part] = folders
    return part_folders, class_folders


def _some(names: tuple[str, ...], shown: int = 10) -> str:
    return ", ".join(names[:shown]) + (", …" if len(names) > shown else "")


def _raise(error: OSError) -> None:
    raise error  # os.walk would skip a folder it cannot read


def _images_below(class_folder: Path, skipped: _Skipped) -> list[Path]:
    """The images in ``class_folder`` and its subfolders, in ImageFolder's order (folders by
    path, then files by name). Symbolic links are followed, except back up the tree."""
    walked: list[tuple[str, list[str]]] = []
    visited: set[str] = set()
    for directory, subfolders, names in os.walk(class_folder, followlinks=True, onerror=_raise):
        visited.add(os.path.realpath(directory))
        visible = [name for name in subfolders if not _hidden(name)]
        skipped.hidden += len(subfolders) - len(visible)
        subfolders[:] = [
            name for name in visible if os.path.realpath(Path(directory, name)) not in visited
        ]
        walked.append((directory, names))
    images = []
    for directory, names in sorted(walked):
        for name in sorted(names):
            suffix = os.path.splitext(name)[1].lower()
            if _hidden(name):
                skipped.hidden += 1
            elif suffix in IMAGE_SUFFIXES:
                images.append(Path(directory, name))
            elif suffix in UNREADABLE_IMAGE_SUFFIXES:
                raise DataError(
                    f"{Path(directory, name)}: netspec reads PNG, JPEG, GIF and WebP images, not "
                    f"{suffix}: convert the images (e.g. with Pillow: Image.open(p).save(q), q "
                    "ending in .png)"
                )
            else:
                skipped.not_images[suffix or "no extension"] += 1
    return images


def _identity(root: Path, path: Path) -> bytes:
    """What identifies an image's contents: its name below the root, size and time."""
    try:
        status = image_file_status(path)
    except ImageError as error:
        raise DataError(str(error)) from error
    name = path.relative_to(root).as_posix()
    return f"{name}\0{status.st_size}\0{status.st_mtime_ns}\n".encode()


def _decode_folder(folder: _Folder, wanted: tuple[int, ...], resize: bool) -> Split:
    """Every image decoded into one uint8 tensor per part, converted where it must be."""
    images = {
        part: torch.empty((len(files), *wanted), dtype=torch.uint8)
        for part, files in folder.files.items()
    }
    jobs = [
        (path, images[part], index)
        for part, files in folder.files.items()
        for index, path in enumerate(files)
    ]
    differing = _decode_all(jobs, wanted, resize)
    if differing:
        first, found = differing[0]
        raise DataError(
            f"{len(differing):,} of the {len(jobs):,} images in {folder.root} do not fit; the "
            f"first: {mismatch_message(str(first), found, wanted)}"
        )
    return _split(images, folder.labels, folder.classes, str(folder.root))


def _split(
    images: dict[str, torch.Tensor],
    labels: dict[str, torch.Tensor],
    classes: tuple[str, ...],
    source: str,
) -> Split:
    """The parts (train; val and test where present) as a Split, with its statistics."""
    split = Split(
        images["train"],
        labels["train"],
        test_images=images.get("test"),
        test_labels=labels.get("test"),
        val_images=images.get("val"),
        val_labels=labels.get("val"),
        classes=classes,
        source=source,
    )
    return with_stats(split)


_Job = tuple[Path, torch.Tensor, int]  # an image file, and where its pixels go


def _decode_all(
    jobs: list[_Job], wanted: tuple[int, ...], resize: bool
) -> list[tuple[Path, tuple[int, ...]]]:
    """Decode the jobs' images into place, in threads; the images that do not fit (and may
    not be converted), with their sizes, in order."""
    threads = max(1, min(available_cpus(), DECODE_THREADS_MAX, len(jobs) // FILES_PER_THREAD_MIN))
    if threads == 1:
        return _decode_chunk(jobs, wanted, resize)
    size = math.ceil(len(jobs) / (threads * CHUNKS_PER_THREAD))
    chunks = [jobs[start : start + size] for start in range(0, len(jobs), size)]
    with ThreadPoolExecutor(threads) as pool:
        try:
            results = list(pool.map(lambda chunk: _decode_chunk(chunk, wanted, resize), chunks))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # one bad file: stop reading the rest
            raise
    return [mismatch for result in results for mismatch in result]


def _decode_chunk(
    jobs: list[_Job], wanted: tuple[int, ...], resize: bool
) -> list[tuple[Path, tuple[int, ...]]]:
    differing = []
    for path, images, index in jobs:
        try:
            image = read_image(path)
        except ImageError as error:
            raise DataError(str(error)) from error
        found = tuple(image.shape)
        if found == wanted:
            images[index] = image
        elif resize and convertible(found, wanted):
            images[index] = conform(image.unsqueeze(0), wanted)[0]
        else:
            differing.append((path, found))
    return differing


# --- a tensor file -----------------------------------------------------------------------------


_TensorPart = tuple[str, torch.Tensor, str, torch.Tensor]  # x's key, images, y's key, labels


def _load_tensor_file(path: Path, wanted: tuple[int, ...], resize: bool) -> Split:
    contents = _read_tensor_file(path)
    if unknown := [key for key in contents if key not in TENSOR_KEYS]:
        raise DataError(f"{path}: {', '.join(map(_unknown_key, unknown))}; {_TENSOR_KEYS_TEXT}")
    if "x" not in contents or "y" not in contents:
        raise DataError(f"{path}: no {'x' if 'x' not in contents else 'y'}; {_TENSOR_KEYS_TEXT}")
    parts: dict[str, _TensorPart] = {}
    for part, x_key, y_key in TENSOR_PARTS:
        if (x_key in contents) != (y_key in contents):
            present, absent = (x_key, y_key) if x_key in contents else (y_key, x_key)
            raise DataError(f"{path}: {present} without {absent}")
        if x_key not in contents:
            continue
        x = _checked_images(path, x_key, contents[x_key], wanted)
        y = _checked_labels(path, y_key, contents[y_key])
        if len(y) != len(x):
            raise DataError(
                f"{path}: {x_key} is {format_dims(x.shape)} but {y_key} has "
                f"{plural(len(y), 'label')}"
            )
        parts[part] = (x_key, x, y_key, y)
    classes = _classes(path, contents.get("classes"), parts.values())
    images = {
        part: _fit(path, x_key, x, wanted, resize) for part, (x_key, x, _, _) in parts.items()
    }
    labels = {part: y for part, (_, _, _, y) in parts.items()}
    return _split(images, labels, classes, str(path))


_TENSOR_KEYS_TEXT = (
    "a tensor file holds x and y, optionally x_val and y_val, x_test and y_test, and classes"
)


def _unknown_key(key: object) -> str:
    near = difflib.get_close_matches(str(key), TENSOR_KEYS, n=1)
    return f"unknown key {key!r}" + (f" (did you mean {near[0]!r}?)" if near else "")


def _read_tensor_file(path: Path) -> Mapping[Any, Any]:
    """The file's keys and values; numpy arrays made tensors (``classes``: a list)."""
    try:
        if path.suffix.lower() == ".npz":
            archive = np.load(path, allow_pickle=False)  # whatever the name says: .npy too
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise DataError(f"{path} holds one array, not an archive of x, y, …")
            with archive:
                return {key: _from_numpy(path, key, archive[key]) for key in archive.files}
        contents = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, ValueError, RuntimeError, EOFError, pickle.UnpicklingError) as error:
        raise DataError(f"{path}: cannot read it: {unreadable_reason(error)}") from error
    except zipfile.BadZipFile as error:
        raise DataError(f"{path}: cannot read it: not an .npz archive ({error})") from error
    if not isinstance(contents, dict):
        raise DataError(
            f"{path} holds a {type(contents).__name__}, expected a dict: "
            "torch.save({'x': images, 'y': labels}, path)"
        )
    return contents


def _from_numpy(path: Path, key: str, array: np.ndarray) -> Any:
    if key == "classes":
        return array.tolist()
    if array.dtype.kind not in "biuf":
        raise DataError(f"{path}: {key} is an array of {array.dtype}, expected numbers")
    return torch.from_numpy(array.astype(array.dtype.newbyteorder("="), copy=False))


def _dtype(tensor: torch.Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def _checked_images(path: Path, key: str, value: object, wanted: tuple[int, ...]) -> torch.Tensor:
    """``value`` as images: uint8 kept, floating made float32 (and finite)."""
    expected = f"N×{format_dims(wanted)}"
    if not isinstance(value, torch.Tensor):
        raise DataError(f"{path}: {key} is a {type(value).__name__}, expected a tensor {expected}")
    if value.dtype != torch.uint8 and not value.is_floating_point():
        raise DataError(
            f"{path}: {key} is {_dtype(value)}, expected uint8 (pixels 0…255) or floating point"
        )
    if value.ndim < 2:
        raise DataError(
            f"{path}: {key} is {format_dims(value.shape) or 'a scalar'}, expected {expected}"
        )
    if len(value) == 0:
        raise DataError(f"{path}: {key} is {format_dims(value.shape)}: no samples")
    if not value.is_floating_point():
        return value
    images = value.to(torch.float32)
    bad = (~torch.isfinite(images)).flatten(1).any(1)
    if bool(bad.any()):
        raise DataError(
            f"{path}: {key} has NaN or infinite values in {plural(int(bad.sum()), 'sample')} "
            f"(the first: sample {int(bad.nonzero()[0])})"
        )
    return images


def _checked_labels(path: Path, key: str, value: object) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise DataError(f"{path}: {key} is a {type(value).__name__}, expected a tensor of labels")
    if value.is_floating_point() or value.is_complex() or value.dtype == torch.bool:
        raise DataError(f"{path}: {key} is {_dtype(value)}, expected integer labels")
    if value.ndim != 1:
        raise DataError(
            f"{path}: {key} is {format_dims(value.shape) or 'a scalar'}, expected one label per "
            "sample (1-D)"
        )
    return value.long()


def _classes(path: Path, names: object, parts: Iterable[_TensorPart]) -> tuple[str, ...]:
    """The class names: ``names``, or "0", "1", … up to the largest label; every label must
    name one."""
    labelled = [(y_key, labels) for _, _, y_key, labels in parts]
    for y_key, labels in labelled:
        if int(labels.min()) < 0:
            raise DataError(f"{path}: {y_key} has label {int(labels.min())}: labels start at 0")
    if names is None:
        largest, y_key = max((int(labels.max()), y_key) for y_key, labels in labelled)
        if largest >= MAX_UNNAMED_CLASSES:
            raise DataError(
                f"{path}: {y_key} has label {largest:,}: labels are 0…classes−1, and without a "
                f"classes list at most {MAX_UNNAMED_CLASSES:,} classes"
            )
        return tuple(str(label) for label in range(largest + 1))
    if (
        not isinstance(names, list | tuple)
        or not names
        or not all(isinstance(name, str) for name in names)
    ):
        raise DataError(f"{path}: classes is {names!r:.60}, expected a list of class names")
    if duplicated := [name for name, count in Counter(names).items() if count > 1]:
        raise DataError(f"{path}: classes names {duplicated[0]!r} twice")
    for y_key, labels in labelled:
        if int(labels.max()) >= len(names):
            raise DataError(
                f"{path}: {y_key} has label {int(labels.max())} but classes names "
                f"{plural(len(names), 'class', 'es')} (labels 0…{len(names) - 1})"
            )
    return tuple(names)


def _fit(
    path: Path, key: str, images: torch.Tensor, wanted: tuple[int, ...], resize: bool
) -> torch.Tensor:
    """``images`` as N×``wanted``: as they are, N×H×W as grey, or converted when ``resize``."""
    found = tuple(images.shape[1:])
    if found != wanted and len(found) == 2 and len(wanted) == 3:  # N×H×W: grey images
        images, found = images.unsqueeze(1), (1, *found)
    if found == wanted:
        return images.contiguous()
    if resize and convertible(found, wanted):
        return conform(images, wanted)
    raise DataError(mismatch_message(f"{key} in {path}", found, wanted))
