"""Reading an image file into pixels: the one reader of a folder of one's own images (training)
and of ``netspec predict``, so that a model sees at prediction exactly what it saw in training.

A file is checked before anything is decoded: a regular file (a pipe would block the reader
for ever), at most ``MAX_IMAGE_BYTES``, a PNG, JPEG, GIF or WebP by its first bytes (whatever
its name says), and no more than ``MAX_IMAGE_PIXELS`` by the size its header declares. Then
torchvision decodes it as torchvision's ``ImageFolder`` with ``PILToTensor`` would see it: grey
stays one channel, colour is three (palette colours looked up, CMYK converted), alpha is dropped,
16 bits become 8, and it is turned upright as its EXIF orientation says. An animation is
refused: which frame would be the image?

Every refusal is an ImageError whose message names the file and says why; each caller makes it
its own error (a DataError in training, a PredictError in ``netspec predict``).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import torch

from netspec.spec.source import describe_file_type

# A PNG of zeros compresses about a thousandfold: a small file could otherwise decode into
# gigabytes. 100 megapixels is a large photo (300 MB as RGB bytes); the files themselves are
# read whole, so they are bounded too.
MAX_IMAGE_PIXELS = 100_000_000
MAX_IMAGE_BYTES = 256 * 2**20

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
GIF_SIGNATURES = (b"GIF87a", b"GIF89a")
PNG_COLOUR_TYPE_OFFSET = 25  # in the IHDR chunk, which comes first
PNG_PALETTE = 3
# Formats a user may hand us by mistake, named in the refusal.
OTHER_SIGNATURES = {
    b"BM": "a BMP image",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
    b"%PDF": "a PDF document",
}
READABLE = "PNG, JPEG, GIF or WebP"


class ImageError(Exception):
    """An image file that cannot be read as an image; the message names it and says why."""


class ImagePathError(ImageError):
    """A path that names no readable regular file (missing, a directory, a pipe, no
    permission): a problem with where the image is rather than with what it holds."""


def image_file_status(path: str | Path) -> os.stat_result:
    """The status of the regular file ``path`` names. Raises ImagePathError for anything
    else (a pipe or a device could block the reader, or never end)."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise ImagePathError(f"{path}: no such file") from None
    except OSError as error:
        raise ImagePathError(f"{path}: cannot read it: {error.strerror or error}") from None
    if stat.S_ISDIR(status.st_mode):
        raise ImagePathError(f"{path}: is a directory, not an image")
    if not stat.S_ISREG(status.st_mode):
        raise ImagePathError(f"{path}: is {describe_file_type(status.st_mode)}, not an image")
    return status


def read_image(path: str | Path) -> torch.Tensor:
    """The pixels of the image file ``path`` as uint8 (C, H, W), C 1 (a grey file) or 3.
    Raises ImagePathError (no readable file) or ImageError (not a usable image)."""
    if (length := image_file_status(path).st_size) > MAX_IMAGE_BYTES:
        raise ImageError(
            f"{path}: {length / 2**20:,.0f} MiB is more than netspec reads "
            f"({MAX_IMAGE_BYTES // 2**20} MiB)"
        )
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ImagePathError(f"{path}: cannot read it: {error.strerror or error}") from None
    kind = _format(path, data)
    if (declared := _declared(kind, data)) is not None:
        frames, height, width = declared
        if height * width > MAX_IMAGE_PIXELS:
            raise ImageError(
                f"{path}: {height:,}×{width:,} is {height * width:,} pixels, more than netspec "
                f"decodes ({MAX_IMAGE_PIXELS:,})"
            )
        if frames > 1:  # before decoding them all: many frames are a bomb of their own
            raise _animation(path, frames)
    return _decode(path, kind, data)


def _format(path: str | Path, data: bytes) -> str:
    """Which of the formats read ``data`` is, by its signature; anything else is refused,
    saying what it seems to be."""
    if data.startswith(PNG_SIGNATURE):
        return "PNG"
    if data.startswith(JPEG_SIGNATURE):
        return "JPEG"
    if data.startswith(GIF_SIGNATURES):
        return "GIF"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WebP"
    if not data:
        reason = "the file is empty"
    else:
        seems = (name for signature, name in OTHER_SIGNATURES.items() if data.startswith(signature))
        reason = next(seems, "its first bytes match none of their signatures")
    raise ImageError(f"{path}: not a {READABLE} image ({reason})")


def _animation(path: str | Path, frames: int) -> ImageError:
    return ImageError(f"{path}: an animation of {frames} frames, not an image")


# --- the sizes headers declare --------------------------------------------------------------
# Each reader returns (frames, height, width), or None where the header cannot be read: the
# decoder then says what is wrong.

_Declared = tuple[int, int, int]


def _declared(kind: str, data: bytes) -> _Declared | None:
    readers = {"PNG": _png_size, "JPEG": _jpeg_size, "GIF": _gif_size, "WebP": _webp_size}
    return readers[kind](data)


def _big_endian(data: bytes, start: int, length: int) -> int:
    return int.from_bytes(data[start : start + length], "big")


def _little_endian(data: bytes, start: int, length: int) -> int:
    return int.from_bytes(data[start : start + length], "little")


def _png_size(data: bytes) -> _Declared | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return 1, _big_endian(data, 20, 4), _big_endian(data, 16, 4)


def _jpeg_size(data: bytes) -> _Declared | None:
    """From the frame header, after the segments before it (JFIF, EXIF, tables)."""
    position = 2  # after the start-of-image marker
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            position += 2
            continue
        # Start of frame: C0–CF, except C4 (Huffman tables), C8 (reserved), CC (arithmetic).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if position + 9 > len(data):
                return None
            return 1, _big_endian(data, position + 5, 2), _big_endian(data, position + 7, 2)
        position += 2 + _big_endian(data, position + 2, 2)
    return None


def _gif_colour_table(flags: int) -> int:
    """The length of the colour table that a screen's or frame's flags announce."""
    return 3 << ((flags & 0x07) + 1) if flags & 0x80 else 0


def _gif_size(data: bytes) -> _Declared | None:
    """The frames, and the largest of the canvas and the frames: a frame may declare more than
    its canvas, and giflib allocates what each frame declares. A damaged file gives what its
    blocks declare up to the damage, as giflib reads them before it fails."""
    if len(data) < 13:
        return None
    largest = (_little_endian(data, 8, 2), _little_endian(data, 6, 2))
    frames = 0
    position = 13 + _gif_colour_table(data[10])
    while position < len(data) and data[position] != 0x3B:  # until the trailer
        block = data[position]
        if block == 0x21:  # an extension: its label, then sub-blocks
            position += 2
        elif block == 0x2C and position + 10 <= len(data):  # a frame, then its LZW code size
            frame = (_little_endian(data, position + 7, 2), _little_endian(data, position + 5, 2))
            largest = max(largest, frame, key=lambda size: size[0] * size[1])
            frames += 1
            position += 10 + _gif_colour_table(data[position + 9]) + 1
        else:
            break
        while position < len(data) and data[position]:  # sub-blocks, until an empty one
            position += 1 + data[position]
        position += 1
    return frames, *largest


def _webp_size(data: bytes) -> _Declared | None:
    """From the first chunk: extended (VP8X, its canvas), lossless (VP8L) or lossy (VP8)."""
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return 1, 1 + _little_endian(data, 27, 3), 1 + _little_endian(data, 24, 3)
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = _little_endian(data, 21, 4)  # 14 bits each: width − 1, height − 1
        return 1, 1 + (bits >> 14 & 0x3FFF), 1 + (bits & 0x3FFF)
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        return 1, _little_endian(data, 28, 2) & 0x3FFF, _little_endian(data, 26, 2) & 0x3FFF
    return None


# --- decoding --------------------------------------------------------------------------------


def _decode(path: str | Path, kind: str, data: bytes) -> torch.Tensor:
    # Imported here: torchvision takes seconds to import, which commands that read no image
    # (netspec export, --help) should not pay.
    from torchvision.io import ImageReadMode, decode_image
    from torchvision.transforms.v2.functional import to_dtype

    encoded = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    # UNCHANGED gives a palette PNG's indices, not its colours; a JPEG's 4 channels are CMYK.
    palette = (
        kind == "PNG"
        and len(data) > PNG_COLOUR_TYPE_OFFSET
        and data[PNG_COLOUR_TYPE_OFFSET] == PNG_PALETTE
    )
    mode = ImageReadMode.RGB if palette else ImageReadMode.UNCHANGED
    try:
        image = decode_image(encoded, mode, apply_exif_orientation=True)
        if image.shape[0] == 4 and kind == "JPEG":
            image = decode_image(encoded, ImageReadMode.RGB, apply_exif_orientation=True)
    except RuntimeError as error:
        raise ImageError(
            f"{path}: cannot decode it as a {kind} ({_decoder_reason(error)})"
        ) from error
    if image.ndim == 4:  # frames the header walk did not count
        raise _animation(path, image.shape[0])
    if image.dtype != torch.uint8:  # 16-bit PNG
        image = to_dtype(image, torch.uint8, scale=True)
    if image.shape[0] in (2, 4):  # grey or RGB with alpha, which ImageFolder's loader drops
        image = image[:-1]
    return image


def _decoder_reason(error: Exception) -> str:
    """torchvision's reason, without its source location: 'decode_png, …/decode_png.cpp:79,
    Out of bound read in decode_png. Probably, …' → 'Out of bound read in decode_png'."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return re.sub(r"^[^,]*, \S+:\d+, ", "", text).split(". ")[0].rstrip(".")
