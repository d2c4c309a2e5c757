"""The one image reader of training and ``netspec predict``: what its two callers' own tests
(test_own_data.py, test_predict.py) leave out — the two reading every kind of file alike, and
the checks made before anything is decoded, in every format.

Each test works in its own directory (``isolated_data``), so paths in messages are short.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torchvision.io
from PIL import Image

from netspec.train import images
from netspec.train.images import ImageError, ImagePathError, read_image
from netspec.train.own_data import load_own
from netspec.train.predict import read_image as predict_image
from netspec.train.split import DataError

pytestmark = [
    pytest.mark.usefixtures("isolated_data"),
    # torchvision 0.29 announces its decoders' move to TorchCodec on every call
    pytest.mark.filterwarnings("ignore:The image decoding and encoding:DeprecationWarning"),
]

HEIGHT, WIDTH = 6, 10  # not square, so that a header read with height and width swapped shows


def _colours(height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _save(path: Path, image: Image.Image, **options: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **options)
    return path


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any call of the decoder fails the test: what is refused must be refused before."""

    def refuse(*args: object, **kwargs: object) -> torch.Tensor:
        raise AssertionError("decoded")

    monkeypatch.setattr(torchvision.io, "decode_image", refuse)


# --- training and predict read every kind of file alike ------------------------------------


def _every_kind(folder: Path) -> list[Path]:
    """One file of each kind the reader takes, 8×8 once upright, in ImageFolder's order."""
    colours = Image.fromarray(_colours(8, 8))
    grey = colours.convert("L")
    rotated = Image.Exif()
    rotated[0x0112] = 6  # the camera was turned: shown rotated 90° clockwise
    made = [
        _save(folder / "grey.png", grey),
        _save(folder / "rgb.png", colours),
        _save(folder / "palette.png", colours.convert("P")),
        _save(folder / "grey-palette.png", grey.convert("P")),  # colours that happen to be grey
        _save(folder / "rgba.png", colours.convert("RGBA")),
        _save(folder / "grey-alpha.png", grey.convert("LA")),
        _save(
            folder / "sixteen-bit.png", Image.fromarray(np.asarray(grey).astype(np.uint16) * 257)
        ),
        _save(folder / "cmyk.jpg", colours.convert("CMYK")),
        _save(folder / "grey.jpg", grey),
        _save(folder / "rotated.jpg", colours.crop((0, 0, 8, 6)).resize((6, 8)), exif=rotated),
        _save(folder / "colour.gif", colours),
        _save(folder / "lossy.webp", colours),
        _save(folder / "lossless.webp", colours, lossless=True),
        _save(folder / "alpha.webp", colours.convert("RGBA")),
    ]
    return sorted(made, key=lambda path: path.name)


@pytest.mark.parametrize("wanted", [(3, 8, 8), (1, 8, 8)], ids=["rgb", "grey"])
def test_predict_sees_each_file_as_training_saw_it(wanted: tuple[int, int, int]) -> None:
    files = _every_kind(Path("data/a"))
    trained_on = load_own(Path("data"), wanted, resize=True).train_images
    assert len(trained_on) == len(files)
    for path, pixels in zip(files, trained_on, strict=True):
        predicted = predict_image(path, wanted)
        assert torch.equal(predicted.pixels, pixels), path.name
        assert predicted.found == tuple(read_image(path).shape), path.name


def test_grey_files_are_one_channel_and_colour_files_three() -> None:
    channels = {path.name: read_image(path).shape[0] for path in _every_kind(Path("kinds"))}
    grey = {"grey.png", "grey-alpha.png", "sixteen-bit.png", "grey.jpg"}
    assert {name for name, count in channels.items() if count == 1} == grey
    assert all(count == 3 for name, count in channels.items() if name not in grey)


# --- the size a header declares, read before decoding --------------------------------------


def _kinds_of_header() -> dict[str, Path]:
    """A HEIGHT×WIDTH file of each header the reader knows how to size."""
    colours = Image.fromarray(_colours())
    exif = Image.Exif()
    exif[0x010F] = "a camera"  # an APP1 segment before the frame header
    return {
        "png": _save(Path("sized/a.png"), colours),
        "jpeg": _save(Path("sized/a.jpg"), colours, exif=exif),
        "progressive-jpeg": _save(Path("sized/p.jpg"), colours, progressive=True),
        "gif": _save(Path("sized/a.gif"), colours),
        "webp-lossy": _save(Path("sized/lossy.webp"), colours),
        "webp-lossless": _save(Path("sized/lossless.webp"), colours, lossless=True),
        "webp-extended": _save(Path("sized/alpha.webp"), colours.convert("RGBA")),
    }


def test_a_file_at_the_pixel_bound_is_read_and_one_over_it_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch, no_decoding: None
) -> None:
    pixels = HEIGHT * WIDTH
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", pixels - 1)
    # Absolute: undo() below also undoes isolated_data's change of the working directory.
    files = {kind: path.resolve() for kind, path in _kinds_of_header().items()}
    for kind, path in files.items():
        with pytest.raises(ImageError) as error:
            read_image(path)
        assert str(error.value) == (
            f"{path}: {HEIGHT}×{WIDTH} is {pixels} pixels, more than netspec decodes ({pixels - 1})"
        ), kind
    monkeypatch.undo()  # the bound, and the decoder, back
    for kind, path in files.items():
        assert read_image(path).shape[1:] == (HEIGHT, WIDTH), kind


def _png_claiming(height: int, width: int) -> bytes:
    """A PNG's signature and IHDR chunk, 8-bit grey of the size given: what a small file of
    compressed zeros may claim."""
    chunk = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    header = struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return b"\x89PNG\r\n\x1a\n" + header + bytes(100)


def test_a_decompression_bomb_in_a_training_folder_is_refused_before_decoding(
    no_decoding: None,
) -> None:
    bomb = Path("data/train/a/bomb.png")
    bomb.parent.mkdir(parents=True)
    bomb.write_bytes(_png_claiming(20_000, 20_000))
    with pytest.raises(DataError) as error:
        load_own(Path("data"), (1, 28, 28), resize=True)
    assert str(error.value) == (
        "data/train/a/bomb.png: 20,000×20,000 is 400,000,000 pixels, more than netspec decodes "
        "(100,000,000)"
    )


def _gif(frames: list[tuple[int, int]], canvas: tuple[int, int] = (10, 10)) -> bytes:
    """A GIF whose frames (height, width) declare what they like, each with no pixel data."""
    data = b"GIF89a" + struct.pack("<HHBBB", canvas[1], canvas[0], 0, 0, 0)
    for height, width in frames:
        data += b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x00"
    return data + b"\x3b"


def _webp_lossless(height: int, width: int) -> bytes:
    bits = (width - 1) | (height - 1) << 14
    chunk = b"VP8L" + struct.pack("<I", 5) + b"\x2f" + struct.pack("<I", bits) + b"\x00"
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


@pytest.mark.parametrize(
    ("data", "refusal"),
    [
        (_gif([(1, 1)], canvas=(20_000, 20_000)), "20,000×20,000 is 400,000,000 pixels"),
        (_gif([(20_000, 20_000)]), "20,000×20,000 is 400,000,000 pixels"),  # beyond its canvas
        (_gif([(20_000, 20_000)])[:-1], "20,000×20,000 is 400,000,000 pixels"),  # no trailer
        (_webp_lossless(16_384, 16_384), "16,384×16,384 is 268,435,456 pixels"),
    ],
    ids=["gif-canvas", "gif-frame", "gif-frame-unfinished", "webp"],
)
def test_gif_and_webp_bombs_are_refused_before_decoding(
    data: bytes, refusal: str, no_decoding: None
) -> None:
    Path("bomb").write_bytes(data)
    with pytest.raises(ImageError) as error:
        read_image("bomb")
    assert str(error.value) == f"bomb: {refusal}, more than netspec decodes (100,000,000)"


def test_an_animation_is_refused_before_its_frames_are_decoded(no_decoding: None) -> None:
    Path("many.gif").write_bytes(_gif([(10, 10)] * 1000))
    with pytest.raises(ImageError) as error:
        read_image("many.gif")
    assert str(error.value) == "many.gif: an animation of 1000 frames, not an image"


# --- what is refused, and how --------------------------------------------------------------


def _encoded(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=kind)
    return buffer.getvalue()


def test_other_formats_are_named_whatever_the_files_name() -> None:
    picture = Image.fromarray(_colours())
    for kind, named in [("BMP", "a BMP image"), ("TIFF", "a TIFF image")]:
        Path("photo.png").write_bytes(_encoded(picture, kind))
        with pytest.raises(ImageError) as error:
            read_image("photo.png")
        assert str(error.value) == f"photo.png: not a PNG, JPEG, GIF or WebP image ({named})"


def test_a_damaged_file_is_refused_with_the_decoders_reason() -> None:
    jpeg = _encoded(Image.fromarray(_colours()), "JPEG")
    Path("cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    with pytest.raises(ImageError) as error:
        read_image("cut.jpg")
    assert (
        str(error.value) == "cut.jpg: cannot decode it as a JPEG (Image is incomplete or truncated)"
    )


def test_a_file_over_the_byte_bound_is_refused_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "MAX_IMAGE_BYTES", 2**20)
    Path("huge.png").write_bytes(bytes(3 * 2**20))
    with pytest.raises(ImageError) as error:
        read_image("huge.png")
    assert str(error.value) == "huge.png: 3 MiB is more than netspec reads (1 MiB)"


def test_a_pipe_in_a_training_folder_is_refused_unread() -> None:
    """Reading it would block until something writes to it."""
    Path("data/a").mkdir(parents=True)
    os.mkfifo("data/a/0.png")
    with pytest.raises(DataError) as error:
        load_own(Path("data"), (3, 8, 8), resize=False)
    assert str(error.value) == "data/a/0.png: is a pipe (FIFO), not an image"
    with pytest.raises(ImagePathError):
        read_image("data/a/0.png")
