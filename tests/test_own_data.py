"""Training data of one's own: an image folder tree, read as torchvision's ImageFolder reads it,
and a tensor file; decoded once and cached; everything wrong refused with what and where.

Each test works in its own directory (``isolated_data``: the working directory and the cache
are temporary), so paths in the messages are short and relative.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.io
from PIL import Image, ImageOps
from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import IMG_EXTENSIONS, default_loader
from torchvision.io import ImageReadMode, decode_image, encode_jpeg, write_png
from torchvision.transforms.v2.functional import pil_to_tensor

from netspec.train import cache, own_data
from netspec.train.catalog import DATASETS, cache_dir
from netspec.train.conform import conform
from netspec.train.own_data import load_own
from netspec.train.split import DataError, Split, with_stats

pytestmark = [
    pytest.mark.usefixtures("isolated_data"),
    # torchvision 0.29 announces its decoders' move to TorchCodec on every call
    pytest.mark.filterwarnings("ignore:The image decoding and encoding:DeprecationWarning"),
]

RESIZE_HINT = (
    "add `resize: true` to the spec's train: section (or --resize) to convert the images once"
)
TENSOR_KEYS = (
    "a tensor file holds x and y, optionally x_val and y_val, x_test and y_test, and classes"
)


def _pixels(seed: int, channels: int = 3, height: int = 8, width: int = 8) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (channels, height, width), dtype=torch.uint8, generator=generator)


def _png(path: Path, pixels: torch.Tensor) -> torch.Tensor:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_png(pixels, str(path))
    return pixels


def _jpeg(path: Path, pixels: torch.Tensor) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_jpeg(pixels).numpy().tobytes())


def _file(path: Path, data: bytes = b"") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _tree(root: Path, layout: dict[str, int], channels: int = 3, size: int = 8) -> Path:
    """``{'train/cat': 3, …}``: that many random PNGs in each folder."""
    for seed, (folder, count) in enumerate(layout.items()):
        for index in range(count):
            _png(root / folder / f"{index}.png", _pixels(100 * seed + index, channels, size, size))
    return root


def _visible_image(path: str) -> bool:
    """ImageFolder's own test, less hidden files (which netspec skips, ImageFolder reads)."""
    return not Path(path).name.startswith(".") and path.lower().endswith(IMG_EXTENSIONS)


def _pil_pixels(path: str) -> torch.Tensor:
    with Image.open(path) as image:
        return pil_to_tensor(image)


def _as_imagefolder_reads(
    folder: Path, classes: tuple[str, ...], loader: Callable[[str], torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The images and labels ImageFolder gives for ``folder``, labels in train's numbering."""
    dataset = ImageFolder(str(folder), loader=loader, is_valid_file=_visible_image)
    images = torch.stack([dataset[index][0] for index in range(len(dataset))])
    labels = torch.tensor([classes.index(dataset.classes[label]) for _, label in dataset.samples])
    return images, labels


# --- image folders ---------------------------------------------------------------------------


def test_a_folder_reads_as_imagefolder_with_pil_to_tensor() -> None:
    root = _tree(
        Path("photos"),
        {"train/cat": 3, "train/dog": 2, "train/bird": 2, "val/cat": 2, "val/dog": 1},
    )
    _tree(root, {"test/bird": 1, "test/dog": 2})
    # ImageFolder's order: folders by path, then names as strings; suffixes in any case.
    _png(root / "train/dog/B10.PNG", _pixels(7))
    _png(root / "train/dog/B2.png", _pixels(8))
    _png(root / "train/dog/deeper/0.png", _pixels(9))
    _png(root / "train/dog/.hidden.png", _pixels(10))
    _file(root / "train/cat/notes.txt", b"a note")
    _file(root / "train/cat/.DS_Store")
    _file(root / "val/labels.csv")  # outside the class folders
    _file(root / "README.md")
    _file(root / ".git/config")

    split = load_own(root, (3, 8, 8), resize=False)

    reference = ImageFolder(str(root / "train"), loader=_pil_pixels, is_valid_file=_visible_image)
    assert split.classes == tuple(reference.classes) == ("bird", "cat", "dog")
    assert reference.class_to_idx == {name: i for i, name in enumerate(split.classes)}
    for part, images, labels in split.parts():
        expected_images, expected_labels = _as_imagefolder_reads(
            root / part, split.classes, _pil_pixels
        )
        assert torch.equal(labels, expected_labels), part
        assert torch.equal(images, expected_images), part
        assert images.dtype == torch.uint8 and labels.dtype == torch.long
    assert [part for part, _, _ in split.parts()] == ["train", "val", "test"]
    assert (split.mean, split.std) == (with_stats(split).mean, with_stats(split).std)
    assert split.source == (
        "photos: 16 images in 3 classes (train 10, val 3, test 3); skipped 6 files: "
        "3 hidden, 2 outside class folders, 1 not images (.txt)"
    )


def test_a_root_of_class_folders_is_all_train_and_jpeg_matches_the_same_decoder() -> None:
    root = Path("flowers")
    for index in range(3):
        _jpeg(root / "rose" / f"{index}.jpg", _pixels(index, 3, 12, 10))
        _jpeg(root / "tulip" / f"{index}.JPEG", _pixels(10 + index, 3, 12, 10))

    split = load_own(root, (3, 12, 10), resize=False)

    images, labels = _as_imagefolder_reads(
        root, ("rose", "tulip"), lambda path: decode_image(path, ImageReadMode.UNCHANGED)
    )
    assert split.classes == ("rose", "tulip")
    assert torch.equal(split.train_labels, labels)
    assert torch.equal(split.train_images, images)
    assert split.val_images is None and split.test_images is None


def test_alpha_palette_16_bit_cmyk_and_exif_rotated_images_are_read_upright_grey_or_rgb() -> None:
    root = Path("mixed")
    colours = np.ascontiguousarray(_pixels(1, 3, 6, 6).permute(1, 2, 0))
    Image.fromarray(colours).convert("RGBA").save(_mkdir(root / "train/rgb") / "rgba.png")
    Image.fromarray(colours).convert("P").save(root / "train/rgb/palette.png")
    # ImageFolder's default loader makes every image RGB: alpha dropped, palette looked up.
    images, _ = _as_imagefolder_reads(
        root / "train", ("rgb",), lambda path: pil_to_tensor(default_loader(path))
    )
    assert torch.equal(load_own(root, (3, 6, 6), resize=False).train_images, images)

    grey = Path("grey")
    levels = np.asarray(_pixels(2, 1, 6, 6)[0])
    Image.fromarray(levels).convert("LA").save(_mkdir(grey / "train/a") / "0-grey-alpha.png")
    Image.fromarray(levels.astype(np.uint16) * 257).save(grey / "train/a/1-16-bit.png")
    split = load_own(grey, (1, 6, 6), resize=False)
    assert torch.equal(split.train_images, torch.from_numpy(levels).expand(2, 1, 6, 6))

    rotated = _mkdir(Path("upright/a")) / "0.png"
    orientation = Image.Exif()
    orientation[0x0112] = 6  # the camera was turned: show it rotated 90° clockwise
    Image.fromarray(colours[:, :4]).save(rotated, exif=orientation.tobytes())
    upright = ImageOps.exif_transpose(Image.open(rotated))  # as `netspec predict` reads it
    assert torch.equal(
        load_own(Path("upright"), (3, 4, 6), resize=False).train_images[0], pil_to_tensor(upright)
    )

    cmyk = _mkdir(Path("cmyk/train/a")) / "0.jpg"
    Image.fromarray(colours).convert("CMYK").save(cmyk)  # a JPEG's 4 channels: no alpha
    rgb = decode_image(str(cmyk), ImageReadMode.RGB)
    assert torch.equal(load_own(Path("cmyk"), (3, 6, 6), resize=False).train_images[0], rgb)


@pytest.mark.parametrize("wanted", [(3, 16, 16), (1, 16, 16)], ids=["to-rgb", "to-grey"])
def test_resize_converts_each_image_as_conform_does(wanted: tuple[int, ...]) -> None:
    root = Path("sizes")
    grey = [_png(root / f"train/a/{i}.png", _pixels(i, 1, 10, 12)) for i in range(3)]
    rgb = [_png(root / f"train/b/{i}.png", _pixels(10 + i, 3, 20, 20)) for i in range(2)]
    fitting = _png(root / "val/a/0.png", _pixels(20, *wanted))

    split = load_own(root, wanted, resize=True)

    expected = torch.cat([conform(torch.stack(grey), wanted), conform(torch.stack(rgb), wanted)])
    assert torch.equal(split.train_images, expected)
    assert split.val_images is not None and torch.equal(split.val_images[0], fitting)


def test_threads_decode_in_file_order_and_name_the_first_bad_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(own_data, "FILES_PER_THREAD_MIN", 1)
    monkeypatch.setattr(own_data, "available_cpus", lambda: 3)
    root = _tree(Path("photos"), {"train/a": 5, "train/b": 4, "train/c": 3})
    split = load_own(root, (3, 8, 8), resize=False)
    images, labels = _as_imagefolder_reads(root / "train", split.classes, _pil_pixels)
    assert torch.equal(split.train_images, images) and torch.equal(split.train_labels, labels)
    _file(root / "train/b/1x.png", b"bad")
    _file(root / "train/c/0x.png", b"bad")
    with pytest.raises(DataError) as error:
        load_own(root, (3, 8, 8), resize=False)
    assert str(error.value) == (
        "photos/train/b/1x.png: not a PNG, JPEG, GIF or WebP image (its first "
        "bytes match none of their signatures)"
    )


def _mismatched(root: Path) -> None:
    _tree(root, {"train/a": 1, "train/b": 1})
    _png(root / "train/a/1.png", _pixels(0, 3, 6, 6))
    _png(root / "val/b/0.png", _pixels(1, 1, 8, 8))


def _unknown_class(root: Path) -> None:
    _tree(root, {"train/a": 1, "train/b": 1, "val/cow": 1})


def _empty_class(root: Path) -> None:
    _tree(root, {"train/a": 1})
    _file(root / "train/b/notes.txt")


def _undecodable(root: Path) -> None:
    _tree(root, {"train/a": 2})
    _file(root / "train/a/1b.png", b"not an image")


def _truncated(root: Path) -> None:
    _tree(root, {"train/a": 1})
    _file(root / "train/a/1.png", (root / "train/a/0.png").read_bytes()[:60])


def _bitmap(root: Path) -> None:
    _tree(root, {"train/a": 1})
    Image.new("RGB", (8, 8)).save(root / "train/a/1.bmp")


def _animated(root: Path) -> None:
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "blue")]
    frames[0].save(_mkdir(root / "a") / "0.gif", save_all=True, append_images=frames[1:])


def _val_without_train(root: Path) -> None:
    _tree(root, {"val/a": 1, "a": 1})


def _train_beside_another(root: Path) -> None:
    _tree(root, {"train/a": 1, "validation/a": 1})


def _no_class_folders(root: Path) -> None:
    _png(root / "0.png", _pixels(0))


@pytest.mark.parametrize(
    ("make", "wanted", "resize", "message"),
    [
        (
            _mismatched,
            (3, 8, 8),
            False,
            "2 of the 4 images in data do not fit; the first: spec input is 3×8×8 but "
            f"data/train/a/1.png gives 3×6×6: {RESIZE_HINT} (resized 6×6 → 8×8)",
        ),
        (
            _mismatched,
            (784,),
            True,
            "4 of the 4 images in data do not fit; the first: spec input is 784 but "
            "data/train/a/0.png gives 3×8×8",
        ),
        (
            _unknown_class,
            (3, 8, 8),
            False,
            "data/val/cow: class 'cow' is not one of train's 2 classes (a, b)",
        ),
        (
            _empty_class,
            (3, 8, 8),
            False,
            "data/train/b holds no images (PNG, JPEG, GIF or WebP files)",
        ),
        (
            _undecodable,
            (3, 8, 8),
            False,
            "data/train/a/1b.png: not a PNG, JPEG, GIF or WebP image (its first bytes "
            "match none of their signatures)",
        ),
        (
            _truncated,
            (3, 8, 8),
            False,
            "data/train/a/1.png: cannot decode it as a PNG (Out of bound read in decode_png)",
        ),
        (
            _bitmap,
            (3, 8, 8),
            False,
            "data/train/a/1.bmp: netspec reads PNG, JPEG, GIF and WebP images, not .bmp: "
            "convert the images (e.g. with Pillow: Image.open(p).save(q), q ending in .png)",
        ),
        (_animated, (3, 8, 8), False, "data/a/0.gif: an animation of 2 frames, not an image"),
        (
            _val_without_train,
            (3, 8, 8),
            False,
            "data has val/ but no train/: put the training images in data/train/<class>/, "
            "beside val/",
        ),
        (
            _train_beside_another,
            (3, 8, 8),
            False,
            "data has train/ beside validation/: beside train/ only val/ and test/ may be (each "
            "with the class folders inside)",
        ),
        (
            _no_class_folders,
            (3, 8, 8),
            False,
            "data holds no class folders: put each class's images in a folder named after the "
            "class, data/<class>/*.png",
        ),
    ],
    ids=lambda value: value.__name__.strip("_") if callable(value) else None,
)
def test_a_folder_is_refused_saying_what_and_where(
    make: Callable[[Path], None], wanted: tuple[int, ...], resize: bool, message: str
) -> None:
    make(Path("data"))
    with pytest.raises(DataError) as error:
        load_own(Path("data"), wanted, resize)
    assert str(error.value) == message


def test_a_path_that_is_neither_is_refused() -> None:
    with pytest.raises(DataError) as error:
        load_own(Path("fashion-mnist"), (1, 28, 28), resize=False)
    assert str(error.value) == (
        f"fashion-mnist: no such file or folder, nor a data set ({', '.join(DATASETS)})"
    )
    _file(Path("data.csv"), b"1,2,3")
    with pytest.raises(DataError) as error:
        load_own(Path("data.csv"), (1, 28, 28), resize=False)
    assert str(error.value) == "data.csv: expected a folder of images, or a .pt or .npz tensor file"


# --- the decode-once cache -------------------------------------------------------------------


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the images decoded; each test starts as a new process would, memory empty."""
    calls: list[int] = []

    def counting(*args: object, **kwargs: object) -> torch.Tensor:
        calls.append(1)
        return decode_image(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(torchvision.io, "decode_image", counting)  # images imports it late
    monkeypatch.setattr(cache, "_MEMORY", {})
    return calls


def _load_afresh(root: Path, monkeypatch: pytest.MonkeyPatch) -> Split:
    monkeypatch.setattr(cache, "_MEMORY", {})  # as a new process would
    return load_own(root, (3, 8, 8), resize=False)


def _cache_files() -> list[Path]:
    return sorted((cache_dir() / "decoded").iterdir())


def test_a_folder_is_decoded_once_and_again_when_an_image_changes(
    decodes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(Path("photos"), {"train/a": 2, "train/b": 2})
    first = load_own(root, (3, 8, 8), resize=False)
    assert len(decodes) == 4
    assert load_own(root, (3, 8, 8), resize=False).train_images is first.train_images  # memory
    again = _load_afresh(root, monkeypatch)
    assert len(decodes) == 4  # read from the disk cache
    assert torch.equal(again.train_images, first.train_images)
    assert again.source == first.source

    changed = _png(root / "train/b/1.png", _pixels(99))
    os.utime(root / "train/b/1.png", ns=(1, 1))  # another time, whatever the clock's resolution
    after = _load_afresh(root, monkeypatch)
    assert len(decodes) == 8
    assert torch.equal(after.train_images[3], changed)
    _png(root / "train/b/2.png", _pixels(98))
    assert len(_load_afresh(root, monkeypatch).train_images) == 5
    assert len(_cache_files()) == 1  # replaced, not one more file per change
    load_own(root, (3, 16, 16), resize=True)
    assert len(_cache_files()) == 2  # another input size is another file


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00garbage")


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:200])


def _relabel(path: Path) -> None:
    """A cache file torch reads fine, for these very files, whose labels are wrong."""
    saved = torch.load(path, weights_only=True)
    saved["split"]["train_labels"] = torch.zeros_like(saved["split"]["train_labels"])
    buffer = io.BytesIO()
    torch.save(saved, buffer)
    path.write_bytes(buffer.getvalue())


@pytest.mark.parametrize("damage", [_garbage, _truncate, _relabel], ids=lambda f: f.__name__[1:])
def test_a_damaged_cache_file_is_rebuilt(
    damage: Callable[[Path], None], decodes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(Path("photos"), {"train/a": 2, "train/b": 1})
    first = load_own(root, (3, 8, 8), resize=False)
    [cached] = _cache_files()
    damage(cached)
    rebuilt = _load_afresh(root, monkeypatch)
    assert len(decodes) == 6
    assert torch.equal(rebuilt.train_labels, first.train_labels)
    assert torch.equal(rebuilt.train_images, first.train_images)
    _load_afresh(root, monkeypatch)
    assert len(decodes) == 6  # the rebuilt file is good


def test_a_cache_that_cannot_be_written_only_costs_time(
    decodes: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(path: Path, data: bytes) -> None:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(cache, "write_atomically", refuse)
    root = _tree(Path("photos"), {"train/a": 1})
    assert len(load_own(root, (3, 8, 8), resize=False).train_images) == 1
    assert len(_load_afresh(root, monkeypatch).train_images) == 1
    assert len(decodes) == 2


# --- tensor files ----------------------------------------------------------------------------


def _save(path: Path, contents: dict[str, object]) -> Path:
    if path.suffix == ".npz":
        np.savez(path, **{key: np.asarray(value) for key, value in contents.items()})  # type: ignore[arg-type]
    else:
        torch.save(contents, path)
    return path


def _digits(count: int, shape: tuple[int, ...] = (1, 8, 8), seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (count, *shape), dtype=torch.uint8, generator=generator)


def test_a_tensor_file_gives_its_parts_as_they_are() -> None:
    x, x_val, x_test = _digits(6), _digits(2, seed=1), _digits(3, seed=2)
    y, y_val, y_test = (
        torch.tensor([0, 1, 2, 0, 1, 2]),
        torch.tensor([1, 0]),
        torch.tensor([2, 2, 0]),
    )
    path = _save(
        Path("data.pt"),
        {"x": x, "y": y, "x_val": x_val, "y_val": y_val, "x_test": x_test, "y_test": y_test,
         "classes": ["ant", "bee", "cat"]},
    )  # fmt: skip
    split = load_own(path, (1, 8, 8), resize=False)
    expected = with_stats(Split(x, y, x_test, y_test, x_val, y_val, ("ant", "bee", "cat")))
    for (_, images, labels), (_, want_images, want_labels) in zip(
        split.parts(), expected.parts(), strict=True
    ):
        assert torch.equal(images, want_images) and torch.equal(labels, want_labels)
    assert (split.classes, split.mean, split.std) == (expected.classes, expected.mean, expected.std)


def test_an_npz_of_grey_hxw_float_images_without_class_names() -> None:
    x = np.random.default_rng(0).normal(size=(5, 8, 8)).astype(np.float64)
    y = np.array([0, 3, 1, 3, 0], dtype=np.uint8)
    split = load_own(_save(Path("data.npz"), {"x": x, "y": y}), (1, 8, 8), resize=False)
    assert split.classes == ("0", "1", "2", "3")
    assert split.train_images.dtype == torch.float32
    assert torch.equal(split.train_images, torch.from_numpy(x).float().unsqueeze(1))
    assert torch.equal(split.train_labels, torch.from_numpy(y).long())
    assert split.val_images is None and split.test_images is None

    named = _save(Path("named.npz"), {"x": x, "y": y, "classes": ["a", "b", "c", "d"]})
    assert load_own(named, (1, 8, 8), resize=False).classes == ("a", "b", "c", "d")


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_a_tensor_file_is_resized_as_conform_does(dtype: torch.dtype) -> None:
    x = _digits(4, (3, 6, 6)).to(dtype)
    x_test = _digits(2, (1, 6, 6)).to(dtype)
    path = _save(
        Path("data.pt"),
        {"x": x, "y": torch.tensor([0, 1, 0, 1]), "x_test": x_test, "y_test": torch.tensor([1, 0])},
    )
    split = load_own(path, (1, 8, 8), resize=True)
    assert torch.equal(split.train_images, conform(x, (1, 8, 8)))
    assert split.test_images is not None
    assert torch.equal(split.test_images, conform(x_test, (1, 8, 8)))


GOOD = {"x": _digits(3), "y": torch.tensor([0, 1, 1])}
NOT_FINITE = torch.tensor([0.0, float("nan"), float("inf")]).reshape(3, 1, 1, 1).expand(3, 1, 8, 8)


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        (
            {**GOOD, "x_valid": GOOD["x"]},
            f"data.pt: unknown key 'x_valid' (did you mean 'x_val'?); {TENSOR_KEYS}",
        ),
        ({**GOOD, "labels": 1}, f"data.pt: unknown key 'labels'; {TENSOR_KEYS}"),
        ({"x": GOOD["x"]}, f"data.pt: no y; {TENSOR_KEYS}"),
        ({**GOOD, "x_val": GOOD["x"]}, "data.pt: x_val without y_val"),
        (
            {**GOOD, "x": GOOD["x"].long()},
            "data.pt: x is int64, expected uint8 (pixels 0…255) or floating point",
        ),
        ({**GOOD, "x": [[1, 2]]}, "data.pt: x is a list, expected a tensor N×1×8×8"),
        ({**GOOD, "x": torch.zeros(3, dtype=torch.uint8)}, "data.pt: x is 3, expected N×1×8×8"),
        ({"x": _digits(0), "y": torch.tensor([])}, "data.pt: x is 0×1×8×8: no samples"),
        ({**GOOD, "y": GOOD["y"].float()}, "data.pt: y is float32, expected integer labels"),
        (
            {**GOOD, "y": GOOD["y"].reshape(3, 1)},
            "data.pt: y is 3×1, expected one label per sample (1-D)",
        ),
        (
            {**GOOD, "x_test": _digits(10), "y_test": torch.zeros(9, dtype=torch.long)},
            "data.pt: x_test is 10×1×8×8 but y_test has 9 labels",
        ),
        (
            {**GOOD, "classes": ["a", "b"], "y": torch.tensor([0, 2, 1])},
            "data.pt: y has label 2 but classes names 2 classes (labels 0…1)",
        ),
        ({**GOOD, "y": torch.tensor([0, -1, 1])}, "data.pt: y has label -1: labels start at 0"),
        (
            {**GOOD, "y": torch.tensor([0, 1, 10**9])},
            "data.pt: y has label 1,000,000,000: labels are 0…classes−1, and without a classes "
            "list at most 100,000 classes",
        ),
        (
            {**GOOD, "classes": ["a", 2]},
            "data.pt: classes is ['a', 2], expected a list of class names",
        ),
        ({**GOOD, "classes": ["a", "b", "a"]}, "data.pt: classes names 'a' twice"),
        (
            {**GOOD, "x": NOT_FINITE},
            "data.pt: x has NaN or infinite values in 2 samples (the first: sample 1)",
        ),
        (
            {**GOOD, "x": _digits(3, (3, 8, 8))},
            f"spec input is 1×8×8 but x in data.pt gives 3×8×8: {RESIZE_HINT} (RGB → grey)",
        ),
        (
            {**GOOD, "x": torch.zeros(3, 5, dtype=torch.uint8)},
            "spec input is 1×8×8 but x in data.pt gives 5",
        ),
    ],
)
def test_a_tensor_file_is_refused_saying_which_key_and_why(
    contents: dict[str, object], message: str
) -> None:
    _save(Path("data.pt"), contents)
    with pytest.raises(DataError) as error:
        load_own(Path("data.pt"), (1, 8, 8), resize=False)
    assert str(error.value) == message


def test_an_unreadable_tensor_file_is_refused() -> None:
    _file(Path("data.pt"), b"not a tensor file")
    torch.save(torch.zeros(2), "tensor.pt")
    torch.save({"x": torch.nn.Linear(1, 1)}, "model.pt")
    np.savez("objects.npz", x=np.array([object()], dtype=object), y=np.zeros(1))
    np.save("one.npy", np.zeros(2))
    os.replace("one.npy", "one.npz")
    refusals = {
        "data.pt": "data.pt: cannot read it: not a file torch.save wrote, or a damaged one",
        "tensor.pt": "tensor.pt holds a Tensor, expected a dict: "
        "torch.save({'x': images, 'y': labels}, path)",
        "model.pt": "model.pt: cannot read it: it holds objects other than tensors and plain "
        "values, which netspec never loads",
        "objects.npz": "objects.npz: cannot read it: Object arrays cannot be loaded when "
        "allow_pickle=False",
        "one.npz": "one.npz holds one array, not an archive of x, y, …",
    }
    for name, message in refusals.items():
        with pytest.raises(DataError) as error:
            load_own(Path(name), (1, 8, 8), resize=False)
        assert str(error.value) == message, name
