"""`netspec export`: ONNX and torch.export files of a real checkpoint, run without netspec."""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from helpers import ROOT
from trained import LENET, Checkpoint, evaluation_images, forge, trained_lenet

import netspec
from netspec.cli import main
from netspec.train import evaluate_checkpoint
from netspec.train.catalog import DATASETS
from netspec.train.export import export

TOKENS = """
name: tokens
input: {shape: [1, 28, 28], dtype: long}
layers:
  - embedding: {num_embeddings: 256, embedding_dim: 2}
  - flatten
  - linear: 10
"""


@dataclass(frozen=True)
class Written:
    path: Path
    message: str  # what the command printed


def _export_command(*args: str) -> tuple[int, str]:
    stderr = io.StringIO()
    with redirect_stderr(stderr):
        status = main(["export", *args])
    return status, stderr.getvalue()


@pytest.fixture(scope="module")
def lenet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checkpoint]:
    with trained_lenet(tmp_path_factory.mktemp("export")) as made:
        yield made


@pytest.fixture(scope="module")
def onnx_file(lenet: Checkpoint) -> Written:
    """Exported once by the command, to its default place: beside the checkpoint."""
    status, message = _export_command(
        str(LENET), "--checkpoint", str(lenet.path), "--format", "onnx"
    )
    assert status == 0, message
    return Written(lenet.path.with_suffix(".onnx"), message)


@pytest.fixture(scope="module")
def pt2_file(lenet: Checkpoint) -> Written:
    path = lenet.root / "lenet.pt2"
    status, message = _export_command(
        str(LENET), "--checkpoint", str(lenet.path), "--format", "torch-export", "-o", str(path)
    )
    assert status == 0, message
    return Written(path, message)


def _onnx_run(data: bytes | Path, inputs: torch.Tensor) -> torch.Tensor:
    session = onnxruntime.InferenceSession(
        data if isinstance(data, bytes) else str(data), providers=["CPUExecutionProvider"]
    )
    (name,) = [node.name for node in session.get_inputs()]
    return torch.from_numpy(session.run(None, {name: inputs.numpy()})[0])


def _scaled(images: torch.Tensor) -> torch.Tensor:
    """uint8 images as ToImage() + ToDtype(torch.float32, scale=True) give them."""
    return images.float() / 255


@pytest.mark.slow  # the dynamo exporter takes seconds
def test_the_command_says_what_it_wrote_and_what_the_file_expects(
    onnx_file: Written, pt2_file: Written
) -> None:
    first, input_line, output_line = onnx_file.message.splitlines()
    pattern = r"wrote (.*) \([\d,]+ KiB\) with torch\.onnx's dynamo exporter in [\d.]+ s"
    assert re.fullmatch(pattern, first)
    assert first.startswith(f"wrote {onnx_file.path} (")
    assert input_line.startswith(
        "input  'images': float32 N×1×28×28 (grey) in [0, 1], as ToImage() + "
        "ToDtype(torch.float32, scale=True) give; normalised inside the model (mean "
    )
    assert output_line == (
        "output 'logits': float32 N×10, scores (logits) of the classes T-shirt/top, Trouser, "
        "Pullover, Dress, …"
    )
    assert pt2_file.message.startswith(f"wrote {pt2_file.path} (")
    assert " with torch.export in " in pt2_file.message.splitlines()[0]


@pytest.mark.slow  # the dynamo exporter takes seconds
def test_onnx_agrees_with_the_model_for_any_batch_size(
    lenet: Checkpoint, onnx_file: Written
) -> None:
    images = evaluation_images()[0]
    session = onnxruntime.InferenceSession(str(onnx_file.path), providers=["CPUExecutionProvider"])
    (given,) = session.get_inputs()
    assert (given.name, given.type, given.shape) == (
        "images",
        "tensor(float)",
        ["batch", 1, 28, 28],
    )
    assert [output.name for output in session.get_outputs()] == ["logits"]
    for batch in (images[:1], images[1:8]):
        outputs = _onnx_run(onnx_file.path, _scaled(batch))
        assert outputs.shape == (len(batch), 10)
        torch.testing.assert_close(outputs, lenet.reference(batch), atol=1e-5, rtol=0)


@pytest.mark.slow  # the dynamo exporter takes seconds
def test_onnx_metadata_holds_the_classes_and_the_normalisation(
    lenet: Checkpoint, onnx_file: Written
) -> None:
    model = onnx.load(onnx_file.path)
    metadata = {entry.key: entry.value for entry in model.metadata_props}
    state = lenet.state()
    assert (
        json.loads(metadata["classes"])
        == state["classes"]
        == list(DATASETS["fashion_mnist"].classes)
    )
    assert json.loads(metadata["normalization"]) == state["normalization"]
    assert metadata["spec"] == "lenet"
    assert metadata["dataset"] == "fashion_mnist"
    assert metadata["netspec_version"] == netspec.__version__
    assert "in [0, 1]" in metadata["input"]


def test_the_pt2_program_agrees_with_the_model_and_carries_the_metadata(
    lenet: Checkpoint, pt2_file: Written
) -> None:
    extra = {"netspec.json": ""}
    program = torch.export.load(pt2_file.path, extra_files=extra)
    metadata = json.loads(extra["netspec.json"])
    assert metadata["classes"] == lenet.state()["classes"]
    assert metadata["normalization"] == lenet.state()["normalization"]
    module = program.module()
    images = evaluation_images()[0]
    for batch in (images[:1], images[1:8]):
        with torch.inference_mode():
            outputs = module(_scaled(batch))
        torch.testing.assert_close(outputs, lenet.reference(batch), atol=1e-5, rtol=0)


@pytest.mark.slow  # the dynamo exporter takes seconds
def test_both_files_score_the_test_accuracy_eval_reports(
    lenet: Checkpoint, onnx_file: Written, pt2_file: Written
) -> None:
    images, labels = evaluation_images()
    reported = evaluate_checkpoint(LENET, lenet.path, device="cpu").accuracy
    assert 0.2 < reported < 0.9  # neither chance nor every image: agreeing means something
    by_onnx = _onnx_run(onnx_file.path, _scaled(images)).argmax(1)
    with torch.inference_mode():
        by_pt2 = torch.export.load(pt2_file.path).module()(_scaled(images)).argmax(1)
    assert (by_onnx == labels).float().mean().item() == reported
    assert (by_pt2 == labels).float().mean().item() == reported


def test_the_torchscript_exporter_when_dynamo_fails(
    lenet: Checkpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = torch.onnx.export

    def without_dynamo(*args: Any, dynamo: bool = True, **kwargs: Any) -> Any:
        if dynamo:
            raise RuntimeError("no dynamo today")
        return original(*args, dynamo=False, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", without_dynamo)
    exported = export(LENET, lenet.path, "onnx")
    assert exported.exporter == (
        "torch.onnx's TorchScript exporter (the dynamo exporter failed: no dynamo today)"
    )
    images = evaluation_images()[0][:7]
    outputs = _onnx_run(exported.data, _scaled(images))
    torch.testing.assert_close(outputs, lenet.reference(images), atol=1e-5, rtol=0)
    metadata = {
        entry.key: entry.value for entry in onnx.load_from_string(exported.data).metadata_props
    }
    assert json.loads(metadata["classes"]) == lenet.state()["classes"]


def test_each_channel_has_its_own_mean_and_std(lenet: Checkpoint) -> None:
    """An RGB model (a CIFAR-10 LeNet): the normalisation broadcasts per channel."""
    spec = ROOT / "specs" / "cifar10_lenet.yaml"
    normalization = {"mean": [0.2, 0.5, 0.7], "std": [0.1, 0.3, 0.9]}
    config = lenet.state()["config"]
    config = {**config, "data": "cifar10", "train": {**config["train"], "data": "cifar10"}}
    classes = list(DATASETS["cifar10"].classes)
    rgb = forge(
        lenet.path, lenet.root / "rgb.pt", spec, config=config, dataset="cifar10",
        classes=classes, normalization=normalization,
    )  # fmt: skip
    exported = export(spec, rgb, "torch-export")
    assert exported.metadata["input"].startswith("float32 N×3×32×32 (RGB) in [0, 1]")
    module = torch.export.load(io.BytesIO(exported.data)).module()
    images = torch.rand(5, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    model = netspec.build(spec).eval()
    model.load_state_dict(torch.load(rgb, weights_only=True)["model"])
    mean = torch.tensor(normalization["mean"]).reshape(1, 3, 1, 1)
    std = torch.tensor(normalization["std"]).reshape(1, 3, 1, 1)
    with torch.inference_mode():
        torch.testing.assert_close(module(images), model((images - mean) / std), atol=1e-5, rtol=0)


@pytest.mark.slow  # the dynamo exporter takes seconds
def test_a_spec_reading_token_ids_is_exported_without_normalisation(lenet: Checkpoint) -> None:
    spec = lenet.root / "tokens.yaml"
    spec.write_text(TOKENS)
    tokens = forge(lenet.path, lenet.root / "tokens.pt", spec)
    exported = export(spec, tokens, "onnx")
    assert exported.input_name == "tokens"
    assert exported.metadata["normalization"] is None
    assert exported.metadata["input"] == "int64 token ids, N×1×28×28; not normalised"
    ids = torch.randint(0, 256, (3, 1, 28, 28), generator=torch.Generator().manual_seed(0))
    model = netspec.build(spec).eval()
    model.load_state_dict(torch.load(tokens, weights_only=True)["model"])
    with torch.inference_mode():
        expected = model(ids)
    torch.testing.assert_close(_onnx_run(exported.data, ids), expected, atol=1e-5, rtol=0)
    metadata = {
        entry.key: entry.value for entry in onnx.load_from_string(exported.data).metadata_props
    }
    assert metadata["normalization"] == "null"


def test_without_onnxscript_the_command_says_what_to_install(
    lenet: Checkpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # import onnxscript now fails
    output = lenet.root / "never.onnx"
    status, message = _export_command(
        str(LENET), "--checkpoint", str(lenet.path), "--format", "onnx", "-o", str(output)
    )
    assert status == 1
    assert message == (
        "netspec export: ONNX export needs the onnx and onnxscript packages (onnxscript is not "
        "installed): pip install 'netspec[export]'\n"
    )
    assert not output.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "onnx", "-o", "model.pt2"], "-o model.pt2 does not end in .onnx (--format)"),
        (
            ["--format", "torch-export", "-o", "best.pt"],
            "-o best.pt does not end in .pt2 (--format)",
        ),
        (["--format", "tflite"], "argument --format: invalid choice: 'tflite'"),
    ],
)
def test_usage_errors(lenet: Checkpoint, args: list[str], message: str) -> None:
    status, printed = _export_command(str(LENET), "--checkpoint", str(lenet.path), *args)
    assert status == 2
    assert message in printed


def test_a_checkpoint_of_another_network_is_refused(lenet: Checkpoint) -> None:
    colour = lenet.root / "lenet_rgb.yaml"
    colour.write_text(LENET.read_text().replace("input: [1, 28, 28]", "input: [3, 28, 28]"))
    output = lenet.root / "never.onnx"
    status, message = _export_command(
        str(colour), "--checkpoint", str(lenet.path), "--format", "onnx", "-o", str(output)
    )
    assert status == 1
    assert message == (
        f"netspec export: {lenet.path} does not fit {colour}: weight 'conv2d_1.weight' is "
        "6×1×5×5 in the checkpoint, 6×3×5×5 in the spec\n"
    )
    assert not output.exists()


def test_scaled_images_match_torchvisions_transforms() -> None:
    """What the files document as their input is what torchvision's transforms give (they
    multiply by 1/255 rather than divide: the same but for rounding)."""
    from torchvision.transforms import v2

    images = evaluation_images()[0][:3]
    transform = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    given = torch.stack(
        [transform(np.ascontiguousarray(image.permute(1, 2, 0).numpy())) for image in images]
    )
    torch.testing.assert_close(given, _scaled(images), atol=1e-7, rtol=0)
