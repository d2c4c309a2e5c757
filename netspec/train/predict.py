"""Classifying image files with a trained checkpoint: ``netspec predict``.

A checkpoint is loaded into its spec's network (the weights checked as ``netspec eval`` checks
them). PNG, JPEG, GIF and WebP files are read exactly as training reads a folder of images
(``images``: grey, RGB, RGBA, palette, CMYK and 16-bit files all work; a photo's EXIF
orientation is applied), made to fit the spec's input as the runner makes a data set fit
(``conform``: grey ↔ RGB, then resized when the size differs), and the model reads them in
batches, normalised with the checkpoint's mean and std as in
training. ``netspec export`` shares the loading and the module that normalises inside
(``Trained.inference_module``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from netspec.check import CheckedSpec, load
from netspec.diagnostics import printable
from netspec.shapes import format_dims
from netspec.train import checkpoint
from netspec.train.checkpoint import CheckpointError
from netspec.train.conform import ConformError, conform, conversion_needed
from netspec.train.datasets import DataError
from netspec.train.device import select
from netspec.train.images import ImageError, ImagePathError, image_file_status
from netspec.train.images import read_image as read_pixels
from netspec.train.runner import TEST_BATCH, build_model, check_weights, fits_classes, input_dims


class PredictError(Exception):
    """Predicting cannot go on: an image or a model that ``predict`` cannot use."""


class ImageFileError(PredictError):
    """An image path that names no readable file (missing, a directory, a device): a
    problem with the command line rather than with the file's contents."""


class NormalizedModel(torch.nn.Module):
    """A model with its input normalisation inside: it reads images scaled to [0, 1] (what
    ``ToImage()`` and ``ToDtype(torch.float32, scale=True)`` give) and returns the model's
    outputs, so whoever runs it needs no mean or std. The mean and std hold one value per
    channel (dim 1) of inputs with ``rank`` dims besides the batch (3 for C×H×W)."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self, model: torch.nn.Module, mean: Sequence[float], std: Sequence[float], rank: int = 3
    ) -> None:
        super().__init__()
        self.model = model
        shape = (1, len(mean), *[1] * (rank - 1))  # broadcast over the batch and H×W
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).reshape(shape))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).reshape(shape))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model((images - self.mean) / self.std)


@dataclass(frozen=True)
class Trained:
    """A checkpoint's weights in its spec's network, in eval mode, and what it was trained
    on: the class names and the normalisation of its inputs (images scaled to [0, 1])."""

    checked: CheckedSpec
    model: torch.nn.Module
    dataset: str  # a data set's name, or the path of the user's own data
    classes: tuple[str, ...]
    normalization: dict[str, list[float]]
    device: torch.device

    @property
    def name(self) -> str:
        return self.checked.valid_graph().name

    @property
    def input_dims(self) -> tuple[int, ...]:
        """One input's shape, without the batch: C×H×W for images."""
        return input_dims(self.checked.valid_graph())

    @property
    def reads_token_ids(self) -> bool:
        return self.checked.valid_graph().input_dtype == "long"

    @property
    def outputs_probabilities(self) -> bool:
        """Whether the network ends in a softmax (its outputs are probabilities already)."""
        *_, last = self.checked.valid_graph().layers()
        return last.kind_name == "softmax"

    def inference_module(self) -> torch.nn.Module:
        """What a consumer runs: the model behind its input normalisation; the model alone
        for token ids, which are not normalised."""
        if self.reads_token_ids:
            return self.model
        mean, std = self.normalization["mean"], self.normalization["std"]
        module = NormalizedModel(self.model, mean, std, len(self.input_dims))
        return module.to(self.device).eval()


def load_trained(
    spec_path: str | Path, checkpoint_path: str | Path, device: torch.device | str = "cpu"
) -> Trained:
    """A checkpoint's model on ``device``, in eval mode. Raises SpecError, CheckpointError (a
    damaged checkpoint, or one whose weights, classes or normalisation do not fit the spec)
    or ResourceError (a model too large for the memory left)."""
    checked = load(spec_path)
    state = checkpoint.load(Path(checkpoint_path))  # every field checked
    device = torch.device(device)
    network = checked.valid_graph()
    model = build_model(checked, device)
    where = f"{checkpoint_path} does not fit {spec_path}"
    check_weights(state["model"], model, where)
    try:
        fits_classes(network, state["classes"], state["dataset"])
    except DataError as error:
        raise CheckpointError(f"{where}: {error}") from error
    channels, normalised = input_dims(network)[0], len(state["normalization"]["mean"])
    if network.input_dtype != "long" and normalised != channels:
        raise CheckpointError(
            f"{where}: its normalisation has {normalised} channel(s), the spec's input {channels}"
        )
    model.load_state_dict(state["model"])
    model.eval()
    normalization = {key: [float(v) for v in values] for key, values in
                     state["normalization"].items()}  # fmt: skip
    classes = tuple(state["classes"])
    return Trained(checked, model, state["dataset"], classes, normalization, device)


# --- reading images -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodedImage:
    """An image file decoded and made to fit the spec's input, as uint8 C×H×W."""

    path: str
    pixels: torch.Tensor
    found: tuple[int, int, int]  # the file's own channels (1 grey, 3 colour), height, width

    @property
    def conversion(self) -> str:
        """How the file was made to fit ('resized 56×56 → 28×28', 'RGB → grey'), or ''."""
        return conversion_needed(self.found, tuple(self.pixels.shape))


@contextmanager
def _image_errors() -> Iterator[None]:
    """The image reader's refusals as predict's: a path that names no readable file is a
    mistake in the command line (ImageFileError), anything else about a file PredictError."""
    try:
        yield
    except ImagePathError as error:
        raise ImageFileError(str(error)) from None
    except ImageError as error:
        raise PredictError(str(error)) from None


def read_image(path: str | Path, dims: tuple[int, ...]) -> DecodedImage:
    """Decode an image file as training decodes a folder's images (``images.read_image``)
    and make it ``dims`` (C×H×W; C is 1 for grey, 3 for RGB) as the runner makes a data
    set's images fit (``conform``): grey ↔ RGB, then resized with antialiased bilinear
    interpolation, stretched rather than cropped. Raises ImageFileError (no readable file)
    or PredictError (not a usable image)."""
    with _image_errors():
        pixels = read_pixels(path)
    found = (int(pixels.shape[0]), int(pixels.shape[1]), int(pixels.shape[2]))
    try:
        fitted = conform(pixels.unsqueeze(0), tuple(dims))[0]
    except ConformError as error:  # a spec whose input is not 1 or 3 channels of H×W
        raise PredictError(f"{path}: {error}") from None
    return DecodedImage(str(path), fitted, found)


# --- predicting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """The most probable classes of one image, most probable first."""

    image: DecodedImage
    top: list[tuple[str, float]]  # (class, probability)

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image.path,
            "top": [{"class": name, "probability": p} for name, p in self.top],
        }


def classify(trained: Trained, images: Sequence[DecodedImage], top_k: int) -> list[Prediction]:
    """The ``top_k`` classes of each image (at most every class), in batches."""
    from torchvision.transforms.v2.functional import to_dtype

    module = trained.inference_module()
    count = min(top_k, len(trained.classes))
    predictions = []
    with torch.inference_mode():
        for start in range(0, len(images), TEST_BATCH):
            chunk = images[start : start + TEST_BATCH]
            pixels = torch.stack([image.pixels for image in chunk]).to(trained.device)
            # [0, 1] floats, exactly as ToImage() + ToDtype(torch.float32, scale=True) give
            outputs = module(to_dtype(pixels, torch.float32, scale=True)).double()
            # Softmax turns logits (or log-probabilities, for nll) into probabilities.
            probabilities = outputs if trained.outputs_probabilities else outputs.softmax(1)
            values, indices = probabilities.topk(count, dim=1)
            for image, row, classes in zip(chunk, values.tolist(), indices.tolist(), strict=True):
                top = [(trained.classes[c], p) for c, p in zip(classes, row, strict=True)]
                predictions.append(Prediction(image, top))
    return predictions


def predict(
    spec_path: str | Path,
    checkpoint_path: str | Path,
    image_paths: Sequence[str | Path],
    *,
    top_k: int = 5,
    device: str = "auto",
) -> list[Prediction]:
    """Each image's ``top_k`` most probable classes. Every file is checked and decoded before
    anything is predicted. Raises ImageFileError, PredictError, SpecError, CheckpointError,
    DeviceError or ResourceError."""
    for path in image_paths:  # a mistyped name, before a large checkpoint is read
        with _image_errors():
            image_file_status(path)
    chosen = select(device, convolutional=False)  # no channels-last: it pays when training
    trained = load_trained(spec_path, checkpoint_path, chosen.device)
    if trained.reads_token_ids:
        raise PredictError(
            f"{trained.checked.file} reads token ids (input dtype long), not images: predict "
            "classifies image files"
        )
    dims = trained.input_dims
    if len(dims) != 3 or dims[0] not in (1, 3):
        raise PredictError(
            f"{trained.checked.file} takes inputs of {format_dims(dims)}, not images (1 or 3 "
            "channels × height × width): predict classifies image files"
        )
    images = [read_image(path, dims) for path in image_paths]
    return classify(trained, images, top_k)


def print_predictions(predictions: Sequence[Prediction], console: Console) -> None:
    """One table: each image's classes, most probable first."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("image")
    table.add_column("class")
    table.add_column("probability", justify="right")
    for number, prediction in enumerate(predictions):
        for rank, (name, probability) in enumerate(prediction.top):
            shown = Text(printable(prediction.image.path)) if rank == 0 else ""
            last = rank == len(prediction.top) - 1 and number < len(predictions) - 1
            table.add_row(shown, Text(printable(name)), f"{probability:.2%}", end_section=last)
    console.print(table)
