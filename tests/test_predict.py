"""`netspec predict`: image files through a real checkpoint, the same answers as its model."""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from helpers import heavy_modules_after
from PIL import Image
from torchvision.io import encode_jpeg, write_file, write_png
from trained import LENET, Checkpoint, evaluation_images, forge, trained_lenet

from netspec.cli import main
from netspec.train.conform import conform
from netspec.train.predict import NormalizedModel, PredictError, predict

TOKENS = """
name: tokens
input: {shape: [1, 28, 28], dtype: long}
layers:
  - embedding: {num_embeddings: 256, embedding_dim: 2}
  - flatten
  - linear: 10
"""


@pytest.fixture(scope="module")
def lenet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checkpoint]:
    with trained_lenet(tmp_path_factory.mktemp("predict")) as made:
        yield made


@pytest.fixture(scope="module")
def pngs(lenet: Checkpoint) -> tuple[list[Path], torch.Tensor]:
    """The first 12 test images as grey PNG files, and the images themselves."""
    images = evaluation_images()[0][:12]
    paths = []
    for index, image in enumerate(images):
        paths.append(lenet.root / f"test{index}.png")
        write_png(image, str(paths[-1]))
    return paths, images


def _predict(lenet: Checkpoint, paths: list[Path], top_k: int = 5) -> list:
    return predict(lenet.spec, lenet.path, paths, top_k=top_k, device="cpu")


def test_top_1_is_the_models_argmax(
    lenet: Checkpoint, pngs: tuple[list[Path], torch.Tensor]
) -> None:
    paths, images = pngs
    predictions = _predict(lenet, paths, top_k=3)
    outputs = lenet.reference(images)
    classes = lenet.state()["classes"]
    expected = outputs.double().softmax(1)
    for index, prediction in enumerate(predictions):
        assert prediction.image.path == str(paths[index])
        assert prediction.image.conversion == ""  # 28×28 grey: as the spec takes it
        assert len(prediction.top) == 3
        assert prediction.top[0][0] == classes[int(outputs[index].argmax())]
        probabilities = [p for _, p in prediction.top]
        assert probabilities == sorted(probabilities, reverse=True)
        assert sum(probabilities) <= 1 + 1e-12  # float64 sums round
        for name, probability in prediction.top:
            assert probability == pytest.approx(
                float(expected[index, classes.index(name)]), abs=1e-6
            )


def test_top_k_is_capped_at_the_class_count(
    lenet: Checkpoint, pngs: tuple[list[Path], torch.Tensor]
) -> None:
    (prediction,) = _predict(lenet, pngs[0][:1], top_k=50)
    assert sorted(name for name, _ in prediction.top) == sorted(lenet.state()["classes"])
    assert sum(p for _, p in prediction.top) == pytest.approx(1.0, abs=1e-12)


def test_many_images_go_in_batches(
    lenet: Checkpoint, pngs: tuple[list[Path], torch.Tensor], monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes: list[int] = []
    forward = NormalizedModel.forward

    def counted(self: NormalizedModel, images: torch.Tensor) -> torch.Tensor:
        sizes.append(len(images))
        return forward(self, images)

    monkeypatch.setattr(NormalizedModel, "forward", counted)
    monkeypatch.setattr("netspec.train.predict.TEST_BATCH", 5)
    paths = pngs[0]
    batched = _predict(lenet, paths)
    assert sizes == [5, 5, 2]
    assert [p.top for p in batched] == [p.top for p in _predict(lenet, paths)]


def test_a_larger_colour_image_is_converted_as_training_converts(lenet: Checkpoint) -> None:
    """A 56×56 RGB photo: grey as the runner converts a data set (conform), then resized."""
    generator = torch.Generator().manual_seed(0)
    photo = torch.randint(0, 256, (3, 56, 56), dtype=torch.uint8, generator=generator)
    path = lenet.root / "photo.png"
    write_png(photo, str(path))
    (prediction,) = _predict(lenet, [path], top_k=1)
    assert prediction.image.conversion == "RGB → grey, resized 56×56 → 28×28"
    assert torch.equal(prediction.image.pixels, conform(photo[None], (1, 28, 28))[0])
    outputs = lenet.reference(prediction.image.pixels[None])
    assert prediction.top[0][0] == lenet.state()["classes"][int(outputs.argmax())]


def test_palette_rgba_and_jpeg_files_work(
    lenet: Checkpoint, pngs: tuple[list[Path], torch.Tensor]
) -> None:
    grey = pngs[1][0]
    palette, rgba = lenet.root / "palette.png", lenet.root / "rgba.png"
    indexed = Image.frombytes("P", (28, 28), grey[0].numpy().tobytes())  # indices: the greys
    indexed.putpalette([level for value in range(256) for level in (value,) * 3])  # greys
    indexed.save(palette)
    Image.fromarray(grey[0].numpy()).convert("RGBA").save(rgba)
    jpeg = lenet.root / "big.jpg"
    write_file(str(jpeg), encode_jpeg(conform(grey[None], (1, 56, 56))[0], quality=95))
    others = _predict(lenet, [palette, rgba, jpeg])
    # Colour files, whatever their colours: made grey exactly as training makes them grey.
    as_trained = conform(grey.expand(3, -1, -1)[None], (1, 28, 28))[0]
    for prediction in others[:2]:
        assert prediction.image.conversion == "RGB → grey"
        assert torch.equal(prediction.image.pixels, as_trained)
    assert others[0].top == others[1].top
    assert others[2].image.conversion == "resized 56×56 → 28×28"  # grey stays grey
    assert others[2].image.pixels.shape == (1, 28, 28)


def test_cli_table_and_json(
    lenet: Checkpoint,
    pngs: tuple[list[Path], torch.Tensor],
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = [str(path) for path in pngs[0][:2]]
    base = ["predict", str(lenet.spec), "--checkpoint", str(lenet.path), *paths, "--device", "cpu"]
    assert main([*base, "--top-k", "2"]) == 0
    table = capsys.readouterr().out
    first = _predict(lenet, pngs[0][:1], top_k=2)[0].top
    assert table.splitlines()[0].split() == ["image", "class", "probability"]
    assert f"{paths[0]}   {first[0][0]}" in table
    assert f"{first[1][1]:.2%}" in table

    assert main([*base, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [entry["image"] for entry in report] == paths
    assert set(report[0]) == {"image", "top"}
    assert len(report[0]["top"]) == 5
    assert set(report[0]["top"][0]) == {"class", "probability"}


def test_cli_says_when_an_image_was_resized(
    lenet: Checkpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    path = lenet.root / "small.png"
    write_png(torch.zeros(1, 20, 24, dtype=torch.uint8), str(path))
    args = ["predict", str(lenet.spec), "--checkpoint", str(lenet.path), str(path), "--json"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.err == f"{path}: resized 20×24 → 28×28\n"
    assert json.loads(captured.out)[0]["image"] == str(path)


def _run(lenet: Checkpoint, *images: str | Path, spec: Path = LENET) -> list[str]:
    return ["predict", str(spec), "--checkpoint", str(lenet.path), *map(str, images)]


def test_a_missing_image_is_a_usage_error(
    lenet: Checkpoint, pngs: tuple[list[Path], torch.Tensor], capsys: pytest.CaptureFixture[str]
) -> None:
    missing = lenet.root / "nope.png"
    assert main(_run(lenet, pngs[0][0], missing)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"netspec: error: {missing}: no such file\n"
    assert main(_run(lenet, lenet.root)) == 2
    assert (
        capsys.readouterr().err == f"netspec: error: {lenet.root}: is a directory, not an image\n"
    )


NOT_AN_IMAGE = "not a PNG, JPEG, GIF or WebP image"


@pytest.mark.parametrize(
    ("content", "refusal"),
    [
        (b"hello, world\n", f"{NOT_AN_IMAGE} (its first bytes match none of their signatures)"),
        (b"", f"{NOT_AN_IMAGE} (the file is empty)"),
        (b"GIF89a\x01\x00\x01\x00", "cannot decode it as a GIF (DGifOpenFileName() failed - 104)"),
        (b"%PDF-1.7\n", f"{NOT_AN_IMAGE} (a PDF document)"),
    ],
)
def test_a_file_that_is_not_an_image_is_refused_before_any_output(
    lenet: Checkpoint,
    pngs: tuple[list[Path], torch.Tensor],
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    refusal: str,
) -> None:
    bad = lenet.root / "notes.txt"
    bad.write_bytes(content)
    assert main(_run(lenet, pngs[0][0], bad)) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # the good image before it printed nothing either
    assert captured.err == f"netspec predict: {bad}: {refusal}\n"


def test_a_truncated_png_is_refused(
    lenet: Checkpoint, pngs: tuple[list[Path], torch.Tensor]
) -> None:
    cut = lenet.root / "cut.png"
    cut.write_bytes(pngs[0][0].read_bytes()[:-30])
    with pytest.raises(PredictError, match=r"cut\.png: cannot decode it as a PNG \("):
        _predict(lenet, [cut])


def _png_header(height: int, width: int) -> bytes:
    """A PNG's signature and IHDR chunk: 8-bit grey of the size given (what a small file of
    compressed zeros may claim)."""
    chunk = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )


def test_a_decompression_bomb_is_refused_before_decoding(lenet: Checkpoint) -> None:
    bomb = lenet.root / "bomb.png"
    bomb.write_bytes(_png_header(9_000, 12_000) + bytes(100))
    with pytest.raises(PredictError, match="9,000×12,000 is 108,000,000 pixels, more than"):
        _predict(lenet, [bomb])
    # A JPEG's size is in its frame header, after the segments before it (JFIF, tables).
    jpeg = bytearray(encode_jpeg(torch.zeros(3, 16, 16, dtype=torch.uint8)).numpy().tobytes())
    frame = jpeg.index(b"\xff\xc0")
    jpeg[frame + 5 : frame + 9] = struct.pack(">HH", 60_000, 50_000)
    bomb.write_bytes(jpeg)
    with pytest.raises(PredictError, match="60,000×50,000 is 3,000,000,000 pixels, more than"):
        _predict(lenet, [bomb])


def test_a_checkpoint_of_another_network_is_refused(
    lenet: Checkpoint,
    pngs: tuple[list[Path], torch.Tensor],
    capsys: pytest.CaptureFixture[str],
) -> None:
    colour = lenet.root / "lenet_rgb.yaml"
    colour.write_text(LENET.read_text().replace("input: [1, 28, 28]", "input: [3, 28, 28]"))
    assert main(_run(lenet, pngs[0][0], spec=colour)) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"netspec predict: {lenet.path} does not fit {colour}: weight 'conv2d_1.weight' is "
        "6×1×5×5 in the checkpoint, 6×3×5×5 in the spec\n"
    )


def test_a_spec_reading_token_ids_is_refused(
    lenet: Checkpoint, pngs: tuple[list[Path], torch.Tensor]
) -> None:
    spec = lenet.root / "tokens.yaml"
    spec.write_text(TOKENS)
    tokens = forge(lenet.path, lenet.root / "tokens.pt", spec)
    with pytest.raises(PredictError, match=r"reads token ids \(input dtype long\), not images"):
        predict(spec, tokens, pngs[0][:1], device="cpu")


def test_top_k_must_be_at_least_1(lenet: Checkpoint, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*_run(lenet, "x.png"), "--top-k", "0"]) == 2
    assert "--top-k: must be ≥ 1, got 0" in capsys.readouterr().err


def test_a_pipe_named_as_an_image_is_a_usage_error(
    lenet: Checkpoint, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reading it would block until something writes to it."""
    fifo = lenet.root / "fifo.png"
    os.mkfifo(fifo)
    assert main(_run(lenet, fifo)) == 2
    assert capsys.readouterr().err == f"netspec: error: {fifo}: is a pipe (FIFO), not an image\n"


def test_their_help_does_not_import_torch() -> None:
    report = heavy_modules_after(["predict", "--help"], ["export", "--help"], ["--help"])
    assert report.splitlines()[-1] == "[0, 0, 0] []"  # after the help texts
